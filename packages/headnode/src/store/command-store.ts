import type { Kysely, Selectable } from 'kysely';
import type { CommandStatus } from '@ur/protocol';
import type { Dialect } from './dialect.js';
import { CHANNELS, notify, type Trx } from './event-transaction.js';
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

/**
 * Commands and their one result. Results are written only over `sent`
 * (first result wins), so a reply delivered twice, or a reply racing a
 * timeout, is recorded once.
 */
export class CommandStore {
  readonly #db: Kysely<Database>;
  readonly #dialect: Dialect;

  constructor(db: Kysely<Database>, dialect: Dialect) {
    this.#db = db;
    this.#dialect = dialect;
  }

  async issue(c: IssuedCommand): Promise<void> {
    await this.#db
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
      })
      .execute();
  }

  /** Records a result without a reply (offline, timed out); false if another result was there first. */
  async finish(
    requestId: string,
    status: Exclude<CommandStatus, 'sent' | 'done'>,
    by: string,
    now = Date.now(),
  ): Promise<boolean> {
    const result = await this.#db
      .updateTable('commands')
      .set({ status, finished_at: now, recorded_by: by })
      .where('request_id', '=', requestId)
      .where('status', '=', 'sent')
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
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
    for (const r of replies) {
      const updated = await trx
        .updateTable('commands')
        .set({ status: 'done', reply: JSON.stringify(r.body), finished_at: now, recorded_by: by })
        .where('request_id', '=', r.requestId)
        .where('status', '=', 'sent')
        .executeTakeFirst();
      if (Number(updated.numUpdatedRows) > 0) recorded.push(r.requestId);
    }
    await notify(trx, this.#dialect, CHANNELS.commands, recorded);
    return recorded;
  }

  /** Commands still `sent` past their deadline plus `graceMs` (their headnode died): recorded as timed out. */
  async sweep(by: string, graceMs: number, now = Date.now()): Promise<number> {
    const result = await this.#db
      .updateTable('commands')
      .set({ status: 'timed_out', finished_at: now, recorded_by: by })
      .where('status', '=', 'sent')
      .where('deadline', '<', now - graceMs)
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  get(requestId: string): Promise<CommandRow | undefined> {
    return this.#db.selectFrom('commands').selectAll().where('request_id', '=', requestId).executeTakeFirst();
  }

  getMany(requestIds: readonly string[]): Promise<CommandRow[]> {
    if (requestIds.length === 0) return Promise.resolve([]);
    return this.#db.selectFrom('commands').selectAll().where('request_id', 'in', requestIds).execute();
  }

  /** Newest first. */
  list(filter: { nodeId?: string | undefined; limit: number }): Promise<CommandRow[]> {
    let q = this.#db.selectFrom('commands').selectAll();
    if (filter.nodeId !== undefined) q = q.where('node_id', '=', filter.nodeId);
    return q.orderBy('issued_at', 'desc').orderBy('request_id').limit(filter.limit).execute();
  }

  /** Deletes finished commands older than `before`; returns how many. */
  async prune(before: number): Promise<number> {
    const result = await this.#db
      .deleteFrom('commands')
      .where('status', '!=', 'sent')
      .where('finished_at', '<', before)
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
