import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecuteReply, NodeSummary } from '@ur/protocol';
import {
  brokerUrl,
  deleteBrokerObjects,
  freePort,
  LegacyUrAgent,
  startProcess,
  uniqueNodeId,
  waitFor,
  WireClient,
  type StartedProcess,
} from '@ur/testkit';
import { AGENT_LAUNCH, HEADNODE_BIN, URCTL_BIN, run } from './bins.js';

// Everything on amq.topic, as a Triton deployment: the bins' default exchange.
let dir: string;
let headnode: StartedProcess;
let headnodeUrl: string;
const queue = `ur.headnode.${uniqueNodeId('e2e')}`;
const agents = new Map<string, StartedProcess>();

function startAgent(id: string): StartedProcess {
  const agent = startProcess(
    'node',
    [
      ...AGENT_LAUNCH,
      '--node-id',
      id,
      '--prefix',
      join(dir, id),
      '--heartbeat-interval',
      '1',
      '--reboot-command',
      'true',
    ],
    { UR_AMQP_URL: brokerUrl() },
  );
  agents.set(id, agent);
  return agent;
}

const urctl = (...args: string[]) => run('node', [URCTL_BIN, ...args], { UR_HEADNODE_URL: headnodeUrl });

async function listedNodes(): Promise<NodeSummary[]> {
  const result = await urctl('nodes', '--json');
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout) as NodeSummary[];
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ur-e2e-'));
  const port = await freePort();
  headnodeUrl = `http://127.0.0.1:${port}`;
  headnode = startProcess(
    'node',
    [
      HEADNODE_BIN,
      '--listen',
      `127.0.0.1:${port}`,
      '--db',
      join(dir, 'headnode.db'),
      '--queue',
      queue,
      '--queue-expiry',
      '120',
    ],
    { UR_AMQP_URL: brokerUrl() },
  );
  await headnode.waitForOutput('headnode listening');
});

afterAll(async () => {
  await Promise.all([...agents.values()].map((a) => a.stop()));
  await headnode.stop();
  await deleteBrokerObjects({ queues: [queue] });
  await rm(dir, { recursive: true, force: true });
});

describe('ur-headnode, ur-agent and urctl together', () => {
  const a = uniqueNodeId('e2e-a');
  const b = uniqueNodeId('e2e-b');

  it('lists agents in `urctl nodes --json` within 5 s of their start', async () => {
    const started = Date.now();
    startAgent(a);
    startAgent(b);
    const nodes = await waitFor(
      'both agents listed',
      async () => {
        const listed = await listedNodes();
        return [a, b].every((id) => listed.some((n) => n.id === id && n.status === 'ready'))
          ? listed
          : undefined;
      },
      5_000,
    );
    expect(Date.now() - started).toBeLessThan(5_000);
    const listed = nodes.find((n) => n.id === a);
    expect(typeof listed?.agent_version).toBe('string');
    expect(listed?.capabilities).toContain('script');
    const table = await urctl('nodes');
    expect(table.stdout).toMatch(new RegExp(`${a}\\s+\\S+\\s+ready`));
  });

  it('returns stdout, stderr and the exit status through `urctl exec`', async () => {
    const result = await urctl('exec', '--node', a, '--', 'echo out; echo err >&2; exit 3');
    expect(result).toMatchObject({ code: 3, stdout: 'out\n', stderr: 'err\n' });
    const json = await urctl('exec', '--json', '--node', b, '--', 'echo "$0"; exit 0');
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ node_id: b, exit_status: 0, timed_out: false });
  });

  it('runs a file with arguments through `urctl exec --file`', async () => {
    const result = await urctl('exec', '--node', b, '--file', '/bin/echo', '--', 'one', 'two');
    expect(result).toMatchObject({ code: 0, stdout: 'one two\n' });
  });

  it('fails fast with the offline error for a node nobody runs', async () => {
    const result = await urctl('exec', '--node', uniqueNodeId('ghost'), '--timeout', '60', '--', 'true');
    expect(result.code).toBe(69);
    expect(result.stderr).toMatch(/^urctl: NODE_OFFLINE: node \S+ is unknown/);
    expect(result.ms).toBeLessThan(5_000);
  });

  it('fails fast with the offline error once an agent has stopped, and shows the node as left', async () => {
    const id = uniqueNodeId('e2e-stop');
    const agent = startAgent(id);
    await waitFor(
      'listed',
      async () => (await listedNodes()).some((n) => n.id === id && n.status === 'ready'),
      5_000,
    );
    expect(await agent.stop('SIGTERM')).toBe(0);
    await waitFor(
      'left',
      async () => (await listedNodes()).some((n) => n.id === id && n.status === 'left'),
      5_000,
    );
    const result = await urctl('exec', '--node', id, '--timeout', '60', '--', 'true');
    expect(result.code).toBe(69);
    expect(result.stderr).toMatch(/NODE_OFFLINE: node \S+ is offline \(status left/);
    expect(result.ms).toBeLessThan(5_000);
  });

  it('shows a stopped agent ready again when it comes back, with every transition and its reason', async () => {
    const id = uniqueNodeId('e2e-back');
    const first = startAgent(id);
    await waitFor('listed', async () =>
      (await listedNodes()).some((n) => n.id === id && n.status === 'ready'),
    );
    await first.stop('SIGTERM');
    await waitFor('left', async () => (await listedNodes()).some((n) => n.id === id && n.status === 'left'));
    startAgent(id);
    await waitFor('back', async () => (await listedNodes()).some((n) => n.id === id && n.status === 'ready'));
    const history = await urctl('node', 'transitions', id, '--json');
    expect(history.code).toBe(0);
    const transitions = JSON.parse(history.stdout) as { from: string | null; to: string; reason: string }[];
    expect(transitions.map((t) => [t.from, t.to])).toEqual([
      ['left', 'ready'],
      ['ready', 'left'],
      [null, 'ready'],
    ]);
    expect(transitions[1]?.reason).toMatch(/^agent stopped/);
    const ready = await urctl('nodes', '--where', `${id} status=ready`);
    expect(ready.stdout).toMatch(new RegExp(`^${id}\\s`, 'm'));
  });

  it('answers a Triton-style headnode that speaks only the wire protocol', async () => {
    const wire = await WireClient.connect(brokerUrl(), 'amq.topic');
    try {
      const reply = await wire.execute(a, {
        type: 'script',
        script: '#!/bin/bash\necho "hi from $BASH"\nexit 7',
        env: {},
      });
      const body = reply.body as ExecuteReply;
      expect(body.exit_status).toBe(7);
      expect(body.stdout).toBe('hi from /bin/bash\n');
      expect(body.stderr).toBe('');
      expect(reply.properties.contentType).toBe('application/json');
    } finally {
      await wire.close();
    }
  });

  it('drives a Triton Ur agent through urctl', async () => {
    const legacy = new LegacyUrAgent(brokerUrl(), uniqueNodeId('triton'));
    await legacy.start();
    try {
      const result = await urctl('exec', '--node', legacy.nodeId, '--', '#!/bin/sh\necho legacy; exit 2');
      expect(result).toMatchObject({ code: 2, stdout: 'legacy\n' });
      const listed = await waitFor('legacy listed', async () =>
        (await listedNodes()).find((n) => n.id === legacy.nodeId),
      );
      expect(listed.agent_version).toBeNull();
    } finally {
      await legacy.stop();
    }
  });

  it('prints usage for --help and one clear line for a bad flag', async () => {
    const help = await run('node', [...AGENT_LAUNCH, '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/--node-id\s+Node id .*\(UR_NODE_ID\)/);
    const bad = await run('node', [HEADNODE_BIN, '--listen', 'nowhere']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^ur-headnode: listen: expected host:port, got "nowhere"\n$/);
  });

  it('logs JSON lines by default', () => {
    const first = headnode.output().split('\n')[0] ?? '';
    expect(JSON.parse(first)).toMatchObject({ level: 'info', service: 'ur-headnode' });
  });
});
