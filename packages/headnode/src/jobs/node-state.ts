import { normalizeReply, type ExecuteReply, type FinalNodeState } from '@ur/protocol';

/** The final state a reply puts a node in. */
export function stateOfReply(reply: ExecuteReply): FinalNodeState {
  const code = reply.error?.code;
  if (code === 'CANCELLED') return 'cancelled';
  if (code === 'INTERRUPTED') return 'interrupted';
  if (reply.timed_out || code === 'TIMED_OUT') return 'timed_out';
  if (reply.exit_status === 0 && reply.error === undefined) return 'succeeded';
  return 'failed';
}

/** The same for a reply body as it arrived (anything that is not a reply is a failure). */
export function stateOfReplyBody(body: unknown): FinalNodeState {
  const reply = normalizeReply(body, 0);
  return reply === null ? 'failed' : stateOfReply(reply);
}
