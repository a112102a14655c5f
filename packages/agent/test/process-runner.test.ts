import { execFileSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Launcher } from '../src/launch/launcher.js';
import { nodeLauncher } from '../src/launch/node-launcher.js';
import { builtSpawnHelperPath, SpawnHelper } from '../src/launch/spawn-helper.js';
import { exitStatusOf, runProcess as runWith, type RunSpec } from '../src/process-runner.js';

const spec = (script: string, extra: Partial<RunSpec> = {}): RunSpec => ({
  command: '/bin/sh',
  args: ['-c', script],
  killGraceMs: 500,
  maxOutputBytes: 1024 * 1024,
  ...extra,
});

/** True while any process of the group is still running (zombies waiting for init to reap them do not count). */
function groupAlive(pgid: number): boolean {
  const rows = execFileSync('ps', ['-eo', 'pgid=,stat=']).toString().trim().split('\n');
  return rows.some((row) => {
    const [group, stat] = row.trim().split(/\s+/);
    return Number(group) === pgid && !stat?.startsWith('Z');
  });
}

async function groupGone(pgid: number): Promise<boolean> {
  for (let i = 0; i < 50 && groupAlive(pgid); i++) await new Promise((r) => setTimeout(r, 20));
  return !groupAlive(pgid);
}

function processesMatching(pattern: string): string {
  return execFileSync('ps', ['-eo', 'stat=,args='])
    .toString()
    .split('\n')
    .filter((row) => row.includes(pattern) && !row.trim().startsWith('Z'))
    .join('\n');
}

// `npm run build` compiles the helper; scripts/test makes sure a compiler is there.
const helperPath = builtSpawnHelperPath();
if (helperPath === undefined) throw new Error('packages/agent/dist/ur-spawn is not built: run npm run build');
const helper = SpawnHelper.at(helperPath);

const launchers: [string, Launcher][] = [
  ['Node spawn()', nodeLauncher],
  ['the ur-spawn helper', helper.launch],
];

describe.each(launchers)('runProcess with %s', (_name, launch) => {
  const runProcess = (s: RunSpec) => runWith(s, launch);

  it('captures stdout, stderr and the exit code', async () => {
    const result = await runProcess(spec('echo out; echo err >&2; exit 3')).done;
    expect(result.stdout.text()).toBe('out\n');
    expect(result.stderr.text()).toBe('err\n');
    expect(exitStatusOf(result)).toBe(3);
  });

  it('feeds stdin and replaces the environment when env is given', async () => {
    const result = await runProcess(spec('cat; echo "[$FOO][$HOME]"', { stdin: 'in\n', env: { FOO: 'bar' } }))
      .done;
    expect(result.stdout.text()).toBe('in\n[bar][]\n');
  });

  it('kills the whole process tree on timeout', async () => {
    const tag = `${randomInt(1_000_000)}`;
    const proc = runProcess(spec(`sleep 1000.${tag} & sleep 1000.${tag} & wait`, { timeoutMs: 300 }));
    const result = await proc.done;
    expect(result.timedOut).toBe(true);
    expect(result.signal).toBe('SIGTERM');
    expect(exitStatusOf(result)).toBe(143);
    expect(await groupGone(proc.pid!)).toBe(true);
    expect(processesMatching(`sleep 1000.${tag}`)).toBe('');
  });

  it('escalates to SIGKILL when the process ignores SIGTERM', async () => {
    const proc = runProcess(
      spec(`trap '' TERM; sleep 30 & wait; sleep 30`, { timeoutMs: 200, killGraceMs: 300 }),
    );
    const result = await proc.done;
    expect(result.timedOut).toBe(true);
    expect(result.signal).toBe('SIGKILL');
    expect(await groupGone(proc.pid!)).toBe(true);
  });

  it('replies even when a background child keeps the output pipe open', async () => {
    const started = Date.now();
    const proc = runProcess(spec('echo hi; sleep 30 &'));
    const result = await proc.done;
    expect(result.stdout.text()).toBe('hi\n');
    expect(Date.now() - started).toBeLessThan(5_000);
    process.kill(-proc.pid!, 'SIGKILL');
  });

  it('does not kill a process that writes far more than the cap', async () => {
    const result = await runProcess(
      spec('head -c 5000000 /dev/zero; echo done >&2', { maxOutputBytes: 1000 }),
    ).done;
    expect(exitStatusOf(result)).toBe(0);
    expect(result.stdout.bytes).toBe(5_000_000);
    expect(result.stdout.truncated).toBe(true);
    expect(result.stderr.text()).toBe('done\n');
  });

  it('reports a missing executable as a spawn error', async () => {
    const result = await runProcess({ ...spec(''), command: '/no/such/file', args: [] }).done;
    expect(result.spawnError?.code).toBe('ENOENT');
    expect(result.spawnError?.message).toBe('spawn /no/such/file ENOENT');
  });

  it('reports a file without execute permission and a missing working directory', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ur-runner-'));
    const file = join(dir, 'not-executable');
    writeFileSync(file, 'exit 0\n', { mode: 0o644 });
    expect((await runProcess({ ...spec(''), command: file, args: [] }).done).spawnError?.code).toBe('EACCES');
    const missing = await runProcess(spec('exit 0', { cwd: join(dir, 'gone') })).done;
    expect(missing.spawnError?.code).toBe('ENOENT');
  });

  it('passes arguments, environment, directory and stdin beyond ASCII byte for byte', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ur-runner-dïr ✓ '));
    const result = await runProcess({
      ...spec('printf "%s|%s|%s|" "$1" "$X" "$(pwd)"; cat', { stdin: 'stdïn 😀\n' }),
      args: ['-c', 'printf "%s|%s|%s|" "$1" "$X" "$(pwd)"; cat', 'sh', 'ärg ✓ 😀', ''],
      env: { X: 'ünï=😀' },
      cwd: dir,
    }).done;
    expect(result.spawnError).toBeUndefined();
    expect(result.stdout.text()).toBe(`ärg ✓ 😀|ünï=😀|${dir}|stdïn 😀\n`);
  });

  it('runs in the given directory and finds a bare command on the PATH of the given environment', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ur-runner-'));
    writeFileSync(join(dir, 'ur-test-tool'), '#!/bin/sh\necho "tool in $(pwd)"\n');
    chmodSync(join(dir, 'ur-test-tool'), 0o755);
    const result = await runProcess({
      ...spec(''),
      command: 'ur-test-tool',
      args: [],
      cwd: dir,
      env: { PATH: `${dir}:/usr/bin:/bin` },
    }).done;
    expect(result.spawnError).toBeUndefined();
    expect(result.stdout.text()).toBe(`tool in ${dir}\n`);
  });

  it('starts each process with no blocked or ignored signals and no open files but what it inherits', async () => {
    const probe = 'grep -E "^Sig(Blk|Ign)" /proc/$$/status; ls /proc/$$/fd | tr "\\n" " "';
    const result = await runProcess(spec(probe)).done;
    const [blocked, ignored, fds] = result.stdout.text().trim().split('\n');
    expect(blocked).toBe('SigBlk:\t0000000000000000');
    expect(ignored).toBe('SigIgn:\t0000000000000000');
    // What a shell started directly from this process holds (stdio, and what the test runner leaves open to children).
    const direct = execFileSync('/bin/sh', ['-c', probe], { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
    expect(fds).toBe(direct.trim().split('\n')[2]);
  });

  it('stops a process that is terminated right after it was asked for', async () => {
    const proc = runProcess(spec('sleep 30'));
    proc.terminate();
    const result = await proc.done;
    expect(result.signal).toBe('SIGTERM');
  });

  it('feeds a megabyte of stdin to a process that reads it all', async () => {
    const input = 'x'.repeat(1024 * 1024);
    const result = await runProcess(spec('wc -c', { stdin: input })).done;
    expect(result.stdout.text().trim()).toBe(String(input.length));
  });

  it('keeps the output of 200 concurrent processes apart', async () => {
    const results = await Promise.all(
      Array.from(
        { length: 200 },
        (_, i) => runProcess(spec(`echo out-${i}; echo err-${i} >&2; exit ${i % 7}`)).done,
      ),
    );
    results.forEach((result, i) => {
      expect(result.stdout.text()).toBe(`out-${i}\n`);
      expect(result.stderr.text()).toBe(`err-${i}\n`);
      expect(result.exitCode).toBe(i % 7);
    });
  });
});

describe('the ur-spawn helper', () => {
  it('leads the process group it reports as the pid', async () => {
    const proc = runWith(spec('ps -o pgid= -p $$; echo $$'), helper.launch);
    const result = await proc.done;
    const [pgid, pid] = result.stdout.text().trim().split(/\s+/).map(Number);
    expect(pgid).toBe(proc.pid);
    expect(pid).toBe(proc.pid);
  });

  it('fails the processes in flight when it dies, and starts again for the next one', async () => {
    const before = runWith(spec('sleep 30'), helper.launch);
    while (before.pid === undefined) await new Promise((r) => setTimeout(r, 5));
    const helperPid = Number(
      execFileSync('ps', ['-o', 'ppid=', '-p', String(before.pid)])
        .toString()
        .trim(),
    );
    process.kill(helperPid, 'SIGKILL');
    const lost = await before.done;
    expect(lost.spawnError?.code).toBe('ESPAWNHELPER');
    process.kill(-before.pid, 'SIGKILL');
    const after = await runWith(spec('echo again'), helper.launch).done;
    expect(after.stdout.text()).toBe('again\n');
  });
});
