import type { Channel, ChannelModel, Message, Options } from 'amqplib';
import { bindings, expiredKey, type Logger } from '@ur/protocol/wire';
import { RequestQueueInUseError } from './errors.js';

export interface RequestQueueSpec {
  queue: string;
  exchange: string;
  nodeId: string;
  /** The broker deletes the queue after this long without a consumer. */
  expiresMs: number;
}

/**
 * `ur.request.<node-id>`: durable, so requests published during a short
 * disconnect wait for the agent; deleted by the broker after `expiresMs`
 * without a consumer; requests whose expiration (their deadline) passes while
 * they wait are dead-lettered to `ur.expired.<node-id>` on the same exchange,
 * where the headnode fails them at once.
 */
export function requestQueueOptions(spec: RequestQueueSpec): Options.AssertQueue {
  return {
    durable: true,
    expires: spec.expiresMs,
    deadLetterExchange: spec.exchange,
    deadLetterRoutingKey: expiredKey(spec.nodeId),
  };
}

/** The broker's answer to declaring an existing queue with other arguments. */
const PRECONDITION_FAILED = 406;

function isPreconditionFailed(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === PRECONDITION_FAILED;
}

/**
 * Makes sure the request queue exists with today's arguments. A durable queue
 * cannot change its arguments: one left by an agent version without
 * dead-lettering (which crashed, so it did not delete the queue on its way
 * out) makes the broker refuse the declaration. Then the old queue is unbound
 * (new requests are unroutable for a moment and fail at once), the requests
 * waiting in it are handed to `take` (which journals and acks them), and it
 * is deleted, so the caller can declare it afresh. If another agent (same
 * node id, older version) still consumes it, it is left alone:
 * {@link RequestQueueInUseError}.
 */
export async function ensureRequestQueue(
  connection: ChannelModel,
  spec: RequestQueueSpec,
  take: (channel: Channel, message: Message) => Promise<void>,
  logger: Logger,
): Promise<void> {
  // Throwaway channels: a refused declaration closes the channel it was made on.
  const probe = await connection.createChannel();
  probe.on('error', () => undefined);
  try {
    await probe.assertQueue(spec.queue, requestQueueOptions(spec));
    await probe.close();
    return;
  } catch (err) {
    if (!isPreconditionFailed(err)) throw err;
  }
  const channel = await connection.createChannel();
  channel.on('error', () => undefined);
  try {
    const { consumerCount } = await channel.checkQueue(spec.queue);
    if (consumerCount > 0) throw new RequestQueueInUseError(spec.queue, consumerCount);
    logger.warn('replacing a request queue declared with other arguments (left by an older agent)', {
      queue: spec.queue,
    });
    await channel.unbindQueue(spec.queue, spec.exchange, bindings.executeFor(spec.nodeId));
    let moved = 0;
    for (;;) {
      const message = await channel.get(spec.queue);
      if (message === false) break;
      await take(channel, message);
      moved += 1;
    }
    await channel.deleteQueue(spec.queue, { ifEmpty: true });
    logger.info('old request queue drained and deleted', { queue: spec.queue, requests: moved });
  } finally {
    await channel.close().catch(() => undefined);
  }
}
