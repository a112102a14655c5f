import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from '@ur/agent';
import { Headnode } from '@ur/headnode';
import { isJobEvent } from '@ur/protocol';
import type {
  ErrorBody,
  NodeDetail,
  ServiceInfoResponse,
  ServiceListResponse,
  ServiceLogsResponse,
  ServiceNodeEvent,
  ServiceStartResponse,
  ServiceStopResponse,
  NodeEvent,
  StreamLine,
} from '@ur/protocol';
import {
  ArtifactRepository,
  brokerUrl,
  deleteBrokerObjects,
  LegacyUrAgent,
  markedProcesses,
  serviceZip,
  uniqueExchange,
  uniqueMarker,
  uniqueNodeId,
  waitFor,
} from '@ur/testkit';

// The headnode's service routes and service inventory against a real agent, broker and repository, in one process.
const exchange = uniqueExchange();
const ARTIFACT = 'com.example:svc:1.0.0';
let dir: string;
let repo: ArtifactRepository;
let headnode: Headnode;
let agent: Agent;
let legacy: LegacyUrAgent;
let node: string;
const events: (NodeEvent | ServiceNodeEvent)[] = [];

async function api<T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const response = await fetch(`${headnode.url}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? null : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as T };
}

const inventory = async (): Promise<NodeDetail['services']> =>
  (await api<NodeDetail>('GET', `/v1/nodes/${node}`)).body.services;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ur-services-api-'));
  await chmod(dir, 0o755);
  repo = await ArtifactRepository.start();
  repo.publish(ARTIFACT, await serviceZip());
  headnode = new Headnode({
    amqpUrl: brokerUrl(),
    exchange,
    db: join(dir, 'headnode.db'),
    listen: '127.0.0.1:0',
    replyMarginMs: 2_000,
  });
  await headnode.start();
  headnode.events.subscribe((e) => {
    if (!isJobEvent(e)) events.push(e);
  });
  node = uniqueNodeId('svcapi');
  agent = new Agent({
    amqpUrl: brokerUrl(),
    exchange,
    nodeId: node,
    prefix: join(dir, node),
    probeHardware: false,
    statusPort: 0,
    heartbeatIntervalMs: 500,
    artifacts: { repository: repo.url },
  });
  await agent.start();
  legacy = new LegacyUrAgent(brokerUrl(), uniqueNodeId('legacy'), exchange);
  await legacy.start();
  await waitFor('both nodes in the inventory', async () => {
    const a = await api('GET', `/v1/nodes/${node}`);
    const b = await api('GET', `/v1/nodes/${legacy.nodeId}`);
    return a.status === 200 && b.status === 200;
  });
  expect((await api('POST', `/v1/nodes/${node}/artifacts`, { coordinate: ARTIFACT })).status).toBe(201);
});

afterAll(async () => {
  await api('POST', `/v1/nodes/${node}/services/1.web.ops.api/stop`, {});
  await agent.stop();
  await legacy.stop();
  await headnode.stop();
  await repo.close();
  await deleteBrokerObjects({ exchanges: [exchange], queues: [`ur.headnode.${exchange}`] });
  await rm(dir, { recursive: true, force: true });
});

describe('service routes', () => {
  const coordinate = '1.web.ops.api';
  const marker = uniqueMarker();
  let pid: number;

  it('start: 201, then 200 for the same start, 409 for another', async () => {
    const started = await api<ServiceStartResponse>('POST', `/v1/nodes/${node}/services`, {
      coordinate,
      artifact: ARTIFACT,
      options: { marker },
      restart: { delay_s: 0.1 },
    });
    expect(started.status).toBe(201);
    expect(started.body).toMatchObject({
      node_id: node,
      coordinate,
      state: 'running',
      already_running: false,
    });
    pid = started.body.pid!;
    const same = await api<ServiceStartResponse>('POST', `/v1/nodes/${node}/services`, {
      coordinate,
      artifact: ARTIFACT,
      options: { marker },
      restart: { delay_s: 0.1 },
    });
    expect(same.status).toBe(200);
    expect(same.body).toMatchObject({ already_running: true, pid });
    const other = await api<ErrorBody>('POST', `/v1/nodes/${node}/services`, {
      coordinate,
      artifact: ARTIFACT,
      options: { marker: 'x' },
    });
    expect(other.status).toBe(409);
    expect(other.body.code).toBe('SERVICE_CONFLICT');
  });

  it('the inventory keeps the service and its state from the events, and the event bus has them', async () => {
    const services = await waitFor('the inventory has it running', async () => {
      const s = await inventory();
      return s[0]?.state === 'running' ? s : undefined;
    });
    expect(services).toEqual([
      expect.objectContaining({ coordinate, artifact: ARTIFACT, state: 'running', pid, restarts: 0 }),
    ]);
    await waitFor('service events on the bus', () => events.some((e) => e.type === 'service.running'));
    const mine = events.filter(
      (e): e is ServiceNodeEvent => e.type.startsWith('service.') && e.node_id === node,
    );
    expect(mine.map((e) => e.type).slice(0, 2)).toEqual(['service.starting', 'service.running']);
    expect(mine[1]?.data).toMatchObject({
      coordinate,
      from: 'starting',
      to: 'running',
      pid,
      forgotten: false,
    });
    // The heartbeat summary counts it.
    await waitFor('heartbeat with services', async () => {
      const detail = (await api<NodeDetail>('GET', `/v1/nodes/${node}`)).body;
      return detail.last_heartbeat?.services?.running === 1;
    });
  });

  it('list and status ask the node', async () => {
    const list = await api<ServiceListResponse>('GET', `/v1/nodes/${node}/services`);
    expect(list.status).toBe(200);
    expect(list.body.services.map((s) => [s.coordinate, s.state, s.pid])).toEqual([
      [coordinate, 'running', pid],
    ]);
    const status = await api<ServiceInfoResponse>('GET', `/v1/nodes/${node}/services/${coordinate}`);
    expect(status.body).toMatchObject({ coordinate, state: 'running', desired: 'running', pid });
  });

  it('a crash shows in the inventory, and the restart after it', async () => {
    process.kill(pid, 'SIGKILL');
    const restarted = await waitFor('restarted in the inventory', async () => {
      const s = (await inventory())[0];
      return s?.state === 'running' && s.pid !== pid ? s : undefined;
    });
    expect(restarted).toMatchObject({ restarts: 1, signal: 'SIGKILL', exit_status: null });
    pid = restarted.pid!;
  });

  it('logs: the last lines, and followed as NDJSON; a client that goes away cancels the follow on the node', async () => {
    const logs = await api<ServiceLogsResponse>(
      'GET',
      `/v1/nodes/${node}/services/${coordinate}/logs?lines=2`,
    );
    expect(logs.status).toBe(200);
    expect(logs.body.lines).toHaveLength(2);
    expect(logs.body.lines.some((l) => l.startsWith('started pid'))).toBe(true);

    const followed = await fetch(
      `${headnode.url}/v1/nodes/${node}/services/${coordinate}/logs?lines=1&follow=1&timeout=1`,
    );
    expect(followed.headers.get('content-type')).toContain('application/x-ndjson');
    const lines = (await followed.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as StreamLine<ServiceLogsResponse>);
    const last = lines.at(-1);
    expect(last).toMatchObject({ type: 'result', status: 200 });
    expect(
      lines
        .filter((l) => l.type === 'progress' && l.stage === 'output')
        .map((l) => (l as { data?: string }).data)
        .join(''),
    ).toContain(last?.type === 'result' ? last.result.lines[0] : 'missing');

    const controller = new AbortController();
    const abandoned = await fetch(
      `${headnode.url}/v1/nodes/${node}/services/${coordinate}/logs?lines=1&follow=1&timeout=600`,
      { signal: controller.signal },
    );
    const reader = abandoned.body!.getReader();
    await reader.read();
    await waitFor('the follow running on the node', () =>
      agent.status().commands.some((c) => c.type === 'service.logs'),
    );
    controller.abort();
    await waitFor(
      'the follow cancelled on the node',
      () => !agent.status().commands.some((c) => c.type === 'service.logs'),
    );
  });

  it('drain, restart and stop; the inventory follows', async () => {
    const drained = await api<ServiceInfoResponse>('POST', `/v1/nodes/${node}/services/${coordinate}/drain`, {
      drain_timeout: 10,
    });
    expect(drained.status).toBe(200);
    expect(drained.body).toMatchObject({ state: 'stopped', desired: 'stopped' });
    await waitFor('stopped in the inventory', async () => (await inventory())[0]?.state === 'stopped');

    const restarted = await api<ServiceStartResponse>(
      'POST',
      `/v1/nodes/${node}/services/${coordinate}/restart`,
    );
    expect(restarted.status).toBe(200);
    expect(restarted.body).toMatchObject({ state: 'running', restarts: 0 });
    await waitFor(
      'running again in the inventory',
      async () => (await inventory())[0]?.pid === restarted.body.pid,
    );

    const stopped = await api<ServiceStopResponse>('POST', `/v1/nodes/${node}/services/${coordinate}/stop`);
    expect(stopped.status).toBe(200);
    expect(stopped.body).toMatchObject({ state: 'stopped', pid: null, forgotten: false });
    expect(markedProcesses(marker)).toEqual([]);
    const forgotten = await api<ServiceStopResponse>(
      'POST',
      `/v1/nodes/${node}/services/${coordinate}/stop`,
      { forget: true },
    );
    expect(forgotten.body.forgotten).toBe(true);
    await waitFor('gone from the inventory', async () => (await inventory()).length === 0);
  });

  it.each([
    ['POST', '/services', { coordinate: '1.web.ops', artifact: ARTIFACT }, 400, 'INVALID_SERVICE_COORDINATE'],
    ['POST', '/services', { coordinate: '1.web.ops.api', artifact: 'x' }, 400, 'VALIDATION_FAILED'],
    ['POST', '/services', { coordinate: '1.web.ops.api', artifact: 'a b:c:d' }, 400, 'INVALID_COORDINATE'],
    [
      'POST',
      '/services',
      { coordinate: '1.x.ops.api', artifact: 'com.example:none:1' },
      404,
      'ARTIFACT_NOT_INSTALLED',
    ],
    ['POST', '/services/9.none.ops.api/stop', {}, 404, 'SERVICE_NOT_FOUND'],
    ['POST', '/services/9.none.ops.api/drain', undefined, 404, 'SERVICE_NOT_FOUND'],
    ['GET', '/services/9.none.ops.api/logs', undefined, 404, 'SERVICE_NOT_FOUND'],
    ['GET', '/services/bad/logs', undefined, 400, 'INVALID_SERVICE_COORDINATE'],
    [
      'POST',
      '/services',
      { coordinate: '1.x.ops.api', artifact: ARTIFACT, overrides: { command: 'bin/none' } },
      422,
      'SERVICE_START_FAILED',
    ],
  ])('%s %s %j → %d %s', async (method, path, body, status, code) => {
    const answer = await api<ErrorBody>(method, `/v1/nodes/${node}${path}`, body);
    expect([answer.status, answer.body.code]).toEqual([status, code]);
    if (code === 'SERVICE_START_FAILED')
      await api('POST', `/v1/nodes/${node}/services/1.x.ops.api/stop`, { forget: true });
  });

  it('refuses a Triton Ur agent, which has no services, without asking it', async () => {
    const answer = await api<ErrorBody>('GET', `/v1/nodes/${legacy.nodeId}/services`);
    expect([answer.status, answer.body.code]).toEqual([400, 'UNKNOWN_TYPE']);
  });
});
