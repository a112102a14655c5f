import type { Channel, Message } from 'amqplib';
import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import { AmqpSession, ConfirmPublisher, ensureExchange, type SetupContext } from '@ur/amqp';
import { bindings, parseJsonBody, parseRoutingKey, type Logger } from '@ur/protocol';
import { CommandDispatcher } from './command-dispatcher.js';
import { buildApi } from './http/server.js';
import { InventoryWriter } from './inventory-writer.js';
import { SysinfoCollector } from './sysinfo-collector.js';
import { ProgressListener } from './progress-listener.js';
import { patchFromHeartbeat, patchFromShutdown, patchFromSysinfo, type PatchResult } from './node-patches.js';
import type { LivenessSettings } from './node-view.js';
import { compileHeadnodeOptions, type CompiledHeadnodeOptions, type HeadnodeOptions } from './options.js';
import { openDatabase } from './store/open-database.js';
import { NodeStore } from './store/node-store.js';
import type { Database } from './store/schema.js';
import { HEADNODE_VERSION } from './version.js';

/** Inbound messages are large only for sysinfo; anything bigger is dropped. */
const MAX_INBOUND_BYTES = 16 * 1024 * 1024;
/** Inbound messages the broker may push before we ack; batches inventory writes. */
const INBOUND_PREFETCH = 2_000;

/**
 * The headnode service: consumes announcements, heartbeats and replies from
 * one durable queue into the inventory, and serves the REST API.
 */
export class Headnode {
  readonly #options: CompiledHeadnodeOptions;
  readonly #log: Logger;
  readonly #liveness: LivenessSettings;
  #db: Kysely<Database> | undefined;
  #store: NodeStore | undefined;
  #writer: InventoryWriter | undefined;
  #dispatcher: CommandDispatcher;
  #collector: SysinfoCollector;
  #progress: ProgressListener;
  /** Nodes whose sysinfo the store has; a heartbeat from another asks for it. */
  #withFacts = new Set<string>();
  #session: AmqpSession | undefined;
  #api: FastifyInstance | undefined;
  #url = '';

  constructor(options: HeadnodeOptions = {}) {
    this.#options = compileHeadnodeOptions(options);
    this.#log = this.#options.logger;
    this.#liveness = {
      startedAt: Date.now(),
      downAfterMs: this.#options.downAfterMs,
      defaultHeartbeatIntervalMs: this.#options.heartbeatIntervalMs,
    };
    this.#progress = new ProgressListener(this.#options.exchange, this.#log);
    this.#dispatcher = new CommandDispatcher(
      this.#options.exchange,
      this.#options.replyMarginMs,
      this.#log,
      this.#progress,
    );
    this.#collector = new SysinfoCollector(this.#options.exchange, this.#log);
  }

  /** The API's base URL, e.g. `http://127.0.0.1:8080`. */
  get url(): string {
    return this.#url;
  }

  get store(): NodeStore {
    if (!this.#store) throw new Error('headnode not started');
    return this.#store;
  }

  async start(): Promise<void> {
    const o = this.#options;
    const { db, dialect } = await openDatabase(o.db, this.#log);
    this.#db = db;
    this.#store = new NodeStore(db);
    this.#writer = new InventoryWriter(this.#store, this.#log);
    for (const row of await this.#store.list()) if (row.hostname !== null) this.#withFacts.add(row.id);
    this.#log.info('store open', { dialect });

    const session = new AmqpSession({
      url: o.amqpUrl,
      connectionName: `ur-headnode ${o.queue}`,
      logger: this.#log,
      setup: (ctx) => this.#setup(ctx),
    });
    this.#session = session;
    session.on('disconnect', () => {
      this.#dispatcher.attach(undefined);
      this.#collector.attach(undefined);
      this.#progress.detach();
    });
    await session.start();

    this.#api = await buildApi({
      store: this.#store,
      dispatcher: this.#dispatcher,
      liveness: this.#liveness,
      defaultTimeoutSeconds: o.defaultTimeoutSeconds,
      brokerConnected: () => session.connected,
      logger: this.#log,
    });
    const address = await this.#api.listen({ host: o.host, port: o.port });
    this.#url = address.replace('[::1]', 'localhost');
    this.#log.info('headnode listening', { url: this.#url, version: HEADNODE_VERSION });
  }

  async #setup(ctx: SetupContext): Promise<void> {
    const o = this.#options;
    const pub = await ctx.confirmChannel();
    await ensureExchange(pub, o.exchange);
    const ch = await ctx.channel();
    await ch.prefetch(INBOUND_PREFETCH);
    await ch.assertQueue(o.queue, { durable: true, expires: o.queueExpiryMs });
    for (const pattern of [
      bindings.allStartups,
      bindings.allSysinfo,
      bindings.allHeartbeats,
      bindings.allShutdowns,
      bindings.allReplies,
    ]) {
      await ch.bindQueue(o.queue, o.exchange, pattern);
    }
    await ch.consume(o.queue, (msg) => {
      if (msg) this.#onInbound(ch, msg);
    });
    await this.#progress.attach(await ctx.channel());
    const publisher = new ConfirmPublisher(pub);
    this.#dispatcher.attach(publisher);
    this.#collector.attach(publisher);
  }

  #onInbound(channel: Channel, msg: Message): void {
    const ack = (): void => {
      try {
        channel.ack(msg);
      } catch {
        // Channel gone: the message is redelivered after the reconnect.
      }
    };
    const now = Date.now();
    let key;
    try {
      key = parseRoutingKey(msg.fields.routingKey);
    } catch (err) {
      this.#log.warn('ignoring message', { routingKey: msg.fields.routingKey, error: String(err) });
      ack();
      return;
    }
    const body = parseJsonBody(msg.content, MAX_INBOUND_BYTES);
    if (!body.ok) {
      this.#log.warn('ignoring message', { routingKey: msg.fields.routingKey, error: body.error.message });
      ack();
      return;
    }
    let result: PatchResult;
    switch (key.kind) {
      case 'startup':
      case 'sysinfo':
        result = patchFromSysinfo(key.nodeId, body.value, now);
        break;
      case 'heartbeat':
        result = patchFromHeartbeat(key.nodeId, body.value, now);
        if (!this.#withFacts.has(key.nodeId)) this.#collector.request();
        break;
      case 'shutdown':
        result = patchFromShutdown(key.nodeId, now);
        break;
      case 'execute-reply':
        if (this.#collector.owns(key.requestId)) {
          result = patchFromSysinfo(key.nodeId, body.value, now);
          break;
        }
        if (!this.#dispatcher.onReply(key.requestId, body.value)) {
          this.#log.debug('reply nobody is waiting for', { nodeId: key.nodeId, requestId: key.requestId });
        }
        ack();
        return;
      default:
        ack();
        return;
    }
    if (!result.ok) {
      this.#log.warn('ignoring message', { routingKey: msg.fields.routingKey, error: result.reason });
      ack();
      return;
    }
    if (result.patch.announce) this.#withFacts.add(key.nodeId);
    if (key.kind === 'startup') this.#log.info('node announced', { nodeId: key.nodeId });
    if (key.kind === 'shutdown') this.#log.info('node left', { nodeId: key.nodeId });
    this.#writer?.record(result.patch, ack);
  }

  async stop(): Promise<void> {
    await this.#api?.close();
    this.#dispatcher.close();
    this.#collector.close();
    await this.#writer?.flush();
    await this.#session?.close();
    await this.#db?.destroy();
    this.#log.info('headnode stopped');
  }
}
