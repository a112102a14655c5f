import type { Logger } from '@ur/protocol';
import { mergePatch, type NodePatch, type NodeStore } from './store/node-store.js';

export interface InventoryWriterOptions {
  /** Longest a patch waits before it is written. @default 20 */
  flushIntervalMs?: number;
  /** Write at once when this many nodes have pending patches. @default 2000 */
  maxPending?: number;
}

interface Pending {
  patch: NodePatch;
  committed: (() => void)[];
}

/**
 * Batches node updates: patches for the same node merge, and each batch is
 * one transaction. This is what lets a registration storm of thousands of
 * nodes land in a few transactions instead of thousands. `committed`
 * callbacks run after the transaction commits (the broker ack goes there).
 */
export class InventoryWriter {
  readonly #store: NodeStore;
  readonly #log: Logger;
  readonly #intervalMs: number;
  readonly #maxPending: number;
  #pending = new Map<string, Pending>();
  #timer: NodeJS.Timeout | undefined;
  #writing: Promise<void> = Promise.resolve();

  constructor(store: NodeStore, logger: Logger, options: InventoryWriterOptions = {}) {
    this.#store = store;
    this.#log = logger;
    this.#intervalMs = options.flushIntervalMs ?? 20;
    this.#maxPending = options.maxPending ?? 2000;
  }

  record(patch: NodePatch, committed?: () => void): void {
    const existing = this.#pending.get(patch.id);
    if (existing) {
      existing.patch = mergePatch(existing.patch, patch);
      if (committed) existing.committed.push(committed);
    } else {
      this.#pending.set(patch.id, { patch, committed: committed ? [committed] : [] });
    }
    if (this.#pending.size >= this.#maxPending) {
      void this.flush();
    } else {
      this.#timer ??= setTimeout(() => void this.flush(), this.#intervalMs);
    }
  }

  /** Writes everything pending; resolves when it is committed. */
  flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#pending.size === 0) return this.#writing;
    const batch = this.#pending;
    this.#pending = new Map();
    // Batches are written one after another so patches never reorder.
    this.#writing = this.#writing.then(async () => {
      const entries = [...batch.values()];
      for (let attempt = 1; ; attempt++) {
        try {
          await this.#store.apply(entries.map((e) => e.patch));
          break;
        } catch (err) {
          this.#log.error('inventory write failed', { nodes: entries.length, attempt, error: String(err) });
          if (attempt >= 5) return; // not acked: the broker redelivers after a reconnect
          await new Promise((r) => setTimeout(r, 100 * attempt));
        }
      }
      for (const e of entries) for (const done of e.committed) done();
    });
    return this.#writing;
  }
}
