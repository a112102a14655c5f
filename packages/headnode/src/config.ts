import {
  LOG_FORMATS,
  LOG_LEVELS,
  oneOf,
  parseFlags,
  positiveNumber,
  type LogFormat,
  type LogLevel,
} from '@ur/runtime';
import type { HeadnodeOptions } from './options.js';

export interface HeadnodeConfig {
  options: HeadnodeOptions;
  logLevel: LogLevel | undefined;
  logFormat: LogFormat | undefined;
}

/** Every flag and the variable it falls back to. */
export const HEADNODE_FLAGS = {
  'amqp-url': { env: 'UR_AMQP_URL', describe: 'Broker URL [default: amqp://guest:guest@127.0.0.1:5672]' },
  exchange: { env: 'UR_EXCHANGE', describe: 'Topic exchange [default: amq.topic]' },
  listen: { env: 'UR_HEADNODE_LISTEN', describe: 'host:port of the REST API [default: 127.0.0.1:8080]' },
  db: { env: 'UR_HEADNODE_DB', describe: 'SQLite file or postgres:// URL [default: ./data/ur-headnode.db]' },
  queue: { env: 'UR_HEADNODE_QUEUE', describe: 'Durable inbound queue [default: ur.headnode]' },
  'queue-expiry': {
    env: 'UR_HEADNODE_QUEUE_EXPIRY',
    describe: 'Seconds the inbound queue outlives a headnode that is gone [default: 86400]',
  },
  'default-timeout': {
    env: 'UR_DEFAULT_TIMEOUT',
    describe: 'Seconds for commands without a timeout [default: 300]',
  },
  'down-after': { env: 'UR_DOWN_AFTER', describe: 'Seconds of silence before a node is down [default: 30]' },
  'heartbeat-interval': {
    env: 'UR_HEADNODE_HEARTBEAT_INTERVAL',
    describe:
      'Seconds between heartbeats assumed for nodes that do not say, and between pings of Triton agents [default: 5]',
  },
  'lease-ttl': {
    env: 'UR_HEADNODE_LEASE_TTL',
    describe:
      'Seconds before another headnode takes over liveness evaluation from one that died [default: 5]',
  },
  'signing-key': {
    env: 'UR_SIGNING_KEY',
    describe: 'PEM Ed25519 key (ur-headnode keygen) that signs every command [default: commands unsigned]',
  },
  'signature-lifetime': {
    env: 'UR_SIGNATURE_LIFETIME',
    describe: 'Seconds a signed command may take to reach its agent [default: 60]',
  },
  'tls-ca': { env: 'UR_TLS_CA', describe: 'PEM CA certificate for amqps:// brokers [default: system CAs]' },
  'tls-cert': { env: 'UR_TLS_CERT', describe: 'PEM client certificate for amqps:// (with --tls-key)' },
  'tls-key': { env: 'UR_TLS_KEY', describe: 'PEM client key for amqps:// (with --tls-cert)' },
  'job-retention': {
    env: 'UR_HEADNODE_JOB_RETENTION',
    describe: 'Finished jobs kept (the newest) [default: 10000]',
  },
  'job-retention-days': {
    env: 'UR_HEADNODE_JOB_RETENTION_DAYS',
    describe: 'Days finished jobs are kept [default: 30]',
  },
  'job-resume-window': {
    env: 'UR_HEADNODE_JOB_RESUME_WINDOW',
    describe:
      'Seconds within which a restarted (or another) headnode still sends the unsent nodes of a job whose headnode stopped [default: 3600]',
  },
  'hook-timeout': {
    env: 'UR_HEADNODE_HOOK_TIMEOUT',
    describe: 'Seconds a webhook delivery attempt waits for an answer [default: 10]',
  },
  'hook-retry-for': {
    env: 'UR_HEADNODE_HOOK_RETRY_FOR',
    describe: 'Seconds a webhook delivery is retried (with backoff) before it is given up [default: 86400]',
  },
  'log-level': { env: 'UR_LOG_LEVEL', describe: 'error, warn, info or debug [default: info]' },
  'log-format': { env: 'UR_LOG_FORMAT', describe: 'json or pretty [default: json]' },
} as const;

/** Reads the headnode's configuration from flags, falling back to environment variables. */
export function parseHeadnodeConfig(
  argv: string[],
  env: Record<string, string | undefined> = process.env,
): HeadnodeConfig {
  const f = parseFlags(argv, env, {
    scriptName: 'ur-headnode',
    usage:
      '$0 [options]\n$0 keygen --out FILE\n$0 tokens create|list|revoke --db DB ...\n\n' +
      'The Ur headnode: node inventory and commands over a REST API.',
    flags: HEADNODE_FLAGS,
  });
  return {
    options: {
      amqpUrl: f['amqp-url'],
      exchange: f.exchange,
      listen: f.listen,
      db: f.db,
      queue: f.queue,
      queueExpiryMs: positiveNumber('queue-expiry', f['queue-expiry'], 1000),
      defaultTimeoutSeconds: positiveNumber('default-timeout', f['default-timeout']),
      downAfterMs: positiveNumber('down-after', f['down-after'], 1000),
      heartbeatIntervalMs: positiveNumber('heartbeat-interval', f['heartbeat-interval'], 1000),
      leaseTtlMs: positiveNumber('lease-ttl', f['lease-ttl'], 1000),
      signingKeyFile: f['signing-key'],
      signatureLifetimeMs: positiveNumber('signature-lifetime', f['signature-lifetime'], 1000),
      tlsCaFile: f['tls-ca'],
      tlsCertFile: f['tls-cert'],
      tlsKeyFile: f['tls-key'],
      jobRetentionCount: positiveNumber('job-retention', f['job-retention']),
      jobRetentionMs: positiveNumber('job-retention-days', f['job-retention-days'], 86_400_000),
      jobResumeWindowMs: positiveNumber('job-resume-window', f['job-resume-window'], 1000),
      hookTimeoutMs: positiveNumber('hook-timeout', f['hook-timeout'], 1000),
      hookRetryForMs: positiveNumber('hook-retry-for', f['hook-retry-for'], 1000),
    },
    logLevel: oneOf('log-level', f['log-level'], LOG_LEVELS),
    logFormat: oneOf('log-format', f['log-format'], LOG_FORMATS),
  };
}
