/** What it takes to start one process, whichever way it is started. */
export interface LaunchSpec {
  command: string;
  args: readonly string[];
  /** The whole environment when set; inherited otherwise. */
  env?: Record<string, string> | undefined;
  cwd?: string | undefined;
  stdin?: string | undefined;
}

/**
 * Called in this order: `started` or `failed` once; then `output` any number
 * of times; then `exited` once (after `started`), when the process is gone and
 * its output pipes have closed or been given up on.
 */
export interface LaunchEvents {
  started(pid: number): void;
  failed(err: NodeJS.ErrnoException): void;
  output(stream: 'stdout' | 'stderr', chunk: Buffer): void;
  exited(code: number | null, signal: NodeJS.Signals | null): void;
}

/**
 * Starts a process as the leader of a new process group, stdin from the spec
 * (or /dev/null), stdout and stderr piped back.
 */
export type Launcher = (spec: LaunchSpec, events: LaunchEvents) => void;

/**
 * How long to wait for stdout/stderr to close after the process exited. A
 * background child that inherited the pipes would otherwise hold the reply
 * back until it exits. The spawn helper (native/ur-spawn.c) has the same.
 */
export const PIPE_CLOSE_GRACE_MS = 200;
