import { execFile } from 'node:child_process';
import { closeSync, constants, openSync } from 'node:fs';
import { Socket } from 'node:net';
import { promisify } from 'node:util';
import type { Logger } from '@ur/protocol/wire';
import type { RotatingLog } from './rotating-log.js';

const run = promisify(execFile);

/**
 * A service writes its stdout and stderr into a named pipe that the agent
 * reads into the rotating log. The service's end is opened read-write, so
 * the pipe always has a reader: when the agent is gone (restart, crash) the
 * service never gets SIGPIPE; its output waits in the pipe (64 KiB, then its
 * writes block) until the next agent opens the pipe again by name. The
 * reader sees end-of-file once the service and everything it started have
 * closed their end.
 */
export async function createLogPipe(path: string): Promise<void> {
  // Node has no mkfifo(3); coreutils' mkfifo is everywhere the agent runs.
  await run('mkfifo', ['-m', '0600', path]);
}

/** The service's end (read-write, see above); close it in the agent once the service has it. */
export function openServiceEnd(path: string): number {
  return openSync(path, constants.O_RDWR | constants.O_NOCTTY);
}

export function closeFd(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // Already closed.
  }
}

/**
 * Opens the agent's end without blocking (a pipe's open for reading waits
 * for a writer otherwise) as a socket, so reading never occupies a thread
 * of the pool the way a file stream would.
 */
export function openAgentEnd(path: string): Socket {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  return new Socket({ fd, readable: true, writable: false });
}

/**
 * Copies the pipe into the log until end-of-file (or until the socket is
 * destroyed), waiting for each write: a slow disk slows the service down
 * instead of filling the agent's memory.
 */
export async function pumpPipe(socket: Socket, log: RotatingLog, logger: Logger): Promise<void> {
  try {
    for await (const chunk of socket) await log.write(chunk as Buffer);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ERR_STREAM_PREMATURE_CLOSE') {
      logger.warn('service output lost', { dir: log.dir, error: String(err) });
    }
  } finally {
    socket.destroy();
  }
}
