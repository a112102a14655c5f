import { chmod, lstat, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from '@ur/agent';
import type {
  ArtifactRemoveResult,
  ExecuteReply,
  Heartbeat,
  ProgressEvent,
  ServiceInfo,
  ServiceListResult,
  ServiceLogsResult,
  ServiceStartResult,
  ServiceStopResult,
} from '@ur/protocol';
import {
  ArtifactRepository,
  brokerUrl,
  deleteBrokerObjects,
  makeZip,
  sha256Hex,
  uniqueExchange,
  uniqueNodeId,
  waitFor,
  WireClient,
} from '@ur/testkit';
import {
  markedProcesses,
  serviceEvents,
  serviceZip,
  SERVICE_MANIFEST,
  uniqueMarker,
  waitForState,
} from './service-fixtures.js';

// A real agent (in this process) supervising real service processes, run as
// `nobody` (the tests run as root), talking over the real broker.
const exchange = uniqueExchange();
let dir: string;
let client: WireClient;
let repo: ArtifactRepository;
let agent: Agent;
let nodeId: string;
const ARTIFACT = 'com.example:svc:1.0.0';

const isRoot = process.getuid?.() === 0;

function newAgent(prefix: string, id: string): Agent {
  return new Agent({
    amqpUrl: brokerUrl(),
    exchange,
    nodeId: id,
    prefix,
    probeHardware: false,
    statusPort: 0,
    heartbeatIntervalMs: 500,
    artifacts: { repository: repo.url },
  });
}

async function exec(body: Record<string, unknown>, node = nodeId): Promise<ExecuteReply> {
  return (await client.execute(node, body, undefined, 30_000)).body as ExecuteReply;
}

async function ok<T>(body: Record<string, unknown>, node = nodeId): Promise<T> {
  const reply = await exec(body, node);
  if (reply.error) throw new Error(`${reply.error.code}: ${reply.error.message}`);
  return reply.result as T;
}

const status = (coordinate: string): Promise<ServiceInfo> => ok({ type: 'service.status', coordinate });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ur-services-'));
  // The services run as nobody, who must be able to reach their directories.
  await chmod(dir, 0o755);
  repo = await ArtifactRepository.start();
  repo.publish(ARTIFACT, await serviceZip());
  client = await WireClient.connect(brokerUrl(), exchange);
  await client.listen('ur.event.*.service');
  await client.listen('ur.heartbeat.*');
  await client.listen('ur.execute-progress.*.*');
  nodeId = uniqueNodeId('svc');
  agent = newAgent(join(dir, nodeId), nodeId);
  await agent.start();
  await ok({ type: 'artifact.install', coordinate: ARTIFACT });
});

afterAll(async () => {
  // Stopping the agent leaves services running (for the next agent): stop them first.
  for (const s of (await ok<ServiceListResult>({ type: 'service.list' })).services) {
    await exec({ type: 'service.stop', coordinate: s.coordinate });
  }
  await agent.stop();
  await client.close();
  await repo.close();
  await deleteBrokerObjects({ exchanges: [exchange] });
  await rm(dir, { recursive: true, force: true });
});

describe('a started service', () => {
  const coordinate = '1.myservice.borud.fbu';
  const marker = uniqueMarker();
  let started: ServiceStartResult;

  beforeAll(async () => {
    started = await ok({
      type: 'service.start',
      coordinate,
      artifact: ARTIFACT,
      options: { marker, port: 8080, nested: { a: 1 } },
    });
  });

  it('runs in its runtime directory (the coordinate reversed) with options.json, as an unprivileged user', async () => {
    expect(started).toMatchObject({
      coordinate,
      artifact: ARTIFACT,
      state: 'running',
      already_running: false,
    });
    const runtime = join(dir, nodeId, 'runtime', 'fbu', 'borud', 'myservice', '1');
    expect(started.runtime_dir).toBe(runtime);
    expect(started.software_dir).toBe(join(dir, nodeId, 'software', 'com.example', 'svc', '1.0.0'));
    expect(JSON.parse(await readFile(join(runtime, 'options.json'), 'utf8'))).toEqual({
      mode: 'serve',
      marker,
      port: 8080,
      nested: { a: 1 },
    });
    const cwd = await waitFor('the service wrote cwd.txt', () => readFile(join(runtime, 'cwd.txt'), 'utf8'));
    expect(cwd.trim()).toBe(runtime);
    expect(markedProcesses(marker)).toHaveLength(2);
    if (isRoot) expect((await readFile(join(runtime, 'uid.txt'), 'utf8')).trim()).toBe('65534');
  });

  it('cannot write to, or unseal, the software tree', async () => {
    const runtime = started.runtime_dir;
    await waitFor('the service tried', () => readFile(join(runtime, 'software-chmod.txt'), 'utf8'));
    expect((await readFile(join(runtime, 'software-write.txt'), 'utf8')).trim()).toBe('no');
    expect((await readFile(join(runtime, 'software-chmod.txt'), 'utf8')).trim()).toBe('no');
    expect(await readdir(started.software_dir)).not.toContain('written-by-service');
    expect((await stat(started.software_dir)).mode & 0o777).toBe(0o555);
  });

  it('published starting then running, and the heartbeat counts it', async () => {
    const events = serviceEvents(client, nodeId, coordinate);
    expect(events.slice(0, 2).map((e) => [e.from, e.to])).toEqual([
      [null, 'starting'],
      ['starting', 'running'],
    ]);
    expect(events[1]).toMatchObject({
      type: 'service',
      node_id: nodeId,
      artifact: ARTIFACT,
      pid: started.pid,
    });
    const beat = await client.waitFor(
      'a heartbeat counting it',
      (m) => m.routingKey === `ur.heartbeat.${nodeId}` && ((m.body as Heartbeat).services?.running ?? 0) >= 1,
    );
    expect((beat.body as Heartbeat).services?.running).toBeGreaterThanOrEqual(1);
    expect(agent.status().services).toContainEqual({ coordinate, state: 'running', pid: started.pid });
  });

  it('starting it again the same way is a no-op; with other options it is a conflict', async () => {
    const again = await ok<ServiceStartResult>({
      type: 'service.start',
      coordinate,
      artifact: ARTIFACT,
      options: { nested: { a: 1 }, port: 8080, marker },
    });
    expect(again).toMatchObject({ already_running: true, pid: started.pid });
    const other = await exec({
      type: 'service.start',
      coordinate,
      artifact: ARTIFACT,
      options: { marker: '1' },
    });
    expect(other.error?.code).toBe('SERVICE_CONFLICT');
    expect((await status(coordinate)).pid).toBe(started.pid);
  });

  it('keeps its artifact from being removed unless forced', async () => {
    const refused = await exec({ type: 'artifact.remove', coordinate: ARTIFACT });
    expect(refused.error?.code).toBe('ARTIFACT_IN_USE');
  });

  it('is restarted with backoff after kill -9, in a new process', async () => {
    const before = serviceEvents(client, nodeId, coordinate).length;
    process.kill(started.pid!, 'SIGKILL');
    const backoff = await waitForState(client, nodeId, coordinate, 'backoff', before);
    expect(backoff).toMatchObject({ from: 'running', signal: 'SIGKILL', exit_status: null });
    const running = await waitForState(client, nodeId, coordinate, 'running', before);
    expect(running.pid).not.toBe(started.pid);
    expect(running.restarts).toBe(1);
    const info = await status(coordinate);
    expect(info).toMatchObject({ state: 'running', restarts: 1, pid: running.pid });
    expect(info.last_exits.at(-1)).toMatchObject({ exit_status: null, signal: 'SIGKILL' });
    // The old child (SIGTERM-proof) went with its group before the restart; the new one runs.
    await waitFor('the new leader and child', () => markedProcesses(marker).length === 2);
    expect(markedProcesses(marker)).toHaveLength(2);
  });

  it('returns its last log lines', async () => {
    const logs = await ok<ServiceLogsResult>({ type: 'service.logs', coordinate, lines: 2 });
    expect(logs.lines).toHaveLength(2);
    expect(logs.lines.join('\n')).toMatch(/started pid \d+ mode serve/);
    const all = await ok<ServiceLogsResult>({ type: 'service.logs', coordinate });
    expect(all.lines.filter((l) => l.startsWith('started pid'))).toHaveLength(2);
  });

  it('follows its log as progress events with stream', async () => {
    const requestId = `follow-${Date.now()}`;
    const reply = client.execute(
      nodeId,
      { type: 'service.logs', coordinate, lines: 1, stream: true, timeout: 5 },
      requestId,
    );
    await waitFor('first output', () =>
      client.messages.some(
        (m) =>
          m.routingKey === `ur.execute-progress.${nodeId}.${requestId}` &&
          (m.body as ProgressEvent).stage === 'output',
      ),
    );
    // Something new: a restart writes a "started" line.
    const info = await status(coordinate);
    process.kill(info.pid!, 'SIGKILL');
    const body = (await reply).body as ExecuteReply;
    expect(body.error).toBeUndefined();
    const result = body.result as ServiceLogsResult;
    expect(result.followed_ms).toBeGreaterThanOrEqual(4000);
    const output = client.messages
      .filter((m) => m.routingKey === `ur.execute-progress.${nodeId}.${requestId}`)
      .map((m) => m.body as ProgressEvent)
      .filter((e) => e.stage === 'output')
      .map((e) => e.data)
      .join('');
    expect(output).toContain(result.lines[0]);
    expect(output.match(/started pid/g)?.length ?? 0).toBeGreaterThanOrEqual(1);
    await waitForState(
      client,
      nodeId,
      coordinate,
      'running',
      serviceEvents(client, nodeId, coordinate).length - 1,
    );
  });

  it('stops the whole process group: the SIGTERM-proof child is SIGKILLed after the stop timeout', async () => {
    await waitFor('running', async () => (await status(coordinate)).state === 'running');
    expect(markedProcesses(marker).length).toBeGreaterThanOrEqual(1);
    const stopped = await ok<ServiceStopResult>({ type: 'service.stop', coordinate });
    expect(stopped).toMatchObject({ state: 'stopped', desired: 'stopped', pid: null, forgotten: false });
    expect(markedProcesses(marker)).toEqual([]);
    const events = serviceEvents(client, nodeId, coordinate).slice(-2);
    expect(events.map((e) => e.to)).toEqual(['stopping', 'stopped']);
    // Stopped means no restarts, and the artifact is free again.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect((await status(coordinate)).state).toBe('stopped');
    expect(agent.status().services).toContainEqual({ coordinate, state: 'stopped', pid: null });
  });
});

describe('drain', () => {
  it('sends the drain signal; the service exits on its own and is not restarted', async () => {
    const coordinate = '1.drainee.ops.fbu';
    const marker = uniqueMarker();
    const started = await ok<ServiceStartResult>({
      type: 'service.start',
      coordinate,
      artifact: ARTIFACT,
      options: { marker },
    });
    await waitFor('the service is ready', () => readFile(join(started.runtime_dir, 'cwd.txt'), 'utf8'));
    const before = serviceEvents(client, nodeId, coordinate).length;
    const drained = await ok<ServiceInfo>({ type: 'service.drain', coordinate });
    expect(drained).toMatchObject({ state: 'stopped', desired: 'stopped', pid: null });
    expect(drained.last_exits.at(-1)).toMatchObject({ exit_status: 0, signal: null });
    const events = serviceEvents(client, nodeId, coordinate).slice(before);
    expect(events.map((e) => e.to)).toEqual(['draining', 'stopped']);
    const logs = await ok<ServiceLogsResult>({ type: 'service.logs', coordinate });
    expect(logs.lines).toEqual(expect.arrayContaining(['draining', 'drained']));
    expect(logs.lines).not.toContain('got TERM');
    // Its SIGTERM-proof child went with it.
    await waitFor('nothing left', () => markedProcesses(marker).length === 0);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect((await status(coordinate)).state).toBe('stopped');
    expect(
      serviceEvents(client, nodeId, coordinate)
        .slice(before)
        .map((e) => e.to),
    ).toEqual(['draining', 'stopped']);
  });

  it('says DRAIN_TIMEOUT when the service does not exit in time, and keeps draining', async () => {
    const coordinate = '2.drainee.ops.fbu';
    await ok({
      type: 'service.start',
      coordinate,
      artifact: ARTIFACT,
      options: { marker: uniqueMarker() },
      // SIGHUP: the shell's default action would end it, so trap it away.
      overrides: {
        command: 'sh',
        args: ['-c', "trap '' HUP; while :; do sleep 0.1; done"],
        drain_signal: 'SIGHUP',
      },
    });
    const reply = await exec({ type: 'service.drain', coordinate, drain_timeout: 0.5 });
    expect(reply.error?.code).toBe('DRAIN_TIMEOUT');
    expect((await status(coordinate)).state).toBe('draining');
    const stopped = await ok<ServiceStopResult>({ type: 'service.stop', coordinate, forget: true });
    expect(stopped).toMatchObject({ state: 'stopped', forgotten: true });
    expect((await exec({ type: 'service.status', coordinate })).error?.code).toBe('SERVICE_NOT_FOUND');
    expect(serviceEvents(client, nodeId, coordinate).at(-1)).toMatchObject({
      to: 'stopped',
      forgotten: true,
    });
  });
});

describe('a crash-looping service', () => {
  it('is restarted with growing delays, then marked failed with its last exits', async () => {
    const coordinate = '1.crasher.ops.fbu';
    await ok({
      type: 'service.start',
      coordinate,
      artifact: ARTIFACT,
      options: { mode: 'crash' },
      restart: { max_restarts: 2, window_s: 60, delay_s: 0.2, max_delay_s: 1 },
    });
    const failed = await waitForState(client, nodeId, coordinate, 'failed', 0, 20_000);
    expect(failed).toMatchObject({ exit_status: 3, restarts: 2 });
    const states = serviceEvents(client, nodeId, coordinate).map((e) => e.to);
    expect(states).toEqual([
      'starting',
      'running',
      'backoff',
      'starting',
      'running',
      'backoff',
      'starting',
      'running',
      'failed',
    ]);
    const info = await status(coordinate);
    expect(info).toMatchObject({ state: 'failed', desired: 'running', restarts: 2, pid: null });
    expect(info.last_exits.map((e) => e.exit_status)).toEqual([3, 3, 3]);
    // Failed: nothing restarts it, and the artifact is not in use.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(serviceEvents(client, nodeId, coordinate).at(-1)?.to).toBe('failed');
    // Starting it again resets the count.
    const restarted = await exec({ type: 'service.restart', coordinate });
    expect((restarted.result as ServiceStartResult | undefined)?.restarts ?? 0).toBe(0);
    await ok({ type: 'service.stop', coordinate, forget: true });
  });

  it('with on-failure, a clean exit is final (exited)', async () => {
    const coordinate = '1.oneshot.ops.fbu';
    await ok({
      type: 'service.start',
      coordinate,
      artifact: ARTIFACT,
      restart: { policy: 'on-failure' },
      overrides: { command: 'sh', args: ['-c', 'echo done'] },
    });
    const exited = await waitForState(client, nodeId, coordinate, 'exited');
    expect(exited).toMatchObject({ exit_status: 0, restarts: 0 });
    await ok({ type: 'service.stop', coordinate, forget: true });
  });

  it('a command that does not exist fails at once, without restarts', async () => {
    const reply = await exec({
      type: 'service.start',
      coordinate: '1.missing.ops.fbu',
      artifact: ARTIFACT,
      overrides: { command: 'bin/does-not-exist' },
    });
    expect(reply.error?.code).toBe('SERVICE_START_FAILED');
    expect(reply.error?.message).toContain('not found');
    expect((await status('1.missing.ops.fbu')).state).toBe('failed');
    await ok({ type: 'service.stop', coordinate: '1.missing.ops.fbu', forget: true });
  });
});

describe('health checks', () => {
  const server = (port: number): string[] => [
    '-e',
    `setTimeout(() => require('http').createServer((q, s) => s.end('ok')).listen(${port}, '127.0.0.1'), 300)`,
  ];

  it('keep a service starting until it answers', async () => {
    const { freePort } = await import('@ur/testkit');
    const port = await freePort();
    const coordinate = '1.web.ops.fbu';
    const started = await ok<ServiceStartResult>({
      type: 'service.start',
      coordinate,
      artifact: ARTIFACT,
      options: { port },
      overrides: {
        command: 'node',
        args: server(port),
        ports: { http: '{{options.port}}' },
        health: { type: 'http', port: '{{ports.http}}', path: '/', interval_s: 0.1 },
      },
    });
    expect(started).toMatchObject({ state: 'running', ports: { http: port } });
    expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toBe('ok');
    await ok({ type: 'service.stop', coordinate, forget: true });
  });

  it('fail the start when it never answers', async () => {
    const { freePort } = await import('@ur/testkit');
    const port = await freePort();
    const coordinate = '1.deaf.ops.fbu';
    const reply = await exec({
      type: 'service.start',
      coordinate,
      artifact: ARTIFACT,
      restart: { policy: 'never' },
      overrides: {
        command: 'sleep',
        args: ['30'],
        health: { type: 'tcp', port, interval_s: 0.1, timeout_s: 0.5 },
      },
    });
    expect(reply.error?.code).toBe('SERVICE_START_FAILED');
    expect(reply.error?.message).toContain('health check');
    expect((await status(coordinate)).state).toBe('exited');
    await ok({ type: 'service.stop', coordinate, forget: true });
  });
});

describe('pre-population', () => {
  const PREP = 'com.example:prep:1.0.0';
  let backup: Buffer;

  beforeAll(async () => {
    backup = await makeZip([
      { name: 'db/state.db', data: 'saved state\n' },
      { name: 'db/wal/0001', data: 'wal\n' },
    ]);
    repo.route('/backups/prep.zip', { kind: 'body', body: backup });
    repo.publish(
      PREP,
      await serviceZip(
        {
          ...SERVICE_MANIFEST,
          prepare: [
            { copy: 'conf/defaults.conf', to: 'conf/app.conf' },
            { template: 'conf/app.tmpl', to: 'app.conf' },
            { archive: '{{options.backup}}', sha256: '{{options.backup_sha256}}', to: 'data' },
          ],
        },
        [
          { name: 'conf/defaults.conf', data: 'defaults\n' },
          {
            name: 'conf/app.tmpl',
            data: 'port={{options.port}}\ninstance={{service.instance}}\ndir={{dirs.runtime}}\n',
          },
        ],
      ),
    );
    await ok({ type: 'artifact.install', coordinate: PREP });
  });

  it('copies files, renders templates and restores saved state before the first start; each step idempotent', async () => {
    const coordinate = '3.prep.ops.fbu';
    const options = {
      port: 7070,
      backup: `${repo.url}/backups/prep.zip`,
      backup_sha256: sha256Hex(backup),
      marker: uniqueMarker(),
    };
    const started = await ok<ServiceStartResult>({
      type: 'service.start',
      coordinate,
      artifact: PREP,
      options,
    });
    expect(started.prepared).toEqual([
      { step: 0, to: 'conf/app.conf', action: 'copied' },
      { step: 1, to: 'app.conf', action: 'rendered' },
      { step: 2, to: 'data', action: 'restored' },
    ]);
    const runtime = started.runtime_dir;
    expect(await readFile(join(runtime, 'conf/app.conf'), 'utf8')).toBe('defaults\n');
    expect(await readFile(join(runtime, 'app.conf'), 'utf8')).toBe(`port=7070\ninstance=3\ndir=${runtime}\n`);
    expect(await readFile(join(runtime, 'data/db/state.db'), 'utf8')).toBe('saved state\n');
    expect(await readFile(join(runtime, 'data/db/wal/0001'), 'utf8')).toBe('wal\n');
    if (isRoot) {
      // The service owns (and may change) what was put there for it.
      for (const path of ['conf/app.conf', 'app.conf', 'data/db/state.db', 'data', '.']) {
        expect([path, (await stat(join(runtime, path))).uid]).toEqual([path, 65534]);
      }
    }
    expect(repo.hits('/backups/prep.zip')).toBe(1);

    await writeFile(join(runtime, 'conf/app.conf'), 'changed by the service\n');
    const restarted = await ok<ServiceStartResult>({ type: 'service.restart', coordinate });
    expect(restarted.prepared.map((p) => p.action)).toEqual(['kept', 'rendered', 'kept']);
    expect(await readFile(join(runtime, 'conf/app.conf'), 'utf8')).toBe('changed by the service\n');
    expect(repo.hits('/backups/prep.zip')).toBe(1);

    // The service owns its directory and could plant symlinks: the agent (root) never follows them.
    await ok({ type: 'service.stop', coordinate });
    const elsewhere = await mkdtemp(join(dir, 'elsewhere-'));
    await writeFile(join(elsewhere, 'precious'), 'untouched\n');
    await rm(join(runtime, 'options.json'));
    await symlink(join(elsewhere, 'precious'), join(runtime, 'options.json'));
    await rm(join(runtime, 'conf'), { recursive: true });
    await symlink(elsewhere, join(runtime, 'conf'));
    const refused = await exec({ type: 'service.restart', coordinate });
    expect(refused.error?.code).toBe('PREPARE_FAILED');
    expect(refused.error?.message).toContain('conf is not a directory');
    expect(await readdir(elsewhere)).toEqual(['precious']);
    expect(await readFile(join(elsewhere, 'precious'), 'utf8')).toBe('untouched\n');
    // options.json was replaced (not written through the link).
    expect((await lstat(join(runtime, 'options.json'))).isFile()).toBe(true);
    await ok({ type: 'service.stop', coordinate, forget: true });
  });

  it('does not start the service when a step fails, and says which', async () => {
    const coordinate = '4.prep.ops.fbu';
    const reply = await exec({
      type: 'service.start',
      coordinate,
      artifact: PREP,
      options: { port: 1, backup: `${repo.url}/backups/prep.zip`, backup_sha256: 'ab'.repeat(32) },
    });
    expect(reply.error?.code).toBe('PREPARE_FAILED');
    expect(reply.error?.message).toMatch(/step 2 failed: CHECKSUM_MISMATCH/);
    expect((await exec({ type: 'service.status', coordinate })).error?.code).toBe('SERVICE_NOT_FOUND');
    const runtime = join(dir, nodeId, 'runtime', 'fbu', 'ops', 'prep', '4');
    expect(await readdir(runtime)).not.toContain('data');
    expect((await readdir(runtime)).filter((n) => n.startsWith('.ur-prepare-'))).toEqual([]);
    const missing = await exec({
      type: 'service.start',
      coordinate,
      artifact: PREP,
      options: { port: 1, backup: `${repo.url}/backups/none.zip`, backup_sha256: 'ab'.repeat(32) },
      overrides: { prepare: [{ copy: 'conf/missing.conf', to: 'x.conf' }] },
    });
    expect(missing.error).toMatchObject({ code: 'PREPARE_FAILED' });
    expect(missing.error?.message).toContain('conf/missing.conf is not in the artifact');
  });
});

describe('log rotation', () => {
  it('keeps disk use under the limit while the service writes as fast as it can', async () => {
    const coordinate = '1.chatty.ops.fbu';
    const maxBytes = 64 * 1024;
    const files = 2;
    const started = await ok<ServiceStartResult>({
      type: 'service.start',
      coordinate,
      artifact: ARTIFACT,
      options: { mode: 'spam' },
      overrides: { logs: { max_bytes: maxBytes, files } },
    });
    const logs = join(started.runtime_dir, 'logs');
    // The directory is made with the first write, which may come after the start's reply.
    await waitFor('the first log write', () => readdir(logs));
    let largest = 0;
    const deadline = Date.now() + 3_000;
    while (Date.now() < deadline) {
      let total = 0;
      for (const name of await readdir(logs))
        total += (await stat(join(logs, name)).catch(() => ({ size: 0 }))).size;
      largest = Math.max(largest, total);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await ok({ type: 'service.stop', coordinate, forget: true });
    const names = (await readdir(logs)).sort();
    expect(names).toEqual(['service.log', 'service.log.1', 'service.log.2']);
    expect(largest).toBeLessThanOrEqual(maxBytes * (files + 1));
    expect(largest).toBeGreaterThan(maxBytes * files);
    const tail = (await readFile(join(logs, 'service.log.1'), 'utf8')).split('\n');
    expect(tail[1]).toMatch(/^spam line \d+ x+$/);
  });
});

describe('artifact removal', () => {
  it('is allowed with force while a service uses the artifact', async () => {
    const FORCED = 'com.example:forced:1.0.0';
    repo.publish(FORCED, await serviceZip());
    await ok({ type: 'artifact.install', coordinate: FORCED });
    const coordinate = '1.forced.ops.fbu';
    await ok({ type: 'service.start', coordinate, artifact: FORCED, options: { marker: uniqueMarker() } });
    expect((await exec({ type: 'artifact.remove', coordinate: FORCED })).error?.code).toBe('ARTIFACT_IN_USE');
    const forced = await ok<ArtifactRemoveResult>({
      type: 'artifact.remove',
      coordinate: FORCED,
      force: true,
    });
    expect(forced.forced).toBe(true);
    await ok({ type: 'service.stop', coordinate, forget: true });
    // Not running: removable without force.
    await ok({ type: 'artifact.install', coordinate: FORCED });
    await ok({ type: 'service.start', coordinate, artifact: FORCED, options: { marker: uniqueMarker() } });
    await ok({ type: 'service.stop', coordinate });
    expect((await ok<ArtifactRemoveResult>({ type: 'artifact.remove', coordinate: FORCED })).forced).toBe(
      false,
    );
    const gone = await exec({ type: 'service.start', coordinate, artifact: FORCED });
    expect(gone.error?.code).toBe('ARTIFACT_NOT_INSTALLED');
    await ok({ type: 'service.stop', coordinate, forget: true });
  });
});

describe('requests the agent refuses', () => {
  it.each([
    [
      { type: 'service.start', coordinate: '1.bad/x.ops.fbu', artifact: ARTIFACT },
      'INVALID_SERVICE_COORDINATE',
    ],
    [{ type: 'service.start', coordinate: '1.x.ops.fbu', artifact: 'a b:c:d' }, 'INVALID_COORDINATE'],
    [{ type: 'service.stop', coordinate: '9.nobody.ops.fbu' }, 'SERVICE_NOT_FOUND'],
    [{ type: 'service.logs', coordinate: '9.nobody.ops.fbu' }, 'SERVICE_NOT_FOUND'],
    [
      {
        type: 'service.start',
        coordinate: '1.x.ops.fbu',
        artifact: ARTIFACT,
        overrides: { args: ['{{options.nope}}'] },
      },
      'INVALID_SERVICE_SPEC',
    ],
  ])('%j → %s', async (body, code) => {
    expect((await exec(body)).error?.code).toBe(code);
  });
});
