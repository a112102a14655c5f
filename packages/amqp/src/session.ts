import { EventEmitter } from 'node:events';
import type { TlsOptions } from './tls-files.js';
import amqplib, { type Channel, type ChannelModel, type ConfirmChannel } from 'amqplib';
import { redactUrl, type Logger } from '@ur/protocol/wire';

export interface AmqpSessionOptions {
  /** Broker URL, e.g. `amqp://guest:guest@127.0.0.1:5672`. */
  url: string;
  /** Connection name shown in the management UI. */
  connectionName: string;
  /**
   * Runs after every successful (re)connect, before the session reports
   * itself connected: declare topology, open channels, start consumers.
   * If it throws, the connection is dropped and retried with backoff.
   */
  setup: (context: SetupContext) => Promise<void>;
  logger: Logger;
  /** CA, client certificate and key for `amqps://` URLs (see {@link readTlsFiles}). */
  tls?: TlsOptions | undefined;
  /** AMQP heartbeat in seconds; detects dead TCP connections. @default 15 */
  heartbeatSeconds?: number;
  /** First reconnect delay. @default 100 */
  reconnectInitialDelayMs?: number;
  /** Upper bound of reconnect delays, so a broker restart does not cause a storm later. @default 30000 */
  reconnectMaxDelayMs?: number;
  /** Delays vary by ±this fraction so thousands of clients spread out. @default 0.5 */
  reconnectJitter?: number;
}

export const DEFAULT_HEARTBEAT_SECONDS = 15;
export const DEFAULT_RECONNECT_INITIAL_DELAY_MS = 100;
export const DEFAULT_RECONNECT_MAX_DELAY_MS = 30_000;
export const DEFAULT_RECONNECT_JITTER = 0.5;

/** What `setup` gets: channels opened through it close the connection if they die. */
export interface SetupContext {
  connection: ChannelModel;
  channel(): Promise<Channel>;
  confirmChannel(): Promise<ConfirmChannel>;
}

type RecoveringConnection = Awaited<ReturnType<typeof amqplib.connect>> & {
  waitForConnect(): Promise<unknown>;
};

function withHeartbeat(url: string, seconds: number): string {
  try {
    const u = new URL(url);
    if (!u.searchParams.has('heartbeat')) u.searchParams.set('heartbeat', String(seconds));
    return u.toString();
  } catch {
    return url;
  }
}

/**
 * One AMQP connection that reconnects with capped, jittered backoff and reruns
 * `setup` each time (amqplib's recovery). Emits `connect` and `disconnect`.
 */
export class AmqpSession extends EventEmitter<{ connect: []; disconnect: [Error] }> {
  readonly #options: AmqpSessionOptions;
  readonly #logger: Logger;
  #connection: RecoveringConnection | undefined;
  #current: ChannelModel | undefined;
  #closing = false;

  constructor(options: AmqpSessionOptions) {
    super();
    this.#options = options;
    this.#logger = options.logger;
  }

  get connected(): boolean {
    return this.#current !== undefined;
  }

  /** Starts connecting; resolves at the first successful connect and setup. */
  async start(): Promise<void> {
    const o = this.#options;
    const conn = (await amqplib.connect(
      withHeartbeat(o.url, o.heartbeatSeconds ?? DEFAULT_HEARTBEAT_SECONDS),
      {
        ...o.tls,
        noDelay: true,
        clientProperties: { connection_name: o.connectionName },
        recovery: {
          initialDelay: o.reconnectInitialDelayMs ?? DEFAULT_RECONNECT_INITIAL_DELAY_MS,
          maxDelay: o.reconnectMaxDelayMs ?? DEFAULT_RECONNECT_MAX_DELAY_MS,
          jitter: o.reconnectJitter ?? DEFAULT_RECONNECT_JITTER,
          waitForConnect: false,
          setup: (model: ChannelModel) => this.#setup(model),
        },
      },
    )) as RecoveringConnection;
    this.#connection = conn;
    conn.on('connect', (model: ChannelModel) => {
      this.#current = model;
      this.#logger.info('broker connected', { url: redactUrl(o.url) });
      this.emit('connect');
    });
    conn.on('disconnect', (err: Error) => {
      this.#current = undefined;
      this.#logger.warn('broker connection lost', { error: err.message });
      this.emit('disconnect', err);
    });
    conn.on('connect-failed', (err: Error) => {
      this.#logger.warn('broker connect failed', { url: redactUrl(o.url), error: err.message });
    });
    conn.on('reconnect-scheduled', (info: { attempt: number; delay: number }) => {
      this.#logger.debug('broker reconnect scheduled', info);
    });
    conn.on('error', (err: Error) => {
      this.#logger.debug('broker connection error', { error: err.message });
    });
    await conn.waitForConnect();
  }

  async #setup(model: ChannelModel): Promise<void> {
    const watch = <C extends Channel>(channel: C): C => {
      channel.on('error', (err: Error) => {
        this.#logger.warn('channel error', { error: err.message });
      });
      channel.on('close', () => {
        // A channel that dies on its own (e.g. a refused operation) leaves the
        // session half-working; dropping the connection gets a clean setup.
        if (!this.#closing && this.#current === model) {
          this.#logger.warn('channel closed unexpectedly; reconnecting');
          model.close().catch(() => undefined);
        }
      });
      return channel;
    };
    model.on('error', () => undefined);
    await this.#options.setup({
      connection: model,
      channel: async () => watch(await model.createChannel()),
      confirmChannel: async () => watch(await model.createConfirmChannel()),
    });
  }

  /** Closes the connection and stops reconnecting. */
  async close(): Promise<void> {
    this.#closing = true;
    this.#current = undefined;
    await this.#connection?.close();
  }
}
