import { sql, type Kysely, type Transaction } from 'kysely';
import type { Dialect } from './dialect.js';
import type { Database } from './schema.js';

/**
 * Every transaction that changes a node's status or writes node events runs
 * under one PostgreSQL advisory lock. Headnodes sharing a database thus
 * agree on states (each transition is computed from the committed status
 * and written before anyone else looks), and event ids commit in order, so
 * a reader that follows `id > last` never skips one. SQLite serializes
 * writers by itself.
 */
const LOCK_CLASS = 0x5572; // "Ur"
const LOCK_EVENTS = 1;

export type Trx = Transaction<Database>;

export function inEventTransaction<T>(
  db: Kysely<Database>,
  dialect: Dialect,
  fn: (trx: Trx) => Promise<T>,
): Promise<T> {
  return db.transaction().execute(async (trx) => {
    if (dialect === 'postgres')
      await sql`select pg_advisory_xact_lock(${LOCK_CLASS}, ${LOCK_EVENTS})`.execute(trx);
    return fn(trx);
  });
}

/** PostgreSQL channels other headnodes LISTEN on. */
export const CHANNELS = {
  /** Node events were committed; payload: the highest id. */
  events: 'ur_events',
  /** Command results were recorded; payload: comma-separated request ids. */
  commands: 'ur_commands',
} as const;

/** NOTIFY payloads must stay under 8000 bytes. */
const MAX_PAYLOAD = 7_000;

/** Sends NOTIFY on PostgreSQL (delivered on commit); nothing on SQLite. */
export async function notify(
  trx: Trx,
  dialect: Dialect,
  channel: string,
  items: readonly string[],
): Promise<void> {
  if (dialect !== 'postgres' || items.length === 0) return;
  let chunk: string[] = [];
  let size = 0;
  const flush = async (): Promise<void> => {
    if (chunk.length > 0) await sql`select pg_notify(${channel}, ${chunk.join(',')})`.execute(trx);
    chunk = [];
    size = 0;
  };
  for (const item of items) {
    if (size + item.length + 1 > MAX_PAYLOAD) await flush();
    chunk.push(item);
    size += item.length + 1;
  }
  await flush();
}
