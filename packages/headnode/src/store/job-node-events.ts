import { jobNodeEventType, normalizeReply, type JobNodeEventData, type JobNodeState } from '@ur/protocol';
import type { NewEvent } from './event-store.js';

/** What a command row says about its job's node after a change. */
export interface ChangedJobNode {
  request_id: string;
  node_id: string;
  job_id: string | null;
  state: JobNodeState;
  reply?: string | null;
  detail?: string | null;
  sent_at?: number | null;
}

/**
 * The `job.node.<state>` events for rows that changed (only rows of a job
 * have them). Called with exactly the rows an UPDATE … RETURNING changed,
 * inside the same transaction, so each change is one event.
 */
export function jobNodeEvents(rows: readonly ChangedJobNode[], at: number): NewEvent[] {
  const events: NewEvent[] = [];
  for (const row of rows) {
    if (row.job_id === null) continue;
    const reply =
      row.reply === undefined || row.reply === null
        ? null
        : normalizeReply(JSON.parse(row.reply), at - (row.sent_at ?? at));
    const data: JobNodeEventData = {
      request_id: row.request_id,
      state: row.state,
      exit_status: reply?.exit_status ?? null,
      signal: reply?.signal ?? null,
      duration_ms: reply?.duration_ms ?? null,
      error: reply?.error ?? null,
      detail: row.detail ?? null,
    };
    events.push({ type: jobNodeEventType(row.state), at, node_id: row.node_id, job_id: row.job_id, data });
  }
  return events;
}
