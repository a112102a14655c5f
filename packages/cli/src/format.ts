import Table from 'cli-table3';
import type {
  ArtifactSummary,
  NodeDetail,
  NodeService,
  NodeSummary,
  NodeTransition,
  ServiceInfo,
} from '@ur/protocol';

/** "3s ago", "5m ago", "2h ago", "4d ago". */
export function ago(iso: string | null, now = Date.now()): string {
  if (iso === null) return '-';
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86400)}d ago`;
}

/** A borderless table, aligned in columns, that reads well in a terminal and in `grep`. */
export function plainTable(head: string[]): Table.Table {
  return new Table({
    head,
    chars: {
      top: '',
      'top-mid': '',
      'top-left': '',
      'top-right': '',
      bottom: '',
      'bottom-mid': '',
      'bottom-left': '',
      'bottom-right': '',
      left: '',
      'left-mid': '',
      mid: '',
      'mid-mid': '',
      right: '',
      'right-mid': '',
      middle: '  ',
    },
    style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0 },
  });
}

export function nodesTable(nodes: readonly NodeSummary[], now = Date.now()): string {
  const table = plainTable(['ID', 'HOSTNAME', 'STATUS', 'LAST SEEN', 'AGENT', 'SIGNING', 'KEY']);
  for (const n of nodes) {
    table.push([
      n.id,
      n.hostname ?? '-',
      n.status,
      ago(n.last_seen, now),
      n.agent_version ?? 'triton-ur',
      // Shouted: a node that runs unsigned requests is open to anyone who can publish to the broker.
      n.request_signing === 'enforced' ? 'enforced' : 'OFF',
      n.key_status === 'mismatch' ? 'MISMATCH' : n.key_status,
    ]);
  }
  return table
    .toString()
    .split('\n')
    .map((line) => line.trimEnd())
    .join('\n');
}

/** Bytes for people: 512 B, 3.4 KiB, 12.0 MiB, 1.2 GiB. */
export function size(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

export function artifactsTable(artifacts: readonly ArtifactSummary[], now = Date.now()): string {
  const table = plainTable(['COORDINATE', 'SIZE', 'INSTALLED', 'SHA256']);
  for (const a of artifacts) {
    table.push([a.coordinate, size(a.size), ago(a.installed_at, now), a.sha256?.slice(0, 12) ?? '-']);
  }
  return table.toString();
}

export function nodeDetails(node: NodeDetail, now = Date.now()): string {
  const lines = [
    `id:              ${node.id}`,
    `hostname:        ${node.hostname ?? '-'}`,
    `status:          ${node.status} since ${node.status_since} (${node.status_reason})`,
    `last seen:       ${node.last_seen} (${ago(node.last_seen, now)})`,
    `first seen:      ${node.first_seen}`,
    `last boot:       ${node.last_boot ?? '-'}`,
    `agent:           ${node.agent_version ?? 'Triton Ur (no version)'}`,
    `capabilities:    ${node.capabilities.join(', ') || '-'}`,
    `request signing: ${node.request_signing === 'enforced' ? 'enforced' : 'OFF (runs unsigned requests)'}`,
    `agent key:       ${node.key_status}${node.public_key ? ` ${node.public_key}` : ''}`,
    ...(node.offered_key ? [`offered key:     ${node.offered_key} (urctl nodes trust ${node.id})`] : []),
    `labels:          ${
      Object.entries(node.labels)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ') || '-'
    }`,
  ];
  const inventory: [string, string | number | null][] = [
    ['serial', node.serial],
    ['bmc address', node.bmc_address],
    ['cpu milli-cores', node.cpu_milli],
    ['memory bytes', node.memory_bytes],
    ['disk bytes', node.disk_bytes],
    ['console port', node.console_port],
  ];
  for (const [label, value] of inventory) if (value !== null) lines.push(`${`${label}:`.padEnd(17)}${value}`);
  if (node.last_heartbeat) {
    const hb = node.last_heartbeat;
    lines.push(
      `heartbeat:       #${hb.seq} ${ago(hb.at, now)}, load ${hb.load.map((l) => l.toFixed(2)).join(' ')}, ${hb.running} running, ${hb.mem_free_mib} MiB free`,
    );
  }
  const s = node.sysinfo as Record<string, unknown>;
  const facts = [
    'System Type',
    'CPU Type',
    'CPU Total Cores',
    'MiB of Memory',
    'Manufacturer',
    'Product',
    'Serial Number',
  ];
  for (const key of facts) {
    const value = s[key];
    if (typeof value === 'string' || typeof value === 'number') lines.push(`${`${key}:`.padEnd(17)}${value}`);
  }
  if (node.services.length > 0) {
    lines.push('services:');
    for (const sv of node.services) lines.push(`  ${serviceLine(sv, now)}`);
  }
  if (node.artifacts.length > 0) {
    lines.push('artifacts:');
    for (const a of node.artifacts)
      lines.push(`  ${a.coordinate} (${size(a.size)}, ${ago(a.installed_at, now)})`);
  }
  return lines.join('\n');
}

function serviceLine(s: NodeService, now: number): string {
  const exit =
    s.signal !== null
      ? `, last exit ${s.signal}`
      : s.exit_status !== null
        ? `, last exit ${s.exit_status}`
        : '';
  return `${s.coordinate} ${s.state} since ${ago(s.since, now)} (${s.artifact}, pid ${s.pid ?? '-'}, ${s.restarts} restarts${exit})`;
}

export function servicesTable(services: readonly ServiceInfo[], now = Date.now()): string {
  const table = plainTable(['COORDINATE', 'STATE', 'SINCE', 'PID', 'RESTARTS', 'ARTIFACT']);
  for (const s of services) {
    table.push([s.coordinate, s.state, ago(s.since, now), s.pid ?? '-', s.restarts, s.artifact]);
  }
  return table.toString();
}

export function serviceDetails(s: ServiceInfo, now = Date.now()): string {
  const lines = [
    `coordinate:      ${s.coordinate}`,
    `artifact:        ${s.artifact}`,
    `state:           ${s.state} since ${s.since} (${ago(s.since, now)}); desired ${s.desired}`,
    `pid:             ${s.pid ?? '-'}${s.started_at ? ` (started ${ago(s.started_at, now)})` : ''}`,
    `restarts:        ${s.restarts} (policy ${s.restart.policy}, at most ${s.restart.max_restarts} in ${s.restart.window_s} s)`,
    `runtime dir:     ${s.runtime_dir}`,
    `software dir:    ${s.software_dir}`,
  ];
  const ports = Object.entries(s.ports);
  if (ports.length > 0) lines.push(`ports:           ${ports.map(([k, v]) => `${k}=${v}`).join(' ')}`);
  if (s.last_exits.length > 0) {
    lines.push('last exits:');
    for (const e of s.last_exits) {
      lines.push(`  ${e.at} ${e.signal ?? (e.exit_status === null ? 'unknown' : `status ${e.exit_status}`)}`);
    }
  }
  return lines.join('\n');
}

export function transitionsTable(transitions: readonly NodeTransition[], now = Date.now()): string {
  const table = plainTable(['AT', 'FROM', 'TO', 'REASON']);
  for (const t of transitions) table.push([`${t.at} (${ago(t.at, now)})`, t.from ?? '-', t.to, t.reason]);
  // Reasons vary in length; no padding after the last column.
  return table
    .toString()
    .split('\n')
    .map((line) => line.trimEnd())
    .join('\n');
}
