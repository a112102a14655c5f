import { spawn } from 'node:child_process';
import { chmod, lstat, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from '@ur/agent';
import type { ExecuteReply, ServiceInfo, ServiceLogsResult, ServiceStartResult } from '@ur/protocol';
import {
  ArtifactRepository,
  brokerUrl,
  deleteBrokerObjects,
  uniqueExchange,
  uniqueNodeId,
  waitFor,
  WireClient,
} from '@ur/testkit';
import {
  markedProcesses,
  serviceEvents,
  serviceZip,
  uniqueMarker,
  waitForState,
} from './service-fixtures.js';

// Agents come and go on one prefix; the services they supervise stay.
const exchange = uniqueExchange();
const ARTIFACT = 'com.example:svc:1.0.0';
let dir: string;
let prefix: string;
let client: WireClient;
let repo: ArtifactRepository;
let agent: Agent | undefined;
const nodeId = uniqueNodeId('adopt');

async function startAgent(): Promise<Agent> {
  const a = new Agent({
    amqpUrl: brokerUrl(),
    exchange,
    nodeId,
    prefix,
    probeHardware: false,
    statusPort: 0,
    artifacts: { repository: repo.url },
  });
  await a.start();
  agent = a;
  return a;
}

async function ok<T>(body: Record<string, unknown>): Promise<T> {
  const reply = (await client.execute(nodeId, body, undefined, 30_000)).body as ExecuteReply;
  if (reply.error) throw new Error(`${reply.error.code}: ${reply.error.message}`);
  return reply.result as T;
}

const status = (coordinate: string): Promise<ServiceInfo> => ok({ type: 'service.status', coordinate });

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const recordPath = (coordinate: string): string => join(prefix, 'state', 'services', `${coordinate}.json`);

/** A service that writes a numbered line every 50 ms. */
const TICKER = {
  command: 'sh',
  args: ['-c', 'i=0; while :; do echo "tick $i"; i=$((i+1)); sleep 0.05; done'],
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ur-adopt-'));
  await chmod(dir, 0o755);
  prefix = join(dir, nodeId);
  repo = await ArtifactRepository.start();
  repo.publish(ARTIFACT, await serviceZip());
  client = await WireClient.connect(brokerUrl(), exchange);
  await client.listen(`ur.event.${nodeId}.service`);
  await startAgent();
  await ok({ type: 'artifact.install', coordinate: ARTIFACT });
});

afterAll(async () => {
  if (agent) {
    for (const c of ['1.ticker.ops.fbu', '1.serve.ops.fbu', '1.sneaky.ops.fbu']) {
      await client.execute(nodeId, { type: 'service.stop', coordinate: c }).catch(() => undefined);
    }
    await agent.stop();
  }
  await client.close();
  await repo.close();
  await deleteBrokerObjects({ exchanges: [exchange] });
  await rm(dir, { recursive: true, force: true });
});

describe('services across agent restarts', () => {
  const coordinate = '1.ticker.ops.fbu';
  let pid: number;

  it('keep running when the agent stops, and the next agent adopts them without a restart or lost output', async () => {
    const started = await ok<ServiceStartResult>({
      type: 'service.start',
      coordinate,
      artifact: ARTIFACT,
      overrides: TICKER,
    });
    pid = started.pid!;
    await agent!.stop();
    agent = undefined;
    expect(alive(pid)).toBe(true);
    // Output written meanwhile waits in the pipe.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const before = serviceEvents(client, nodeId, coordinate).length;
    await startAgent();
    const info = await status(coordinate);
    expect(info).toMatchObject({ state: 'running', pid, restarts: 0 });
    expect(serviceEvents(client, nodeId, coordinate)[before]).toMatchObject({
      from: null,
      to: 'running',
      pid,
    });

    await new Promise((resolve) => setTimeout(resolve, 300));
    const logs = await ok<ServiceLogsResult>({ type: 'service.logs', coordinate, lines: 10_000 });
    const ticks = logs.lines.map((l) => Number(/^tick (\d+)$/.exec(l)?.[1]));
    expect(ticks.length).toBeGreaterThan(20);
    // Every line, in order: nothing lost while no agent was reading.
    expect(ticks).toEqual(ticks.map((_, i) => ticks[0]! + i));
  });

  it('supervises the adopted process again: killed, it is restarted', async () => {
    const before = serviceEvents(client, nodeId, coordinate).length;
    process.kill(pid, 'SIGKILL');
    const backoff = await waitForState(client, nodeId, coordinate, 'backoff', before);
    // Not our child: how it ended is unknown.
    expect(backoff).toMatchObject({ from: 'running', exit_status: null, signal: null });
    const running = await waitForState(client, nodeId, coordinate, 'running', before);
    expect(running.pid).not.toBe(pid);
    pid = running.pid!;
    expect((await status(coordinate)).restarts).toBe(1);
  });

  it('never adopts a pid that another process has since taken', async () => {
    await agent!.stop();
    agent = undefined;
    process.kill(-pid, 'SIGKILL');
    await waitFor('the service gone', () => !alive(pid));
    // Another process, leading its own group, with the recorded pid as far as the record knows.
    const marker = uniqueMarker();
    const stranger = spawn('sleep', [marker], { detached: true, stdio: 'ignore' });
    const strangerPid = stranger.pid!;
    const record = JSON.parse(await readFile(recordPath(coordinate), 'utf8')) as { process: { pid: number } };
    record.process.pid = strangerPid;
    await writeFile(recordPath(coordinate), JSON.stringify(record));
    try {
      const before = serviceEvents(client, nodeId, coordinate).length;
      await startAgent();
      const running = await waitForState(client, nodeId, coordinate, 'running', before);
      expect(running.pid).not.toBe(strangerPid);
      expect(serviceEvents(client, nodeId, coordinate).slice(before, before + 1)).toMatchObject([
        { from: null, to: 'backoff' },
      ]);
      // Left alone: not adopted, not signalled.
      expect(alive(strangerPid)).toBe(true);
      expect(markedProcesses(marker)).toEqual([strangerPid]);
      expect((await status(coordinate)).last_exits.at(-1)).toMatchObject({ exit_status: null, signal: null });
    } finally {
      stranger.kill('SIGKILL');
    }
  });

  it('after a reboot (another boot id) starts what should run, and leaves stopped services stopped', async () => {
    const stopped = '1.serve.ops.fbu';
    await ok({
      type: 'service.start',
      coordinate: stopped,
      artifact: ARTIFACT,
      options: { marker: uniqueMarker() },
    });
    await ok({ type: 'service.stop', coordinate: stopped });
    const { pid: old } = await status(coordinate);
    await agent!.stop();
    agent = undefined;
    // A reboot ends every process and changes the boot id.
    process.kill(-old!, 'SIGKILL');
    for (const c of [coordinate, stopped]) {
      const record = JSON.parse(await readFile(recordPath(c), 'utf8')) as { bootId: string };
      record.bootId = 'an-earlier-boot';
      await writeFile(recordPath(c), JSON.stringify(record));
    }
    const before = serviceEvents(client, nodeId, coordinate).length;
    await startAgent();
    const running = await waitForState(client, nodeId, coordinate, 'running', before);
    expect(serviceEvents(client, nodeId, coordinate)[before]).toMatchObject({ from: null, to: 'starting' });
    expect(running.pid).not.toBe(old);
    expect(await status(coordinate)).toMatchObject({ state: 'running', restarts: 0 });
    expect(await status(stopped)).toMatchObject({ state: 'stopped', pid: null });
  });

  it('writes its logs where the service cannot redirect them, even across agent restarts', async () => {
    const coordinate2 = '1.sneaky.ops.fbu';
    const elsewhere = join(dir, 'elsewhere');
    await mkdir(elsewhere, { mode: 0o700 });
    const started = await ok<ServiceStartResult>({
      type: 'service.start',
      coordinate: coordinate2,
      artifact: ARTIFACT,
      overrides: {
        command: 'sh',
        args: [
          '-c',
          `echo first; sleep 0.3; mv logs logs.mine && ln -s ${elsewhere} logs; i=0; while :; do echo "tick $i"; i=$((i+1)); sleep 0.05; done`,
        ],
      },
    });
    const runtime = started.runtime_dir;
    await waitFor('the swap', async () =>
      (await lstat(join(runtime, 'logs')).catch(() => undefined))?.isSymbolicLink(),
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(
      (await ok<ServiceLogsResult>({ type: 'service.logs', coordinate: coordinate2, lines: 1 })).lines[0],
    ).toMatch(/^tick \d+$/);
    // A new agent finds the link, moves it aside and makes a logs directory of its own.
    await agent!.stop();
    agent = undefined;
    await startAgent();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await lstat(join(runtime, 'logs'))).isDirectory()).toBe(true);
    expect((await readdir(runtime)).filter((n) => n.startsWith('logs.replaced-'))).toHaveLength(1);
    expect(
      (await ok<ServiceLogsResult>({ type: 'service.logs', coordinate: coordinate2, lines: 1 })).lines[0],
    ).toMatch(/^tick \d+$/);
    expect(await readdir(elsewhere)).toEqual([]);
    await ok({ type: 'service.stop', coordinate: coordinate2, forget: true });
  });
});
