import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NodeStore, openDatabase, type NodePatch } from '@ur/headnode';
import { silentLogger } from '@ur/protocol';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ur-store-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const announce = (id: string, at: number, hostname = `host-${id}`): NodePatch => ({
  id,
  seenAt: at,
  state: 'active',
  announce: {
    hostname,
    sysinfo: JSON.stringify({ UUID: id, Hostname: hostname }),
    agentVersion: '0.1.0',
    capabilities: '["script"]',
    lastBoot: 1000,
    heartbeatIntervalMs: 5000,
  },
});

describe('NodeStore on SQLite', () => {
  it('creates nodes, keeps first_seen, and applies later patches', async () => {
    const { db } = await openDatabase(join(dir, 'a.db'), silentLogger);
    const store = new NodeStore(db);
    await store.apply([announce('n1', 100)]);
    await store.apply([
      { id: 'n1', seenAt: 200, state: 'active', heartbeat: { json: '{"seq":1}', intervalMs: 2000 } },
      { id: 'n2', seenAt: 200, state: 'active', heartbeat: { json: '{"seq":7}', intervalMs: 5000 } },
    ]);
    await store.apply([{ id: 'n1', seenAt: 300, state: 'left' }]);
    const n1 = await store.get('n1');
    expect(n1).toMatchObject({
      hostname: 'host-n1',
      first_seen: 100,
      last_seen: 300,
      state: 'left',
      last_heartbeat: '{"seq":1}',
      heartbeat_interval_ms: 2000,
    });
    // A heartbeat from a node never announced still records it.
    expect(await store.get('n2')).toMatchObject({
      hostname: null,
      first_seen: 200,
      sysinfo: '{"UUID":"n2"}',
    });
    await db.destroy();
  });

  it('writes thousands of nodes in one batch and keeps them across reopen', async () => {
    const path = join(dir, 'b.db');
    const first = await openDatabase(path, silentLogger);
    await new NodeStore(first.db).apply(Array.from({ length: 5_000 }, (_, i) => announce(`n${i}`, i)));
    await first.db.destroy();
    const second = await openDatabase(path, silentLogger);
    const store = new NodeStore(second.db);
    expect(await store.count()).toBe(5_000);
    expect((await store.get('n4999'))?.hostname).toBe('host-n4999');
    await second.db.destroy();
  });
});
