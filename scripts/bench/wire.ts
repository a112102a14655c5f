import type { BenchContext } from './context.js';
import { startMeasuredAgent } from './agent-process.js';
import { busyPercent, cpuSnapshot, difference, scaleShares, type CpuShares } from './cpu-accounting.js';
import { percentile, timeEach } from './stats.js';

export interface WireFigures {
  p50: number;
  p90: number;
  p99: number;
  rps50: number;
  /** CPU per request of the closed loop, by whom (no headnode here: the bench's client is in `other`). */
  cpuPerRequestMs: CpuShares;
  /** How busy the machine's cores were meanwhile, in percent. */
  busyPct: number;
}

const EMPTY_SCRIPT = { type: 'script', script: 'exit 0' };

/**
 * A Triton-style caller against one real ur-agent process: sequential round
 * trips of an empty script, then a closed loop with 50 requests in flight.
 */
export async function measureWire(ctx: BenchContext): Promise<WireFigures> {
  const agent = await startMeasuredAgent(ctx, 'wire');
  try {
    const { driver, nodeId } = agent;
    await timeEach(20, () => driver.execute(nodeId, EMPTY_SCRIPT).then(() => undefined)); // warm-up
    const samples = await timeEach(200, () => driver.execute(nodeId, EMPTY_SCRIPT).then(() => undefined));
    const roots = { headnode: -1, agents: [agent.process.child.pid!] };
    const durationMs = ctx.quick ? 2_000 : 5_000;
    const before = cpuSnapshot(roots);
    const started = performance.now();
    const loop = await closedLoop(() => driver.execute(nodeId, EMPTY_SCRIPT), 50, durationMs);
    const elapsedMs = performance.now() - started;
    const spent = difference(before, cpuSnapshot(roots));
    return {
      p50: percentile(samples, 50),
      p90: percentile(samples, 90),
      p99: percentile(samples, 99),
      rps50: loop.perSecond,
      cpuPerRequestMs: scaleShares(spent, 1 / loop.completed),
      busyPct: busyPercent(spent, elapsedMs),
    };
  } finally {
    await agent.stop();
  }
}

export interface ClosedLoopResult {
  perSecond: number;
  completed: number;
}

/** Keeps `inFlight` requests outstanding for `durationMs`; counts those completed. */
export async function closedLoop(
  send: () => Promise<unknown>,
  inFlight: number,
  durationMs: number,
): Promise<ClosedLoopResult> {
  let completed = 0;
  const started = performance.now();
  const deadline = started + durationMs;
  const worker = async (): Promise<void> => {
    while (performance.now() < deadline) {
      await send();
      completed += 1;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  return { perSecond: completed / ((performance.now() - started) / 1000), completed };
}
