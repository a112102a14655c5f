import type { CancelRequest, CancelResult, ExecuteReply } from '@ur/protocol/wire';
import { emptyReply, errorReply } from '../command-reply.js';
import type { CommandContext, RunningCommand } from './command.js';

const EXPLAIN: Record<CancelResult['state'], string> = {
  cancelled: 'cancelled',
  finished: 'had already finished',
  unknown: 'is unknown to this agent (never received, or forgotten)',
};

/**
 * Runs a `cancel` request: stops the target request (its own reply says
 * CANCELLED) and replies once the target has ended. exit_status is 0 only if
 * something was actually cancelled.
 */
export function runCancelCommand(request: CancelRequest, context: CommandContext): RunningCommand {
  const started = new Date();
  const target = request.request_id;
  const reply = (async (): Promise<ExecuteReply> => {
    if (target === context.requestId) {
      return errorReply({ code: 'INVALID_REQUEST', message: 'a cancel request cannot cancel itself' });
    }
    const state = await context.requests.cancel(target, context.requestId);
    const result: CancelResult = { request_id: target, state };
    const finished = new Date();
    const reply = emptyReply(state === 'cancelled' ? 0 : 1, started);
    reply.finished_at = finished.toISOString();
    reply.duration_ms = finished.getTime() - started.getTime();
    if (state !== 'cancelled') {
      reply.stderr = `ur-agent: request ${target} ${EXPLAIN[state]}\n`;
      reply.stderr_bytes = Buffer.byteLength(reply.stderr);
    }
    reply.result = result;
    return reply;
  })();
  // Nothing of its own to stop: it only waits for the target.
  return { reply, terminate: () => undefined };
}
