import type { JobCounts, JobDetail, JobNodeResult, JobSummary, UrEvent } from '@ur/protocol';
import { FINAL_NODE_STATES, JOB_NODE_STATES } from '@ur/protocol/wire';
import { ago, plainTable } from './format.js';

/** "850ms", "12.3s", "4m05s". */
export function duration(ms: number | null): string {
  if (ms === null) return '-';
  if (ms < 1_000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

/** The first non-empty line, cut to `max` characters. */
export function firstLine(text: string, max = 60): string {
  const line = text.split('\n').find((l) => l.trim() !== '') ?? '';
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/** What a node's OUTPUT column shows: its output, else why it has none. */
export function nodeOutput(n: JobNodeResult): string {
  return firstLine(n.stdout) || firstLine(n.stderr) || firstLine(n.error?.message ?? n.detail ?? '');
}

export function nodeResultsTable(nodes: readonly JobNodeResult[]): string {
  const table = plainTable(['NODE', 'STATUS', 'EXIT', 'DURATION', 'OUTPUT']);
  for (const n of nodes) {
    table.push([n.node_id, n.state, n.exit_status ?? '-', duration(n.duration_ms), nodeOutput(n)]);
  }
  return trimLines(table.toString());
}

/** "20 nodes: 18 succeeded, 1 failed, 1 offline (12.3s)". */
export function countsLine(job: Pick<JobSummary, 'total' | 'counts' | 'created_at' | 'finished_at'>): string {
  const parts = JOB_NODE_STATES.filter((s) => job.counts[s] > 0).map((s) => `${job.counts[s]} ${s}`);
  const took =
    job.finished_at === null
      ? ''
      : ` (${duration(Date.parse(job.finished_at) - Date.parse(job.created_at))})`;
  return `${job.total} node${job.total === 1 ? '' : 's'}: ${parts.join(', ') || 'none'}${took}`;
}

export const finishedCount = (counts: JobCounts): number =>
  FINAL_NODE_STATES.reduce((sum, s) => sum + counts[s], 0);

export const failedCount = (counts: JobCounts): number => finishedCount(counts) - counts.succeeded;

export function jobsTable(jobs: readonly JobSummary[], now = Date.now()): string {
  const table = plainTable(['ID', 'KIND', 'STATE', 'NODES', 'OK', 'NOT OK', 'CREATED', 'TARGET', 'COMMAND']);
  for (const j of jobs) {
    table.push([
      j.id,
      j.kind,
      j.state,
      j.total,
      j.counts.succeeded,
      failedCount(j.counts),
      ago(j.created_at, now),
      firstLine(j.target, 30),
      firstLine(commandText(j.command), 40),
    ]);
  }
  return trimLines(table.toString());
}

function commandText(command: unknown): string {
  const c = command as { type?: string; script?: string; file?: string; request_id?: string };
  if (c.type === 'script') return c.script ?? '';
  if (c.type === 'file') return c.file ?? '';
  return c.type ?? '';
}

export function jobDetails(job: JobDetail): string {
  const lines = [
    `id:          ${job.id} (${job.kind})`,
    `state:       ${job.state}${job.stopped_reason ? ` (stopped: ${job.stopped_reason})` : ''}`,
    `target:      ${job.target}`,
    `command:     ${firstLine(commandText(job.command), 100)}`,
    `created:     ${job.created_at} by ${job.created_by}`,
    `finished:    ${job.finished_at ?? '-'}`,
    `window:      concurrency ${job.concurrency}, max_errors ${job.max_errors ?? '-'}, batch_wait ${job.batch_wait}s, timeout ${job.timeout}s${job.stream ? ', stream' : ''}`,
  ];
  if (job.owner) lines.push(`running on:  ${job.owner}`);
  return [...lines, '', nodeResultsTable(job.nodes), '', countsLine(job)].join('\n');
}

/** One line per event for `urctl watch` and `urctl jobs watch`. */
export function eventLine(event: UrEvent): string {
  const head = `${event.at} #${event.id} ${event.type}`;
  switch (event.type) {
    case 'node.registered':
      return `${head} ${event.node_id} ${event.data.hostname ?? ''}`.trimEnd();
    case 'node.updated':
      return `${head} ${event.node_id} ${Object.keys(event.data.changes).join(', ')}`;
    case 'node.forgotten':
      return `${head} ${event.node_id} (was ${event.data.status}) ${event.data.reason}`;
    case 'node.key_pinned':
      return `${head} ${event.node_id} ${event.data.public_key} (${event.data.how})`;
    case 'node.key_mismatch':
      return `${head} ${event.node_id} ${event.data.message}: ${event.data.reason}`;
    case 'node.key_forgotten':
      return `${head} ${event.node_id} ${event.data.public_key ?? '-'}`;
    case 'job.created':
    case 'job.completed':
      return `${head} ${event.job_id} ${event.data.state}: ${countsLine({ ...event.data, created_at: event.at, finished_at: null })}`;
    case 'job.cancelling':
      return `${head} ${event.job_id} by ${event.data.requested_by}`;
    case 'job.resumed':
      return `${head} ${event.job_id} by ${event.data.by} (${event.data.pending} pending, ${event.data.in_flight} in flight)`;
    default:
      if ('job_id' in event) {
        const d = event.data;
        const exit = d.exit_status === null ? '' : ` exit ${d.exit_status}`;
        const why = d.error?.message ?? d.detail ?? '';
        return `${head} ${event.job_id} ${event.node_id}${exit}${why ? ` ${why}` : ''}`;
      }
      if ('coordinate' in event.data) {
        const d = event.data;
        const exit = d.exit_status === null ? '' : ` exit ${d.exit_status}`;
        return `${head} ${event.node_id} ${d.coordinate} ${d.from ?? '-'} → ${d.to}${exit} (restarts ${d.restarts})`;
      }
      return `${head} ${event.node_id} ${event.data.from ?? '-'} → ${event.data.to} (${event.data.reason})`;
  }
}

function trimLines(text: string): string {
  return text
    .split('\n')
    .map((l) => l.trimEnd())
    .join('\n');
}
