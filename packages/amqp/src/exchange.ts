import type { Channel } from 'amqplib';

/**
 * Makes sure the exchange exists. The broker forbids declaring `amq.*`
 * exchanges, so those are only checked; others are declared durable topics.
 */
export async function ensureExchange(channel: Channel, name: string): Promise<void> {
  if (name.startsWith('amq.')) {
    await channel.checkExchange(name);
  } else {
    await channel.assertExchange(name, 'topic', { durable: true });
  }
}
