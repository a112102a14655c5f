import type { ErrorBody, ExecuteReply } from '@ur/protocol/wire';
import { exitStatusOf, type RunResult } from './process-runner.js';

/** The Ur exit status that asks the agent to reboot the node after replying. */
export const REBOOT_EXIT_STATUS = 113;

/** Exit statuses for failures before the process ran (shell conventions). */
export const EXIT_NOT_FOUND = 127;
export const EXIT_NOT_EXECUTABLE = 126;
export const EXIT_AGENT_ERROR = 1;

/** A reply with no output, for requests that ran no process. */
export function emptyReply(exitStatus: number, at = new Date()): ExecuteReply {
  const iso = at.toISOString();
  return {
    exit_status: exitStatus,
    stdout: '',
    stderr: '',
    signal: null,
    duration_ms: 0,
    started_at: iso,
    finished_at: iso,
    stdout_bytes: 0,
    stderr_bytes: 0,
    stdout_truncated: false,
    stderr_truncated: false,
    timed_out: false,
  };
}

/** A reply for a request the agent refused or could not run. */
export function errorReply(error: ErrorBody, exitStatus = EXIT_AGENT_ERROR, at = new Date()): ExecuteReply {
  const reply = emptyReply(exitStatus, at);
  reply.stderr = `ur-agent: ${error.message}\n`;
  reply.stderr_bytes = Buffer.byteLength(reply.stderr);
  reply.error = error;
  return reply;
}

/** Maps a spawn failure to an error code and exit status. */
export function spawnFailure(err: NodeJS.ErrnoException, what: string): { error: ErrorBody; status: number } {
  switch (err.code) {
    case 'ENOENT':
      return { error: { code: 'FILE_NOT_FOUND', message: `${what}: not found` }, status: EXIT_NOT_FOUND };
    case 'EACCES':
    case 'ENOEXEC':
      return {
        error: { code: 'NOT_EXECUTABLE', message: `${what}: not executable (${err.code})` },
        status: EXIT_NOT_EXECUTABLE,
      };
    default:
      return {
        error: { code: 'SPAWN_FAILED', message: `${what}: ${err.message}` },
        status: EXIT_AGENT_ERROR,
      };
  }
}

/** Builds the reply for a process that ran. */
export function processReply(result: RunResult, timeoutMs: number | undefined): ExecuteReply {
  const reply: ExecuteReply = {
    exit_status: exitStatusOf(result),
    stdout: result.stdout.text(),
    stderr: result.stderr.text(),
    signal: result.signal,
    duration_ms: result.finishedAt.getTime() - result.startedAt.getTime(),
    started_at: result.startedAt.toISOString(),
    finished_at: result.finishedAt.toISOString(),
    stdout_bytes: result.stdout.bytes,
    stderr_bytes: result.stderr.bytes,
    stdout_truncated: result.stdout.truncated,
    stderr_truncated: result.stderr.truncated,
    timed_out: result.timedOut,
  };
  if (result.timedOut) {
    reply.error = {
      code: 'TIMED_OUT',
      message: `killed after the timeout of ${(timeoutMs ?? 0) / 1000} s`,
    };
  }
  return reply;
}
