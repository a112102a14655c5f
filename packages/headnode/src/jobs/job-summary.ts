import {
  JOB_NODE_STATES,
  type JobCounts,
  type JobEventSummary,
  type JobNodeState,
  type JobState,
} from '@ur/protocol';
import type { JobsTable } from '../store/schema.js';

export function emptyCounts(): JobCounts {
  return Object.fromEntries(JOB_NODE_STATES.map((s) => [s, 0])) as JobCounts;
}

export function countsFrom(rows: readonly { state: JobNodeState; n: number | string | bigint }[]): JobCounts {
  const counts = emptyCounts();
  for (const r of rows) counts[r.state] += Number(r.n);
  return counts;
}

/** Nodes not in a final state. */
export const unfinished = (c: JobCounts): number => c.pending + c.sent + c.accepted + c.running;

/** How a finished job ended: cancelled if a cancel was asked for, else succeeded only if every node did. */
export function finalJobState(
  job: Pick<JobsTable, 'cancel_requested_at' | 'node_count'>,
  counts: JobCounts,
): JobState {
  if (job.cancel_requested_at !== null) return 'cancelled';
  return counts.succeeded === job.node_count ? 'succeeded' : 'failed';
}

export function eventSummary(
  job: Pick<JobsTable, 'kind' | 'target' | 'created_by' | 'node_count' | 'stopped_reason'>,
  state: JobState,
  counts: JobCounts,
): JobEventSummary {
  return {
    state,
    kind: job.kind,
    target: job.target,
    created_by: job.created_by,
    total: job.node_count,
    counts,
    stopped_reason: job.stopped_reason,
  };
}
