import { mkdir, open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { PinnedDir } from './pinned-dir.js';

export interface RotatingLogOptions {
  /** Size of one file; the current file is rotated before it would grow past it. */
  maxBytes: number;
  /** Rotated files kept (`service.log.1` newest … `service.log.<files>`). */
  files: number;
}

export interface LogTail {
  lines: string[];
  /** Fewer lines than asked for: the byte limit was reached first. */
  truncated: boolean;
}

type Listener = (chunk: Buffer) => void;

/** Name of the file being written; rotated ones get `.1`, `.2`, … */
export const LOG_FILE = 'service.log';

const TAIL_CHUNK = 64 * 1024;

/**
 * A service's output in `<runtime>/logs/`: `service.log` plus at most
 * `files` rotated ones, each at most `maxBytes`, so the directory never
 * holds more than `maxBytes * (files + 1)`. Writes are appended in order,
 * one at a time; a caller that awaits each write applies backpressure to
 * the service (its pipe fills, its writes block). Live output also goes to
 * subscribers (`service.logs` with `stream`).
 */
export class RotatingLog {
  /** Where the files are (for people: writes go through {@link #pin} when given). */
  readonly dir: string;
  #o: RotatingLogOptions;
  readonly #listeners = new Set<Listener>();
  readonly #pin: (() => Promise<PinnedDir>) | undefined;
  #pinned: PinnedDir | undefined;
  #handle: FileHandle | undefined;
  #size = 0;
  #queue: Promise<void> = Promise.resolve();
  #closed = false;

  /**
   * `pin` opens the directory and holds it (see {@link PinnedDir}) when it
   * lies in a directory someone else controls; without it `dir` is used by
   * path.
   */
  constructor(dir: string, options: RotatingLogOptions, pin?: () => Promise<PinnedDir>) {
    this.dir = dir;
    this.#o = options;
    this.#pin = pin;
  }

  /** The directory's path for file operations. */
  async #base(): Promise<string> {
    if (!this.#pin) {
      await mkdir(this.dir, { recursive: true, mode: 0o755 });
      return this.dir;
    }
    this.#pinned ??= await this.#pin();
    return this.#pinned.path();
  }

  /** New limits (from the service's spec); they apply from the next write. */
  configure(options: RotatingLogOptions): void {
    this.#o = options;
  }

  /** Appends a chunk (rotating as needed); resolves once it is written. */
  write(chunk: Buffer): Promise<void> {
    for (const listener of this.#listeners) listener(chunk);
    const next = this.#queue.then(() => this.#write(chunk));
    this.#queue = next.catch(() => undefined);
    return next;
  }

  subscribe(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#queue;
    await this.#handle?.close();
    this.#handle = undefined;
    await this.#pinned?.close();
    this.#pinned = undefined;
  }

  async #open(): Promise<FileHandle> {
    if (this.#handle) return this.#handle;
    const handle = await open(join(await this.#base(), LOG_FILE), 'a', 0o644);
    this.#size = (await handle.stat()).size;
    this.#handle = handle;
    return handle;
  }

  async #write(chunk: Buffer): Promise<void> {
    if (this.#closed) return;
    let handle = await this.#open();
    let rest = chunk;
    while (rest.length > 0) {
      if (this.#size > 0 && this.#size + rest.length > this.#o.maxBytes) handle = await this.#rotate();
      const piece = rest.subarray(0, this.#o.maxBytes - this.#size);
      await handle.write(piece);
      this.#size += piece.length;
      rest = rest.subarray(piece.length);
    }
  }

  async #rotate(): Promise<FileHandle> {
    await this.#handle?.close();
    this.#handle = undefined;
    const base = join(await this.#base(), LOG_FILE);
    const name = (n: number): string => (n === 0 ? base : `${base}.${n}`);
    await rm(name(this.#o.files), { force: true });
    for (let n = this.#o.files - 1; n >= 0; n--) {
      await rename(name(n), name(n + 1)).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
    }
    return this.#open();
  }

  /** The last `lines` lines (newest file first, read backwards), at most `maxBytes` of them. */
  async tail(lines: number, maxBytes: number): Promise<LogTail> {
    await this.#queue;
    if (lines === 0) return { lines: [], truncated: false };
    const base = join(await this.#base(), LOG_FILE);
    const chunks: Buffer[] = [];
    let bytes = 0;
    let newlines = 0;
    let exhausted = true;
    outer: for (let n = 0; n <= this.#o.files; n++) {
      const path = n === 0 ? base : `${base}.${n}`;
      let size: number;
      try {
        size = (await stat(path)).size;
      } catch {
        continue;
      }
      const handle = await open(path, 'r');
      try {
        let end = size;
        while (end > 0) {
          // One more newline than lines: the text may end with one.
          if (newlines > lines || bytes >= maxBytes) {
            exhausted = false;
            break outer;
          }
          const length = Math.min(TAIL_CHUNK, end, maxBytes - bytes);
          const buffer = Buffer.alloc(length);
          await handle.read(buffer, 0, length, end - length);
          end -= length;
          chunks.unshift(buffer);
          bytes += length;
          for (const b of buffer) if (b === 0x0a) newlines++;
        }
      } finally {
        await handle.close();
      }
    }
    const text = Buffer.concat(chunks).toString('utf8');
    const all = text.split('\n');
    if (all.at(-1) === '') all.pop();
    // A cut in the middle leaves a partial first line: drop it unless it is all there is.
    if (!exhausted && all.length > 1) all.shift();
    const kept = all.slice(-lines);
    return { lines: kept, truncated: kept.length < lines && !exhausted };
  }
}
