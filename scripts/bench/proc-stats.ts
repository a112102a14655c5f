import { readdirSync, readFileSync } from 'node:fs';
import { CLOCK_TICKS_PER_SECOND, parseProcStat } from './cpu-accounting.js';

/** CPU seconds (user + system) a process has used so far, from /proc. */
export function cpuSeconds(pid: number): number {
  return parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8')).ownTicks / CLOCK_TICKS_PER_SECOND;
}

/**
 * CPU milliseconds of the children a process has reaped so far (their user +
 * system time, added to the parent's when it waits for them), from /proc.
 */
export function reapedChildrenCpuMs(pid: number | 'self'): number {
  return (
    (parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8')).childTicks * 1000) / CLOCK_TICKS_PER_SECOND
  );
}

/** Resident set size in MiB, from /proc. */
export function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? Number.NaN);
  return kb / 1024;
}

/** Percent of one core a process used over `ms`. */
export async function cpuPercentOver(pid: number, ms: number): Promise<number> {
  const before = cpuSeconds(pid);
  await new Promise((r) => setTimeout(r, ms));
  return ((cpuSeconds(pid) - before) / (ms / 1000)) * 100;
}

/** Pids of a process's children whose command name is `name`, from /proc. */
export function childrenNamed(pid: number, name: string): number[] {
  const children = readdirSync(`/proc/${pid}/task`).flatMap((tid) =>
    readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number),
  );
  return children.filter((child) => {
    try {
      return readFileSync(`/proc/${child}/comm`, 'utf8').trim() === name;
    } catch {
      return false; // gone meanwhile
    }
  });
}
