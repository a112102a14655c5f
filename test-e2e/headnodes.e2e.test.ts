import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CommandRecord, ExecuteResponse, NodeList, NodeTransitionList } from '@ur/protocol';
import {
  brokerUrl,
  createTestDatabase,
  deleteBrokerObjects,
  freePort,
  startProcess,
  uniqueExchange,
  uniqueNodeId,
  waitFor,
  type StartedProcess,
  type TestDatabase,
} from '@ur/testkit';
import { AGENT_LAUNCH, HEADNODE_BIN } from './bins.js';

// Two ur-headnode processes on one PostgreSQL database and one broker, with
// five ur-agent processes: what running several headnodes promises.
const exchange = uniqueExchange();
const queue = `ur.headnode.${exchange}`;
const nodes = Array.from({ length: 5 }, () => uniqueNodeId('multi'));
// The tests expect no node to flap. With 1 s, a node turned suspect after a 2 s gap, which a
// CI machine under load produced.
const HEARTBEAT_SECONDS = '2';
let dir: string;
let database: TestDatabase;
interface RunningHeadnode {
  process: StartedProcess;
  url: string;
}
const headnodes: RunningHeadnode[] = [];
const agents: StartedProcess[] = [];

async function startHeadnode(): Promise<RunningHeadnode> {
  // freePort() can race with other processes on this machine: try another port then.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const process = startProcess(
      'node',
      [
        HEADNODE_BIN,
        '--listen',
        `127.0.0.1:${port}`,
        '--db',
        database.url,
        '--exchange',
        exchange,
        '--queue',
        queue,
        '--queue-expiry',
        '120',
        '--heartbeat-interval',
        HEARTBEAT_SECONDS,
        '--down-after',
        '10',
        '--lease-ttl',
        '2',
        '--default-timeout',
        '5',
      ],
      { UR_AMQP_URL: brokerUrl() },
    );
    try {
      await process.waitForOutput('headnode listening', 20_000);
      return { process, url: `http://127.0.0.1:${port}` };
    } catch (err) {
      if (attempt >= 3 || !process.output().includes('EADDRINUSE')) throw err;
    }
  }
}

async function get<T>(base: string, path: string): Promise<T> {
  const response = await fetch(`${base}${path}`);
  if (!response.ok) throw new Error(`GET ${path}: HTTP ${response.status}`);
  return (await response.json()) as T;
}

/** Runs a script on a node through one headnode; undefined if that headnode could not answer. */
async function exec(base: string, node: string, script: string): Promise<ExecuteResponse | undefined> {
  try {
    const response = await fetch(`${base}/v1/nodes/${node}/execute`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'script', script }),
    });
    if (response.status !== 200) throw new Error(`HTTP ${response.status}: ${await response.text()}`);
    return (await response.json()) as ExecuteResponse;
  } catch (err) {
    // fetch's TypeError comes from another realm than the test's: compare names.
    if ((err as Error).name === 'TypeError') return undefined; // connection refused or reset: the headnode is gone
    throw err;
  }
}

const readyOn = async (base: string): Promise<boolean> => {
  const list = await get<NodeList>(
    base,
    `/v1/nodes?where=${encodeURIComponent(`${nodes.join(',')} status=ready`)}`,
  );
  return list.total === nodes.length;
};

/** Commands recorded for our nodes, as any headnode sees them. */
async function recorded(base: string): Promise<CommandRecord[]> {
  const lists = await Promise.all(
    nodes.map((n) => get<{ commands: CommandRecord[] }>(base, `/v1/commands?node_id=${n}&limit=1000`)),
  );
  return lists.flatMap((l) => l.commands);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ur-headnodes-'));
  database = await createTestDatabase('ur_e2e');
  // One after the other: both run the migrations, the second finds them done.
  headnodes.push(await startHeadnode());
  headnodes.push(await startHeadnode());
  for (const id of nodes) {
    agents.push(
      startProcess(
        'node',
        [
          ...AGENT_LAUNCH,
          '--node-id',
          id,
          '--prefix',
          join(dir, id),
          '--exchange',
          exchange,
          '--heartbeat-interval',
          HEARTBEAT_SECONDS,
          '--reboot-command',
          'true',
        ],
        { UR_AMQP_URL: brokerUrl() },
      ),
    );
  }
  for (const h of headnodes)
    await waitFor('all agents ready on both headnodes', () => readyOn(h.url), 20_000, 100);
}, 60_000);

afterAll(async () => {
  await Promise.all(agents.map((a) => a.stop()));
  await Promise.all(headnodes.map((h) => h.process.stop()));
  await database?.drop();
  await deleteBrokerObjects({ queues: [queue], exchanges: [exchange] });
  await rm(dir, { recursive: true, force: true });
});

describe('two headnodes on one PostgreSQL and one broker', () => {
  it('answer commands through either, whichever consumed the reply, and agree on the record', async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => {
        const via = headnodes[i % 2]!;
        return exec(via.url, nodes[i % nodes.length]!, `echo call-${i}`).then((r) => ({ i, via, r }));
      }),
    );
    for (const { i, r } of results) expect(r?.stdout).toBe(`call-${i}\n`);
    const [a, b] = headnodes as [RunningHeadnode, RunningHeadnode];
    const records = await waitFor('all recorded', async () => {
      const all = await recorded(a.url);
      return all.filter((c) => c.status === 'done').length >= 20 ? all : undefined;
    });
    // The shared queue hands replies to both headnodes; some came back through the other one.
    const crossed = records.filter((c) => c.recorded_by !== c.issued_by);
    expect(crossed.length).toBeGreaterThan(0);
    expect(await recorded(b.url)).toEqual(records);
    // One registration and one transition per node, though both headnodes consumed announcements.
    for (const id of nodes) {
      const { transitions } = await get<NodeTransitionList>(b.url, `/v1/nodes/${id}/transitions`);
      expect(transitions.map((t) => [t.from, t.to])).toEqual([[null, 'ready']]);
    }
  });

  it('keeps serving when one is SIGKILLed during a stream of commands: every command has exactly one result', async () => {
    const [victim, survivor] = headnodes as [RunningHeadnode, RunningHeadnode];
    // The first headnode started holds the liveness lease.
    await victim.process.waitForOutput('evaluating liveness');
    // Which headnode id the victim records as issuer, to recognise its commands in the shared store.
    const probe = await exec(victim.url, nodes[0]!, 'echo probe');
    const victimId = (await recorded(survivor.url)).find(
      (c) => c.request_id === probe?.request_id,
    )?.issued_by;
    expect(victimId).toBeDefined();
    const outcomes: { token: string; via: string; reply: ExecuteResponse | undefined }[] = [];
    let next = 0;
    const total = 60;
    // The kill waits until the victim has a command out that the node has not answered yet, so some
    // callers are certain to lose their answer (killing at a fixed count could land between commands).
    let inFlightAtKill: string[] = [];
    const killer = async (): Promise<void> => {
      await waitFor('20 commands sent', () => next >= 20, 20_000, 10);
      const pending = await waitFor(
        'a command of the victim in flight',
        async () => {
          const sent = (await recorded(survivor.url)).filter(
            (c) => c.status === 'sent' && c.issued_by === victimId,
          );
          return sent.length > 0 ? sent : undefined;
        },
        20_000,
        10,
      );
      inFlightAtKill = pending.map((c) => c.request_id);
      void victim.process.stop('SIGKILL');
    };
    const killed = killer();
    // Six callers, each sending its next command as soon as the last one returns.
    const worker = async (): Promise<void> => {
      while (next < total) {
        const n = next++;
        const via = n % 2 === 0 ? victim.url : survivor.url;
        const node = nodes[n % nodes.length]!;
        const token = `t${n}`;
        const reply = await exec(
          via,
          node,
          `sleep 0.3; echo ${token} >> ${join(dir, 'ran.log')}; echo ${token}`,
        );
        outcomes.push({ token, via, reply });
      }
    };
    await Promise.all([killed, ...Array.from({ length: 6 }, worker)]);
    expect(inFlightAtKill.length).toBeGreaterThan(0);
    expect(await victim.process.exited).toBeNull(); // killed by the signal

    // The survivor answered everything sent to it.
    const throughSurvivor = outcomes.filter((o) => o.via === survivor.url);
    expect(throughSurvivor).toHaveLength(total / 2);
    for (const o of throughSurvivor) expect(o.reply?.stdout).toBe(`${o.token}\n`);

    // Every command either headnode recorded ends with exactly one result, including those the
    // victim sent and never answered: their replies were consumed and recorded by the survivor.
    const records = await waitFor(
      'every command finished',
      async () => {
        const all = await recorded(survivor.url);
        return all.every((c) => c.status !== 'sent') ? all : undefined;
      },
      45_000,
      250,
    );
    const ids = records.map((c) => c.request_id);
    expect(new Set(ids).size).toBe(ids.length);
    const ran = (await readFile(join(dir, 'ran.log'), 'utf8')).trim().split('\n');
    expect(new Set(ran).size).toBe(ran.length); // nothing ran twice
    const done = records.filter((c) => c.status === 'done' && c.reply?.stdout.startsWith('t'));
    expect(done.map((c) => c.reply?.stdout.trim()).sort()).toEqual([...ran].sort()); // what ran is what was recorded
    for (const o of outcomes) {
      if (!o.reply) continue;
      const record = records.find((c) => c.request_id === o.reply?.request_id);
      expect(record).toMatchObject({ status: 'done', reply: { stdout: `${o.token}\n` } });
    }
    // Some were in flight through the victim when it died: their callers got no answer, yet they are recorded.
    const answered = new Set(outcomes.map((o) => o.reply?.request_id));
    const orphans = done.filter((c) => !answered.has(c.request_id));
    expect(orphans.length).toBeGreaterThan(0);
    for (const id of inFlightAtKill) expect(records.find((c) => c.request_id === id)?.status).toBe('done');

    // Liveness carries on: the survivor takes over the evaluation, nodes stay ready, nothing flapped.
    await survivor.process.waitForOutput('evaluating liveness', 10_000);
    await waitFor('nodes still ready', () => readyOn(survivor.url), 10_000);
    const after = await exec(survivor.url, nodes[0]!, 'echo after');
    expect(after?.stdout).toBe('after\n');
    for (const id of nodes) {
      const { transitions } = await get<NodeTransitionList>(survivor.url, `/v1/nodes/${id}/transitions`);
      expect(transitions.map((t) => t.to)).toEqual(['ready']);
    }
  });
});
