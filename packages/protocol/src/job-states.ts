/**
 * States of a job and of each node's command in it. Kept free of schema
 * libraries so urctl reads them at run time from `@ur/protocol/wire`.
 *
 * A node's command moves pending → sent → accepted → running (accepted and
 * running only for `stream` jobs, whose agents report progress) and ends in
 * exactly one final state.
 */
export const JOB_NODE_STATES = [
  'pending',
  'sent',
  'accepted',
  'running',
  'succeeded',
  'failed',
  'timed_out',
  'cancelled',
  'offline',
  'interrupted',
  'expired',
  'skipped',
] as const;
export type JobNodeState = (typeof JOB_NODE_STATES)[number];

/** What each state means, for the API docs and `urctl --help`. */
export const JOB_NODE_STATE_MEANINGS: Record<JobNodeState, string> = {
  pending: 'not sent yet (waiting for a slot in the window)',
  sent: 'published to the node; no word from it yet',
  accepted: 'the agent took the request (stream jobs)',
  running: 'the command runs (stream jobs)',
  succeeded: 'ran and exited 0',
  failed: 'ran and failed (non-zero exit, or could not start)',
  timed_out: 'killed at its timeout by the agent, or no reply within the timeout plus a margin',
  cancelled: 'stopped by a cancel (running), or never sent because the job was cancelled',
  offline: 'not run: the node was down or left, or no agent was listening for it',
  interrupted: 'the agent died while the command ran; it may have partly run',
  expired: "not run: the request waited in the node's queue past its timeout (agent away)",
  skipped: 'not sent: the job stopped dispatching after max_errors failures',
};

export const FINAL_NODE_STATES = [
  'succeeded',
  'failed',
  'timed_out',
  'cancelled',
  'offline',
  'interrupted',
  'expired',
  'skipped',
] as const satisfies readonly JobNodeState[];
export type FinalNodeState = (typeof FINAL_NODE_STATES)[number];

export function isFinalNodeState(state: string): state is FinalNodeState {
  return (FINAL_NODE_STATES as readonly string[]).includes(state);
}

/**
 * Final states that count towards a job's `max_errors`: the command was sent
 * and went wrong. Offline nodes are known before anything runs and cancelled
 * ones were stopped on purpose, so neither counts.
 */
export const ERROR_NODE_STATES = [
  'failed',
  'timed_out',
  'interrupted',
  'expired',
] as const satisfies readonly FinalNodeState[];

export function isErrorNodeState(state: string): boolean {
  return (ERROR_NODE_STATES as readonly string[]).includes(state);
}

/** Progress order of the states before the end; a state never moves back. */
export function nodeStateRank(state: JobNodeState): number {
  switch (state) {
    case 'pending':
      return 0;
    case 'sent':
      return 1;
    case 'accepted':
      return 2;
    case 'running':
      return 3;
    default:
      return 4;
  }
}

/**
 * running: nodes are being dispatched or answered; succeeded: every node
 * succeeded; failed: at least one did not; cancelled: a cancel was requested.
 */
export const JOB_STATES = ['running', 'succeeded', 'failed', 'cancelled'] as const;
export type JobState = (typeof JOB_STATES)[number];
