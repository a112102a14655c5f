import { readFile } from 'node:fs/promises';
import os from 'node:os';
import type { Sysinfo, UrAgentInfo } from '@ur/protocol/wire';

const MiB = 1024 * 1024;

function networkInterfaces(): NonNullable<Sysinfo['Network Interfaces']> {
  const result: NonNullable<Sysinfo['Network Interfaces']> = {};
  for (const [name, addrs] of Object.entries(os.networkInterfaces())) {
    const v4 = addrs?.find((a) => a.family === 'IPv4' && !a.internal);
    if (!v4) continue;
    result[name] = { 'MAC Address': v4.mac, ip4addr: v4.address, 'Link Status': 'up', 'NIC Names': [] };
  }
  return result;
}

/**
 * Triton-style sysinfo from node:os only: cheap enough to announce within a
 * few milliseconds of start. {@link probeSysinfo} adds the slow facts later.
 */
export function baseSysinfo(nodeId: string, agent: UrAgentInfo): Sysinfo {
  const bootSeconds = Math.floor(Date.now() / 1000 - os.uptime());
  return {
    UUID: nodeId,
    Hostname: os.hostname(),
    'System Type': os.type(),
    'Boot Time': String(bootSeconds),
    'CPU Total Cores': os.cpus().length,
    'MiB of Memory': String(Math.round(os.totalmem() / MiB)),
    'Network Interfaces': networkInterfaces(),
    Setup: 'true',
    'OS Release': os.release(),
    Architecture: os.arch(),
    'Ur Agent': agent,
  };
}

const nonEmpty = (value: string | undefined): string | undefined =>
  value === undefined || value.trim() === '' || value.trim() === '-' ? undefined : value.trim();

/**
 * Hardware facts from systeminformation (serial number, CPU model, disks).
 * Loaded lazily: the library is only needed after the agent has announced.
 */
export async function probeSysinfo(base: Sysinfo): Promise<Sysinfo> {
  const si = (await import('systeminformation')).default;
  const [system, cpu, disks, fsSize] = await Promise.all([
    si.system(),
    si.cpu(),
    si.diskLayout().catch(() => []),
    si.fsSize().catch(() => []),
  ]);
  const facts: Sysinfo = { ...base };
  const set = (key: string, value: string | number | undefined): void => {
    if (value !== undefined) facts[key] = value;
  };
  set('Manufacturer', nonEmpty(system.manufacturer));
  set('Product', nonEmpty(system.model));
  set('Serial Number', nonEmpty(system.serial));
  set('CPU Type', nonEmpty(`${cpu.manufacturer} ${cpu.brand}`));
  set('CPU Physical Cores', cpu.physicalCores);
  facts['Virtual Machine'] = system.virtual;
  facts.Disks = Object.fromEntries(
    disks.map((d) => [d.name || d.device, { 'Size in GB': Math.round(d.size / 1e9) }]),
  );
  facts['Filesystems'] = Object.fromEntries(
    fsSize.map((f) => [
      f.mount,
      { 'Size in MiB': Math.round(f.size / MiB), 'Used in MiB': Math.round(f.used / MiB) },
    ]),
  );
  return facts;
}

/** Ur's --sysinfo-file: a fixed sysinfo object instead of probing (tests, simulations). */
export async function readSysinfoFile(path: string): Promise<Record<string, unknown>> {
  const parsed = JSON.parse(await readFile(path, 'utf8')) as unknown;
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new Error(`${path}: sysinfo must be a JSON object`);
  }
  return parsed as Record<string, unknown>;
}
