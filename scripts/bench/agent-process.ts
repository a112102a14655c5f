import { join } from 'node:path';
import type { StartedProcess } from '@ur/testkit';
import type { BenchContext } from './context.js';
import { startAgentProcess } from './processes.js';
import { WireDriver } from './wire-driver.js';

export interface RunningAgent {
  nodeId: string;
  process: StartedProcess;
  driver: WireDriver;
  /** ms from spawn until its ur.startup arrived. */
  startupMs: number;
  stop(): Promise<void>;
}

/** Starts a real ur-agent process and a wire driver listening for its startup and replies. */
export async function startMeasuredAgent(ctx: BenchContext, name: string): Promise<RunningAgent> {
  const nodeId = `${ctx.tag}-${name}`;
  const driver = await WireDriver.connect(ctx.url, ctx.exchange);
  await driver.listen(`ur.execute-reply.${nodeId}.*`);
  const startup = driver.waitForStartup(nodeId);
  await driver.listen(`ur.startup.${nodeId}`);
  const t = performance.now();
  const process = startAgentProcess({
    url: ctx.url,
    exchange: ctx.exchange,
    nodeId,
    prefix: join(ctx.dir, nodeId),
  });
  await startup;
  const startupMs = performance.now() - t;
  return {
    nodeId,
    process,
    driver,
    startupMs,
    stop: async () => {
      await process.stop('SIGTERM');
      await driver.close();
    },
  };
}
