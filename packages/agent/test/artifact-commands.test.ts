import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from '@ur/agent';
import type {
  ArtifactInstallResult,
  ArtifactListResult,
  ArtifactRemoveResult,
  ExecuteReply,
  ProgressEvent,
  Sysinfo,
} from '@ur/protocol';
import {
  ArtifactRepository,
  brokerUrl,
  deleteBrokerObjects,
  makeZip,
  uniqueExchange,
  uniqueNodeId,
  waitFor,
  WireClient,
} from '@ur/testkit';

const exchange = uniqueExchange();
let dir: string;
let client: WireClient;
let repo: ArtifactRepository;
let agent: Agent;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ur-agent-artifacts-'));
  repo = await ArtifactRepository.start();
  client = await WireClient.connect(brokerUrl(), exchange);
  await client.listen('ur.#');
  const nodeId = uniqueNodeId();
  agent = new Agent({
    amqpUrl: brokerUrl(),
    exchange,
    nodeId,
    prefix: join(dir, nodeId),
    probeHardware: false,
    artifacts: { repository: repo.url, idleTimeoutMs: 30_000 },
  });
  await agent.start();
});

afterAll(async () => {
  await agent.stop();
  await client.close();
  await repo.close();
  await deleteBrokerObjects({ exchanges: [exchange] });
  await rm(dir, { recursive: true, force: true });
});

const reply = async (body: unknown, requestId?: string): Promise<ExecuteReply> =>
  (await client.execute(agent.nodeId, body, requestId)).body as ExecuteReply;

const announcedArtifacts = (m: { routingKey: string; body: unknown }): string[] | undefined =>
  m.routingKey.startsWith(`ur.sysinfo.${agent.nodeId}.`)
    ? ((m.body as Sysinfo)['Ur Artifacts'] ?? []).map((a) => a.coordinate)
    : undefined;

describe('artifact commands on a real agent and broker', () => {
  const coordinate = 'com.example:hello:1.0.0';

  it('installs with progress events, announces the new inventory, and the program runs', async () => {
    const files = Array.from({ length: 50 }, (_, i) => ({ name: `share/f${i}`, data: `file ${i}\n` }));
    repo.publish(
      coordinate,
      await makeZip([{ name: 'bin/hello', data: '#!/bin/sh\necho "hello $1"\n', mode: 0o100755 }, ...files]),
    );
    const sent = Date.now();
    const r = await reply({ type: 'artifact.install', coordinate, stream: true }, 'install-1');
    expect(r.exit_status).toBe(0);
    expect(r.stdout).toContain(`installed ${coordinate}`);
    const result = r.result as ArtifactInstallResult;
    expect(result).toMatchObject({ coordinate, files: 51, already_installed: false });

    const events = client.messages
      .filter((m) => m.routingKey === `ur.execute-progress.${agent.nodeId}.install-1`)
      .map((m) => m.body as ProgressEvent);
    expect(events.map((e) => e.stage).slice(0, 2)).toEqual(['accepted', 'started']);
    const units = events.filter((e) => e.stage === 'progress').map((e) => e.progress?.unit);
    expect(units).toContain('entries');
    expect(events.find((e) => e.progress?.unit === 'entries' && e.progress.done === 51)).toBeDefined();

    await client.waitFor(
      'sysinfo with the artifact',
      (m) => m.receivedAt >= sent && (announcedArtifacts(m) ?? []).includes(coordinate),
    );

    const run = await reply({ type: 'file', file: join(result.path, 'bin/hello'), args: ['world'] });
    expect(run).toMatchObject({ exit_status: 0, stdout: 'hello world\n' });
  });

  it('lists what is installed, and reinstalling is a no-op', async () => {
    const listed = (await reply({ type: 'artifact.list' })).result as ArtifactListResult;
    expect(listed.artifacts.map((a) => a.coordinate)).toEqual([coordinate]);
    const again = await reply({ type: 'artifact.install', coordinate });
    expect(again.exit_status).toBe(0);
    expect((again.result as ArtifactInstallResult).already_installed).toBe(true);
    expect(again.stdout).toMatch(/^already installed/);
  });

  it('reports failures with their codes, as Ur-style replies', async () => {
    const bad = await reply({ type: 'artifact.install', coordinate: 'com.example:../x:1' });
    expect(bad).toMatchObject({ exit_status: 1, error: { code: 'INVALID_COORDINATE' } });
    expect(bad.stderr).toContain("artifactId contains '..'");
    const missing = await reply({ type: 'artifact.install', coordinate: 'com.example:nothing:9' });
    expect(missing.error?.code).toBe('ARTIFACT_NOT_FOUND');
    const notThere = await reply({ type: 'artifact.remove', coordinate: 'com.example:nothing:9' });
    expect(notThere.error?.code).toBe('ARTIFACT_NOT_INSTALLED');
  });

  it('stops an install at its timeout and keeps nothing', async () => {
    const slow = 'com.example:slow:1.0.0';
    const zip = await makeZip([{ name: 'big', data: Buffer.alloc(1_000_000, 1), compress: false }]);
    const path = repo.publish(slow, zip, false);
    repo.route(path, { kind: 'stall', body: zip, after: 1000 });
    const r = await reply({ type: 'artifact.install', coordinate: slow, timeout: 1 });
    expect(r).toMatchObject({ exit_status: 1, timed_out: true, error: { code: 'TIMED_OUT' } });
    const listed = (await reply({ type: 'artifact.list' })).result as ArtifactListResult;
    expect(listed.artifacts.map((a) => a.coordinate)).toEqual([coordinate]);
  });

  it('removes, and announces the inventory without it', async () => {
    const sent = Date.now();
    const r = await reply({ type: 'artifact.remove', coordinate });
    expect(r.exit_status).toBe(0);
    expect((r.result as ArtifactRemoveResult).coordinate).toBe(coordinate);
    await client.waitFor(
      'sysinfo without the artifact',
      (m) => m.receivedAt >= sent && announcedArtifacts(m)?.length === 0,
    );
    await waitFor('an empty list', async () => {
      const listed = (await reply({ type: 'artifact.list' })).result as ArtifactListResult;
      return listed.artifacts.length === 0 ? true : undefined;
    });
  });
});
