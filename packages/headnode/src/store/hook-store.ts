import type { Kysely, Selectable } from 'kysely';
import type { DeliveryStatus } from '@ur/protocol';
import type { Database, HookDeliveriesTable, HooksTable } from './schema.js';

export type HookRow = Selectable<HooksTable>;
export type DeliveryRow = Selectable<HookDeliveriesTable>;

export interface NewDelivery {
  hookId: string;
  eventId: number;
  eventType: string;
  payload: string;
}

const CURSOR = 'hooks';
const CHUNK = 200;

/** Webhooks and their outbox of deliveries. */
export class HookStore {
  readonly #db: Kysely<Database>;

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  async create(hook: HookRow): Promise<void> {
    await this.#db.insertInto('hooks').values(hook).execute();
  }

  list(): Promise<HookRow[]> {
    return this.#db.selectFrom('hooks').selectAll().orderBy('created_at').orderBy('id').execute();
  }

  get(id: string): Promise<HookRow | undefined> {
    return this.#db.selectFrom('hooks').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** Deletes a hook and its deliveries; false if there was none. */
  delete(id: string): Promise<boolean> {
    return this.#db.transaction().execute(async (trx) => {
      await trx.deleteFrom('hook_deliveries').where('hook_id', '=', id).execute();
      const result = await trx.deleteFrom('hooks').where('id', '=', id).executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    });
  }

  /** Deliveries not yet made and given up on, per hook. */
  async outstanding(): Promise<Map<string, { pending: number; failed: number }>> {
    const rows = await this.#db
      .selectFrom('hook_deliveries')
      .select(['hook_id', 'status', (eb) => eb.fn.countAll<number | string>().as('n')])
      .where('status', 'in', ['pending', 'failed'])
      .groupBy(['hook_id', 'status'])
      .execute();
    const result = new Map<string, { pending: number; failed: number }>();
    for (const r of rows) {
      const entry = result.get(r.hook_id) ?? { pending: 0, failed: 0 };
      if (r.status === 'pending') entry.pending = Number(r.n);
      if (r.status === 'failed') entry.failed = Number(r.n);
      result.set(r.hook_id, entry);
    }
    return result;
  }

  /** The last event id the outbox has enqueued deliveries for; undefined before the first run. */
  async cursor(): Promise<number | undefined> {
    const row = await this.#db
      .selectFrom('cursors')
      .select('position')
      .where('name', '=', CURSOR)
      .executeTakeFirst();
    return row === undefined ? undefined : Number(row.position);
  }

  /**
   * Adds deliveries and moves the cursor in one transaction; a delivery for
   * a (hook, event) pair that exists is not added again.
   */
  async enqueue(deliveries: readonly NewDelivery[], cursor: number, now = Date.now()): Promise<void> {
    await this.#db.transaction().execute(async (trx) => {
      for (let i = 0; i < deliveries.length; i += CHUNK) {
        await trx
          .insertInto('hook_deliveries')
          .values(
            deliveries.slice(i, i + CHUNK).map((d) => ({
              hook_id: d.hookId,
              event_id: d.eventId,
              event_type: d.eventType,
              payload: d.payload,
              status: 'pending' as const,
              attempts: 0,
              last_status: null,
              last_error: null,
              created_at: now,
              last_attempt_at: null,
              next_attempt_at: now,
              delivered_at: null,
            })),
          )
          .onConflict((oc) => oc.columns(['hook_id', 'event_id']).doNothing())
          .execute();
      }
      await trx
        .insertInto('cursors')
        .values({ name: CURSOR, position: cursor })
        .onConflict((oc) =>
          oc.column('name').doUpdateSet({ position: cursor }).where('cursors.position', '<', cursor),
        )
        .execute();
    });
  }

  /** Deliveries of one hook due now, oldest first. */
  due(hookId: string, limit: number, now = Date.now()): Promise<DeliveryRow[]> {
    return this.#db
      .selectFrom('hook_deliveries')
      .selectAll()
      .where('status', '=', 'pending')
      .where('hook_id', '=', hookId)
      .where('next_attempt_at', '<=', now)
      .orderBy('id')
      .limit(limit)
      .execute();
  }

  /**
   * Takes a due delivery for one attempt: moves its next attempt past the
   * attempt's timeout, so no other sender takes it meanwhile. False if
   * another sender took it first.
   */
  async claim(row: DeliveryRow, until: number): Promise<boolean> {
    const result = await this.#db
      .updateTable('hook_deliveries')
      .set({ next_attempt_at: until })
      .where('id', '=', row.id)
      .where('status', '=', 'pending')
      .where('next_attempt_at', '=', row.next_attempt_at)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /**
   * Records an attempt: delivered (2xx), retried at `retryAt`, or failed
   * for good when `retryAt` is undefined.
   */
  async attempted(
    id: number,
    outcome: { ok: boolean; status: number | null; error: string | null; retryAt?: number | undefined },
    now = Date.now(),
  ): Promise<void> {
    const status: DeliveryStatus = outcome.ok
      ? 'delivered'
      : outcome.retryAt === undefined
        ? 'failed'
        : 'pending';
    await this.#db
      .updateTable('hook_deliveries')
      .set((eb) => ({
        status,
        attempts: eb('attempts', '+', 1),
        last_status: outcome.status,
        last_error: outcome.error,
        last_attempt_at: now,
        next_attempt_at: outcome.retryAt ?? now,
        delivered_at: outcome.ok ? now : null,
      }))
      .where('id', '=', id)
      .where('status', '=', 'pending')
      .execute();
  }

  /** One hook's deliveries, newest first. */
  deliveries(
    hookId: string,
    filter: { status?: DeliveryStatus | undefined; limit: number },
  ): Promise<DeliveryRow[]> {
    let q = this.#db.selectFrom('hook_deliveries').selectAll().where('hook_id', '=', hookId);
    if (filter.status !== undefined) q = q.where('status', '=', filter.status);
    return q.orderBy('id', 'desc').limit(filter.limit).execute();
  }

  /** Deletes finished deliveries (delivered or failed) older than `before`; returns how many. */
  async prune(before: number): Promise<number> {
    const result = await this.#db
      .deleteFrom('hook_deliveries')
      .where('status', '!=', 'pending')
      .where('last_attempt_at', '<', before)
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
