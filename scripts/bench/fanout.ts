import { join } from 'node:path';
import type { JobDetail, JobSummary, NodeList } from '@ur/protocol';
import { freePort, type StartedProcess } from '@ur/testkit';
import type { BenchContext } from './context.js';
import { fanoutBroker } from './fanout-broker.js';
import { startHeadnodeProcess } from './processes.js';
import { startSimulatedNodes } from './sim.js';
import { median } from './stats.js';
import { WireDriver } from './wire-driver.js';

export interface FanoutFigures {
  pingMs: Record<string, number>;
  trueMs: Record<string, number>;
  notes: string[];
}

const ROUNDS = 5;

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
 * N simulated nodes (real Agent instances in one child process) and a real
 * headnode: a broadcast ping answered by all (on the wire, as MCollective's
 * ping), and a `/bin/true` job on every node through `POST /v1/jobs`, timed
 * until the job has every node's result recorded. Medians of a few rounds.
 */
export async function measureFanout(ctx: BenchContext, sizes: number[]): Promise<FanoutFigures> {
  const figures: FanoutFigures = { pingMs: {}, trueMs: {}, notes: [] };
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
  const headnode: StartedProcess = await startHeadnodeProcess({
    url: ctx.url,
    exchange,
    db: join(ctx.dir, `fanout-${n}.db`),
    port,
    queue: `ur.headnode.${ctx.tag}.n${n}`,
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
    const ping: number[] = [];
    const jobs: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      let t = performance.now();
      await driver.broadcast('ping', n);
      ping.push(performance.now() - t);
      t = performance.now();
      const job = await api<JobSummary>(base, '/v1/jobs', {
        target: 'all',
        command: { type: 'file', file: '/bin/true' },
      });
      for (;;) {
        const state = await api<JobDetail>(base, `/v1/jobs/${job.id}?output=false`);
        if (state.state !== 'running') {
          if (state.counts.succeeded !== n) throw new Error(`job ${job.id}: ${JSON.stringify(state.counts)}`);
          break;
        }
        await new Promise((r) => setTimeout(r, 5));
      }
      jobs.push(performance.now() - t);
    }
    figures.pingMs[n] = median(ping);
    figures.trueMs[n] = median(jobs);
  } finally {
    await driver.close();
    await nodes.stop();
    await headnode.stop();
  }
}
