import { execFile } from 'node:child_process';
import { access, readFile } from 'node:fs/promises';
import os from 'node:os';
import type { Sysinfo, UrAgentInfo } from '@ur/protocol/wire';
import { probeHardware } from './hardware-probe.js';

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
    'CPU Milli Cores': os.availableParallelism() * 1000,
    'MiB of Memory': String(Math.round(os.totalmem() / MiB)),
    'Memory Bytes': os.totalmem(),
    // Probed after the announcement (ipmitool is slow); null until then.
    'BMC Address': null,
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
 * Hardware facts from systeminformation (serial number, CPU model, disks),
 * probed in a child process, and the BMC address. Only needed after the
 * agent has announced itself.
 */
export async function probeSysinfo(base: Sysinfo, signal?: AbortSignal): Promise<Sysinfo> {
  const [{ system, cpu, disks, fsSize }, bmc] = await Promise.all([
    probeHardware(undefined, signal),
    probeBmcAddress(undefined, undefined, signal),
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
  facts['BMC Address'] = bmc;
  // Physical disks where the machine shows them; in a container or VM
  // without any, the root filesystem is the disk there is.
  const diskBytes = disks.reduce((sum, d) => sum + (d.size > 0 ? d.size : 0), 0);
  const root = fsSize.find((f) => f.mount === '/');
  if (diskBytes > 0) facts['Disk Bytes'] = diskBytes;
  else if (root && root.size > 0) facts['Disk Bytes'] = root.size;
  facts['Filesystems'] = Object.fromEntries(
    fsSize.map((f) => [
      f.mount,
      { 'Size in MiB': Math.round(f.size / MiB), 'Used in MiB': Math.round(f.used / MiB) },
    ]),
  );
  return facts;
}

/** Device nodes of the IPMI driver; without one, ipmitool cannot reach a BMC. */
const IPMI_DEVICES = ['/dev/ipmi0', '/dev/ipmi/0', '/dev/ipmidev/0'];
const IPMITOOL_TIMEOUT_MS = 5_000;

/** The BMC's LAN address from `ipmitool lan print` output; null when it has none. */
export function parseIpmiLanPrint(output: string): string | null {
  const match = /^IP Address\s*:\s*(\S+)\s*$/m.exec(output);
  const address = match?.[1];
  return address === undefined || address === '0.0.0.0' ? null : address;
}

/**
 * The IPMI/BMC address where the machine exposes one (through the IPMI
 * driver and ipmitool); null otherwise. Never throws: most machines (VMs,
 * containers, laptops) have no BMC, and that is not an error.
 */
export async function probeBmcAddress(
  devices = IPMI_DEVICES,
  ipmitool = 'ipmitool',
  signal?: AbortSignal,
): Promise<string | null> {
  const present = await Promise.all(
    devices.map((d) =>
      access(d).then(
        () => true,
        () => false,
      ),
    ),
  );
  if (!present.some(Boolean)) return null;
  return new Promise((resolve) => {
    execFile(ipmitool, ['lan', 'print'], { timeout: IPMITOOL_TIMEOUT_MS, signal }, (err, stdout) => {
      resolve(err ? null : parseIpmiLanPrint(stdout));
    });
  });
}

/** Ur's --sysinfo-file: a fixed sysinfo object instead of probing (tests, simulations). */
export async function readSysinfoFile(path: string): Promise<Record<string, unknown>> {
  const parsed = JSON.parse(await readFile(path, 'utf8')) as unknown;
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new Error(`${path}: sysinfo must be a JSON object`);
  }
  return parsed as Record<string, unknown>;
}
