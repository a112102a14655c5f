import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import { EventStore, openDatabase, ServiceStore, type Dialect } from '@ur/headnode';
import { check, ServiceNodeEventSchema, silentLogger, type ServiceEvent } from '@ur/protocol';
import { createTestDatabase, type TestDatabase } from '@ur/testkit';

let dir: string;
const databases: TestDatabase[] = [];
const open: Kysely<never>[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ur-service-store-'));
});
afterAll(async () => {
  await Promise.all(open.map((db) => db.destroy()));
  await Promise.all(databases.map((d) => d.drop()));
  await rm(dir, { recursive: true, force: true });
});

async function stores(dialect: Dialect): Promise<{ services: ServiceStore; events: EventStore }> {
  let location = join(dir, `${dialect}-${databases.length}-${open.length}.db`);
  if (dialect === 'postgres') {
    const database = await createTestDatabase('ur_services');
    databases.push(database);
    location = database.url;
  }
  const { db, dialect: opened } = await openDatabase(location, silentLogger);
  open.push(db as unknown as Kysely<never>);
  const events = new EventStore(db, opened);
  return { services: new ServiceStore(db, opened, events), events };
}

const base = Date.parse('2030-01-01T00:00:00Z');
function event(seq: number, to: ServiceEvent['to'], extra: Partial<ServiceEvent> = {}): ServiceEvent {
  return {
    type: 'service',
    node_id: 'n1',
    coordinate: '1.web.ops.eu',
    artifact: 'com.example:web:1.0.0',
    from: null,
    to,
    pid: 100,
    restarts: 0,
    at: new Date(base + seq * 1000).toISOString(),
    seq,
    ...extra,
  };
}

describe.each<Dialect>(['sqlite', 'postgres'])('the service inventory on %s', (dialect) => {
  it('keeps the newest state per service, logs every transition once, and forgets', async () => {
    const { services, events } = await stores(dialect);
    expect(await services.record('n1', event(1, 'starting'))).toBe('recorded');
    expect(
      await services.record(
        'n1',
        event(3, 'backoff', { from: 'running', exit_status: null, signal: 'SIGKILL', pid: null }),
      ),
    ).toBe('recorded');
    // Consumed out of order by another headnode: logged, but the row keeps the newer state.
    expect(await services.record('n1', event(2, 'running', { from: 'starting' }))).toBe('stale');
    // Re-sent: nothing.
    expect(await services.record('n1', event(3, 'backoff', { from: 'running', pid: null }))).toBe(
      'duplicate',
    );
    expect(await services.record('n2', event(1, 'running', { node_id: 'n2' }))).toBe('recorded');
    expect(await services.forNode('n1')).toEqual([
      {
        coordinate: '1.web.ops.eu',
        artifact: 'com.example:web:1.0.0',
        state: 'backoff',
        since: new Date(base + 3000).toISOString(),
        pid: null,
        restarts: 0,
        exit_status: null,
        signal: 'SIGKILL',
      },
    ]);
    // A transition without an exit keeps the last exit.
    await services.record('n1', event(4, 'running', { from: 'backoff', pid: 101, restarts: 1 }));
    expect(await services.forNode('n1')).toMatchObject([
      { state: 'running', pid: 101, restarts: 1, signal: 'SIGKILL' },
    ]);

    const logged = await events.after(0, 100);
    expect(logged.map((e) => `${'node_id' in e ? e.node_id : ''} ${e.type}`)).toEqual([
      'n1 service.starting',
      'n1 service.backoff',
      'n1 service.running',
      'n2 service.running',
      'n1 service.running',
    ]);
    for (const e of logged) expect(check(ServiceNodeEventSchema, e).ok).toBe(true);
    expect(logged[1]).toMatchObject({
      data: { from: 'running', to: 'backoff', signal: 'SIGKILL', forgotten: false },
    });

    await services.record('n1', event(5, 'stopped', { from: 'running', forgotten: true, pid: null }));
    expect(await services.forNode('n1')).toEqual([]);
    expect(await services.forNode('n2')).toHaveLength(1);
    expect((await events.after(0, 100)).at(-1)).toMatchObject({
      type: 'service.stopped',
      data: { forgotten: true },
    });
  });
});
