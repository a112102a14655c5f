import { deriveStatus, parseListen, type LivenessSettings } from '@ur/headnode';

const settings: LivenessSettings = {
  startedAt: 1_000_000,
  downAfterMs: 30_000,
  defaultHeartbeatIntervalMs: 5_000,
};
const row = (lastSeen: number, state: 'active' | 'left' = 'active', interval: number | null = 5_000) => ({
  state,
  last_seen: lastSeen,
  heartbeat_interval_ms: interval,
});

describe('deriveStatus', () => {
  const now = settings.startedAt + 60_000;
  it.each([
    ['fresh heartbeat', row(now - 1_000), 'ready'],
    ['one missed heartbeat', row(now - 9_000), 'ready'],
    ['two missed heartbeats', row(now - 10_000), 'suspect'],
    ['silent past the grace period', row(now - 30_000), 'down'],
    ['said goodbye', row(now - 1_000, 'left'), 'left'],
    ['slow heartbeater within its own interval', row(now - 15_000, 'active', 10_000), 'ready'],
  ] as const)('%s → %s', (_what, r, expected) => {
    expect(deriveStatus(r, now, settings)).toBe(expected);
  });

  it('calls nodes not heard from since the headnode started unknown for one grace period, then down', () => {
    const stale = row(settings.startedAt - 5_000);
    expect(deriveStatus(stale, settings.startedAt + 1_000, settings)).toBe('unknown');
    expect(deriveStatus(stale, settings.startedAt + 31_000, settings)).toBe('down');
    expect(deriveStatus(row(settings.startedAt + 500), settings.startedAt + 1_000, settings)).toBe('ready');
  });
});

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
