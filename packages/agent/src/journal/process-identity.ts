import { readFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import type { ProcessIdentity } from './journal-records.js';

export interface ProcStat {
  pid: number;
  /** R, S, D, Z (zombie), T, ... */
  state: string;
  pgrp: number;
  /** Clock ticks since boot, as text: it may exceed 2^53 in theory. */
  startTime: string;
}

/**
 * Parses /proc/<pid>/stat. The command name (field 2) is in parentheses and
 * may itself contain spaces and parentheses, so fields are counted from the
 * last ')'.
 */
export function parseStat(text: string): ProcStat | undefined {
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  const pid = Number.parseInt(text, 10);
  // After ") ": field 3 (state) is index 0, field 5 (pgrp) index 2, field 22 (starttime) index 19.
  const fields = text.slice(close + 2).split(' ');
  const state = fields[0];
  const pgrp = Number(fields[2]);
  const startTime = fields[19];
  if (
    !Number.isInteger(pid) ||
    state === undefined ||
    !Number.isInteger(pgrp) ||
    !/^\d+$/.test(startTime ?? '')
  ) {
    return undefined;
  }
  return { pid, state, pgrp, startTime: startTime! };
}

export async function readStat(pid: number): Promise<ProcStat | undefined> {
  try {
    return parseStat(await readFile(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

let bootId: Promise<string | undefined> | undefined;

/** This boot's id; undefined where there is no /proc (then orphans are not tracked). */
export function currentBootId(): Promise<string | undefined> {
  bootId ??= readFile('/proc/sys/kernel/random/boot_id', 'utf8').then(
    (text) => text.trim(),
    () => undefined,
  );
  return bootId;
}

/**
 * What identifies the process group led by `pid`, a child of this process.
 * Synchronous on purpose: called right after spawn, before the event loop
 * can reap the child, the pid is certainly still the child's (at worst a
 * zombie, whose start time is still there). Undefined without /proc.
 */
export function processIdentity(pid: number, bootId: string | undefined): ProcessIdentity | undefined {
  if (bootId === undefined) return undefined;
  let stat: ProcStat | undefined;
  try {
    stat = parseStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
  return stat && { pgid: pid, startTime: stat.startTime, bootId };
}

/**
 * Live (non-zombie) members of process group `pgid` that started no earlier
 * than `notBefore` (clock ticks): a process of the recorded group cannot be
 * older than its leader.
 */
export async function groupMembers(pgid: number, notBefore: string): Promise<number[]> {
  let names: string[];
  try {
    names = await readdir('/proc');
  } catch {
    return [];
  }
  const min = BigInt(notBefore);
  const stats = await Promise.all(names.filter((n) => /^\d+$/.test(n)).map((n) => readStat(Number(n))));
  return stats
    .filter(
      (s): s is ProcStat =>
        s !== undefined && s.pgrp === pgid && s.state !== 'Z' && BigInt(s.startTime) >= min,
    )
    .map((s) => s.pid);
}

export type OrphanOutcome =
  /** Nothing of the group is left. */
  | 'gone'
  /** The pid now belongs to another process (or this is another boot): left alone. */
  | 'reused'
  /** The group was still there and has been killed. */
  | 'killed';

/**
 * Decides whether the recorded group still exists. If the leader's pid is
 * alive with the recorded start time, it is the same process. If another
 * process has the pid, the kernel freed the number, which it does only once
 * no process of the group is left: nothing to kill. If no process has the
 * pid, members of the group that outlived their leader still carry its pgid
 * (the number cannot be reused while they do).
 */
export async function findOrphanGroup(identity: ProcessIdentity): Promise<'alive' | 'gone' | 'reused'> {
  if (identity.bootId !== (await currentBootId())) return 'reused';
  const leader = await readStat(identity.pgid);
  if (leader && leader.state !== 'Z') return leader.startTime === identity.startTime ? 'alive' : 'reused';
  return (await groupMembers(identity.pgid, identity.startTime)).length > 0 ? 'alive' : 'gone';
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: already gone.
  }
}

/**
 * Kills what is left of a command's process group after an agent crash:
 * SIGTERM, then SIGKILL if anything survives `graceMs`.
 */
export async function killOrphanGroup(identity: ProcessIdentity, graceMs: number): Promise<OrphanOutcome> {
  const found = await findOrphanGroup(identity);
  if (found !== 'alive') return found;
  signalGroup(identity.pgid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    if ((await groupMembers(identity.pgid, identity.startTime)).length === 0) return 'killed';
  }
  signalGroup(identity.pgid, 'SIGKILL');
  return 'killed';
}
