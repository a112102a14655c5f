import { compileHeadnodeOptions, parseHeadnodeConfig, parseListen } from '@ur/headnode';

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
