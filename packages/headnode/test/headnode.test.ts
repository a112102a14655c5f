import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqplib from 'amqplib';
import { Headnode } from '@ur/headnode';
import {
  expiredKey,
  type ErrorBody,
  type ExecuteResponse,
  type NodeDetail,
  type NodeList,
  type NodeSummary,
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

async function api<T>(path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const response = await fetch(`${headnode.url}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? null : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as T };
}

async function nodeStatus(id: string): Promise<NodeSummary['status'] | undefined> {
  const { body } = await api<NodeList>('/v1/nodes');
  return body.nodes.find((n) => n.id === id)?.status;
}

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
  return headnode.start();
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

/** Announces a node as our agent would, without running one. */
function announce(id: string): void {
  wire.publish(`ur.startup.${id}`, {
    UUID: id,
    Hostname: `host-${id}`,
    'Boot Time': '1700000000',
    'Ur Agent': { version: '9.9.9', protocol: 1, capabilities: ['script'], heartbeat_interval_s: 0.2 },
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
    // The headnode broadcasts a sysinfo request on connect; the running agent answers it.
    await waitFor('late agent learned', async () => (await nodeStatus(agent.nodeId)) === 'ready');
  });
});
