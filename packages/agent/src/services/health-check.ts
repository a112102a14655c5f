import { request } from 'node:http';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ResolvedHealthCheck } from './service-spec.js';

/** One attempt may take this long. */
const ATTEMPT_TIMEOUT_MS = 2_000;

function tcpOnce(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(ATTEMPT_TIMEOUT_MS, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

function httpOnce(port: number, path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(
      { host: '127.0.0.1', port, path, method: 'GET', timeout: ATTEMPT_TIMEOUT_MS },
      (res) => {
        res.resume();
        resolve(res.statusCode !== undefined && res.statusCode >= 200 && res.statusCode < 300);
      },
    );
    req.once('timeout', () => req.destroy());
    req.once('error', () => resolve(false));
    req.end();
  });
}

/**
 * Tries the check every `intervalMs` until it passes (true), `timeoutMs`
 * passes (false), or `signal` aborts (false: the process exited or is
 * being stopped).
 */
export async function waitHealthy(check: ResolvedHealthCheck, signal: AbortSignal): Promise<boolean> {
  const deadline = Date.now() + check.timeoutMs;
  while (!signal.aborted) {
    const ok = check.type === 'tcp' ? await tcpOnce(check.port) : await httpOnce(check.port, check.path);
    if (signal.aborted) return false;
    if (ok) return true;
    if (Date.now() + check.intervalMs > deadline) return false;
    await sleep(check.intervalMs, undefined, { signal }).catch(() => undefined);
  }
  return false;
}
