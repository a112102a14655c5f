import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqplib from 'amqplib';
import { Headnode } from '@ur/headnode';
import {
  check,
  expiredKey,
  NodeEventSchema,
  type CommandRecord,
  type ComputeReservation,
  type ErrorBody,
  type ExecuteResponse,
  type NodeDetail,
  type StoredEvent,
  type NodeList,
  type NodeReservations,
  type NodeSummary,
  type NodeTransitionList,
} from '@ur/protocol';
import {
  brokerUrl,
  deleteBrokerObjects,
  LegacyUrAgent,
  uniqueExchange,
  uniqueNodeId,
  waitFor,
  WireClient,
} from '@ur/testkit';

const exchange = uniqueExchange();
let dir: string;
let headnode: Headnode;
let wire: WireClient;
const legacy: LegacyUrAgent[] = [];
/** Every node event the headnode's bus delivered, across restarts. */
const events: StoredEvent[] = [];

async function api<T>(path: string, body?: unknown, method = body === undefined ? 'GET' : 'POST') {
  const response = await fetch(`${headnode.url}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? null : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: (text === '' ? undefined : JSON.parse(text)) as T };
}

async function nodeStatus(id: string): Promise<NodeSummary['status'] | undefined> {
  const { status, body } = await api<NodeDetail>(`/v1/nodes/${id}`);
  return status === 200 ? body.status : undefined;
}

async function transitions(id: string): Promise<NodeTransitionList['transitions']> {
  return (await api<NodeTransitionList>(`/v1/nodes/${id}/transitions`)).body.transitions;
}

const eventsOf = (id: string): string[] => events.filter((e) => e.node_id === id).map((e) => e.type);

function startHeadnode(db = join(dir, 'headnode.db')): Promise<void> {
  headnode = new Headnode({
    amqpUrl: brokerUrl(),
    exchange,
    db,
    listen: '127.0.0.1:0',
    replyMarginMs: 300,
    downAfterMs: 2_000,
    heartbeatIntervalMs: 200,
  });
  return headnode.start().then(() => {
    headnode.events.subscribe((e) => events.push(e));
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ur-headnode-'));
  wire = await WireClient.connect(brokerUrl(), exchange);
  await startHeadnode();
});

afterAll(async () => {
  await headnode.stop();
  await Promise.all(legacy.map((a) => a.stop()));
  await wire.close();
  await deleteBrokerObjects({ exchanges: [exchange], queues: [`ur.headnode.${exchange}`] });
  await rm(dir, { recursive: true, force: true });
});

const GiB = 1024 ** 3;

/** Announces a node as our agent would, without running one. */
function announce(id: string, facts: Record<string, unknown> = {}): void {
  wire.publish(`ur.startup.${id}`, {
    UUID: id,
    Hostname: `host-${id}`,
    'Boot Time': '1700000000',
    'System Type': 'Linux',
    'Serial Number': `SN-${id}`,
    'BMC Address': null,
    'CPU Total Cores': 4,
    'CPU Milli Cores': 4000,
    'MiB of Memory': '8192',
    'Memory Bytes': 8 * GiB,
    'Disk Bytes': 100 * GiB,
    'Ur Agent': { version: '9.9.9', protocol: 1, capabilities: ['script'], heartbeat_interval_s: 0.2 },
    ...facts,
  });
}

function heartbeat(id: string, seq: number): void {
  wire.publish(`ur.heartbeat.${id}`, {
    type: 'heartbeat',
    node_id: id,
    seq,
    sent_at: new Date().toISOString(),
    interval_s: 0.2,
    uptime_s: 1,
    load: [0.1, 0.2, 0.3],
    mem_free_mib: 100,
    running: 0,
  });
}

describe('inventory', () => {
  it('records a node from its startup message', async () => {
    const id = uniqueNodeId();
    announce(id);
    await waitFor('node listed', async () => (await nodeStatus(id)) === 'ready');
    const { body } = await api<NodeDetail>(`/v1/nodes/${id}`);
    expect(body).toMatchObject({
      id,
      hostname: `host-${id}`,
      agent_version: '9.9.9',
      capabilities: ['script'],
      last_boot: new Date(1_700_000_000_000).toISOString(),
    });
    expect(body.sysinfo['Boot Time']).toBe('1700000000');
  });

  it('follows heartbeats: ready, then suspect, then down; ready again when heard from', async () => {
    const id = uniqueNodeId();
    announce(id);
    heartbeat(id, 0);
    await waitFor('ready', async () => (await nodeStatus(id)) === 'ready');
    const detail = await waitFor('heartbeat stored', async () => {
      const { body } = await api<NodeDetail>(`/v1/nodes/${id}`);
      return body.last_heartbeat ? body : undefined;
    });
    expect(detail.last_heartbeat).toMatchObject({ seq: 0, load: [0.1, 0.2, 0.3] });
    await waitFor('suspect', async () => (await nodeStatus(id)) === 'suspect', 5_000);
    await waitFor('down', async () => (await nodeStatus(id)) === 'down', 5_000);
    heartbeat(id, 1);
    await waitFor('ready again', async () => (await nodeStatus(id)) === 'ready');
    // Stored with time and reason, newest first; not before the configured times.
    const history = await transitions(id);
    expect(history.map((t) => [t.from, t.to])).toEqual([
      ['down', 'ready'],
      ['suspect', 'down'],
      ['ready', 'suspect'],
      [null, 'ready'],
    ]);
    expect(history[2]?.reason).toBe('missed 2 heartbeats (interval 0.2 s)');
    expect(history[1]?.reason).toBe('silent for the grace period (2 s)');
    expect(history[0]?.reason).toBe('heartbeat');
    const lastHeard = Date.parse(detail.last_heartbeat!.at);
    const suspectAfter = Date.parse(history[2]!.at) - lastHeard;
    const downAfter = Date.parse(history[1]!.at) - lastHeard;
    expect(suspectAfter).toBeGreaterThanOrEqual(400);
    expect(suspectAfter).toBeLessThan(2_000);
    expect(downAfter).toBeGreaterThanOrEqual(2_000);
    expect(downAfter).toBeLessThan(4_000);
    await headnode.events.settle();
    expect(eventsOf(id)).toEqual([
      'node.registered',
      'node.ready',
      'node.suspect',
      'node.down',
      'node.ready',
    ]);
    for (const e of events) expect(check(NodeEventSchema, e).ok).toBe(true);
  });

  it('stores inventory facts per node', async () => {
    const id = uniqueNodeId();
    announce(id, { 'BMC Address': '10.1.2.3', Architecture: 'x64' });
    await waitFor('listed', async () => (await nodeStatus(id)) === 'ready');
    const { body } = await api<NodeDetail>(`/v1/nodes/${id}`);
    expect(body).toMatchObject({
      os: 'linux',
      arch: 'x64',
      serial: `SN-${id}`,
      bmc_address: '10.1.2.3',
      cpu_milli: 4000,
      memory_bytes: 8 * GiB,
      disk_bytes: 100 * GiB,
      console_port: null,
      labels: {},
      status_reason: 'announced',
    });
  });

  it('marks a node left when its agent says ur.shutdown', async () => {
    const id = uniqueNodeId();
    announce(id);
    await waitFor('ready', async () => (await nodeStatus(id)) === 'ready');
    wire.publish(`ur.shutdown.${id}`, {
      type: 'shutdown',
      node_id: id,
      sent_at: new Date().toISOString(),
      reason: 'x',
    });
    await waitFor('left', async () => (await nodeStatus(id)) === 'left');
    expect((await transitions(id))[0]).toMatchObject({
      from: 'ready',
      to: 'left',
      reason: 'agent stopped: x',
    });
    heartbeat(id, 0); // back
    await waitFor('ready again', async () => (await nodeStatus(id)) === 'ready');
  });

  it('marks a node down at once when a command to it is unroutable', async () => {
    const id = uniqueNodeId();
    announce(id);
    await waitFor('ready', async () => (await nodeStatus(id)) === 'ready');
    const { status, body } = await api<ErrorBody>(`/v1/nodes/${id}/execute`, {
      type: 'script',
      script: 'true',
    });
    expect(status).toBe(409);
    expect(body.message).toMatch(/is offline \(status down: command unroutable: no agent is listening/);
    expect(await nodeStatus(id)).toBe('down');
    expect((await transitions(id))[0]).toMatchObject({ from: 'ready', to: 'down' });
  });

  it('ignores a sysinfo whose UUID is not the routing key node', async () => {
    const id = uniqueNodeId();
    wire.publish(`ur.startup.${id}`, { UUID: 'someone-else' });
    announce(id); // the good one after it
    await waitFor('listed', async () => (await nodeStatus(id)) !== undefined);
    expect((await api<NodeDetail>(`/v1/nodes/${id}`)).body.sysinfo.UUID).toBe(id);
  });

  it('answers 404 NODE_NOT_FOUND for a node it never saw', async () => {
    const { status, body } = await api<ErrorBody>('/v1/nodes/never-seen');
    expect(status).toBe(404);
    expect(body.code).toBe('NODE_NOT_FOUND');
  });
});

describe('commands', () => {
  it('drives a Triton Ur agent and normalizes its reply', async () => {
    const agent = new LegacyUrAgent(brokerUrl(), uniqueNodeId('legacy'), exchange);
    legacy.push(agent);
    await agent.start();
    const { status, body } = await api<ExecuteResponse>(`/v1/nodes/${agent.nodeId}/execute`, {
      type: 'script',
      script: '#!/bin/sh\necho out; echo err >&2; exit 3',
    });
    expect(status).toBe(200);
    expect(body).toMatchObject({
      node_id: agent.nodeId,
      exit_status: 3,
      stdout: 'out\n',
      stderr: 'err\n',
      signal: null,
    });
    expect(body.request_id).toMatch(/^[0-9a-f-]{36}$/);
    const missing = await api<ExecuteResponse>(`/v1/nodes/${agent.nodeId}/execute`, {
      type: 'file',
      file: '/no/such',
    });
    expect(missing.body).toMatchObject({
      exit_status: 127,
      error: { code: 'SPAWN_FAILED', message: 'ENOENT' },
    });
    await waitFor('legacy node listed', async () => (await nodeStatus(agent.nodeId)) !== undefined);
  });

  it('keeps a Triton Ur agent ready by pinging it, and marks it down once it is gone', async () => {
    const agent = new LegacyUrAgent(brokerUrl(), uniqueNodeId('legacy'), exchange);
    legacy.push(agent);
    await agent.start();
    await waitFor('ready', async () => (await nodeStatus(agent.nodeId)) === 'ready');
    // No heartbeats for longer than the grace period: still ready, because it answers pings.
    const since = Date.now();
    await waitFor('a grace period passed', () => Date.now() - since > 2_500, 5_000, 100);
    expect(await nodeStatus(agent.nodeId)).toBe('ready');
    expect(await transitions(agent.nodeId)).toHaveLength(1);
    const { status, body } = await api<ExecuteResponse>(`/v1/nodes/${agent.nodeId}/execute`, {
      type: 'script',
      script: 'echo still here',
    });
    expect([status, body.stdout]).toEqual([200, 'still here\n']);
    // Stored status never stands in the way of a command to a reachable node.
    await headnode.stores.nodes.markStatus(agent.nodeId, 'down', 'as a test says', []);
    const anyway = await api<ExecuteResponse>(`/v1/nodes/${agent.nodeId}/execute`, {
      type: 'script',
      script: 'echo reachable',
    });
    expect([anyway.status, anyway.body.stdout]).toEqual([200, 'reachable\n']);
    await waitFor('ready again', async () => (await nodeStatus(agent.nodeId)) === 'ready');
    await agent.stop();
    await waitFor('down', async () => (await nodeStatus(agent.nodeId)) === 'down', 2_000);
    expect((await transitions(agent.nodeId))[0]).toMatchObject({
      to: 'down',
      reason: 'ping unroutable: no agent is listening',
    });
  });

  it('records every command with its one result', async () => {
    const agent = new LegacyUrAgent(brokerUrl(), uniqueNodeId('legacy'), exchange);
    legacy.push(agent);
    await agent.start();
    const { body } = await api<ExecuteResponse>(`/v1/nodes/${agent.nodeId}/execute`, {
      type: 'script',
      script: 'echo recorded',
    });
    const record = await waitFor('recorded', async () => {
      const r = await api<CommandRecord>(`/v1/commands/${body.request_id}`);
      return r.body.status === 'done' ? r.body : undefined;
    });
    expect(record).toMatchObject({
      request_id: body.request_id,
      node_id: agent.nodeId,
      type: 'script',
      issued_by: headnode.id,
      recorded_by: headnode.id,
      reply: { exit_status: 0, stdout: 'recorded\n' },
    });
    const offline = uniqueNodeId();
    await api(`/v1/nodes/${offline}/execute`, { type: 'script', script: 'true' });
    const list = await api<{ commands: CommandRecord[] }>(`/v1/commands?node_id=${offline}`);
    expect(list.body.commands).toMatchObject([{ node_id: offline, status: 'offline', reply: null }]);
    expect((await api<ErrorBody>('/v1/commands/nope')).body.code).toBe('COMMAND_NOT_FOUND');
  });

  it('fails at once with 409 NODE_OFFLINE when no agent listens', async () => {
    const started = Date.now();
    const { status, body } = await api<ErrorBody>(`/v1/nodes/${uniqueNodeId()}/execute`, {
      type: 'script',
      script: 'true',
      timeout: 60,
    });
    expect(status).toBe(409);
    expect(body.code).toBe('NODE_OFFLINE');
    expect(body.message).toMatch(/nothing was run/);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('gives up with 504 REPLY_TIMEOUT after the timeout plus the margin when no reply comes', async () => {
    const id = uniqueNodeId('mute');
    await wire.listen(`ur.execute.${id}.*`); // a listener that never replies
    const { status, body } = await api<ErrorBody>(`/v1/nodes/${id}/execute`, {
      type: 'script',
      script: 'true',
      timeout: 0.5,
    });
    expect(status).toBe(504);
    expect(body.code).toBe('REPLY_TIMEOUT');
    const request = wire.messages.find((m) => m.routingKey.startsWith(`ur.execute.${id}.`));
    expect(request?.body).toMatchObject({ type: 'script', script: 'true', timeout: 0.5 });
    expect(request?.properties).toMatchObject({ contentType: 'application/json', deliveryMode: 2 });
  });

  it('fails with 504 EXPIRED as soon as the request expires in the queue of an agent that is away', async () => {
    const id = uniqueNodeId('away');
    const queue = `ur.request.${id}`;
    // The request queue as ur-agent declares it, left without a consumer (the agent died).
    const connection = await amqplib.connect(brokerUrl());
    try {
      const ch = await connection.createChannel();
      await ch.assertQueue(queue, {
        durable: true,
        expires: 60_000,
        deadLetterExchange: exchange,
        deadLetterRoutingKey: expiredKey(id),
      });
      await ch.bindQueue(queue, exchange, `ur.execute.${id}.*`);
      const { status, body } = await api<ErrorBody>(`/v1/nodes/${id}/execute`, {
        type: 'script',
        script: 'true',
        timeout: 1,
      });
      expect(status).toBe(504);
      expect(body.code).toBe('EXPIRED');
      expect(body.message).toMatch(/nothing was run/);
      const left = await ch.checkQueue(queue);
      expect(left.messageCount).toBe(0);
    } finally {
      await connection.close();
      await deleteBrokerObjects({ queues: [queue] });
    }
  });

  it.each([
    [{ type: 'script' }, 'missing field "script"'],
    [{ type: 'rm-rf' }, 'unknown request type "rm-rf"'],
    [{ type: 'script', script: 'x', timeout: -1 }, 'timeout'],
  ])('refuses %j with 400 VALIDATION_FAILED', async (payload, message) => {
    const { status, body } = await api<ErrorBody>('/v1/nodes/n1/execute', payload);
    expect(status).toBe(400);
    expect(body.code).toBe('VALIDATION_FAILED');
    expect(body.message).toContain(message);
  });

  it('refuses node ids that are not one routing-key word', async () => {
    const { status, body } = await api<ErrorBody>('/v1/nodes/a.b/execute', { type: 'script', script: 'x' });
    expect(status).toBe(400);
    expect(body.code).toBe('VALIDATION_FAILED');
  });
});

describe('API', () => {
  it('serves ping, an OpenAPI document and JSON 404s', async () => {
    expect((await api<{ ok: boolean; broker: string }>('/v1/ping')).body).toMatchObject({
      ok: true,
      broker: 'connected',
    });
    const doc = await api<{ openapi: string; paths: Record<string, unknown> }>('/v1/openapi.json');
    expect(doc.body.openapi).toBe('3.0.3');
    expect(Object.keys(doc.body.paths)).toEqual(
      expect.arrayContaining(['/v1/ping', '/v1/nodes', '/v1/nodes/{id}', '/v1/nodes/{id}/execute']),
    );
    const missing = await api<ErrorBody>('/v2/nothing');
    expect(missing).toEqual({
      status: 404,
      body: { code: 'NOT_FOUND', message: 'no route GET /v2/nothing' },
    });
  });
});

describe('restart', () => {
  it('keeps every node; they are unknown until heard from, and it learns running nodes by asking', async () => {
    const quiet = uniqueNodeId('quiet');
    announce(quiet);
    await waitFor('listed', async () => (await nodeStatus(quiet)) === 'ready');
    await headnode.stop();
    // Lose the inbound queue too (a new headnode, or one whose queue expired),
    // so the startup of an agent that starts now is missed entirely.
    await deleteBrokerObjects({ queues: [`ur.headnode.${exchange}`] });
    const agent = new LegacyUrAgent(brokerUrl(), uniqueNodeId('late'), exchange);
    legacy.push(agent);
    await agent.start();
    await startHeadnode();
    expect(await nodeStatus(quiet)).toBe('unknown');
    expect((await transitions(quiet))[0]).toMatchObject({
      from: 'ready',
      to: 'unknown',
      reason: 'headnode started; not heard from since',
    });
    // The headnode broadcasts a sysinfo request on connect; the running agent answers it.
    await waitFor('late agent learned', async () => (await nodeStatus(agent.nodeId)) === 'ready');
    heartbeat(quiet, 7);
    await waitFor('unknown → ready when heard from', async () => (await nodeStatus(quiet)) === 'ready');
    // Nodes not heard from within one grace period after the start become down.
    const { body } = await api<NodeList>('/v1/nodes?where=status=unknown|down');
    expect(body.nodes.map((n) => n.status)).not.toContain('ready');
  });
});

describe('labels and selectors', () => {
  const web1 = uniqueNodeId('sel-web');
  const web2 = uniqueNodeId('sel-web');
  const db = uniqueNodeId('sel-db');

  beforeAll(async () => {
    announce(web1, { Hostname: `web1-${web1}`, 'Memory Bytes': 16 * GiB });
    announce(web2, { Hostname: `web2-${web2}`, 'Memory Bytes': 2 * GiB });
    announce(db, { Hostname: `db-${db}`, 'System Type': 'SunOS' });
    await waitFor('announced', async () => {
      for (const id of [web1, web2, db]) if ((await nodeStatus(id)) !== 'ready') return false;
      return true;
    });
    for (const id of [web1, web2]) {
      const { status, body } = await api<NodeDetail>(
        `/v1/nodes/${id}`,
        { labels: { role: 'web', zone: 'a' } },
        'PATCH',
      );
      expect([status, body.labels]).toEqual([200, { role: 'web', zone: 'a' }]);
    }
    await api(`/v1/nodes/${web2}`, { labels: { zone: null } }, 'PATCH');
    await api(`/v1/nodes/${db}`, { labels: { role: 'db' } }, 'PATCH');
  });

  const ids = async (where: string): Promise<string[]> => {
    const mine = `${web1} ${web2} ${db}`;
    const { status, body } = await api<NodeList>(`/v1/nodes?where=${encodeURIComponent(`${mine} ${where}`)}`);
    expect(status).toBe(200);
    return body.nodes.map((n) => n.id);
  };

  it.each([
    ['all', () => [db, web1, web2]],
    ['status=ready', () => [db, web1, web2]],
    ['label.role=web', () => [web1, web2]],
    ['label.zone=a', () => [web1]],
    ['label.zone!=a', () => [db, web2]],
    ['os=linux', () => [web1, web2]],
    ['os=sunos', () => [db]],
    ['hostname~web*', () => [web1, web2]],
    ['mem_mib>=4096', () => [db, web1]],
    ['memory_bytes<4GiB', () => [web2]],
    ['label.role=web mem_mib>=4096', () => [web1]],
    ['sysinfo."System Type"=SunOS', () => [db]],
  ])('%s', async (where, expected) => {
    const selected = await ids(where === 'all' ? '' : where);
    expect(selected).toEqual(expected().sort());
  });

  it('records label changes as node.updated events', async () => {
    await headnode.events.settle();
    const updated = events.filter((e) => e.node_id === web2 && e.type === 'node.updated');
    expect(updated.map((e) => e.data)).toEqual([
      { changes: { labels: { from: {}, to: { role: 'web', zone: 'a' } } } },
      { changes: { labels: { from: { role: 'web', zone: 'a' }, to: { role: 'web' } } } },
    ]);
  });

  it('pages through the selection by id', async () => {
    const where = encodeURIComponent(`${web1} ${web2} ${db}`);
    const first = await api<NodeList>(`/v1/nodes?where=${where}&limit=2`);
    expect(first.body.total).toBe(3);
    expect(first.body.nodes).toHaveLength(2);
    expect(first.body.next).toBe(first.body.nodes[1]?.id);
    const second = await api<NodeList>(`/v1/nodes?where=${where}&limit=2&after=${first.body.next}`);
    expect(second.body.nodes).toHaveLength(1);
    expect(second.body.next).toBeNull();
    expect([...first.body.nodes, ...second.body.nodes].map((n) => n.id)).toEqual([db, web1, web2].sort());
  });

  it.each([
    ['mem_mib>=lots', /needs a number/],
    ['memory>=4G', /unknown key "memory"/],
    ['', /empty selector/],
  ])('refuses %j with 400 INVALID_SELECTOR', async (where, message) => {
    const { status, body } = await api<ErrorBody>(`/v1/nodes?where=${encodeURIComponent(where)}`);
    expect(status).toBe(400);
    expect(body.code).toBe('INVALID_SELECTOR');
    expect(body.message).toMatch(message);
  });

  it('refuses bad labels and unknown nodes', async () => {
    expect(
      (await api<ErrorBody>(`/v1/nodes/${web1}`, { labels: { 'no spaces': 'x' } }, 'PATCH')).status,
    ).toBe(400);
    expect((await api<ErrorBody>(`/v1/nodes/${web1}`, { role: 'x' }, 'PATCH')).status).toBe(400);
    expect((await api<ErrorBody>('/v1/nodes/nope', { labels: { a: 'b' } }, 'PATCH')).body.code).toBe(
      'NODE_NOT_FOUND',
    );
  });
});

describe('reservations and placement', () => {
  const zone = `z${uniqueNodeId().slice(-6)}`;
  const nodes = [uniqueNodeId('cap'), uniqueNodeId('cap'), uniqueNodeId('cap')];

  beforeAll(async () => {
    for (const id of nodes)
      announce(id, { 'CPU Milli Cores': 2000, 'Memory Bytes': 4 * GiB, 'Disk Bytes': 10 * GiB });
    await waitFor('announced', async () => {
      for (const id of nodes) if ((await nodeStatus(id)) !== 'ready') return false;
      return true;
    });
    for (const id of nodes) await api(`/v1/nodes/${id}`, { labels: { pool: zone } }, 'PATCH');
  });

  // Keeps the placement nodes ready for as long as these tests run.
  let beat: NodeJS.Timeout;
  beforeAll(() => {
    let seq = 0;
    beat = setInterval(() => nodes.forEach((id) => heartbeat(id, seq++)), 100);
  });
  afterAll(() => clearInterval(beat));

  it('reserves, refuses over-commit with a clear error, and releases', async () => {
    const [id] = nodes as [string];
    const ok = await api<ComputeReservation>(`/v1/nodes/${id}/reservations/compute`, {
      name: 'web',
      request_cpu_milli: 1500,
      request_memory_bytes: GiB,
      limit_cpu_milli: 2000,
    });
    expect(ok.status).toBe(201);
    expect(ok.body).toMatchObject({
      node_id: id,
      name: 'web',
      limit_cpu_milli: 2000,
      limit_memory_bytes: GiB,
    });
    const over = await api<ErrorBody>(`/v1/nodes/${id}/reservations/compute`, {
      name: 'more',
      request_cpu_milli: 600,
      request_memory_bytes: 1,
    });
    expect(over.status).toBe(409);
    expect(over.body).toEqual({
      code: 'INSUFFICIENT_CAPACITY',
      message: `node ${id} has 500 milli-cores and 3221225472 bytes of memory unreserved; asked for 600 milli-cores and 1 bytes of memory; nothing was reserved`,
    });
    const badLimit = await api<ErrorBody>(`/v1/nodes/${id}/reservations/storage`, {
      name: 'd',
      request_bytes: 10,
      limit_bytes: 5,
    });
    expect([badLimit.status, badLimit.body.code]).toEqual([400, 'VALIDATION_FAILED']);
    expect(
      (await api(`/v1/nodes/${id}/reservations/storage`, { name: 'd', request_bytes: GiB })).status,
    ).toBe(201);
    const dup = await api<ErrorBody>(`/v1/nodes/${id}/reservations/storage`, { name: 'd', request_bytes: 1 });
    expect([dup.status, dup.body.code]).toEqual([409, 'RESERVATION_EXISTS']);
    const listed = await api<NodeReservations>(`/v1/nodes/${id}/reservations`);
    expect(listed.body).toMatchObject({
      capacity: { cpu_milli: 2000, memory_bytes: 4 * GiB, disk_bytes: 10 * GiB },
      reserved: { cpu_milli: 1500, memory_bytes: GiB, disk_bytes: GiB },
      compute: [{ name: 'web' }],
      storage: [{ name: 'd' }],
    });
    expect((await api(`/v1/nodes/${id}/reservations/compute/web`, undefined, 'DELETE')).status).toBe(204);
    expect((await api(`/v1/nodes/${id}/reservations/storage/d`, undefined, 'DELETE')).status).toBe(204);
    const gone = await api<ErrorBody>(`/v1/nodes/${id}/reservations/compute/web`, undefined, 'DELETE');
    expect([gone.status, gone.body.code]).toEqual([404, 'RESERVATION_NOT_FOUND']);
  });

  it('places 50 concurrent schedule calls on the last slots without over-committing', async () => {
    // 3 nodes × 2000 milli-cores = 12 slots of 500; 50 callers compete for them.
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        api<ComputeReservation | ErrorBody>('/v1/schedule/compute', {
          name: `job-${i}`,
          request_cpu_milli: 500,
          request_memory_bytes: 1,
          where: `label.pool=${zone}`,
        }),
      ),
    );
    const placed = results.filter((r) => r.status === 201).map((r) => (r.body as ComputeReservation).node_id);
    const refused = results.filter((r) => r.status === 409).map((r) => (r.body as ErrorBody).code);
    expect(placed).toHaveLength(12);
    expect(refused).toEqual(Array(38).fill('NO_CAPACITY'));
    for (const id of nodes) {
      expect(placed.filter((p) => p === id)).toHaveLength(4); // spread evenly
      const { body } = await api<NodeReservations>(`/v1/nodes/${id}/reservations`);
      expect(body.reserved.cpu_milli).toBe(2000);
    }
  });

  it('places storage by constraint and refuses what nothing matching can hold', async () => {
    const [, target] = nodes as [string, string];
    const placed = await api<{ node_id: string }>('/v1/schedule/storage', {
      name: 'vol',
      request_bytes: 5 * GiB,
      where: target,
    });
    expect([placed.status, placed.body.node_id]).toEqual([201, target]);
    const none = await api<ErrorBody>('/v1/schedule/storage', {
      name: 'vol2',
      request_bytes: 6 * GiB,
      where: target,
    });
    expect(none.status).toBe(409);
    expect(none.body.message).toMatch(
      new RegExp(`no ready node matching "${target}" has 6442450944 bytes of storage`),
    );
  });
});
