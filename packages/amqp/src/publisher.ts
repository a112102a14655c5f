import type { ConfirmChannel, Message } from 'amqplib';
import { PublishNackedError } from './errors.js';
import type { JsonMessage } from './json-message.js';

export type PublishOutcome = 'routed' | 'unroutable';

/** Extra headers for each message, computed as it is published (signatures: fresh on every resend). */
export type HeaderHook = (routingKey: string, content: Buffer) => Record<string, string>;

export interface ConfirmPublisherOptions {
  headers?: HeaderHook | undefined;
}

/**
 * Publishes on a confirm channel and resolves once the broker has taken
 * responsibility for the message. With `mandatory`, a message no queue is
 * bound for comes back as `unroutable` (the broker returns it before the ack).
 */
export class ConfirmPublisher {
  readonly #channel: ConfirmChannel;
  readonly #returned = new Set<string>();
  readonly #headers: HeaderHook | undefined;

  constructor(channel: ConfirmChannel, options: ConfirmPublisherOptions = {}) {
    this.#channel = channel;
    this.#headers = options.headers;
    channel.on('return', (msg: Message) => {
      const id = msg.properties.messageId as string | undefined;
      if (id !== undefined) this.#returned.add(id);
    });
  }

  publish(exchange: string, routingKey: string, message: JsonMessage): Promise<PublishOutcome> {
    const id = message.options.messageId;
    return new Promise((resolve, reject) => {
      try {
        const extra = this.#headers?.(routingKey, message.content);
        const options = extra
          ? { ...message.options, headers: { ...(message.options.headers as object | undefined), ...extra } }
          : message.options;
        this.#channel.publish(exchange, routingKey, message.content, options, (err: unknown) => {
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
