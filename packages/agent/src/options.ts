import { join } from 'node:path';
import {
  assertNodeId,
  parsePublicKey,
  silentLogger,
  type InvalidIdError,
  type Logger,
  type PublicKey,
} from '@ur/protocol/wire';
import { ConfigError, positiveOption } from '@ur/runtime';
import { builtSpawnHelperPath } from './launch/spawn-helper.js';

export interface AgentOptions {
  /** @default 'amqp://guest:guest@127.0.0.1:5672' */
  amqpUrl?: string | undefined;
  /**
   * This node's id, one routing-key word.
   * @default the SMBIOS UUID, else /etc/machine-id as a UUID, else one generated once under `prefix`
   */
  nodeId?: string | undefined;
  /** Holds software/, runtime/ and state/. @default '/var/lib/ur' */
  prefix?: string | undefined;
  /** Topic exchange everything goes through. @default 'amq.topic' (as Ur) */
  exchange?: string | undefined;
  /** Announce this JSON object instead of probing the machine (as Ur's option). */
  sysinfoFile?: string | undefined;
  /** Or give the sysinfo object directly (for agents embedded in one process). */
  sysinfo?: Record<string, unknown> | undefined;
  /** @default 5000 */
  heartbeatIntervalMs?: number | undefined;
  /** Captured bytes per output stream; the middle of longer output is dropped. @default 1 MiB */
  maxOutputBytes?: number | undefined;
  /** Between SIGTERM and SIGKILL when a command is stopped. @default 5000 */
  killGraceMs?: number | undefined;
  /** Timeout for requests that give none (Ur had none; CNAPI waited an hour). @default 3600000 */
  defaultTimeoutMs?: number | undefined;
  /** Requests with a larger body are refused. @default 8 MiB */
  maxBodyBytes?: number | undefined;
  /** Run after replying to a script that exited 113 (Ur's reboot request). @default 'reboot' */
  rebootCommand?: string | undefined;
  /**
   * The request queue outlives a disconnect by this long, so requests sent
   * meanwhile wait for the agent. @default 600000 (10 min)
   */
  requestQueueExpiryMs?: number | undefined;
  /** Unacknowledged requests the broker may push at once. @default 64 */
  prefetch?: number | undefined;
  /** How long a graceful stop waits for running commands. @default 30000 */
  drainTimeoutMs?: number | undefined;
  /** Probe hardware facts with systeminformation after announcing. @default true */
  probeHardware?: boolean | undefined;
  /** Reconnect backoff bounds. @default 100 and 30000 */
  reconnectInitialDelayMs?: number | undefined;
  reconnectMaxDelayMs?: number | undefined;
  /**
   * Port of the read-only status endpoint on 127.0.0.1; 0 turns it off. A
   * port already in use is logged and the agent runs without it. @default 7572
   */
  statusPort?: number | undefined;
  /** Finished request ids the journal keeps to recognise re-sent requests. @default 10000 */
  journalMaxEntries?: number | undefined;
  /** ...for at most this long. @default 86400000 (24 h) */
  journalRetentionMs?: number | undefined;
  /** Bytes of finished replies the journal keeps for re-sending; older ones keep only their id. @default 64 MiB */
  journalMaxReplyBytes?: number | undefined;
  /** Software artifacts (`artifact.*` requests). */
  artifacts?: ArtifactOptions | undefined;
  /**
   * File of trusted public keys (one `ed25519:<base64>` per line, as
   * `ur-headnode keygen` prints them). With trusted keys the agent runs only
   * requests signed by one of them; without any, it runs in compatible mode
   * (unsigned requests, as Ur) and says so. Re-read by `reloadTrustedKeys()`.
   */
  trustedKeysFile?: string | undefined;
  /** Or the keys themselves (for agents embedded in one process). */
  trustedKeys?: readonly string[] | undefined;
  /** How far a signer's clock may be off from ours, either way. @default 30000 */
  clockSkewMs?: number | undefined;
  /** PEM CA certificate(s) the broker's certificate must chain to, for `amqps://` URLs. */
  tlsCaFile?: string | undefined;
  /** PEM client certificate and key, for brokers that verify clients. */
  tlsCertFile?: string | undefined;
  tlsKeyFile?: string | undefined;
  /** Supervised services (`service.*` requests). */
  services?: ServiceOptions | undefined;
  /**
   * The `ur-spawn` binary that starts script and file processes, so that the
   * agent itself never forks (a fork blocks its event loop while it copies the
   * agent's memory map); `false` starts them with Node's spawn().
   * @default the one `npm run build` compiled into packages/agent/dist, else Node's spawn()
   */
  spawnHelper?: string | false | undefined;
  /** @default a logger that drops everything */
  logger?: Logger | undefined;
}

export interface ArtifactOptions {
  /**
   * Base URL of the artifact repository, laid out as
   * `<repository>/<groupId>/<artifactId>/<version>/<artifactId>-<version>.zip`.
   * @default none: requests must give a `url`
   */
  repository?: string | undefined;
  /** Refuse archives whose SHA-256 neither the request nor a `.sha256` sidecar gives. @default false */
  requireChecksum?: boolean | undefined;
  /** Largest archive downloaded. @default 4 GiB */
  maxDownloadBytes?: number | undefined;
  /** Largest total unpacked size (zip bomb guard). @default 16 GiB */
  maxUnpackedBytes?: number | undefined;
  /** Most entries in one archive (zip bomb guard). @default 100000 */
  maxEntries?: number | undefined;
  /** @default 10000 */
  connectTimeoutMs?: number | undefined;
  /** A download silent this long has stalled; the attempt fails (and is retried). @default 30000 */
  idleTimeoutMs?: number | undefined;
  /** Attempts after the first on transient download failures. @default 3 */
  retries?: number | undefined;
  /** First retry delay, doubled per retry with jitter. @default 1000 */
  retryDelayMs?: number | undefined;
  /** fsync files and directories before a version appears, so power loss cannot leave empty files. @default true */
  fsync?: boolean | undefined;
}

export interface ServiceOptions {
  /**
   * The account services run as when the agent runs as root (a name, `uid`
   * or `uid:gid`); `root` runs them as root, which lets them write to the
   * software tree. An agent that is not root runs services as itself.
   * @default 'nobody'
   */
  user?: string | undefined;
  /** Size of one service log file before it is rotated. @default 10 MiB */
  logMaxBytes?: number | undefined;
  /** Rotated log files kept per service (disk use is at most logMaxBytes × (logFiles + 1)). @default 5 */
  logFiles?: number | undefined;
}

export interface CompiledServiceOptions {
  user: string;
  logMaxBytes: number;
  logFiles: number;
}

export interface CompiledArtifactOptions {
  repository: string | undefined;
  requireChecksum: boolean;
  maxDownloadBytes: number;
  maxUnpackedBytes: number;
  maxEntries: number;
  connectTimeoutMs: number;
  idleTimeoutMs: number;
  retries: number;
  retryDelayMs: number;
  fsync: boolean;
}

export interface CompiledAgentOptions {
  amqpUrl: string;
  nodeId: string | undefined;
  prefix: string;
  stateDir: string;
  exchange: string;
  sysinfoFile: string | undefined;
  sysinfo: Record<string, unknown> | undefined;
  heartbeatIntervalMs: number;
  maxOutputBytes: number;
  killGraceMs: number;
  defaultTimeoutMs: number;
  maxBodyBytes: number;
  rebootCommand: string;
  requestQueueExpiryMs: number;
  prefetch: number;
  drainTimeoutMs: number;
  probeHardware: boolean;
  reconnectInitialDelayMs: number;
  reconnectMaxDelayMs: number;
  statusPort: number;
  journalMaxEntries: number;
  journalRetentionMs: number;
  journalMaxReplyBytes: number;
  artifacts: CompiledArtifactOptions;
  trustedKeysFile: string | undefined;
  trustedKeys: PublicKey[] | undefined;
  clockSkewMs: number;
  /** The agent's own signing key, generated at the first start. */
  keyFile: string;
  tlsCaFile: string | undefined;
  tlsCertFile: string | undefined;
  tlsKeyFile: string | undefined;
  services: CompiledServiceOptions;
  /** Path of the helper; undefined: Node's spawn(). */
  spawnHelper: string | undefined;
  logger: Logger;
}

export const DEFAULT_AMQP_URL = 'amqp://guest:guest@127.0.0.1:5672';
export const DEFAULT_PREFIX = '/var/lib/ur';
export const DEFAULT_EXCHANGE = 'amq.topic';
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 5_000;
export const DEFAULT_MAX_OUTPUT_BYTES = 1024 * 1024;
export const DEFAULT_KILL_GRACE_MS = 5_000;
export const DEFAULT_TIMEOUT_MS = 3_600_000;
export const DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024;
export const DEFAULT_REBOOT_COMMAND = 'reboot';
export const DEFAULT_REQUEST_QUEUE_EXPIRY_MS = 600_000;
export const DEFAULT_PREFETCH = 64;
export const DEFAULT_DRAIN_TIMEOUT_MS = 30_000;
export const DEFAULT_RECONNECT_INITIAL_DELAY_MS = 100;
export const DEFAULT_RECONNECT_MAX_DELAY_MS = 30_000;
/** "ur" in ASCII, hex. */
export const DEFAULT_STATUS_PORT = 7572;
export const DEFAULT_JOURNAL_MAX_ENTRIES = 10_000;
export const DEFAULT_JOURNAL_RETENTION_MS = 24 * 3_600_000;
export const DEFAULT_JOURNAL_MAX_REPLY_BYTES = 64 * 1024 * 1024;
export const DEFAULT_CLOCK_SKEW_MS = 30_000;

export const DEFAULT_SERVICE_USER = 'nobody';
export const DEFAULT_SERVICE_LOG_MAX_BYTES = 10 * 1024 * 1024;
export const DEFAULT_SERVICE_LOG_FILES = 5;
/** Smallest log file: rotation has to leave room for a line or two. */
const MIN_SERVICE_LOG_BYTES = 4096;

export const DEFAULT_ARTIFACT_MAX_DOWNLOAD_BYTES = 4 * 1024 ** 3;
export const DEFAULT_ARTIFACT_MAX_UNPACKED_BYTES = 16 * 1024 ** 3;
export const DEFAULT_ARTIFACT_MAX_ENTRIES = 100_000;
export const DEFAULT_ARTIFACT_CONNECT_TIMEOUT_MS = 10_000;
export const DEFAULT_ARTIFACT_IDLE_TIMEOUT_MS = 30_000;
export const DEFAULT_ARTIFACT_RETRIES = 3;
export const DEFAULT_ARTIFACT_RETRY_DELAY_MS = 1_000;

function compileArtifactOptions(options: ArtifactOptions = {}): CompiledArtifactOptions {
  const repository = options.repository === '' ? undefined : options.repository;
  if (repository !== undefined) {
    let url: URL | undefined;
    try {
      url = new URL(repository);
    } catch {
      url = undefined;
    }
    if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
      throw new ConfigError(
        'artifacts.repository',
        `expected an http(s) URL, got ${JSON.stringify(repository)}`,
      );
    }
  }
  const retries = options.retries ?? DEFAULT_ARTIFACT_RETRIES;
  if (!Number.isInteger(retries) || retries < 0) {
    throw new ConfigError('artifacts.retries', `must be a whole number >= 0, got ${retries}`);
  }
  return {
    repository,
    requireChecksum: options.requireChecksum ?? false,
    maxDownloadBytes: positiveOption(
      'artifacts.maxDownloadBytes',
      options.maxDownloadBytes,
      DEFAULT_ARTIFACT_MAX_DOWNLOAD_BYTES,
    ),
    maxUnpackedBytes: positiveOption(
      'artifacts.maxUnpackedBytes',
      options.maxUnpackedBytes,
      DEFAULT_ARTIFACT_MAX_UNPACKED_BYTES,
    ),
    maxEntries: positiveOption('artifacts.maxEntries', options.maxEntries, DEFAULT_ARTIFACT_MAX_ENTRIES),
    connectTimeoutMs: positiveOption(
      'artifacts.connectTimeoutMs',
      options.connectTimeoutMs,
      DEFAULT_ARTIFACT_CONNECT_TIMEOUT_MS,
    ),
    idleTimeoutMs: positiveOption(
      'artifacts.idleTimeoutMs',
      options.idleTimeoutMs,
      DEFAULT_ARTIFACT_IDLE_TIMEOUT_MS,
    ),
    retries,
    retryDelayMs: positiveOption(
      'artifacts.retryDelayMs',
      options.retryDelayMs,
      DEFAULT_ARTIFACT_RETRY_DELAY_MS,
    ),
    fsync: options.fsync ?? true,
  };
}

function compileServiceOptions(options: ServiceOptions = {}): CompiledServiceOptions {
  const user = options.user ?? DEFAULT_SERVICE_USER;
  if (!/^\d+:\d+$/.test(user) && !/^[A-Za-z0-9_][A-Za-z0-9_.-]*\$?$/.test(user)) {
    throw new ConfigError(
      'services.user',
      `expected a user name, uid or uid:gid, got ${JSON.stringify(user)}`,
    );
  }
  const logMaxBytes = Math.floor(
    positiveOption('services.logMaxBytes', options.logMaxBytes, DEFAULT_SERVICE_LOG_MAX_BYTES),
  );
  if (logMaxBytes < MIN_SERVICE_LOG_BYTES) {
    throw new ConfigError(
      'services.logMaxBytes',
      `must be at least ${MIN_SERVICE_LOG_BYTES}, got ${logMaxBytes}`,
    );
  }
  const logFiles = options.logFiles ?? DEFAULT_SERVICE_LOG_FILES;
  if (!Number.isInteger(logFiles) || logFiles < 1 || logFiles > 100) {
    throw new ConfigError('services.logFiles', `must be a whole number from 1 to 100, got ${logFiles}`);
  }
  return { user, logMaxBytes, logFiles };
}

/** Applies the documented defaults and checks every value; the one place defaults live. */
export function compileAgentOptions(options: AgentOptions): CompiledAgentOptions {
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  if (options.nodeId !== undefined) {
    try {
      assertNodeId(options.nodeId);
    } catch (err) {
      throw new ConfigError('nodeId', (err as InvalidIdError).message, { cause: err });
    }
  }
  const exchange = options.exchange ?? DEFAULT_EXCHANGE;
  if (exchange === '') throw new ConfigError('exchange', 'must not be empty');
  const statusPort = options.statusPort ?? DEFAULT_STATUS_PORT;
  if (!Number.isInteger(statusPort) || statusPort < 0 || statusPort > 65535) {
    throw new ConfigError('statusPort', `must be a port number (0 turns it off), got ${statusPort}`);
  }
  const trustedKeys = options.trustedKeys?.map((text, i) => {
    try {
      return parsePublicKey(text, `trustedKeys[${i}]`);
    } catch (err) {
      throw new ConfigError('trustedKeys', (err as Error).message, { cause: err });
    }
  });
  if (trustedKeys?.length === 0) {
    // Not a quiet way into compatible mode: that is the absence of trusted keys.
    throw new ConfigError('trustedKeys', 'names no key; leave it out for compatible mode');
  }
  if (trustedKeys !== undefined && options.trustedKeysFile !== undefined) {
    throw new ConfigError('trustedKeys', 'give trusted keys or a trusted-keys file, not both');
  }
  const clockSkewMs = options.clockSkewMs ?? DEFAULT_CLOCK_SKEW_MS;
  if (!Number.isFinite(clockSkewMs) || clockSkewMs < 0) {
    throw new ConfigError('clockSkewMs', `must be a number of milliseconds >= 0, got ${clockSkewMs}`);
  }
  const stateDir = join(prefix, 'state');
  return {
    amqpUrl: options.amqpUrl ?? DEFAULT_AMQP_URL,
    nodeId: options.nodeId,
    prefix,
    stateDir,
    exchange,
    sysinfoFile: options.sysinfoFile,
    sysinfo: options.sysinfo,
    heartbeatIntervalMs: positiveOption(
      'heartbeatIntervalMs',
      options.heartbeatIntervalMs,
      DEFAULT_HEARTBEAT_INTERVAL_MS,
    ),
    maxOutputBytes: positiveOption('maxOutputBytes', options.maxOutputBytes, DEFAULT_MAX_OUTPUT_BYTES),
    killGraceMs: positiveOption('killGraceMs', options.killGraceMs, DEFAULT_KILL_GRACE_MS),
    defaultTimeoutMs: positiveOption('defaultTimeoutMs', options.defaultTimeoutMs, DEFAULT_TIMEOUT_MS),
    maxBodyBytes: positiveOption('maxBodyBytes', options.maxBodyBytes, DEFAULT_MAX_BODY_BYTES),
    rebootCommand: options.rebootCommand ?? DEFAULT_REBOOT_COMMAND,
    requestQueueExpiryMs: positiveOption(
      'requestQueueExpiryMs',
      options.requestQueueExpiryMs,
      DEFAULT_REQUEST_QUEUE_EXPIRY_MS,
    ),
    prefetch: Math.floor(positiveOption('prefetch', options.prefetch, DEFAULT_PREFETCH)),
    drainTimeoutMs: positiveOption('drainTimeoutMs', options.drainTimeoutMs, DEFAULT_DRAIN_TIMEOUT_MS),
    probeHardware: options.probeHardware ?? true,
    reconnectInitialDelayMs: positiveOption(
      'reconnectInitialDelayMs',
      options.reconnectInitialDelayMs,
      DEFAULT_RECONNECT_INITIAL_DELAY_MS,
    ),
    reconnectMaxDelayMs: positiveOption(
      'reconnectMaxDelayMs',
      options.reconnectMaxDelayMs,
      DEFAULT_RECONNECT_MAX_DELAY_MS,
    ),
    statusPort,
    journalMaxEntries: Math.floor(
      positiveOption('journalMaxEntries', options.journalMaxEntries, DEFAULT_JOURNAL_MAX_ENTRIES),
    ),
    journalRetentionMs: positiveOption(
      'journalRetentionMs',
      options.journalRetentionMs,
      DEFAULT_JOURNAL_RETENTION_MS,
    ),
    journalMaxReplyBytes: positiveOption(
      'journalMaxReplyBytes',
      options.journalMaxReplyBytes,
      DEFAULT_JOURNAL_MAX_REPLY_BYTES,
    ),
    artifacts: compileArtifactOptions(options.artifacts),
    trustedKeysFile: options.trustedKeysFile,
    trustedKeys,
    clockSkewMs,
    keyFile: join(stateDir, 'agent-key.pem'),
    tlsCaFile: options.tlsCaFile,
    tlsCertFile: options.tlsCertFile,
    tlsKeyFile: options.tlsKeyFile,
    services: compileServiceOptions(options.services),
    spawnHelper: options.spawnHelper === false ? undefined : (options.spawnHelper ?? builtSpawnHelperPath()),
    logger: options.logger ?? silentLogger,
  };
}
