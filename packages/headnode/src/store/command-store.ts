import type { Kysely, Selectable } from 'kysely';
import type { JobNodeState } from '@ur/protocol';
import { CommandNotPendingError } from '../errors.js';
import { stateOfReplyBody } from '../jobs/node-state.js';
import type { Dialect } from './dialect.js';
import { CHANNELS, notify, type Trx } from './event-transaction.js';
import type { EventStore } from './event-store.js';
import { jobNodeEvents } from './job-node-events.js';
import type { CommandsTable, Database } from './schema.js';

export type CommandRow = Selectable<CommandsTable>;

export interface IssuedCommand {
  requestId: string;
  nodeId: string;
  type: string;
  request: unknown;
  issuedBy: string;
  issuedAt: number;
  deadline: number;
}

/** A reply as it arrived on `ur.execute-reply.<node>.<request>`. */
export interface ArrivedReply {
  requestId: string;
  body: unknown;
}

/** The job-node states a progress event moves a command to. */
export type ProgressState = 'accepted' | 'running';

export interface ArrivedProgress {
  requestId: string;
  state: ProgressState;
}

/** Results recorded without a reply. */
export type NoReplyStatus = 'offline' | 'expired' | 'timed_out';

const CHANGED = ['request_id', 'node_id', 'job_id', 'state', 'detail', 'sent_at'] as const;
const CHUNK = 500;

/**
 * Commands and their one result. Results are written only over `sent`
 * (first result wins), so a reply delivered twice, or a reply racing a
 * timeout, is recorded once. Rows of a job also change state (pending →
 * sent → accepted → running → final), each change with its `job.node.*`
 * event in the same transaction.
 */
export class CommandStore {
  readonly #db: Kysely<Database>;
  readonly #dialect: Dialect;
  readonly #events: EventStore;

  constructor(db: Kysely<Database>, dialect: Dialect, events: EventStore) {
    this.#db = db;
    this.#dialect = dialect;
    this.#events = events;
  }

  /**
   * Records a command about to be published: claims the job's pending row
   * with that request id, or inserts a new row. Throws
   * {@link CommandNotPendingError} when the row exists but is no longer
   * pending (the job was cancelled meanwhile): it must not be published.
   */
  issue(c: IssuedCommand): Promise<void> {
    return this.#events.transaction(async (trx) => {
      const claimed = await trx
        .updateTable('commands')
        .set({
          status: 'sent',
          state: 'sent',
          issued_by: c.issuedBy,
          sent_at: c.issuedAt,
          deadline: c.deadline,
        })
        .where('request_id', '=', c.requestId)
        .where('status', '=', 'pending')
        .returning(CHANGED)
        .execute();
      if (claimed.length > 0) {
        await this.#events.append(trx, jobNodeEvents(claimed, c.issuedAt));
        return;
      }
      const existing = await trx
        .selectFrom('commands')
        .select(['status'])
        .where('request_id', '=', c.requestId)
        .executeTakeFirst();
      if (existing) throw new CommandNotPendingError(c.requestId, existing.status);
      await trx
        .insertInto('commands')
        .values({
          request_id: c.requestId,
          node_id: c.nodeId,
          type: c.type,
          request: JSON.stringify(c.request),
          issued_by: c.issuedBy,
          issued_at: c.issuedAt,
          deadline: c.deadline,
          status: 'sent',
          reply: null,
          finished_at: null,
          recorded_by: null,
          job_id: null,
          state: 'sent',
          sent_at: c.issuedAt,
          detail: null,
        })
        .execute();
    });
  }

  /** A job's command could not be published after all: back to pending, to be sent again. */
  unclaim(requestId: string, now = Date.now()): Promise<boolean> {
    return this.#events.transaction(async (trx) => {
      const rows = await trx
        .updateTable('commands')
        .set({ status: 'pending', state: 'pending', sent_at: null, deadline: 0 })
        .where('request_id', '=', requestId)
        .where('status', '=', 'sent')
        .where('job_id', 'is not', null)
        .returning(CHANGED)
        .execute();
      await this.#events.append(trx, jobNodeEvents(rows, now));
      return rows.length > 0;
    });
  }

  /** Records a result without a reply (offline, expired, timed out); false if another result was there first. */
  finish(
    requestId: string,
    status: NoReplyStatus,
    by: string,
    now = Date.now(),
    detail: string | null = null,
  ): Promise<boolean> {
    return this.#events.transaction(async (trx) => {
      const rows = await trx
        .updateTable('commands')
        .set({ status, state: status, finished_at: now, recorded_by: by, detail })
        .where('request_id', '=', requestId)
        .where('status', '=', 'sent')
        .returning(CHANGED)
        .execute();
      await this.#events.append(trx, jobNodeEvents(rows, now));
      return rows.length > 0;
    });
  }

  /** A progress event moved a sent command on (never back). */
  progress(requestId: string, state: ProgressState, now = Date.now()): Promise<boolean> {
    return this.#events.transaction(
      async (trx) => (await this.recordProgress(trx, [{ requestId, state }], now)).length > 0,
    );
  }

  /**
   * Moves sent commands on by their progress events inside the inbound
   * transaction (never back); returns the request ids that moved.
   */
  async recordProgress(trx: Trx, progress: readonly ArrivedProgress[], now = Date.now()): Promise<string[]> {
    const changed = [];
    for (const { requestId, state } of progress) {
      const before: JobNodeState[] = state === 'accepted' ? ['sent'] : ['sent', 'accepted'];
      changed.push(
        ...(await trx
          .updateTable('commands')
          .set({ state })
          .where('request_id', '=', requestId)
          .where('status', '=', 'sent')
          .where('state', 'in', before)
          .returning(CHANGED)
          .execute()),
      );
    }
    await this.#events.append(trx, jobNodeEvents(changed, now));
    return changed.map((row) => row.request_id);
  }

  /**
   * Records replies inside the inbound transaction; returns the request ids
   * recorded now and NOTIFYs them (PostgreSQL) so the headnode that issued
   * each one answers its caller.
   */
  async recordReplies(
    trx: Trx,
    replies: readonly ArrivedReply[],
    by: string,
    now = Date.now(),
  ): Promise<string[]> {
    const recorded: string[] = [];
    const changed = [];
    for (const r of replies) {
      const reply = JSON.stringify(r.body);
      const rows = await trx
        .updateTable('commands')
        .set({
          status: 'done',
          state: stateOfReplyBody(r.body),
          reply,
          finished_at: now,
          recorded_by: by,
        })
        .where('request_id', '=', r.requestId)
        .where('status', '=', 'sent')
        .returning(CHANGED)
        .execute();
      for (const row of rows) {
        recorded.push(row.request_id);
        changed.push({ ...row, reply });
      }
    }
    await this.#events.append(trx, jobNodeEvents(changed, now));
    await notify(trx, this.#dialect, CHANNELS.commands, recorded);
    return recorded;
  }

  /** Commands still `sent` past their deadline plus `graceMs` (their headnode died): recorded as timed out. */
  sweep(by: string, graceMs: number, now = Date.now()): Promise<number> {
    return this.#events.transaction(async (trx) => {
      const rows = await trx
        .updateTable('commands')
        .set({
          status: 'timed_out',
          state: 'timed_out',
          finished_at: now,
          recorded_by: by,
          detail: 'no reply by the deadline (the headnode that sent it stopped waiting)',
        })
        .where('status', '=', 'sent')
        .where('deadline', '<', now - graceMs)
        .returning(CHANGED)
        .execute();
      await this.#events.append(trx, jobNodeEvents(rows, now));
      return rows.length;
    });
  }

  /** True if the command was sent and has no result yet (a reply to it would be recorded). */
  async awaitsResult(requestId: string): Promise<boolean> {
    const row = await this.#db
      .selectFrom('commands')
      .select('request_id')
      .where('request_id', '=', requestId)
      .where('status', '=', 'sent')
      .executeTakeFirst();
    return row !== undefined;
  }

  get(requestId: string): Promise<CommandRow | undefined> {
    return this.#db.selectFrom('commands').selectAll().where('request_id', '=', requestId).executeTakeFirst();
  }

  async getMany(requestIds: readonly string[]): Promise<CommandRow[]> {
    const rows: CommandRow[] = [];
    for (let i = 0; i < requestIds.length; i += CHUNK) {
      const chunk = requestIds.slice(i, i + CHUNK);
      rows.push(
        ...(await this.#db.selectFrom('commands').selectAll().where('request_id', 'in', chunk).execute()),
      );
    }
    return rows;
  }

  /** Newest first. */
  list(filter: { nodeId?: string | undefined; limit: number }): Promise<CommandRow[]> {
    let q = this.#db.selectFrom('commands').selectAll();
    if (filter.nodeId !== undefined) q = q.where('node_id', '=', filter.nodeId);
    return q.orderBy('issued_at', 'desc').orderBy('request_id').limit(filter.limit).execute();
  }

  /** Deletes finished commands outside jobs older than `before`; returns how many (jobs are pruned whole). */
  async prune(before: number): Promise<number> {
    const result = await this.#db
      .deleteFrom('commands')
      .where('job_id', 'is', null)
      .where('status', '!=', 'sent')
      .where('finished_at', '<', before)
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
