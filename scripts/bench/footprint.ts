import type { BenchContext } from './context.js';
import { startMeasuredAgent, type RunningAgent } from './agent-process.js';
import { childrenNamed, cpuPercentOver, rssMiB } from './proc-stats.js';
import { median } from './stats.js';

export interface FootprintFigures {
  startupMs: number;
  rssAfterStartMiB: number;
  /** The agent and its ur-spawn helper, which runs from the first command on. */
  rssAfter1000MiB: number;
  /** The helper alone; null when the agent has none (Node's spawn()). */
  helperRssMiB: number | null;
  /** Ten seconds after the burst: what V8 gives back once idle. */
  rssSettledMiB: number;
  idleCpuPct: number;
  /**
   * The same burst again once the agent has idled (the 10 s and the idle-CPU
   * window), helper included. V8's memory reducer has collected by then and
   * sizes the heap from what lived: this is what a node that idles between
   * bursts comes back to, not only a freshly started one.
   */
  rssAfterIdleBurstMiB: number;
}

/** 1,000 empty scripts with 50 in flight. */
async function burst(agent: RunningAgent): Promise<void> {
  let sent = 0;
  const worker = async (): Promise<void> => {
    while (sent < 1_000) {
      sent += 1;
      await agent.driver.execute(agent.nodeId, { type: 'script', script: 'exit 0' });
    }
  };
  await Promise.all(Array.from({ length: 50 }, worker));
}

/** RSS of the agent and its ur-spawn helper together. */
function rssWithHelperMiB(pid: number): number {
  return childrenNamed(pid, 'ur-spawn').reduce((sum, h) => sum + rssMiB(h), rssMiB(pid));
}

/** One real ur-agent process: start-up time, memory, and CPU while idle. */
export async function measureFootprint(ctx: BenchContext): Promise<FootprintFigures> {
  const startups: number[] = [];
  for (let i = 0; i < (ctx.quick ? 3 : 5); i++) {
    const agent = await startMeasuredAgent(ctx, `startup${i}`);
    startups.push(agent.startupMs);
    await agent.stop();
  }
  const agent = await startMeasuredAgent(ctx, 'footprint');
  try {
    const pid = agent.process.child.pid!;
    await new Promise((r) => setTimeout(r, 1_000)); // let the hardware probe finish
    const rssAfterStartMiB = rssMiB(pid);
    await burst(agent);
    const rssAfter1000MiB = rssWithHelperMiB(pid);
    const helpers = childrenNamed(pid, 'ur-spawn');
    const helperRssMiB = helpers.length === 0 ? null : helpers.reduce((sum, h) => sum + rssMiB(h), 0);
    // Idle means idle: the journal's compaction and V8's clean-up after the
    // burst are not what a node pays while nothing happens.
    await new Promise((r) => setTimeout(r, 10_000));
    const rssSettledMiB = rssWithHelperMiB(pid);
    const idleCpuPct = await cpuPercentOver(pid, ctx.quick ? 10_000 : 30_000);
    await burst(agent);
    const rssAfterIdleBurstMiB = rssWithHelperMiB(pid);
    return {
      startupMs: median(startups),
      rssAfterStartMiB,
      rssAfter1000MiB,
      helperRssMiB,
      rssSettledMiB,
      idleCpuPct,
      rssAfterIdleBurstMiB,
    };
  } finally {
    await agent.stop();
  }
}
