import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import {
  CommandStore,
  EventStore,
  InsufficientCapacityError,
  LivenessStore,
  NoCapacityError,
  NodeStore,
  openDatabase,
  ReservationExistsError,
  ReservationStore,
  type Dialect,
  type NodeFilter,
  type NodePatch,
} from '@ur/headnode';
import { silentLogger, type StoredEvent } from '@ur/protocol';
import { createTestDatabase, type TestDatabase } from '@ur/testkit';

let dir: string;
const databases: TestDatabase[] = [];
const open: Kysely<never>[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ur-store-'));
});
afterAll(async () => {
  await Promise.all(open.map((db) => db.destroy()));
  await Promise.all(databases.map((d) => d.drop()));
  await rm(dir, { recursive: true, force: true });
});

let counter = 0;
/** A fresh, migrated database of the dialect; `location` opens the same one again. */
async function fresh(dialect: Dialect): Promise<{ location: string }> {
  if (dialect === 'sqlite') return { location: join(dir, `db-${counter++}.db`) };
  const database = await createTestDatabase('ur_store');
  databases.push(database);
  return { location: database.url };
}

async function stores(location: string) {
  const { db, dialect } = await openDatabase(location, silentLogger);
  open.push(db as unknown as Kysely<never>);
  const events = new EventStore(db, dialect);
  return {
    db,
    events,
    nodes: new NodeStore(db, dialect, events),
    commands: new CommandStore(db, dialect),
    reservations: new ReservationStore(db, dialect),
    liveness: new LivenessStore(db, dialect, events, {
      downAfterMs: 30_000,
      defaultHeartbeatIntervalMs: 5_000,
    }),
  };
}

const GiB = 1024 ** 3;

const announce = (
  id: string,
  at: number,
  extra: Partial<NonNullable<NodePatch['announce']>> = {},
): NodePatch => ({
  id,
  seenAt: at,
  status: 'ready',
  reason: 'announced',
  announce: {
    hostname: `host-${id}`,
    sysinfo: JSON.stringify({ UUID: id, Hostname: `host-${id}` }),
    agentVersion: '0.1.0',
    capabilities: '["script"]',
    lastBoot: 1000,
    heartbeatIntervalMs: 5000,
    os: 'linux',
    arch: 'x64',
    serial: null,
    bmcAddress: null,
    cpuMilli: 4000,
    memoryBytes: 8 * GiB,
    diskBytes: 100 * GiB,
    consolePort: null,
    ...extra,
  },
});
const heartbeat = (id: string, at: number): NodePatch => ({
  id,
  seenAt: at,
  status: 'ready',
  reason: 'heartbeat',
  heartbeat: { json: '{"seq":1}', intervalMs: 5000 },
});
const shutdown = (id: string, at: number): NodePatch => ({
  id,
  seenAt: at,
  status: 'left',
  reason: 'agent stopped',
});

const types = (events: StoredEvent[]): string[] => events.map((e) => `${e.node_id} ${e.type}`);
const anyNode: NodeFilter = { accept: () => true, needsSysinfo: false, where: undefined };

describe.each<Dialect>(['sqlite', 'postgres'])('stores on %s', (dialect) => {
  it('records nodes with their facts and emits registered, status and updated events once each', async () => {
    const { location } = await fresh(dialect);
    const s = await stores(location);
    await s.nodes.apply([announce('n1', 100), heartbeat('n2', 100)]);
    await s.nodes.apply([heartbeat('n1', 200), heartbeat('n2', 200)]);
    await s.nodes.apply([announce('n1', 300, { hostname: 'renamed', memoryBytes: 16 * GiB })]);
    await s.nodes.apply([shutdown('n1', 400)]);
    expect(await s.nodes.get('n1')).toMatchObject({
      hostname: 'renamed',
      first_seen: 100,
      last_seen: 400,
      status: 'left',
      status_since: 400,
      status_reason: 'agent stopped',
      last_heartbeat: '{"seq":1}',
      memory_bytes: 16 * GiB,
      cpu_milli: 4000,
      os: 'linux',
    });
    // A heartbeat from a node never announced still records it.
    expect(await s.nodes.get('n2')).toMatchObject({
      hostname: null,
      status: 'ready',
      sysinfo: '{"UUID":"n2"}',
    });
    const events = await s.events.after(0, 100);
    expect(types(events)).toEqual([
      'n1 node.registered',
      'n1 node.ready',
      'n2 node.registered',
      'n2 node.ready',
      'n1 node.updated',
      'n1 node.left',
    ]);
    expect(events[4]?.data).toEqual({
      changes: {
        hostname: { from: 'host-n1', to: 'renamed' },
        memory_bytes: { from: 8 * GiB, to: 16 * GiB },
      },
    });
    expect(events[5]?.data).toEqual({ from: 'ready', to: 'left', reason: 'agent stopped' });
    expect(Number(events[5]?.id)).toBeGreaterThan(Number(events[0]?.id));
  });

  it('lets no message received before the current status undo it (two headnodes commit out of order)', async () => {
    const { location } = await fresh(dialect);
    const s = await stores(location);
    await s.nodes.apply([announce('n1', 100)]);
    await s.nodes.apply([shutdown('n1', 500)]);
    await s.nodes.apply([heartbeat('n1', 400)]); // received before the goodbye, committed after it
    expect(await s.nodes.get('n1')).toMatchObject({ status: 'left', status_since: 500, last_seen: 500 });
    await s.nodes.apply([heartbeat('n1', 600)]);
    expect(await s.nodes.get('n1')).toMatchObject({ status: 'ready', status_since: 600, last_seen: 600 });
  });

  it('keeps labels, records their changes, and marks a node down from a connection signal once', async () => {
    const { location } = await fresh(dialect);
    const s = await stores(location);
    await s.nodes.apply([announce('n1', 100)]);
    expect(await s.nodes.setLabels('n1', { role: 'web', zone: 'a' })).toEqual({ role: 'web', zone: 'a' });
    expect(await s.nodes.setLabels('n1', { zone: null })).toEqual({ role: 'web' });
    expect(await s.nodes.setLabels('n1', { role: 'web' })).toEqual({ role: 'web' });
    expect(await s.nodes.setLabels('nope', { role: 'web' })).toBeUndefined();
    expect(await s.nodes.markStatus('n1', 'down', 'command unroutable', ['left'], 200)).toBe(true);
    expect(await s.nodes.markStatus('n1', 'down', 'command unroutable', ['left'], 300)).toBe(false);
    await s.nodes.apply([announce('n1', 500)]); // announcing again keeps labels
    expect((await s.nodes.get('n1'))?.labels).toBe('{"role":"web"}');
    const events = await s.events.after(0, 100);
    expect(types(events)).toEqual([
      'n1 node.registered',
      'n1 node.ready',
      'n1 node.updated',
      'n1 node.updated',
      'n1 node.down',
      'n1 node.ready',
    ]);
    expect(await s.events.transitions('n1', 10)).toMatchObject([
      { from: 'down', to: 'ready', reason: 'announced' },
      { from: 'ready', to: 'down', reason: 'command unroutable' },
      { from: null, to: 'ready', reason: 'announced' },
    ]);
  });

  it('writes thousands of nodes in one batch and keeps them across reopen', async () => {
    const { location } = await fresh(dialect);
    const first = await stores(location);
    await first.nodes.apply(Array.from({ length: 5_000 }, (_, i) => announce(`n${i}`, i)));
    await first.db.destroy();
    open.splice(open.indexOf(first.db as unknown as Kysely<never>), 1);
    const second = await stores(location);
    expect(await second.nodes.count()).toBe(5_000);
    expect((await second.nodes.get('n4999'))?.hostname).toBe('host-n4999');
    expect(await second.events.lastId()).toBe(10_000);
  });

  it('evaluates liveness on one lease holder at a time, at the configured times', async () => {
    const { location } = await fresh(dialect);
    const s = await stores(location);
    const t0 = 1_000_000;
    await s.nodes.apply([announce('quiet', t0), announce('chatty', t0)]);
    const a = { holder: 'hn-a', startedAt: t0 - 1, leaseTtlMs: 5_000 };
    const b = { holder: 'hn-b', startedAt: t0 - 1, leaseTtlMs: 5_000 };
    expect(await s.liveness.tick({ ...a, now: t0 + 1_000 })).toEqual({
      leader: true,
      reset: 0,
      transitions: 0,
    });
    expect((await s.liveness.tick({ ...b, now: t0 + 2_000 })).leader).toBe(false);
    await s.nodes.apply([heartbeat('chatty', t0 + 9_000)]);
    expect(await s.liveness.tick({ ...a, now: t0 + 10_000 })).toMatchObject({ leader: true, transitions: 1 });
    expect((await s.nodes.get('quiet'))?.status).toBe('suspect');
    expect((await s.nodes.get('chatty'))?.status).toBe('ready');
    // a stops renewing; b takes over once the lease expires, without a reset (it ran alongside).
    expect((await s.liveness.tick({ ...b, now: t0 + 14_000 })).leader).toBe(false);
    expect(await s.liveness.tick({ ...b, now: t0 + 16_000 })).toMatchObject({ leader: true, reset: 0 });
    expect(await s.liveness.tick({ ...b, now: t0 + 30_000 })).toMatchObject({ transitions: 2 });
    expect((await s.nodes.get('quiet'))?.status).toBe('down');
    expect((await s.nodes.get('chatty'))?.status).toBe('suspect');
    expect((await s.liveness.tick({ ...a, now: t0 + 31_000 })).leader).toBe(false);
    await s.liveness.release('hn-b', t0 + 32_000);
    expect((await s.liveness.tick({ ...a, now: t0 + 32_001 })).leader).toBe(true);
    expect(await s.events.transitions('quiet', 10)).toMatchObject([
      { from: 'suspect', to: 'down', reason: 'silent for the grace period (30 s)' },
      { from: 'ready', to: 'suspect', reason: 'missed 2 heartbeats (interval 5 s)' },
      { from: null, to: 'ready' },
    ]);
  });

  it('after a restart with nobody watching, marks nodes unknown for one grace period, then down', async () => {
    const { location } = await fresh(dialect);
    const s = await stores(location);
    const t0 = 1_000_000;
    await s.nodes.apply([announce('back', t0), announce('gone', t0), shutdown('bye', t0)]);
    await s.liveness.tick({ holder: 'old', startedAt: t0 - 10, leaseTtlMs: 5_000, now: t0 + 1 });
    await s.liveness.release('old', t0 + 2);
    // A new headnode starts 5 s later: nobody consumed heartbeats in between.
    const restarted = { holder: 'new', startedAt: t0 + 5_000, leaseTtlMs: 5_000 };
    expect(await s.liveness.tick({ ...restarted, now: t0 + 5_001 })).toMatchObject({
      leader: true,
      reset: 2,
    });
    expect((await s.nodes.get('back'))?.status).toBe('unknown');
    expect((await s.nodes.get('bye'))?.status).toBe('left');
    await s.nodes.apply([heartbeat('back', t0 + 6_000)]);
    expect((await s.nodes.get('back'))?.status).toBe('ready');
    await s.nodes.apply([heartbeat('back', t0 + 33_000)]);
    expect(await s.liveness.tick({ ...restarted, now: t0 + 34_000 })).toMatchObject({ transitions: 0 });
    expect(await s.liveness.tick({ ...restarted, now: t0 + 35_001 })).toMatchObject({ transitions: 1 });
    expect((await s.nodes.get('gone'))?.status).toBe('down');
    expect((await s.nodes.get('back'))?.status).toBe('ready');
  });

  it('records a command result once: the first of reply, timeout or offline wins', async () => {
    const { location } = await fresh(dialect);
    const s = await stores(location);
    const issue = (requestId: string) =>
      s.commands.issue({
        requestId,
        nodeId: 'n1',
        type: 'script',
        request: { type: 'script', script: 'true' },
        issuedBy: 'hn-a',
        issuedAt: 1_000,
        deadline: 2_000,
      });
    await issue('r1');
    await issue('r2');
    await issue('r3');
    const reply = { exit_status: 0, stdout: 'x', stderr: '' };
    const recorded = await s.nodes.apply([], (trx) =>
      s.commands.recordReplies(
        trx,
        [
          { requestId: 'r1', body: reply },
          { requestId: 'unknown', body: reply },
        ],
        'hn-b',
      ),
    );
    expect(recorded).toEqual(['r1']);
    expect(
      await s.nodes.apply([], (trx) =>
        s.commands.recordReplies(trx, [{ requestId: 'r1', body: {} }], 'hn-a'),
      ),
    ).toEqual([]);
    expect(await s.commands.finish('r1', 'timed_out', 'hn-a')).toBe(false);
    expect(await s.commands.finish('r2', 'offline', 'hn-a')).toBe(true);
    expect(await s.commands.sweep('hn-b', 500, 2_400)).toBe(0);
    expect(await s.commands.sweep('hn-b', 500, 2_600)).toBe(1);
    expect(await s.commands.get('r1')).toMatchObject({
      status: 'done',
      recorded_by: 'hn-b',
      reply: JSON.stringify(reply),
    });
    expect(await s.commands.get('r2')).toMatchObject({ status: 'offline', recorded_by: 'hn-a', reply: null });
    expect(await s.commands.get('r3')).toMatchObject({ status: 'timed_out', recorded_by: 'hn-b' });
  });

  it('refuses a reservation beyond the unreserved capacity, and a duplicate name', async () => {
    const { location } = await fresh(dialect);
    const s = await stores(location);
    await s.nodes.apply([
      announce('n1', 1),
      announce('bare', 1, { cpuMilli: null, memoryBytes: null, diskBytes: null }),
    ]);
    const vm = (name: string, cpu: number, mem = GiB) => ({
      name,
      request_cpu_milli: cpu,
      request_memory_bytes: mem,
    });
    expect(await s.reservations.reserveCompute('n1', vm('a', 3000))).toMatchObject({
      node_id: 'n1',
      name: 'a',
      request_cpu_milli: 3000,
      limit_cpu_milli: 3000,
    });
    await expect(s.reservations.reserveCompute('n1', vm('b', 1001))).rejects.toThrow(
      /node n1 has 1000 milli-cores and 7516192768 bytes of memory unreserved; asked for 1001 milli-cores/,
    );
    await expect(s.reservations.reserveCompute('n1', vm('b', 1000, 8 * GiB))).rejects.toBeInstanceOf(
      InsufficientCapacityError,
    );
    await expect(s.reservations.reserveCompute('n1', vm('a', 1))).rejects.toBeInstanceOf(
      ReservationExistsError,
    );
    await expect(s.reservations.reserveCompute('bare', vm('a', 1))).rejects.toThrow(
      /has not reported its cpu_milli/,
    );
    await expect(
      s.reservations.reserveStorage('n1', { name: 'd', request_bytes: 101 * GiB }),
    ).rejects.toThrow(/unreserved; asked for 108447924224 bytes of storage/);
    await s.reservations.reserveStorage('n1', {
      name: 'd',
      request_bytes: 100 * GiB,
      limit_bytes: 200 * GiB,
    });
    await s.reservations.release('compute', 'n1', 'a');
    await s.reservations.reserveCompute('n1', vm('b', 4000));
    await expect(s.reservations.release('compute', 'n1', 'a')).rejects.toThrow(
      /no compute reservation named "a"/,
    );
    expect((await s.reservations.totals()).get('n1')).toEqual({
      cpu_milli: 4000,
      memory_bytes: GiB,
      disk_bytes: 100 * GiB,
    });
  });

  it('spreads placements over ready nodes and honours constraints', async () => {
    const { location } = await fresh(dialect);
    const s = await stores(location);
    await s.nodes.apply(['a', 'b', 'c'].map((id) => announce(id, 1)));
    await s.nodes.markStatus('c', 'down', 'test', []);
    const placed = [];
    for (let i = 0; i < 4; i++) {
      placed.push(
        (
          await s.reservations.scheduleCompute(
            { name: `vm${i}`, request_cpu_milli: 1000, request_memory_bytes: GiB },
            anyNode,
          )
        ).node_id,
      );
    }
    expect(placed).toEqual(['a', 'b', 'a', 'b']);
    const onlyB: NodeFilter = { accept: (n) => n.id === 'b', needsSysinfo: false, where: 'id=b' };
    await expect(
      s.reservations.scheduleCompute(
        { name: 'big', request_cpu_milli: 2001, request_memory_bytes: 1 },
        onlyB,
      ),
    ).rejects.toThrow(
      /no ready node matching "id=b" has 2001 milli-cores and 1 bytes of memory unreserved \(1 ready candidate/,
    );
    expect((await s.reservations.scheduleStorage({ name: 'disk', request_bytes: GiB }, onlyB)).node_id).toBe(
      'b',
    );
  });

  it('never over-commits under 50 concurrent schedule calls for the last slots, from two connections pools', async () => {
    const { location } = await fresh(dialect);
    const one = await stores(location);
    // On PostgreSQL a second pool stands for a second headnode; SQLite serves one process.
    const two = dialect === 'postgres' ? await stores(location) : one;
    // 3 nodes × 4 cores = 12 slots of 1000 milli-cores; 2 are taken already.
    await one.nodes.apply(['x', 'y', 'z'].map((id) => announce(id, 1)));
    await one.reservations.reserveCompute('x', {
      name: 'old1',
      request_cpu_milli: 1000,
      request_memory_bytes: 1,
    });
    await one.reservations.reserveCompute('y', {
      name: 'old2',
      request_cpu_milli: 1000,
      request_memory_bytes: 1,
    });
    const results = await Promise.allSettled(
      Array.from({ length: 50 }, (_, i) =>
        (i % 2 === 0 ? one : two).reservations.scheduleCompute(
          { name: `vm${i}`, request_cpu_milli: 1000, request_memory_bytes: 1 },
          anyNode,
        ),
      ),
    );
    const placed = results.filter((r) => r.status === 'fulfilled');
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(placed).toHaveLength(10);
    expect(refused).toHaveLength(40);
    for (const r of refused) expect(r.reason).toBeInstanceOf(NoCapacityError);
    const totals = await one.reservations.totals();
    for (const id of ['x', 'y', 'z']) expect(totals.get(id)?.cpu_milli).toBe(4000);
  });
});
