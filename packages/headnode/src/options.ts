import { silentLogger, type Logger } from '@ur/protocol';
import { ConfigError, positiveOption } from '@ur/runtime';

export interface HeadnodeOptions {
  /** @default 'amqp://guest:guest@127.0.0.1:5672' */
  amqpUrl?: string | undefined;
  /** @default 'amq.topic' */
  exchange?: string | undefined;
  /** `host:port` for the REST API; port 0 picks a free one. @default '127.0.0.1:8080' */
  listen?: string | undefined;
  /** SQLite file path, `:memory:`, or a `postgres://` URL. @default './data/ur-headnode.db' */
  db?: string | undefined;
  /** Durable queue for announcements, heartbeats and replies. @default 'ur.headnode' (suffixed with the exchange unless amq.topic) */
  queue?: string | undefined;
  /**
   * The inbound queue is deleted by the broker after this long without a
   * consumer, so a headnode that is gone for good leaves nothing growing.
   * @default 86400000 (a day)
   */
  queueExpiryMs?: number | undefined;
  /** Command timeout when a request gives none, in seconds. @default 300 */
  defaultTimeoutSeconds?: number | undefined;
  /** Waited beyond a command's timeout before giving up on its reply. @default 10000 */
  replyMarginMs?: number | undefined;
  /** A node silent this long is down. @default 30000 */
  downAfterMs?: number | undefined;
  /**
   * Assumed heartbeat interval for nodes that do not state theirs, and how
   * often Triton Ur agents (which send no heartbeats) are pinged. @default 5000
   */
  heartbeatIntervalMs?: number | undefined;
  /** How often node liveness is evaluated. @default the smaller of 1000 and half of heartbeatIntervalMs */
  livenessIntervalMs?: number | undefined;
  /**
   * One headnode at a time evaluates liveness, holding a lease in the store;
   * if it dies, another takes over after this long. @default 5000
   */
  leaseTtlMs?: number | undefined;
  /** Events, finished commands outside jobs and finished webhook deliveries are kept this long. @default 2592000000 (30 days) */
  retentionMs?: number | undefined;
  /** Finished jobs kept at most (the newest); older ones are deleted with their node results. @default 10000 */
  jobRetentionCount?: number | undefined;
  /** Finished jobs are kept at most this long. @default retentionMs */
  jobRetentionMs?: number | undefined;
  /**
   * A running job whose headnode stopped (died, or stopped without a peer)
   * is taken over by the next headnode to run; if that is later than this
   * after the old one stopped, its unsent nodes end `skipped` instead of
   * being sent so late. @default 3600000 (an hour)
   */
  jobResumeWindowMs?: number | undefined;
  /** One webhook delivery attempt waits this long for an answer. @default 10000 */
  hookTimeoutMs?: number | undefined;
  /** A webhook delivery is retried (with backoff) until this long after its event, then given up. @default 86400000 (a day) */
  hookRetryForMs?: number | undefined;
  /** The first retry of a failed delivery waits this long, each next one twice as long. @default 1000 */
  hookBackoffMs?: number | undefined;
  /** Longest wait between retries. @default 300000 (5 min) */
  hookMaxBackoffMs?: number | undefined;
  /** Deliveries in flight at once per webhook. @default 4 */
  hookConcurrency?: number | undefined;
  /** How often the event bus looks for events other headnodes stored (PostgreSQL NOTIFY is sooner). @default 1000 */
  eventPollIntervalMs?: number | undefined;
  /**
   * PEM Ed25519 private key (`ur-headnode keygen`) every command is signed
   * with; agents that trust its public key run only what it signed. Without
   * one, commands go unsigned (for agents in compatible mode and Triton's).
   */
  signingKeyFile?: string | undefined;
  /** A signed command must reach its agent within this long. @default 60000 */
  signatureLifetimeMs?: number | undefined;
  /** PEM CA certificate(s) the broker's certificate must chain to, for `amqps://` URLs. */
  tlsCaFile?: string | undefined;
  /** PEM client certificate and key, for brokers that verify clients. */
  tlsCertFile?: string | undefined;
  tlsKeyFile?: string | undefined;
  /** @default a logger that drops everything */
  logger?: Logger | undefined;
}

export interface CompiledHeadnodeOptions {
  amqpUrl: string;
  exchange: string;
  host: string;
  port: number;
  db: string;
  queue: string;
  queueExpiryMs: number;
  defaultTimeoutSeconds: number;
  replyMarginMs: number;
  downAfterMs: number;
  heartbeatIntervalMs: number;
  livenessIntervalMs: number;
  leaseTtlMs: number;
  retentionMs: number;
  jobRetentionCount: number;
  jobRetentionMs: number;
  jobResumeWindowMs: number;
  hookTimeoutMs: number;
  hookRetryForMs: number;
  hookBackoffMs: number;
  hookMaxBackoffMs: number;
  hookConcurrency: number;
  eventPollIntervalMs: number;
  signingKeyFile: string | undefined;
  signatureLifetimeMs: number;
  tlsCaFile: string | undefined;
  tlsCertFile: string | undefined;
  tlsKeyFile: string | undefined;
  logger: Logger;
}

export const DEFAULT_AMQP_URL = 'amqp://guest:guest@127.0.0.1:5672';
export const DEFAULT_EXCHANGE = 'amq.topic';
export const DEFAULT_LISTEN = '127.0.0.1:8080';
export const DEFAULT_DB = './data/ur-headnode.db';
export const DEFAULT_QUEUE_EXPIRY_MS = 86_400_000;
export const DEFAULT_TIMEOUT_SECONDS = 300;
export const DEFAULT_REPLY_MARGIN_MS = 10_000;
export const DEFAULT_DOWN_AFTER_MS = 30_000;
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 5_000;
export const MAX_LIVENESS_INTERVAL_MS = 1_000;
export const DEFAULT_LEASE_TTL_MS = 5_000;
export const DEFAULT_RETENTION_MS = 30 * 86_400_000;
export const DEFAULT_EVENT_POLL_INTERVAL_MS = 1_000;
export const DEFAULT_SIGNATURE_LIFETIME_MS = 60_000;
export const DEFAULT_JOB_RETENTION_COUNT = 10_000;
export const DEFAULT_JOB_RESUME_WINDOW_MS = 3_600_000;
export const DEFAULT_HOOK_TIMEOUT_MS = 10_000;
export const DEFAULT_HOOK_RETRY_FOR_MS = 86_400_000;
export const DEFAULT_HOOK_BACKOFF_MS = 1_000;
export const DEFAULT_HOOK_MAX_BACKOFF_MS = 300_000;
export const DEFAULT_HOOK_CONCURRENCY = 4;

/** Parses `host:port`, `:port` or `port`. */
export function parseListen(listen: string): { host: string; port: number } {
  const match = /^(?:(.*):)?(\d{1,5})$/.exec(listen.trim());
  const port = Number(match?.[2]);
  if (!match || port > 65535) {
    throw new ConfigError('listen', `expected host:port, got ${JSON.stringify(listen)}`);
  }
  const host = match[1] === undefined || match[1] === '' ? '127.0.0.1' : match[1].replace(/^\[(.*)\]$/, '$1');
  return { host, port };
}

/** Applies the documented defaults; the one place they live. */
export function compileHeadnodeOptions(options: HeadnodeOptions): CompiledHeadnodeOptions {
  const exchange = options.exchange ?? DEFAULT_EXCHANGE;
  const { host, port } = parseListen(options.listen ?? DEFAULT_LISTEN);
  const heartbeatIntervalMs = positiveOption(
    'heartbeatIntervalMs',
    options.heartbeatIntervalMs,
    DEFAULT_HEARTBEAT_INTERVAL_MS,
  );
  const retentionMs = positiveOption('retentionMs', options.retentionMs, DEFAULT_RETENTION_MS);
  return {
    amqpUrl: options.amqpUrl ?? DEFAULT_AMQP_URL,
    exchange,
    host,
    port,
    db: options.db ?? DEFAULT_DB,
    queue: options.queue ?? (exchange === DEFAULT_EXCHANGE ? 'ur.headnode' : `ur.headnode.${exchange}`),
    queueExpiryMs: positiveOption('queueExpiryMs', options.queueExpiryMs, DEFAULT_QUEUE_EXPIRY_MS),
    defaultTimeoutSeconds: positiveOption(
      'defaultTimeoutSeconds',
      options.defaultTimeoutSeconds,
      DEFAULT_TIMEOUT_SECONDS,
    ),
    replyMarginMs: positiveOption('replyMarginMs', options.replyMarginMs, DEFAULT_REPLY_MARGIN_MS),
    downAfterMs: positiveOption('downAfterMs', options.downAfterMs, DEFAULT_DOWN_AFTER_MS),
    heartbeatIntervalMs,
    livenessIntervalMs: positiveOption(
      'livenessIntervalMs',
      options.livenessIntervalMs,
      Math.min(MAX_LIVENESS_INTERVAL_MS, heartbeatIntervalMs / 2),
    ),
    leaseTtlMs: positiveOption('leaseTtlMs', options.leaseTtlMs, DEFAULT_LEASE_TTL_MS),
    retentionMs,
    jobRetentionCount: Math.floor(
      positiveOption('jobRetentionCount', options.jobRetentionCount, DEFAULT_JOB_RETENTION_COUNT),
    ),
    jobRetentionMs: positiveOption('jobRetentionMs', options.jobRetentionMs, retentionMs),
    jobResumeWindowMs: positiveOption(
      'jobResumeWindowMs',
      options.jobResumeWindowMs,
      DEFAULT_JOB_RESUME_WINDOW_MS,
    ),
    hookTimeoutMs: positiveOption('hookTimeoutMs', options.hookTimeoutMs, DEFAULT_HOOK_TIMEOUT_MS),
    hookRetryForMs: positiveOption('hookRetryForMs', options.hookRetryForMs, DEFAULT_HOOK_RETRY_FOR_MS),
    hookBackoffMs: positiveOption('hookBackoffMs', options.hookBackoffMs, DEFAULT_HOOK_BACKOFF_MS),
    hookMaxBackoffMs: positiveOption(
      'hookMaxBackoffMs',
      options.hookMaxBackoffMs,
      DEFAULT_HOOK_MAX_BACKOFF_MS,
    ),
    hookConcurrency: Math.floor(
      positiveOption('hookConcurrency', options.hookConcurrency, DEFAULT_HOOK_CONCURRENCY),
    ),
    eventPollIntervalMs: positiveOption(
      'eventPollIntervalMs',
      options.eventPollIntervalMs,
      DEFAULT_EVENT_POLL_INTERVAL_MS,
    ),
    signingKeyFile: options.signingKeyFile,
    signatureLifetimeMs: positiveOption(
      'signatureLifetimeMs',
      options.signatureLifetimeMs,
      DEFAULT_SIGNATURE_LIFETIME_MS,
    ),
    tlsCaFile: options.tlsCaFile,
    tlsCertFile: options.tlsCertFile,
    tlsKeyFile: options.tlsKeyFile,
    logger: options.logger ?? silentLogger,
  };
}
