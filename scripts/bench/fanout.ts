import { join } from 'node:path';
import type { JobDetail, JobSummary, NodeList } from '@ur/protocol';
import { readSse } from '@ur/protocol/wire';
import { freePort, type StartedProcess } from '@ur/testkit';
import type { BenchContext } from './context.js';
import {
  busyPercent,
  cpuSnapshot,
  difference,
  scaleShares,
  sumShares,
  type CpuShares,
} from './cpu-accounting.js';
import { fanoutBroker } from './fanout-broker.js';
import { startHeadnodeProcess } from './processes.js';
import { startSimulatedNodes } from './sim.js';
import { median } from './stats.js';
import { WireDriver } from './wire-driver.js';

export interface FanoutFigures {
  pingMs: Record<string, number>;
  trueMs: Record<string, number>;
  /** CPU per node of the `/bin/true` jobs, by whom (mean over the rounds). */
  trueCpuMs: Record<string, CpuShares>;
  /** How busy the machine's cores were while those jobs ran, in percent. */
  trueBusyPct: Record<string, number>;
  /** The same while the fleet idles (heartbeats, the broker's upkeep of N connections). */
  idleBusyPct: Record<string, number>;
  /** Who keeps the idle fleet's cores busy: percent of one core by role. */
  idleCpuPct: Record<string, CpuShares>;
  notes: string[];
}

/** Rounds of the /bin/true job per size; pings are cheap, so more of them make a steadier median. */
const ROUNDS = 5;
const PING_ROUNDS = 30;
const PING_WARMUP = 50;
/** How long the idle fleet is watched, once ready and before the pings (`--quick`: 1 s). */
const IDLE_MS = 3_000;
const QUICK_IDLE_MS = 1_000;
/** Quiet enough for the jobs: at most this many points above the idle fleet's load. */
const QUIET_MARGIN_PCT = 10;

async function api<T>(base: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${base}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? null : JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

/**
 * Waits for a job as a provisioning script would: following its event
 * stream until job.completed, rather than polling a 1,000-node job detail
 * (which would load the headnode being measured).
 */
async function jobCompletion(base: string, jobId: string): Promise<JobDetail['counts']> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(new Error(`job ${jobId} did not complete`)), 120_000);
  try {
    const response = await fetch(`${base}/v1/jobs/${jobId}/events`, {
      signal: abort.signal,
      headers: { accept: 'text/event-stream' },
    });
    if (!response.ok || response.body === null) throw new Error(`job events: HTTP ${response.status}`);
    for await (const message of readSse(response.body)) {
      if (message.event === 'job.completed') {
        return (JSON.parse(message.data) as { data: { counts: JobDetail['counts'] } }).data.counts;
      }
    }
    throw new Error(`job ${jobId}: the event stream ended without job.completed`);
  } finally {
    clearTimeout(timer);
    abort.abort();
  }
}

/**
 * N simulated nodes (real Agent instances, 100 to a child process) and a real
 * headnode: a broadcast ping answered by all (on the wire, as MCollective's
 * ping), and a `/bin/true` job on every node through `POST /v1/jobs`, timed
 * until the job has every node's result recorded. Medians of a few rounds.
 */
export async function measureFanout(ctx: BenchContext, sizes: number[]): Promise<FanoutFigures> {
  const figures: FanoutFigures = {
    pingMs: {},
    trueMs: {},
    trueCpuMs: {},
    trueBusyPct: {},
    idleBusyPct: {},
    idleCpuPct: {},
    notes: [],
  };
  // One broker for every size, so the sizes compare with each other.
  const broker = await fanoutBroker(ctx, Math.max(...sizes));
  if (broker.note) figures.notes.push(broker.note);
  try {
    for (const n of sizes) await measureOne({ ...ctx, url: broker.url }, n, figures);
  } finally {
    await broker.stop();
  }
  return figures;
}

async function measureOne(ctx: BenchContext, n: number, figures: FanoutFigures): Promise<void> {
  const exchange = `${ctx.exchange}.n${n}`;
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const queue = `ur.headnode.${ctx.tag}.n${n}`;
  const headnode: StartedProcess = await startHeadnodeProcess({
    url: ctx.url,
    exchange,
    db: join(ctx.dir, `fanout-${n}.db`),
    port,
    queue,
  });
  ctx.log(`fan-out: starting ${n} simulated nodes`);
  const nodes = await startSimulatedNodes({
    url: ctx.url,
    exchange,
    count: n,
    prefix: join(ctx.dir, `fanout-${n}`),
    idPrefix: `${ctx.tag}-f${n}`,
  });
  const driver = await WireDriver.connect(ctx.url, exchange);
  try {
    const deadline = Date.now() + 60_000;
    while ((await api<NodeList>(base, '/v1/nodes?where=status%3Dready&limit=1')).total < n) {
      if (Date.now() > deadline) throw new Error(`only some of ${n} nodes became ready`);
      await new Promise((r) => setTimeout(r, 100));
    }
    await driver.listen('ur.execute-reply.*.*');
    // The fleet's own load (heartbeats, the broker's upkeep of N connections),
    // before anything is asked of it.
    const roots = { headnode: headnode.child.pid!, agents: nodes.pids };
    const idleMs = ctx.quick ? QUICK_IDLE_MS : IDLE_MS;
    const idleFrom = cpuSnapshot(roots);
    await new Promise((r) => setTimeout(r, idleMs));
    const idle = difference(idleFrom, cpuSnapshot(roots));
    figures.idleBusyPct[n] = busyPercent(idle, idleMs);
    figures.idleCpuPct[n] = scaleShares(idle, 100 / idleMs);
    // Pings first, on a quiet fleet: right after a job, the agents and the
    // headnode are still busy with its aftermath (journals, events), and a
    // ping timed then measured that, not the ping. The warm-up lets V8
    // compile the hot paths of long-running processes: the first ~50 rounds
    // at N=100 took ~40 ms, later ones ~30 ms.
    const ping: number[] = [];
    for (let round = 0; round < PING_WARMUP; round++) await driver.broadcast('ping', n);
    for (let round = 0; round < PING_ROUNDS; round++) {
      const t = performance.now();
      await driver.broadcast('ping', n);
      ping.push(performance.now() - t);
    }
    // Every ping reply also lands in the headnode's durable queue (it takes
    // all replies, and drops those to requests nobody issued): 80,000
    // persistent messages at 1,000 nodes. The jobs wait until that queue is
    // empty and the machine about as quiet as before the pings: the broker
    // kept a core busy for ~9 s after them, and jobs timed then measured
    // the pings' aftermath.
    const drainFrom = performance.now();
    while ((await driver.queueDepth(queue)) > 0) {
      if (performance.now() - drainFrom > 120_000) throw new Error(`${queue} did not drain`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const quietPct = figures.idleBusyPct[n] + QUIET_MARGIN_PCT;
    for (let busy = Infinity; busy > quietPct;) {
      if (performance.now() - drainFrom > 120_000) {
        ctx.log(`fan-out: still ${Math.round(busy)} % busy after the pings; timing the jobs anyway`);
        break;
      }
      const from = cpuSnapshot(roots);
      await new Promise((r) => setTimeout(r, 1_000));
      busy = busyPercent(difference(from, cpuSnapshot(roots)), 1_000);
    }
    const settleMs = performance.now() - drainFrom;
    if (settleMs > 1_500)
      ctx.log(`fan-out: ${Math.round(settleMs)} ms after the pings until the machine was quiet`);
    const jobs: number[] = [];
    // What the machine does while each job runs, by process: on one box the
    // broker, the headnode, every agent and every command share its cores,
    // so a job whose cores are all busy goes no faster without less CPU.
    const spent: CpuShares[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const before = cpuSnapshot(roots);
      const t = performance.now();
      const job = await api<JobSummary>(base, '/v1/jobs', {
        target: 'all',
        command: { type: 'file', file: '/bin/true' },
      });
      const counts = await jobCompletion(base, job.id);
      jobs.push(performance.now() - t);
      spent.push(difference(before, cpuSnapshot(roots)));
      if (counts.succeeded !== n) throw new Error(`job ${job.id}: ${JSON.stringify(counts)}`);
    }
    const total = sumShares(spent);
    figures.trueCpuMs[n] = scaleShares(total, 1 / (ROUNDS * n));
    const wallMs = jobs.reduce((sum, ms) => sum + ms, 0);
    figures.trueBusyPct[n] = busyPercent(total, wallMs);
    figures.pingMs[n] = median(ping);
    figures.trueMs[n] = median(jobs);
  } finally {
    await driver.close();
    await nodes.stop();
    await headnode.stop();
  }
}
