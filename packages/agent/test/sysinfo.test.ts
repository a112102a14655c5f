import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HardwareProbeError } from '../src/hardware-probe.js';
import { baseSysinfo, parseIpmiLanPrint, probeBmcAddress, probeSysinfo } from '../src/sysinfo.js';

const agent = { version: '0.0.0', protocol: 1, capabilities: ['script'] };

describe('sysinfo', () => {
  it('announces CPU in milli-cores and memory in bytes from the start, the BMC as not yet known', () => {
    const info = baseSysinfo('n1', agent);
    expect(info['CPU Milli Cores']).toBeGreaterThanOrEqual(1000);
    expect((info['CPU Milli Cores'] as number) % 1000).toBe(0);
    expect(info['Memory Bytes']).toBeGreaterThan(0);
    expect(Number(info['MiB of Memory'])).toBe(Math.round((info['Memory Bytes'] as number) / 1024 ** 2));
    expect(info['BMC Address']).toBeNull();
  });

  it('adds disk bytes and a BMC address (null where there is none) after probing the hardware', async () => {
    const full = await probeSysinfo(baseSysinfo('n1', agent));
    expect(full['Disk Bytes']).toBeGreaterThan(0);
    expect(full).toHaveProperty('BMC Address');
    const bmc = full['BMC Address'];
    expect(bmc === null || typeof bmc === 'string').toBe(true);
  });

  it('kills the probe when its signal aborts (the agent stopped first)', async () => {
    const abort = new AbortController();
    const probe = probeSysinfo(baseSysinfo('n1', agent), abort.signal);
    abort.abort();
    const err = await probe.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HardwareProbeError);
    expect(((err as HardwareProbeError).cause as Error).name).toBe('AbortError');
  });

  it('finds no BMC, without an error, without an IPMI device or without ipmitool', async () => {
    await expect(probeBmcAddress(['/no/such/ipmi0'])).resolves.toBeNull();
    await expect(probeBmcAddress(['/dev/null'], '/no/such/ipmitool')).resolves.toBeNull();
  });

  it('asks ipmitool when there is an IPMI device', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ur-ipmi-'));
    try {
      const fake = join(dir, 'ipmitool');
      await writeFile(
        fake,
        '#!/bin/sh\necho "IP Address Source : DHCP"\necho "IP Address        : 192.0.2.7"\n',
        {
          mode: 0o755,
        },
      );
      await expect(probeBmcAddress(['/dev/null'], fake)).resolves.toBe('192.0.2.7');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it.each([
    [
      'IP Address Source       : Static Address\nIP Address              : 10.0.0.5\nSubnet Mask   : 255.255.255.0\n',
      '10.0.0.5',
    ],
    ['IP Address              : 0.0.0.0\n', null],
    ['Set in Progress         : Set Complete\n', null],
    ['', null],
  ])('reads the BMC address from ipmitool lan print output %#', (output, expected) => {
    expect(parseIpmiLanPrint(output)).toBe(expected);
  });
});
