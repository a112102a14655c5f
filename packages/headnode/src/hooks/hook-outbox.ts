import { matchesAnyEventPattern, type Logger } from '@ur/protocol';
import type { EventStore } from '../store/event-store.js';
import type { HookRow, HookStore, NewDelivery } from '../store/hook-store.js';

/** Events read per pass step. */
const PAGE = 500;

/**
 * Follows the stored event log from a stored cursor and adds a delivery
 * to the outbox for every hook whose patterns match an event (those after
 * the hook was created). Deliveries and the cursor move in one transaction,
 * and a (hook, event) pair is unique, so every event reaches every matching
 * hook's outbox once, across restarts and headnodes.
 */
export class HookOutbox {
  readonly #events: EventStore;
  readonly #hooks: HookStore;
  readonly #log: Logger;

  constructor(events: EventStore, hooks: HookStore, logger: Logger) {
    this.#events = events;
    this.#hooks = hooks;
    this.#log = logger;
  }

  /**
   * Enqueues deliveries to `hooks` (as listed now) for every event stored
   * so far; returns how many.
   */
  async run(hooks: readonly HookRow[]): Promise<number> {
    if (hooks.length === 0) return 0;
    const matchers = hooks.map((h) => ({
      id: h.id,
      after: Number(h.after_event_id),
      patterns: JSON.parse(h.events) as string[],
    }));
    // Events up to the oldest hook's start concern no hook: not read again
    // (the cursor does not move while there are no hooks).
    const oldest = Math.min(...matchers.map((h) => h.after));
    const stored = await this.#hooks.cursor();
    let cursor = stored === undefined ? oldest : Math.max(stored, oldest);
    let enqueued = 0;
    for (;;) {
      const events = await this.#events.after(cursor, PAGE);
      if (events.length === 0) return enqueued;
      const deliveries: NewDelivery[] = [];
      for (const event of events) {
        const id = Number(event.id);
        for (const hook of matchers) {
          if (id <= hook.after || !matchesAnyEventPattern(hook.patterns, event.type)) continue;
          deliveries.push({
            hookId: hook.id,
            eventId: id,
            eventType: event.type,
            payload: JSON.stringify(event),
          });
        }
      }
      cursor = Number(events.at(-1)?.id ?? cursor);
      await this.#hooks.enqueue(deliveries, cursor);
      enqueued += deliveries.length;
      if (deliveries.length > 0)
        this.#log.debug('webhook deliveries queued', { deliveries: deliveries.length, cursor });
      if (events.length < PAGE) return enqueued;
    }
  }
}
