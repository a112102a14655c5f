import { randomBytes, randomUUID } from 'node:crypto';
import type { HookCreateBody, Logger } from '@ur/protocol';
import type { EventBus } from '../event-bus.js';
import type { EventStore } from '../store/event-store.js';
import type { HookRow, HookStore } from '../store/hook-store.js';
import { HookOutbox } from './hook-outbox.js';
import { HookSender, type HookSenderOptions } from './hook-sender.js';

export interface HookServiceOptions extends HookSenderOptions {
  /** How often due deliveries (retries) are looked for; a finished send looks at once if more are due. */
  pollIntervalMs: number;
  /** New events are looked at this long after the first of them: events stored meanwhile share that pass. */
  eventBatchMs: number;
  /** Only one headnode (the liveness lease holder) delivers. */
  isLeader: () => boolean;
}

/**
 * Webhooks: registration, and (on the headnode holding the liveness lease)
 * the outbox and the sender. Everything a delivery needs is in the store,
 * so deliveries outlive restarts and move to another headnode with the lease.
 */
export class HookService {
  readonly #hooks: HookStore;
  readonly #events: EventStore;
  readonly #log: Logger;
  readonly #o: HookServiceOptions;
  readonly #outbox: HookOutbox;
  readonly #sender: HookSender;
  #timer: NodeJS.Timeout | undefined;
  #soon: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #stopped = false;
  #unsubscribe: () => void = () => undefined;

  constructor(hooks: HookStore, events: EventStore, logger: Logger, options: HookServiceOptions) {
    this.#hooks = hooks;
    this.#events = events;
    this.#log = logger;
    this.#o = options;
    this.#outbox = new HookOutbox(events, hooks, logger);
    this.#sender = new HookSender(hooks, logger, options);
    this.#sender.onSettled = () => this.poke();
  }

  start(bus: Pick<EventBus, 'subscribe'>): void {
    this.#unsubscribe = bus.subscribe(() => this.#onEvent());
    this.#timer = setInterval(() => this.poke(), this.#o.pollIntervalMs);
    this.#timer.unref();
    this.poke();
  }

  /** Registers a hook for the events from now on; answers it with its secret. */
  async create(body: HookCreateBody, now = Date.now()): Promise<HookRow> {
    const row: HookRow = {
      id: randomUUID(),
      url: body.url,
      events: JSON.stringify(body.events),
      secret: body.secret ?? randomBytes(24).toString('base64url'),
      description: body.description ?? null,
      created_at: now,
      after_event_id: await this.#events.lastId(),
    };
    await this.#hooks.create(row);
    this.#log.info('webhook added', { hook: row.id, url: row.url, events: body.events });
    return row;
  }

  /**
   * Every stored event reaches the bus, and a pass reads the hook list (and,
   * with hooks, the outbox): a pass per event read the list four times per
   * API execute, a query per event on a shared PostgreSQL. A short batch
   * window makes that one pass per burst, for a few milliseconds of webhook
   * latency.
   */
  #onEvent(): void {
    if (this.#soon !== undefined || this.#stopped) return;
    this.#soon = setTimeout(() => {
      this.#soon = undefined;
      this.poke();
    }, this.#o.eventBatchMs);
    this.#soon.unref();
  }

  /** Looks for work now (coalesced). */
  poke(): void {
    if (this.#stopped) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = this.#pass().finally(() => {
      this.#running = undefined;
      if (this.#again) {
        this.#again = false;
        this.poke();
      }
    });
  }

  async #pass(): Promise<void> {
    if (!this.#o.isLeader()) return;
    try {
      // One read of the hooks per pass; a pass runs after every batch of
      // stored events, so with no hooks it must cost no more than this read.
      const hooks = await this.#hooks.list();
      if (hooks.length === 0) return;
      await this.#outbox.run(hooks);
      await this.#sender.run(hooks);
    } catch (err) {
      this.#log.warn('webhook pass failed', { error: String(err) });
    }
  }

  /** Stops looking for work and aborts sends in progress (they stay pending in the outbox). */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#unsubscribe();
    clearInterval(this.#timer);
    clearTimeout(this.#soon);
    await this.#running;
    await this.#sender.stop();
  }
}
