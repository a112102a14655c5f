import { spawn } from 'node:child_process';
import { constants } from 'node:os';
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
  readonly pid: number | undefined;
  readonly done: Promise<RunResult>;
  /** Ends the whole process group: SIGTERM, then SIGKILL after the grace. */
  terminate(): void;
}

/**
 * How long to wait for stdout/stderr to close after the process exited. A
 * background child that inherited the pipes would otherwise hold the reply
 * back until it exits.
 */
const PIPE_CLOSE_GRACE_MS = 200;

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}

/**
 * Runs a command in its own process group (so a timeout or cancel reaches
 * every process it started) and captures its output under a cap.
 */
export function runProcess(spec: RunSpec): RunningProcess {
  const startedAt = new Date();
  const stdout = new OutputCapture(spec.maxOutputBytes);
  const stderr = new OutputCapture(spec.maxOutputBytes);
  const child = spawn(spec.command, spec.args, {
    cwd: spec.cwd,
    env: spec.env ?? process.env,
    detached: true,
    stdio: [spec.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  let timedOut = false;
  let terminating = false;
  let killTimer: NodeJS.Timeout | undefined;
  let timeoutTimer: NodeJS.Timeout | undefined;

  const terminate = (): void => {
    if (terminating || child.pid === undefined) return;
    terminating = true;
    const pid = child.pid;
    killGroup(pid, 'SIGTERM');
    killTimer = setTimeout(() => killGroup(pid, 'SIGKILL'), spec.killGraceMs);
  };

  if (spec.timeoutMs !== undefined) {
    timeoutTimer = setTimeout(() => {
      timedOut = true;
      terminate();
    }, spec.timeoutMs);
  }

  const outStream = child.stdout!;
  const errStream = child.stderr!;
  outStream.on('data', (chunk: Buffer) => {
    stdout.push(chunk);
    spec.onOutput?.('stdout', chunk);
  });
  errStream.on('data', (chunk: Buffer) => {
    stderr.push(chunk);
    spec.onOutput?.('stderr', chunk);
  });
  if (child.stdin) {
    child.stdin.on('error', () => undefined); // EPIPE when the process ignores its input
    child.stdin.end(spec.stdin);
  }

  const done = new Promise<RunResult>((resolve) => {
    let spawnError: NodeJS.ErrnoException | undefined;
    let settled = false;
    const finish = (exitCode: number | null, signal: NodeJS.Signals | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timeoutTimer);
      if (killTimer !== undefined && child.pid !== undefined && terminating) {
        // The leader is gone; make sure nothing it started outlives the kill.
        clearTimeout(killTimer);
        killGroup(child.pid, 'SIGKILL');
      }
      resolve({ exitCode, signal, stdout, stderr, timedOut, spawnError, startedAt, finishedAt: new Date() });
    };
    child.on('error', (err: NodeJS.ErrnoException) => {
      spawnError = err;
      finish(null, null);
    });
    child.on('exit', (code, signal) => {
      const grace = setTimeout(() => {
        outStream.destroy();
        errStream.destroy();
        finish(code, signal);
      }, PIPE_CLOSE_GRACE_MS);
      child.on('close', () => {
        clearTimeout(grace);
        finish(code, signal);
      });
    });
  });

  return { pid: child.pid, done, terminate };
}

/** Shell convention: a process killed by signal N exits with 128 + N. */
export function exitStatusOf(result: Pick<RunResult, 'exitCode' | 'signal'>): number {
  if (result.exitCode !== null) return result.exitCode;
  if (result.signal !== null) return 128 + (constants.signals[result.signal] ?? 0);
  return 1;
}
