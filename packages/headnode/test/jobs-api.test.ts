import {
  check,
  JobDetailSchema,
  UrEventSchema,
  type ErrorBody,
  type ExecuteResponse,
  type JobDetail,
  type JobList,
  type JobSummary,
  type NodeList,
  type UrEvent,
} from '@ur/protocol';
import { recordingLogger, SseClient, uniqueNodeId, waitFor, type WireMessage } from '@ur/testkit';
import { Harness } from './harness.js';

// Agents played by the wire client: the tests decide when and what each answers.
const h = new Harness();
const logLines: string[] = [];
beforeAll(() => h.setUp({ logger: recordingLogger(logLines) }));
afterAll(() => h.tearDown());

async function readyNodes(...ids: string[]): Promise<void> {
  for (const id of ids) {
    h.announce(id);
    await h.wire.listen(`ur.execute.${id}.*`);
  }
  await waitFor('nodes ready', async () => {
    const { body } = await h.api<NodeList>(
      `/v1/nodes?where=${encodeURIComponent(`${ids.join(' ')} status=ready`)}`,
    );
    return body.total === ids.length;
  });
}

const requestFor = (node: string, match: (body: Record<string, unknown>) => boolean = () => true) =>
  h.wire.waitFor(
    `a request for ${node}`,
    (m) => m.routingKey.startsWith(`ur.execute.${node}.`) && match(m.body as Record<string, unknown>),
  );

const requestIdOf = (m: WireMessage): string => m.routingKey.split('.')[3] ?? '';

function progress(node: string, requestId: string, seq: number, stage: string, extra: object = {}): void {
  h.wire.publish(`ur.execute-progress.${node}.${requestId}`, {
    type: 'progress',
    node_id: node,
    request_id: requestId,
    seq,
    at: new Date().toISOString(),
    stage,
    ...extra,
  });
}

function reply(node: string, requestId: string, body: object): void {
  h.wire.publish(`ur.execute-reply.${node}.${requestId}`, {
    stdout: '',
    stderr: '',
    started_at: new Date().toISOString(),
    finished_at: new Date().toISOString(),
    ...body,
  });
}

async function createJob(body: object): Promise<JobSummary> {
  const { status, body: job } = await h.api<JobSummary>('/v1/jobs', body);
  expect(status).toBe(202);
  return job;
}

const job = async (id: string): Promise<JobDetail> => (await h.api<JobDetail>(`/v1/jobs/${id}`)).body;
const finished = (id: string) =>
  waitFor('job finished', async () => {
    const j = await job(id);
    return j.state !== 'running' ? j : undefined;
  });

const stateEvents = (sse: SseClient): UrEvent[] =>
  sse.messages.filter((m) => m.event !== 'output').map((m) => JSON.parse(m.data) as UrEvent);

describe('jobs', () => {
  it('reports down, left and unknown nodes offline at once, sends the rest through the window, and streams it all', async () => {
    const [a, b, gone] = [uniqueNodeId('a'), uniqueNodeId('b'), uniqueNodeId('gone')];
    await readyNodes(a, b);
    h.announce(gone);
    h.shutdown(gone);
    await waitFor(
      'left',
      async () => (await h.api<NodeList>(`/v1/nodes?where=${gone}`)).body.nodes[0]?.status === 'left',
    );
    const ghost = uniqueNodeId('ghost');
    const created = await createJob({
      target: `${a} ${b} ${gone} ${ghost}`,
      command: { type: 'script', script: 'echo hi' },
      concurrency: 1,
      stream: true,
      requested_by: 'jobs-api test',
    });
    expect(created).toMatchObject({ total: 4, concurrency: 1 });
    expect(created.created_by).toMatch(/^jobs-api test via hn-/);
    const sse = await SseClient.connect(`${h.headnode.url}/v1/jobs/${created.id}/events`);

    // The left node at once, before anything is sent.
    await sse.waitFor('gone offline', (m) => m.event === 'job.node.offline' && m.data.includes(gone));

    // Window of one: b is sent only once a has its result.
    const first = await requestFor(a);
    expect(first.body).toMatchObject({ type: 'script', script: 'echo hi', stream: true, timeout: 300 });
    const ra = requestIdOf(first);
    progress(a, ra, 0, 'accepted');
    progress(a, ra, 1, 'started');
    progress(a, ra, 2, 'output', { stream: 'stdout', data: 'hel' });
    progress(a, ra, 3, 'output', { stream: 'stdout', data: 'lo\n' });
    await sse.waitFor('a running', (m) => m.event === 'job.node.running' && m.data.includes(a));
    await sse.waitFor('a output', (m) => m.event === 'output' && m.data.includes('lo\\n'));
    expect(h.wire.messages.some((m) => m.routingKey.startsWith(`ur.execute.${b}.`))).toBe(false);
    reply(a, ra, { exit_status: 0, stdout: 'hello\n' });
    const second = await requestFor(b);
    reply(b, requestIdOf(second), { exit_status: 3, stderr: 'nope\n' });
    // Nodes go in id order; the one nobody listens for ends offline as soon as its publish comes back.
    await sse.waitFor('ghost offline', (m) => m.event === 'job.node.offline' && m.data.includes(ghost));
    await sse.ended; // after job.completed

    const events = stateEvents(sse);
    for (const e of events) expect(check(UrEventSchema, e).ok).toBe(true);
    const perNode = (node: string) =>
      events.filter((e) => 'node_id' in e && e.node_id === node).map((e) => e.type);
    expect(perNode(a)).toEqual([
      'job.node.sent',
      'job.node.accepted',
      'job.node.running',
      'job.node.succeeded',
    ]);
    expect(perNode(b)).toEqual(['job.node.sent', 'job.node.failed']);
    expect(perNode(gone)).toEqual(['job.node.offline']);
    // Written with the job, before anything was sent.
    expect(events.slice(0, 2)).toMatchObject([
      { type: 'job.created', data: { counts: { pending: 3, offline: 1 } } },
      { type: 'job.node.offline', node_id: gone },
    ]);
    const completed = events.at(-1);
    expect(completed).toMatchObject({
      type: 'job.completed',
      data: { state: 'failed', total: 4, counts: { succeeded: 1, failed: 1, offline: 2 } },
    });
    const output = sse.events<{ node_id: string; data: string }>((t) => t === 'output');
    expect(output.map((o) => [o.node_id, o.data])).toEqual([
      [a, 'hel'],
      [a, 'lo\n'],
    ]);

    const detail = await job(created.id);
    expect(check(JobDetailSchema, detail).ok).toBe(true);
    const byNode = Object.fromEntries(detail.nodes.map((n) => [n.node_id, n]));
    expect(byNode[a]).toMatchObject({ state: 'succeeded', exit_status: 0, stdout: 'hello\n' });
    expect(byNode[b]).toMatchObject({ state: 'failed', exit_status: 3, stderr: 'nope\n' });
    expect(byNode[gone]?.state).toBe('offline');
    expect(byNode[gone]?.detail).toMatch(/is left since .*nothing was sent/);
    expect(byNode[ghost]?.state).toBe('offline');
    expect(byNode[ghost]?.detail).toMatch(/no agent is listening/);

    // Resume after any event: exactly the rest, then the stream ends again.
    const middle = events[3]!;
    const resumed = await SseClient.connect(`${h.headnode.url}/v1/jobs/${created.id}/events`, {
      lastEventId: middle.id,
    });
    await resumed.ended;
    expect(stateEvents(resumed).map((e) => e.id)).toEqual(events.slice(4).map((e) => e.id));
  });

  it('gives a stream that connects late the output so far, before job.completed; a resumed one no repeats', async () => {
    const n = uniqueNodeId('late');
    await readyNodes(n);
    const created = await createJob({
      target: n,
      command: { type: 'script', script: 'echo early' },
      stream: true,
    });
    const request = await requestFor(n);
    const rid = requestIdOf(request);
    progress(n, rid, 0, 'output', { stream: 'stdout', data: 'early\n' });
    await waitFor('the output reached the headnode', () => h.headnode.outputs.bufferedBytes > 0);
    reply(n, rid, { exit_status: 0, stdout: 'early\n' });
    await finished(created.id);
    const sse = await SseClient.connect(`${h.headnode.url}/v1/jobs/${created.id}/events`);
    await sse.ended;
    expect(sse.messages.map((m) => m.event).slice(-2)).toEqual(['output', 'job.completed']);
    expect(sse.events<{ data: string }>((t) => t === 'output').map((o) => o.data)).toEqual(['early\n']);
    const resumed = await SseClient.connect(`${h.headnode.url}/v1/jobs/${created.id}/events`, {
      lastEventId: sse.messages[0]!.id!,
    });
    await resumed.ended;
    expect(resumed.messages.filter((m) => m.event === 'output')).toEqual([]);
  });

  it('cancels: nodes not sent are cancelled at once, running ones get a cancel command', async () => {
    const nodes = [uniqueNodeId('c'), uniqueNodeId('c'), uniqueNodeId('c')].sort(); // sent in id order
    await readyNodes(...nodes);
    const created = await createJob({
      target: nodes.join(' '),
      command: { type: 'script', script: 'sleep 60' },
      concurrency: 2,
    });
    const running = await Promise.all(nodes.slice(0, 2).map((n) => requestFor(n)));
    const { status, body } = await h.api<JobSummary>(`/v1/jobs/${created.id}/cancel`, {});
    expect(status).toBe(202);
    expect(body.counts.cancelled).toBe(1);
    const cancels = await Promise.all(
      running.map((m, i) =>
        requestFor(nodes[i]!, (b) => b.type === 'cancel' && b.request_id === requestIdOf(m)),
      ),
    );
    for (const [i, m] of running.entries()) {
      reply(nodes[i]!, requestIdOf(m), {
        exit_status: 143,
        signal: 'SIGTERM',
        error: { code: 'CANCELLED', message: 'cancelled' },
      });
      reply(nodes[i]!, requestIdOf(cancels[i]!), {
        exit_status: 0,
        result: { request_id: requestIdOf(m), state: 'cancelled' },
      });
    }
    const done = await finished(created.id);
    expect(done).toMatchObject({ state: 'cancelled', counts: { cancelled: 3 } });
    expect(done.nodes.find((n) => n.node_id === nodes[2])?.detail).toBe('not sent: the job was cancelled');
    const again = await h.api<ErrorBody>(`/v1/jobs/${created.id}/cancel`, {});
    expect([again.status, again.body.code]).toEqual([409, 'JOB_FINISHED']);
  });

  it('stops sending after max_errors failures; the rest end skipped', async () => {
    const nodes = Array.from({ length: 5 }, () => uniqueNodeId('m')).sort();
    await readyNodes(...nodes);
    const created = await createJob({
      target: nodes.join(' '),
      command: { type: 'script', script: 'false' },
      concurrency: 1,
      max_errors: '40%',
    });
    for (const n of nodes.slice(0, 2)) reply(n, requestIdOf(await requestFor(n)), { exit_status: 1 });
    const done = await finished(created.id);
    expect(done).toMatchObject({
      state: 'failed',
      max_errors: '40%',
      stopped_reason: '2 nodes failed (max_errors 40%)',
    });
    expect(done.counts).toMatchObject({ failed: 2, skipped: 3 });
    const ended = await waitFor('the job logged finished', () =>
      logLines.find((l) => l.includes(' job finished ') && l.includes(created.id)),
    );
    expect(ended.startsWith('info ')).toBe(true);
    expect(
      nodes.slice(2).some((n) => h.wire.messages.some((m) => m.routingKey.startsWith(`ur.execute.${n}.`))),
    ).toBe(false);
  });

  it('records a synchronous execute as a job of one node, keeping its answers', async () => {
    const n = uniqueNodeId('x');
    await readyNodes(n);
    const answer = h.api<ExecuteResponse>(`/v1/nodes/${n}/execute`, { type: 'script', script: 'echo sync' });
    const request = await requestFor(n);
    reply(n, requestIdOf(request), { exit_status: 0, stdout: 'sync\n' });
    const { status, body } = await answer;
    expect([status, body.stdout, body.request_id]).toEqual([200, 'sync\n', requestIdOf(request)]);
    const { body: list } = await h.api<JobList>(`/v1/jobs?kind=execute&node_id=${n}`);
    expect(list.jobs).toHaveLength(1);
    const done = await finished(list.jobs[0]!.id);
    expect(done).toMatchObject({ kind: 'execute', target: n, state: 'succeeded', total: 1 });
    // One API call, answered with its outcome: its end is logged at debug only.
    const ended = await waitFor('the job logged finished', () =>
      logLines.find((l) => l.includes(' job finished ') && l.includes(done.id)),
    );
    expect(ended.startsWith('debug ')).toBe(true);
    const offline = await h.api<ErrorBody>(`/v1/nodes/${uniqueNodeId('nobody')}/execute`, {
      type: 'script',
      script: 'true',
    });
    expect([offline.status, offline.body.code]).toEqual([409, 'NODE_OFFLINE']);
  });

  it('forgets a node: out of the inventory and of `all`, with a node.forgotten event', async () => {
    const [keep, drop] = [uniqueNodeId('keep'), uniqueNodeId('drop')];
    await readyNodes(keep, drop);
    const events = await SseClient.connect(`${h.headnode.url}/v1/events?types=node.forgotten`);
    expect((await h.api(`/v1/nodes/${drop}`, undefined, 'DELETE')).status).toBe(204);
    expect((await h.api<ErrorBody>(`/v1/nodes/${drop}`, undefined, 'DELETE')).body.code).toBe(
      'NODE_NOT_FOUND',
    );
    expect((await h.api<ErrorBody>(`/v1/nodes/${drop}`)).status).toBe(404);
    const forgotten = await events.waitFor('node.forgotten', (m) => m.data.includes(drop));
    expect(JSON.parse(forgotten.data)).toMatchObject({
      type: 'node.forgotten',
      node_id: drop,
      data: { status: 'ready' },
    });
    await events.close();
    const all = await createJob({
      target: 'all',
      command: { type: 'script', script: 'true' },
      concurrency: '1%',
    });
    const nodes = (await job(all.id)).nodes.map((x) => x.node_id);
    expect(nodes).toContain(keep);
    expect(nodes).not.toContain(drop);
    await h.api(`/v1/jobs/${all.id}/cancel`, {});
  });

  it('refuses a target that selects nothing and a limit that is not one', async () => {
    const none = await h.api<ErrorBody>('/v1/jobs', {
      target: 'label.role=none',
      command: { type: 'script', script: 'true' },
    });
    expect([none.status, none.body.code]).toEqual([400, 'NO_TARGET_NODES']);
    const bad = await h.api<ErrorBody>('/v1/jobs', {
      target: 'all',
      command: { type: 'script', script: 'true' },
      concurrency: '0%',
    });
    expect([bad.status, bad.body.code]).toEqual([400, 'VALIDATION_FAILED']);
    expect((await h.api<ErrorBody>('/v1/jobs/nope')).body.code).toBe('JOB_NOT_FOUND');
  });
});

describe('GET /v1/events', () => {
  it('streams events live and resumes after Last-Event-ID without a gap or a repeat', async () => {
    const live = await SseClient.connect(`${h.headnode.url}/v1/events?types=node.*`);
    const first = uniqueNodeId('ev');
    h.announce(first);
    const ready = await live.waitFor(
      'first ready',
      (m) => m.event === 'node.ready' && m.data.includes(first),
    );
    await live.close();
    const second = uniqueNodeId('ev');
    h.announce(second);
    await waitFor('second stored', async () => (await h.api(`/v1/nodes/${second}`)).status === 200);
    const resumed = await SseClient.connect(`${h.headnode.url}/v1/events`, { lastEventId: ready.id! });
    await resumed.waitFor('second ready', (m) => m.event === 'node.ready' && m.data.includes(second));
    const third = uniqueNodeId('ev');
    h.announce(third);
    await resumed.waitFor('third ready (live)', (m) => m.event === 'node.ready' && m.data.includes(third));
    await resumed.close();
    const ids = resumed.messages.map((m) => Number(m.id));
    const stored = (await h.headnode.stores.events.after(Number(ready.id), 10_000)).map((e) => Number(e.id));
    expect(ids).toEqual(stored.slice(0, ids.length));
    expect(new Set(ids).size).toBe(ids.length);
    const bad = await fetch(`${h.headnode.url}/v1/events?types=${encodeURIComponent('no pe')}`);
    expect(bad.status).toBe(400);
  });
});
