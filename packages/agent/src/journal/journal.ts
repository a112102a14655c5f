import { mkdir, open, rename, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { ExecuteReply, Logger } from '@ur/protocol/wire';
import { JournalFormatError, JournalWriteError } from './errors.js';
import {
  encodeRecord,
  JOURNAL_FORMAT,
  markSent,
  parseRecord,
  peekRecord,
  type JournalRecord,
  type ProcessIdentity,
} from './journal-records.js';
import { scanLines } from './line-scanner.js';

export interface JournalOptions {
  /** Directory of `journal.log`; created if missing. */
  dir: string;
  /** Finished request ids kept for de-duplication. */
  maxEntries: number;
  /** ...and for at most this long after receipt. */
  retentionMs: number;
  /** Bytes of stored replies kept; older replies are dropped (their ids are kept). */
  maxReplyBytes: number;
  logger: Logger;
}

/**
 * running: received (and maybe started), no reply yet. done: the reply is
 * stored and waits for the broker's confirm. sent: confirmed. gone: finished
 * long ago; the reply is no longer kept.
 */
export type EntryState = 'running' | 'done' | 'sent' | 'gone';

export interface JournalEntry {
  readonly id: string;
  readonly state: EntryState;
  /** Receipt time (ms). */
  readonly at: number;
  readonly type: string | undefined;
  readonly process: ProcessIdentity | undefined;
}

interface Entry {
  id: string;
  state: EntryState;
  at: number;
  type: string | undefined;
  process: ProcessIdentity | undefined;
  /** Where the `done` line is, once written. */
  done: { offset: number; length: number } | undefined;
}

export interface StoredReply {
  id: string;
  routingKey: string;
  messageId: string;
  reply: ExecuteReply;
}

export interface JournalStats {
  /** Request ids known. */
  entries: number;
  /** Replies stored and not yet confirmed by the broker: the outbox. */
  unsent: number;
  running: number;
  bytes: number;
  records: number;
}

/**
 * When an append resolves: `synced` after fdatasync; `written` after write(2)
 * (a process that is killed loses nothing written; the fdatasync follows in
 * the same flush); `lazy` after write(2), with no fdatasync of its own.
 */
type Durability = 'synced' | 'written' | 'lazy';

interface Append {
  data: Buffer;
  durability: Durability;
  written?: (offset: number) => void;
  resolve: () => void;
  reject: (err: Error) => void;
}

const LOG_FILE = 'journal.log';
const COMPACT_FILE = 'journal.log.compact';
/** How often an otherwise quiet journal checks for entries past their retention. */
const RETENTION_CHECK_MS = 10 * 60_000;
const NEWLINE = Buffer.from('\n');
/** Compaction buffers this much output before writing. */
const COMPACT_WRITE_BYTES = 1024 * 1024;

/**
 * The agent's request journal: an append-only log of JSON lines under
 * `<prefix>/state/journal/`. Records are appended in the order of the calls;
 * everything appended in the same tick goes out in one write and, if any of
 * it must be durable, one fdatasync (group commit). The index of request ids
 * lives in memory; stored replies stay on disk until asked for. When the log
 * has grown to twice its bounds it is rewritten without what is no longer
 * needed (written to a new file, then renamed over the old one).
 */
export class Journal {
  readonly #options: JournalOptions;
  readonly #path: string;
  readonly #log: Logger;
  readonly #entries = new Map<string, Entry>();
  /** Entries in state `done`, in the order their replies were stored. */
  readonly #unsent = new Map<string, Entry>();
  #running = 0;
  #file: FileHandle;
  #size = 0;
  #records = 0;
  #queue: Append[] = [];
  #flushing: Promise<void> | undefined;
  #compactAtRecords: number;
  #compactAtBytes: number;
  #lastRetentionCheck = Date.now();
  #closed = false;

  private constructor(options: JournalOptions, file: FileHandle) {
    this.#options = options;
    this.#path = join(options.dir, LOG_FILE);
    this.#log = options.logger;
    this.#file = file;
    this.#compactAtRecords = 2 * options.maxEntries;
    this.#compactAtBytes = 2 * options.maxReplyBytes;
  }

  /** Opens (or creates) the journal and reads its index. */
  static async open(options: JournalOptions): Promise<Journal> {
    await mkdir(options.dir, { recursive: true, mode: 0o700 });
    await rm(join(options.dir, COMPACT_FILE), { force: true }); // a compaction cut short
    const file = await open(join(options.dir, LOG_FILE), 'a+', 0o600);
    const journal = new Journal(options, file);
    try {
      await journal.#load();
    } catch (err) {
      await file.close();
      throw err;
    }
    return journal;
  }

  get path(): string {
    return this.#path;
  }

  get(id: string): JournalEntry | undefined {
    return this.#entries.get(id);
  }

  /** Requests that were received but never finished (after a crash: interrupted). */
  running(): JournalEntry[] {
    return [...this.#entries.values()].filter((e) => e.state === 'running');
  }

  /** Ids whose stored reply the broker has not confirmed, oldest first. */
  unsent(): string[] {
    return [...this.#unsent.keys()];
  }

  stats(): JournalStats {
    return {
      entries: this.#entries.size,
      unsent: this.#unsent.size,
      running: this.#running,
      bytes: this.#size,
      records: this.#records,
    };
  }

  /**
   * Records a request before it runs. Resolves once the record is on disk
   * (fsync'd): only then may the request be acked. The id must be new.
   */
  received(id: string, type: string, at = Date.now()): Promise<void> {
    if (this.#entries.has(id)) throw new Error(`request ${id} is already in the journal`);
    const entry: Entry = { id, state: 'running', at, type, process: undefined, done: undefined };
    this.#entries.set(id, entry);
    this.#running += 1;
    return this.#append({ k: 'recv', id, at, type }, 'synced').catch((err: unknown) => {
      // Not on disk, so not received: a redelivery must be treated as new.
      if (this.#entries.get(id) === entry && entry.state === 'running') {
        this.#entries.delete(id);
        this.#running -= 1;
      }
      throw err;
    });
  }

  /** Records the process group a request runs in; not synced (a crash of the machine ends it anyway). */
  started(id: string, identity: ProcessIdentity): void {
    const entry = this.#entries.get(id);
    if (entry?.state !== 'running') return;
    entry.process = identity;
    this.#append({ k: 'proc', id, proc: identity }, 'lazy').catch((err: unknown) =>
      this.#log.warn('could not journal a process group', { requestId: id, error: String(err) }),
    );
  }

  /**
   * Stores a request's reply. Resolves once it is written: only then may it
   * be published, so an agent killed afterwards finds the reply (and sends it
   * again) instead of answering INTERRUPTED. The fdatasync follows in the
   * same flush without holding the reply back: it is on the critical path of
   * every command, and only a machine crash in that millisecond could lose it.
   */
  finished(
    id: string,
    routingKey: string,
    messageId: string,
    reply: ExecuteReply,
    at = Date.now(),
  ): Promise<void> {
    let entry = this.#entries.get(id);
    if (entry && entry.state !== 'running') throw new Error(`request ${id} already has a reply`);
    if (entry) {
      this.#running -= 1;
    } else {
      entry = { id, state: 'running', at, type: undefined, process: undefined, done: undefined };
      this.#entries.set(id, entry);
    }
    entry.state = 'done';
    this.#unsent.set(id, entry);
    const stored = entry;
    return this.#append(
      { k: 'done', id, at, key: routingKey, mid: messageId, reply },
      'written',
      (offset, length) => {
        stored.done = { offset, length };
      },
    );
  }

  /** Records that the broker confirmed the reply. */
  sent(id: string): void {
    const entry = this.#entries.get(id);
    if (entry?.state !== 'done') return;
    entry.state = 'sent';
    this.#unsent.delete(id);
    this.#append({ k: 'sent', id }, 'lazy').catch((err: unknown) =>
      this.#log.warn('could not journal a delivery', { requestId: id, error: String(err) }),
    );
  }

  /** The stored reply of a finished request; undefined if it is not kept (any more). */
  async reply(id: string): Promise<StoredReply | undefined> {
    const entry = this.#entries.get(id);
    if (!entry || (entry.state !== 'done' && entry.state !== 'sent')) return undefined;
    if (!entry.done) await this.sync();
    const at = entry.done;
    if (!at) return undefined;
    await this.#flushing; // a compaction may be moving it
    const where = entry.done ?? at;
    const buffer = Buffer.alloc(where.length);
    await this.#file.read(buffer, 0, where.length, where.offset);
    const record = parseRecord(buffer);
    if (record?.k !== 'done' || record.id !== id) {
      this.#log.error('journal index does not match the file', { requestId: id, offset: where.offset });
      return undefined;
    }
    return { id, routingKey: record.key, messageId: record.mid, reply: record.reply };
  }

  /** Resolves once everything appended so far is written. */
  sync(): Promise<void> {
    if (this.#queue.length === 0 && !this.#flushing) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.#queue.push({ data: Buffer.alloc(0), durability: 'lazy', resolve, reject });
      this.#schedule();
    });
  }

  async close(): Promise<void> {
    await this.sync();
    this.#closed = true;
    await this.#file.close();
  }

  #append(
    record: JournalRecord,
    durability: Durability,
    written?: (offset: number, length: number) => void,
  ): Promise<void> {
    if (this.#closed) return Promise.reject(new JournalWriteError(this.#path, 'the journal is closed'));
    const data = encodeRecord(record);
    return new Promise((resolve, reject) => {
      const append: Append = { data, durability, resolve, reject };
      if (written) append.written = (offset) => written(offset, data.length);
      this.#queue.push(append);
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#flushing) return;
    // setImmediate: everything appended in this tick shares one write and one fsync.
    this.#flushing = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.#drain())
      .finally(() => {
        this.#flushing = undefined;
        if (this.#queue.length > 0) this.#schedule();
      });
  }

  async #drain(): Promise<void> {
    while (this.#queue.length > 0) {
      await this.#write(this.#queue.splice(0));
      if (this.#compactionDue()) {
        try {
          await this.#compact();
        } catch (err) {
          // The old file is untouched; try again once it has grown further.
          this.#compactAtRecords = 2 * this.#records;
          this.#compactAtBytes = 2 * this.#size;
          this.#log.error('journal compaction failed', { path: this.#path, error: String(err) });
        }
      }
    }
  }

  async #write(batch: Append[]): Promise<void> {
    const data = Buffer.concat(batch.map((a) => a.data));
    try {
      for (let done = 0; done < data.length;) {
        const { bytesWritten } = await this.#file.write(data, done, data.length - done);
        done += bytesWritten;
      }
    } catch (err) {
      // Cut off whatever part was written, so the next record starts a line.
      await this.#file.truncate(this.#size).catch(() => undefined);
      const failure = new JournalWriteError(this.#path, String(err), { cause: err });
      for (const a of batch) a.reject(failure);
      return;
    }
    let offset = this.#size;
    for (const a of batch) {
      a.written?.(offset);
      offset += a.data.length;
      if (a.data.length > 0) this.#records += 1;
      if (a.durability !== 'synced') a.resolve();
    }
    this.#size = offset;
    if (batch.every((a) => a.durability === 'lazy')) return;
    try {
      await this.#file.datasync();
    } catch (err) {
      const failure = new JournalWriteError(this.#path, `fdatasync: ${String(err)}`, { cause: err });
      this.#log.error('journal fdatasync failed', { path: this.#path, error: failure.message });
      for (const a of batch) if (a.durability === 'synced') a.reject(failure);
      return;
    }
    for (const a of batch) if (a.durability === 'synced') a.resolve();
  }

  async #load(): Promise<void> {
    let header = false;
    const result = await scanLines(this.#file, (line, offset) => {
      const record = parseRecord(line);
      if (!record) {
        this.#log.warn('skipping a malformed journal line', { path: this.#path, offset });
        return;
      }
      if (record.k === 'journal') {
        if (record.v !== JOURNAL_FORMAT) throw new JournalFormatError(this.#path, record.v);
        header = true;
      }
      this.#apply(record, offset, line.length + 1);
      this.#records += 1;
    });
    if (result.trailing > 0) {
      // The last write was cut short by a crash: that record never counted.
      this.#log.warn('dropping an incomplete journal record', { path: this.#path, bytes: result.trailing });
      await this.#file.truncate(result.end);
    }
    this.#size = result.end;
    this.#running = this.running().length;
    if (!header && this.#size === 0) await this.#append({ k: 'journal', v: JOURNAL_FORMAT }, 'synced');
    if (this.#compactionDue()) await this.sync(); // runs the compaction
  }

  #apply(record: JournalRecord, offset: number, length: number): void {
    if (record.k === 'journal') return;
    const entry = this.#entries.get(record.id);
    switch (record.k) {
      case 'recv':
        if (!entry) {
          this.#entries.set(record.id, {
            id: record.id,
            state: 'running',
            at: record.at,
            type: record.type,
            process: undefined,
            done: undefined,
          });
        }
        return;
      case 'proc':
        if (entry?.state === 'running') entry.process = record.proc;
        return;
      case 'done': {
        const e: Entry = entry ?? {
          id: record.id,
          state: 'done',
          at: record.at,
          type: undefined,
          process: undefined,
          done: undefined,
        };
        e.state = record.sent ? 'sent' : 'done';
        e.done = { offset, length };
        this.#entries.set(record.id, e);
        if (!record.sent) this.#unsent.set(record.id, e);
        return;
      }
      case 'sent':
        if (entry?.state === 'done') entry.state = 'sent';
        this.#unsent.delete(record.id);
        return;
      case 'gone':
        this.#unsent.delete(record.id);
        this.#entries.set(record.id, {
          id: record.id,
          state: 'gone',
          at: entry?.at ?? record.at,
          type: entry?.type,
          process: undefined,
          done: undefined,
        });
        return;
    }
  }

  #compactionDue(): boolean {
    if (this.#records >= this.#compactAtRecords || this.#size >= this.#compactAtBytes) return true;
    const now = Date.now();
    if (now - this.#lastRetentionCheck < RETENTION_CHECK_MS) return false;
    this.#lastRetentionCheck = now;
    const oldest = this.#entries.values().next().value;
    return oldest !== undefined && oldest.at < now - this.#options.retentionMs;
  }

  /** Decides which finished ids to forget and which replies to drop, in memory. */
  #retire(): void {
    const { maxEntries, retentionMs, maxReplyBytes } = this.#options;
    const cutoff = Date.now() - retentionMs;
    let excess = this.#entries.size - maxEntries;
    for (const entry of this.#entries.values()) {
      if (entry.state !== 'sent' && entry.state !== 'gone') continue; // still needed
      if (excess <= 0 && entry.at >= cutoff) continue;
      this.#entries.delete(entry.id);
      excess -= 1;
    }
    let bytes = 0;
    for (const entry of [...this.#entries.values()].reverse()) {
      if (entry.state !== 'sent' || !entry.done) continue;
      bytes += entry.done.length;
      if (bytes > maxReplyBytes) {
        entry.state = 'gone';
        entry.done = undefined;
      }
    }
  }

  /**
   * Rewrites the log keeping, for each remaining id, only the lines that
   * still matter. Runs inside the write chain, so nothing is appended
   * meanwhile; appends queue up and go to the new file.
   */
  async #compact(): Promise<void> {
    const started = Date.now();
    const before = { records: this.#records, bytes: this.#size };
    this.#retire();
    const tmpPath = join(this.#options.dir, COMPACT_FILE);
    const out = await open(tmpPath, 'w', 0o600);
    const moved = new Map<string, { offset: number; length: number }>();
    const gone = new Set<string>();
    let size = 0;
    let records = 0;
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    const emit = async (line: Buffer): Promise<void> => {
      pending.push(line);
      pendingBytes += line.length;
      size += line.length;
      records += 1;
      if (pendingBytes >= COMPACT_WRITE_BYTES) await flush();
    };
    const flush = async (): Promise<void> => {
      const data = Buffer.concat(pending);
      pending = [];
      pendingBytes = 0;
      for (let done = 0; done < data.length;) done += (await out.write(data, done)).bytesWritten;
    };
    try {
      await emit(encodeRecord({ k: 'journal', v: JOURNAL_FORMAT }));
      await scanLines(this.#file, async (line, offset) => {
        const head = peekRecord(line);
        const entry = head?.id !== undefined ? this.#entries.get(head.id) : undefined;
        if (!head || !entry) return;
        if (entry.state === 'gone') {
          if (!gone.has(entry.id)) await emit(encodeRecord({ k: 'gone', id: entry.id, at: entry.at }));
          gone.add(entry.id);
          return;
        }
        // Until its reply is on disk, an entry is still described by its recv and proc lines.
        if (entry.state === 'running' || entry.done === undefined) {
          if (head.k === 'recv' || head.k === 'proc') await emit(Buffer.concat([line, NEWLINE]));
          return;
        }
        if (head.k !== 'done' || entry.done.offset !== offset) return;
        const kept = entry.state === 'sent' ? markSent(line) : line;
        moved.set(entry.id, { offset: size, length: kept.length + 1 });
        await emit(Buffer.concat([kept, NEWLINE]));
      });
      await flush();
      await out.datasync();
    } finally {
      await out.close();
    }
    await rename(tmpPath, this.#path);
    await syncDirectory(this.#options.dir);
    const old = this.#file;
    this.#file = await open(this.#path, 'a+', 0o600);
    await old.close();
    for (const [id, where] of moved) {
      const entry = this.#entries.get(id);
      if (entry) entry.done = where;
    }
    this.#size = size;
    this.#records = records;
    this.#compactAtRecords = Math.max(2 * this.#options.maxEntries, 2 * records);
    this.#compactAtBytes = Math.max(2 * this.#options.maxReplyBytes, 2 * size);
    this.#lastRetentionCheck = Date.now();
    this.#log.info('journal compacted', {
      path: this.#path,
      before,
      after: { records, bytes: size },
      entries: this.#entries.size,
      ms: Date.now() - started,
    });
  }
}

/** Makes a rename durable. */
async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
