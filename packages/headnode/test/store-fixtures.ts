import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import {
  CommandStore,
  EventStore,
  HookStore,
  JobStore,
  LivenessStore,
  NodeKeyStore,
  NodeStore,
  openDatabase,
  ReservationStore,
  TokenStore,
  type Dialect,
  type NewJob,
} from '@ur/headnode';
import { silentLogger } from '@ur/protocol';
import { createTestDatabase, type TestDatabase } from '@ur/testkit';

/**
 * Fresh, migrated databases of either dialect for store tests, closed and
 * dropped at the end: call `setUp` in beforeAll and `tearDown` in afterAll.
 */
export class StoreFixtures {
  #dir = '';
  #counter = 0;
  readonly #databases: TestDatabase[] = [];
  readonly #open: Kysely<never>[] = [];

  async setUp(): Promise<void> {
    this.#dir = await mkdtemp(join(tmpdir(), 'ur-store-'));
  }

  async tearDown(): Promise<void> {
    await Promise.all(this.#open.map((db) => db.destroy()));
    await Promise.all(this.#databases.map((d) => d.drop()));
    await rm(this.#dir, { recursive: true, force: true });
  }

  /** A fresh database of the dialect; `location` opens the same one again. */
  async fresh(dialect: Dialect): Promise<{ location: string }> {
    if (dialect === 'sqlite') return { location: join(this.#dir, `db-${this.#counter++}.db`) };
    const database = await createTestDatabase('ur_store');
    this.#databases.push(database);
    return { location: database.url };
  }

  /** Closes a database before the end (to open it again). */
  async close(db: Kysely<never> | Kysely<unknown> | { destroy(): Promise<void> }): Promise<void> {
    await db.destroy();
    const i = this.#open.indexOf(db as Kysely<never>);
    if (i >= 0) this.#open.splice(i, 1);
  }

  async stores(location: string) {
    const { db, dialect } = await openDatabase(location, silentLogger);
    this.#open.push(db as unknown as Kysely<never>);
    const events = new EventStore(db, dialect);
    return {
      db,
      events,
      nodes: new NodeStore(db, dialect, events),
      commands: new CommandStore(db, dialect, events),
      jobs: new JobStore(db, events),
      hooks: new HookStore(db),
      keys: new NodeKeyStore(db, dialect, events),
      tokens: new TokenStore(db),
      reservations: new ReservationStore(db, dialect),
      liveness: new LivenessStore(db, dialect, events, {
        downAfterMs: 30_000,
        defaultHeartbeatIntervalMs: 5_000,
      }),
    };
  }
}

/** A job of `script true` on all nodes, created at `at` by hn-a (fields in `extra` replace these). */
export const job = (id: string, at: number, extra: Partial<NewJob> = {}): NewJob => ({
  id,
  kind: 'fanout',
  target: 'all',
  command: { type: 'script', script: 'true' },
  type: 'script',
  concurrency: '2',
  maxErrors: null,
  batchWaitMs: 0,
  timeoutMs: 60_000,
  stream: false,
  createdAt: at,
  createdBy: 'test',
  owner: 'hn-a',
  ...extra,
});

/** A command issued by hn-a at `at`, due 70 s later. */
export const issued = (requestId: string, nodeId: string, at: number) => ({
  requestId,
  nodeId,
  type: 'script',
  request: {},
  issuedBy: 'hn-a',
  issuedAt: at,
  deadline: at + 70_000,
});
