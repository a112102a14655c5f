import type { Kysely, Selectable } from 'kysely';
import type { JobCounts, JobState } from '@ur/protocol';
import { countsFrom, emptyCounts, eventSummary, finalJobState, unfinished } from '../jobs/job-summary.js';
import type { Trx } from './event-transaction.js';
import type { EventStore, NewEvent } from './event-store.js';
import { jobNodeEvents, type ChangedJobNode } from './job-node-events.js';
import type { CommandsTable, Database, JobsTable } from './schema.js';

export type JobRow = Selectable<JobsTable>;

export interface NewJob {
  id: string;
  kind: JobsTable['kind'];
  target: string;
  /** As stored: secrets already redacted. */
  command: unknown;
  type: string;
  concurrency: string;
  maxErrors: string | null;
  batchWaitMs: number;
  timeoutMs: number;
  stream: boolean;
  createdAt: number;
  createdBy: string;
  owner: string;
}

export interface NewJobNode {
  nodeId: string;
  requestId: string;
  /** Set when the node is known to be down or left: it ends offline at once, with this reason. */
  offline?: string | undefined;
}

export interface JobFilter {
  state?: JobState | undefined;
  kind?: JobsTable['kind'] | undefined;
  nodeId?: string | undefined;
  before?: string | undefined;
  limit: number;
}

const CHANGED = ['request_id', 'node_id', 'job_id', 'state', 'detail', 'sent_at'] as const;
const CHUNK = 200;

/**
 * Jobs, and the changes to their nodes' rows that are about the job rather
 * than one command (creating them, cancelling or skipping those not sent,
 * completing). Node rows live in `commands` (see CommandStore).
 */
export class JobStore {
  readonly #db: Kysely<Database>;
  readonly #events: EventStore;

  constructor(db: Kysely<Database>, events: EventStore) {
    this.#db = db;
    this.#events = events;
  }

  /** Stores a job with one row per node: pending, or offline at once. Emits job.created and job.node.offline. */
  create(job: NewJob, nodes: readonly NewJobNode[]): Promise<JobRow> {
    return this.#events.transaction(async (trx) => {
      const row: JobRow = {
        id: job.id,
        kind: job.kind,
        target: job.target,
        command: JSON.stringify(job.command),
        concurrency: job.concurrency,
        max_errors: job.maxErrors,
        batch_wait_ms: job.batchWaitMs,
        timeout_ms: job.timeoutMs,
        stream: job.stream ? 1 : 0,
        created_at: job.createdAt,
        created_by: job.createdBy,
        node_count: nodes.length,
        state: 'running',
        owner: job.owner,
        owner_seen_at: job.createdAt,
        cancel_requested_at: null,
        stopped_reason: null,
        finished_at: null,
      };
      await trx.insertInto('jobs').values(row).execute();
      const at = job.createdAt;
      const rows = nodes.map((n): CommandsTable => ({
        request_id: n.requestId,
        node_id: n.nodeId,
        type: job.type,
        request: '',
        issued_by: job.owner,
        issued_at: at,
        deadline: 0,
        status: n.offline === undefined ? 'pending' : 'offline',
        reply: null,
        finished_at: n.offline === undefined ? null : at,
        recorded_by: n.offline === undefined ? null : job.owner,
        job_id: job.id,
        state: n.offline === undefined ? 'pending' : 'offline',
        sent_at: null,
        detail: n.offline ?? null,
      }));
      for (let i = 0; i < rows.length; i += CHUNK)
        await trx
          .insertInto('commands')
          .values(rows.slice(i, i + CHUNK))
          .execute();
      const counts = emptyCounts();
      for (const r of rows) counts[r.state]++;
      await this.#events.append(trx, [
        {
          type: 'job.created',
          at,
          node_id: null,
          job_id: job.id,
          data: eventSummary(row, 'running', counts),
        },
        ...jobNodeEvents(
          rows.filter((r) => r.state === 'offline'),
          at,
        ),
      ]);
      return row;
    });
  }

  get(id: string): Promise<JobRow | undefined> {
    return this.#db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** Newest first, a page at a time. */
  async list(filter: JobFilter): Promise<{ jobs: JobRow[]; next: string | null }> {
    let q = this.#db.selectFrom('jobs').selectAll();
    if (filter.state !== undefined) q = q.where('state', '=', filter.state);
    if (filter.kind !== undefined) q = q.where('kind', '=', filter.kind);
    if (filter.nodeId !== undefined) {
      const nodeId = filter.nodeId;
      q = q.where('id', 'in', (eb) =>
        eb
          .selectFrom('commands')
          .select('job_id')
          .where('node_id', '=', nodeId)
          .where('job_id', 'is not', null),
      );
    }
    if (filter.before !== undefined) {
      const before = await this.get(filter.before);
      if (before) {
        q = q.where((eb) =>
          eb.or([
            eb('created_at', '<', before.created_at),
            eb.and([eb('created_at', '=', before.created_at), eb('id', '<', before.id)]),
          ]),
        );
      }
    }
    const rows = await q
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(filter.limit + 1)
      .execute();
    const jobs = rows.slice(0, filter.limit);
    return { jobs, next: rows.length > filter.limit ? (jobs.at(-1)?.id ?? null) : null };
  }

  /** Nodes per state, for each job. */
  async counts(jobIds: readonly string[]): Promise<Map<string, JobCounts>> {
    const result = new Map<string, JobCounts>();
    for (const id of jobIds) result.set(id, emptyCounts());
    for (let i = 0; i < jobIds.length; i += CHUNK) {
      const rows = await this.#db
        .selectFrom('commands')
        .select(['job_id', 'state', (eb) => eb.fn.countAll<number | string>().as('n')])
        .where('job_id', 'in', jobIds.slice(i, i + CHUNK))
        .groupBy(['job_id', 'state'])
        .execute();
      for (const r of rows) {
        const counts = r.job_id === null ? undefined : result.get(r.job_id);
        if (counts) counts[r.state] += Number(r.n);
      }
    }
    return result;
  }

  /** A job's node rows, by node id. */
  nodes(jobId: string): Promise<Selectable<CommandsTable>[]> {
    return this.#db
      .selectFrom('commands')
      .selectAll()
      .where('job_id', '=', jobId)
      .orderBy('node_id')
      .execute();
  }

  /**
   * Asks a running job to stop: nodes not sent yet end `cancelled` at once
   * (emitting job.cancelling and their job.node.cancelled); whoever runs
   * the job then cancels the nodes in flight. Returns the job as it is now,
   * undefined if there is no such job.
   */
  cancel(id: string, by: string, now = Date.now()): Promise<JobRow | undefined> {
    return this.#events.transaction(async (trx) => {
      const updated = await trx
        .updateTable('jobs')
        .set({ cancel_requested_at: now })
        .where('id', '=', id)
        .where('state', '=', 'running')
        .where('cancel_requested_at', 'is', null)
        .executeTakeFirst();
      if (Number(updated.numUpdatedRows) > 0) {
        const rows = await this.#endPending(trx, id, 'cancelled', 'not sent: the job was cancelled', now);
        await this.#events.append(trx, [
          { type: 'job.cancelling', at: now, node_id: null, job_id: id, data: { requested_by: by } },
          ...jobNodeEvents(rows, now),
        ]);
      }
      return trx.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst();
    });
  }

  /** Stops dispatching (max_errors): nodes not sent yet end `skipped`. */
  stopDispatching(id: string, reason: string, now = Date.now()): Promise<number> {
    return this.#events.transaction(async (trx) => {
      await trx
        .updateTable('jobs')
        .set({ stopped_reason: reason })
        .where('id', '=', id)
        .where('stopped_reason', 'is', null)
        .execute();
      const rows = await this.#endPending(trx, id, 'skipped', `not sent: ${reason}`, now);
      await this.#events.append(trx, jobNodeEvents(rows, now));
      return rows.length;
    });
  }

  /** Ends the nodes of a job still pending (a job nobody resumed in time; a retry of a failed stop). */
  endPending(id: string, state: 'cancelled' | 'skipped', detail: string, now = Date.now()): Promise<number> {
    return this.#events.transaction(async (trx) => {
      const rows = await this.#endPending(trx, id, state, detail, now);
      await this.#events.append(trx, jobNodeEvents(rows, now));
      return rows.length;
    });
  }

  #endPending(
    trx: Trx,
    id: string,
    state: 'cancelled' | 'skipped',
    detail: string,
    now: number,
  ): Promise<ChangedJobNode[]> {
    return trx
      .updateTable('commands')
      .set({ status: state, state, detail, finished_at: now })
      .where('job_id', '=', id)
      .where('status', '=', 'pending')
      .returning(CHANGED)
      .execute();
  }

  /**
   * Marks a job finished once every node is in a final state, emitting
   * job.completed with the counts. Returns the finished job, or undefined
   * if nodes are still unfinished or someone else completed it.
   */
  complete(id: string, now = Date.now()): Promise<JobRow | undefined> {
    return this.#events.transaction(async (trx) => {
      const job = await trx.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst();
      if (!job || job.state !== 'running') return undefined;
      const counts = countsFrom(
        await trx
          .selectFrom('commands')
          .select(['state', (eb) => eb.fn.countAll<number | string>().as('n')])
          .where('job_id', '=', id)
          .groupBy('state')
          .execute(),
      );
      if (unfinished(counts) > 0) return undefined;
      const state = finalJobState(job, counts);
      await trx
        .updateTable('jobs')
        .set({ state, finished_at: now })
        .where('id', '=', id)
        .where('state', '=', 'running')
        .execute();
      const event: NewEvent = {
        type: 'job.completed',
        at: now,
        node_id: null,
        job_id: id,
        data: eventSummary(job, state, counts),
      };
      await this.#events.append(trx, [event]);
      return { ...job, state, finished_at: now };
    });
  }

  /** Tells other headnodes this one still runs its jobs; returns the ids of the jobs it still owns. */
  async renew(owner: string, now = Date.now()): Promise<Set<string>> {
    const rows = await this.#db
      .updateTable('jobs')
      .set({ owner_seen_at: now })
      .where('owner', '=', owner)
      .where('state', '=', 'running')
      .returning('id')
      .execute();
    return new Set(rows.map((r) => r.id));
  }

  /** Running jobs without an owner, or whose owner has not renewed them for `ttlMs`. */
  orphans(ttlMs: number, now = Date.now()): Promise<JobRow[]> {
    return this.#db
      .selectFrom('jobs')
      .selectAll()
      .where('state', '=', 'running')
      .where((eb) => eb.or([eb('owner', 'is', null), eb('owner_seen_at', '<', now - ttlMs)]))
      .orderBy('created_at')
      .execute();
  }

  /**
   * Takes a job over from an owner that stopped renewing it (only if nobody
   * else did first), emitting job.resumed.
   */
  adopt(job: JobRow, owner: string, now = Date.now()): Promise<JobRow | undefined> {
    return this.#events.transaction(async (trx) => {
      const taken = await trx
        .updateTable('jobs')
        .set({ owner, owner_seen_at: now })
        .where('id', '=', job.id)
        .where('state', '=', 'running')
        .where('owner_seen_at', '=', job.owner_seen_at)
        .where((eb) => (job.owner === null ? eb('owner', 'is', null) : eb('owner', '=', job.owner)))
        .executeTakeFirst();
      if (Number(taken.numUpdatedRows) === 0) return undefined;
      const counts = countsFrom(
        await trx
          .selectFrom('commands')
          .select(['state', (eb) => eb.fn.countAll<number | string>().as('n')])
          .where('job_id', '=', job.id)
          .groupBy('state')
          .execute(),
      );
      await this.#events.append(trx, [
        {
          type: 'job.resumed',
          at: now,
          node_id: null,
          job_id: job.id,
          data: {
            by: owner,
            previous_owner: job.owner,
            pending: counts.pending,
            in_flight: counts.sent + counts.accepted + counts.running,
          },
        },
      ]);
      return { ...job, owner, owner_seen_at: now };
    });
  }

  /** Hands this headnode's running jobs over (graceful stop): a restart or a peer takes them at once. */
  async release(owner: string, now = Date.now()): Promise<void> {
    await this.#db
      .updateTable('jobs')
      .set({ owner: null, owner_seen_at: now })
      .where('owner', '=', owner)
      .where('state', '=', 'running')
      .execute();
  }

  /**
   * Deletes finished jobs (with their node rows) finished before `before`,
   * and beyond the newest `keep` finished ones. Returns how many jobs.
   */
  async prune(keep: number, before: number): Promise<number> {
    const old = await this.#db
      .selectFrom('jobs')
      .select('id')
      .where('state', '!=', 'running')
      .where('finished_at', '<', before)
      .execute();
    const excess = await this.#db
      .selectFrom('jobs')
      .select('id')
      .where('state', '!=', 'running')
      .orderBy('finished_at', 'desc')
      .orderBy('id', 'desc')
      .offset(keep)
      .limit(1_000_000)
      .execute();
    const ids = [...new Set([...old, ...excess].map((r) => r.id))];
    for (let i = 0; i < ids.length; i += CHUNK) {
      const chunk = ids.slice(i, i + CHUNK);
      await this.#db.transaction().execute(async (trx) => {
        await trx.deleteFrom('commands').where('job_id', 'in', chunk).execute();
        await trx.deleteFrom('jobs').where('id', 'in', chunk).execute();
      });
    }
    return ids.length;
  }
}
