import { spawn } from 'node:child_process';
import { PIPE_CLOSE_GRACE_MS, type LaunchEvents, type LaunchSpec } from './launcher.js';

/**
 * Starts the process with Node's own spawn(): no helper needed, but fork()
 * blocks the event loop while it copies this process's page tables.
 */
export function nodeLauncher(spec: LaunchSpec, events: LaunchEvents): void {
  const child = spawn(spec.command, spec.args, {
    cwd: spec.cwd,
    env: spec.env ?? process.env,
    detached: true,
    stdio: [spec.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  const outStream = child.stdout!;
  const errStream = child.stderr!;
  outStream.on('data', (chunk: Buffer) => events.output('stdout', chunk));
  errStream.on('data', (chunk: Buffer) => events.output('stderr', chunk));
  if (child.stdin) {
    child.stdin.on('error', () => undefined); // EPIPE when the process ignores its input
    child.stdin.end(spec.stdin);
  }
  let settled = false;
  child.on('error', (err: NodeJS.ErrnoException) => {
    if (settled) return;
    settled = true;
    events.failed(err);
  });
  if (child.pid !== undefined) events.started(child.pid);
  child.on('exit', (code, signal) => {
    const finish = (): void => {
      if (settled) return;
      settled = true;
      events.exited(code, signal);
    };
    const grace = setTimeout(() => {
      outStream.destroy();
      errStream.destroy();
      finish();
    }, PIPE_CLOSE_GRACE_MS);
    child.on('close', () => {
      clearTimeout(grace);
      finish();
    });
  });
}
