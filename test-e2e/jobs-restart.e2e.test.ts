import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from '@ur/agent';
import type { JobDetail, NodeList, UrEvent } from '@ur/protocol';
import {
  brokerUrl,
  deleteBrokerObjects,
  freePort,
  SseClient,
  startProcess,
  uniqueExchange,
  uniqueNodeId,
  waitFor,
  type StartedProcess,
} from '@ur/testkit';
import { HEADNODE_BIN, URCTL_BIN } from './bins.js';

// A real ur-headnode process SIGKILLed while a job runs, then started
// again on the same store: the job goes on, and every node's result is
// recorded exactly once (replies that came meanwhile waited in the
// durable queue). urctl, following the job, rides the restart out.
const exchange = uniqueExchange();
const queue = `ur.headnode.${exchange}`;
const nodes = Array.from(
  { length: 12 },
  (_, i) => `${uniqueNodeId('rs')}-${String(i).padStart(2, '0')}`,
).sort();
const agents: Agent[] = [];
let dir: string;
let port: number;
let headnode: StartedProcess;
const url = (): string => `http://127.0.0.1:${port}`;

function startHeadnode(): StartedProcess {
  return startProcess(
    'node',
    [
      HEADNODE_BIN,
      '--listen',
      `127.0.0.1:${port}`,
      '--db',
      join(dir, 'headnode.db'),
      '--exchange',
      exchange,
      '--queue',
      queue,
      '--queue-expiry',
      '300',
      '--heartbeat-interval',
      '1',
      '--lease-ttl',
      '1',
    ],
    { UR_AMQP_URL: brokerUrl() },
  );
}

async function get<T>(path: string): Promise<T> {
  const response = await fetch(`${url()}${path}`);
  if (!response.ok) throw new Error(`GET ${path}: HTTP ${response.status}`);
  return (await response.json()) as T;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ur-jobs-restart-'));
  port = await freePort();
  headnode = startHeadnode();
  await headnode.waitForOutput('headnode listening', 20_000);
  for (const nodeId of nodes) {
    const agent = new Agent({
      amqpUrl: brokerUrl(),
      exchange,
      nodeId,
      prefix: join(dir, nodeId),
      heartbeatIntervalMs: 1_000,
      probeHardware: false,
      statusPort: 0,
    });
    agents.push(agent);
    await agent.start();
  }
  await waitFor(
    'agents ready',
    async () =>
      (await get<NodeList>(`/v1/nodes?where=${encodeURIComponent(`${nodes.join(' ')} status=ready`)}`))
        .total === nodes.length,
    20_000,
    100,
  );
}, 60_000);

afterAll(async () => {
  await headnode.stop();
  await Promise.all(agents.map((a) => a.stop()));
  await deleteBrokerObjects({ queues: [queue, ...agents.map((a) => a.requestQueue)], exchanges: [exchange] });
  await rm(dir, { recursive: true, force: true });
}, 60_000);

it('records every node exactly once when the headnode is SIGKILLed mid-job and started again', async () => {
  // Each run appends its request id to a file in its agent's prefix ($0 is <prefix>/state/run/<request>-…).
  const script = 'echo "$(basename "$0")" >> "$(dirname "$0")/../../ran.log"; sleep 2; echo ok';
  let stdout = '';
  let stderr = '';
  const urctl = spawn(
    'node',
    [URCTL_BIN, 'exec', '--where', nodes.join(' '), '--concurrency', '4', '--', script],
    { env: { ...process.env, UR_HEADNODE_URL: url() }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  urctl.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  urctl.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((resolve) => urctl.once('exit', resolve));

  const jobId = await waitFor('urctl says which job', () => /job (\S+) on 12 nodes/.exec(stderr)?.[1]);
  const before = await waitFor('four nodes in flight', async () => {
    const job = await get<JobDetail>(`/v1/jobs/${jobId}?output=false`);
    return job.counts.sent === 4 ? job : undefined;
  });
  expect(before.counts).toMatchObject({ pending: 8, succeeded: 0 });
  const killedOwner = before.owner;
  await headnode.stop('SIGKILL');

  // The four running commands finish and reply while no headnode listens.
  await waitFor('the four ran', async () => {
    const runs = await Promise.all(
      nodes.map((n) => readFile(join(dir, n, 'ran.log'), 'utf8').catch(() => '')),
    );
    return runs.filter((r) => r !== '').length === 4;
  });
  headnode = startHeadnode();
  await headnode.waitForOutput('headnode listening', 20_000);

  const code = await exited;
  expect(stderr).not.toMatch(/cannot reach/);
  expect(code).toBe(0);
  expect(stdout.trim().split('\n').at(-1)).toMatch(/^12 nodes: 12 succeeded \(/);

  const job = await get<JobDetail>(`/v1/jobs/${jobId}`);
  expect(job).toMatchObject({ state: 'succeeded', counts: { succeeded: 12 }, owner: null });
  for (const n of job.nodes) expect(n).toMatchObject({ state: 'succeeded', exit_status: 0, stdout: 'ok\n' });
  // Each node ran once: one line in its log, the request id of its one result.
  for (const n of job.nodes) {
    const ran = (await readFile(join(dir, n.node_id, 'ran.log'), 'utf8')).trim().split('\n');
    expect(ran).toHaveLength(1);
    expect(ran[0]?.startsWith(n.request_id)).toBe(true);
  }
  // One event per change: each node sent once and succeeded once; the job resumed once, by the new process.
  const sse = await SseClient.connect(`${url()}/v1/jobs/${jobId}/events`);
  await sse.ended;
  const events = sse.messages.map((m) => JSON.parse(m.data) as UrEvent);
  for (const id of nodes) {
    const types = events.filter((e) => 'node_id' in e && e.node_id === id).map((e) => e.type);
    expect(types).toEqual(['job.node.sent', 'job.node.succeeded']);
  }
  const resumed = events.filter((e) => e.type === 'job.resumed');
  expect(resumed).toHaveLength(1);
  const data = resumed[0]!.data;
  expect(data).toMatchObject({ previous_owner: killedOwner, pending: 8 });
  expect(data.by).not.toBe(killedOwner);
  expect(events.at(-1)?.type).toBe('job.completed');
}, 90_000);

it('does not send a job with secret env values from a headnode that did not get them: the rest end skipped', async () => {
  const response = await fetch(`${url()}/v1/jobs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      target: nodes.join(' '),
      concurrency: 2,
      command: {
        type: 'script',
        // Checks the value by its hash, so the secret is not in the script either.
        script: `test "$(printf %s "$TOKEN" | sha256sum | cut -c1-16)" = "${createHash('sha256').update('t0ps3cret').digest('hex').slice(0, 16)}" && sleep 2 && echo ok`,
        env: { TOKEN: 't0ps3cret', PATH: '/usr/bin:/bin' },
        secret_env: ['TOKEN'],
      },
    }),
  });
  expect(response.status).toBe(202);
  const { id } = (await response.json()) as { id: string };
  await waitFor('two nodes in flight', async () => {
    const job = await get<JobDetail>(`/v1/jobs/${id}?output=false`);
    return job.counts.sent === 2 ? job : undefined;
  });
  await headnode.stop('SIGKILL');
  headnode = startHeadnode();
  await headnode.waitForOutput('headnode listening', 20_000);

  const job = await waitFor(
    'the job ends',
    async () => {
      const j = await get<JobDetail>(`/v1/jobs/${id}`);
      return j.state === 'running' ? undefined : j;
    },
    30_000,
    200,
  );
  expect(JSON.stringify(job)).not.toContain('t0ps3cret');
  expect(job.command).toMatchObject({ env: { TOKEN: '***' } });
  // The two sent before the kill had the real value and succeeded; nothing was sent with '***'.
  expect(job.counts).toMatchObject({ succeeded: 2, skipped: 10 });
  for (const n of job.nodes.filter((x) => x.state === 'skipped'))
    expect(n.detail).toMatch(/secret env values/);
});
