import { spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import type { Channel, ConsumeMessage, Message } from 'amqplib';
import { AmqpSession, ConfirmPublisher, ensureExchange, jsonMessage, type SetupContext } from '@ur/amqp';
import {
  ackKey,
  bindings,
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
  type ErrorBody,
  type ExecuteReply,
  type ExecuteRequest,
  type Heartbeat,
  type Logger,
  type PingAck,
  type Shutdown,
  type Sysinfo,
  type UrAgentInfo,
} from '@ur/protocol/wire';
import { ArtifactStore } from './artifacts/artifact-store.js';
import { emptyReply, errorReply, REBOOT_EXIT_STATUS } from './command-reply.js';
import { resolveNodeId } from './node-id.js';
import { compileAgentOptions, type AgentOptions, type CompiledAgentOptions } from './options.js';
import { ReplyOutbox } from './reply-outbox.js';
import type { CommandContext, CommandHandler, RunningCommand } from './commands/command.js';
import { commandHandlers } from './commands/handlers.js';
import { noProgress, ProgressReporter } from './progress-reporter.js';
import { baseSysinfo, probeSysinfo, readSysinfoFile } from './sysinfo.js';
import { loadValidators } from './validators.js';
import { AGENT_APP_ID, AGENT_VERSION } from './version.js';

/** What the agent answers besides execute request types. */
const EXTRA_CAPABILITIES = ['ping', 'broadcast.ping', 'broadcast.sysinfo', 'heartbeat', 'shutdown'];

export interface AgentStatus {
  nodeId: string;
  connected: boolean;
  running: number;
  outbox: number;
  startedAt: string;
}

interface Consumer {
  channel: Channel;
  tag: string;
}

/**
 * The node agent: announces itself, runs what arrives on
 * `ur.execute.<node-id>.<request-id>` and replies. Create, `start()`, and
 * `stop()` for a graceful shutdown. Many agents can live in one process.
 */
export class Agent {
  readonly #options: CompiledAgentOptions;
  readonly #log: Logger;
  readonly #running = new Map<string, RunningCommand>();
  readonly #startedAt = new Date();
  readonly #artifacts: ArtifactStore;
  #nodeId = '';
  #sysinfo: Sysinfo | undefined;
  #session: AmqpSession | undefined;
  #publisher: ConfirmPublisher | undefined;
  #consumer: Consumer | undefined;
  #outbox: ReplyOutbox;
  #heartbeatTimer: NodeJS.Timeout | undefined;
  #heartbeatSeq = 0;
  #announcedStartup = false;
  #stopping: Promise<void> | undefined;

  constructor(options: AgentOptions = {}) {
    this.#options = compileAgentOptions(options);
    this.#log = this.#options.logger;
    this.#outbox = new ReplyOutbox(this.#options.exchange);
    this.#artifacts = new ArtifactStore({
      ...this.#options.artifacts,
      prefix: this.#options.prefix,
      userAgent: AGENT_APP_ID,
      logger: this.#log,
      // No services yet (issue 5): nothing is in use. Wire the service supervisor in here.
      isInUse: () => false,
      onChange: (installed) => {
        if (!this.#sysinfo) return;
        this.#sysinfo = { ...this.#sysinfo, 'Ur Artifacts': installed };
        this.#announce(false);
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
    return {
      nodeId: this.#nodeId,
      connected: this.#session?.connected ?? false,
      running: this.#running.size,
      outbox: this.#outbox.size,
      startedAt: this.#startedAt.toISOString(),
    };
  }

  /** Connects, sets up queues and announces; resolves once the startup message is out. */
  async start(): Promise<void> {
    const o = this.#options;
    await mkdir(this.#scriptDir, { recursive: true, mode: 0o700 });
    await this.#artifacts.open();
    const fixed =
      o.sysinfo ?? (o.sysinfoFile !== undefined ? await readSysinfoFile(o.sysinfoFile) : undefined);
    const fixedUuid = typeof fixed?.UUID === 'string' && isWord(fixed.UUID) ? fixed.UUID : undefined;
    this.#nodeId = o.nodeId ?? fixedUuid ?? (await resolveNodeId(join(o.stateDir, 'node-id')));
    const agentInfo: UrAgentInfo = {
      version: AGENT_VERSION,
      protocol: PROTOCOL_VERSION,
      capabilities: [...REQUEST_TYPES, ...EXTRA_CAPABILITIES],
      started_at: this.#startedAt.toISOString(),
      heartbeat_interval_s: o.heartbeatIntervalMs / 1000,
    };
    this.#sysinfo = {
      ...(fixed !== undefined
        ? { ...fixed, UUID: this.#nodeId, 'Ur Agent': agentInfo }
        : baseSysinfo(this.#nodeId, agentInfo)),
      'Ur Artifacts': this.#artifacts.summaries(),
    };

    const session = new AmqpSession({
      url: o.amqpUrl,
      connectionName: `ur-agent ${this.#nodeId}`,
      logger: this.#log,
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
    void loadValidators();

    this.#heartbeatTimer = setInterval(() => this.#heartbeat(), o.heartbeatIntervalMs);
    this.#heartbeatTimer.unref();
    if (fixed === undefined && o.probeHardware) {
      probeSysinfo(this.#sysinfo)
        .then((full) => {
          this.#sysinfo = { ...full, 'Ur Artifacts': this.#artifacts.summaries() };
          this.#announce(false);
        })
        .catch((err: unknown) => this.#log.warn('hardware probe failed', { error: String(err) }));
    }
  }

  get #scriptDir(): string {
    return join(this.#options.stateDir, 'run');
  }

  async #setup(ctx: SetupContext): Promise<void> {
    const o = this.#options;
    const id = this.#nodeId;
    const pub = await ctx.confirmChannel();
    await ensureExchange(pub, o.exchange);
    const publisher = new ConfirmPublisher(pub);
    const ch = await ctx.channel();
    await ch.prefetch(o.prefetch);
    // Durable with an expiry: requests published during a short disconnect
    // wait here instead of being lost as they were with Ur's exclusive queue.
    await ch.assertQueue(this.requestQueue, { durable: true, expires: o.requestQueueExpiryMs });
    await ch.bindQueue(this.requestQueue, o.exchange, bindings.executeFor(id));
    try {
      await ch.assertQueue(this.liveQueue, { exclusive: true, autoDelete: true });
    } catch (err) {
      this.#log.error('another agent with this node id is connected; retrying', { nodeId: id });
      throw err;
    }
    await ch.bindQueue(this.liveQueue, o.exchange, bindings.pingFor(id));
    await ch.bindQueue(this.liveQueue, o.exchange, bindings.allBroadcasts);
    await ch.consume(this.liveQueue, (msg) => this.#onLive(msg), { noAck: true });
    const { consumerTag } = await ch.consume(this.requestQueue, (msg) => this.#onRequest(ch, msg), {
      exclusive: true,
    });
    this.#publisher = publisher;
    this.#consumer = { channel: ch, tag: consumerTag };
  }

  #onConnect(): void {
    if (this.#publisher) this.#outbox.attach(this.#publisher);
    this.#announce(!this.#announcedStartup);
    this.#announcedStartup = true;
  }

  #announce(startup: boolean): void {
    const info = this.#sysinfo;
    if (!info) return;
    if (startup) this.#publish(startupKey(this.#nodeId), info, 'startup');
    this.#publish(sysinfoKey(this.#nodeId, `${Date.now()}`), info, 'sysinfo');
  }

  /** Best effort: announcements, heartbeats and progress are superseded by what follows them. */
  #publish(routingKey: string, body: unknown, type: string, correlationId?: string): void {
    const publisher = this.#publisher;
    if (!publisher) return;
    publisher
      .publish(
        this.#options.exchange,
        routingKey,
        jsonMessage(body, { appId: AGENT_APP_ID, type, correlationId }),
      )
      .catch((err: unknown) => this.#log.debug('publish failed', { routingKey, error: String(err) }));
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
    this.#publish(heartbeatKey(this.#nodeId), beat, 'heartbeat');
  }

  #reply(requestId: string, reply: ExecuteReply | Sysinfo): Promise<void> {
    const message = jsonMessage(reply, {
      appId: AGENT_APP_ID,
      type: 'execute-reply',
      correlationId: requestId,
      persistent: true,
    });
    return this.#outbox.send(executeReplyKey(this.#nodeId, requestId), message);
  }

  #replyError(requestId: string, error: ErrorBody): void {
    this.#log.warn('request refused', { requestId, code: error.code, error: error.message });
    void this.#reply(requestId, errorReply(error));
  }

  #onRequest(channel: Channel, msg: Message | null): void {
    this.#handleRequest(channel, msg).catch((err: unknown) =>
      this.#log.error('request handling failed', { error: String(err) }),
    );
  }

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
    const { decodeExecuteRequest } = await loadValidators();
    const decoded = decodeExecuteRequest(msg.content, this.#options.maxBodyBytes);
    ack();
    if (!decoded.ok) {
      this.#replyError(requestId, decoded.error);
      return;
    }
    if (this.#stopping) {
      this.#replyError(requestId, { code: 'AGENT_STOPPING', message: 'the agent is shutting down' });
      return;
    }
    this.#execute(requestId, decoded.value);
  }

  #execute(requestId: string, request: ExecuteRequest): void {
    if (this.#running.has(requestId)) {
      this.#log.warn('duplicate request id while it is running; ignored', { requestId });
      return;
    }
    const o = this.#options;
    this.#log.info('running', { requestId, type: request.type });
    const progress = request.stream
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
      limits: {
        maxOutputBytes: o.maxOutputBytes,
        killGraceMs: o.killGraceMs,
        defaultTimeoutMs: o.defaultTimeoutMs,
        scriptDir: this.#scriptDir,
      },
      logger: this.#log,
      progress,
    };
    // The registry guarantees the handler matches the request's type.
    const handler = commandHandlers[request.type] as CommandHandler<typeof request.type>;
    let running: RunningCommand;
    try {
      running = handler(request, context);
    } catch (err) {
      running = {
        reply: Promise.reject(err instanceof Error ? err : new Error(String(err))),
        terminate: () => undefined,
      };
    }
    progress.stage('started');
    this.#running.set(requestId, running);
    running.reply
      .catch((err: unknown) =>
        errorReply({ code: 'INTERNAL_ERROR', message: err instanceof Error ? err.message : String(err) }),
      )
      .then(async (reply) => {
        this.#running.delete(requestId);
        progress.close();
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
        });
        await this.#reply(requestId, reply);
        if (reboot) this.#reboot();
      })
      .catch((err: unknown) => this.#log.error('reply failed', { requestId, error: String(err) }));
  }

  #reboot(): void {
    this.#log.warn('rebooting the node as requested (exit status 113)', {
      command: this.#options.rebootCommand,
    });
    spawn('/bin/sh', ['-c', this.#options.rebootCommand], { detached: true, stdio: 'ignore' }).unref();
  }

  #onLive(msg: ConsumeMessage | null): void {
    this.#handleLive(msg).catch((err: unknown) =>
      this.#log.error('live message failed', { error: String(err) }),
    );
  }

  async #handleLive(msg: ConsumeMessage | null): Promise<void> {
    if (msg === null) return;
    let key;
    try {
      key = parseRoutingKey(msg.fields.routingKey);
    } catch {
      return;
    }
    if (key.kind === 'ping' && key.nodeId === this.#nodeId) {
      const { check, PingRequestSchema } = await loadValidators();
      const body = parseJsonBody(msg.content, 64 * 1024);
      const ping = body.ok ? check(PingRequestSchema, body.value) : body;
      if (!ping.ok || !isWord(ping.value.client_id)) {
        this.#log.warn('ignoring malformed ping', { error: ping.ok ? 'bad client_id' : ping.error.message });
        return;
      }
      const ackBody: PingAck = { req_id: ping.value.id, timestamp: new Date().toISOString() };
      this.#publish(ackKey(ping.value.client_id, this.#nodeId), ackBody, 'ack');
    } else if (key.kind === 'broadcast') {
      if (key.what === 'sysinfo' && this.#sysinfo) {
        void this.#reply(key.requestId, this.#sysinfo);
      } else if (key.what === 'ping') {
        void this.#reply(key.requestId, emptyReply(0));
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
    const consumer = this.#consumer;
    if (consumer) {
      try {
        await consumer.channel.cancel(consumer.tag);
        await consumer.channel.unbindQueue(this.requestQueue, o.exchange, bindings.executeFor(this.#nodeId));
        for (;;) {
          const msg = await consumer.channel.get(this.requestQueue);
          if (msg === false) break;
          await this.#handleRequest(consumer.channel, msg);
        }
      } catch (err) {
        this.#log.warn('could not drain the request queue', { error: String(err) });
      }
    }
    await this.#waitForRunning(o.drainTimeoutMs);
    for (const running of this.#running.values()) running.terminate();
    await this.#waitForRunning(o.killGraceMs + 1_000);
    await this.#outbox.flushed(5_000);
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
    this.#log.info('stopped', { reason });
  }

  async #waitForRunning(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.#running.size > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}
