import { readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NodeDetail, ServiceInfo, ServiceStartResponse } from '@ur/protocol';
import {
  ArtifactRepository,
  brokerUrl,
  deleteBrokerObjects,
  freePort,
  markedProcesses,
  serviceZip,
  startProcess,
  uniqueMarker,
  uniqueNodeId,
  waitFor,
  type StartedProcess,
} from '@ur/testkit';
import { AGENT_LAUNCH, HEADNODE_BIN, URCTL_BIN, run } from './bins.js';

// Real ur-agent, ur-headnode and urctl processes: services outlive a SIGKILLed agent.
const ARTIFACT = 'com.example:svc:1.0.0';
const COORDINATE = '1.web.ops.e2e';
let dir: string;
let repo: ArtifactRepository;
let headnodeUrl: string;
const queue = `ur.headnode.${uniqueNodeId('e2e-svc')}`;
const node = uniqueNodeId('svc');
const marker = uniqueMarker();
const processes: StartedProcess[] = [];
let agentProcess: StartedProcess;

function startAgent(): StartedProcess {
  const agent = startProcess(
    'node',
    [
      ...AGENT_LAUNCH,
      '--node-id',
      node,
      '--prefix',
      join(dir, node),
      '--status-port',
      'off',
      '--heartbeat-interval',
      '1',
      '--artifact-repo',
      repo.url,
    ],
    { UR_AMQP_URL: brokerUrl() },
  );
  processes.push(agent);
  agentProcess = agent;
  return agent;
}

const urctl = (...args: string[]) => run('node', [URCTL_BIN, ...args], { UR_HEADNODE_URL: headnodeUrl });

async function urctlJson<T>(...args: string[]): Promise<T> {
  const result = await urctl(...args, '--json');
  if (result.code !== 0) throw new Error(`urctl ${args.join(' ')}: ${result.code} ${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}

const status = (): Promise<ServiceInfo> => urctlJson('services', 'status', COORDINATE, '--node', node);

/** Running (a zombie is not: adopted processes are reaped by init, which may be slow here). */
const alive = (pid: number): boolean => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ur-e2e-services-'));
  await chmod(dir, 0o755);
  repo = await ArtifactRepository.start();
  repo.publish(ARTIFACT, await serviceZip());
  const port = await freePort();
  headnodeUrl = `http://127.0.0.1:${port}`;
  const headnode = startProcess(
    'node',
    [HEADNODE_BIN, '--listen', `127.0.0.1:${port}`, '--db', join(dir, 'headnode.db'), '--queue', queue],
    { UR_AMQP_URL: brokerUrl() },
  );
  processes.push(headnode);
  await headnode.waitForOutput('headnode listening');
  await startAgent().waitForOutput('agent started');
  await waitFor('the node in the inventory', async () => (await urctl('node', 'show', node)).code === 0);
  const installed = await urctl('artifacts', 'install', ARTIFACT, '--node', node);
  expect(installed.code).toBe(0);
});

afterAll(async () => {
  for (const c of [COORDINATE, '2.stubborn.ops.e2e']) await urctl('services', 'stop', c, '--node', node);
  await Promise.all(processes.map((p) => p.stop('SIGKILL')));
  for (const pid of markedProcesses(marker)) process.kill(pid, 'SIGKILL');
  await repo.close();
  await deleteBrokerObjects({ queues: [queue, `ur.request.${node}`] });
  await rm(dir, { recursive: true, force: true });
});

describe('urctl services against real processes', () => {
  let pid: number;

  it('starts a service and lists it', async () => {
    const started = await urctl(
      'services',
      'start',
      COORDINATE,
      '--node',
      node,
      '--artifact',
      ARTIFACT,
      '--options',
      JSON.stringify({ marker }),
      '--option',
      'port=8080',
    );
    expect(started.code).toBe(0);
    expect(started.stdout).toMatch(
      new RegExp(`^started ${COORDINATE} on ${ARTIFACT}: running, pid \\d+ in .*/runtime/e2e/ops/web/1`),
    );
    const listed = await urctl('services', 'list', '--node', node);
    expect(listed.stdout).toMatch(/COORDINATE\s+STATE\s+SINCE\s+PID\s+RESTARTS\s+ARTIFACT/);
    expect(listed.stdout).toContain(COORDINATE);
    const info = await status();
    expect(info).toMatchObject({ state: 'running', options: { marker, port: 8080 } });
    pid = info.pid!;
    // Starting it again the same way changes nothing.
    const again = await urctlJson<ServiceStartResponse>(
      'services',
      'start',
      COORDINATE,
      '--node',
      node,
      '--artifact',
      ARTIFACT,
      '--options',
      JSON.stringify({ marker, port: 8080 }),
    );
    expect(again).toMatchObject({ already_running: true, pid });
    const conflict = await urctl('services', 'start', COORDINATE, '--node', node, '--artifact', ARTIFACT);
    expect(conflict.code).toBe(75);
    expect(conflict.stderr).toMatch(/^urctl: SERVICE_CONFLICT: /);
  });

  it('survives a SIGKILLed agent: the next agent adopts it (same pid, no restart) and supervises it again', async () => {
    const agent = agentProcess;
    agent.child.kill('SIGKILL');
    await agent.exited;
    expect(alive(pid)).toBe(true);
    const second = startAgent();
    await second.waitForOutput('agent started');
    expect(second.output()).toContain('adopted the running service');
    const info = await status();
    expect(info).toMatchObject({ state: 'running', pid, restarts: 0 });
    const shown = await urctl('node', 'show', node);
    expect(shown.stdout).toMatch(
      new RegExp(`services:\\n  ${COORDINATE.replaceAll('.', '\\.')} running since`),
    );

    process.kill(pid, 'SIGKILL');
    const restarted = await waitFor('restarted by the new agent', async () => {
      const now = await status();
      return now.state === 'running' && now.pid !== pid ? now : undefined;
    });
    expect(restarted.restarts).toBe(1);
    expect(restarted.last_exits.at(-1)).toMatchObject({ exit_status: null, signal: null });
    pid = restarted.pid!;
    // The inventory has it from the events.
    await waitFor('the inventory', async () => {
      const detail = JSON.parse((await urctl('node', 'show', node, '--json')).stdout) as NodeDetail;
      return detail.services[0]?.pid === pid;
    });
  });

  it('prints its logs, and follows them', async () => {
    const logs = await urctl('services', 'logs', COORDINATE, '--node', node, '-n', '50');
    expect(logs.code).toBe(0);
    expect(logs.stdout.match(/^started pid \d+ mode serve uid 65534$/gm)?.length).toBeGreaterThanOrEqual(2);
    const followed = await urctl(
      'services',
      'logs',
      COORDINATE,
      '--node',
      node,
      '-n',
      '1',
      '-f',
      '--timeout',
      '1',
    );
    expect(followed.code).toBe(0);
    expect(followed.stdout).toBe('ready\n');
  });

  it('drains, restarts and stops it; nothing of it is left', async () => {
    const drained = await urctl('services', 'drain', COORDINATE, '--node', node);
    expect(drained.code).toBe(0);
    expect(drained.stdout).toBe(`drained ${COORDINATE} on ${node}: stopped (exit status 0)\n`);
    const restarted = await urctl('services', 'restart', COORDINATE, '--node', node);
    expect(restarted.code).toBe(0);
    expect(restarted.stdout).toMatch(/^restarted .*: running, pid \d+\n$/);
    await waitFor('its child', () => markedProcesses(marker).length === 2);
    const stopped = await urctl('services', 'stop', COORDINATE, '--node', node);
    expect(stopped.code).toBe(0);
    expect(markedProcesses(marker)).toEqual([]);
    const missing = await urctl('services', 'status', '9.none.ops.e2e', '--node', node);
    expect(missing.code).toBe(66);
    expect(missing.stderr).toMatch(/^urctl: SERVICE_NOT_FOUND: /);
    const bad = await urctl('services', 'status', 'not-a-coordinate', '--node', node);
    expect(bad.code).toBe(64);
  });

  it('answers INTERRUPTED for a service request the killed agent was running, and leaves the service alone', async () => {
    const coordinate = '2.stubborn.ops.e2e';
    // It ignores its drain signal, so the drain request is still waiting when the agent dies.
    const started = await urctlJson<ServiceStartResponse>(
      'services',
      'start',
      coordinate,
      '--node',
      node,
      '--artifact',
      ARTIFACT,
      '--overrides',
      JSON.stringify({
        command: 'sh',
        args: ['-c', "trap '' HUP; while :; do sleep 0.1; done"],
        drain_signal: 'SIGHUP',
      }),
    );
    const drain = fetch(`${headnodeUrl}/v1/nodes/${node}/services/${coordinate}/drain`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ drain_timeout: 600, timeout: 60 }),
    });
    await waitFor(
      'draining',
      async () =>
        (await urctlJson<ServiceInfo>('services', 'status', coordinate, '--node', node)).state === 'draining',
    );
    agentProcess.child.kill('SIGKILL');
    await agentProcess.exited;
    const next = startAgent();
    await next.waitForOutput('agent started');
    const answer = (await (await drain).json()) as { code: string; message: string };
    expect(answer.code).toBe('INTERRUPTED');
    // Command recovery killed nothing of the service: same process, still draining.
    expect(alive(started.pid!)).toBe(true);
    expect(await urctlJson<ServiceInfo>('services', 'status', coordinate, '--node', node)).toMatchObject({
      state: 'draining',
      pid: started.pid,
    });
    const stopped = await urctl('services', 'stop', coordinate, '--node', node, '--forget');
    expect(stopped.code).toBe(0);
    expect(alive(started.pid!)).toBe(false);
  });
});
