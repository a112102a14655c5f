import { access, chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  MessageSigner,
  parsePrivateKey,
  type ExecuteReply,
  type NodeDetail,
  type NodeSummary,
} from '@ur/protocol';
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
import { AGENT_LAUNCH, HEADNODE_BIN, URCTL_BIN, run, type CommandResult } from './bins.js';

// The bins as an operator runs them: keygen, a signing headnode, an agent
// that trusts its key, one in compatible mode, API tokens, urctl.
let dir: string;
let headnode: StartedProcess;
let headnodeUrl: string;
let port: number;
let publicKey: string;
const queue = `ur.headnode.${uniqueNodeId('sec')}`;
const agents = new Map<string, StartedProcess>();
const protectedNode = uniqueNodeId('sec-on');
const openNode = uniqueNodeId('sec-off');
const tokens: Record<'read' | 'operate' | 'admin', string> = { read: '', operate: '', admin: '' };

const headnodeCli = (...args: string[]) => run('node', [HEADNODE_BIN, ...args]);
const urctl = (env: Record<string, string>, ...args: string[]) =>
  run('node', [URCTL_BIN, ...args], {
    UR_HEADNODE_URL: headnodeUrl,
    UR_CONFIG: join(dir, 'no-config.json'),
    UR_TOKEN: '',
    ...env,
  });
/**
 * Passes `result` through; when its exit status is not `expected`, first
 * prints its stderr and the headnode's latest log lines (these tests failed
 * once under CI load with nothing else to go on).
 */
function explained(result: CommandResult, expected: number): CommandResult {
  if (result.code !== expected) {
    process.stderr.write(
      `exit ${result.code}, expected ${expected}; stderr: ${result.stderr}\nheadnode log:\n${headnode.output().slice(-6000)}\n`,
    );
  }
  return result;
}
const exists = (path: string): Promise<boolean> =>
  access(path).then(
    () => true,
    () => false,
  );

function startHeadnode(key: string): StartedProcess {
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
      '--signing-key',
      key,
    ],
    { UR_AMQP_URL: brokerUrl() },
  );
  return headnode;
}

function startAgent(id: string, extra: string[] = []): StartedProcess {
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
      '--status-port',
      '0',
      ...extra,
    ],
    { UR_AMQP_URL: brokerUrl() },
  );
  agents.set(id, agent);
  return agent;
}

async function listed(token: string): Promise<NodeSummary[]> {
  const result = await urctl({ UR_TOKEN: token }, 'nodes', '--json');
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout) as NodeSummary[];
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ur-e2e-security-'));
  port = await freePort();
  headnodeUrl = `http://127.0.0.1:${port}`;
});

afterAll(async () => {
  await Promise.all([...agents.values()].map((a) => a.stop()));
  await headnode?.stop();
  await deleteBrokerObjects({ queues: [queue] });
  await rm(dir, { recursive: true, force: true });
});

describe('signed commands with the bins', () => {
  it('ur-headnode keygen writes a 0600 key, prints its public key, and never overwrites one', async () => {
    const key = join(dir, 'headnode.pem');
    const made = await headnodeCli('keygen', '--out', key);
    expect(made.code).toBe(0);
    expect(made.stdout).toMatch(/^ed25519:[A-Za-z0-9+/]{43}=\n$/);
    publicKey = made.stdout.trim();
    expect((await stat(key)).mode & 0o777).toBe(0o600);
    const again = await headnodeCli('keygen', '--out', key);
    expect(again.code).toBe(64);
    expect(again.stderr).toMatch(/exists; keep it, or pass --force/);
    expect(await readFile(key, 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----/);
  });

  it('runs signed commands on an agent that trusts the key; says which nodes are unprotected', async () => {
    await writeFile(join(dir, 'trusted-keys'), `${publicKey}\n`);
    startHeadnode(join(dir, 'headnode.pem'));
    await headnode.waitForOutput('headnode listening');
    expect(headnode.output()).toContain('signing commands');
    const on = startAgent(protectedNode, ['--trusted-keys', join(dir, 'trusted-keys')]);
    const off = startAgent(openNode);
    await on.waitForOutput('agent started');
    await off.waitForOutput('agent started');
    expect(on.output()).toContain('running only requests signed by a trusted key');
    expect(off.output()).toContain('COMPATIBLE MODE');

    const nodes = await waitFor('both listed with their keys pinned', async () => {
      const all = await listed('');
      const mine = all.filter((n) => n.id === protectedNode || n.id === openNode);
      return mine.length === 2 && mine.every((n) => n.key_status === 'pinned') ? mine : undefined;
    });
    expect(Object.fromEntries(nodes.map((n) => [n.id, n.request_signing]))).toEqual({
      [protectedNode]: 'enforced',
      [openNode]: 'off',
    });
    const unprotected = await urctl(
      {},
      'nodes',
      '--where',
      `${protectedNode} ${openNode} request_signing=off`,
    );
    expect(unprotected.stdout).toMatch(new RegExp(`^${openNode}\\s.*\\sOFF\\s+pinned$`, 'm'));
    expect(unprotected.stdout).not.toContain(protectedNode);

    const result = await urctl({}, 'exec', '--node', protectedNode, '--', 'echo signed; exit 4');
    expect(result).toMatchObject({ code: 4, stdout: 'signed\n' });
    expect((await urctl({}, 'exec', '--node', openNode, '--', 'echo also')).stdout).toBe('also\n');
  });

  it('an agent with trusted keys refuses what anyone else publishes on the broker, running nothing', async () => {
    const marker = join(dir, 'forged.marker');
    const wire = await WireClient.connect(brokerUrl(), 'amq.topic');
    try {
      const reply = await wire.execute(protectedNode, { type: 'script', script: `touch ${marker}` });
      expect((reply.body as ExecuteReply).error?.code).toBe('UNSIGNED');
      // The compatible agent runs it, as Ur would.
      const open = await wire.execute(openNode, { type: 'script', script: 'echo unprotected' });
      expect((open.body as ExecuteReply).stdout).toBe('unprotected\n');
    } finally {
      await wire.close();
    }
    expect(await exists(marker)).toBe(false);
    await agents.get(protectedNode)!.waitForOutput('request refused: not run');
  });

  it('drives a Triton Ur agent with signed commands (it ignores the signature headers)', async () => {
    const legacy = new LegacyUrAgent(brokerUrl(), uniqueNodeId('sec-triton'));
    await legacy.start();
    try {
      const result = await urctl({}, 'exec', '--node', legacy.nodeId, '--', 'echo triton; exit 2');
      expect(result).toMatchObject({ code: 2, stdout: 'triton\n' });
    } finally {
      await legacy.stop();
    }
  });

  it('rotates the headnode key: both trusted, the headnode restarted on the new one, then the old one removed (SIGHUP)', async () => {
    const oldKey = join(dir, 'headnode.pem');
    const newKey = join(dir, 'headnode-2.pem');
    const made = await headnodeCli('keygen', '--out', newKey);
    expect(made.code).toBe(0);
    await writeFile(join(dir, 'trusted-keys'), `${publicKey}\n${made.stdout.trim()}\n`);
    const agent = agents.get(protectedNode)!;
    agent.child.kill('SIGHUP');
    await waitFor(
      'two keys trusted',
      () => (agent.output().match(/running only requests signed/g) ?? []).length >= 2,
    );

    await headnode.stop();
    startHeadnode(newKey);
    await headnode.waitForOutput('headnode listening');
    expect((await urctl({}, 'exec', '--node', protectedNode, '--', 'echo new key')).stdout).toBe('new key\n');

    await writeFile(join(dir, 'trusted-keys'), `${made.stdout.trim()}\n`);
    agent.child.kill('SIGHUP');
    await waitFor(
      'one key trusted',
      () => (agent.output().match(/running only requests signed/g) ?? []).length >= 3,
    );
    // A command signed with the old key (as a headnode not yet moved over would send) is refused.
    const old = new MessageSigner(parsePrivateKey(await readFile(oldKey)), 60_000);
    const wire = await WireClient.connect(brokerUrl(), 'amq.topic');
    try {
      const requestId = uniqueNodeId('old');
      const routingKey = `ur.execute.${protectedNode}.${requestId}`;
      const body = Buffer.from(JSON.stringify({ type: 'script', script: 'echo old key' }));
      await wire.listen(`ur.execute-reply.${protectedNode}.*`);
      wire.publish(routingKey, body, { headers: old.headers(routingKey, body) });
      const reply = await wire.waitFor(
        'refusal',
        (m) => m.routingKey === `ur.execute-reply.${protectedNode}.${requestId}`,
      );
      expect((reply.body as ExecuteReply).error?.code).toBe('UNKNOWN_KEY');
    } finally {
      await wire.close();
    }
    expect((await urctl({}, 'exec', '--node', protectedNode, '--', 'echo still')).stdout).toBe('still\n');
  });
});

describe('API tokens with the bins', () => {
  it('ur-headnode tokens create prints a token once; from then on urctl needs one', async () => {
    for (const role of ['read', 'operate', 'admin'] as const) {
      const created = await headnodeCli(
        'tokens',
        'create',
        '--db',
        join(dir, 'headnode.db'),
        '--role',
        role,
        '--name',
        `e2e ${role}`,
      );
      expect(created.code).toBe(0);
      expect(created.stdout).toMatch(/^urt_[0-9a-f]{12}_\S{43}\n$/);
      tokens[role] = created.stdout.trim();
    }
    const bad = await headnodeCli('tokens', 'create', '--db', join(dir, 'headnode.db'), '--role', 'root');
    expect(bad.code).toBe(64);
    const none = await urctl({}, 'nodes');
    expect(none.code).toBe(77);
    expect(none.stderr).toMatch(/^urctl: UNAUTHENTICATED: .*UR_TOKEN/);
    expect((await listed(tokens.read)).some((n) => n.id === protectedNode)).toBe(true);
    const ping = await fetch(`${headnodeUrl}/v1/ping`);
    expect(ping.status).toBe(200);
  });

  it('a read token cannot run anything (77, FORBIDDEN); operate can', async () => {
    const read = await urctl({ UR_TOKEN: tokens.read }, 'exec', '--node', protectedNode, '--', 'echo no');
    expect(read.code).toBe(77);
    expect(read.stderr).toMatch(/FORBIDDEN: token \S+ \(e2e read\) has role read/);
    const operate = explained(
      await urctl({ UR_TOKEN: tokens.operate }, 'exec', '--node', protectedNode, '--', 'echo yes'),
      0,
    );
    expect(operate).toMatchObject({ code: 0, stdout: 'yes\n' });
  });

  it('urctl reads the token from a config file only if nobody else can read it', async () => {
    const config = join(dir, 'urctl.json');
    await writeFile(config, JSON.stringify({ headnode: headnodeUrl, token: tokens.operate }), {
      mode: 0o644,
    });
    await chmod(config, 0o644);
    const loose = await urctl({ UR_CONFIG: config, UR_HEADNODE_URL: '' }, 'nodes');
    expect(loose.code).toBe(78);
    expect(loose.stderr).toMatch(/permissions 644 are too open .*chmod 600/);
    await chmod(config, 0o600);
    const fine = explained(
      await run('node', [URCTL_BIN, 'exec', '--node', protectedNode, '--', 'echo from config'], {
        UR_CONFIG: config,
        UR_HEADNODE_URL: '',
        UR_TOKEN: '',
      }),
      0,
    );
    expect(fine).toMatchObject({ code: 0, stdout: 'from config\n' });
  });

  it('urctl nodes forget and trust need an admin token; a forgotten key is pinned again on the next announcement', async () => {
    const denied = await urctl({ UR_TOKEN: tokens.operate }, 'nodes', 'forget', protectedNode);
    expect(denied.code).toBe(77);
    const forgot = explained(await urctl({ UR_TOKEN: tokens.admin }, 'nodes', 'forget', protectedNode), 0);
    expect(forgot).toMatchObject({ code: 0 });
    expect(forgot.stdout).toContain(`${protectedNode}: no key pinned`);
    const repinned = await waitFor('pinned again', async () => {
      const shown = await urctl({ UR_TOKEN: tokens.read }, 'node', 'show', protectedNode, '--json');
      const node = JSON.parse(shown.stdout) as NodeDetail;
      return node.key_status === 'pinned' ? node : undefined;
    });
    expect(repinned.public_key).toMatch(/^ed25519:/);
    const nothing = await urctl({ UR_TOKEN: tokens.admin }, 'nodes', 'trust', protectedNode);
    expect(nothing.code).toBe(70);
    expect(nothing.stderr).toMatch(/NO_OFFERED_KEY/);
  });

  it('revokes tokens; tokens never appear in any log', async () => {
    const list = await headnodeCli('tokens', 'list', '--db', join(dir, 'headnode.db'), '--json');
    const rows = JSON.parse(list.stdout) as { id: string; name: string; role: string }[];
    const read = rows.find((r) => r.name === 'e2e read')!;
    expect(list.stdout).not.toContain(tokens.read.slice(17));
    const revoked = await headnodeCli('tokens', 'revoke', '--db', join(dir, 'headnode.db'), read.id);
    expect(revoked.code).toBe(0);
    expect(explained(await urctl({ UR_TOKEN: tokens.read }, 'nodes'), 77).code).toBe(77);
    const logs = [headnode.output(), ...[...agents.values()].map((a) => a.output())].join('\n');
    for (const token of Object.values(tokens)) expect(logs).not.toContain(token.slice(17));
  });
});
