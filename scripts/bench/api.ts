import { join } from 'node:path';
import { freePort } from '@ur/testkit';
import type { BenchContext } from './context.js';
import { startMeasuredAgent } from './agent-process.js';
import { startHeadnodeProcess } from './processes.js';
import { percentile, timeEach } from './stats.js';

/** `POST /v1/nodes/:id/execute` of an empty script through a real headnode to a real agent. */
export async function measureApi(ctx: BenchContext): Promise<{ p50: number; p99: number }> {
  const port = await freePort();
  const headnode = await startHeadnodeProcess({
    url: ctx.url,
    exchange: ctx.exchange,
    db: join(ctx.dir, 'api-headnode.db'),
    port,
    queue: `ur.headnode.${ctx.tag}.api`,
  });
  const agent = await startMeasuredAgent(ctx, 'api');
  try {
    const url = `http://127.0.0.1:${port}/v1/nodes/${agent.nodeId}/execute`;
    const call = async (): Promise<void> => {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"type":"script","script":"exit 0"}',
      });
      if (response.status !== 200) throw new Error(`HTTP ${response.status}: ${await response.text()}`);
      await response.arrayBuffer();
    };
    await timeEach(20, call);
    const samples = await timeEach(200, call);
    return { p50: percentile(samples, 50), p99: percentile(samples, 99) };
  } finally {
    await agent.stop();
    await headnode.stop();
  }
}
