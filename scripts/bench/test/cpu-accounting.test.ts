import { readFileSync } from 'node:fs';
import {
  cpuSnapshot,
  difference,
  parseMachineBusyTicks,
  parseProcStat,
  scaleShares,
  sharesOf,
  sumShares,
  type ProcStat,
} from '../cpu-accounting.js';

/** A /proc/<pid>/stat line with the fields the accounting reads; the rest zero. */
function statLine(pid: number, comm: string, ppid: number, t: [number, number, number, number]): string {
  const rest = Array.from({ length: 35 }, () => '0');
  return [pid, `(${comm})`, 'S', ppid, 0, 0, 0, 0, 0, 0, 0, 0, 0, ...t, ...rest].join(' ');
}

describe('parseProcStat', () => {
  it('reads the times after a command name with spaces and parentheses', () => {
    const p = parseProcStat(statLine(42, 'node (x) y', 7, [11, 5, 3, 2]));
    expect(p).toEqual({ comm: 'node (x) y', ppid: 7, ownTicks: 16, childTicks: 5 });
  });

  it('reads this process from /proc', () => {
    const p = parseProcStat(readFileSync(`/proc/${process.pid}/stat`, 'utf8'));
    expect(p.ppid).toBe(process.ppid);
    expect(p.ownTicks).toBeGreaterThanOrEqual(0);
  });
});

describe('parseMachineBusyTicks', () => {
  it('counts user, nice, system, irq, softirq and steal, not idle or iowait', () => {
    const text = 'cpu  100 2 30 5000 70 4 5 6 0 0\ncpu0 50 1 15 2500 35 2 2 3 0 0\n';
    expect(parseMachineBusyTicks(text)).toBe(100 + 2 + 30 + 4 + 5 + 6);
  });

  it('refuses text that is not /proc/stat', () => {
    expect(() => parseMachineBusyTicks('intr 1 2 3')).toThrow(/unexpected/);
  });
});

describe('sharesOf', () => {
  const proc = (comm: string, ppid: number, own: number, child = 0): ProcStat => ({
    comm,
    ppid,
    ownTicks: own,
    childTicks: child,
  });
  // headnode 10; an agent wrapper 1 with its node child 20 (which reaped a
  // probe: 7), whose helper ran 2 and reaped commands worth 30, with one
  // command still running (4); a broker 15 with a port helper 1 (and 2
  // reaped); an unrelated process 9 left to "other".
  const procs = new Map<number, ProcStat>([
    [100, proc('node', 1, 10, 50)],
    [200, proc('node', 1, 1)],
    [201, proc('node', 200, 20, 7)],
    [202, proc('ur-spawn', 201, 2, 30)],
    [203, proc('true', 202, 4)],
    [300, proc('beam.smp', 1, 15, 2)],
    [301, proc('erl_child_setup', 300, 1)],
    [400, proc('bash', 1, 9)],
  ]);

  it('puts each process under the role of its tree', () => {
    const s = sharesOf(procs, { headnode: 100, agents: [200] }, 200);
    expect(s).toEqual({
      machine: 2000,
      headnode: 100,
      agents: 210,
      commands: 360,
      broker: 180,
      other: 2000 - 850,
    });
  });

  it('counts a command once when it exits between two snapshots', () => {
    const before = sharesOf(procs, { headnode: 100, agents: [200] }, 200);
    const after = new Map(procs);
    after.delete(203);
    after.set(202, proc('ur-spawn', 201, 2, 34)); // reaped: its 4 ticks moved here
    const d = difference(before, sharesOf(after, { headnode: 100, agents: [200] }, 200));
    expect(d.commands).toBe(0);
    expect(d.machine).toBe(0);
  });

  it('adds up rounds and divides them per node', () => {
    const before = sharesOf(procs, { headnode: 100, agents: [200] }, 200);
    const later = new Map(procs);
    later.set(100, proc('node', 1, 30, 50));
    const round = difference(before, sharesOf(later, { headnode: 100, agents: [200] }, 400));
    const d = scaleShares(sumShares([round, round]), 1 / 10);
    expect(d.headnode).toBe(40);
    expect(d.machine).toBe(400);
    expect(d.other).toBe(360);
    expect(d.commands).toBe(0);
  });
});

describe('cpuSnapshot', () => {
  it('finds this process as the headnode and counts what it burns', () => {
    const before = cpuSnapshot({ headnode: process.pid, agents: [] });
    const until = Date.now() + 200;
    let x = 0;
    while (Date.now() < until) x += Math.sqrt(x + 1);
    const d = difference(before, cpuSnapshot({ headnode: process.pid, agents: [] }));
    expect(x).toBeGreaterThan(0);
    // 200 ms of busy loop; ticks are 10 ms and the machine is shared.
    expect(d.headnode).toBeGreaterThanOrEqual(100);
    expect(d.machine).toBeGreaterThanOrEqual(d.headnode - 20);
  });
});
