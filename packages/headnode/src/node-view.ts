import type { NodeDetail, NodeService, NodeSummary, Sysinfo } from '@ur/protocol';
import { artifactsOf } from './node-artifacts.js';
import { parseLabels, type NodeRow, type NodeSummaryRow } from './store/node-store.js';

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

function parseJson<T>(text: string | null, fallback: T): T {
  if (text === null) return fallback;
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
}

export function toSummary(row: NodeSummaryRow): NodeSummary {
  return {
    id: row.id,
    hostname: row.hostname,
    status: row.status,
    status_since: new Date(row.status_since).toISOString(),
    status_reason: row.status_reason,
    agent_version: row.agent_version,
    capabilities: parseJson<string[]>(row.capabilities, []),
    labels: parseLabels(row.labels),
    os: row.os,
    arch: row.arch,
    serial: row.serial,
    bmc_address: row.bmc_address,
    cpu_milli: row.cpu_milli,
    memory_bytes: row.memory_bytes,
    disk_bytes: row.disk_bytes,
    console_port: row.console_port,
    first_seen: new Date(row.first_seen).toISOString(),
    last_seen: new Date(row.last_seen).toISOString(),
    last_boot: iso(row.last_boot),
    request_signing: row.request_signing === 'enforced' ? 'enforced' : 'off',
    key_status: row.key_status,
  };
}

export function toDetail(row: NodeRow, services: NodeService[]): NodeDetail {
  const sysinfo = parseJson<Sysinfo>(row.sysinfo, { UUID: row.id });
  return {
    ...toSummary(row),
    public_key: row.public_key,
    offered_key: row.offered_key,
    sysinfo,
    last_heartbeat: parseJson<NodeDetail['last_heartbeat']>(row.last_heartbeat, null),
    artifacts: artifactsOf(sysinfo),
    services,
  };
}
