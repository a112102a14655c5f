import { randomUUID } from 'node:crypto';
import amqplib, { type Channel, type ChannelModel } from 'amqplib';

/**
 * A lean Triton-style caller for measurements: one channel, one exclusive
 * reply queue, replies matched by request id in a map (no scanning).
 */
export class WireDriver {
  readonly #connection: ChannelModel;
  readonly #channel: Channel;
  readonly #queue: string;
  readonly #exchange: string;
  readonly #waiting = new Map<string, (body: unknown) => void>();
  /** Replies per request id for broadcasts (several nodes answer one id). */
  readonly #broadcasts = new Map<string, { left: number; done: () => void }>();
  readonly #startups = new Map<string, () => void>();

  private constructor(connection: ChannelModel, channel: Channel, queue: string, exchange: string) {
    this.#connection = connection;
    this.#channel = channel;
    this.#queue = queue;
    this.#exchange = exchange;
  }

  static async connect(url: string, exchange: string): Promise<WireDriver> {
    const connection = await amqplib.connect(url, { noDelay: true });
    const channel = await connection.createChannel();
    if (!exchange.startsWith('amq.')) await channel.assertExchange(exchange, 'topic', { durable: true });
    const { queue } = await channel.assertQueue('', { exclusive: true });
    const driver = new WireDriver(connection, channel, queue, exchange);
    await channel.consume(
      queue,
      (msg) => {
        if (!msg) return;
        const key = msg.fields.routingKey;
        if (key.startsWith('ur.startup.')) {
          driver.#startups.get(key.slice('ur.startup.'.length))?.();
          return;
        }
        const requestId = key.slice(key.lastIndexOf('.') + 1);
        const broadcast = driver.#broadcasts.get(requestId);
        if (broadcast) {
          broadcast.left -= 1;
          if (broadcast.left === 0) broadcast.done();
          return;
        }
        const resolve = driver.#waiting.get(requestId);
        if (resolve) {
          driver.#waiting.delete(requestId);
          resolve(JSON.parse(msg.content.toString()));
        }
      },
      { noAck: true },
    );
    return driver;
  }

  async listen(pattern: string): Promise<void> {
    await this.#channel.bindQueue(this.#queue, this.#exchange, pattern);
  }

  publish(routingKey: string, body: unknown): void {
    this.#channel.publish(this.#exchange, routingKey, Buffer.from(JSON.stringify(body)), {
      contentType: 'application/json',
    });
  }

  /** Sends one request and resolves with the reply body. Call `listen('ur.execute-reply.<node>.*')` first. */
  execute(nodeId: string, body: unknown): Promise<unknown> {
    const requestId = randomUUID();
    const reply = new Promise<unknown>((resolve) => this.#waiting.set(requestId, resolve));
    this.publish(`ur.execute.${nodeId}.${requestId}`, body);
    return reply;
  }

  /** Publishes one broadcast and resolves when `expected` replies arrived. */
  broadcast(what: 'ping' | 'sysinfo', expected: number): Promise<void> {
    const requestId = randomUUID();
    const done = new Promise<void>((resolve) =>
      this.#broadcasts.set(requestId, { left: expected, done: resolve }),
    );
    this.publish(`ur.broadcast.${what}.${requestId}`, {});
    return done.finally(() => this.#broadcasts.delete(requestId));
  }

  /** Resolves when `ur.startup.<nodeId>` arrives; call before the agent starts, then listen. */
  waitForStartup(nodeId: string): Promise<void> {
    return new Promise((resolve) => this.#startups.set(nodeId, resolve));
  }

  /** Messages ready in a queue (not counting those delivered and not yet acked). */
  async queueDepth(queue: string): Promise<number> {
    return (await this.#channel.checkQueue(queue)).messageCount;
  }

  async close(): Promise<void> {
    await this.#connection.close().catch(() => undefined);
  }
}
