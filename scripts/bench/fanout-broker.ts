import { brokerSocketLimit, startPrivateBroker } from '@ur/testkit';
import type { BenchContext } from './context.js';

export interface FanoutBroker {
  url: string;
  /** What the report should say about where fan-out ran. */
  note: string | null;
  stop(): Promise<void>;
}

// Connections besides the simulated nodes: the headnode, the bench's own
// driver and whatever else shares the broker.
const HEADROOM = 64;

/**
 * The broker the fan-out runs on. Every simulated node holds its own
 * connection, and a packaged RabbitMQ started with the default 1,024 open
 * files accepts only ~830 sockets, so 1,000 nodes do not fit on it. Then a
 * private node with a raised limit is started for fan-out (the shared broker
 * is never restarted); a remote broker is used as it is.
 */
export async function fanoutBroker(ctx: BenchContext, nodes: number): Promise<FanoutBroker> {
  const shared: FanoutBroker = { url: ctx.url, note: null, stop: () => Promise.resolve() };
  const host = new URL(ctx.url).hostname;
  if (!['127.0.0.1', 'localhost', '::1'].includes(host)) return shared;
  const limit = await brokerSocketLimit();
  if (limit === undefined || limit >= nodes + HEADROOM) return shared;
  ctx.log(`fan-out: the shared broker allows ${limit} sockets; starting a private node for ${nodes} nodes`);
  const broker = await startPrivateBroker({ tag: 'urbench', maxOpenFiles: 4 * nodes + 4096 });
  return {
    url: broker.url,
    note: `fan-out ran on a private RabbitMQ node (the shared one allows ${limit} sockets, fewer than ${nodes} simulated nodes need)`,
    stop: () => broker.stop(),
  };
}
