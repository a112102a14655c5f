import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from '@ur/agent';
import { Headnode } from '@ur/headnode';
import type {
  ArtifactInstallResponse,
  ArtifactListResponse,
  ArtifactRemoveResponse,
  ErrorBody,
  NodeDetail,
  StreamLine,
} from '@ur/protocol';
import {
  ArtifactRepository,
  brokerUrl,
  deleteBrokerObjects,
  LegacyUrAgent,
  makeZip,
  uniqueExchange,
  uniqueNodeId,
  waitFor,
} from '@ur/testkit';

// The headnode's artifact routes against a real agent, broker and repository, in one process.
const exchange = uniqueExchange();
let dir: string;
let repo: ArtifactRepository;
let headnode: Headnode;
let agent: Agent;
let legacy: LegacyUrAgent;

async function api<T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const response = await fetch(`${headnode.url}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? null : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as T };
}

async function streamed(
  path: string,
  body: unknown,
): Promise<{ type: string; lines: StreamLine<ArtifactInstallResponse>[] }> {
  const response = await fetch(`${headnode.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(response.status).toBe(200);
  const text = await response.text();
  return {
    type: response.headers.get('content-type') ?? '',
    lines: text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as StreamLine<ArtifactInstallResponse>),
  };
}

const files = (n: number): { name: string; data: string }[] =>
  Array.from({ length: n }, (_, i) => ({ name: `lib/f${i}.txt`, data: `file ${i}\n`.repeat(100) }));

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ur-artifacts-api-'));
  repo = await ArtifactRepository.start();
  headnode = new Headnode({
    amqpUrl: brokerUrl(),
    exchange,
    db: join(dir, 'headnode.db'),
    listen: '127.0.0.1:0',
    replyMarginMs: 2_000,
  });
  await headnode.start();
  const nodeId = uniqueNodeId();
  agent = new Agent({
    amqpUrl: brokerUrl(),
    exchange,
    nodeId,
    prefix: join(dir, nodeId),
    probeHardware: false,
    artifacts: { repository: repo.url },
  });
  await agent.start();
  legacy = new LegacyUrAgent(brokerUrl(), uniqueNodeId('legacy'), exchange);
  await legacy.start();
  await waitFor('both nodes in the inventory', async () => {
    const a = await api('GET', `/v1/nodes/${agent.nodeId}`);
    const b = await api('GET', `/v1/nodes/${legacy.nodeId}`);
    return a.status === 200 && b.status === 200 ? true : undefined;
  });
});

afterAll(async () => {
  await agent.stop();
  await legacy.stop();
  await headnode.stop();
  await repo.close();
  await deleteBrokerObjects({ exchanges: [exchange], queues: [`ur.headnode.${exchange}`] });
  await rm(dir, { recursive: true, force: true });
});

const nodeArtifacts = async (): Promise<string[]> =>
  (await api<NodeDetail>('GET', `/v1/nodes/${agent.nodeId}`)).body.artifacts.map((a) => a.coordinate);

describe('artifact routes', () => {
  const plain = 'com.example:plain:1.0.0';
  const live = 'com.example:live:2.0.0';

  it('installs (201), then answers 200 for an installed version', async () => {
    repo.publish(plain, await makeZip(files(3)));
    const first = await api<ArtifactInstallResponse>('POST', `/v1/nodes/${agent.nodeId}/artifacts`, {
      coordinate: plain,
    });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({
      node_id: agent.nodeId,
      coordinate: plain,
      files: 3,
      already_installed: false,
      path: join(dir, agent.nodeId, 'software/com.example/plain/1.0.0'),
    });
    expect(first.body.request_id).toMatch(/^[0-9a-f-]{36}$/);
    const again = await api<ArtifactInstallResponse>('POST', `/v1/nodes/${agent.nodeId}/artifacts`, {
      coordinate: plain,
    });
    expect(again.status).toBe(200);
    expect(again.body.already_installed).toBe(true);
  });

  it('streams progress as NDJSON, then the result', async () => {
    repo.publish(live, await makeZip(files(300)));
    const { type, lines } = await streamed(`/v1/nodes/${agent.nodeId}/artifacts?stream=1`, {
      coordinate: live,
    });
    expect(type).toMatch(/^application\/x-ndjson/);
    const last = lines.at(-1);
    expect(last).toMatchObject({ type: 'result', status: 201, result: { coordinate: live, files: 300 } });
    const progress = lines.filter((l) => l.type === 'progress');
    expect(progress.map((p) => p.stage)).toEqual(expect.arrayContaining(['accepted', 'started', 'progress']));
    expect(progress.some((p) => p.progress?.unit === 'entries' && p.progress.done === 300)).toBe(true);
  });

  it('streams a failure as the last line, with its status and code', async () => {
    const { lines } = await streamed(`/v1/nodes/${agent.nodeId}/artifacts?stream=1`, {
      coordinate: 'com.example:missing:1',
    });
    expect(lines.at(-1)).toMatchObject({ type: 'error', status: 404, error: { code: 'ARTIFACT_NOT_FOUND' } });
  });

  it('lists from the node, and the node detail shows the inventory', async () => {
    const listed = await api<ArtifactListResponse>('GET', `/v1/nodes/${agent.nodeId}/artifacts`);
    expect(listed.status).toBe(200);
    expect(listed.body.artifacts.map((a) => a.coordinate)).toEqual([live, plain]);
    await waitFor('the inventory to show both', async () =>
      (await nodeArtifacts()).length === 2 ? true : undefined,
    );
    expect(await nodeArtifacts()).toEqual([live, plain]);
  });

  it('removes, and the inventory follows', async () => {
    const removed = await api<ArtifactRemoveResponse>(
      'DELETE',
      `/v1/nodes/${agent.nodeId}/artifacts/${encodeURIComponent(plain)}`,
    );
    expect(removed.status).toBe(200);
    expect(removed.body).toMatchObject({ coordinate: plain, forced: false });
    const gone = await api<ErrorBody>('DELETE', `/v1/nodes/${agent.nodeId}/artifacts/${plain}`);
    expect([gone.status, gone.body.code]).toEqual([404, 'ARTIFACT_NOT_INSTALLED']);
    await waitFor('the inventory without it', async () =>
      (await nodeArtifacts()).length === 1 ? true : undefined,
    );
    expect(await nodeArtifacts()).toEqual([live]);
  });

  it.each([
    ['an invalid coordinate', { coordinate: 'com.example:../etc:1' }, 400, 'INVALID_COORDINATE'],
    ['a malformed sha256', { coordinate: 'a:b:1', sha256: 'xyz' }, 400, 'VALIDATION_FAILED'],
    ['a missing artifact', { coordinate: 'com.example:missing:1' }, 404, 'ARTIFACT_NOT_FOUND'],
    [
      'a wrong checksum',
      { coordinate: 'com.example:live:2.0.0', sha256: '0'.repeat(64) },
      502,
      'CHECKSUM_MISMATCH',
    ],
  ])('refuses %s', async (_what, body, status, code) => {
    const r = await api<ErrorBody>('POST', `/v1/nodes/${agent.nodeId}/artifacts`, body);
    expect([r.status, r.body.code]).toEqual([status, code]);
  });

  it('refuses nodes that cannot do it: offline (409) and Triton agents (400)', async () => {
    const offline = await api<ErrorBody>('POST', `/v1/nodes/${uniqueNodeId('nobody')}/artifacts?stream=1`, {
      coordinate: live,
    });
    expect([offline.status, offline.body.code]).toEqual([409, 'NODE_OFFLINE']);
    const triton = await api<ErrorBody>('GET', `/v1/nodes/${legacy.nodeId}/artifacts`);
    expect([triton.status, triton.body.code]).toEqual([400, 'UNKNOWN_TYPE']);
    expect(triton.body.message).toContain('Triton');
  });
});
