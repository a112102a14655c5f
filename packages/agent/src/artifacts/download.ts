import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Got, Request } from 'got';
import { redactUrl, type Logger } from '@ur/protocol/wire';
import { ArtifactNotFoundError, DownloadFailedError, TooLargeError } from './errors.js';

export interface DownloadOptions {
  connectTimeoutMs: number;
  /** The connection may be silent this long (stalled server) before the attempt fails. */
  idleTimeoutMs: number;
  /** Attempts after the first, for transient failures only. */
  retries: number;
  /** First backoff; doubled per retry, with jitter. */
  retryDelayMs: number;
  maxBytes: number;
  signal: AbortSignal;
  userAgent: string;
  logger: Logger;
  onProgress?: ((done: number, total: number | null) => void) | undefined;
}

export interface Downloaded {
  bytes: number;
  sha256: string;
}

/**
 * Bytes buffered on the way to the file. With the default 16 KiB every
 * 64 KiB socket read waited for its own thread-pool write before the socket
 * was read again, so the server stalled on a full TCP window (a 92 MiB
 * download on loopback: 450-600 ms, against curl's 160-270 ms); with more
 * buffered, writes are batched (writev) while the socket keeps flowing.
 */
const WRITE_BUFFER_BYTES = 1024 * 1024;

/** HTTP statuses worth another attempt; other 4xx/5xx are final. */
const TRANSIENT_STATUSES = new Set([408, 425, 429, 500, 502, 503, 504]);
/** Network failures worth another attempt (a DNS name that does not exist is not one). */
const TRANSIENT_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'ERR_STREAM_PREMATURE_CLOSE',
]);

/** One attempt's failure, before retries are decided. */
class AttemptError extends Error {
  readonly transient: boolean;
  readonly status: number | undefined;

  constructor(message: string, transient: boolean, status?: number, options?: ErrorOptions) {
    super(message, options);
    this.transient = transient;
    this.status = status;
  }
}

function describeNetworkError(err: unknown): AttemptError {
  const e = err as { code?: string; message?: string; event?: string };
  const code = e.code ?? '';
  if (code === 'ETIMEDOUT') {
    const what = e.event === 'connect' ? 'connect timed out' : 'the server stalled (idle timeout)';
    return new AttemptError(what, true, undefined, { cause: err });
  }
  return new AttemptError(
    `${code || 'error'}: ${e.message ?? String(err)}`,
    TRANSIENT_CODES.has(code),
    undefined,
    {
      cause: err,
    },
  );
}

function backoffMs(attempt: number, base: number): number {
  const exp = base * 2 ** attempt;
  return Math.min(30_000, exp / 2 + Math.random() * (exp / 2));
}

/**
 * Runs `attempt` with retries and exponential backoff on transient failures.
 * Final failures: {@link ArtifactNotFoundError} for 404,
 * {@link TooLargeError}, else {@link DownloadFailedError}.
 */
async function withRetries<T>(url: string, o: DownloadOptions, attempt: () => Promise<T>): Promise<T> {
  const shown = redactUrl(url);
  for (let n = 1; ; n++) {
    try {
      return await attempt();
    } catch (err) {
      if (o.signal.aborted) throw o.signal.reason;
      if (err instanceof TooLargeError || err instanceof ArtifactNotFoundError) throw err;
      const failure = err instanceof AttemptError ? err : describeNetworkError(err);
      if (!failure.transient || n > o.retries) {
        throw new DownloadFailedError(shown, n, failure.message, failure.status, { cause: err });
      }
      const delay = backoffMs(n - 1, o.retryDelayMs);
      o.logger.warn('download failed; retrying', {
        url: shown,
        attempt: n,
        error: failure.message,
        delayMs: delay,
      });
      await sleep(delay, undefined, { signal: o.signal });
    }
  }
}

let loading: Promise<Got> | undefined;

/**
 * got is loaded on the first download: it is most of the agent's module
 * weight (memory, start-up time, and so every command's fork) and most nodes
 * install artifacts rarely.
 */
async function loadGot(): Promise<Got> {
  loading ??= import('got').then((m) => m.default);
  return loading;
}

async function request(url: string, o: DownloadOptions): Promise<Request> {
  const got = await loadGot();
  return got.stream(url, {
    timeout: { connect: o.connectTimeoutMs, socket: o.idleTimeoutMs },
    retry: { limit: 0 },
    throwHttpErrors: false,
    decompress: false,
    signal: o.signal,
    headers: { 'user-agent': o.userAgent },
  });
}

/**
 * Streams `url` to `dest` (truncated on every attempt), hashing as it goes,
 * never holding the body in memory. The size limit is checked against
 * Content-Length up front and against the bytes actually received.
 */
export function downloadFile(url: string, dest: string, o: DownloadOptions): Promise<Downloaded> {
  const shown = redactUrl(url);
  return withRetries(url, o, async () => {
    const stream = await request(url, o);
    // Set from event handlers; read after the pipeline ends.
    const seen: { failure: Error | undefined; total: number | null } = { failure: undefined, total: null };
    stream.once(
      'response',
      (res: { statusCode: number; headers: Record<string, string | string[] | undefined> }) => {
        if (res.statusCode === 404) {
          seen.failure = new ArtifactNotFoundError(shown);
        } else if (res.statusCode !== 200) {
          const transient = TRANSIENT_STATUSES.has(res.statusCode);
          seen.failure = new AttemptError(`HTTP ${res.statusCode}`, transient, res.statusCode);
        } else {
          const length = Number(res.headers['content-length']);
          if (res.headers['content-length'] !== undefined && Number.isSafeInteger(length))
            seen.total = length;
          if (seen.total !== null && seen.total > o.maxBytes) {
            seen.failure = new TooLargeError('download', o.maxBytes, `${shown} is ${seen.total} bytes`);
          }
        }
        if (seen.failure) stream.destroy();
      },
    );
    const hash = createHash('sha256');
    let bytes = 0;
    const meter = new Transform({
      highWaterMark: WRITE_BUFFER_BYTES,
      transform(chunk: Buffer, _encoding, callback) {
        bytes += chunk.length;
        if (bytes > o.maxBytes) {
          seen.failure = new TooLargeError('download', o.maxBytes, `${shown} sent more than that`);
          callback(seen.failure);
          return;
        }
        hash.update(chunk);
        o.onProgress?.(bytes, seen.total);
        callback(null, chunk);
      },
    });
    try {
      await pipeline(stream, meter, createWriteStream(dest, { highWaterMark: WRITE_BUFFER_BYTES }));
    } catch (err) {
      throw seen.failure ?? err;
    }
    if (seen.failure) throw seen.failure;
    if (seen.total !== null && bytes !== seen.total) {
      throw new AttemptError(`connection closed after ${bytes} of ${seen.total} bytes`, true);
    }
    return { bytes, sha256: hash.digest('hex') };
  });
}

/** The longest sidecar we read; a `sha256sum` line is under 200 bytes. */
const MAX_SIDECAR_BYTES = 4096;

/**
 * Reads the `<archive>.sha256` sidecar: the first word of its text (as
 * `sha256sum` writes it). Resolves undefined when the repository has none
 * (404); other failures are errors, so a flaky sidecar never silently turns
 * verification off.
 */
export function fetchChecksum(url: string, o: DownloadOptions): Promise<string | undefined> {
  const shown = redactUrl(url);
  return withRetries(url, o, async () => {
    const stream = await request(url, o);
    const seen: { failure: Error | undefined; missing: boolean } = { failure: undefined, missing: false };
    stream.once('response', (res: { statusCode: number }) => {
      if (res.statusCode === 404) {
        seen.missing = true;
      } else if (res.statusCode !== 200) {
        const transient = TRANSIENT_STATUSES.has(res.statusCode);
        seen.failure = new AttemptError(`HTTP ${res.statusCode}`, transient, res.statusCode);
      }
      if (seen.missing || seen.failure) stream.destroy();
    });
    let text = '';
    try {
      for await (const chunk of stream) {
        text += (chunk as Buffer).toString('utf8');
        if (text.length > MAX_SIDECAR_BYTES) throw new AttemptError('checksum file too long', false);
      }
    } catch (err) {
      if (seen.missing) return undefined;
      throw seen.failure ?? err;
    }
    if (seen.missing) return undefined;
    if (seen.failure) throw seen.failure;
    const word = text.trim().split(/\s+/)[0] ?? '';
    if (!/^[A-Fa-f0-9]{64}$/.test(word)) {
      throw new AttemptError(`${shown} does not start with a SHA-256`, false);
    }
    return word.toLowerCase();
  });
}
