import { StringDecoder } from 'node:string_decoder';
import type { ProgressEvent } from '@ur/protocol/wire';

export type ProgressUpdate = NonNullable<ProgressEvent['progress']>;

/** What command handlers report progress through; a no-op unless the request asked for `stream: true`. */
export interface ProgressSink {
  stage(stage: 'accepted' | 'started'): void;
  output(stream: 'stdout' | 'stderr', chunk: Buffer): void;
  update(progress: ProgressUpdate): void;
  /**
   * Sends what is buffered; resolves once every event sent has been
   * confirmed or refused by the broker. Await it before the final reply.
   */
  close(): Promise<void>;
}

export const noProgress: ProgressSink = {
  stage: () => undefined,
  output: () => undefined,
  update: () => undefined,
  close: () => Promise.resolve(),
};

/** Publishes one event; resolves once the broker has it (or refused it): never rejects. */
export type ProgressSend = (event: ProgressEvent) => Promise<void> | void;

export interface ProgressReporterOptions {
  /** Output is sent at most this often... @default 100 */
  flushIntervalMs?: number;
  /** ...or when this much is buffered. @default 65536 */
  maxChunkBytes?: number;
}

/**
 * Turns a command's output and progress into `ur.execute-progress` events:
 * output is buffered and sent every `flushIntervalMs` or `maxChunkBytes`,
 * decoded so a multi-byte character is never split across events; progress
 * updates are coalesced to the latest within the same interval.
 */
export class ProgressReporter implements ProgressSink {
  readonly #nodeId: string;
  readonly #requestId: string;
  readonly #send: ProgressSend;
  /** Sends not yet confirmed (close() waits for them). */
  readonly #unconfirmed = new Set<Promise<void>>();
  readonly #flushIntervalMs: number;
  readonly #maxChunkBytes: number;
  readonly #streams = {
    stdout: { decoder: new StringDecoder('utf8'), text: '', bytes: 0 },
    stderr: { decoder: new StringDecoder('utf8'), text: '', bytes: 0 },
  };
  #pendingUpdate: ProgressUpdate | undefined;
  #timer: NodeJS.Timeout | undefined;
  #seq = 0;

  constructor(nodeId: string, requestId: string, send: ProgressSend, options: ProgressReporterOptions = {}) {
    this.#nodeId = nodeId;
    this.#requestId = requestId;
    this.#send = send;
    this.#flushIntervalMs = options.flushIntervalMs ?? 100;
    this.#maxChunkBytes = options.maxChunkBytes ?? 64 * 1024;
  }

  stage(stage: 'accepted' | 'started'): void {
    this.#emit({ stage });
  }

  output(stream: 'stdout' | 'stderr', chunk: Buffer): void {
    const buffer = this.#streams[stream];
    buffer.text += buffer.decoder.write(chunk);
    buffer.bytes += chunk.length;
    if (buffer.bytes >= this.#maxChunkBytes) this.#flushStream(stream);
    else this.#schedule();
  }

  update(progress: ProgressUpdate): void {
    this.#pendingUpdate = progress;
    this.#schedule();
  }

  async close(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const stream of ['stdout', 'stderr'] as const) {
      const buffer = this.#streams[stream];
      buffer.text += buffer.decoder.end();
    }
    this.#flush();
    // The reply goes to another queue than the progress events; sent after
    // the broker has the last output and the final count, it does not
    // overtake them on the way to the headnode, which stops listening for a
    // request's progress once its reply is in.
    await Promise.all(this.#unconfirmed);
  }

  #schedule(): void {
    this.#timer ??= setTimeout(() => {
      this.#timer = undefined;
      this.#flush();
    }, this.#flushIntervalMs);
  }

  #flush(): void {
    this.#flushStream('stdout');
    this.#flushStream('stderr');
    if (this.#pendingUpdate) {
      this.#emit({ stage: 'progress', progress: this.#pendingUpdate });
      this.#pendingUpdate = undefined;
    }
  }

  #flushStream(stream: 'stdout' | 'stderr'): void {
    const buffer = this.#streams[stream];
    if (buffer.text === '') return;
    this.#emit({ stage: 'output', stream, data: buffer.text });
    buffer.text = '';
    buffer.bytes = 0;
  }

  #emit(fields: Pick<ProgressEvent, 'stage'> & Partial<ProgressEvent>): void {
    const sent = this.#send({
      type: 'progress',
      node_id: this.#nodeId,
      request_id: this.#requestId,
      seq: this.#seq++,
      at: new Date().toISOString(),
      ...fields,
    });
    if (sent instanceof Promise) {
      this.#unconfirmed.add(sent);
      void sent.finally(() => this.#unconfirmed.delete(sent));
    }
  }
}
