import { compileAgentOptions, DEFAULT_AMQP_URL, parseAgentConfig } from '@ur/agent';
import { ConfigError } from '@ur/runtime';

describe('parseAgentConfig', () => {
  it('reads flags, falling back to UR_* variables, leaving defaults for later', () => {
    const config = parseAgentConfig(['--node-id', 'n1', '--heartbeat-interval', '2.5'], {
      UR_PREFIX: '/srv/ur',
      UR_NODE_ID: 'ignored-because-the-flag-wins',
      UR_LOG_FORMAT: 'pretty',
    });
    expect(config.options).toMatchObject({ nodeId: 'n1', prefix: '/srv/ur', heartbeatIntervalMs: 2500 });
    expect(config.options.amqpUrl).toBeUndefined();
    expect(config.logFormat).toBe('pretty');
  });

  it.each([
    [['--heartbeat-interval', 'soon'], 'heartbeat-interval'],
    [['--default-timeout=-3'], 'default-timeout'],
    [['--log-format', 'xml'], 'log-format'],
    [['--status-port', '70000'], 'status-port'],
    [['--status-port', 'auto'], 'status-port'],
  ])('refuses %j naming the flag', (argv, field) => {
    let error: unknown;
    try {
      parseAgentConfig(argv, {});
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).field).toBe(field);
  });

  it('reads the status port, with off meaning disabled', () => {
    expect(parseAgentConfig(['--status-port', '9000'], {}).options.statusPort).toBe(9000);
    expect(parseAgentConfig([], { UR_STATUS_PORT: 'off' }).options.statusPort).toBe(0);
    expect(parseAgentConfig([], {}).options.statusPort).toBeUndefined();
  });

  it('reads the security flags and variables', () => {
    const config = parseAgentConfig(['--trusted-keys', '/etc/ur/keys', '--clock-skew', '0'], {
      UR_TLS_CA: '/etc/ur/ca.pem',
      UR_TLS_CERT: '/etc/ur/cert.pem',
      UR_TLS_KEY: '/etc/ur/key.pem',
    });
    expect(config.options).toMatchObject({
      trustedKeysFile: '/etc/ur/keys',
      clockSkewMs: 0,
      tlsCaFile: '/etc/ur/ca.pem',
      tlsCertFile: '/etc/ur/cert.pem',
      tlsKeyFile: '/etc/ur/key.pem',
    });
    expect(() => parseAgentConfig(['--clock-skew', '-1'], {})).toThrow(/clock-skew/);
  });

  it('refuses unknown flags', () => {
    expect(() => parseAgentConfig(['--nod-id', 'x'], {})).toThrow(/Unknown option '--nod-id'/);
  });
});

describe('compileAgentOptions', () => {
  it('applies the documented defaults', () => {
    const o = compileAgentOptions({});
    expect(o).toMatchObject({
      amqpUrl: DEFAULT_AMQP_URL,
      prefix: '/var/lib/ur',
      stateDir: '/var/lib/ur/state',
      exchange: 'amq.topic',
      heartbeatIntervalMs: 5000,
      maxOutputBytes: 1024 * 1024,
      maxBodyBytes: 8 * 1024 * 1024,
      statusPort: 7572,
      journalMaxEntries: 10_000,
      journalRetentionMs: 24 * 3600 * 1000,
    });
  });

  it('refuses node ids that are not one routing-key word', () => {
    expect(() => compileAgentOptions({ nodeId: 'a.b' })).toThrow(ConfigError);
    expect(() => compileAgentOptions({ nodeId: 'node-*' })).toThrow(/no dots or wildcards/);
  });

  it('compiles trusted keys; an empty list is refused, not compatible mode', () => {
    const key = 'ed25519:' + Buffer.alloc(32, 7).toString('base64');
    const o = compileAgentOptions({ prefix: '/p', trustedKeys: [key] });
    expect(o.trustedKeys?.map((k) => k.text)).toEqual([key]);
    expect(o).toMatchObject({ clockSkewMs: 30_000, keyFile: '/p/state/agent-key.pem' });
    expect(() => compileAgentOptions({ trustedKeys: [] })).toThrow(/names no key/);
    expect(() => compileAgentOptions({ trustedKeys: ['ed25519:AA=='] })).toThrow(/trustedKeys\[0\]/);
    expect(() => compileAgentOptions({ trustedKeys: [key], trustedKeysFile: '/k' })).toThrow(/not both/);
  });

  it('refuses nonsense numbers', () => {
    expect(() => compileAgentOptions({ heartbeatIntervalMs: 0 })).toThrow(/heartbeatIntervalMs/);
  });
});

describe('artifact options', () => {
  it('reads the artifact flags and variables', () => {
    const config = parseAgentConfig(
      ['--artifact-repo', 'https://repo.example/sw', '--require-checksum', '--artifact-idle-timeout', '5'],
      { UR_ARTIFACT_MAX_ENTRIES: '5000', UR_ARTIFACT_MAX_UNPACKED: '1048576' },
    );
    expect(config.options.artifacts).toEqual({
      repository: 'https://repo.example/sw',
      requireChecksum: true,
      maxDownloadBytes: undefined,
      maxUnpackedBytes: 1048576,
      maxEntries: 5000,
      idleTimeoutMs: 5000,
    });
    const off = parseAgentConfig([], { UR_REQUIRE_CHECKSUM: 'no' });
    expect(off.options.artifacts?.requireChecksum).toBe(false);
  });

  it('applies the documented defaults', () => {
    expect(compileAgentOptions({}).artifacts).toEqual({
      repository: undefined,
      requireChecksum: false,
      maxDownloadBytes: 4 * 1024 ** 3,
      maxUnpackedBytes: 16 * 1024 ** 3,
      maxEntries: 100_000,
      connectTimeoutMs: 10_000,
      idleTimeoutMs: 30_000,
      retries: 3,
      retryDelayMs: 1_000,
      fsync: true,
    });
  });

  it('refuses a repository that is not an http(s) URL, and negative retries', () => {
    expect(() => compileAgentOptions({ artifacts: { repository: 'ftp://x/y' } })).toThrow(
      /artifacts.repository/,
    );
    expect(() => compileAgentOptions({ artifacts: { repository: 'not a url' } })).toThrow(ConfigError);
    expect(() => compileAgentOptions({ artifacts: { retries: -1 } })).toThrow(/artifacts.retries/);
    expect(compileAgentOptions({ artifacts: { retries: 0 } }).artifacts.retries).toBe(0);
  });
});

describe('service options', () => {
  it('reads the service flags and variables, and applies the documented defaults', () => {
    const config = parseAgentConfig(['--service-user', '1000:1000', '--service-log-files', '3'], {
      UR_SERVICE_LOG_MAX: '65536',
    });
    expect(config.options.services).toEqual({ user: '1000:1000', logMaxBytes: 65536, logFiles: 3 });
    expect(compileAgentOptions({}).services).toEqual({
      user: 'nobody',
      logMaxBytes: 10 * 1024 * 1024,
      logFiles: 5,
    });
  });

  it('refuses a malformed user, a tiny log and a silly number of files', () => {
    expect(() => compileAgentOptions({ services: { user: 'a b' } })).toThrow(/services.user/);
    expect(() => compileAgentOptions({ services: { user: '1000:' } })).toThrow(/services.user/);
    expect(() => compileAgentOptions({ services: { logMaxBytes: 100 } })).toThrow(/services.logMaxBytes/);
    expect(() => compileAgentOptions({ services: { logFiles: 0 } })).toThrow(/services.logFiles/);
    expect(() => compileAgentOptions({ services: { logFiles: 1.5 } })).toThrow(/services.logFiles/);
  });
});
