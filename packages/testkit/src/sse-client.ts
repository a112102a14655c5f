import { readSse, type SseMessage } from '@ur/protocol/wire';

type Waiter = { match: (m: SseMessage) => boolean; resolve: (m: SseMessage) => void };

/** A Server-Sent Events client for tests: collects messages, waits for one, knows when the server ended. */
export class SseClient {
  readonly messages: SseMessage[] = [];
  /** Resolves when the server ends the stream (or the client closes it). */
  readonly ended: Promise<void>;
  readonly #abort: AbortController;
  #waiters: Waiter[] = [];

  private constructor(abort: AbortController, body: AsyncIterable<Uint8Array>) {
    this.#abort = abort;
    this.ended = (async () => {
      try {
        for await (const message of readSse(body)) {
          this.messages.push(message);
          for (const w of [...this.#waiters]) {
            if (w.match(message)) {
              this.#waiters = this.#waiters.filter((x) => x !== w);
              w.resolve(message);
            }
          }
        }
      } catch {
        // aborted by close()
      }
    })();
  }

  /** Connects; throws with the status and body unless the server answers with an event stream. */
  static async connect(url: string, options: { lastEventId?: string } = {}): Promise<SseClient> {
    const abort = new AbortController();
    const response = await fetch(url, {
      signal: abort.signal,
      headers: {
        accept: 'text/event-stream',
        ...(options.lastEventId === undefined ? {} : { 'last-event-id': options.lastEventId }),
      },
    });
    if (!response.ok || response.body === null) {
      throw new Error(`GET ${url}: HTTP ${response.status} ${await response.text()}`);
    }
    return new SseClient(abort, response.body);
  }

  /** Resolves with the first message (already received or future) that matches. */
  waitFor(what: string, match: (m: SseMessage) => boolean, timeoutMs = 10_000): Promise<SseMessage> {
    const seen = this.messages.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { match, resolve };
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      waiter.resolve = (m) => {
        clearTimeout(timer);
        resolve(m);
      };
      this.#waiters.push(waiter);
    });
  }

  /** The `data` of every message with an event type matching, parsed. */
  events<T = unknown>(match: (type: string) => boolean = () => true): T[] {
    return this.messages.filter((m) => match(m.event)).map((m) => JSON.parse(m.data) as T);
  }

  async close(): Promise<void> {
    this.#abort.abort();
    await this.ended;
  }
}
