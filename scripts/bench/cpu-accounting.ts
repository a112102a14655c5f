import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';

export const CLOCK_TICKS_PER_SECOND = 100; // Linux USER_HZ
const MS_PER_TICK = 1000 / CLOCK_TICKS_PER_SECOND;

/** Who spent CPU during a fan-out job, in milliseconds. */
export interface CpuShares {
  /** Every core's busy time, from /proc/stat: what the machine spent in all. */
  machine: number;
  headnode: number;
  /** The simulated agents' processes (their JavaScript, journals, AMQP). */
  agents: number;
  /** The ur-spawn helpers and the commands they started (reaped children included). */
  commands: number;
  /** Every RabbitMQ node on the machine (beam.smp and its helpers). */
  broker: number;
  /** The rest: the bench's own client, the kernel's threads, anything else running. */
  other: number;
}

export interface ProcStat {
  comm: string;
  ppid: number;
  /** utime + stime, in clock ticks. */
  ownTicks: number;
  /** cutime + cstime: children this process waited for. */
  childTicks: number;
}

/** Parses /proc/<pid>/stat; the command name may hold spaces and parentheses. */
export function parseProcStat(text: string): ProcStat {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  const fields = text
    .slice(close + 2)
    .trim()
    .split(' ');
  // fields[0] is the state (field 3); utime is field 14.
  const n = (i: number): number => Number(fields[i - 3]);
  return {
    comm: text.slice(open + 1, close),
    ppid: n(4),
    ownTicks: n(14) + n(15),
    childTicks: n(16) + n(17),
  };
}

/** Busy clock ticks of all cores from the first line of /proc/stat (idle and iowait left out). */
export function parseMachineBusyTicks(procStat: string): number {
  const cpu = procStat.split('\n', 1)[0]!.trim().split(/\s+/);
  if (cpu[0] !== 'cpu') throw new Error(`unexpected /proc/stat: ${cpu.slice(0, 3).join(' ')}`);
  const [user, nice, system, , , irq, softirq, steal] = cpu.slice(1, 9).map(Number);
  return user! + nice! + system! + irq! + softirq! + steal!;
}

/**
 * Sums the processes of a snapshot by role. Ticks of a command that exited
 * between two snapshots move from the command into its helper's childTicks,
 * so the difference of two sums counts every tick once.
 */
export function sharesOf(
  procs: ReadonlyMap<number, ProcStat>,
  roots: { headnode: number; agents: readonly number[] },
  machineTicks: number,
): CpuShares {
  const children = new Map<number, number[]>();
  for (const [pid, p] of procs) children.set(p.ppid, [...(children.get(p.ppid) ?? []), pid]);
  const ticks = { headnode: 0, agents: 0, commands: 0, broker: 0 };
  const add = (
    pid: number,
    role: keyof typeof ticks | 'agent-tree' | 'broker-tree',
    withChildren: boolean,
  ): void => {
    const p = procs.get(pid);
    if (!p) return;
    let own: keyof typeof ticks;
    if (role === 'agent-tree') own = p.comm === 'ur-spawn' ? 'commands' : 'agents';
    else if (role === 'broker-tree') own = 'broker';
    else own = role;
    // A helper's reaped children are its commands; other reaped children
    // (a hardware probe at start-up) are counted where they ran.
    ticks[own] += p.ownTicks + (withChildren || own === 'commands' ? p.childTicks : 0);
    const next = own === 'commands' ? 'commands' : role;
    for (const child of children.get(pid) ?? []) add(child, next, withChildren);
  };
  add(roots.headnode, 'headnode', false);
  for (const pid of roots.agents) add(pid, 'agent-tree', false);
  for (const [pid, p] of procs) if (p.comm === 'beam.smp') add(pid, 'broker-tree', true);
  const ms = (t: number): number => t * MS_PER_TICK;
  const machine = ms(machineTicks);
  const known = ticks.headnode + ticks.agents + ticks.commands + ticks.broker;
  return {
    machine,
    headnode: ms(ticks.headnode),
    agents: ms(ticks.agents),
    commands: ms(ticks.commands),
    broker: ms(ticks.broker),
    other: machine - ms(known),
  };
}

function readProcs(): Map<number, ProcStat> {
  const procs = new Map<number, ProcStat>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      procs.set(Number(name), parseProcStat(readFileSync(`/proc/${name}/stat`, 'utf8')));
    } catch {
      // exited meanwhile
    }
  }
  return procs;
}

/** The machine's CPU by role now, counted from boot (take the difference of two). */
export function cpuSnapshot(roots: { headnode: number; agents: readonly number[] }): CpuShares {
  return sharesOf(readProcs(), roots, parseMachineBusyTicks(readFileSync('/proc/stat', 'utf8')));
}

const ROLES = ['machine', 'headnode', 'agents', 'commands', 'broker', 'other'] as const;

function fieldwise(f: (k: keyof CpuShares) => number): CpuShares {
  return Object.fromEntries(ROLES.map((k) => [k, f(k)])) as unknown as CpuShares;
}

/** What was spent between two snapshots. */
export const difference = (before: CpuShares, after: CpuShares): CpuShares =>
  fieldwise((k) => after[k] - before[k]);

export const sumShares = (all: readonly CpuShares[]): CpuShares =>
  fieldwise((k) => all.reduce((sum, s) => sum + s[k], 0));

export const scaleShares = (s: CpuShares, factor: number): CpuShares => fieldwise((k) => s[k] * factor);

/** Percent of all the machine's cores that `shares` kept busy over `ms`. */
export const busyPercent = (shares: CpuShares, ms: number): number =>
  (100 * shares.machine) / (os.cpus().length * ms);
