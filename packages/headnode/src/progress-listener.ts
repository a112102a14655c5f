import type { Channel, ConsumeMessage } from 'amqplib';
import {
  check,
  executeProgressKey,
  parseJsonBody,
  parseRoutingKey,
  ProgressEventSchema,
  type Logger,
  type ProgressEvent,
} from '@ur/protocol';

/** Progress bodies are output chunks (64 KiB) plus a little; anything larger is dropped. */
const MAX_PROGRESS_BYTES = 1024 * 1024;

interface Watch {
  nodeId: string;
  onEvent: (event: ProgressEvent) => void;
}

/**
 * Delivers `ur.execute-progress.<node>.<req>` events of the requests someone
 * watches. Progress is transient, so it goes to a queue of this process
 * only (server-named, exclusive, auto-deleted: gone with the connection),
 * bound per watched request, so a headnode receives only what it asked for.
 * Bindings are redone after a reconnect; events sent meanwhile are lost,
 * which a watcher tolerates (the final reply still comes).
 */
export class ProgressListener {
  readonly #exchange: string;
  readonly #log: Logger;
  readonly #watches = new Map<string, Watch>();
  #channel: Channel | undefined;
  #queue: string | undefined;

  constructor(exchange: string, logger: Logger) {
    this.#exchange = exchange;
    this.#log = logger;
  }

  get watching(): number {
    return this.#watches.size;
  }

  /** Called from the session's setup on every connect. */
  async attach(channel: Channel): Promise<void> {
    const { queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true, durable: false });
    await channel.consume(queue, (msg) => this.#onMessage(msg), { noAck: true });
    for (const [requestId, watch] of this.#watches) {
      await channel.bindQueue(queue, this.#exchange, executeProgressKey(watch.nodeId, requestId));
    }
    this.#channel = channel;
    this.#queue = queue;
  }

  detach(): void {
    this.#channel = undefined;
    this.#queue = undefined;
  }

  /**
   * Starts delivering the request's progress to `onEvent`; resolves once the
   * binding is in place, so nothing published after it is missed. Returns
   * the function that stops it.
   */
  async watch(
    nodeId: string,
    requestId: string,
    onEvent: (event: ProgressEvent) => void,
  ): Promise<() => void> {
    const key = executeProgressKey(nodeId, requestId);
    this.#watches.set(requestId, { nodeId, onEvent });
    const channel = this.#channel;
    const queue = this.#queue;
    if (channel && queue) await channel.bindQueue(queue, this.#exchange, key);
    return () => {
      if (!this.#watches.delete(requestId)) return;
      if (this.#channel && this.#queue) {
        this.#channel.unbindQueue(this.#queue, this.#exchange, key).catch((err: unknown) => {
          this.#log.debug('progress unbind failed', { requestId, error: String(err) });
        });
      }
    };
  }

  #onMessage(msg: ConsumeMessage | null): void {
    if (msg === null) return;
    let requestId: string;
    try {
      const key = parseRoutingKey(msg.fields.routingKey);
      if (key.kind !== 'execute-progress') return;
      requestId = key.requestId;
    } catch {
      return;
    }
    const watch = this.#watches.get(requestId);
    if (!watch) return;
    const body = parseJsonBody(msg.content, MAX_PROGRESS_BYTES);
    const event = body.ok ? check(ProgressEventSchema, body.value) : body;
    if (!event.ok) {
      this.#log.debug('malformed progress event', { requestId, error: event.error.message });
      return;
    }
    try {
      watch.onEvent(event.value);
    } catch (err) {
      this.#log.warn('progress watcher failed', { requestId, error: String(err) });
    }
  }
}
