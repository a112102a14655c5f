import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqplib, { type Channel, type ChannelModel } from 'amqplib';
import type { NodeSummary } from '@ur/protocol';
import {
  brokerUrl,
  freePort,
  rabbitmqctl,
  startProcess,
  uniqueNodeId,
  waitFor,
  type StartedProcess,
} from '@ur/testkit';
import { AGENT_LAUNCH, HEADNODE_BIN, ROOT, URCTL_BIN, run } from './bins.js';

// Everything in a vhost of its own, deleted afterwards with the users: the
// test never touches the guest user or any other vhost.
const vhost = `ur-test-${randomBytes(4).toString('hex')}`;
const suffix = randomBytes(3).toString('hex');
const nodeA = uniqueNodeId('acct-a');
const nodeB = uniqueNodeId('acct-b');
const headnodeName = `hn-${suffix}`;
const users = [`ur-headnode-${headnodeName}`, `ur-node-${nodeA}`, `ur-node-${nodeB}`];
const passwords: Record<string, string> = {};
let dir: string;
let headnodeUrl: string;
const processes: StartedProcess[] = [];

/** The test broker's URL with another user and this vhost. */
function urlFor(user: string): string {
  const u = new URL(brokerUrl());
  u.username = encodeURIComponent(user);
  u.password = encodeURIComponent(passwords[user]!);
  u.pathname = `/${encodeURIComponent(vhost)}`;
  return u.toString();
}

async function brokerAccounts(...args: string[]): Promise<string> {
  const container = process.env.UR_TEST_RABBITMQ_CONTAINER;
  const result = await run(join(ROOT, 'scripts/broker-accounts'), [...args, '--vhost', vhost], {
    RABBITMQCTL: container ? `docker exec -i ${container} rabbitmqctl` : 'rabbitmqctl',
  });
  if (result.code !== 0) throw new Error(`broker-accounts ${args.join(' ')} failed: ${result.stderr}`);
  return result.stdout.trim();
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ur-e2e-accounts-'));
  await rabbitmqctl(['add_vhost', vhost]);
  passwords[users[0]!] = await brokerAccounts('headnode', headnodeName);
  passwords[users[1]!] = await brokerAccounts('node', nodeA);
  passwords[users[2]!] = await brokerAccounts('node', nodeB);
}, 120_000);

afterAll(async () => {
  await Promise.all(processes.map((p) => p.stop()));
  await rabbitmqctl(['delete_vhost', vhost]).catch(() => undefined);
  for (const user of users) await rabbitmqctl(['delete_user', user]).catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
}, 60_000);

/** Runs `action` on a fresh channel and resolves with the broker's refusal code, or 'allowed'. */
async function attempt(
  connection: ChannelModel,
  action: (ch: Channel) => Promise<unknown>,
): Promise<number | 'allowed'> {
  const ch = await connection.createConfirmChannel();
  const closed = new Promise<number>((resolve) =>
    ch.once('error', (err: { code?: number }) => resolve(err.code ?? -1)),
  );
  const done = action(ch).then(
    () => 'allowed' as const,
    () => undefined,
  );
  const outcome = await Promise.race([closed, done]);
  if (outcome === 'allowed') {
    await ch.close();
    return 'allowed';
  }
  return closed;
}

const publish = (key: string) => (ch: Channel) =>
  new Promise<void>((resolve, reject) =>
    (ch as amqplib.ConfirmChannel).publish('amq.topic', key, Buffer.from('{}'), {}, (err: unknown) =>
      err ? reject(err instanceof Error ? err : new Error('nacked')) : resolve(),
    ),
  );

describe('least-privilege broker accounts (scripts/broker-accounts)', () => {
  it('the normal flow works with per-node and headnode accounts', async () => {
    const port = await freePort();
    headnodeUrl = `http://127.0.0.1:${port}`;
    const key = join(dir, 'hn.pem');
    const made = await run('node', [HEADNODE_BIN, 'keygen', '--out', key]);
    await writeFile(join(dir, 'trusted'), made.stdout);
    const headnode = startProcess(
      'node',
      [HEADNODE_BIN, '--listen', `127.0.0.1:${port}`, '--db', join(dir, 'hn.db'), '--signing-key', key],
      { UR_AMQP_URL: urlFor(users[0]!) },
    );
    processes.push(headnode);
    await headnode.waitForOutput('headnode listening', 20_000);
    for (const [id, user] of [
      [nodeA, users[1]!],
      [nodeB, users[2]!],
    ] as const) {
      const agent = startProcess(
        'node',
        [
          ...AGENT_LAUNCH,
          '--node-id',
          id,
          '--prefix',
          join(dir, id),
          '--status-port',
          'off',
          '--trusted-keys',
          join(dir, 'trusted'),
        ],
        { UR_AMQP_URL: urlFor(user) },
      );
      processes.push(agent);
      await agent.waitForOutput('agent started', 20_000);
    }
    const env = { UR_HEADNODE_URL: headnodeUrl, UR_CONFIG: join(dir, 'none.json') };
    await waitFor('both ready', async () => {
      const listed = JSON.parse(
        (await run('node', [URCTL_BIN, 'nodes', '--json'], env)).stdout,
      ) as NodeSummary[];
      return [nodeA, nodeB].every((id) => listed.some((n) => n.id === id && n.status === 'ready'));
    });
    for (const id of [nodeA, nodeB]) {
      const result = await run('node', [URCTL_BIN, 'exec', '--node', id, '--', 'echo ok'], env);
      expect(result).toMatchObject({ code: 0, stdout: 'ok\n' });
    }
    // Dead-lettering works: a request that waits past its deadline for a
    // killed agent comes back on ur.expired.<node> (the broker publishes it).
    const [, agentA, agentB] = processes;
    agentB!.child.kill('SIGKILL');
    await agentB!.exited;
    const expired = await run(
      'node',
      [URCTL_BIN, 'exec', '--node', nodeB, '--timeout', '1', '--', 'true'],
      env,
    );
    expect(expired.code).toBe(75);
    expect(expired.stderr).toMatch(/EXPIRED/);
    // A graceful stop (unbind, drain, ur.shutdown, delete its queue) is allowed too.
    expect(await agentA!.stop('SIGTERM')).toBe(0);
    expect(agentA!.output()).not.toMatch(/could not drain|ACCESS_REFUSED/);
    await waitFor('A left', async () => {
      const listed = JSON.parse(
        (await run('node', [URCTL_BIN, 'nodes', '--json'], env)).stdout,
      ) as NodeSummary[];
      return listed.some((n) => n.id === nodeA && n.status === 'left');
    });
    // Broker passwords never reach a log (URLs are logged with ***).
    const logs = processes.map((p) => p.output()).join('\n');
    expect(logs).toContain(':***@');
    for (const password of Object.values(passwords)) expect(logs).not.toContain(password);
  });

  it("node A's account cannot publish a reply or announcement as node B, nor a command to any node, nor read B's requests", async () => {
    const a = await amqplib.connect(urlFor(users[1]!));
    try {
      // What A may do (a control: the checks below can fail).
      expect(await attempt(a, publish(`ur.heartbeat.${nodeA}`))).toBe('allowed');
      expect(await attempt(a, publish(`ur.execute-reply.${nodeA}.r1`))).toBe('allowed');
      const ACCESS_REFUSED = 403;
      for (const key of [
        `ur.execute-reply.${nodeB}.r1`,
        `ur.sysinfo.${nodeB}.1`,
        `ur.startup.${nodeB}`,
        `ur.heartbeat.${nodeB}`,
        `ur.shutdown.${nodeB}`,
        `ur.execute.${nodeB}.r1`,
        `ur.execute.${nodeA}.r1`,
        `ur.broadcast.sysinfo.r1`,
        `ur.expired.${nodeB}`,
      ]) {
        expect([key, await attempt(a, publish(key))]).toEqual([key, ACCESS_REFUSED]);
      }
      expect(await attempt(a, (ch) => ch.consume(`ur.request.${nodeB}`, () => undefined))).toBe(
        ACCESS_REFUSED,
      );
      expect(
        await attempt(a, (ch) => ch.bindQueue(`ur.live.${nodeA}`, 'amq.topic', `ur.execute.${nodeB}.*`)),
      ).toBe(ACCESS_REFUSED);
      expect(await attempt(a, (ch) => ch.assertQueue(`spy-${suffix}`, { exclusive: true }))).toBe(
        ACCESS_REFUSED,
      );
    } finally {
      await a.close();
    }
  });

  it("the headnode's account sends commands but cannot pose as a node", async () => {
    const hn = await amqplib.connect(urlFor(users[0]!));
    try {
      expect(await attempt(hn, publish(`ur.execute.${nodeA}.probe`))).toBe('allowed');
      expect(await attempt(hn, publish(`ur.execute-reply.${nodeA}.r1`))).toBe(403);
      expect(await attempt(hn, publish(`ur.sysinfo.${nodeA}.1`))).toBe(403);
    } finally {
      await hn.close();
    }
  });
});
