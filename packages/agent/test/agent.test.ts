import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqplib from 'amqplib';
import { Agent } from '@ur/agent';
import type { ExecuteReply, Heartbeat, PingAck, ProgressEvent, Sysinfo } from '@ur/protocol';
import {
  brokerUrl,
  closeConnections,
  consumerCounts,
  deleteBrokerObjects,
  recordingLogger,
  uniqueExchange,
  uniqueNodeId,
  waitFor,
  WireClient,
} from '@ur/testkit';

const exchange = uniqueExchange();
let prefix: string;
let client: WireClient;
const agents: Agent[] = [];

async function startAgent(
  nodeId = uniqueNodeId(),
  extra: ConstructorParameters<typeof Agent>[0] = {},
): Promise<Agent> {
  const agent = new Agent({
    amqpUrl: brokerUrl(),
    exchange,
    nodeId,
    prefix: join(prefix, nodeId),
    heartbeatIntervalMs: 200,
    probeHardware: false,
    reconnectMaxDelayMs: 500,
    statusPort: 0,
    rebootCommand: `touch ${join(prefix, nodeId, 'rebooted')}`,
    ...extra,
  });
  agents.push(agent);
  await agent.start();
  return agent;
}

beforeAll(async () => {
  prefix = await mkdtemp(join(tmpdir(), 'ur-agent-test-'));
  client = await WireClient.connect(brokerUrl(), exchange);
  await client.listen('ur.#');
});

afterAll(async () => {
  await Promise.all(agents.map((a) => a.stop()));
  await client.close();
  await deleteBrokerObjects({ exchanges: [exchange] });
  await rm(prefix, { recursive: true, force: true });
});

const replyOf = (m: { body: unknown }): ExecuteReply => m.body as ExecuteReply;

/** Pids of this process's children running the hardware probe (it loads systeminformation). */
function probeChildren(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(ppid) !== process.pid || state === 'Z') continue;
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes('systeminformation'))
        pids.push(Number(entry));
    } catch {
      // Gone meanwhile.
    }
  }
  return pids;
}

describe('agent on a real broker', () => {
  let agent: Agent;
  beforeAll(async () => {
    agent = await startAgent();
  });

  it('announces itself with Triton-style sysinfo and our agent info', async () => {
    const startup = await client.waitFor('startup', (m) => m.routingKey === `ur.startup.${agent.nodeId}`);
    const sysinfo = startup.body as Sysinfo;
    expect(sysinfo.UUID).toBe(agent.nodeId);
    expect(typeof sysinfo['CPU Total Cores']).toBe('number');
    expect(sysinfo['MiB of Memory']).toMatch(/^\d+$/);
    expect(sysinfo['Ur Agent']?.capabilities).toEqual(expect.arrayContaining(['script', 'file']));
    expect(startup.properties.contentType).toBe('application/json');
    await client.waitFor('sysinfo', (m) => m.routingKey.startsWith(`ur.sysinfo.${agent.nodeId}.`));
  });

  it('sends heartbeats with a growing sequence number', async () => {
    const beats = await waitFor('two heartbeats', () => {
      const b = client.messages.filter((m) => m.routingKey === `ur.heartbeat.${agent.nodeId}`);
      return b.length >= 2 ? b : undefined;
    });
    const [first, second] = beats.map((b) => b.body as Heartbeat);
    expect(second!.seq).toBe(first!.seq + 1);
    expect(first!.load).toHaveLength(3);
  });

  it('runs a script sent as Ur would and replies with exit status and output', async () => {
    const reply = await client.execute(
      agent.nodeId,
      { type: 'script', script: 'echo out; echo err >&2; exit 3' },
      'r-1',
    );
    expect(replyOf(reply)).toMatchObject({
      exit_status: 3,
      stdout: 'out\n',
      stderr: 'err\n',
      timed_out: false,
    });
    expect(reply.properties).toMatchObject({
      contentType: 'application/json',
      correlationId: 'r-1',
      deliveryMode: 2,
      type: 'execute-reply',
    });
    expect(reply.properties.appId).toMatch(/^ur-agent\//);
  });

  it('runs a file with arguments, stdin and a replaced environment', async () => {
    const reply = await client.execute(agent.nodeId, {
      type: 'file',
      file: '/bin/sh',
      args: ['-c', 'read x; echo "$x $0 [$A][$HOME]"', 'arg0'],
      stdin: 'hello\n',
      env: { A: 'b' },
    });
    expect(replyOf(reply).stdout).toBe('hello arg0 [b][]\n');
  });

  it.each([
    ['not json at all', 'INVALID_JSON'],
    [{ type: 'launch-missiles' }, 'UNKNOWN_TYPE'],
    [{ type: 'script' }, 'INVALID_REQUEST'],
    [{ type: 'script', script: 'true', env: { A: 1 } }, 'INVALID_REQUEST'],
    [{ type: 'file', file: '/no/such/file' }, 'FILE_NOT_FOUND'],
    [{ type: 'script', script: 'true', cwd: '/no/such/dir' }, 'CWD_NOT_FOUND'],
  ])('answers %j with an error reply %s instead of silence', async (body, code) => {
    const reply = replyOf(await client.execute(agent.nodeId, body));
    expect(reply.error?.code).toBe(code);
    expect(reply.exit_status).not.toBe(0);
  });

  it('kills a command at its timeout and says so', async () => {
    const reply = replyOf(
      await client.execute(agent.nodeId, { type: 'script', script: 'sleep 30', timeout: 0.3 }),
    );
    expect(reply).toMatchObject({
      timed_out: true,
      signal: 'SIGTERM',
      exit_status: 143,
      error: { code: 'TIMED_OUT' },
    });
  });

  it('streams progress events while a request with stream: true runs', async () => {
    const id = 'streamed-1';
    await client.listen(`ur.execute-progress.${agent.nodeId}.*`);
    const reply = await client.execute(
      agent.nodeId,
      { type: 'script', script: 'echo one; sleep 0.3; echo two >&2', stream: true },
      id,
    );
    expect(replyOf(reply)).toMatchObject({ stdout: 'one\n', stderr: 'two\n' });
    const events = client.messages
      .filter((m) => m.routingKey === `ur.execute-progress.${agent.nodeId}.${id}`)
      .map((m) => m.body as ProgressEvent);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i));
    expect(events.slice(0, 2).map((e) => e.stage)).toEqual(['accepted', 'started']);
    const output = events.filter((e) => e.stage === 'output');
    expect(output.map((e) => [e.stream, e.data])).toEqual([
      ['stdout', 'one\n'],
      ['stderr', 'two\n'],
    ]);
    // Every progress event was published before the reply.
    expect(
      Math.max(
        ...client.messages.filter((m) => m.routingKey.includes(id) && m !== reply).map((m) => m.receivedAt),
      ),
    ).toBeLessThanOrEqual(reply.receivedAt);
  });

  it('answers pings on ur.ack<client_id>.<node> like Ur', async () => {
    client.publish(`ur.ping.${agent.nodeId}`, { client_id: 'tester1', id: 'p-9' });
    const ack = await client.waitFor('ack', (m) => m.routingKey === `ur.acktester1.${agent.nodeId}`);
    expect((ack.body as PingAck).req_id).toBe('p-9');
  });

  it('answers broadcast sysinfo and broadcast ping', async () => {
    await client.listen('ur.execute-reply.*.*');
    client.publish('ur.broadcast.sysinfo.b-1', {});
    const info = await client.waitFor(
      'sysinfo reply',
      (m) => m.routingKey === `ur.execute-reply.${agent.nodeId}.b-1`,
    );
    expect((info.body as Sysinfo).UUID).toBe(agent.nodeId);
    client.publish('ur.broadcast.ping.b-2', {});
    const pong = await client.waitFor(
      'ping reply',
      (m) => m.routingKey === `ur.execute-reply.${agent.nodeId}.b-2`,
    );
    expect(replyOf(pong).exit_status).toBe(0);
  });

  it('probes the hardware after announcing itself, and kills the probe when stopped before it finished', async () => {
    const lines: string[] = [];
    const nodeId = uniqueNodeId();
    const agent = await startAgent(nodeId, { probeHardware: true, logger: recordingLogger(lines) });
    await waitFor('the hardware probe to start', () => probeChildren().length > 0, 10_000, 5);
    await agent.stop();
    expect(lines.filter((l) => l.includes('hardware probe'))).toEqual([
      expect.stringContaining('debug hardware probe stopped with the agent'),
    ]);
    await waitFor('the probe to be gone', () => probeChildren().length === 0);
  });

  it('replies success to exit status 113, then runs the reboot command', async () => {
    const reply = replyOf(await client.execute(agent.nodeId, { type: 'script', script: 'exit 113' }));
    expect(reply).toMatchObject({ exit_status: 0, reboot: true });
    const marker = join(prefix, agent.nodeId, 'rebooted');
    await waitFor('reboot command', () => existsSync(marker));
  });
});

describe('agent and the broker connection', () => {
  it('runs requests published while its connection was down, after reconnecting', async () => {
    const agent = await startAgent();
    await client.waitFor('startup', (m) => m.routingKey === `ur.startup.${agent.nodeId}`);
    await client.listen(`ur.execute-reply.${agent.nodeId}.*`);
    expect(await closeConnections(`ur-agent ${agent.nodeId}`)).toBe(1);
    client.publish(`ur.execute.${agent.nodeId}.during-outage`, { type: 'script', script: 'echo survived' });
    const reply = await client.waitFor(
      'reply',
      (m) => m.routingKey === `ur.execute-reply.${agent.nodeId}.during-outage`,
    );
    expect(replyOf(reply).stdout).toBe('survived\n');
    await waitFor('reconnected', () => agent.status().connected);
    const sysinfos = client.messages.filter((m) => m.routingKey.startsWith(`ur.sysinfo.${agent.nodeId}.`));
    expect(sysinfos.length).toBeGreaterThanOrEqual(2); // announced again after the reconnect
  });

  it('delivers the reply of a command that was running while the connection dropped', async () => {
    const agent = await startAgent();
    await client.listen(`ur.execute-reply.${agent.nodeId}.*`);
    client.publish(`ur.execute.${agent.nodeId}.long`, { type: 'script', script: 'sleep 1; echo finished' });
    await waitFor('command running', () => agent.status().running === 1);
    await closeConnections(`ur-agent ${agent.nodeId}`);
    const reply = await client.waitFor(
      'reply',
      (m) => m.routingKey === `ur.execute-reply.${agent.nodeId}.long`,
    );
    expect(replyOf(reply).stdout).toBe('finished\n');
  });

  it('stops gracefully: says ur.shutdown and new requests become unroutable', async () => {
    // An exchange of its own, where nothing but the agent is bound.
    const ownExchange = uniqueExchange();
    const agent = await startAgent(uniqueNodeId(), { exchange: ownExchange });
    const watcher = await WireClient.connect(brokerUrl(), ownExchange);
    await watcher.listen('ur.shutdown.*');
    await agent.stop();
    await watcher.waitFor('shutdown', (m) => m.routingKey === `ur.shutdown.${agent.nodeId}`);
    await watcher.close();
    const connection = await amqplib.connect(brokerUrl());
    try {
      const ch = await connection.createConfirmChannel();
      let returned = false;
      ch.on('return', () => {
        returned = true;
      });
      ch.publish(ownExchange, `ur.execute.${agent.nodeId}.after-stop`, Buffer.from('{}'), {
        mandatory: true,
      });
      await ch.waitForConfirms();
      expect(returned).toBe(true);
    } finally {
      await connection.close();
      await deleteBrokerObjects({ exchanges: [ownExchange] });
    }
  });

  it('lets a running command finish and sends its reply during a graceful stop', async () => {
    const agent = await startAgent();
    await client.listen(`ur.execute-reply.${agent.nodeId}.*`);
    client.publish(`ur.execute.${agent.nodeId}.slow`, { type: 'script', script: 'sleep 0.5; echo done' });
    await waitFor('command running', () => agent.status().running === 1);
    await agent.stop();
    const reply = await client.waitFor(
      'reply',
      (m) => m.routingKey === `ur.execute-reply.${agent.nodeId}.slow`,
    );
    expect(replyOf(reply).stdout).toBe('done\n');
  });

  it('keeps one consumer per queue after reconnects', async () => {
    const agent = await startAgent();
    for (let i = 0; i < 3; i++) {
      await closeConnections(`ur-agent ${agent.nodeId}`);
      await waitFor('reconnected', () => agent.status().connected, 10_000);
    }
    const counts = await consumerCounts(agent.nodeId);
    expect(counts.get(agent.requestQueue)).toBe(1);
    expect(counts.get(agent.liveQueue)).toBe(1);
  });

  it('writes scripts to private files and removes them', async () => {
    const agent = await startAgent();
    const reply = replyOf(
      await client.execute(agent.nodeId, { type: 'script', script: 'stat -c %a "$0"; echo "$0"' }),
    );
    const [mode, path] = reply.stdout.trim().split('\n');
    expect(mode).toBe('700');
    await expect(readFile(path!)).rejects.toThrow(/ENOENT/);
  });

  it('replies normally to a script that removes its own file', async () => {
    const agent = await startAgent();
    const reply = replyOf(
      await client.execute(agent.nodeId, { type: 'script', script: 'rm "$0" && echo gone' }),
    );
    expect(reply.exit_status).toBe(0);
    expect(reply.stdout).toBe('gone\n');
  });
});
