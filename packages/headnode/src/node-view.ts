import type { NodeDetail, NodeStatus, NodeSummary, Sysinfo } from '@ur/protocol';
import { artifactsOf } from './node-artifacts.js';
import type { NodeRow } from './store/node-store.js';

export interface LivenessSettings {
  /** When this headnode process started (epoch ms). */
  startedAt: number;
  /** Silent this long: down. */
  downAfterMs: number;
  /** Used when a node did not say how often it heartbeats. */
  defaultHeartbeatIntervalMs: number;
}

/**
 * A node's status, derived from what is stored: `left` if it said goodbye;
 * `unknown` if this headnode has not heard from it since it started (for one
 * grace period); else by the age of the last message: `ready`, `suspect`
 * after two missed heartbeats, `down` after the grace period.
 */
export function deriveStatus(
  row: Pick<NodeRow, 'state' | 'last_seen' | 'heartbeat_interval_ms'>,
  now: number,
  s: LivenessSettings,
): NodeStatus {
  if (row.state === 'left') return 'left';
  const age = now - row.last_seen;
  if (row.last_seen < s.startedAt && now - s.startedAt < s.downAfterMs) return 'unknown';
  if (age >= s.downAfterMs) return 'down';
  const interval = row.heartbeat_interval_ms ?? s.defaultHeartbeatIntervalMs;
  return age >= 2 * interval ? 'suspect' : 'ready';
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

function parseJson<T>(text: string | null, fallback: T): T {
  if (text === null) return fallback;
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
}

export function toSummary(row: NodeRow, now: number, s: LivenessSettings): NodeSummary {
  return {
    id: row.id,
    hostname: row.hostname,
    status: deriveStatus(row, now, s),
    agent_version: row.agent_version,
    capabilities: parseJson<string[]>(row.capabilities, []),
    first_seen: new Date(row.first_seen).toISOString(),
    last_seen: new Date(row.last_seen).toISOString(),
    last_boot: iso(row.last_boot),
  };
}

export function toDetail(row: NodeRow, now: number, s: LivenessSettings): NodeDetail {
  const sysinfo = parseJson<Sysinfo>(row.sysinfo, { UUID: row.id });
  return {
    ...toSummary(row, now, s),
    sysinfo,
    last_heartbeat: parseJson<NodeDetail['last_heartbeat']>(row.last_heartbeat, null),
    artifacts: artifactsOf(sysinfo),
  };
}
