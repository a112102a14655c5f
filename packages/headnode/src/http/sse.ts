import type { ServerResponse } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../errors.js';

export interface SseMessage {
  /** Becomes the client's Last-Event-ID; events without one (live output) are not resumable. */
  id?: string | undefined;
  event: string;
  data: unknown;
}

/** Comments sent this often keep idle connections (and proxies) open. */
const KEEPALIVE_MS = 15_000;
/** A client this far behind is cut off; it resumes with Last-Event-ID. */
const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;

/** Open Server-Sent Event streams, so a stopping headnode can end them. */
export class SseStreams {
  readonly #open = new Set<SseStream>();

  open(reply: FastifyReply): SseStream {
    reply.hijack();
    const stream = new SseStream(reply.raw, () => this.#open.delete(stream));
    this.#open.add(stream);
    return stream;
  }

  closeAll(): void {
    for (const stream of this.#open) stream.close();
  }
}

/** One `text/event-stream` response. */
export class SseStream {
  readonly #res: ServerResponse;
  readonly #onClose: (() => void)[] = [];
  readonly #keepalive: NodeJS.Timeout;
  #closed = false;

  constructor(res: ServerResponse, forget: () => void) {
    this.#res = res;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write(': ur event stream\n\n');
    this.#keepalive = setInterval(() => this.#write(': keepalive\n\n'), KEEPALIVE_MS);
    this.#keepalive.unref();
    this.#onClose.push(forget);
    res.on('close', () => this.close());
  }

  get closed(): boolean {
    return this.#closed;
  }

  onClose(fn: () => void): void {
    if (this.#closed) fn();
    else this.#onClose.push(fn);
  }

  send(message: SseMessage): void {
    const lines = [];
    if (message.id !== undefined) lines.push(`id: ${message.id}`);
    lines.push(`event: ${message.event}`);
    // JSON has no raw newlines, so the data is one line.
    lines.push(`data: ${JSON.stringify(message.data)}`);
    this.#write(`${lines.join('\n')}\n\n`);
  }

  #write(text: string): void {
    if (this.#closed) return;
    this.#res.write(text);
    if (this.#res.writableLength > MAX_BUFFERED_BYTES) this.close();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#keepalive);
    this.#res.end();
    for (const fn of this.#onClose.splice(0)) fn();
  }
}

/** Where a stream resumes: the Last-Event-ID header, else `?after=`; undefined for neither. */
export function resumeAfter(
  request: FastifyRequest<{ Querystring: { after?: string | undefined } }>,
): number | undefined {
  const header = request.headers['last-event-id'];
  const text = (Array.isArray(header) ? header[0] : header) ?? request.query.after;
  if (text === undefined || text === '') return undefined;
  if (!/^\d{1,15}$/.test(text)) {
    throw new ApiError(
      'VALIDATION_FAILED',
      `Last-Event-ID (or after) must be an event id, got ${JSON.stringify(text)}`,
    );
  }
  return Number(text);
}
