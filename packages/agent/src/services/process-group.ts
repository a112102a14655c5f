import type { ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { groupMembers, readStat } from '../journal/process-identity.js';

export interface ExitInfo {
  /** Null when killed by a signal, or unknown (adopted: not our child). */
  exitStatus: number | null;
  signal: string | null;
}

/**
 * A service's main process, which leads its own process group: one the
 * agent spawned (its exit status is known), or one a previous agent spawned
 * and this one adopted (polled through /proc; its exit status is not).
 */
export interface ServiceProcess {
  readonly pid: number;
  /** Start time in clock ticks since boot (/proc/<pid>/stat field 22). */
  readonly startTime: string;
  readonly exited: Promise<ExitInfo>;
  /** Stops watching (the agent is stopping); the process keeps running. */
  release(): void;
}

/** How often an adopted process is looked for. */
const ADOPTED_POLL_MS = 250;
const GROUP_POLL_MS = 100;

export function spawnedProcess(child: ChildProcess, pid: number, startTime: string): ServiceProcess {
  const exited = new Promise<ExitInfo>((resolve) => {
    child.once('exit', (code, signal) => resolve({ exitStatus: code, signal }));
  });
  return {
    pid,
    startTime,
    exited,
    // Not ours to wait for any more: the agent may exit while it runs on.
    release: () => child.unref(),
  };
}

/** True if `pid` is still the process that started at `startTime` (not a zombie). */
export async function isSameProcess(pid: number, startTime: string): Promise<boolean> {
  const stat = await readStat(pid);
  return stat !== undefined && stat.state !== 'Z' && stat.startTime === startTime;
}

export function adoptedProcess(pid: number, startTime: string): ServiceProcess {
  let timer: NodeJS.Timeout | undefined;
  let released = false;
  const exited = new Promise<ExitInfo>((resolve) => {
    const poll = (): void => {
      if (released) return;
      void isSameProcess(pid, startTime).then((alive) => {
        if (released) return;
        if (alive) timer = setTimeout(poll, ADOPTED_POLL_MS);
        else resolve({ exitStatus: null, signal: null });
      });
    };
    poll();
  });
  return {
    pid,
    startTime,
    exited,
    release: () => {
      released = true;
      clearTimeout(timer);
    },
  };
}

export function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false; // ESRCH: nothing left in the group
  }
}

export function signalProcess(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}

/**
 * Live members of the group led by a process that started at `startTime`.
 * While any member lives the kernel does not hand the number out again, so
 * a live process with that pid and another start time means the group is
 * gone (and that process is none of ours).
 */
export async function liveMembers(pgid: number, startTime: string): Promise<number[]> {
  const holder = await readStat(pgid);
  if (holder && holder.state !== 'Z' && holder.startTime !== startTime) return [];
  return groupMembers(pgid, startTime);
}

/** Resolves true once nothing of the group is left, false after `timeoutMs`. */
export async function waitGroupGone(pgid: number, startTime: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if ((await liveMembers(pgid, startTime)).length === 0) return true;
    if (Date.now() >= deadline) return false;
    await sleep(GROUP_POLL_MS);
  }
}

/**
 * Ends a whole process group: `signal`, then SIGKILL to whatever is left
 * after `graceMs`. The group is only signalled while members started no
 * earlier than its leader remain, so a reused number is never hit.
 */
export async function endGroup(
  pgid: number,
  startTime: string,
  signal: NodeJS.Signals,
  graceMs: number,
): Promise<'gone' | 'killed'> {
  if ((await liveMembers(pgid, startTime)).length === 0) return 'gone';
  signalGroup(pgid, signal);
  if (await waitGroupGone(pgid, startTime, graceMs)) return 'gone';
  if ((await liveMembers(pgid, startTime)).length > 0) signalGroup(pgid, 'SIGKILL');
  await waitGroupGone(pgid, startTime, 5_000);
  return 'killed';
}
