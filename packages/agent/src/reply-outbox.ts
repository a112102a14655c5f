import type { ConfirmPublisher, JsonMessage } from '@ur/amqp';

const RETRY_DELAY_MS = 1_000;

export interface OutboxMessage {
  routingKey: string;
  message: JsonMessage;
  /** Called once the broker has confirmed the message (the agent journals the delivery). */
  confirmed?: (() => void) | undefined;
}

interface Entry extends OutboxMessage {
  /** Generation of the publisher it was last sent on; -1 when waiting to be sent. */
  sentOn: number;
  resolve: () => void;
}

/**
 * Sends replies with publisher confirms, in order, and keeps each until the
 * broker confirms it. While the connection is down they wait and are sent
 * again after the reconnect. Durability comes from the journal: a reply is
 * stored there before it is handed to the outbox, and after a restart the
 * agent hands over every stored reply the broker never confirmed. A reply
 * whose confirm was lost may arrive twice, with the same message id.
 */
export class ReplyOutbox {
  readonly #exchange: string;
  #entries: Entry[] = [];
  #publisher: ConfirmPublisher | undefined;
  #generation = 0;
  #idle: (() => void)[] = [];

  constructor(exchange: string) {
    this.#exchange = exchange;
  }

  get size(): number {
    return this.#entries.length;
  }

  /** Resolves once the broker has confirmed the message. */
  send(message: OutboxMessage): Promise<void> {
    return new Promise((resolve) => {
      this.#entries.push({ ...message, sentOn: -1, resolve });
      this.#pump();
    });
  }

  attach(publisher: ConfirmPublisher): void {
    this.#publisher = publisher;
    this.#generation += 1;
    this.#pump();
  }

  detach(): void {
    this.#publisher = undefined;
    this.#generation += 1;
    for (const entry of this.#entries) entry.sentOn = -1;
  }

  /** Resolves when every queued reply is confirmed, or after `timeoutMs`. */
  async flushed(timeoutMs: number): Promise<boolean> {
    if (this.#entries.length === 0) return true;
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.#idle.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  #pump(): void {
    const publisher = this.#publisher;
    if (!publisher) return;
    const generation = this.#generation;
    for (const entry of this.#entries) {
      if (entry.sentOn === generation) continue;
      entry.sentOn = generation;
      publisher.publish(this.#exchange, entry.routingKey, entry.message).then(
        () => this.#confirmed(entry),
        () => {
          // Nacked, or the channel died: try again on this connection a little
          // later; a new connection re-sends everything anyway.
          if (entry.sentOn !== generation) return;
          entry.sentOn = -1;
          setTimeout(() => this.#pump(), RETRY_DELAY_MS).unref();
        },
      );
    }
  }

  #confirmed(entry: Entry): void {
    const i = this.#entries.indexOf(entry);
    if (i < 0) return;
    this.#entries.splice(i, 1);
    entry.confirmed?.();
    entry.resolve();
    if (this.#entries.length === 0) for (const wake of this.#idle.splice(0)) wake();
  }
}
