import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Headnode, type HeadnodeOptions } from '@ur/headnode';
import { brokerUrl, deleteBrokerObjects, uniqueExchange, WireClient } from '@ur/testkit';

const GiB = 1024 ** 3;

/**
 * A headnode on its own exchange and SQLite file, a wire client to play
 * agents, and the API as `fetch` calls: set up in beforeAll, torn down in
 * afterAll.
 */
export class Harness {
  readonly exchange = uniqueExchange();
  dir = '';
  wire!: WireClient;
  headnode!: Headnode;
  #options: HeadnodeOptions = {};

  async setUp(options: HeadnodeOptions = {}): Promise<void> {
    this.dir = await mkdtemp(join(tmpdir(), 'ur-headnode-'));
    this.wire = await WireClient.connect(brokerUrl(), this.exchange);
    this.#options = options;
    await this.start();
  }

  /** Starts a headnode on the same database (after `stop`, or a first time). */
  async start(): Promise<void> {
    this.headnode = new Headnode({
      amqpUrl: brokerUrl(),
      exchange: this.exchange,
      db: join(this.dir, 'headnode.db'),
      listen: '127.0.0.1:0',
      replyMarginMs: 500,
      leaseTtlMs: 1_000,
      ...this.#options,
    });
    await this.headnode.start();
  }

  async tearDown(): Promise<void> {
    await this.headnode.stop();
    await this.wire.close();
    await deleteBrokerObjects({ exchanges: [this.exchange], queues: [`ur.headnode.${this.exchange}`] });
    await rm(this.dir, { recursive: true, force: true });
  }

  async api<T>(path: string, body?: unknown, method = body === undefined ? 'GET' : 'POST') {
    const response = await fetch(`${this.headnode.url}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? null : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: (text === '' ? undefined : JSON.parse(text)) as T };
  }

  /** Announces a node as our agent would, without running one. */
  announce(id: string): void {
    this.wire.publish(`ur.startup.${id}`, {
      UUID: id,
      Hostname: `host-${id}`,
      'System Type': 'Linux',
      'CPU Total Cores': 4,
      'Memory Bytes': 8 * GiB,
      'Ur Agent': { version: '9.9.9', protocol: 1, capabilities: ['script'], heartbeat_interval_s: 5 },
    });
  }

  shutdown(id: string): void {
    this.wire.publish(`ur.shutdown.${id}`, {
      type: 'shutdown',
      node_id: id,
      sent_at: new Date().toISOString(),
      reason: 'test',
    });
  }
}

export interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

/** A webhook receiver: answers 204, or never answers (`hang`), and keeps what it got. */
export class Receiver {
  readonly received: Received[] = [];
  hang = false;
  #server: Server | undefined;
  #port = 0;

  get url(): string {
    return `http://127.0.0.1:${this.#port}/hook`;
  }

  /** Listens (again) on its port; the first time on a free one. */
  async listen(): Promise<void> {
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        this.received.push({ headers: req.headers, body, at: Date.now() });
        if (this.hang) return;
        res.writeHead(204);
        res.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(this.#port, '127.0.0.1', resolve));
    this.#port = (server.address() as AddressInfo).port;
    this.#server = server;
  }

  /** Stops listening and drops open connections (a receiver that went away). */
  async close(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = undefined;
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}
