import type { Logger, UrEvent } from '@ur/protocol';
import type { EventStore } from './store/event-store.js';

export type EventListener = (event: UrEvent) => void;

export interface EventBusOptions {
  /** Also look for events other headnodes wrote this often (NOTIFY makes it sooner on PostgreSQL). @default 1000 */
  pollIntervalMs?: number;
}

/** Events read per query while catching up. */
const PAGE = 1_000;

/**
 * Node, service and job events for subscribers in this process, in id order, exactly once
 * each. Fed from the stored event log, not from the code that wrote them,
 * so every headnode sharing a database sees every headnode's events: a
 * local commit (or a PostgreSQL NOTIFY) pokes it, and a slow poll covers
 * the rest. Subscribers that need history (SSE `Last-Event-ID`) read
 * `EventStore.after(id)` up to {@link lastId} and then subscribe.
 */
export class EventBus {
  readonly #store: EventStore;
  readonly #log: Logger;
  readonly #pollIntervalMs: number;
  readonly #listeners = new Set<EventListener>();
  #lastId = 0;
  #timer: NodeJS.Timeout | undefined;
  #reading: Promise<void> | undefined;
  #again = false;
  #stopped = false;

  constructor(store: EventStore, logger: Logger, options: EventBusOptions = {}) {
    this.#store = store;
    this.#log = logger;
    this.#pollIntervalMs = options.pollIntervalMs ?? 1_000;
  }

  /** The id of the last event delivered (events up to it are history). */
  get lastId(): number {
    return this.#lastId;
  }

  /** Starts after the newest stored event: subscribers get what happens from now on. */
  async start(): Promise<void> {
    this.#lastId = await this.#store.lastId();
    this.#timer = setInterval(() => this.poke(), this.#pollIntervalMs);
    this.#timer.unref();
  }

  /**
   * Listens to every event delivered from now on. Events delivered later
   * all have ids above the {@link lastId} at the time of the call.
   */
  subscribe(listener: EventListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** New events may be stored: read them now (coalesced). */
  poke(): void {
    if (this.#stopped) return;
    if (this.#reading) {
      this.#again = true;
      return;
    }
    this.#reading = this.#read()
      .catch((err: unknown) => {
        this.#log.warn('reading events failed', { error: String(err) });
      })
      .finally(() => {
        this.#reading = undefined;
        if (this.#again) {
          this.#again = false;
          this.poke();
        }
      });
  }

  /** Resolves when everything stored so far has been delivered. */
  async settle(): Promise<void> {
    this.poke();
    while (this.#reading) await this.#reading;
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#reading;
    this.#stopped = true;
    this.#listeners.clear();
  }

  async #read(): Promise<void> {
    for (;;) {
      const events = await this.#store.after(this.#lastId, PAGE);
      for (const event of events) {
        this.#lastId = Number(event.id);
        for (const listener of this.#listeners) {
          try {
            listener(event);
          } catch (err) {
            this.#log.warn('event listener failed', { type: event.type, error: String(err) });
          }
        }
      }
      if (events.length < PAGE) return;
    }
  }
}
