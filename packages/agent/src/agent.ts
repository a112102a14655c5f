import type { Launcher } from './launch/launcher.js';
import { nodeLauncher } from './launch/node-launcher.js';
import { SpawnHelper } from './launch/spawn-helper.js';
import { spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import type { Channel, ConsumeMessage, Message } from 'amqplib';
import {
  AmqpSession,
  ConfirmPublisher,
  ensureExchange,
  jsonMessage,
  readTlsFiles,
  type SetupContext,
} from '@ur/amqp';
import {
  ackKey,
  bindings,
  checkPingRequest,
  decodeExecuteRequest,
  eventKey,
  executeProgressKey,
  executeReplyKey,
  heartbeatKey,
  parseJsonBody,
  parseRoutingKey,
  PROTOCOL_VERSION,
  REQUEST_TYPES,
  shutdownKey,
  startupKey,
  sysinfoKey,
  isWord,
  MessageSigner,
  RequestVerifier,
  SIGNATURE_HEADERS,
  type CancelResult,
  type ErrorBody,
  type ExecuteReply,
  type ExecuteRequest,
  type Heartbeat,
  type Logger,
  type PingAck,
  type PublicKey,
  type ServiceEvent,
  type Shutdown,
  type Sysinfo,
  type UrAgentInfo,
} from '@ur/protocol/wire';
import { loadOrCreateAgentKey } from './agent-key.js';
import { statusDocument, type AgentStatus, type ConnectionState } from './agent-status.js';
import { ArtifactStore } from './artifacts/artifact-store.js';
import { emptyReply, errorReply, REBOOT_EXIT_STATUS } from './command-reply.js';
import { RequestQueueInUseError } from './errors.js';
import { Journal, type JournalEntry } from './journal/journal.js';
import { currentBootId, processIdentity } from './journal/process-identity.js';
import { acquireStateLock } from './journal/state-lock.js';
import { resolveNodeId } from './node-id.js';
import { compileAgentOptions, type AgentOptions, type CompiledAgentOptions } from './options.js';
import { recoverInterrupted } from './recovery.js';
import { RequestGuard } from './request-guard.js';
import { replyMessage } from './reply-message.js';
import { ReplyOutbox, type OutboxMessage } from './reply-outbox.js';
import { ensureRequestQueue, requestQueueOptions } from './request-queue.js';
import { ServiceSupervisor } from './services/service-supervisor.js';
import { StatusServer } from './status-server.js';
import type { CommandContext, CommandHandler, RequestControl, RunningCommand } from './commands/command.js';
import { commandHandlers } from './commands/handlers.js';
import { noProgress, ProgressReporter } from './progress-reporter.js';
import { baseSysinfo, probeSysinfo, readSysinfoFile } from './sysinfo.js';
import { readTrustedKeys } from './trusted-keys.js';
import { AGENT_APP_ID, AGENT_VERSION } from './version.js';

/** What the agent answers besides execute request types. */
const EXTRA_CAPABILITIES = ['ping', 'broadcast.ping', 'broadcast.sysinfo', 'heartbeat', 'shutdown'];

/** How long a request waits before it is offered again when the journal cannot be written. */
const JOURNAL_RETRY_MS = 1_000;

/** AMQP reply codes of the broker's refusals that mean "another agent has this node id". */
const RESOURCE_LOCKED = 405;
const ACCESS_REFUSED = 403;

/** Validity of the agent's own signatures (the headnode checks who signed, not when). */
const SIGNATURE_LIFETIME_MS = 60_000;

interface Consumer {
  channel: Channel;
  tag: string;
}

/** A request from acceptance until its reply is stored. */
interface Job {
  requestId: string;
  type: string;
  startedAt: Date;
  command: RunningCommand | undefined;
  pgid: number | undefined;
  /** The handler's reply has come: too late to cancel. */
  settled: boolean;
  cancelledBy: string | undefined;
  /** Resolves once the reply is stored in the journal. */
  ended: Promise<void>;
  end: () => void;
}

/** Another agent process holds this node id's queues. */
function isDuplicateNodeError(err: unknown): boolean {
  if (err instanceof RequestQueueInUseError) return true;
  const code = (err as { code?: unknown } | null)?.code;
  return code === RESOURCE_LOCKED || code === ACCESS_REFUSED;
}

/**
 * The node agent: announces itself, runs what arrives on
 * `ur.execute.<node-id>.<request-id>` and replies, exactly once per request
 * id (see the package README for the guarantees and the journal). Create,
 * `start()`, and `stop()` for a graceful shutdown. Many agents can live in
 * one process, each with its own prefix.
 */
export class Agent implements RequestControl {
  readonly #options: CompiledAgentOptions;
  readonly #log: Logger;
  readonly #running = new Map<string, Job>();
  readonly #startedAt = new Date();
  readonly #artifacts: ArtifactStore;
  #services: ServiceSupervisor | undefined;
  #nodeId = '';
  #sysinfo: Sysinfo | undefined;
  #session: AmqpSession | undefined;
  #publisher: ConfirmPublisher | undefined;
  #consumer: Consumer | undefined;
  #outbox: ReplyOutbox;
  #journal: Journal | undefined;
  #releaseLock: (() => Promise<void>) | undefined;
  #statusServer: StatusServer | undefined;
  #heartbeatTimer: NodeJS.Timeout | undefined;
  #heartbeatSeq = 0;
  #announcedStartup = false;
  /** Settles once the first startup message was confirmed or failed. */
  #startupSent: Promise<void> | undefined;
  /** Kills the hardware probe's child when the agent stops before it finished. */
  readonly #probeAbort = new AbortController();
  #problem: string | undefined;
  #bootId: string | undefined;
  #stopping: Promise<void> | undefined;
  #stopped = false;
  #signer: MessageSigner | undefined;
  readonly #guard = new RequestGuard(undefined);
  readonly #launch: Launcher;

  constructor(options: AgentOptions = {}) {
    this.#options = compileAgentOptions(options);
    this.#log = this.#options.logger;
    this.#launch =
      this.#options.spawnHelper === undefined
        ? nodeLauncher
        : SpawnHelper.at(this.#options.spawnHelper, this.#log).launch;
    this.#outbox = new ReplyOutbox(this.#options.exchange);
    this.#artifacts = new ArtifactStore({
      ...this.#options.artifacts,
      prefix: this.#options.prefix,
      userAgent: AGENT_APP_ID,
      logger: this.#log,
      isInUse: (coordinate) => this.#services?.usesArtifact(coordinate) ?? false,
      onChange: (installed) => {
        if (!this.#sysinfo) return;
        this.#sysinfo = { ...this.#sysinfo, 'Ur Artifacts': installed };
        void this.#announce(false);
      },
    });
  }

  get nodeId(): string {
    return this.#nodeId;
  }

  get requestQueue(): string {
    return `ur.request.${this.#nodeId}`;
  }

  get liveQueue(): string {
    return `ur.live.${this.#nodeId}`;
  }

  status(): AgentStatus {
    const connected = this.#session?.connected ?? false;
    let connection: ConnectionState = 'connecting';
    if (this.#stopped) connection = 'stopped';
    else if (connected) connection = 'connected';
    else if (this.#announcedStartup) connection = 'reconnecting';
    const journal = this.#journal;
    return {
      nodeId: this.#nodeId,
      version: AGENT_VERSION,
      connection,
      connected,
      problem: this.#problem,
      running: this.#running.size,
      commands: [...this.#running.values()].map((job) => ({
        requestId: job.requestId,
        type: job.type,
        startedAt: job.startedAt.toISOString(),
        pgid: job.pgid,
      })),
      outbox: this.#outbox.size,
      requestSigning: this.#guard.verifier ? 'enforced' : 'off',
      trustedKeys: this.#guard.verifier?.keys.map((k) => k.id) ?? [],
      publicKey: this.#signer?.publicKey.text,
      journal: journal ? { ...journal.stats(), path: journal.path } : undefined,
      services: this.#services?.brief() ?? [],
      startedAt: this.#startedAt.toISOString(),
    };
  }

  /**
   * Opens the journal, answers what a crashed predecessor left unanswered,
   * connects, sets up queues and announces; resolves once the startup message
   * is out.
   */
  async start(): Promise<void> {
    const o = this.#options;
    await mkdir(this.#scriptDir, { recursive: true, mode: 0o700 });
    const fixed =
      o.sysinfo ?? (o.sysinfoFile !== undefined ? await readSysinfoFile(o.sysinfoFile) : undefined);
    const fixedUuid = typeof fixed?.UUID === 'string' && isWord(fixed.UUID) ? fixed.UUID : undefined;
    this.#nodeId = o.nodeId ?? fixedUuid ?? (await resolveNodeId(join(o.stateDir, 'node-id')));
    const signer = await this.#loadKeys();
    const agentInfo: UrAgentInfo = {
      version: AGENT_VERSION,
      protocol: PROTOCOL_VERSION,
      capabilities: [...REQUEST_TYPES, ...EXTRA_CAPABILITIES],
      started_at: this.#startedAt.toISOString(),
      heartbeat_interval_s: o.heartbeatIntervalMs / 1000,
      public_key: signer.publicKey.text,
      verifies_requests: this.#guard.verifier !== undefined,
    };
    // The journal takes the prefix's lock first: only then may the artifact
    // store clean up staging left by a crash (another agent's would be live).
    await this.#openJournal();
    await this.#artifacts.open();
    await this.#openServices();
    this.#sysinfo = {
      ...(fixed !== undefined
        ? { ...fixed, UUID: this.#nodeId, 'Ur Agent': agentInfo }
        : baseSysinfo(this.#nodeId, agentInfo)),
      'Ur Artifacts': this.#artifacts.summaries(),
    };
    agentInfo.console_port = null;
    if (o.statusPort !== 0) {
      this.#statusServer = new StatusServer(() => statusDocument(this.status()), this.#log);
      // The inventory shows where to look on the node (the status endpoint is local-only).
      if (await this.#statusServer.listen(o.statusPort)) agentInfo.console_port = o.statusPort;
    }

    const session = new AmqpSession({
      url: o.amqpUrl,
      connectionName: `ur-agent ${this.#nodeId}`,
      logger: this.#log,
      tls: await readTlsFiles({ caFile: o.tlsCaFile, certFile: o.tlsCertFile, keyFile: o.tlsKeyFile }),
      reconnectInitialDelayMs: o.reconnectInitialDelayMs,
      reconnectMaxDelayMs: o.reconnectMaxDelayMs,
      setup: (ctx) => this.#setup(ctx),
    });
    this.#session = session;
    session.on('connect', () => this.#onConnect());
    session.on('disconnect', () => {
      this.#publisher = undefined;
      this.#consumer = undefined;
      this.#outbox.detach();
    });
    await session.start();

    this.#heartbeatTimer = setInterval(() => this.#heartbeat(), o.heartbeatIntervalMs);
    this.#heartbeatTimer.unref();
    if (fixed === undefined && o.probeHardware) {
      // Only once the startup message is out: the probe's fork blocks the
      // event loop (~10 ms on a slow VM) and would hold that message back.
      void (this.#startupSent ?? Promise.resolve()).then(() => this.#probeHardware());
    }
  }

  #probeHardware(): void {
    if (this.#stopped || this.#stopping) return;
    const base = this.#sysinfo;
    if (!base) return;
    probeSysinfo(base, this.#probeAbort.signal)
      .then((full) => {
        this.#sysinfo = { ...full, 'Ur Artifacts': this.#artifacts.summaries() };
        void this.#announce(false);
      })
      .catch((err: unknown) => {
        if (this.#probeAbort.signal.aborted) this.#log.debug('hardware probe stopped with the agent');
        else this.#log.warn('hardware probe failed', { error: String(err) });
      });
  }

  /**
   * The agent's own key (signs everything it publishes) and the keys whose
   * signed requests it runs. Without trusted keys it runs unsigned requests,
   * as Ur did, and says so loudly: here, in sysinfo and on the status page.
   */
  async #loadKeys(): Promise<MessageSigner> {
    const o = this.#options;
    const { key, created } = await loadOrCreateAgentKey(o.keyFile);
    const signer = new MessageSigner(key, SIGNATURE_LIFETIME_MS);
    this.#signer = signer;
    if (created) {
      this.#log.info('generated the agent key', { path: o.keyFile, publicKey: signer.publicKey.text });
    }
    const trusted =
      o.trustedKeys ??
      (o.trustedKeysFile !== undefined ? await readTrustedKeys(o.trustedKeysFile) : undefined);
    this.#trust(trusted);
    return signer;
  }

  #trust(keys: PublicKey[] | undefined): void {
    const o = this.#options;
    this.#guard.replace(
      keys && new RequestVerifier(keys, { clockSkewMs: o.clockSkewMs, maxLifetimeMs: o.journalRetentionMs }),
    );
    if (keys) {
      this.#log.info('running only requests signed by a trusted key', { keys: keys.map((k) => k.id) });
    } else {
      this.#log.warn(
        'COMPATIBLE MODE: no trusted keys (--trusted-keys), so this agent runs UNSIGNED requests from anyone ' +
          'who can publish to the broker; the node is unprotected',
        { nodeId: this.#nodeId },
      );
    }
  }

  /**
   * Reads the trusted-keys file again (key rotation, e.g. on SIGHUP). A file
   * that cannot be read leaves the current keys in place.
   */
  async reloadTrustedKeys(): Promise<void> {
    const file = this.#options.trustedKeysFile;
    if (file === undefined) {
      this.#log.warn('no trusted-keys file to reload');
      return;
    }
    try {
      this.#trust(await readTrustedKeys(file));
    } catch (err) {
      this.#log.error('trusted keys not reloaded; keeping the current ones', { error: String(err) });
    }
  }

  /**
   * Re-adopts the services a previous agent left running and brings the
   * others to their desired state; their events wait in the outbox until
   * connected. Needs the journal's lock (one agent per prefix).
   */
  async #openServices(): Promise<void> {
    const o = this.#options;
    const services = new ServiceSupervisor({
      prefix: o.prefix,
      stateDir: o.stateDir,
      nodeId: this.#nodeId,
      bootId: this.#bootId,
      artifacts: this.#artifacts,
      user: o.services.user,
      logMaxBytes: o.services.logMaxBytes,
      logFiles: o.services.logFiles,
      net: {
        connectTimeoutMs: o.artifacts.connectTimeoutMs,
        idleTimeoutMs: o.artifacts.idleTimeoutMs,
        retries: o.artifacts.retries,
        retryDelayMs: o.artifacts.retryDelayMs,
        maxDownloadBytes: o.artifacts.maxDownloadBytes,
        maxUnpackedBytes: o.artifacts.maxUnpackedBytes,
        maxEntries: o.artifacts.maxEntries,
        userAgent: AGENT_APP_ID,
      },
      logger: this.#log,
      publish: (event) => this.#publishServiceEvent(event),
    });
    this.#services = services;
    await services.open();
  }

  /** Service transitions go through the confirmed outbox: re-sent after a reconnect, in order. */
  #publishServiceEvent(event: ServiceEvent): void {
    void this.#outbox.send({
      routingKey: eventKey(this.#nodeId, 'service'),
      message: jsonMessage(event, { appId: AGENT_APP_ID, type: 'service-event', persistent: true }),
    });
  }

  get #scriptDir(): string {
    return join(this.#options.stateDir, 'run');
  }

  get #journalDir(): string {
    return join(this.#options.stateDir, 'journal');
  }

  /**
   * Takes the journal (one agent per prefix), queues the replies the broker
   * never confirmed, and answers INTERRUPTED for requests that were running
   * when the previous agent process died. All of it is sent once connected.
   */
  async #openJournal(): Promise<void> {
    const o = this.#options;
    await mkdir(this.#journalDir, { recursive: true, mode: 0o700 });
    this.#bootId = await currentBootId();
    const release = await acquireStateLock(join(this.#journalDir, 'lock'));
    let journal: Journal;
    try {
      journal = await Journal.open({
        dir: this.#journalDir,
        maxEntries: o.journalMaxEntries,
        retentionMs: o.journalRetentionMs,
        maxReplyBytes: o.journalMaxReplyBytes,
        logger: this.#log,
      });
    } catch (err) {
      await release();
      throw err;
    }
    this.#releaseLock = release;
    this.#journal = journal;
    const unsent = journal.unsent();
    for (const id of unsent) {
      const stored = await journal.reply(id);
      if (!stored) continue;
      void this.#outbox.send({
        routingKey: stored.routingKey,
        message: replyMessage(id, stored.reply, stored.messageId),
        confirmed: () => journal.sent(id),
      });
    }
    if (unsent.length > 0) this.#log.info('replies waiting to be sent', { count: unsent.length });
    for (const { entry, reply } of await recoverInterrupted(
      journal,
      this.#scriptDir,
      o.killGraceMs,
      this.#log,
    )) {
      void this.#outbox.send(await this.#storeReply(entry.id, reply));
    }
  }

  async #setup(ctx: SetupContext): Promise<void> {
    const o = this.#options;
    const id = this.#nodeId;
    const pub = await ctx.confirmChannel();
    await ensureExchange(pub, o.exchange);
    const signer = this.#signer;
    // Everything the agent publishes is signed, at publish time (a resent reply gets a fresh signature).
    const publisher = new ConfirmPublisher(pub, {
      headers: signer && ((routingKey, content) => signer.headers(routingKey, content)),
    });
    const queue = {
      queue: this.requestQueue,
      exchange: o.exchange,
      nodeId: id,
      expiresMs: o.requestQueueExpiryMs,
    };
    const ch = await ctx.channel();
    let consumerTag: string;
    try {
      await ensureRequestQueue(
        ctx.connection,
        queue,
        (channel, msg) => this.#handleRequest(channel, msg),
        this.#log,
      );
      await ch.prefetch(o.prefetch);
      // Durable with an expiry: requests published during a short disconnect
      // wait here instead of being lost as they were with Ur's exclusive queue.
      await ch.assertQueue(this.requestQueue, requestQueueOptions(queue));
      await ch.bindQueue(this.requestQueue, o.exchange, bindings.executeFor(id));
      await ch.assertQueue(this.liveQueue, { exclusive: true, autoDelete: true });
      ({ consumerTag } = await ch.consume(this.requestQueue, (msg) => this.#onRequest(ch, msg), {
        exclusive: true,
      }));
    } catch (err) {
      if (isDuplicateNodeError(err)) {
        this.#problem = `another agent with node id ${id} is connected to the broker; this one runs nothing until it is gone`;
        this.#log.error('another agent with this node id is connected; not taking requests, retrying', {
          nodeId: id,
          error: (err as Error).message,
        });
      }
      throw err;
    }
    await ch.bindQueue(this.liveQueue, o.exchange, bindings.pingFor(id));
    await ch.bindQueue(this.liveQueue, o.exchange, bindings.allBroadcasts);
    await ch.consume(this.liveQueue, (msg) => this.#onLive(msg), { noAck: true });
    this.#publisher = publisher;
    this.#consumer = { channel: ch, tag: consumerTag };
  }

  #onConnect(): void {
    this.#problem = undefined;
    if (this.#publisher) this.#outbox.attach(this.#publisher);
    const sent = this.#announce(!this.#announcedStartup);
    if (!this.#announcedStartup) this.#startupSent = sent;
    this.#announcedStartup = true;
  }

  /** Publishes sysinfo (and the startup message); settles once the broker confirmed them or they failed. */
  #announce(startup: boolean): Promise<void> {
    const info = this.#sysinfo;
    if (!info) return Promise.resolve();
    const first = startup ? this.#publish(startupKey(this.#nodeId), info, 'startup') : Promise.resolve();
    const second = this.#publish(sysinfoKey(this.#nodeId, `${Date.now()}`), info, 'sysinfo');
    return Promise.all([first, second]).then(() => undefined);
  }

  /**
   * Publishes a message that is not journaled; resolves once the broker confirmed it or it failed.
   * Best effort: announcements, heartbeats and progress are superseded by what follows them.
   */
  async #publish(routingKey: string, body: unknown, type: string, correlationId?: string): Promise<void> {
    const publisher = this.#publisher;
    if (!publisher) return;
    try {
      await publisher.publish(
        this.#options.exchange,
        routingKey,
        jsonMessage(body, { appId: AGENT_APP_ID, type, correlationId }),
      );
    } catch (err) {
      this.#log.debug('publish failed', { routingKey, error: String(err) });
    }
  }

  #heartbeat(): void {
    const [l1 = 0, l5 = 0, l15 = 0] = os.loadavg();
    const beat: Heartbeat = {
      type: 'heartbeat',
      node_id: this.#nodeId,
      seq: this.#heartbeatSeq++,
      sent_at: new Date().toISOString(),
      interval_s: this.#options.heartbeatIntervalMs / 1000,
      uptime_s: Math.round(os.uptime()),
      load: [l1, l5, l15],
      mem_free_mib: Math.round(os.freemem() / (1024 * 1024)),
      running: this.#running.size,
    };
    const services = this.#services?.counts();
    if (services && Object.keys(services).length > 0) beat.services = services;
    void this.#publish(heartbeatKey(this.#nodeId), beat, 'heartbeat');
  }

  get #j(): Journal {
    if (!this.#journal) throw new Error('agent not started');
    return this.#journal;
  }

  /**
   * Writes a request's one reply to the journal and returns it as an outbox
   * message that journals its delivery once confirmed. A reply is published
   * only once written, so an agent killed afterwards resends the same reply
   * instead of answering INTERRUPTED after the fact.
   */
  async #storeReply(requestId: string, reply: ExecuteReply): Promise<OutboxMessage> {
    const routingKey = executeReplyKey(this.#nodeId, requestId);
    const message = replyMessage(requestId, reply);
    const journal = this.#j;
    try {
      await journal.finished(requestId, routingKey, message.options.messageId, reply);
    } catch (err) {
      // Better an unjournaled reply than none; the journal is broken either way.
      this.#log.error('could not journal a reply; sending it anyway', { requestId, error: String(err) });
      return { routingKey, message };
    }
    return { routingKey, message, confirmed: () => journal.sent(requestId) };
  }

  /** Refuses a request without running it; resolves once the refusal is stored. */
  async #refuse(requestId: string, error: ErrorBody): Promise<void> {
    this.#log.warn('request refused', { requestId, code: error.code, error: error.message });
    void this.#outbox.send(await this.#storeReply(requestId, errorReply(error)));
  }

  /**
   * Refuses a request whose signature does not hold (or a replay): logged and
   * answered with its code, but not journaled, so the genuine request with
   * that id (if any) is still run and answered.
   */
  #refuseUnverified(requestId: string, error: ErrorBody, msg: Message): void {
    const headers = msg.properties.headers as Record<string, unknown> | undefined;
    this.#log.warn('request refused: not run', {
      requestId,
      code: error.code,
      error: error.message,
      routingKey: msg.fields.routingKey,
      keyId: headers?.[SIGNATURE_HEADERS.keyId],
      redelivered: msg.fields.redelivered,
    });
    void this.#outbox.send({
      routingKey: executeReplyKey(this.#nodeId, requestId),
      message: replyMessage(requestId, errorReply(error)),
    });
  }

  #onRequest(channel: Channel, msg: Message | null): void {
    this.#handleRequest(channel, msg).catch((err: unknown) =>
      this.#log.error('request handling failed', { error: String(err) }),
    );
  }

  /**
   * Each request id is journaled (fdatasync'd) before its message is acked, and
   * runs at most once: a redelivered or re-sent id is recognised, its stored
   * reply sent again if it has finished.
   */
  async #handleRequest(channel: Channel, msg: Message | null): Promise<void> {
    if (msg === null) {
      // The broker cancelled us (queue deleted): reconnect to redeclare it.
      this.#log.warn('request consumer cancelled by the broker; reconnecting');
      channel.close().catch(() => undefined);
      return;
    }
    const ack = (): void => {
      try {
        channel.ack(msg);
      } catch {
        // Channel gone: the broker redelivers the message after the reconnect.
      }
    };
    let requestId: string;
    try {
      const key = parseRoutingKey(msg.fields.routingKey);
      if (key.kind !== 'execute' || key.nodeId !== this.#nodeId) throw new Error('not an execute key for us');
      requestId = key.requestId;
    } catch (err) {
      this.#log.warn('ignoring message with unexpected routing key', {
        routingKey: msg.fields.routingKey,
        error: String(err),
      });
      ack();
      return;
    }
    // From here to the journal call nothing awaits, so two copies of one
    // request cannot both get past this check.
    const known = this.#j.get(requestId);
    if (known) {
      const verdict = this.#guard.checkKnown(msg);
      if (verdict === 'duplicate') await this.#duplicate(known);
      else this.#refuseUnverified(requestId, verdict, msg);
      ack();
      return;
    }
    // Before anything is journaled or run: a refused request leaves no trace
    // but its log line and its error reply, so it cannot burn a request id.
    const refusal = this.#guard.checkNew(msg);
    if (refusal) {
      this.#refuseUnverified(requestId, refusal, msg);
      ack();
      return;
    }
    const decoded = decodeExecuteRequest(msg.content, this.#options.maxBodyBytes);
    if (!decoded.ok) {
      await this.#refuse(requestId, decoded.error);
      ack();
      return;
    }
    if (this.#stopping) {
      await this.#refuse(requestId, { code: 'AGENT_STOPPING', message: 'the agent is shutting down' });
      ack();
      return;
    }
    const job = this.#accept(requestId, decoded.value.type);
    try {
      await this.#j.received(requestId, decoded.value.type);
    } catch (err) {
      // Not journaled, so not taken: leave it with the broker and try again later.
      this.#running.delete(requestId);
      job.end();
      this.#log.error('cannot journal a request; it is left queued', { requestId, error: String(err) });
      setTimeout(() => {
        try {
          channel.nack(msg, false, true);
        } catch {
          // Channel gone: redelivered anyway.
        }
      }, JOURNAL_RETRY_MS).unref();
      return;
    }
    ack();
    this.#execute(job, decoded.value);
  }

  /** A request id the journal already knows: never run twice. */
  async #duplicate(entry: JournalEntry): Promise<void> {
    const requestId = entry.id;
    switch (entry.state) {
      case 'running':
        this.#log.warn('duplicate of a request that is still running; ignored', { requestId });
        // Its record may still be on its way to disk; ack the copy only after it.
        await this.#j.sync();
        return;
      // 'done': the reply is stored and on its way, but it may well have
      // reached the caller already (the broker's confirm is journaled a moment
      // after the broker routed it), and a caller that asks again has not got
      // it. Sending it again is safe: the copy has the same message id.
      case 'done':
      case 'sent': {
        const stored = await this.#j.reply(requestId);
        if (stored) {
          this.#log.info('duplicate of a finished request; sending its reply again', { requestId });
          void this.#outbox.send({
            routingKey: stored.routingKey,
            message: replyMessage(requestId, stored.reply, stored.messageId),
          });
          return;
        }
        break;
      }
      case 'gone':
        break;
    }
    this.#log.warn('duplicate of a request answered long ago (reply no longer kept); ignored', { requestId });
  }

  #accept(requestId: string, type: string): Job {
    let end = (): void => undefined;
    const ended = new Promise<void>((resolve) => (end = resolve));
    const job: Job = {
      requestId,
      type,
      startedAt: new Date(),
      command: undefined,
      pgid: undefined,
      settled: false,
      cancelledBy: undefined,
      ended,
      end,
    };
    this.#running.set(requestId, job);
    return job;
  }

  #execute(job: Job, request: ExecuteRequest): void {
    const o = this.#options;
    const { requestId } = job;
    this.#log.debug('running', { requestId, type: request.type });
    const stream = 'stream' in request && request.stream === true;
    const progress = stream
      ? new ProgressReporter(this.#nodeId, requestId, (event) =>
          this.#publish(executeProgressKey(this.#nodeId, requestId), event, 'execute-progress', requestId),
        )
      : noProgress;
    progress.stage('accepted');
    const context: CommandContext = {
      requestId,
      nodeId: this.#nodeId,
      prefix: o.prefix,
      artifacts: this.#artifacts,
      services: this.#services!,
      limits: {
        maxOutputBytes: o.maxOutputBytes,
        killGraceMs: o.killGraceMs,
        defaultTimeoutMs: o.defaultTimeoutMs,
        scriptDir: this.#scriptDir,
        launch: this.#launch,
      },
      logger: this.#log,
      progress,
      processStarted: (pid) => this.#processStarted(job, pid),
      requests: this,
    };
    if (job.cancelledBy !== undefined) {
      // Cancelled while its record was being written: never started.
      job.command = {
        reply: Promise.resolve(
          errorReply({
            code: 'CANCELLED',
            message: `cancelled by request ${job.cancelledBy} before it started`,
          }),
        ),
        terminate: () => undefined,
      };
    } else {
      // The registry guarantees the handler matches the request's type.
      const handler = commandHandlers[request.type] as CommandHandler<typeof request.type>;
      try {
        job.command = handler(request, context);
      } catch (err) {
        job.command = {
          reply: Promise.reject(err instanceof Error ? err : new Error(String(err))),
          terminate: () => undefined,
        };
      }
    }
    progress.stage('started');
    job.command.reply
      .catch((err: unknown) =>
        errorReply({ code: 'INTERNAL_ERROR', message: err instanceof Error ? err.message : String(err) }),
      )
      .then(async (reply) => {
        job.settled = true;
        await progress.close();
        if (job.cancelledBy !== undefined && reply.error === undefined && !reply.timed_out) {
          reply.error = { code: 'CANCELLED', message: `cancelled by request ${job.cancelledBy}` };
        }
        const reboot = reply.exit_status === REBOOT_EXIT_STATUS && reply.error === undefined;
        if (reboot) {
          // Ur's contract: 113 means "report success, then reboot the node".
          reply.exit_status = 0;
          reply.reboot = true;
        }
        this.#log.info('finished', {
          requestId,
          exitStatus: reply.exit_status,
          durationMs: reply.duration_ms,
          ...(reply.error ? { code: reply.error.code } : {}),
        });
        const message = await this.#storeReply(requestId, reply);
        this.#running.delete(requestId);
        job.end();
        await this.#outbox.send(message);
        if (reboot) this.#reboot();
      })
      .catch((err: unknown) => this.#log.error('reply failed', { requestId, error: String(err) }));
  }

  #processStarted(job: Job, pid: number): void {
    job.pgid = pid;
    const identity = processIdentity(pid, this.#bootId);
    if (identity) this.#j.started(job.requestId, identity);
  }

  /** {@link RequestControl.cancel}, for the `cancel` command. */
  async cancel(requestId: string, by: string): Promise<CancelResult['state']> {
    const job = this.#running.get(requestId);
    if (job && !job.settled) {
      this.#log.info('cancelling', { requestId, by });
      job.cancelledBy ??= by;
      job.command?.terminate();
      await job.ended;
      return 'cancelled';
    }
    if (job) return 'finished';
    const entry = this.#journal?.get(requestId);
    return entry === undefined ? 'unknown' : 'finished';
  }

  #reboot(): void {
    this.#log.warn('rebooting the node as requested (exit status 113)', {
      command: this.#options.rebootCommand,
    });
    spawn('/bin/sh', ['-c', this.#options.rebootCommand], { detached: true, stdio: 'ignore' }).unref();
  }

  #onLive(msg: ConsumeMessage | null): void {
    if (msg === null) return;
    let key;
    try {
      key = parseRoutingKey(msg.fields.routingKey);
    } catch {
      this.#log.debug('ignoring message with unexpected routing key', { routingKey: msg.fields.routingKey });
      return;
    }
    if (key.kind === 'ping' && key.nodeId === this.#nodeId) {
      const body = parseJsonBody(msg.content, 64 * 1024);
      const ping = body.ok ? checkPingRequest(body.value) : body;
      if (!ping.ok || !isWord(ping.value.client_id)) {
        this.#log.warn('ignoring malformed ping', { error: ping.ok ? 'bad client_id' : ping.error.message });
        return;
      }
      const ackBody: PingAck = { req_id: ping.value.id, timestamp: new Date().toISOString() };
      void this.#publish(ackKey(ping.value.client_id, this.#nodeId), ackBody, 'ack');
    } else if (key.kind === 'broadcast') {
      // Answered from memory each time; not journaled (nothing runs).
      const reply = key.what === 'sysinfo' ? this.#sysinfo : emptyReply(0);
      if (reply) {
        void this.#outbox.send({
          routingKey: executeReplyKey(this.#nodeId, key.requestId),
          message: replyMessage(key.requestId, reply),
        });
      }
    }
  }

  /**
   * Graceful stop: takes no new requests (new ones become unroutable, so
   * callers fail at once), lets running commands finish up to the drain
   * timeout, sends their replies, says `ur.shutdown`, then disconnects.
   */
  stop(reason = 'stopped'): Promise<void> {
    this.#stopping ??= this.#stop(reason);
    return this.#stopping;
  }

  async #stop(reason: string): Promise<void> {
    const o = this.#options;
    clearInterval(this.#heartbeatTimer);
    this.#probeAbort.abort();
    const consumer = this.#consumer;
    if (consumer) {
      try {
        await consumer.channel.cancel(consumer.tag);
        await consumer.channel.unbindQueue(this.requestQueue, o.exchange, bindings.executeFor(this.#nodeId));
        for (;;) {
          const msg = await consumer.channel.get(this.requestQueue);
          if (msg === false) break;
          this.#onRequest(consumer.channel, msg);
        }
      } catch (err) {
        this.#log.warn('could not drain the request queue', { error: String(err) });
      }
    }
    await this.#waitForRunning(o.drainTimeoutMs);
    for (const job of this.#running.values()) job.command?.terminate();
    await this.#waitForRunning(o.killGraceMs + 1_000);
    // Services keep running: the next agent adopts them.
    await this.#services?.close();
    if (!(await this.#outbox.flushed(5_000))) {
      this.#log.warn('replies not confirmed by the broker; the next start sends them', {
        pending: this.#outbox.size,
      });
    }
    const publisher = this.#publisher;
    if (publisher) {
      const bye: Shutdown = {
        type: 'shutdown',
        node_id: this.#nodeId,
        sent_at: new Date().toISOString(),
        reason,
      };
      await publisher
        .publish(
          o.exchange,
          shutdownKey(this.#nodeId),
          jsonMessage(bye, { appId: AGENT_APP_ID, type: 'shutdown' }),
        )
        .catch(() => undefined);
    }
    if (this.#consumer) await this.#consumer.channel.deleteQueue(this.requestQueue).catch(() => undefined);
    await this.#session?.close();
    await this.#statusServer?.close();
    await this.#journal?.close();
    await this.#releaseLock?.();
    this.#stopped = true;
    this.#log.info('stopped', { reason });
  }

  async #waitForRunning(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.#running.size > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}
