import { constants } from 'node:os';
import type { Launcher } from './launch/launcher.js';
import { nodeLauncher } from './launch/node-launcher.js';
import { OutputCapture } from './output-capture.js';

export interface RunSpec {
  command: string;
  args: readonly string[];
  /** The whole environment when set; inherited otherwise. */
  env?: Record<string, string> | undefined;
  cwd?: string | undefined;
  stdin?: string | undefined;
  /** Kill the process group after this long. */
  timeoutMs?: number | undefined;
  /** Between SIGTERM and SIGKILL. */
  killGraceMs: number;
  /** Per stream. */
  maxOutputBytes: number;
  onOutput?: ((stream: 'stdout' | 'stderr', chunk: Buffer) => void) | undefined;
  /** Called with the pid (and process group) once the process runs. */
  onStarted?: ((pid: number) => void) | undefined;
}

export interface RunResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: OutputCapture;
  stderr: OutputCapture;
  timedOut: boolean;
  /** Set when the process could not be started (ENOENT, EACCES, ...). */
  spawnError: NodeJS.ErrnoException | undefined;
  startedAt: Date;
  finishedAt: Date;
}

export interface RunningProcess {
  /** Once started; the helper reports it a moment after runProcess returns. */
  readonly pid: number | undefined;
  readonly done: Promise<RunResult>;
  /** Ends the whole process group: SIGTERM, then SIGKILL after the grace. */
  terminate(): void;
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}

/**
 * Runs a command in its own process group (so a timeout or cancel reaches
 * every process it started) and captures its output under a cap. `launch`
 * starts it: the spawn helper where there is one, else Node's spawn().
 */
export function runProcess(spec: RunSpec, launch: Launcher = nodeLauncher): RunningProcess {
  const startedAt = new Date();
  const stdout = new OutputCapture(spec.maxOutputBytes);
  const stderr = new OutputCapture(spec.maxOutputBytes);
  let pid: number | undefined;
  let timedOut = false;
  let terminating = false;
  let killTimer: NodeJS.Timeout | undefined;
  let timeoutTimer: NodeJS.Timeout | undefined;

  const signalGroup = (): void => {
    if (pid === undefined) return; // not started yet: done once it has
    const group = pid;
    killGroup(group, 'SIGTERM');
    killTimer = setTimeout(() => killGroup(group, 'SIGKILL'), spec.killGraceMs);
  };
  const terminate = (): void => {
    if (terminating) return;
    terminating = true;
    signalGroup();
  };

  if (spec.timeoutMs !== undefined) {
    timeoutTimer = setTimeout(() => {
      timedOut = true;
      terminate();
    }, spec.timeoutMs);
  }

  const done = new Promise<RunResult>((resolve) => {
    let settled = false;
    const finish = (
      exitCode: number | null,
      signal: NodeJS.Signals | null,
      spawnError?: NodeJS.ErrnoException,
    ): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timeoutTimer);
      if (killTimer !== undefined && pid !== undefined && terminating) {
        // The leader is gone; make sure nothing it started outlives the kill.
        clearTimeout(killTimer);
        killGroup(pid, 'SIGKILL');
      }
      resolve({ exitCode, signal, stdout, stderr, timedOut, spawnError, startedAt, finishedAt: new Date() });
    };
    launch(spec, {
      started: (startedPid) => {
        pid = startedPid;
        spec.onStarted?.(startedPid);
        if (terminating) signalGroup();
      },
      failed: (err) => finish(null, null, err),
      output: (stream, chunk) => {
        (stream === 'stdout' ? stdout : stderr).push(chunk);
        spec.onOutput?.(stream, chunk);
      },
      exited: (code, signal) => finish(code, signal),
    });
  });

  return {
    get pid() {
      return pid;
    },
    done,
    terminate,
  };
}

/** Shell convention: a process killed by signal N exits with 128 + N. */
export function exitStatusOf(result: Pick<RunResult, 'exitCode' | 'signal'>): number {
  if (result.exitCode !== null) return result.exitCode;
  if (result.signal !== null) return 128 + (constants.signals[result.signal] ?? 0);
  return 1;
}
