import type { ConfirmChannel, Message } from 'amqplib';
import { PublishNackedError } from './errors.js';
import type { JsonMessage } from './json-message.js';

export type PublishOutcome = 'routed' | 'unroutable';

/**
 * Publishes on a confirm channel and resolves once the broker has taken
 * responsibility for the message. With `mandatory`, a message no queue is
 * bound for comes back as `unroutable` (the broker returns it before the ack).
 */
export class ConfirmPublisher {
  readonly #channel: ConfirmChannel;
  readonly #returned = new Set<string>();

  constructor(channel: ConfirmChannel) {
    this.#channel = channel;
    channel.on('return', (msg: Message) => {
      const id = msg.properties.messageId as string | undefined;
      if (id !== undefined) this.#returned.add(id);
    });
  }

  publish(exchange: string, routingKey: string, message: JsonMessage): Promise<PublishOutcome> {
    const id = message.options.messageId;
    return new Promise((resolve, reject) => {
      try {
        this.#channel.publish(exchange, routingKey, message.content, message.options, (err: unknown) => {
          const returned = this.#returned.delete(id);
          if (err) {
            reject(new PublishNackedError(routingKey, { cause: err }));
          } else {
            resolve(returned ? 'unroutable' : 'routed');
          }
        });
      } catch (err) {
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
  }
}
