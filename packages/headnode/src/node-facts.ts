import type { FactLookup, Selector } from '@ur/protocol';
import { parseLabels, type NodeSummaryRow } from './store/node-store.js';

const MiB = 1024 * 1024;

type Fact = string | number | boolean | null | undefined;

/**
 * The facts selectors see for a node: its columns, some derived units,
 * `label.<key>`, and `sysinfo.<Key>` (only when the row carries sysinfo).
 */
export function nodeFacts(row: NodeSummaryRow & { sysinfo?: string }): FactLookup {
  let labels: Record<string, string> | undefined;
  let sysinfo: Record<string, unknown> | undefined;
  const simple: Record<string, Fact> = {
    id: row.id,
    hostname: row.hostname,
    status: row.status,
    agent_version: row.agent_version,
    os: row.os,
    arch: row.arch,
    serial: row.serial,
    bmc_address: row.bmc_address,
    cpu_milli: row.cpu_milli,
    cpu_cores: row.cpu_milli === null ? null : row.cpu_milli / 1000,
    memory_bytes: row.memory_bytes,
    mem_mib: row.memory_bytes === null ? null : Math.floor(row.memory_bytes / MiB),
    disk_bytes: row.disk_bytes,
    console_port: row.console_port,
    request_signing: row.request_signing === 'enforced' ? 'enforced' : 'off',
    key_status: row.key_status,
  };
  return (key) => {
    const [head, ...rest] = key;
    if (head === undefined) return undefined;
    if (rest.length === 0) return Object.hasOwn(simple, head) ? simple[head] : undefined;
    const name = rest.join('.');
    if (head === 'label') {
      labels ??= parseLabels(row.labels);
      return Object.hasOwn(labels, name) ? labels[name] : undefined;
    }
    if (head === 'sysinfo' && row.sysinfo !== undefined) {
      sysinfo ??= JSON.parse(row.sysinfo) as Record<string, unknown>;
      const value = Object.hasOwn(sysinfo, name) ? sysinfo[name] : undefined;
      return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean'
        ? value
        : undefined;
    }
    return undefined;
  };
}

/** Keys a selector may use besides `label.*` and `sysinfo.*` (documented in the README). */
export const FACT_KEYS = [
  'id',
  'hostname',
  'status',
  'agent_version',
  'os',
  'arch',
  'serial',
  'bmc_address',
  'cpu_milli',
  'cpu_cores',
  'memory_bytes',
  'mem_mib',
  'disk_bytes',
  'console_port',
  'request_signing',
  'key_status',
] as const;

const PREFIXES = ['label', 'sysinfo'];

/** The first key of `selector` that no node can have, if any: a typo would otherwise select nothing, silently. */
export function unknownSelectorKey(selector: Selector): string | undefined {
  for (const c of selector.conditions) {
    const [head, ...rest] = c.key;
    const known =
      rest.length === 0
        ? (FACT_KEYS as readonly string[]).includes(head ?? '')
        : PREFIXES.includes(head ?? '');
    if (!known) return c.key.join('.');
  }
  return undefined;
}
