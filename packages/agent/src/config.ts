import {
  ConfigError,
  booleanFlag,
  LOG_FORMATS,
  LOG_LEVELS,
  oneOf,
  parseFlags,
  positiveNumber,
  type LogFormat,
  type LogLevel,
} from '@ur/runtime';
import type { AgentOptions } from './options.js';

export interface AgentConfig {
  options: AgentOptions;
  logLevel: LogLevel | undefined;
  logFormat: LogFormat | undefined;
}

/** Every flag and the UR_* variable it falls back to. */
export const AGENT_FLAGS = {
  'amqp-url': { env: 'UR_AMQP_URL', describe: 'Broker URL [default: amqp://guest:guest@127.0.0.1:5672]' },
  'node-id': { env: 'UR_NODE_ID', describe: 'Node id [default: SMBIOS UUID, else /etc/machine-id]' },
  prefix: { env: 'UR_PREFIX', describe: 'Directory for software/, runtime/, state/ [default: /var/lib/ur]' },
  exchange: { env: 'UR_EXCHANGE', describe: 'Topic exchange [default: amq.topic]' },
  'sysinfo-file': { env: 'UR_SYSINFO_FILE', describe: 'Announce this JSON file instead of probing' },
  'heartbeat-interval': { env: 'UR_HEARTBEAT_INTERVAL', describe: 'Seconds between heartbeats [default: 5]' },
  'default-timeout': {
    env: 'UR_DEFAULT_TIMEOUT',
    describe: 'Seconds for requests without a timeout [default: 3600]',
  },
  'kill-grace': { env: 'UR_KILL_GRACE', describe: 'Seconds between SIGTERM and SIGKILL [default: 5]' },
  'max-output': { env: 'UR_MAX_OUTPUT', describe: 'Bytes kept per output stream [default: 1048576]' },
  'max-body': { env: 'UR_MAX_BODY', describe: 'Largest request body in bytes [default: 8388608]' },
  'queue-expiry': {
    env: 'UR_QUEUE_EXPIRY',
    describe: 'Seconds the request queue outlives a disconnect [default: 600]',
  },
  'drain-timeout': {
    env: 'UR_DRAIN_TIMEOUT',
    describe: 'Seconds a graceful stop waits for commands [default: 30]',
  },
  'reboot-command': { env: 'UR_REBOOT_COMMAND', describe: 'Run after a script exits 113 [default: reboot]' },
  'status-port': {
    env: 'UR_STATUS_PORT',
    describe: 'Port of the read-only status endpoint on 127.0.0.1; 0 or off disables it [default: 7572]',
  },
  'artifact-repo': {
    env: 'UR_ARTIFACT_REPO',
    describe:
      'Artifact repository URL (<repo>/<group>/<artifact>/<version>/<artifact>-<version>.zip) [default: none]',
  },
  'require-checksum': {
    env: 'UR_REQUIRE_CHECKSUM',
    switch: true,
    describe: 'Refuse artifacts without a SHA-256 from the request or a .sha256 file [default: false]',
  },
  'artifact-max-download': {
    env: 'UR_ARTIFACT_MAX_DOWNLOAD',
    describe: 'Largest artifact archive in bytes [default: 4294967296]',
  },
  'artifact-max-unpacked': {
    env: 'UR_ARTIFACT_MAX_UNPACKED',
    describe: 'Largest unpacked artifact in bytes [default: 17179869184]',
  },
  'artifact-max-entries': {
    env: 'UR_ARTIFACT_MAX_ENTRIES',
    describe: 'Most entries in an artifact archive [default: 100000]',
  },
  'artifact-idle-timeout': {
    env: 'UR_ARTIFACT_IDLE_TIMEOUT',
    describe: 'Seconds a download may stall before it is retried [default: 30]',
  },
  'trusted-keys': {
    env: 'UR_TRUSTED_KEYS',
    describe:
      'File of public keys (one ed25519:... per line) whose signed requests run; without it, unsigned requests run (compatible mode)',
  },
  'clock-skew': {
    env: 'UR_CLOCK_SKEW',
    describe: 'Seconds a signer clock may differ from ours when checking signature times [default: 30]',
  },
  'tls-ca': { env: 'UR_TLS_CA', describe: 'PEM CA certificate for amqps:// brokers [default: system CAs]' },
  'tls-cert': { env: 'UR_TLS_CERT', describe: 'PEM client certificate for amqps:// (with --tls-key)' },
  'tls-key': { env: 'UR_TLS_KEY', describe: 'PEM client key for amqps:// (with --tls-cert)' },
  'service-user': {
    env: 'UR_SERVICE_USER',
    describe:
      'Account services run as when the agent is root (name, uid or uid:gid; root for root) [default: nobody]',
  },
  'service-log-max': {
    env: 'UR_SERVICE_LOG_MAX',
    describe: 'Bytes of one service log file before it is rotated [default: 10485760]',
  },
  'service-log-files': {
    env: 'UR_SERVICE_LOG_FILES',
    describe: 'Rotated log files kept per service [default: 5]',
  },
  'spawn-helper': {
    env: 'UR_SPAWN_HELPER',
    describe: 'ur-spawn binary that starts commands, or off for Node spawn() [default: the built one]',
  },
  'log-level': { env: 'UR_LOG_LEVEL', describe: 'error, warn, info or debug [default: info]' },
  'log-format': { env: 'UR_LOG_FORMAT', describe: 'json or pretty [default: json]' },
} as const;

/** A port number, with `off` meaning 0 (disabled). */
function portOrOff(field: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  if (raw.trim().toLowerCase() === 'off') return 0;
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isInteger(n) || n < 0 || n > 65535) {
    throw new ConfigError(field, `expected a port number or off, got ${JSON.stringify(raw)}`);
  }
  return n;
}

/** A path, or `off` for none (false); unset keeps the default. */
function spawnHelperFlag(raw: string | undefined): string | false | undefined {
  if (raw === undefined || raw.trim() === '') return undefined;
  return raw.trim().toLowerCase() === 'off' ? false : raw;
}

/** A number >= 0, scaled (e.g. seconds to ms). */
function nonNegativeNumber(field: string, raw: string | undefined, scale = 1): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n) || n < 0) {
    throw new ConfigError(field, `expected a number >= 0, got ${JSON.stringify(raw)}`);
  }
  return n * scale;
}

/**
 * Reads the agent's configuration from flags, falling back to UR_* variables.
 * Defaults are applied later, in `compileAgentOptions`.
 */
export function parseAgentConfig(
  argv: string[],
  env: Record<string, string | undefined> = process.env,
): AgentConfig {
  const f = parseFlags(argv, env, {
    scriptName: 'ur-agent',
    usage: '$0 [options]\n\nThe Ur node agent. Every option can also be set with its UR_* variable.',
    flags: AGENT_FLAGS,
  });
  return {
    options: {
      amqpUrl: f['amqp-url'],
      nodeId: f['node-id'],
      prefix: f.prefix,
      exchange: f.exchange,
      sysinfoFile: f['sysinfo-file'],
      heartbeatIntervalMs: positiveNumber('heartbeat-interval', f['heartbeat-interval'], 1000),
      defaultTimeoutMs: positiveNumber('default-timeout', f['default-timeout'], 1000),
      killGraceMs: positiveNumber('kill-grace', f['kill-grace'], 1000),
      maxOutputBytes: positiveNumber('max-output', f['max-output']),
      maxBodyBytes: positiveNumber('max-body', f['max-body']),
      requestQueueExpiryMs: positiveNumber('queue-expiry', f['queue-expiry'], 1000),
      drainTimeoutMs: positiveNumber('drain-timeout', f['drain-timeout'], 1000),
      rebootCommand: f['reboot-command'],
      statusPort: portOrOff('status-port', f['status-port']),
      artifacts: {
        repository: f['artifact-repo'],
        requireChecksum: booleanFlag('require-checksum', f['require-checksum']),
        maxDownloadBytes: positiveNumber('artifact-max-download', f['artifact-max-download']),
        maxUnpackedBytes: positiveNumber('artifact-max-unpacked', f['artifact-max-unpacked']),
        maxEntries: positiveNumber('artifact-max-entries', f['artifact-max-entries']),
        idleTimeoutMs: positiveNumber('artifact-idle-timeout', f['artifact-idle-timeout'], 1000),
      },
      trustedKeysFile: f['trusted-keys'],
      clockSkewMs: nonNegativeNumber('clock-skew', f['clock-skew'], 1000),
      tlsCaFile: f['tls-ca'],
      tlsCertFile: f['tls-cert'],
      tlsKeyFile: f['tls-key'],
      spawnHelper: spawnHelperFlag(f['spawn-helper']),
      services: {
        user: f['service-user'],
        logMaxBytes: positiveNumber('service-log-max', f['service-log-max']),
        logFiles: positiveNumber('service-log-files', f['service-log-files']),
      },
    },
    logLevel: oneOf('log-level', f['log-level'], LOG_LEVELS),
    logFormat: oneOf('log-format', f['log-format'], LOG_FORMATS),
  };
}
