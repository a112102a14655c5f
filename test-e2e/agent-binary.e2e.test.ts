import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  brokerUrl,
  deleteBrokerObjects,
  startProcess,
  uniqueExchange,
  uniqueNodeId,
  waitFor,
  WireClient,
} from '@ur/testkit';
import { AGENT_LAUNCH } from './bins.js';

// The shipped binary is one bundled file; systeminformation (the hardware
// probe) stays outside it and must still be found at run time.
const exchange = uniqueExchange();
let dir: string;
let client: WireClient;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ur-e2e-binary-'));
  client = await WireClient.connect(brokerUrl(), exchange);
});

afterAll(async () => {
  await client.close();
  await deleteBrokerObjects({ exchanges: [exchange] });
  await rm(dir, { recursive: true, force: true });
});

describe('the bundled ur-agent binary', () => {
  it('announces itself, then the hardware facts its probe found, and stops cleanly', async () => {
    const nodeId = uniqueNodeId('e2e-binary');
    await client.listen(`ur.startup.${nodeId}`);
    await client.listen(`ur.sysinfo.${nodeId}.*`);
    const agent = startProcess(
      'node',
      [...AGENT_LAUNCH, '--node-id', nodeId, '--prefix', join(dir, nodeId), '--exchange', exchange],
      { UR_AMQP_URL: brokerUrl() },
    );
    try {
      const probed = await waitFor(
        'sysinfo with probed facts',
        () =>
          client.messages.find(
            (m) =>
              m.routingKey.startsWith(`ur.sysinfo.${nodeId}.`) &&
              typeof (m.body as Record<string, unknown>)['Disk Bytes'] === 'number',
          ),
        30_000,
      );
      expect((probed.body as Record<string, unknown>)['Disk Bytes']).toBeGreaterThan(0);
      const keys = client.messages.map((m) => m.routingKey);
      expect(keys.indexOf(`ur.startup.${nodeId}`)).toBeGreaterThanOrEqual(0);
      expect(keys.indexOf(`ur.startup.${nodeId}`)).toBeLessThan(keys.indexOf(probed.routingKey));

      // The bundle finds the spawn helper next to it, and commands start there, not in the agent.
      const reply = await client.execute(nodeId, { type: 'script', script: 'ps -o ppid= -p $$' });
      const parent = Number((reply.body as { stdout: string }).stdout.trim());
      const comm = execFileSync('ps', ['-o', 'comm=,ppid=', '-p', String(parent)])
        .toString()
        .trim()
        .split(/\s+/);
      expect(comm).toEqual(['ur-spawn', String(agent.child.pid)]);
    } finally {
      expect(await agent.stop('SIGTERM')).toBe(0);
    }
  });
});
