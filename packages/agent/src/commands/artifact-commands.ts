import {
  parseCoordinate,
  UrError,
  type ArtifactInstallRequest,
  type ArtifactListRequest,
  type ArtifactListResult,
  type ArtifactRemoveRequest,
  type ExecuteReply,
} from '@ur/protocol/wire';
import { InstallAbortedError } from '../artifacts/errors.js';
import { emptyReply, errorReply } from '../command-reply.js';
import type { CommandContext, RunningCommand } from './command.js';

interface Outcome {
  result: unknown;
  /** One line for people and Ur-style callers that only read stdout. */
  stdout: string;
}

const MiB = 1024 * 1024;

function finish(reply: ExecuteReply, started: Date): ExecuteReply {
  const finished = new Date();
  reply.started_at = started.toISOString();
  reply.finished_at = finished.toISOString();
  reply.duration_ms = finished.getTime() - started.getTime();
  return reply;
}

/**
 * Runs one artifact operation as a command: a timeout (the request's, else
 * the agent's default) and terminate() abort it, which rolls an install
 * back; failures with a protocol code become the reply's `error`.
 */
function runArtifactCommand(
  request: { timeout?: number | undefined },
  context: CommandContext,
  work: (signal: AbortSignal) => Promise<Outcome>,
): RunningCommand {
  const started = new Date();
  const controller = new AbortController();
  const timeoutMs = request.timeout !== undefined ? request.timeout * 1000 : context.limits.defaultTimeoutMs;
  const timer = setTimeout(
    () =>
      controller.abort(
        new InstallAbortedError(
          'TIMED_OUT',
          `stopped after the timeout of ${timeoutMs / 1000} s; nothing changed`,
        ),
      ),
    timeoutMs,
  );
  const reply = (async (): Promise<ExecuteReply> => {
    try {
      const { result, stdout } = await work(controller.signal);
      const reply = emptyReply(0);
      reply.stdout = stdout;
      reply.stdout_bytes = Buffer.byteLength(stdout);
      reply.result = result;
      return finish(reply, started);
    } catch (err) {
      if (!(err instanceof UrError)) throw err;
      const reply = errorReply(err.toBody());
      reply.timed_out = err.code === 'TIMED_OUT';
      return finish(reply, started);
    } finally {
      clearTimeout(timer);
    }
  })();
  return {
    reply,
    terminate: () => controller.abort(new InstallAbortedError('AGENT_STOPPING', 'stopped; nothing changed')),
  };
}

export function runArtifactInstall(request: ArtifactInstallRequest, context: CommandContext): RunningCommand {
  return runArtifactCommand(request, context, async (signal) => {
    const result = await context.artifacts.install(parseCoordinate(request.coordinate), {
      url: request.url,
      sha256: request.sha256,
      signal,
      progress: (update) => context.progress.update(update),
    });
    const what = `${result.coordinate} at ${result.path} (${result.files} files, ${(result.size / MiB).toFixed(1)} MiB)`;
    return {
      result,
      stdout: result.already_installed ? `already installed: ${what}\n` : `installed ${what}\n`,
    };
  });
}

export function runArtifactRemove(request: ArtifactRemoveRequest, context: CommandContext): RunningCommand {
  return runArtifactCommand(request, context, async () => {
    const result = await context.artifacts.remove(
      parseCoordinate(request.coordinate),
      request.force === true,
    );
    return { result, stdout: `removed ${result.coordinate}${result.forced ? ' (in use; forced)' : ''}\n` };
  });
}

export function runArtifactList(request: ArtifactListRequest, context: CommandContext): RunningCommand {
  return runArtifactCommand(request, context, async () => {
    const result: ArtifactListResult = { artifacts: await context.artifacts.list() };
    const lines = result.artifacts.map((a) => `${a.coordinate}\t${a.size}\t${a.installed_at}\n`);
    return { result, stdout: lines.join('') };
  });
}
