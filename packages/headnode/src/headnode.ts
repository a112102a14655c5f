import { randomBytes } from 'node:crypto';
import type { Message } from 'amqplib';
import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import {
  AckBatcher,
  AmqpSession,
  ConfirmPublisher,
  ensureExchange,
  readTlsFiles,
  type SetupContext,
} from '@ur/amqp';
import { readSecretFile } from '@ur/runtime';
import {
  bindings,
  check,
  MessageSigner,
  parseJsonBody,
  parsePrivateKey,
  parseRoutingKey,
  ProgressEventSchema,
  ServiceEventSchema,
  redactRequest,
  type Logger,
  type ReceivedMessage,
} from '@ur/protocol';
import { CommandDispatcher, type CommandJournal } from './command-dispatcher.js';
import { EventBus } from './event-bus.js';
import { expiredRequestId } from './expired-request.js';
import { HookService } from './hooks/hook-service.js';
import { buildApi } from './http/server.js';
import { JobManager } from './jobs/job-manager.js';
import { OutputHub } from './jobs/output-hub.js';
import { InventoryWriter } from './inventory-writer.js';
import { LegacyPinger } from './legacy-pinger.js';
import { LivenessEvaluator } from './liveness-evaluator.js';
import { announcedKey, judgeAnnouncement, judgeReply, NodeKeys, type Judgement } from './node-keys.js';
import {
  patchFromContact,
  patchFromHeartbeat,
  patchFromShutdown,
  patchFromSysinfo,
  type PatchResult,
} from './node-patches.js';
import { compileHeadnodeOptions, type CompiledHeadnodeOptions, type HeadnodeOptions } from './options.js';
import { PgListener } from './pg-listener.js';
import { UnissuedRequests } from './unissued-requests.js';
import { SysinfoCollector } from './sysinfo-collector.js';
import { CommandStore } from './store/command-store.js';
import { CHANNELS } from './store/event-transaction.js';
import { EventStore } from './store/event-store.js';
import { HookStore } from './store/hook-store.js';
import { JobStore } from './store/job-store.js';
import { LivenessStore } from './store/liveness-store.js';
import { NodeKeyStore } from './store/node-key-store.js';
import { NodeStore } from './store/node-store.js';
import { openDatabase } from './store/open-database.js';
import { ReservationStore } from './store/reservation-store.js';
import { ServiceStore } from './store/service-store.js';
import type { Database } from './store/schema.js';
import type { HeadnodeStores } from './store/stores.js';
import { TokenStore } from './store/token-store.js';
import { HEADNODE_VERSION } from './version.js';

/** Inbound messages are large only for sysinfo; anything bigger is dropped. */
const MAX_INBOUND_BYTES = 16 * 1024 * 1024;
/**
 * Inbound messages the broker may push before we ack: batches inventory
 * writes, and keeps messages flowing while a batch commits (a registration
 * storm of 10,000 nodes sends 20,000 messages).
 */
const INBOUND_PREFETCH = 5_000;
/** Jobs: wait before sending again after the broker or the store failed a send. */
const JOB_RETRY_DELAY_MS = 1_000;
/** Jobs: timeout of the cancel commands sent to running nodes. */
const CANCEL_TIMEOUT_SECONDS = 30;
/** Webhooks: events stored within this long of each other are looked at in one pass. */
const HOOK_EVENT_BATCH_MS = 25;
/** Jobs: how often a runner re-reads its rows (a safety net; the bus delivers changes at once). */
const JOB_RECONCILE_INTERVAL_MS = 5_000;

/** An agent's REPLAYED refusal: someone re-published a request; never the answer to ours. */
function isReplayRefusal(body: unknown): boolean {
  return (body as { error?: { code?: unknown } } | null)?.error?.code === 'REPLAYED';
}

/** A service event the store could not take is offered again after this long. */
const EVENT_RETRY_MS = 1_000;

function nack(acks: AckBatcher, msg: Message): void {
  try {
    acks.nack(msg);
  } catch {
    // Channel gone: the message is redelivered after the reconnect.
  }
}

/**
 * The headnode service: consumes announcements, heartbeats and replies from
 * one durable queue (shared with any other headnode on the same broker and
 * database) into the inventory, tracks liveness, and serves the REST API.
 */
export class Headnode {
  /** This process among the headnodes sharing a database: lease holder, ping client id, command issuer. */
  readonly id = `hn-${randomBytes(4).toString('hex')}`;
  readonly #options: CompiledHeadnodeOptions;
  readonly #log: Logger;
  readonly #startedAt = Date.now();
  #db: Kysely<Database> | undefined;
  #stores: HeadnodeStores | undefined;
  #writer: InventoryWriter | undefined;
  #bus: EventBus | undefined;
  #evaluator: LivenessEvaluator | undefined;
  #listener: PgListener | undefined;
  #dispatcher: CommandDispatcher | undefined;
  #jobs: JobManager | undefined;
  #hooks: HookService | undefined;
  readonly #outputs = new OutputHub();
  #collector: SysinfoCollector;
  #pinger: LegacyPinger;
  #keys: NodeKeys | undefined;
  #unissued: UnissuedRequests | undefined;
  /** Nodes flagged for a key mismatch, with the key they offered, so a flood is flagged once. */
  #flagged = new Map<string, string | null>();
  /** Nodes whose sysinfo the store has; a heartbeat from another asks for it. */
  #withFacts = new Set<string>();
  #session: AmqpSession | undefined;
  #api: FastifyInstance | undefined;
  #url = '';

  constructor(options: HeadnodeOptions = {}) {
    this.#options = compileHeadnodeOptions(options);
    this.#log = this.#options.logger.child({ headnode: this.id });
    this.#collector = new SysinfoCollector(this.#options.exchange, this.#log);
    this.#pinger = new LegacyPinger(
      this.#options.exchange,
      this.id,
      (nodeId) => void this.#markDown(nodeId, 'ping unroutable: no agent is listening'),
      this.#log,
    );
  }

  /** The API's base URL, e.g. `http://127.0.0.1:8080`. */
  get url(): string {
    return this.#url;
  }

  get stores(): HeadnodeStores {
    if (!this.#stores) throw new Error('headnode not started');
    return this.#stores;
  }

  /** Node and job events as they are stored, by this headnode or any other sharing the database. */
  get events(): EventBus {
    if (!this.#bus) throw new Error('headnode not started');
    return this.#bus;
  }

  /** The jobs this headnode runs (creates, or took over from a headnode that stopped). */
  get jobs(): JobManager {
    if (!this.#jobs) throw new Error('headnode not started');
    return this.#jobs;
  }

  /** Live output of stream commands, as this headnode receives it. */
  get outputs(): OutputHub {
    return this.#outputs;
  }

  /** True while this headnode holds the liveness lease. */
  get evaluatesLiveness(): boolean {
    return this.#evaluator?.leader ?? false;
  }

  async start(): Promise<void> {
    const o = this.#options;
    // Key and TLS files first: a bad one stops the start before anything is opened.
    const signer = await this.#signer();
    const tls = await readTlsFiles({ caFile: o.tlsCaFile, certFile: o.tlsCertFile, keyFile: o.tlsKeyFile });
    const { db, dialect } = await openDatabase(o.db, this.#log);
    this.#db = db;
    const events = new EventStore(db, dialect);
    const nodes = new NodeStore(db, dialect, events);
    const commands = new CommandStore(db, dialect, events);
    const keys = new NodeKeyStore(db, dialect, events);
    const jobs = new JobStore(db, events);
    const hooks = new HookStore(db);
    this.#unissued = new UnissuedRequests((requestId) => commands.awaitsResult(requestId));
    this.#stores = {
      nodes,
      events,
      commands,
      reservations: new ReservationStore(db, dialect),
      keys,
      tokens: new TokenStore(db),
      jobs,
      hooks,
      services: new ServiceStore(db, dialect, events),
    };
    this.#keys = new NodeKeys(keys, this.#log, { shared: dialect === 'postgres' });
    await this.#keys.load();
    const bus = new EventBus(events, this.#log, { pollIntervalMs: o.eventPollIntervalMs });
    this.#bus = bus;
    events.onCommitted = () => bus.poke();
    await bus.start();
    this.#writer = new InventoryWriter(nodes, commands, this.id, this.#log, {
      afterCommit: () => bus.poke(),
    });
    this.#dispatcher = new CommandDispatcher(
      o.exchange,
      o.replyMarginMs,
      this.#log,
      this.#journal(commands),
      signer,
    );
    for (const row of await nodes.list()) if (row.hostname !== null) this.#withFacts.add(row.id);
    this.#log.info('store open', { dialect });
    if (signer) {
      this.#log.info('signing commands', { publicKey: signer.publicKey.text, keyId: signer.publicKey.id });
    } else {
      this.#log.warn(
        'no --signing-key: commands are sent UNSIGNED; agents with trusted keys will refuse them (UNSIGNED)',
      );
    }

    const liveness = new LivenessStore(db, dialect, events, {
      downAfterMs: o.downAfterMs,
      defaultHeartbeatIntervalMs: o.heartbeatIntervalMs,
    });
    this.#evaluator = new LivenessEvaluator(
      { liveness, nodes, commands, events, jobs, hooks },
      this.#pinger,
      bus,
      this.#log,
      {
        holder: this.id,
        startedAt: this.#startedAt,
        intervalMs: o.livenessIntervalMs,
        leaseTtlMs: o.leaseTtlMs,
        pingIntervalMs: o.heartbeatIntervalMs,
        commandGraceMs: o.replyMarginMs,
        retentionMs: o.retentionMs,
        jobRetentionCount: o.jobRetentionCount,
        jobRetentionMs: o.jobRetentionMs,
      },
    );
    // Before consuming: after a restart with nobody watching, stored nodes
    // are `unknown` from the first moment, not `down`.
    await this.#evaluator.tick();
    this.#evaluator.start();

    if (dialect === 'postgres') {
      this.#listener = new PgListener({
        url: o.db,
        channels: [CHANNELS.events, CHANNELS.commands],
        logger: this.#log,
        onNotify: (channel, payload) => {
          if (channel === CHANNELS.events) bus.poke();
          else void this.#answerFromStore(payload.split(','));
        },
        onListening: () => {
          bus.poke();
          void this.#answerFromStore(this.#dispatcher?.pendingIds ?? []);
        },
      });
      await this.#listener.start();
    }

    const session = new AmqpSession({
      url: o.amqpUrl,
      connectionName: `ur-headnode ${o.queue} ${this.id}`,
      logger: this.#log,
      tls,
      setup: (ctx) => this.#setup(ctx),
    });
    this.#session = session;
    session.on('disconnect', () => {
      this.#dispatcher?.attach(undefined);
      this.#collector.attach(undefined);
      this.#pinger.attach(undefined);
    });
    await session.start();

    // After the broker connection: jobs taken over start sending at once.
    this.#jobs = new JobManager(
      {
        jobs,
        commands,
        nodes,
        dispatcher: this.#dispatcher,
        bus,
        logger: this.#log,
        recordProgress: (requestId, state) => this.#writer?.recordProgress(requestId, state),
      },
      {
        owner: this.id,
        leaseTtlMs: o.leaseTtlMs,
        resumeWindowMs: o.jobResumeWindowMs,
        defaultTimeoutSeconds: o.defaultTimeoutSeconds,
        retryDelayMs: JOB_RETRY_DELAY_MS,
        cancelTimeoutSeconds: CANCEL_TIMEOUT_SECONDS,
        reconcileIntervalMs: JOB_RECONCILE_INTERVAL_MS,
      },
    );
    await this.#jobs.start();
    this.#hooks = new HookService(hooks, events, this.#log, {
      concurrency: o.hookConcurrency,
      timeoutMs: o.hookTimeoutMs,
      retryForMs: o.hookRetryForMs,
      backoffMs: o.hookBackoffMs,
      maxBackoffMs: o.hookMaxBackoffMs,
      userAgent: `ur-headnode/${HEADNODE_VERSION}`,
      pollIntervalMs: Math.min(1_000, o.hookBackoffMs),
      eventBatchMs: HOOK_EVENT_BATCH_MS,
      isLeader: () => this.#evaluator?.leader ?? false,
    });
    this.#hooks.start(bus);

    this.#api = await buildApi({
      stores: this.#stores,
      dispatcher: this.#dispatcher,
      jobs: this.#jobs,
      headnodeId: this.id,
      defaultTimeoutSeconds: o.defaultTimeoutSeconds,
      brokerConnected: () => session.connected,
      keyChanged: (nodeId, publicKey) => {
        this.#keys?.remember(nodeId, publicKey);
        this.#flagged.delete(nodeId);
        this.#bus?.poke();
        // Facts announced meanwhile were not recorded: ask for them again.
        this.#collector.request();
      },
      logger: this.#log,
      bus,
      outputs: this.#outputs,
      hooks: this.#hooks,
    });
    const address = await this.#api.listen({ host: o.host, port: o.port });
    this.#url = address.replace('[::1]', 'localhost');
    this.#log.info('headnode listening', { url: this.#url, version: HEADNODE_VERSION, id: this.id });
  }

  /** The key commands are signed with, if one is configured. */
  async #signer(): Promise<MessageSigner | undefined> {
    const o = this.#options;
    if (o.signingKeyFile === undefined) return undefined;
    return new MessageSigner(
      parsePrivateKey(await readSecretFile(o.signingKeyFile), o.signingKeyFile),
      o.signatureLifetimeMs,
    );
  }

  #journal(commands: CommandStore): CommandJournal {
    // Job rows' changes are events: the bus wakes on their commit (EventStore.onCommitted).
    return {
      issued: (requestId, nodeId, request, deadline) =>
        commands.issue({
          requestId,
          nodeId,
          type: request.type,
          // Secret env values never reach the store (nor the command API).
          request: redactRequest(request),
          issuedBy: this.id,
          issuedAt: Date.now(),
          deadline,
        }),
      unroutable: async (requestId, nodeId) => {
        await commands.finish(
          requestId,
          'offline',
          this.id,
          Date.now(),
          'no agent is listening for the node (unroutable); nothing was run',
        );
        await this.#markDown(nodeId, 'command unroutable: no agent is listening');
      },
      timedOut: async (requestId) => {
        if (await commands.finish(requestId, 'timed_out', this.id)) return undefined;
        const row = await commands.get(requestId);
        return row?.status === 'done' && row.reply !== null ? (JSON.parse(row.reply) as unknown) : undefined;
      },
    };
  }

  /** Answers local callers whose replies another headnode consumed and recorded. */
  async #answerFromStore(requestIds: readonly string[]): Promise<void> {
    const dispatcher = this.#dispatcher;
    if (!dispatcher || !this.#stores) return;
    const mine = new Set(dispatcher.pendingIds);
    const wanted = requestIds.filter((id) => mine.has(id));
    if (wanted.length === 0) return;
    try {
      for (const row of await this.#stores.commands.getMany(wanted)) {
        if (row.status === 'done' && row.reply !== null)
          dispatcher.onReply(row.request_id, JSON.parse(row.reply));
      }
    } catch (err) {
      this.#log.warn('reading recorded replies failed', { error: String(err) });
    }
  }

  async #markDown(nodeId: string, reason: string): Promise<void> {
    try {
      if (await this.stores.nodes.markStatus(nodeId, 'down', reason, ['left'])) {
        this.#log.info('node down', { nodeId, reason });
        this.#bus?.poke();
      }
    } catch (err) {
      this.#log.warn('marking a node down failed', { nodeId, error: String(err) });
    }
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
      bindings.allExpired,
      bindings.allEvents,
    ]) {
      await ch.bindQueue(o.queue, o.exchange, pattern);
    }
    // Replies of a broadcast arrive by the hundred: their acks go out together.
    const inbound = new AckBatcher(ch);
    await ch.consume(o.queue, (msg) => {
      if (!msg) return;
      inbound.delivered(msg);
      this.#onInbound(inbound, msg);
    });
    // Ping answers come to this process only (its client id is in the key).
    const acks = await ch.assertQueue('', { exclusive: true, autoDelete: true });
    await ch.bindQueue(acks.queue, o.exchange, bindings.acksFor(this.id));
    await ch.consume(acks.queue, (msg) => msg && this.#onAck(msg), { noAck: true });
    // Progress events are transient (live state and output): every headnode
    // gets them all on its own queue, so no headnode's death loses durable work.
    const progress = await ch.assertQueue('', { exclusive: true, autoDelete: true });
    await ch.bindQueue(progress.queue, o.exchange, bindings.allProgress);
    await ch.consume(progress.queue, (msg) => msg && this.#onProgress(msg), { noAck: true });
    const publisher = new ConfirmPublisher(pub);
    this.#dispatcher?.attach(publisher);
    this.#collector.attach(publisher);
    this.#pinger.attach(publisher);
  }

  #onAck(msg: Message): void {
    try {
      const key = parseRoutingKey(msg.fields.routingKey);
      if (key.kind === 'ack')
        this.#writer?.record(patchFromContact(key.nodeId, Date.now(), 'answered a ping'));
    } catch {
      // not an ack key: ignore
    }
  }

  #onProgress(msg: Message): void {
    let key;
    try {
      key = parseRoutingKey(msg.fields.routingKey);
    } catch {
      return;
    }
    if (key.kind !== 'execute-progress') return;
    const body = parseJsonBody(msg.content, MAX_INBOUND_BYTES);
    if (!body.ok) return;
    this.#dispatcher?.onProgress(key.requestId, body.value);
    const event = check(ProgressEventSchema, body.value);
    if (event.ok && event.value.request_id === key.requestId) this.#outputs.publish(event.value);
  }

  #onInbound(acks: AckBatcher, msg: Message): void {
    const ack = (): void => {
      try {
        acks.ack(msg);
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
    if (key.kind === 'expired') {
      // The body is the request itself; only its id matters.
      const requestId = expiredRequestId(msg.properties);
      if (requestId === undefined) {
        ack();
        return;
      }
      if (!this.#dispatcher?.onExpired(requestId)) {
        this.#log.debug('expired request nobody here is waiting for', { nodeId: key.nodeId, requestId });
      }
      // Recorded by whichever headnode consumed it, like a reply.
      const recording =
        this.#stores?.commands.finish(requestId, 'expired', this.id) ?? Promise.resolve(false);
      recording
        .catch((err: unknown) =>
          this.#log.warn('recording an expired command failed', { requestId, error: String(err) }),
        )
        .finally(ack);
      return;
    }
    const body = parseJsonBody(msg.content, MAX_INBOUND_BYTES);
    if (!body.ok) {
      this.#log.warn('ignoring message', { routingKey: msg.fields.routingKey, error: body.error.message });
      ack();
      return;
    }
    if (key.kind === 'event') {
      void this.#onNodeEvent(key.nodeId, key.name, body.value, msg.fields.routingKey).then((done) => {
        if (done) ack();
        else setTimeout(() => nack(acks, msg), EVENT_RETRY_MS).unref();
      });
      return;
    }
    const received: ReceivedMessage = {
      routingKey: msg.fields.routingKey,
      body: msg.content,
      headers: msg.properties.headers,
    };
    switch (key.kind) {
      case 'startup':
        this.#announcement(key.nodeId, key.kind, received, body.value, now, 'announced', ack);
        return;
      case 'sysinfo':
        this.#announcement(key.nodeId, key.kind, received, body.value, now, 'sent sysinfo', ack);
        return;
      case 'heartbeat':
        if (!this.#withFacts.has(key.nodeId)) this.#collector.request();
        this.#apply(key.kind, key.nodeId, patchFromHeartbeat(key.nodeId, body.value, now), ack);
        return;
      case 'shutdown':
        this.#apply(key.kind, key.nodeId, patchFromShutdown(key.nodeId, body.value, now), ack);
        return;
      case 'execute-reply':
        if (this.#collector.owns(key.requestId)) {
          this.#announcement(key.nodeId, 'sysinfo', received, body.value, now, 'sent sysinfo', ack);
          return;
        }
        if (isReplayRefusal(body.value)) {
          this.#log.warn('a request was published again (replayed) to a node; it refused it', {
            nodeId: key.nodeId,
            requestId: key.requestId,
          });
          ack();
          return;
        }
        this.#ifIssued(
          key.nodeId,
          key.requestId,
          () => this.#reply(key.nodeId, key.requestId, received, body.value, now, ack),
          ack,
        );
        return;
      default:
        ack();
        return;
    }
  }

  /**
   * A sysinfo (startup, sysinfo, or the answer to a sysinfo broadcast): its
   * facts are recorded only if the node's pinned key signed it (the first
   * one a node announces is pinned).
   */
  #announcement(
    nodeId: string,
    kind: 'startup' | 'sysinfo',
    received: ReceivedMessage,
    body: unknown,
    now: number,
    reason: string,
    ack: () => void,
  ): void {
    const announced = announcedKey(body);
    this.#keys?.check(
      nodeId,
      (pinned) => judgeAnnouncement(pinned, received, announced),
      (verdict) => {
        if (!verdict.ok) {
          this.#untrusted(nodeId, kind, verdict);
          ack();
          return;
        }
        const result = patchFromSysinfo(nodeId, body, now, reason);
        if (result.ok && typeof announced === 'string') this.#keys?.remember(nodeId, announced);
        this.#apply(kind, nodeId, result, ack);
      },
    );
  }

  /**
   * A reply is judged and recorded (`handle`) only if it answers a command:
   * one a caller here waits for, or one the store holds as sent (another
   * headnode's, or one sent before this headnode restarted). Replies to
   * requests no headnode issued (another tool's broadcast ping) are dropped
   * unchecked: their signature checks were a third of the headnode's CPU
   * while 100 nodes answered broadcasts.
   */
  #ifIssued(nodeId: string, requestId: string, handle: () => void, ack: () => void): void {
    const unissued = this.#unissued;
    if (this.#dispatcher?.awaits(requestId) || !unissued) {
      handle();
      return;
    }
    unissued.issued(requestId).then(
      (issued) => {
        if (issued) handle();
        else {
          this.#log.debug('reply to a request no headnode awaits; dropped', { nodeId, requestId });
          ack();
        }
      },
      // The writer retries what the store refuses; this reply takes the usual path.
      handle,
    );
  }

  /** A command's reply: answers the local caller and is recorded, if the node's pinned key signed it. */
  #reply(
    nodeId: string,
    requestId: string,
    received: ReceivedMessage,
    body: unknown,
    now: number,
    ack: () => void,
  ): void {
    this.#keys?.check(
      nodeId,
      (pinned) => judgeReply(pinned, received),
      (verdict) => {
        if (!verdict.ok) {
          this.#dispatcher?.onUntrustedReply(requestId, verdict.reason);
          this.#untrusted(nodeId, 'execute-reply', verdict);
          ack();
          return;
        }
        // Answer a local caller at once; the store records the reply for
        // every headnode (and the ack waits for that).
        this.#dispatcher?.onReply(requestId, body);
        this.#writer?.recordReply(
          { requestId, body },
          patchFromContact(nodeId, now, 'replied to a command'),
          ack,
        );
      },
    );
  }

  /** A message the node's key did not sign: not recorded; the node is flagged (once per offered key). */
  #untrusted(nodeId: string, kind: string, verdict: Exclude<Judgement, { ok: true }>): void {
    this.#log.warn('message not signed by the node key; not recorded', {
      nodeId,
      message: kind,
      reason: verdict.reason,
      offeredKey: verdict.offered,
    });
    if (this.#flagged.has(nodeId) && this.#flagged.get(nodeId) === verdict.offered) return;
    this.#flagged.set(nodeId, verdict.offered);
    this.#stores?.keys
      .flagMismatch(nodeId, { offered: verdict.offered, message: kind, reason: verdict.reason })
      .then((news) => {
        if (news) this.#bus?.poke();
      })
      .catch((err: unknown) => {
        this.#flagged.delete(nodeId);
        this.#log.warn('flagging a key mismatch failed', { nodeId, error: String(err) });
      });
  }

  #apply(kind: string, nodeId: string, result: PatchResult, ack: () => void): void {
    if (!result.ok) {
      this.#log.warn('ignoring message', { nodeId, message: kind, error: result.reason });
      ack();
      return;
    }
    if (result.patch.announce) this.#withFacts.add(nodeId);
    if (kind === 'startup') this.#log.info('node announced', { nodeId });
    if (kind === 'shutdown') this.#log.info('node left', { nodeId });
    this.#writer?.record(result.patch, ack, kind === 'heartbeat');
  }

  /** `ur.event.<node>.<name>`: service transitions go into the inventory (and the event log). */
  async #onNodeEvent(nodeId: string, name: string, body: unknown, routingKey: string): Promise<boolean> {
    if (name !== 'service') {
      this.#log.debug('ignoring an event of a kind this headnode does not know', { routingKey });
      return true;
    }
    const checked = check(ServiceEventSchema, body);
    if (!checked.ok || checked.value.node_id !== nodeId) {
      const error = checked.ok ? 'node_id does not match the routing key' : checked.error.message;
      this.#log.warn('ignoring message', { routingKey, error });
      return true;
    }
    try {
      await this.stores.services.record(nodeId, checked.value);
      this.#bus?.poke();
      return true;
    } catch (err) {
      // Left queued: offered again (to this or another headnode) a moment later.
      this.#log.warn('recording a service event failed; it is retried', { nodeId, error: String(err) });
      return false;
    }
  }

  /** Graceful stop: finishes writes, hands the liveness lease to a peer, closes everything. */
  async stop(): Promise<void> {
    await this.#api?.close();
    // Before the dispatcher: nothing is left half-sent, and the jobs are handed over.
    await this.#jobs?.stop();
    await this.#hooks?.stop();
    this.#dispatcher?.close();
    this.#collector.close();
    await this.#evaluator?.stop();
    await this.#writer?.flush();
    await this.#session?.close();
    await this.#listener?.stop();
    await this.#bus?.stop();
    await this.#db?.destroy();
    this.#log.info('headnode stopped');
  }
}
