import type { UrEvent } from '@ur/protocol';
import type { EventBus } from '../event-bus.js';
import type { SseStream } from './sse.js';

const PAGE = 500;

export interface FollowOptions {
  /** Replay stored events after this id first; undefined: only what happens from now on. */
  after: number | undefined;
  /** Stored events after an id, oldest first. */
  history: (afterId: number, limit: number) => Promise<UrEvent[]>;
  accept: (event: UrEvent) => boolean;
  onEvent: (event: UrEvent) => void;
}

/**
 * Replays stored events after `after`, then follows the bus, without a gap
 * or a duplicate: the subscription starts first (its events buffered), the
 * replay goes up to the bus's position at that moment, and every event is
 * passed on only if its id is above the last one passed on.
 */
export async function followEvents(stream: SseStream, bus: EventBus, o: FollowOptions): Promise<void> {
  const buffered: UrEvent[] = [];
  let live = false;
  let lastSent = 0;
  const deliver = (event: UrEvent): void => {
    const id = Number(event.id);
    if (id <= lastSent || stream.closed) return;
    lastSent = id;
    if (o.accept(event)) o.onEvent(event);
  };
  const unsubscribe = bus.subscribe((event) => {
    if (live) deliver(event);
    else buffered.push(event);
  });
  stream.onClose(unsubscribe);
  const upTo = bus.lastId;
  if (o.after === undefined) {
    lastSent = upTo;
  } else {
    lastSent = o.after;
    let cursor = o.after;
    while (!stream.closed && cursor < upTo) {
      const page = await o.history(cursor, PAGE);
      for (const event of page) if (Number(event.id) <= upTo) deliver(event);
      const last = page.at(-1);
      if (page.length < PAGE || !last) break;
      cursor = Number(last.id);
    }
  }
  live = true;
  for (const event of buffered.splice(0)) deliver(event);
}
