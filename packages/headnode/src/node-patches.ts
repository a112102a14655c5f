import { check, HeartbeatSchema, SysinfoSchema, type Heartbeat, type Sysinfo } from '@ur/protocol';
import type { NodePatch } from './store/node-store.js';

export type PatchResult = { ok: true; patch: NodePatch } | { ok: false; reason: string };

function bootTimeMs(sysinfo: Sysinfo): number | null {
  const seconds = Number(sysinfo['Boot Time']);
  return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : null;
}

/** `ur.startup.<id>` and `ur.sysinfo.<id>.<x>`: the node's facts. */
export function patchFromSysinfo(nodeId: string, body: unknown, now: number): PatchResult {
  const checked = check(SysinfoSchema, body);
  if (!checked.ok) return { ok: false, reason: checked.error.message };
  const sysinfo = checked.value as Sysinfo;
  // As CNAPI does: a sysinfo that names another node is not trusted.
  if (sysinfo.UUID !== nodeId)
    return { ok: false, reason: `UUID ${sysinfo.UUID} does not match the routing key` };
  const agent = sysinfo['Ur Agent'];
  return {
    ok: true,
    patch: {
      id: nodeId,
      seenAt: now,
      state: 'active',
      announce: {
        hostname: sysinfo.Hostname ?? null,
        sysinfo: JSON.stringify(sysinfo),
        agentVersion: agent?.version ?? null,
        capabilities: JSON.stringify(agent?.capabilities ?? []),
        lastBoot: bootTimeMs(sysinfo),
        heartbeatIntervalMs:
          agent?.heartbeat_interval_s !== undefined ? agent.heartbeat_interval_s * 1000 : null,
      },
    },
  };
}

/** `ur.heartbeat.<id>`. */
export function patchFromHeartbeat(nodeId: string, body: unknown, now: number): PatchResult {
  const checked = check(HeartbeatSchema, body);
  if (!checked.ok) return { ok: false, reason: checked.error.message };
  const beat: Heartbeat = checked.value;
  const summary = {
    seq: beat.seq,
    at: new Date(now).toISOString(),
    load: beat.load,
    mem_free_mib: beat.mem_free_mib,
    running: beat.running,
  };
  return {
    ok: true,
    patch: {
      id: nodeId,
      seenAt: now,
      state: 'active',
      heartbeat: { json: JSON.stringify(summary), intervalMs: beat.interval_s * 1000 },
    },
  };
}

/** `ur.shutdown.<id>`: the agent stopped on purpose. */
export function patchFromShutdown(nodeId: string, now: number): PatchResult {
  return { ok: true, patch: { id: nodeId, seenAt: now, state: 'left' } };
}
