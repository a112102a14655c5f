import { execFileSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { makeZip, type ZipEntrySpec } from './zip-fixtures.js';

/**
 * The test service: a shell script. `serve` (default) records what it can
 * do (uid, working directory, whether it can write the software tree), starts
 * a child in its group that ignores SIGTERM (so only SIGKILL ends it), exits
 * 0 on SIGTERM, and drains on SIGUSR1 (says so, then exits 0). `crash`
 * exits 3; `spam` writes lines as fast as it can. The second argument marks
 * its processes (`sleep <marker>`), so tests can find them.
 */
export const SERVICE_SCRIPT = `#!/bin/sh
trap 'echo "got TERM"; exit 0' TERM
trap 'echo "draining"; sleep 0.3; echo "drained"; exit 0' USR1
mode="\${1:-serve}"
marker="\${2:-100000}"
echo "started pid $$ mode $mode uid $(id -u)"
case "$mode" in
  crash) sleep 0.2; echo "crashing"; exit 3 ;;
  spam) i=0; while :; do echo "spam line $i xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"; i=$((i+1)); done ;;
esac
if touch "$UR_SOFTWARE_DIR/written-by-service" 2>/dev/null; then echo yes > software-write.txt; else echo no > software-write.txt; fi
if chmod u+w "$UR_SOFTWARE_DIR" 2>/dev/null; then echo yes > software-chmod.txt; else echo no > software-chmod.txt; fi
id -u > uid.txt
pwd > cwd.txt
(trap '' TERM USR1; exec sleep "$marker") &
echo ready
while :; do sleep 0.1; done
`;

export const SERVICE_MANIFEST = {
  command: 'bin/svc',
  args: ['{{options.mode}}', '{{options.marker}}'],
  stop_timeout_s: 1,
  drain_signal: 'SIGUSR1',
  drain_timeout_s: 10,
  options: { mode: 'serve', marker: '100000' },
};

export function serviceZip(manifest: object = SERVICE_MANIFEST, extra: ZipEntrySpec[] = []): Promise<Buffer> {
  return makeZip([
    { name: 'ur-service.json', data: JSON.stringify(manifest) },
    { name: 'bin/svc', data: SERVICE_SCRIPT, mode: 0o100755 },
    ...extra,
  ]);
}

/** A number no other test's processes have on their command line. */
export const uniqueMarker = (): string => `${100000 + randomInt(800000)}.${randomInt(1000)}`;

/** Live (non-zombie) processes with `sleep <marker>` (the test service's child) or the marker as argument. */
export function markedProcesses(marker: string): number[] {
  return execFileSync('ps', ['-eo', 'pid=,stat=,args='])
    .toString()
    .split('\n')
    .map((row) => row.trim().split(/\s+/))
    .filter(([, stat, ...args]) => stat !== undefined && !stat.startsWith('Z') && args.includes(marker))
    .map(([pid]) => Number(pid));
}
