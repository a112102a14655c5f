// npm run bench [-- --quick] [-- --only wire,api]: measures speed, scale and
// footprint against the machine's physical floor, in one run so ratios hold.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import amqplib from 'amqplib';
import { measureApi } from './api.js';
import { benchArtifactInstall } from './artifact-install.js';
import type { BenchContext } from './context.js';
import { measureFanout } from './fanout.js';
import { measureFloor } from './floor.js';
import { measureFootprint } from './footprint.js';
import { ROOT } from './processes.js';
import { cpuNotes, emptyFigures, table, writeResults, type Figures } from './report.js';
import { measureStorm } from './storm.js';
import { measureWire } from './wire.js';

const SECTIONS = ['floor', 'wire', 'api', 'fanout', 'storm', 'footprint', 'artifact'] as const;
type Section = (typeof SECTIONS)[number];

const { values } = parseArgs({
  options: { quick: { type: 'boolean', default: false }, only: { type: 'string' } },
});
const quick = values.quick ?? false;
const only = new Set((values.only?.split(',') ?? SECTIONS) as Section[]);
const url = process.env.UR_AMQP_URL ?? process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const tag = `bench${randomBytes(3).toString('hex')}`;
const dir = await mkdtemp(join(tmpdir(), 'ur-bench-'));
const ctx: BenchContext = {
  url,
  exchange: `ur.${tag}`,
  dir,
  tag,
  quick,
  log: (m) => process.stderr.write(`bench: ${m}\n`),
};
const figures: Figures = emptyFigures();
/** Anything a reader of the figures must know about how they were taken. */
const notes: string[] = [];
const startedAt = new Date();

async function section(name: Section, run: () => Promise<void>): Promise<void> {
  if (!only.has(name)) return;
  ctx.log(`${name}...`);
  const t = performance.now();
  try {
    await run();
  } catch (err) {
    ctx.log(`${name} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  }
  ctx.log(`${name} done in ${((performance.now() - t) / 1000).toFixed(1)} s`);
}

try {
  await section('floor', async () => {
    const floor = await measureFloor(url, 300);
    figures.floor_amqp_rtt_ms = floor.amqpRttMs;
    figures.floor_spawn_ms = floor.spawnMs;
    figures.floor_spawn_rps_50 = floor.spawnRps50;
    figures.floor_exec_cpu_ms = floor.execCpuMs;
  });
  await section('wire', async () => {
    const wire = await measureWire(ctx);
    figures.wire_p50_ms = wire.p50;
    figures.wire_p90_ms = wire.p90;
    figures.wire_p99_ms = wire.p99;
    figures.wire_rps_50 = wire.rps50;
    figures.wire_cpu_ms = wire.cpuPerRequestMs;
    figures.wire_busy_pct = wire.busyPct;
  });
  await section('api', async () => {
    const api = await measureApi(ctx);
    figures.api_p50_ms = api.p50;
    figures.api_p99_ms = api.p99;
  });
  await section('fanout', async () => {
    const fanout = await measureFanout(ctx, quick ? [100] : [10, 100, 1000]);
    figures.fanout_ping_ms = fanout.pingMs;
    figures.fanout_true_ms = fanout.trueMs;
    figures.fanout_true_cpu_ms = fanout.trueCpuMs;
    figures.fanout_true_busy_pct = fanout.trueBusyPct;
    figures.fanout_idle_busy_pct = fanout.idleBusyPct;
    figures.fanout_idle_cpu_pct = fanout.idleCpuPct;
    notes.push(...fanout.notes);
  });
  if (!quick) {
    await section('storm', async () => {
      const storm = await measureStorm(ctx, 10_000, 20);
      figures.storm_10000_ms = storm.stormMs;
      figures.headnode_10k_cpu_pct = storm.headnodeCpuPct;
      figures.headnode_10k_rss_mib = storm.headnodeRssMiB;
    });
  }
  if (!quick) {
    await section('artifact', async () => {
      const artifact = await benchArtifactInstall({ url, dir, log: (m) => ctx.log(m) });
      figures.artifact_vs_unzip_ratio = artifact.ratio;
    });
  }
  await section('footprint', async () => {
    const f = await measureFootprint(ctx);
    figures.agent_startup_ms = f.startupMs;
    figures.agent_rss_mib = f.rssAfterStartMiB;
    figures.agent_rss_after_1000_mib = f.rssAfter1000MiB;
    figures.agent_rss_settled_mib = f.rssSettledMiB;
    figures.agent_rss_after_idle_1000_mib = f.rssAfterIdleBurstMiB;
    figures.spawn_helper_rss_mib = f.helperRssMiB;
    figures.agent_idle_cpu_pct = f.idleCpuPct;
  });
} finally {
  await cleanup();
  await rm(dir, { recursive: true, force: true });
}

const out = join(ROOT, 'bench-results.json');
writeResults(out, figures, notes, quick, startedAt);
const printed = [...cpuNotes(figures).map((n) => `cpu: ${n}`), ...notes.map((n) => `note: ${n}`)];
process.stdout.write(`\n${table(figures)}\n${printed.map((n) => `\n${n}`).join('')}\n\nwrote ${out}\n`);

/** Removes the exchanges and headnode queues this run created. */
async function cleanup(): Promise<void> {
  const connection = await amqplib.connect(url);
  try {
    const ch = await connection.createChannel();
    for (const q of ['api', 'storm', 'n10', 'n100', 'n1000']) await ch.deleteQueue(`ur.headnode.${tag}.${q}`);
    for (const suffix of ['', '.storm', '.n10', '.n100', '.n1000'])
      await ch.deleteExchange(`ur.${tag}${suffix}`);
  } finally {
    await connection.close();
  }
}
