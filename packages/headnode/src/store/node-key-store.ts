import type { Kysely } from 'kysely';
import type { Dialect } from './dialect.js';
import type { EventStore } from './event-store.js';
import { inEventTransaction } from './event-transaction.js';
import type { Database, KeyStatus } from './schema.js';

export interface NodeKeyRow {
  id: string;
  public_key: string | null;
  offered_key: string | null;
  key_status: KeyStatus;
}

export interface Mismatch {
  /** A new key the node proved it holds (the message was signed with it), else null. */
  offered: string | null;
  /** The kind of message: startup, sysinfo, execute-reply. */
  message: string;
  reason: string;
}

export type TrustOutcome =
  | { outcome: 'pinned'; publicKey: string }
  | { outcome: 'acknowledged'; publicKey: string | null }
  | { outcome: 'nothing' }
  | { outcome: 'unknown' };

/**
 * The agent keys pinned per node (trust on first use) and the operator's
 * changes to them. Pinning itself happens with the node's first
 * announcement (NodeStore.apply); every change here is a node event.
 */
export class NodeKeyStore {
  readonly #db: Kysely<Database>;
  readonly #dialect: Dialect;
  readonly #events: EventStore;

  constructor(db: Kysely<Database>, dialect: Dialect, events: EventStore) {
    this.#db = db;
    this.#dialect = dialect;
    this.#events = events;
  }

  /** Every pinned key, by node id. */
  async pinned(): Promise<Map<string, string>> {
    const rows = await this.#db
      .selectFrom('nodes')
      .select(['id', 'public_key'])
      .where('public_key', 'is not', null)
      .execute();
    return new Map(rows.map((r) => [r.id, r.public_key!]));
  }

  get(id: string): Promise<NodeKeyRow | undefined> {
    return this.#db
      .selectFrom('nodes')
      .select(['id', 'public_key', 'offered_key', 'key_status'])
      .where('id', '=', id)
      .executeTakeFirst();
  }

  /**
   * Flags a node whose message did not match its pinned key. Returns true if
   * that is news (an event was written): a node that keeps sending with the
   * same new key is flagged once.
   */
  flagMismatch(id: string, m: Mismatch, now = Date.now()): Promise<boolean> {
    return inEventTransaction(this.#db, this.#dialect, async (trx) => {
      const row = await trx
        .selectFrom('nodes')
        .select(['public_key', 'offered_key', 'key_status'])
        .where('id', '=', id)
        .executeTakeFirst();
      if (!row) return false;
      const offered = m.offered ?? row.offered_key;
      if (row.key_status === 'mismatch' && offered === row.offered_key) return false;
      await trx
        .updateTable('nodes')
        .set({ key_status: 'mismatch', offered_key: offered })
        .where('id', '=', id)
        .execute();
      await this.#events.append(trx, [
        {
          node_id: id,
          type: 'node.key_mismatch',
          at: now,
          data: { pinned_key: row.public_key, offered_key: m.offered, message: m.message, reason: m.reason },
        },
      ]);
      return true;
    });
  }

  /**
   * `urctl nodes trust`: pins the key the node offered (it was reinstalled,
   * or its key rotated). Without an offered key, acknowledges a mismatch
   * flag and keeps the pinned key.
   */
  trust(id: string, now = Date.now()): Promise<TrustOutcome> {
    return inEventTransaction(this.#db, this.#dialect, async (trx) => {
      const row = await trx
        .selectFrom('nodes')
        .select(['public_key', 'offered_key', 'key_status'])
        .where('id', '=', id)
        .executeTakeFirst();
      if (!row) return { outcome: 'unknown' };
      const key = row.offered_key;
      if (key !== null) {
        await trx
          .updateTable('nodes')
          .set({ public_key: key, offered_key: null, key_status: 'pinned' })
          .where('id', '=', id)
          .execute();
        await this.#events.append(trx, [
          { node_id: id, type: 'node.key_pinned', at: now, data: { public_key: key, how: 'trusted' } },
        ]);
        return { outcome: 'pinned', publicKey: key };
      }
      if (row.key_status !== 'mismatch') return { outcome: 'nothing' };
      await trx
        .updateTable('nodes')
        .set({ key_status: row.public_key === null ? 'none' : 'pinned' })
        .where('id', '=', id)
        .execute();
      return { outcome: 'acknowledged', publicKey: row.public_key };
    });
  }

  /** `urctl nodes forget`: unpins the key; the node's next announcement pins one again. False if unknown. */
  forget(id: string, now = Date.now()): Promise<boolean> {
    return inEventTransaction(this.#db, this.#dialect, async (trx) => {
      const row = await trx
        .selectFrom('nodes')
        .select(['public_key'])
        .where('id', '=', id)
        .executeTakeFirst();
      if (!row) return false;
      await trx
        .updateTable('nodes')
        .set({ public_key: null, offered_key: null, key_status: 'none' })
        .where('id', '=', id)
        .execute();
      await this.#events.append(trx, [
        { node_id: id, type: 'node.key_forgotten', at: now, data: { public_key: row.public_key } },
      ]);
      return true;
    });
  }
}
