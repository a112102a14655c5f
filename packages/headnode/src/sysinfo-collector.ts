import { randomUUID } from 'node:crypto';
import { jsonMessage, type ConfirmPublisher } from '@ur/amqp';
import { broadcastKey, type Logger } from '@ur/protocol';
import { HEADNODE_APP_ID } from './version.js';

/** At most one broadcast per this interval, however many unknown nodes appear. */
const MIN_INTERVAL_MS = 5_000;
/**
 * Broadcast request ids start with this, so whichever headnode consumes a
 * reply (several may share the inbound queue) records it as sysinfo.
 */
const ID_PREFIX = 'sysinfo-';

/**
 * Asks every agent for its sysinfo with `ur.broadcast.sysinfo.<id>` (as
 * Triton's CNAPI does): on every connect, so a headnode that missed startup
 * messages learns about running nodes, and when a node heartbeats that the
 * inventory has no facts for. Replies come back as execute replies.
 */
export class SysinfoCollector {
  readonly #exchange: string;
  readonly #log: Logger;
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

  /** True if `requestId` is a headnode's sysinfo broadcast (its reply is a sysinfo). */
  owns(requestId: string): boolean {
    return requestId.startsWith(ID_PREFIX);
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
    const id = `${ID_PREFIX}${randomUUID()}`;
    this.#lastSent = Date.now();
    publisher
      .publish(
        this.#exchange,
        broadcastKey('sysinfo', id),
        jsonMessage({}, { appId: HEADNODE_APP_ID, type: 'broadcast' }),
      )
      .catch((err: unknown) => this.#log.debug('sysinfo broadcast failed', { error: String(err) }));
  }
}
