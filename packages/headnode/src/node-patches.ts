import {
  check,
  HeartbeatSchema,
  ShutdownSchema,
  SysinfoSchema,
  type Heartbeat,
  type Sysinfo,
} from '@ur/protocol';
import type { NodeFacts, NodePatch } from './store/node-store.js';

export type PatchResult = { ok: true; patch: NodePatch } | { ok: false; reason: string };

const MiB = 1024 * 1024;
const GB = 1e9;

function bootTimeMs(sysinfo: Sysinfo): number | null {
  const seconds = Number(sysinfo['Boot Time']);
  return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : null;
}

const wholeOrNull = (value: number): number | null =>
  Number.isFinite(value) && value >= 0 ? Math.round(value) : null;

const text = (value: unknown): string | null =>
  typeof value === 'string' && value.trim() !== '' ? value.trim() : null;

/** Total disk size: ours in "Disk Bytes"; Triton's as "Disks": {name: {"Size in GB"}}. */
function diskBytes(sysinfo: Sysinfo): number | null {
  if (sysinfo['Disk Bytes'] !== undefined) return sysinfo['Disk Bytes'];
  const disks = sysinfo.Disks;
  if (typeof disks !== 'object' || disks === null) return null;
  let total = 0;
  for (const disk of Object.values(disks as Record<string, unknown>)) {
    const gb = Number((disk as Record<string, unknown> | null)?.['Size in GB']);
    if (Number.isFinite(gb)) total += gb * GB;
  }
  return total > 0 ? total : null;
}

/** The stored columns a sysinfo gives, with fallbacks to Triton's keys. */
export function factsFromSysinfo(sysinfo: Sysinfo): NodeFacts {
  const agent = sysinfo['Ur Agent'];
  const cores = sysinfo['CPU Total Cores'];
  const mib = Number(sysinfo['MiB of Memory']);
  return {
    hostname: sysinfo.Hostname ?? null,
    sysinfo: JSON.stringify(sysinfo),
    agentVersion: agent?.version ?? null,
    capabilities: JSON.stringify(agent?.capabilities ?? []),
    lastBoot: bootTimeMs(sysinfo),
    heartbeatIntervalMs: agent?.heartbeat_interval_s !== undefined ? agent.heartbeat_interval_s * 1000 : null,
    os: text(sysinfo['System Type'])?.toLowerCase() ?? null,
    arch: text(sysinfo.Architecture),
    serial: text(sysinfo['Serial Number']),
    bmcAddress: text(sysinfo['BMC Address']),
    cpuMilli: sysinfo['CPU Milli Cores'] ?? (cores !== undefined ? cores * 1000 : null),
    memoryBytes:
      sysinfo['Memory Bytes'] ?? (sysinfo['MiB of Memory'] !== undefined ? wholeOrNull(mib * MiB) : null),
    diskBytes: diskBytes(sysinfo),
    consolePort: agent?.console_port ?? null,
    requestSigning: agent === undefined ? null : agent.verifies_requests === true ? 'enforced' : 'off',
    publicKey: agent?.public_key ?? null,
  };
}

/** `ur.startup.<id>`, `ur.sysinfo.<id>.<x>` and replies to sysinfo broadcasts: the node's facts. */
export function patchFromSysinfo(nodeId: string, body: unknown, now: number, reason: string): PatchResult {
  const checked = check(SysinfoSchema, body);
  if (!checked.ok) return { ok: false, reason: checked.error.message };
  const sysinfo = checked.value as Sysinfo;
  // As CNAPI does: a sysinfo that names another node is not trusted.
  if (sysinfo.UUID !== nodeId)
    return { ok: false, reason: `UUID ${sysinfo.UUID} does not match the routing key` };
  return {
    ok: true,
    patch: { id: nodeId, seenAt: now, status: 'ready', reason, announce: factsFromSysinfo(sysinfo) },
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
    ...(beat.services !== undefined ? { services: beat.services } : {}),
  };
  return {
    ok: true,
    patch: {
      id: nodeId,
      seenAt: now,
      status: 'ready',
      reason: 'heartbeat',
      heartbeat: { json: JSON.stringify(summary), intervalMs: beat.interval_s * 1000 },
    },
  };
}

/** `ur.shutdown.<id>`: the agent stopped on purpose. */
export function patchFromShutdown(nodeId: string, body: unknown, now: number): PatchResult {
  const checked = check(ShutdownSchema, body);
  const why = checked.ok && checked.value.reason !== '' ? `: ${checked.value.reason}` : '';
  return { ok: true, patch: { id: nodeId, seenAt: now, status: 'left', reason: `agent stopped${why}` } };
}

/** Any other sign of life: a command reply, a ping answer. */
export function patchFromContact(nodeId: string, now: number, reason: string): NodePatch {
  return { id: nodeId, seenAt: now, status: 'ready', reason };
}
