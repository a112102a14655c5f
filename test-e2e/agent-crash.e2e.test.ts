import { execFileSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecuteReply, NodeSummary } from '@ur/protocol';
import {
  brokerUrl,
  deleteBrokerObjects,
  freePort,
  startProcess,
  uniqueNodeId,
  waitFor,
  WireClient,
  type StartedProcess,
} from '@ur/testkit';
import { AGENT_LAUNCH, HEADNODE_BIN, URCTL_BIN, run } from './bins.js';

// Real ur-agent processes (SIGKILL, SIGTERM) next to a real ur-headnode, on amq.topic.
let dir: string;
let headnode: StartedProcess;
let headnodeUrl: string;
let client: WireClient;
const queue = `ur.headnode.${uniqueNodeId('e2e-crash')}`;
const processes: StartedProcess[] = [];

interface StatusDocument {
  connection: string;
  running: { request_id: string; pgid: number | null }[];
}

function startAgent(nodeId: string, statusPort: number): StartedProcess {
  const agent = startProcess(
    'node',
    [
      ...AGENT_LAUNCH,
      '--node-id',
      nodeId,
      '--prefix',
      join(dir, nodeId),
      '--status-port',
      String(statusPort),
      '--kill-grace',
      '1',
      '--queue-expiry',
      '120',
      '--heartbeat-interval',
      '1',
    ],
    { UR_AMQP_URL: brokerUrl() },
  );
  processes.push(agent);
  return agent;
}

async function status(port: number): Promise<StatusDocument> {
  return (await (await fetch(`http://127.0.0.1:${port}/status`)).json()) as StatusDocument;
}

/** Live (non-zombie) processes whose command line contains `marker`; init here reaps zombies slowly. */
function processesMatching(marker: string): string[] {
  return execFileSync('ps', ['-eo', 'stat=,args='])
    .toString()
    .split('\n')
    .filter((row) => row.includes(marker) && !row.trim().startsWith('Z'));
}

const urctl = (...args: string[]) => run('node', [URCTL_BIN, ...args], { UR_HEADNODE_URL: headnodeUrl });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ur-e2e-crash-'));
  const port = await freePort();
  headnodeUrl = `http://127.0.0.1:${port}`;
  headnode = startProcess(
    'node',
    [HEADNODE_BIN, '--listen', `127.0.0.1:${port}`, '--db', join(dir, 'headnode.db'), '--queue', queue],
    { UR_AMQP_URL: brokerUrl() },
  );
  processes.push(headnode);
  await headnode.waitForOutput('headnode listening');
  client = await WireClient.connect(brokerUrl());
});

afterAll(async () => {
  await Promise.all(processes.map((p) => p.stop('SIGKILL')));
  await client.close();
  await deleteBrokerObjects({ queues: [queue] });
  await rm(dir, { recursive: true, force: true });
});

describe('ur-agent killed while commands run', () => {
  it('answers INTERRUPTED for each after a restart and leaves no orphaned process', async () => {
    const node = uniqueNodeId('crash');
    const port = await freePort();
    await client.listen(`ur.execute-reply.${node}.*`);
    const first = startAgent(node, port);
    await first.waitForOutput('agent started');
    const marker = `1000.${randomInt(1_000_000)}`;
    const ids = Array.from({ length: 5 }, (_, i) => `doomed-${i}`);
    for (const id of ids) {
      client.publish(`ur.execute.${node}.${id}`, {
        type: 'script',
        script: `sleep ${marker} & sleep ${marker} & wait`,
      });
    }
    await waitFor('five commands running', async () => (await status(port)).running.length === 5);
    await waitFor('ten children', () => processesMatching(marker).length === 10);
    // Their process groups are in the journal (written within a tick of the spawn).
    const journal = join(dir, node, 'state', 'journal', 'journal.log');
    await waitFor('process groups journaled', async () => {
      const text = await readFile(journal, 'utf8');
      return ids.every((id) => text.includes(`{"k":"proc","id":"${id}"`));
    });

    first.child.kill('SIGKILL');
    await first.exited;
    // Orphans now: the agent is gone, its commands are not.
    expect(processesMatching(marker)).toHaveLength(10);

    const second = startAgent(node, port);
    await second.waitForOutput('agent started');
    const replies = await Promise.all(
      ids.map((id) =>
        client.waitFor(`reply to ${id}`, (m) => m.routingKey === `ur.execute-reply.${node}.${id}`, 15_000),
      ),
    );
    for (const reply of replies) {
      const body = reply.body as ExecuteReply;
      expect(body.error?.code).toBe('INTERRUPTED');
      expect(body.exit_status).not.toBe(0);
      expect(reply.properties.correlationId).toBe(reply.routingKey.split('.').at(-1));
    }
    expect(processesMatching(marker)).toEqual([]);
    expect(second.output()).toContain('killed the processes an interrupted request left running');

    const after = await client.execute(node, { type: 'script', script: 'echo alive' });
    expect((after.body as ExecuteReply).stdout).toBe('alive\n');
    // Exactly one reply each, also after the restart.
    for (const id of ids) {
      expect(client.messages.filter((m) => m.routingKey === `ur.execute-reply.${node}.${id}`)).toHaveLength(
        1,
      );
    }
    expect(await second.stop()).toBe(0);
  });

  it('lets the headnode fail a request at once with EXPIRED while the agent is away', async () => {
    const node = uniqueNodeId('away');
    const port = await freePort();
    const agent = startAgent(node, port);
    await agent.waitForOutput('agent started');
    agent.child.kill('SIGKILL');
    await agent.exited;
    // Its durable request queue stays (for --queue-expiry), without a consumer.
    const started = Date.now();
    const result = await urctl('exec', '--node', node, '--timeout', '1', '--', 'echo never');
    expect(result.code).toBe(75);
    expect(result.stderr).toMatch(/^urctl: EXPIRED: .*nothing was run/);
    expect(Date.now() - started).toBeLessThan(8_000);
    const restarted = startAgent(node, port);
    await restarted.waitForOutput('agent started');
    const reply = await client.execute(node, { type: 'script', script: 'echo back' });
    expect((reply.body as ExecuteReply).stdout).toBe('back\n');
    await restarted.stop();
  });
});

describe('ur-agent stopped with SIGTERM', () => {
  it('lets the running command finish, delivers its reply, says ur.shutdown and exits 0', async () => {
    const node = uniqueNodeId('graceful');
    const port = await freePort();
    await client.listen(`ur.execute-reply.${node}.*`);
    await client.listen(`ur.shutdown.${node}`);
    const agent = startAgent(node, port);
    await agent.waitForOutput('agent started');
    client.publish(`ur.execute.${node}.last-words`, { type: 'script', script: 'sleep 1; echo done' });
    await waitFor('command running', async () => (await status(port)).running.length === 1);

    const code = await agent.stop('SIGTERM');
    expect(code).toBe(0);
    const reply = client.messages.find((m) => m.routingKey === `ur.execute-reply.${node}.last-words`);
    expect((reply?.body as ExecuteReply | undefined)?.stdout).toBe('done\n');
    const bye = await client.waitFor('shutdown', (m) => m.routingKey === `ur.shutdown.${node}`);
    expect(bye.body).toMatchObject({ type: 'shutdown', node_id: node, reason: 'signal SIGTERM' });
    // The reply was confirmed before the agent said goodbye.
    expect(client.messages.indexOf(reply!)).toBeLessThan(client.messages.indexOf(bye));

    const nodes = await waitFor('node left', async () => {
      const listed = JSON.parse((await urctl('nodes', '--json')).stdout) as NodeSummary[];
      return listed.find((n) => n.id === node && n.status === 'left');
    });
    expect(nodes.status).toBe('left');
    const offline = await urctl('exec', '--node', node, '--', 'true');
    expect(offline.code).toBe(69);
    expect(offline.stderr).toMatch(/^urctl: NODE_OFFLINE: .*status left/);
  });
});
