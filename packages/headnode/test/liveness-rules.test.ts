import { nextStatus, type LivenessFacts, type LivenessSettings } from '@ur/headnode';
import type { NodeStatus } from '@ur/protocol';

const s: LivenessSettings = { downAfterMs: 30_000, defaultHeartbeatIntervalMs: 5_000 };
const now = 1_000_000;
const row = (
  status: NodeStatus,
  silentMs: number,
  interval: number | null = 5_000,
  statusSince = now - silentMs,
): LivenessFacts => ({
  status,
  last_seen: now - silentMs,
  heartbeat_interval_ms: interval,
  status_since: statusSince,
});

describe('nextStatus', () => {
  it.each<[string, LivenessFacts, NodeStatus | undefined]>([
    ['ready, fresh heartbeat', row('ready', 1_000), undefined],
    ['ready, one missed heartbeat', row('ready', 9_999), undefined],
    ['ready, two missed heartbeats', row('ready', 10_000), 'suspect'],
    ['ready, silent past the grace period', row('ready', 30_000), 'down'],
    ['ready, slow heartbeater within its own interval', row('ready', 15_000, 10_000), undefined],
    ['ready, no interval stated: the default', row('ready', 10_000, null), 'suspect'],
    ['suspect, still within the grace period', row('suspect', 29_999), undefined],
    ['suspect, past the grace period', row('suspect', 30_000), 'down'],
    ['down stays down until heard from', row('down', 3_600_000), undefined],
    ['left stays left', row('left', 3_600_000), undefined],
    ['unknown within the grace period', row('unknown', 100_000, 5_000, now - 29_000), undefined],
    ['unknown, not heard from for a grace period', row('unknown', 100_000, 5_000, now - 30_000), 'down'],
    // Heard from after becoming unknown: the inbound writer makes it ready; time alone changes nothing.
    ['unknown but heard from since', row('unknown', 1_000, 5_000, now - 40_000), undefined],
  ])('%s → %s', (_what, r, expected) => {
    expect(nextStatus(r, now, s)?.to).toBe(expected);
  });

  it('gives reasons that depend only on the settings, so transitions batch', () => {
    expect(nextStatus(row('ready', 12_000), now, s)?.reason).toBe('missed 2 heartbeats (interval 5 s)');
    expect(nextStatus(row('suspect', 31_000), now, s)?.reason).toBe('silent for the grace period (30 s)');
    expect(nextStatus(row('ready', 99_000), now, s)?.reason).toBe('silent for the grace period (30 s)');
  });
});
