import type { NodeStatus } from '@ur/protocol';

export interface LivenessSettings {
  /** Silent this long: down (the grace period). */
  downAfterMs: number;
  /** Used when a node did not say how often it heartbeats (and how often Triton agents are pinged). */
  defaultHeartbeatIntervalMs: number;
}

export interface Transition {
  to: NodeStatus;
  reason: string;
}

export interface LivenessFacts {
  status: NodeStatus;
  status_since: number;
  last_seen: number;
  heartbeat_interval_ms: number | null;
}

const seconds = (ms: number): string => `${Math.round(ms / 100) / 10} s`;

/**
 * What time alone does to a node's stored status (messages and connection
 * signals are handled where they arrive): `ready` → `suspect` after two
 * missed heartbeats, `ready`/`suspect` → `down` after the grace period,
 * `unknown` → `down` when not heard from for a grace period after it became
 * unknown. `down` and `left` wait for the node to speak. Reasons depend only
 * on the settings and the interval, so many transitions share one UPDATE.
 */
export function nextStatus(row: LivenessFacts, now: number, s: LivenessSettings): Transition | undefined {
  const age = now - row.last_seen;
  const interval = row.heartbeat_interval_ms ?? s.defaultHeartbeatIntervalMs;
  const down: Transition = { to: 'down', reason: `silent for the grace period (${seconds(s.downAfterMs)})` };
  switch (row.status) {
    case 'ready':
      if (age >= s.downAfterMs) return down;
      if (age >= 2 * interval)
        return { to: 'suspect', reason: `missed 2 heartbeats (interval ${seconds(interval)})` };
      return undefined;
    case 'suspect':
      return age >= s.downAfterMs ? down : undefined;
    case 'unknown':
      return row.last_seen < row.status_since && now - row.status_since >= s.downAfterMs
        ? {
            to: 'down',
            reason: `not heard from within the grace period (${seconds(s.downAfterMs)}) after a headnode start`,
          }
        : undefined;
    default:
      return undefined;
  }
}

/** Why nodes are `unknown` after a headnode (re)start with nobody watching before it. */
export const UNKNOWN_AFTER_START = 'headnode started; not heard from since';
