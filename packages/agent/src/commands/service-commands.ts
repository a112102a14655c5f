import {
  UrError,
  type ExecuteReply,
  type ServiceDrainRequest,
  type ServiceInfo,
  type ServiceListRequest,
  type ServiceListResult,
  type ServiceLogsRequest,
  type ServiceLogsResult,
  type ServiceRestartRequest,
  type ServiceStartRequest,
  type ServiceStatusRequest,
  type ServiceStopRequest,
} from '@ur/protocol/wire';
import { emptyReply, errorReply } from '../command-reply.js';
import type { CommandContext, RunningCommand } from './command.js';

interface Outcome {
  result: unknown;
  /** One line for people and Ur-style callers that only read stdout. */
  stdout: string;
}

/** Lines of a `service.logs` reply stay under this many bytes. */
const MAX_LOG_REPLY_BYTES = 512 * 1024;
const DEFAULT_LOG_LINES = 100;

/** The request's timeout ran out, or the command was cancelled / the agent is stopping. */
class StoppedError extends UrError {}

function finish(reply: ExecuteReply, started: Date): ExecuteReply {
  const finished = new Date();
  reply.started_at = started.toISOString();
  reply.finished_at = finished.toISOString();
  reply.duration_ms = finished.getTime() - started.getTime();
  return reply;
}

/**
 * Runs one service operation as a command: the timeout (the request's,
 * else the agent's default) and terminate() abort its waiting; failures
 * with a protocol code become the reply's `error`.
 */
function runServiceCommand(
  request: { timeout?: number | undefined },
  context: CommandContext,
  work: (signal: AbortSignal, timeoutMs: number) => Promise<Outcome>,
  endsOnTimeout = false,
): RunningCommand {
  const started = new Date();
  const controller = new AbortController();
  const timeoutMs = request.timeout !== undefined ? request.timeout * 1000 : context.limits.defaultTimeoutMs;
  const timedOut = new StoppedError(
    'TIMED_OUT',
    `stopped waiting after the timeout of ${timeoutMs / 1000} s`,
  );
  const timer = setTimeout(() => controller.abort(timedOut), timeoutMs);
  const reply = (async (): Promise<ExecuteReply> => {
    try {
      const { result, stdout } = await work(controller.signal, timeoutMs);
      const reply = emptyReply(0);
      reply.stdout = stdout;
      reply.stdout_bytes = Buffer.byteLength(stdout);
      reply.result = result;
      return finish(reply, started);
    } catch (err) {
      const reason: unknown = controller.signal.aborted && !endsOnTimeout ? controller.signal.reason : err;
      const failure = reason instanceof UrError ? reason : err instanceof UrError ? err : undefined;
      if (!failure) throw err;
      const reply = errorReply(failure.toBody());
      reply.timed_out = failure.code === 'TIMED_OUT';
      return finish(reply, started);
    } finally {
      clearTimeout(timer);
    }
  })();
  return {
    reply,
    terminate: () => controller.abort(new StoppedError('AGENT_STOPPING', 'stopped before it finished')),
  };
}

const describe = (s: ServiceInfo): string =>
  `${s.coordinate}\t${s.state}\t${s.pid ?? '-'}\t${s.artifact}\trestarts ${s.restarts}`;

export function runServiceStart(request: ServiceStartRequest, context: CommandContext): RunningCommand {
  return runServiceCommand(request, context, async (signal, timeoutMs) => {
    const result = await context.services.start(
      {
        coordinate: request.coordinate,
        artifact: request.artifact,
        options: request.options,
        restart: request.restart,
        overrides: request.overrides,
      },
      timeoutMs,
      signal,
    );
    const what = `${result.coordinate} (${result.artifact}, pid ${result.pid ?? '-'}, ${result.state})`;
    return { result, stdout: result.already_running ? `already running: ${what}\n` : `started ${what}\n` };
  });
}

export function runServiceStop(request: ServiceStopRequest, context: CommandContext): RunningCommand {
  return runServiceCommand(request, context, async () => {
    const result = await context.services.stop(request.coordinate, request.forget === true);
    return { result, stdout: `stopped ${result.coordinate}${result.forgotten ? ' (forgotten)' : ''}\n` };
  });
}

export function runServiceDrain(request: ServiceDrainRequest, context: CommandContext): RunningCommand {
  return runServiceCommand(request, context, async (signal) => {
    const timeoutMs = request.drain_timeout !== undefined ? request.drain_timeout * 1000 : undefined;
    const result = await context.services.drain(request.coordinate, timeoutMs, signal);
    return { result, stdout: `drained ${result.coordinate}: ${result.state}\n` };
  });
}

export function runServiceRestart(request: ServiceRestartRequest, context: CommandContext): RunningCommand {
  return runServiceCommand(request, context, async (signal, timeoutMs) => {
    const result = await context.services.restart(request.coordinate, timeoutMs, signal);
    return { result, stdout: `restarted ${result.coordinate} (pid ${result.pid ?? '-'}, ${result.state})\n` };
  });
}

export function runServiceStatus(request: ServiceStatusRequest, context: CommandContext): RunningCommand {
  return runServiceCommand(request, context, () => {
    const result = context.services.status(request.coordinate);
    return Promise.resolve({ result, stdout: `${describe(result)}\n` });
  });
}

export function runServiceList(request: ServiceListRequest, context: CommandContext): RunningCommand {
  return runServiceCommand(request, context, () => {
    const result: ServiceListResult = { services: context.services.list() };
    return Promise.resolve({ result, stdout: result.services.map((s) => `${describe(s)}\n`).join('') });
  });
}

/**
 * The last lines of a service's log; with `stream`, they and then what the
 * service writes go out as progress output until the timeout or a cancel,
 * both normal ends of following (a cancelled one's reply says CANCELLED).
 */
export function runServiceLogs(request: ServiceLogsRequest, context: CommandContext): RunningCommand {
  return runServiceCommand(
    request,
    context,
    async (signal) => {
      const started = Date.now();
      const follow = request.stream === true;
      let stop: (() => void) | undefined;
      // Subscribed before reading the tail: nothing written meanwhile is missed (it may show twice).
      const pending: Buffer[] = [];
      let live = false;
      if (follow) {
        stop = context.services.follow(request.coordinate, (chunk) => {
          if (live) context.progress.output('stdout', chunk);
          else pending.push(chunk);
        });
      }
      try {
        const tail = await context.services.logs(
          request.coordinate,
          request.lines ?? DEFAULT_LOG_LINES,
          MAX_LOG_REPLY_BYTES,
        );
        const text = tail.lines.map((l) => `${l}\n`).join('');
        if (follow) {
          if (text !== '') context.progress.output('stdout', Buffer.from(text));
          for (const chunk of pending.splice(0)) context.progress.output('stdout', chunk);
          live = true;
          // Following ends with the timeout, a cancel or the agent stopping: all normal ends.
          if (!signal.aborted) {
            await new Promise<void>((resolve) =>
              signal.addEventListener('abort', () => resolve(), { once: true }),
            );
          }
        }
        const result: ServiceLogsResult = {
          coordinate: request.coordinate,
          lines: tail.lines,
          truncated: tail.truncated,
          followed_ms: follow ? Date.now() - started : 0,
        };
        return { result, stdout: text };
      } finally {
        stop?.();
      }
    },
    true,
  );
}
