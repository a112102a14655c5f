import { randomUUID } from 'node:crypto';
import amqplib, { type Channel, type ChannelModel, type ConsumeMessage, type Options } from 'amqplib';

export interface WireMessage {
  routingKey: string;
  /** Parsed JSON, or the raw text when the body is not JSON. */
  body: unknown;
  /** The body as received, byte for byte (signatures cover these). */
  content: Buffer;
  properties: ConsumeMessage['properties'];
  receivedAt: number;
}

type Waiter = { match: (m: WireMessage) => boolean; resolve: (m: WireMessage) => void };

/**
 * A headnode that speaks only the wire protocol, as Triton's CNAPI does:
 * publishes on the exchange and listens on its own exclusive queue. Tests use
 * it to drive agents without any of our headnode code.
 */
export class WireClient {
  readonly messages: WireMessage[] = [];
  readonly #connection: ChannelModel;
  readonly #channel: Channel;
  readonly #queue: string;
  readonly exchange: string;
  #waiters: Waiter[] = [];
  #bound = new Set<string>();

  private constructor(connection: ChannelModel, channel: Channel, queue: string, exchange: string) {
    this.#connection = connection;
    this.#channel = channel;
    this.#queue = queue;
    this.exchange = exchange;
  }

  static async connect(url: string, exchange = 'amq.topic'): Promise<WireClient> {
    const connection = await amqplib.connect(url, {
      noDelay: true,
      clientProperties: { connection_name: 'ur-test wire client' },
    });
    const channel = await connection.createChannel();
    if (!exchange.startsWith('amq.')) await channel.assertExchange(exchange, 'topic', { durable: true });
    const { queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true });
    const client = new WireClient(connection, channel, queue, exchange);
    await channel.consume(queue, (msg) => msg && client.#receive(msg), { noAck: true });
    return client;
  }

  /** Starts receiving messages whose routing key matches `pattern`. */
  async listen(pattern: string): Promise<void> {
    if (this.#bound.has(pattern)) return;
    await this.#channel.bindQueue(this.#queue, this.exchange, pattern);
    this.#bound.add(pattern);
  }

  publish(routingKey: string, body: unknown, options: Options.Publish = {}): void {
    const content = Buffer.isBuffer(body)
      ? body
      : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    this.#channel.publish(this.exchange, routingKey, content, {
      contentType: 'application/json',
      ...options,
    });
  }

  /** Resolves with the first message (already received or future) that matches. */
  waitFor(what: string, match: (m: WireMessage) => boolean, timeoutMs = 10_000): Promise<WireMessage> {
    const seen = this.messages.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { match, resolve };
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      waiter.resolve = (m) => {
        clearTimeout(timer);
        resolve(m);
      };
      this.#waiters.push(waiter);
    });
  }

  /** Publishes a request to `ur.execute.<node>.<id>` as Ur's headnode does and waits for the reply. */
  async execute(
    nodeId: string,
    body: unknown,
    requestId: string = randomUUID(),
    timeoutMs = 15_000,
  ): Promise<WireMessage> {
    await this.listen(`ur.execute-reply.${nodeId}.*`);
    this.publish(`ur.execute.${nodeId}.${requestId}`, body);
    return this.waitFor(
      `reply to ${requestId}`,
      (m) => m.routingKey === `ur.execute-reply.${nodeId}.${requestId}`,
      timeoutMs,
    );
  }

  async close(): Promise<void> {
    await this.#connection.close().catch(() => undefined);
  }

  #receive(msg: ConsumeMessage): void {
    const text = msg.content.toString('utf8');
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // keep the text
    }
    const m: WireMessage = {
      routingKey: msg.fields.routingKey,
      body,
      content: msg.content,
      properties: msg.properties,
      receivedAt: Date.now(),
    };
    this.messages.push(m);
    for (const w of [...this.#waiters]) {
      if (w.match(m)) {
        this.#waiters = this.#waiters.filter((x) => x !== w);
        w.resolve(m);
      }
    }
  }
}
