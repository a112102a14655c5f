import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import type { Systeminformation } from 'systeminformation';

/** What systeminformation says about the machine, as the sysinfo needs it. */
export interface HardwareFacts {
  system: Systeminformation.SystemData;
  cpu: Systeminformation.CpuData;
  disks: Systeminformation.DiskLayoutData[];
  fsSize: Systeminformation.FsSizeData[];
}

/** The probe runs dmidecode, lsblk and the like; a stuck one must not hold the agent's facts forever. */
const PROBE_TIMEOUT_MS = 60_000;

// Runs in a child Node process: systeminformation loads ~25 modules and the
// agent would keep whatever it loads for its lifetime (measured: ~2.5 MiB of
// the agent's RSS, for a one-off probe). Plain CommonJS so it runs under any
// loader.
const PROBE_SCRIPT = `
const si = require(process.argv[1]);
Promise.all([si.system(), si.cpu(), si.diskLayout().catch(() => []), si.fsSize().catch(() => [])]).then(
  ([system, cpu, disks, fsSize]) => process.stdout.write(JSON.stringify({ system, cpu, disks, fsSize })),
  (err) => { process.stderr.write(String(err && err.stack || err)); process.exitCode = 1; },
);
`;

/** Errors of the hardware probe (the agent logs them and announces without those facts). */
export class HardwareProbeError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'HardwareProbeError';
  }
}

/** Probes the hardware in a short-lived child process (see PROBE_SCRIPT); `signal` kills it. */
export function probeHardware(timeoutMs = PROBE_TIMEOUT_MS, signal?: AbortSignal): Promise<HardwareFacts> {
  const library = createRequire(import.meta.url).resolve('systeminformation');
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['-e', PROBE_SCRIPT, library],
      { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024, signal },
      (err, stdout, stderr) => {
        if (err) {
          reject(
            new HardwareProbeError(`hardware probe failed: ${stderr.trim() || err.message}`, { cause: err }),
          );
          return;
        }
        try {
          resolve(JSON.parse(stdout) as HardwareFacts);
        } catch (parseErr) {
          reject(new HardwareProbeError('hardware probe printed no JSON', { cause: parseErr }));
        }
      },
    );
  });
}
