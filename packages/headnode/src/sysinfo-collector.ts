import { randomUUID } from 'node:crypto';
import { jsonMessage, type ConfirmPublisher } from '@ur/amqp';
import { broadcastKey, type Logger } from '@ur/protocol';
import { HEADNODE_APP_ID } from './version.js';

/** At most one broadcast per this interval, however many unknown nodes appear. */
const MIN_INTERVAL_MS = 5_000;
/** Replies to a broadcast are accepted this long. */
const REPLY_WINDOW_MS = 60_000;

/**
 * Asks every agent for its sysinfo with `ur.broadcast.sysinfo.<id>` (as
 * Triton's CNAPI does): on every connect, so a headnode that missed startup
 * messages learns about running nodes, and when a node heartbeats that the
 * inventory has no facts for. Replies come back as execute replies.
 */
export class SysinfoCollector {
  readonly #exchange: string;
  readonly #log: Logger;
  readonly #open = new Map<string, number>();
  #lastSent = 0;
  #timer: NodeJS.Timeout | undefined;
  #publisher: ConfirmPublisher | undefined;

  constructor(exchange: string, logger: Logger) {
    this.#exchange = exchange;
    this.#log = logger;
  }

  attach(publisher: ConfirmPublisher | undefined): void {
    this.#publisher = publisher;
    if (publisher) this.#send();
  }

  /** True if `requestId` belongs to one of our recent broadcasts. */
  owns(requestId: string): boolean {
    const sentAt = this.#open.get(requestId);
    return sentAt !== undefined && Date.now() - sentAt < REPLY_WINDOW_MS;
  }

  /** Requests a broadcast soon (debounced). */
  request(): void {
    if (this.#timer) return;
    const wait = Math.max(0, this.#lastSent + MIN_INTERVAL_MS - Date.now());
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#send();
    }, wait);
    this.#timer.unref();
  }

  close(): void {
    clearTimeout(this.#timer);
  }

  #send(): void {
    const publisher = this.#publisher;
    if (!publisher) return;
    const now = Date.now();
    for (const [id, at] of this.#open) if (now - at >= REPLY_WINDOW_MS) this.#open.delete(id);
    const id = randomUUID();
    this.#open.set(id, now);
    this.#lastSent = now;
    publisher
      .publish(
        this.#exchange,
        broadcastKey('sysinfo', id),
        jsonMessage({}, { appId: HEADNODE_APP_ID, type: 'broadcast' }),
      )
      .catch((err: unknown) => this.#log.debug('sysinfo broadcast failed', { error: String(err) }));
  }
}
