import {
  normalizeReply,
  type JobCounts,
  type JobDetail,
  type JobNodeResult,
  type JobSummary,
} from '@ur/protocol';
import type { CommandRow } from '../store/command-store.js';
import type { JobRow } from '../store/job-store.js';

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** "3" → 3, "10%" stays a string: as the job was asked for. */
const limitOf = (text: string): number | string => (/^\d+$/.test(text) ? Number(text) : text);

export function toJobSummary(row: JobRow, counts: JobCounts): JobSummary {
  return {
    id: row.id,
    state: row.state,
    kind: row.kind,
    target: row.target,
    command: JSON.parse(row.command) as unknown,
    concurrency: limitOf(row.concurrency),
    max_errors: row.max_errors === null ? null : limitOf(row.max_errors),
    batch_wait: row.batch_wait_ms / 1000,
    timeout: row.timeout_ms / 1000,
    stream: row.stream === 1,
    created_at: new Date(row.created_at).toISOString(),
    created_by: row.created_by,
    finished_at: iso(row.finished_at),
    cancel_requested_at: iso(row.cancel_requested_at),
    stopped_reason: row.stopped_reason,
    owner: row.state === 'running' ? row.owner : null,
    total: row.node_count,
    counts,
  };
}

export function toNodeResult(row: CommandRow, withOutput: boolean): JobNodeResult {
  const sent = row.sent_at;
  const reply =
    row.reply === null
      ? null
      : normalizeReply(
          JSON.parse(row.reply),
          (row.finished_at ?? sent ?? 0) - (sent ?? row.finished_at ?? 0),
        );
  return {
    node_id: row.node_id,
    request_id: row.request_id,
    state: row.state,
    detail: row.detail,
    exit_status: reply?.exit_status ?? null,
    signal: reply?.signal ?? null,
    error: reply?.error ?? null,
    stdout: withOutput ? (reply?.stdout ?? '') : '',
    stderr: withOutput ? (reply?.stderr ?? '') : '',
    stdout_bytes: reply?.stdout_bytes ?? 0,
    stderr_bytes: reply?.stderr_bytes ?? 0,
    stdout_truncated: reply?.stdout_truncated ?? false,
    stderr_truncated: reply?.stderr_truncated ?? false,
    sent_at: iso(sent),
    started_at: reply?.started_at ?? null,
    finished_at: reply?.finished_at ?? iso(row.finished_at),
    recorded_at: iso(row.finished_at),
    duration_ms:
      reply?.duration_ms ?? (sent !== null && row.finished_at !== null ? row.finished_at - sent : null),
  };
}

export function toJobDetail(
  row: JobRow,
  counts: JobCounts,
  nodes: readonly CommandRow[],
  withOutput: boolean,
): JobDetail {
  return { ...toJobSummary(row, counts), nodes: nodes.map((n) => toNodeResult(n, withOutput)) };
}
