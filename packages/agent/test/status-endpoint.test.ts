import { closeConnections, freePort, waitFor } from '@ur/testkit';
import type { Sysinfo } from '@ur/protocol';
import { replyOf, TestAgents } from './test-agents.js';

const t = new TestAgents();
beforeAll(async () => {
  await t.setUp();
  await t.client.listen('ur.startup.*');
});
afterAll(() => t.tearDown());

interface StatusDocument {
  node_id: string;
  connection: string;
  running: { request_id: string; type: string; pgid: number | null }[];
  outbox: { pending: number };
  journal: { entries: number; unsent: number; bytes: number; path: string };
  memory: { rss_bytes: number };
}

async function get(
  port: number,
  path = '/status',
  method = 'GET',
): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, { method });
  return { status: response.status, body: await response.json() };
}

describe('the local status endpoint', () => {
  it('shows node id, connection, running commands, journal and outbox, read-only on 127.0.0.1', async () => {
    const port = await freePort();
    const agent = await t.start(undefined, { statusPort: port });
    const idle = (await get(port)).body as StatusDocument;
    expect(idle).toMatchObject({
      node_id: agent.nodeId,
      connection: 'connected',
      running: [],
      outbox: { pending: 0 },
      journal: { entries: 0, unsent: 0 },
    });
    expect(idle.journal.path).toContain(agent.nodeId);
    expect(idle.memory.rss_bytes).toBeGreaterThan(0);
    // The inventory learns where the console is from the sysinfo.
    const startup = await t.client.waitFor('startup', (m) => m.routingKey === `ur.startup.${agent.nodeId}`);
    expect((startup.body as Sysinfo)['Ur Agent']?.console_port).toBe(port);

    await t.client.listen(`ur.execute-reply.${agent.nodeId}.*`);
    t.client.publish(`ur.execute.${agent.nodeId}.long-1`, { type: 'script', script: 'sleep 0.5' });
    // Listed from its receipt; its process group once spawned.
    const busy = await waitFor('running command listed with its process group', async () => {
      const doc = (await get(port)).body as StatusDocument;
      return doc.running[0]?.pgid != null ? doc : undefined;
    });
    expect(busy.running[0]).toMatchObject({ request_id: 'long-1', type: 'script' });
    expect(busy.running[0]!.pgid).toEqual(expect.any(Number));

    await closeConnections(`ur-agent ${agent.nodeId}`);
    await waitFor('reconnecting shown', async () => {
      const doc = (await get(port)).body as StatusDocument;
      return doc.connection === 'reconnecting' || doc.connection === 'connected';
    });
    const reply = await t.client.waitFor('reply', (m) => m.routingKey.endsWith('.long-1'));
    expect(replyOf(reply).exit_status).toBe(0);
    await waitFor('journal shows the finished request', async () => {
      const doc = (await get(port)).body as StatusDocument;
      return doc.running.length === 0 && doc.journal.entries === 1 && doc.journal.unsent === 0;
    });

    expect(await get(port, '/status', 'POST')).toMatchObject({ status: 404, body: { code: 'NOT_FOUND' } });
    expect(await get(port, '/other')).toMatchObject({ status: 404 });
    await agent.stop();
    await expect(get(port)).rejects.toThrow();
  });

  it('does not stop the agent when its port is taken', async () => {
    const port = await freePort();
    const first = await t.start(undefined, { statusPort: port });
    const second = await t.start(undefined, { statusPort: port });
    expect(((await get(port)).body as StatusDocument).node_id).toBe(first.nodeId);
    const reply = await t.client.execute(second.nodeId, { type: 'script', script: 'echo fine' });
    expect(replyOf(reply).stdout).toBe('fine\n');
    const startup = await t.client.waitFor('startup', (m) => m.routingKey === `ur.startup.${second.nodeId}`);
    expect((startup.body as Sysinfo)['Ur Agent']?.console_port).toBeNull();
  });
});
