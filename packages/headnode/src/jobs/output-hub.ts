import type { ProgressEvent } from '@ur/protocol';

export type OutputListener = (event: ProgressEvent) => void;

export interface OutputHubOptions {
  /** Output kept per request for watchers that connect late (the start of it). @default 256 KiB */
  maxBytesPerRequest?: number;
  /** Output kept in all; the least recently active requests go first. @default 64 MiB */
  maxBytes?: number;
  /** A request's output is dropped this long after its last chunk. @default 600000 */
  keepMs?: number;
}

interface Buffered {
  chunks: ProgressEvent[];
  bytes: number;
  touched: number;
}

/**
 * Live output of running commands for whoever watches a job's event stream.
 * Every headnode receives every progress event (each has its own exclusive
 * queue), so a watcher connected to any headnode sees a job's output. The
 * first output of each request is also kept a while in memory (bounded), so
 * a watcher that connects just after the job started (urctl creating it,
 * then following it) still sees it all. Output is not stored: a job's
 * results hold the (capped) output.
 */
export class OutputHub {
  readonly #byRequest = new Map<string, Set<OutputListener>>();
  /** In order of last activity, oldest first. */
  readonly #buffers = new Map<string, Buffered>();
  readonly #maxPerRequest: number;
  readonly #max: number;
  readonly #keepMs: number;
  #bytes = 0;

  constructor(options: OutputHubOptions = {}) {
    this.#maxPerRequest = options.maxBytesPerRequest ?? 256 * 1024;
    this.#max = options.maxBytes ?? 64 * 1024 * 1024;
    this.#keepMs = options.keepMs ?? 600_000;
  }

  /**
   * Listens to the output of these requests until the returned function is
   * called; with `replay`, the output kept so far comes first.
   */
  watch(requestIds: Iterable<string>, listener: OutputListener, replay = false): () => void {
    const ids = [...requestIds];
    if (replay) {
      for (const id of ids) for (const chunk of this.#buffers.get(id)?.chunks ?? []) listener(chunk);
    }
    for (const id of ids) {
      let set = this.#byRequest.get(id);
      if (!set) {
        set = new Set();
        this.#byRequest.set(id, set);
      }
      set.add(listener);
    }
    return () => {
      for (const id of ids) {
        const set = this.#byRequest.get(id);
        set?.delete(listener);
        if (set?.size === 0) this.#byRequest.delete(id);
      }
    };
  }

  /** Bytes of output kept now. */
  get bufferedBytes(): number {
    return this.#bytes;
  }

  publish(event: ProgressEvent, now = Date.now()): void {
    if (event.stage !== 'output') return;
    this.#keep(event, now);
    for (const listener of this.#byRequest.get(event.request_id) ?? []) listener(event);
  }

  #keep(event: ProgressEvent, now: number): void {
    const size = Buffer.byteLength(event.data ?? '');
    let buffer = this.#buffers.get(event.request_id);
    if (buffer) this.#buffers.delete(event.request_id);
    buffer ??= { chunks: [], bytes: 0, touched: now };
    buffer.touched = now;
    this.#buffers.set(event.request_id, buffer);
    if (buffer.bytes + size <= this.#maxPerRequest) {
      buffer.chunks.push(event);
      buffer.bytes += size;
      this.#bytes += size;
    }
    for (const [id, b] of this.#buffers) {
      if (this.#bytes <= this.#max && now - b.touched <= this.#keepMs) break;
      this.#buffers.delete(id);
      this.#bytes -= b.bytes;
    }
  }
}
