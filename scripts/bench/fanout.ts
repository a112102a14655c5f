import { join } from 'node:path';
import type { BenchContext } from './context.js';
import { startSimulatedNodes } from './sim.js';
import { median } from './stats.js';
import { WireDriver } from './wire-driver.js';

export interface FanoutFigures {
  pingMs: Record<string, number>;
  trueMs: Record<string, number>;
}

const ROUNDS = 5;

/**
 * N simulated nodes (real Agent instances in one child process): a broadcast
 * ping answered by all, and `/bin/true` sent to each; time until every reply
 * is in, median of a few rounds. Measured on the wire until the headnode has
 * jobs that record fan-out results.
 */
export async function measureFanout(ctx: BenchContext, sizes: number[]): Promise<FanoutFigures> {
  const figures: FanoutFigures = { pingMs: {}, trueMs: {} };
  for (const n of sizes) {
    const exchange = `${ctx.exchange}.n${n}`;
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
      await driver.listen('ur.execute-reply.*.*');
      const ping: number[] = [];
      const trueRuns: number[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        let t = performance.now();
        await driver.broadcast('ping', n);
        ping.push(performance.now() - t);
        t = performance.now();
        await Promise.all(nodes.ids.map((id) => driver.execute(id, { type: 'file', file: '/bin/true' })));
        trueRuns.push(performance.now() - t);
      }
      figures.pingMs[n] = median(ping);
      figures.trueMs[n] = median(trueRuns);
    } finally {
      await driver.close();
      await nodes.stop();
    }
  }
  return figures;
}
