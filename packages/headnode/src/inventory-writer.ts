import type { Logger } from '@ur/protocol';
import type { ArrivedProgress, ArrivedReply, CommandStore, ProgressState } from './store/command-store.js';
import { mergePatch, type NodePatch, type NodeStore } from './store/node-store.js';

export interface InventoryWriterOptions {
  /** Write at once when this many nodes (or replies) are pending. @default 2000 */
  maxPending?: number;
  /**
   * How long a batch of lazy patches alone (heartbeats) waits for company
   * before it is written; anything else pending writes it at once. @default 100
   */
  lazyWaitMs?: number;
  /** Runs after each committed batch (wakes the event bus). */
  afterCommit?: () => void;
}

interface Pending {
  patch: NodePatch;
  committed: (() => void)[];
}

/**
 * Batches inbound updates: patches for the same node merge, replies to
 * commands are recorded alongside, and each batch is one transaction. This
 * is what lets a registration storm of thousands of nodes land in a few
 * transactions instead of thousands. Batching is group commit without a
 * timer: an idle writer writes what arrived in this turn of the event loop
 * at once (a reply is recorded within a millisecond or two), and while a
 * batch is being written the next one gathers, so a busy headnode writes
 * large batches back to back. `committed` callbacks run after the
 * transaction commits (the broker ack goes there), so a headnode that dies
 * first leaves the message to be redelivered to another.
 *
 * Heartbeats are lazy: with 1,000 nodes they arrive ~200 a second, spread
 * out, and written at once each was a transaction of its own (~1 ms of
 * headnode CPU apiece, against ~0.1 ms in batches). A batch of lazy patches
 * alone waits `lazyWaitMs` for company; a reply, progress or any other patch
 * takes it along at once.
 */
export class InventoryWriter {
  readonly #nodes: NodeStore;
  readonly #commands: CommandStore;
  readonly #by: string;
  readonly #log: Logger;
  readonly #maxPending: number;
  readonly #lazyWaitMs: number;
  readonly #afterCommit: () => void;
  #pending = new Map<string, Pending>();
  #replies: { reply: ArrivedReply; committed: (() => void) | undefined }[] = [];
  #progress: ArrivedProgress[] = [];
  /** Something pending must not wait: not only heartbeats. */
  #urgent = false;
  #timer: NodeJS.Immediate | undefined;
  #lazyTimer: NodeJS.Timeout | undefined;
  /** Batches handed to the store and not yet committed. */
  #writes = 0;
  #writing: Promise<void> = Promise.resolve();

  constructor(
    nodes: NodeStore,
    commands: CommandStore,
    by: string,
    logger: Logger,
    options: InventoryWriterOptions = {},
  ) {
    this.#nodes = nodes;
    this.#commands = commands;
    this.#by = by;
    this.#log = logger;
    this.#maxPending = options.maxPending ?? 2000;
    this.#lazyWaitMs = options.lazyWaitMs ?? 100;
    this.#afterCommit = options.afterCommit ?? (() => undefined);
  }

  /** `lazy`: the patch may wait a little for others to share its transaction (a heartbeat). */
  record(patch: NodePatch, committed?: () => void, lazy = false): void {
    if (!lazy) this.#urgent = true;
    const existing = this.#pending.get(patch.id);
    if (existing) {
      existing.patch = mergePatch(existing.patch, patch);
      if (committed) existing.committed.push(committed);
    } else {
      this.#pending.set(patch.id, { patch, committed: committed ? [committed] : [] });
    }
    this.#schedule();
  }

  /** Records a command's reply (and that its node is alive) in the next batch. */
  recordReply(reply: ArrivedReply, contact: NodePatch, committed?: () => void): void {
    this.#replies.push({ reply, committed });
    this.record(contact);
  }

  /**
   * Records a command's progress (accepted, running) in the next batch.
   * Through the same batches as replies, so progress that arrived before a
   * reply is never overtaken by it (a later one would be refused: states
   * only move forward).
   */
  recordProgress(requestId: string, state: ProgressState): void {
    this.#urgent = true;
    this.#progress.push({ requestId, state });
    this.#schedule();
  }

  get #empty(): boolean {
    return this.#pending.size === 0 && this.#replies.length === 0 && this.#progress.length === 0;
  }

  #schedule(): void {
    if (
      this.#pending.size >= this.#maxPending ||
      this.#replies.length + this.#progress.length >= this.#maxPending
    ) {
      void this.flush();
    } else if (this.#writes === 0 && this.#urgent) {
      // setImmediate runs after this turn's I/O: messages that arrived in one read share a batch.
      clearTimeout(this.#lazyTimer);
      this.#lazyTimer = undefined;
      this.#timer ??= setImmediate(() => void this.flush());
    } else if (this.#writes === 0) {
      this.#lazyTimer ??= setTimeout(() => void this.flush(), this.#lazyWaitMs);
    }
    // Else the batch in flight schedules this one when it commits.
  }

  /** Writes everything pending; resolves when it is committed. */
  flush(): Promise<void> {
    clearImmediate(this.#timer);
    this.#timer = undefined;
    clearTimeout(this.#lazyTimer);
    this.#lazyTimer = undefined;
    if (this.#empty) return this.#writing;
    this.#urgent = false;
    this.#writes++;
    const batch = this.#pending;
    const replies = this.#replies;
    const progress = this.#progress;
    this.#pending = new Map();
    this.#replies = [];
    this.#progress = [];
    // Batches are written one after another so patches never reorder.
    this.#writing = this.#writing.then(async () => {
      const entries = [...batch.values()];
      for (let attempt = 1; ; attempt++) {
        try {
          await this.#nodes.apply(
            entries.map((e) => e.patch),
            async (trx) => {
              if (progress.length > 0) await this.#commands.recordProgress(trx, progress);
              await this.#commands.recordReplies(
                trx,
                replies.map((r) => r.reply),
                this.#by,
              );
            },
          );
          break;
        } catch (err) {
          this.#log.error('inventory write failed', { nodes: entries.length, attempt, error: String(err) });
          if (attempt >= 5) return; // not acked: the broker redelivers after a reconnect
          await new Promise((r) => setTimeout(r, 100 * attempt));
        }
      }
      for (const e of entries) for (const done of e.committed) done();
      for (const r of replies) r.committed?.();
      this.#afterCommit();
    });
    const written = (): void => {
      if (--this.#writes === 0 && !this.#empty) this.#schedule();
    };
    this.#writing.then(written, written);
    return this.#writing;
  }
}
