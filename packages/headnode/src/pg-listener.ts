import type pg from 'pg';
import type { Logger } from '@ur/protocol';
import { redactUrl } from '@ur/protocol';

export interface PgListenerOptions {
  url: string;
  channels: readonly string[];
  onNotify: (channel: string, payload: string) => void;
  /** After every (re)connect: notifications may have been missed meanwhile. */
  onListening: () => void;
  logger: Logger;
}

const MAX_BACKOFF_MS = 10_000;

/**
 * LISTENs on PostgreSQL channels over one dedicated connection (pooled ones
 * cannot listen), reconnecting with backoff. How one headnode learns at once
 * what another committed: node events, command replies.
 */
export class PgListener {
  readonly #o: PgListenerOptions;
  #client: pg.Client | undefined;
  #stopped = false;
  #backoffMs = 100;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: PgListenerOptions) {
    this.#o = options;
  }

  async start(): Promise<void> {
    await this.#connect();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#client?.end().catch(() => undefined);
  }

  async #connect(): Promise<void> {
    const { Client } = (await import('pg')).default;
    const client = new Client({ connectionString: this.#o.url });
    client.on('notification', (n) => this.#o.onNotify(n.channel, n.payload ?? ''));
    client.on('error', (err) => {
      this.#o.logger.warn('PostgreSQL listener failed; reconnecting', { error: err.message });
      this.#retry(client);
    });
    client.on('end', () => this.#retry(client));
    try {
      await client.connect();
      for (const channel of this.#o.channels) await client.query(`LISTEN ${channel}`);
    } catch (err) {
      this.#o.logger.warn('PostgreSQL listener cannot connect; retrying', {
        url: redactUrl(this.#o.url),
        error: String(err),
      });
      this.#retry(client);
      return;
    }
    this.#client = client;
    this.#backoffMs = 100;
    this.#o.onListening();
  }

  #retry(client: pg.Client): void {
    if (this.#stopped || this.#timer || (this.#client !== undefined && this.#client !== client)) return;
    this.#client = undefined;
    client.end().catch(() => undefined);
    const delay = this.#backoffMs;
    this.#backoffMs = Math.min(MAX_BACKOFF_MS, this.#backoffMs * 2);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#connect();
    }, delay);
    this.#timer.unref();
  }
}
