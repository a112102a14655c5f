import { sql, type Kysely } from 'kysely';
import { STATUS_EVENTS, type NodeStatus } from '@ur/protocol';
import { nextStatus, UNKNOWN_AFTER_START, type LivenessSettings } from '../liveness-rules.js';
import type { Dialect } from './dialect.js';
import { inEventTransaction, type Trx } from './event-transaction.js';
import type { EventStore, NewNodeEvent } from './event-store.js';
import type { Database } from './schema.js';

const LEASE = 'liveness';
const UPDATE_CHUNK = 500;

export interface TickOptions {
  /** This headnode's id. */
  holder: string;
  /** When this headnode started consuming (epoch ms). */
  startedAt: number;
  leaseTtlMs: number;
  now?: number;
}

export interface TickResult {
  /** This headnode holds the lease and evaluated. */
  leader: boolean;
  /** Nodes moved to `unknown` because nobody was watching before this headnode started. */
  reset: number;
  transitions: number;
}

/**
 * The periodic liveness evaluation, run by one headnode at a time: the
 * holder of a lease row. Taking the lease over from a headnode that stopped
 * before this one started means nobody consumed heartbeats in between, so
 * nodes not heard from since this start become `unknown` (not `down`) for a
 * grace period. Taking it over from a peer this headnode ran alongside
 * (failover) changes nothing.
 */
export class LivenessStore {
  readonly #db: Kysely<Database>;
  readonly #dialect: Dialect;
  readonly #events: EventStore;
  readonly #settings: LivenessSettings;

  constructor(db: Kysely<Database>, dialect: Dialect, events: EventStore, settings: LivenessSettings) {
    this.#db = db;
    this.#dialect = dialect;
    this.#events = events;
    this.#settings = settings;
  }

  tick(o: TickOptions): Promise<TickResult> {
    return inEventTransaction(this.#db, this.#dialect, async (trx) => {
      const now = o.now ?? Date.now();
      const lease = await trx.selectFrom('leases').selectAll().where('name', '=', LEASE).executeTakeFirst();
      if (lease && lease.holder !== o.holder && lease.expires_at > now) {
        return { leader: false, reset: 0, transitions: 0 };
      }
      const continuous =
        lease !== undefined && (lease.holder === o.holder || o.startedAt <= lease.renewed_at);
      await trx
        .insertInto('leases')
        .values({ name: LEASE, holder: o.holder, renewed_at: now, expires_at: now + o.leaseTtlMs })
        .onConflict((oc) =>
          oc
            .column('name')
            .doUpdateSet({ holder: o.holder, renewed_at: now, expires_at: now + o.leaseTtlMs }),
        )
        .execute();
      const reset = continuous ? 0 : await this.#markUnknown(trx, o.startedAt, now);
      const transitions = await this.#evaluate(trx, now);
      return { leader: true, reset, transitions };
    });
  }

  /** Gives the lease up so a peer takes over at its next tick. */
  async release(holder: string, now = Date.now()): Promise<void> {
    await this.#db
      .updateTable('leases')
      .set({ expires_at: now })
      .where('name', '=', LEASE)
      .where('holder', '=', holder)
      .execute();
  }

  async #markUnknown(trx: Trx, startedAt: number, now: number): Promise<number> {
    const rows = await trx
      .selectFrom('nodes')
      .select(['id', 'status'])
      .where('status', 'in', ['ready', 'suspect'])
      .where('last_seen', '<', startedAt)
      .execute();
    await this.#write(
      trx,
      rows.map((r) => ({ id: r.id, from: r.status, to: 'unknown', reason: UNKNOWN_AFTER_START })),
      now,
    );
    return rows.length;
  }

  async #evaluate(trx: Trx, now: number): Promise<number> {
    const s = this.#settings;
    const downBefore = now - s.downAfterMs;
    const rows = await trx
      .selectFrom('nodes')
      .select(['id', 'status', 'status_since', 'last_seen', 'heartbeat_interval_ms'])
      .where((eb) =>
        eb.or([
          eb.and([
            eb('status', '=', 'ready'),
            eb.or([
              sql<boolean>`last_seen + 2 * coalesce(heartbeat_interval_ms, ${s.defaultHeartbeatIntervalMs}) <= ${now}`,
              eb('last_seen', '<=', downBefore),
            ]),
          ]),
          eb.and([eb('status', '=', 'suspect'), eb('last_seen', '<=', downBefore)]),
          eb.and([
            eb('status', '=', 'unknown'),
            eb('status_since', '<=', downBefore),
            eb('last_seen', '<', eb.ref('status_since')),
          ]),
        ]),
      )
      .execute();
    const changes = [];
    for (const row of rows) {
      const t = nextStatus(row, now, s);
      if (t) changes.push({ id: row.id, from: row.status, to: t.to, reason: t.reason });
    }
    await this.#write(trx, changes, now);
    return changes.length;
  }

  /** Writes transitions, one UPDATE per (status, reason), and their events. */
  async #write(
    trx: Trx,
    changes: readonly { id: string; from: NodeStatus; to: NodeStatus; reason: string }[],
    now: number,
  ): Promise<void> {
    if (changes.length === 0) return;
    const groups = new Map<string, { to: NodeStatus; reason: string; ids: string[] }>();
    for (const c of changes) {
      const key = `${c.to}\n${c.reason}`;
      const group = groups.get(key) ?? { to: c.to, reason: c.reason, ids: [] };
      group.ids.push(c.id);
      groups.set(key, group);
    }
    for (const g of groups.values()) {
      for (let i = 0; i < g.ids.length; i += UPDATE_CHUNK) {
        await trx
          .updateTable('nodes')
          .set({ status: g.to, status_since: now, status_reason: g.reason })
          .where('id', 'in', g.ids.slice(i, i + UPDATE_CHUNK))
          .execute();
      }
    }
    const events: NewNodeEvent[] = changes.map((c) => ({
      node_id: c.id,
      type: STATUS_EVENTS[c.to],
      at: now,
      data: { from: c.from, to: c.to, reason: c.reason },
    }));
    await this.#events.append(trx, events);
  }
}
