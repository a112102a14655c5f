import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from '@ur/agent';
import { Headnode } from '@ur/headnode';
import type {
  ErrorBody,
  HookCreated,
  JobDetail,
  JobNodeResult,
  JobSummary,
  NodeList,
  UrEvent,
} from '@ur/protocol';
import {
  brokerUrl,
  createTestDatabase,
  deleteBrokerObjects,
  SseClient,
  uniqueExchange,
  uniqueNodeId,
  waitFor,
  type TestDatabase,
} from '@ur/testkit';
import { run, URCTL_BIN } from './bins.js';

// Twenty agents in this process, and a headnode in this process on SQLite,
// then on PostgreSQL (the core job path), on one exchange of their own.
const exchange = uniqueExchange();
const nodes = Array.from(
  { length: 20 },
  (_, i) => `${uniqueNodeId('fan')}-${String(i).padStart(2, '0')}`,
).sort();
const agents: Agent[] = [];
let dir: string;
const queues: string[] = [];

function startAgent(nodeId: string): Promise<Agent> {
  const agent = new Agent({
    amqpUrl: brokerUrl(),
    exchange,
    nodeId,
    prefix: join(dir, nodeId),
    heartbeatIntervalMs: 2_000,
    probeHardware: false,
    statusPort: 0,
    killGraceMs: 1_000,
    reconnectInitialDelayMs: 50,
  });
  agents.push(agent);
  return agent.start().then(() => agent);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ur-jobs-'));
  for (const id of nodes) await startAgent(id);
}, 60_000);

afterAll(async () => {
  await Promise.all(agents.map((a) => a.stop()));
  await deleteBrokerObjects({
    queues: [...queues, ...agents.map((a) => a.requestQueue)],
    exchanges: [exchange],
  });
  await rm(dir, { recursive: true, force: true });
}, 60_000);

/** The most intervals open at one instant. */
function maxOverlap(intervals: readonly [number, number][]): number {
  const points = intervals.flatMap(([start, end]) => [
    [start, 1],
    [end, -1],
  ]);
  // An end and a start at the same millisecond do not overlap.
  points.sort((a, b) => a[0]! - b[0]! || a[1]! - b[1]!);
  let open = 0;
  let most = 0;
  for (const [, delta] of points) {
    open += delta!;
    most = Math.max(most, open);
  }
  return most;
}

/** The node's run on the node, from the agent's own timestamps. */
const agentInterval = (n: JobNodeResult): [number, number] => {
  const start = Date.parse(n.started_at ?? '');
  return [start, start + (n.duration_ms ?? 0)];
};

describe.each(['sqlite', 'postgres'] as const)('jobs on %s', (dialect) => {
  let headnode: Headnode;
  let database: TestDatabase | undefined;
  const queue = `ur.headnode.${exchange}.${dialect}`;
  queues.push(queue);

  async function api<T>(path: string, body?: unknown, method = body === undefined ? 'GET' : 'POST') {
    const response = await fetch(`${headnode.url}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? null : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: (text === '' ? undefined : JSON.parse(text)) as T };
  }

  async function createJob(body: object): Promise<JobSummary> {
    const { status, body: job } = await api<JobSummary>('/v1/jobs', body);
    expect(status).toBe(202);
    return job;
  }

  const finished = (id: string, timeoutMs = 30_000) =>
    waitFor(
      `job ${id} finished`,
      async () => {
        const { body } = await api<JobDetail>(`/v1/jobs/${id}`);
        return body.state !== 'running' ? body : undefined;
      },
      timeoutMs,
      100,
    );

  const urctl = (...args: string[]) => run('node', [URCTL_BIN, ...args], { UR_HEADNODE_URL: headnode.url });

  beforeAll(async () => {
    let db = join(dir, `${dialect}.db`);
    if (dialect === 'postgres') {
      database = await createTestDatabase('ur_jobs');
      db = database.url;
    }
    headnode = new Headnode({ amqpUrl: brokerUrl(), exchange, queue, db, listen: '127.0.0.1:0' });
    await headnode.start();
    // Agents that announced before this headnode started are learnt from their heartbeats.
    await waitFor(
      'all agents ready',
      async () => {
        const { body } = await api<NodeList>(
          `/v1/nodes?where=${encodeURIComponent(`${nodes.join(' ')} status=ready`)}`,
        );
        return body.total === nodes.length;
      },
      20_000,
      100,
    );
  }, 60_000);

  afterAll(async () => {
    await headnode.stop();
    await database?.drop();
  });

  it('fans out to 20 agents with never more than 3 in flight, and records every result once', async () => {
    const job = await createJob({
      target: nodes.join(' '),
      command: { type: 'script', script: 'sleep 0.3; echo ran on $(hostname)' },
      concurrency: 3,
    });
    expect(job).toMatchObject({ total: 20, concurrency: 3 });
    const done = await finished(job.id);
    expect(done).toMatchObject({ state: 'succeeded', counts: { succeeded: 20 } });
    expect(done.nodes.map((n) => n.node_id)).toEqual(nodes);
    for (const n of done.nodes) expect(n).toMatchObject({ state: 'succeeded', exit_status: 0 });
    const overlap = maxOverlap(done.nodes.map(agentInterval));
    expect(overlap).toBeLessThanOrEqual(3);
    expect(overlap).toBeGreaterThan(1);
    // One final event per node in the log.
    const events = await headnode.stores.events.forJob(job.id, 0, 1_000);
    const finals = events.filter((e) => e.type === 'job.node.succeeded');
    expect(finals).toHaveLength(20);
    expect(new Set(finals.map((e) => ('node_id' in e ? e.node_id : ''))).size).toBe(20);
  });

  it('stops sending after max_errors failures', async () => {
    const job = await createJob({
      target: nodes.join(' '),
      command: { type: 'script', script: 'sleep 0.1; exit 7' },
      concurrency: 2,
      max_errors: 3,
    });
    const done = await finished(job.id);
    expect(done.state).toBe('failed');
    expect(done.stopped_reason).toMatch(/^\d+ nodes failed \(max_errors 3\)$/);
    // At most the window's other node was still running when the third failure came.
    expect(done.counts.failed).toBeGreaterThanOrEqual(3);
    expect(done.counts.failed).toBeLessThanOrEqual(4);
    expect(done.counts.skipped).toBe(20 - done.counts.failed);
    for (const n of done.nodes.filter((x) => x.state === 'skipped')) {
      expect(n).toMatchObject({ sent_at: null, exit_status: null });
    }
    for (const n of done.nodes.filter((x) => x.state === 'failed')) expect(n.exit_status).toBe(7);
  });

  it('cancels mid-job: running nodes are stopped on the agent, the others never sent', async () => {
    const job = await createJob({
      target: nodes.join(' '),
      command: { type: 'script', script: 'sleep 30' },
      concurrency: 4,
      stream: true,
    });
    await waitFor('four running', async () => {
      const { body } = await api<JobDetail>(`/v1/jobs/${job.id}?output=false`);
      return body.counts.running === 4;
    });
    const started = Date.now();
    const { status } = await api(`/v1/jobs/${job.id}/cancel`, {});
    expect(status).toBe(202);
    const done = await finished(job.id);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(done).toMatchObject({ state: 'cancelled', counts: { cancelled: 20 } });
    const ran = done.nodes.filter((n) => n.sent_at !== null);
    expect(ran).toHaveLength(4);
    for (const n of ran) expect(n.error?.code).toBe('CANCELLED');
    for (const n of done.nodes.filter((x) => x.sent_at === null))
      expect(n.detail).toBe('not sent: the job was cancelled');
  });

  it('streams per-node states and output, then the summary; a client resumes after Last-Event-ID', async () => {
    const subset = nodes.slice(0, 5);
    const job = await createJob({
      target: subset.join(' '),
      command: { type: 'script', script: 'echo one; sleep 0.2; echo two' },
      stream: true,
    });
    const sse = await SseClient.connect(`${headnode.url}/v1/jobs/${job.id}/events`);
    await sse.ended;
    const events = sse.messages.filter((m) => m.event !== 'output').map((m) => JSON.parse(m.data) as UrEvent);
    expect(events[0]?.type).toBe('job.created');
    expect(events.at(-1)).toMatchObject({
      type: 'job.completed',
      data: { state: 'succeeded', counts: { succeeded: 5 } },
    });
    for (const id of subset) {
      const types = events.filter((e) => 'node_id' in e && e.node_id === id).map((e) => e.type);
      expect(types).toEqual(['job.node.sent', 'job.node.accepted', 'job.node.running', 'job.node.succeeded']);
      const output = sse
        .events<{ node_id: string; data: string }>((t) => t === 'output')
        .filter((o) => o.node_id === id)
        .map((o) => o.data)
        .join('');
      expect(output).toBe('one\ntwo\n');
    }
    const resumeAfter = events[6]!;
    const resumed = await SseClient.connect(`${headnode.url}/v1/jobs/${job.id}/events`, {
      lastEventId: resumeAfter.id,
    });
    await resumed.ended;
    expect(resumed.messages.map((m) => m.id)).toEqual(events.slice(7).map((e) => e.id));
  });

  it('reports a stopped agent and an unknown node offline at once, not after the timeout', async () => {
    const spare = await startAgent(uniqueNodeId('spare'));
    await waitFor(
      'spare ready',
      async () => (await api<NodeList>(`/v1/nodes?where=${spare.nodeId}`)).body.nodes[0]?.status === 'ready',
    );
    await spare.stop();
    await waitFor(
      'spare left',
      async () => (await api<NodeList>(`/v1/nodes?where=${spare.nodeId}`)).body.nodes[0]?.status === 'left',
    );
    const ghost = uniqueNodeId('ghost');
    const started = Date.now();
    const job = await createJob({
      target: `${nodes[0]} ${spare.nodeId} ${ghost}`,
      command: { type: 'script', script: 'true' },
      timeout: 600,
    });
    const done = await finished(job.id);
    expect(Date.now() - started).toBeLessThan(5_000);
    const state = Object.fromEntries(done.nodes.map((n) => [n.node_id, n.state]));
    expect(state).toEqual({ [nodes[0]!]: 'succeeded', [spare.nodeId]: 'offline', [ghost]: 'offline' });
    expect(done.state).toBe('failed');
  });

  if (dialect === 'sqlite') {
    it('urctl exec runs on many nodes: a summary table, a counts line, and an exit status', async () => {
      const ok = await urctl('exec', '--all', '--concurrency', '25%', '--', 'echo hello from $(hostname)');
      // The agent stopped in the previous test is still in the inventory: offline, so not every node ran it.
      expect(ok.code).toBe(69);
      const lines = ok.stdout.trim().split('\n');
      expect(lines[0]).toMatch(/^NODE\s+STATUS\s+EXIT\s+DURATION\s+OUTPUT$/);
      for (const id of nodes)
        expect(ok.stdout).toMatch(new RegExp(`${id}\\s+succeeded\\s+0\\s+\\S+\\s+hello from`));
      expect(lines.at(-1)).toMatch(/^21 nodes: 20 succeeded, 1 offline \(\d/);
      expect(ok.stderr).toMatch(/^urctl: job \S+ on 21 nodes\n$/);

      const some = await urctl(
        'exec',
        '--node',
        nodes[0]!,
        '--node',
        nodes[1]!,
        '--json',
        '--',
        `test "$(hostname)" = never`,
      );
      expect(some.code).toBe(1);
      const job = JSON.parse(some.stdout) as JobDetail;
      expect(job.nodes.map((n) => [n.node_id, n.state, n.exit_status])).toEqual([
        [nodes[0], 'failed', 1],
        [nodes[1], 'failed', 1],
      ]);

      const streamed = await urctl(
        'exec',
        '--where',
        `${nodes[2]} ${nodes[3]}`,
        '--stream',
        '--',
        'echo a; echo b >&2',
      );
      expect(streamed.code).toBe(0);
      expect(streamed.stdout).toContain(`${nodes[2]}: a\n`);
      expect(streamed.stdout).toContain(`${nodes[3]}: a\n`);
      expect(streamed.stderr).toContain(`${nodes[3]}: b\n`);

      // One node without fan-out options: the node's own output and exit status, as before.
      const single = await urctl('exec', '--node', nodes[4]!, '--', 'echo plain; exit 5');
      expect(single).toMatchObject({ code: 5, stdout: 'plain\n' });

      const none = await urctl('exec', '--where', 'label.role=nothing', '--', 'true');
      expect(none.code).toBe(69);
      expect(none.stderr).toMatch(/NO_TARGET_NODES/);
      expect((await urctl('exec', '--all', '--concurrency', '0', '--', 'true')).code).toBe(64);
    });

    it('urctl jobs, hooks and watch', async () => {
      const list = await urctl('jobs', 'list', '--limit', '3');
      expect(list.code).toBe(0);
      expect(list.stdout.split('\n')[0]).toMatch(
        /^ID\s+KIND\s+STATE\s+NODES\s+OK\s+NOT OK\s+CREATED\s+TARGET\s+COMMAND$/,
      );
      const { body } = await api<{ jobs: JobSummary[] }>('/v1/jobs?limit=1&kind=fanout');
      const last = body.jobs[0]!;
      const shown = await urctl('jobs', 'show', last.id);
      expect(shown.stdout).toContain(`id:          ${last.id} (fanout)`);
      const watched = await urctl('jobs', 'watch', last.id);
      expect(watched.stdout).toMatch(/job\.created/);
      expect(watched.stdout).toMatch(/job\.completed/);
      expect(watched.code).toBe(0); // the --stream job, on two nodes that both succeeded
      const gone = await urctl('jobs', 'cancel', last.id);
      expect(gone.code).toBe(70);
      expect(gone.stderr).toMatch(/JOB_FINISHED/);

      const added = await urctl(
        'hooks',
        'add',
        'http://127.0.0.1:9/none',
        '--event',
        'job.completed',
        '--json',
      );
      const hook = JSON.parse(added.stdout) as HookCreated;
      expect(hook.events).toEqual(['job.completed']);
      expect((await urctl('hooks', 'list')).stdout).toContain(hook.id);
      await urctl('exec', '--node', nodes[0]!, '--node', nodes[1]!, '--', 'true');
      await waitFor('a delivery attempt', async () =>
        (await urctl('hooks', 'deliveries', hook.id)).stdout.includes('ECONNREFUSED'),
      );
      expect((await urctl('hooks', 'rm', hook.id)).code).toBe(0);
      const missing = await api<ErrorBody>(`/v1/hooks/${hook.id}`);
      expect(missing.body.code).toBe('HOOK_NOT_FOUND');

      const watch = await urctl('watch', '--after', '0', '--types', 'job.completed', '--count', '2');
      expect(watch.code).toBe(0);
      expect(watch.stdout.trim().split('\n')).toHaveLength(2);
      for (const line of watch.stdout.trim().split('\n')) expect(line).toMatch(/ #\d+ job\.completed /);
    });
  }
});
