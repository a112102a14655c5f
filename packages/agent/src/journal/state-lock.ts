import { link, readFile, rm, writeFile } from 'node:fs/promises';
import { readStat } from './process-identity.js';

/** Another live agent process uses the same state directory. */
export class StateLockedError extends Error {
  readonly path: string;
  readonly pid: number;

  constructor(path: string, pid: number) {
    super(
      `another ur-agent (pid ${pid}) is using ${path}; two agents must not share a prefix ` +
        '(each would treat the other’s commands as interrupted)',
    );
    this.name = 'StateLockedError';
    this.path = path;
    this.pid = pid;
  }
}

interface LockOwner {
  pid: number;
  startTime: string | undefined;
}

async function owner(path: string): Promise<LockOwner | undefined> {
  try {
    const value = JSON.parse(await readFile(path, 'utf8')) as Partial<LockOwner>;
    return typeof value.pid === 'number' ? { pid: value.pid, startTime: value.startTime } : undefined;
  } catch {
    return undefined;
  }
}

/** True if the recorded owner is still running (same pid and start time). */
async function alive(o: LockOwner): Promise<boolean> {
  const stat = await readStat(o.pid);
  if (!stat) {
    try {
      process.kill(o.pid, 0); // no /proc: fall back to "the pid exists"
      return o.startTime === undefined;
    } catch {
      return false;
    }
  }
  return stat.state !== 'Z' && stat.startTime === o.startTime;
}

/**
 * Takes `path` as a lock file for this process. A lock left by a process that
 * is gone (crashed, SIGKILLed) is taken over; one held by a live process
 * throws {@link StateLockedError}. The file is created by link(2), which is
 * atomic, so two agents starting at once cannot both win.
 */
export async function acquireStateLock(path: string): Promise<() => Promise<void>> {
  const me: LockOwner = {
    pid: process.pid,
    startTime: (await readStat(process.pid))?.startTime,
  };
  const candidate = `${path}.${process.pid}.${Date.now()}`;
  await writeFile(candidate, JSON.stringify(me));
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        await link(candidate, path);
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw err;
      }
      const current = await owner(path);
      if (current && (await alive(current))) throw new StateLockedError(path, current.pid);
      await rm(path, { force: true });
    }
  } finally {
    await rm(candidate, { force: true });
  }
  return async () => {
    const current = await owner(path);
    if (current?.pid === process.pid) await rm(path, { force: true });
  };
}
