import { randomBytes } from 'node:crypto';
import { unlinkSync, writeFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ExecuteReply, FileRequest, ScriptRequest } from '@ur/protocol/wire';
import { errorReply, processReply, spawnFailure } from '../command-reply.js';
import { runProcess, type RunningProcess } from '../process-runner.js';
import type { CommandContext, RunningCommand } from './command.js';

/**
 * Removes a script file as rmSync({force: true}) would, with one unlink(2):
 * rmSync first lstats and builds a Stats object with four Dates, garbage on
 * every command. A script may remove itself, hence ENOENT is fine.
 */
function removeScript(path: string): void {
  try {
    unlinkSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

async function missingCwd(cwd: string | undefined): Promise<boolean> {
  if (cwd === undefined) return false;
  try {
    return !(await stat(cwd)).isDirectory();
  } catch {
    return true;
  }
}

/**
 * Runs a `script` or `file` request. A script is written to a private file
 * (mode 0700) that is removed afterwards; without a `#!` line it runs under
 * /bin/sh, as Ur's did.
 */
export function runProcessCommand(
  request: ScriptRequest | FileRequest,
  context: CommandContext,
): RunningCommand {
  const { requestId, limits, progress } = context;
  let proc: RunningProcess | undefined;
  let cancelled = false;
  const timeoutMs = request.timeout !== undefined ? request.timeout * 1000 : limits.defaultTimeoutMs;

  const reply = (async (): Promise<ExecuteReply> => {
    let scriptPath: string | undefined;
    let command: string;
    let args: string[];
    let what: string;
    if (request.type === 'script') {
      scriptPath = join(limits.scriptDir, `${requestId}-${randomBytes(4).toString('hex')}`);
      // Synchronous on purpose: a small local write costs tens of microseconds,
      // less than the three thread-pool round trips of the promise API.
      writeFileSync(scriptPath, request.script, { mode: 0o700, flag: 'wx' });
      if (request.script.startsWith('#!')) {
        command = scriptPath;
        args = request.args ?? [];
      } else {
        command = '/bin/sh';
        args = [scriptPath, ...(request.args ?? [])];
      }
      what = 'script';
    } else {
      command = request.file;
      args = request.args ?? [];
      what = request.file;
    }
    try {
      if (cancelled) return errorReply({ code: 'INTERNAL_ERROR', message: 'terminated before start' });
      proc = runProcess(
        {
          command,
          args,
          env: request.env,
          cwd: request.cwd,
          stdin: request.stdin,
          timeoutMs,
          killGraceMs: limits.killGraceMs,
          maxOutputBytes: limits.maxOutputBytes,
          onOutput: (stream, chunk) => progress.output(stream, chunk),
          onStarted: (pid) => context.processStarted(pid),
        },
        limits.launch,
      );
      const result = await proc.done;
      if (result.spawnError) {
        if (result.spawnError.code === 'ENOENT' && (await missingCwd(request.cwd))) {
          return errorReply(
            { code: 'CWD_NOT_FOUND', message: `working directory ${request.cwd} does not exist` },
            1,
            result.startedAt,
          );
        }
        const failure = spawnFailure(result.spawnError, what);
        return errorReply(failure.error, failure.status, result.startedAt);
      }
      return processReply(result, timeoutMs);
    } finally {
      if (scriptPath !== undefined) removeScript(scriptPath);
    }
  })();

  return {
    reply,
    terminate: () => {
      cancelled = true;
      proc?.terminate();
    },
  };
}
