import { compileHeadnodeOptions, parseHeadnodeConfig, parseListen, runAdminCommand } from '@ur/headnode';

describe('parseListen', () => {
  it.each([
    ['127.0.0.1:8080', { host: '127.0.0.1', port: 8080 }],
    [':9000', { host: '127.0.0.1', port: 9000 }],
    ['9000', { host: '127.0.0.1', port: 9000 }],
    ['0.0.0.0:0', { host: '0.0.0.0', port: 0 }],
    ['[::1]:8080', { host: '::1', port: 8080 }],
  ])('parses %s', (listen, expected) => {
    expect(parseListen(listen)).toEqual(expected);
  });

  it.each(['localhost', 'host:99999', 'host:port'])('refuses %s', (listen) => {
    expect(() => parseListen(listen)).toThrow(/listen/);
  });
});

describe('compileHeadnodeOptions', () => {
  it('evaluates liveness at least every second, and twice per assumed heartbeat interval', () => {
    expect(compileHeadnodeOptions({}).livenessIntervalMs).toBe(1_000);
    expect(compileHeadnodeOptions({ heartbeatIntervalMs: 400 }).livenessIntervalMs).toBe(200);
    expect(compileHeadnodeOptions({}).leaseTtlMs).toBe(5_000);
  });

  it('reads the liveness flags in seconds', () => {
    const { options } = parseHeadnodeConfig(
      ['--down-after', '12', '--heartbeat-interval', '0.5', '--lease-ttl', '3'],
      {},
    );
    expect(options).toMatchObject({ downAfterMs: 12_000, heartbeatIntervalMs: 500, leaseTtlMs: 3_000 });
  });
});

describe('security settings', () => {
  it('reads the signing key, its lifetime and the TLS files', () => {
    const { options } = parseHeadnodeConfig(
      ['--signing-key', '/etc/ur/hn.pem', '--signature-lifetime', '30'],
      {
        UR_TLS_CA: '/etc/ur/ca.pem',
      },
    );
    expect(options).toMatchObject({
      signingKeyFile: '/etc/ur/hn.pem',
      signatureLifetimeMs: 30_000,
      tlsCaFile: '/etc/ur/ca.pem',
    });
    expect(compileHeadnodeOptions({}).signatureLifetimeMs).toBe(60_000);
  });
});

describe('ur-headnode subcommands', () => {
  async function admin(...argv: string[]): Promise<{ status: number | undefined; out: string; err: string }> {
    let out = '';
    let err = '';
    const status = await runAdminCommand(argv, {
      stdout: { write: (t: string) => (out += t) },
      stderr: { write: (t: string) => (err += t) },
      env: {},
    });
    return { status, out, err };
  }

  it('leaves the server flags alone', async () => {
    expect((await admin('--listen', ':0')).status).toBeUndefined();
    expect((await admin()).status).toBeUndefined();
  });

  it('says what is missing, with the usage, exit 64', async () => {
    const keygen = await admin('keygen');
    expect(keygen).toMatchObject({ status: 64 });
    expect(keygen.err).toMatch(/--out FILE is required[\s\S]*ur-headnode keygen --out FILE/);
    expect((await admin('tokens')).err).toMatch(/say create, list or revoke/);
    expect((await admin('tokens', 'create', '--role', 'root')).err).toMatch(
      /--role must be one of read, operate, admin/,
    );
    expect((await admin('tokens', 'revoke')).err).toMatch(/revoke takes one token id/);
    expect((await admin('tokens', 'list', '--bogus')).status).toBe(64);
    expect(await admin('tokens', '--help')).toMatchObject({
      status: 0,
      out: expect.stringMatching(/^ur-headnode tokens create/) as unknown,
    });
  });
});
