import { join } from 'node:path';
import Database from 'libsql';
import { freePort, type StartedProcess } from '@ur/testkit';
import type { BenchContext } from './context.js';
import { cpuPercentOver, rssMiB } from './proc-stats.js';
import { startHeadnodeProcess } from './processes.js';
import { WireDriver } from './wire-driver.js';

export interface StormFigures {
  stormMs: number;
  headnodeCpuPct: number | null;
  headnodeRssMiB: number | null;
}

function sysinfo(id: string, i: number): Record<string, unknown> {
  return {
    UUID: id,
    Hostname: `storm-${i}`,
    'System Type': 'Linux',
    'Boot Time': '1700000000',
    'CPU Total Cores': 8,
    'MiB of Memory': '16384',
    'Ur Agent': { version: '0.1.0', protocol: 1, capabilities: ['script', 'file'], heartbeat_interval_s: 5 },
  };
}

/**
 * Registration storm: `count` nodes announce at once; time until all are in
 * the headnode's store (read from its SQLite file). Then, unless quick, those
 * nodes heartbeat every 5 s for a while and the headnode's CPU and memory are
 * read from /proc.
 */
export async function measureStorm(
  ctx: BenchContext,
  count: number,
  heartbeatSeconds: number,
): Promise<StormFigures> {
  const db = join(ctx.dir, 'storm-headnode.db');
  const exchange = `${ctx.exchange}.storm`;
  const headnode: StartedProcess = await startHeadnodeProcess({
    url: ctx.url,
    exchange,
    db,
    port: await freePort(),
    queue: `ur.headnode.${ctx.tag}.storm`,
  });
  const driver = await WireDriver.connect(ctx.url, exchange);
  const reader = new Database(db, { readonly: true });
  const stored = (): number => (reader.prepare('select count(*) as n from nodes').get() as { n: number }).n;
  try {
    const ids = Array.from({ length: count }, (_, i) => `${ctx.tag}-s${i}`);
    const t = performance.now();
    ids.forEach((id, i) => driver.publish(`ur.startup.${id}`, sysinfo(id, i)));
    while (stored() < count) await new Promise((r) => setTimeout(r, 10));
    const stormMs = performance.now() - t;
    if (heartbeatSeconds === 0) return { stormMs, headnodeCpuPct: null, headnodeRssMiB: null };

    ctx.log(`headnode scale: ${count} nodes heartbeating every 5 s for ${heartbeatSeconds} s`);
    const pid = headnode.child.pid!;
    let seq = 0;
    const perTick = Math.ceil(count / 50); // 50 ticks of 100 ms = every node once per 5 s
    let cursor = 0;
    const timer = setInterval(() => {
      for (let k = 0; k < perTick; k++) {
        const id = ids[cursor % count]!;
        cursor += 1;
        driver.publish(`ur.heartbeat.${id}`, {
          type: 'heartbeat',
          node_id: id,
          seq: seq++,
          sent_at: new Date().toISOString(),
          interval_s: 5,
          uptime_s: 100,
          load: [0.1, 0.1, 0.1],
          mem_free_mib: 1000,
          running: 0,
        });
      }
    }, 100);
    await new Promise((r) => setTimeout(r, 5_000)); // settle into the steady state
    const headnodeCpuPct = await cpuPercentOver(pid, heartbeatSeconds * 1000);
    clearInterval(timer);
    return { stormMs, headnodeCpuPct, headnodeRssMiB: rssMiB(pid) };
  } finally {
    reader.close();
    await driver.close();
    await headnode.stop();
  }
}
