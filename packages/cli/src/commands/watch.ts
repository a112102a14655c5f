import type { UrEvent } from '@ur/protocol';
import { HeadnodeUnreachableError, type HeadnodeClient } from '../client.js';
import type { CliIo } from '../io.js';
import { eventLine } from '../job-format.js';

const RECONNECT_DELAY_MS = 1_000;

/**
 * Follows `/v1/events`, one line per event (JSON lines with --json), until
 * interrupted; reconnects after a dropped connection without losing or
 * repeating events (Last-Event-ID).
 */
export async function watchEvents(
  client: HeadnodeClient,
  io: CliIo,
  options: { types: string | undefined; after: string | undefined; json: boolean; count: number | undefined },
): Promise<number> {
  let lastId = options.after;
  let seen = 0;
  const query = options.types === undefined ? '' : `?types=${encodeURIComponent(options.types)}`;
  for (;;) {
    try {
      for await (const message of client.stream(`/v1/events${query}`, lastId)) {
        if (message.id !== undefined) lastId = message.id;
        const event = JSON.parse(message.data) as UrEvent;
        io.stdout.write(options.json ? `${message.data}\n` : `${eventLine(event)}\n`);
        if (options.count !== undefined && ++seen >= options.count) return 0;
      }
    } catch (err) {
      if (!(err instanceof HeadnodeUnreachableError)) throw err;
    }
    io.stderr.write(
      lastId === undefined
        ? 'urctl: event stream ended; reconnecting (events meanwhile may be missed)\n'
        : `urctl: event stream ended; reconnecting after event ${lastId}\n`,
    );
    await new Promise((resolve) => setTimeout(resolve, RECONNECT_DELAY_MS));
  }
}
