import { execFileSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { exitStatusOf, runProcess, type RunSpec } from '../src/process-runner.js';

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

describe('runProcess', () => {
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
  });
});
