import got, { RequestError } from 'got';
import type { Logger } from '@ur/protocol';
import type { DeliveryRow, HookRow, HookStore } from '../store/hook-store.js';
import { signBody } from './signature.js';

export interface HookSenderOptions {
  /** Deliveries in flight at once per hook. */
  concurrency: number;
  /** One attempt waits this long for an answer. */
  timeoutMs: number;
  /** A delivery not made within this long of its event is given up (failed). */
  retryForMs: number;
  /** The first retry waits this long; each next one twice as long... */
  backoffMs: number;
  /** ...up to this. */
  maxBackoffMs: number;
  userAgent: string;
}

/**
 * Sends due deliveries: JSON POSTs signed with the hook's secret, each
 * attempt recorded; failures are retried with exponential backoff (and a
 * little jitter) until `retryForMs` has passed. Every hook has its own
 * slots, and nothing waits for a send, so a slow or dead receiver delays
 * only its own deliveries.
 */
export class HookSender {
  readonly #hooks: HookStore;
  readonly #log: Logger;
  readonly #o: HookSenderOptions;
  readonly #inFlight = new Map<string, number>();
  readonly #sends = new Set<Promise<void>>();
  readonly #abort = new AbortController();
  /** Hooks whose last look found more due than they had free slots. */
  readonly #backlog = new Set<string>();
  /** Called when a send finishes and its hook has more due (a slot is free again). */
  onSettled: () => void = () => undefined;

  constructor(hooks: HookStore, logger: Logger, options: HookSenderOptions) {
    this.#hooks = hooks;
    this.#log = logger;
    this.#o = options;
  }

  get inFlight(): number {
    return this.#sends.size;
  }

  /** Starts sending what is due to `hooks`, as far as each hook's free slots allow. */
  async run(hooks: readonly HookRow[], now = Date.now()): Promise<void> {
    for (const hook of hooks) {
      const free = this.#o.concurrency - (this.#inFlight.get(hook.id) ?? 0);
      if (free <= 0) continue;
      const due = await this.#hooks.due(hook.id, free, now);
      // Otherwise a finished send has nothing to make room for: the next
      // events, or the poll for retries, look again.
      if (due.length === free) this.#backlog.add(hook.id);
      else this.#backlog.delete(hook.id);
      for (const row of due) {
        // The claim keeps others (another leader, a later pass) off it while it is attempted.
        if (!(await this.#hooks.claim(row, now + this.#o.timeoutMs + 5_000))) continue;
        this.#start(hook, row);
      }
    }
  }

  #start(hook: HookRow, row: DeliveryRow): void {
    this.#inFlight.set(hook.id, (this.#inFlight.get(hook.id) ?? 0) + 1);
    const send = this.#send(hook, row).finally(() => {
      this.#inFlight.set(hook.id, (this.#inFlight.get(hook.id) ?? 1) - 1);
      this.#sends.delete(send);
      if (this.#backlog.has(hook.id)) this.onSettled();
    });
    this.#sends.add(send);
  }

  async #send(hook: HookRow, row: DeliveryRow): Promise<void> {
    let status: number | null = null;
    let error: string | null = null;
    try {
      const response = await got.post(hook.url, {
        body: row.payload,
        headers: {
          'content-type': 'application/json',
          'user-agent': this.#o.userAgent,
          'x-ur-event': row.event_type,
          'x-ur-event-id': String(row.event_id),
          'x-ur-delivery': String(row.id),
          'x-ur-hook': hook.id,
          'x-ur-signature': signBody(hook.secret, row.payload),
        },
        timeout: { request: this.#o.timeoutMs },
        signal: this.#abort.signal,
        retry: { limit: 0 },
        throwHttpErrors: false,
        followRedirect: false,
      });
      status = response.statusCode;
      if (status < 200 || status >= 300) error = `HTTP ${status}`;
    } catch (err) {
      error = err instanceof RequestError ? `${err.code}: ${err.message}` : String(err);
    }
    const now = Date.now();
    const ok = error === null;
    let retryAt: number | undefined;
    if (!ok) {
      const delay =
        Math.min(this.#o.maxBackoffMs, this.#o.backoffMs * 2 ** row.attempts) * (0.8 + Math.random() * 0.4);
      retryAt = now + delay - row.created_at <= this.#o.retryForMs ? now + delay : undefined;
      this.#log[retryAt === undefined ? 'warn' : 'debug'](
        retryAt === undefined ? 'webhook delivery failed for good' : 'webhook delivery failed; will retry',
        { hook: hook.id, delivery: row.id, event: row.event_id, attempt: row.attempts + 1, error },
      );
    }
    try {
      await this.#hooks.attempted(row.id, { ok, status, error, retryAt }, now);
    } catch (err) {
      // The claim runs out and the delivery is attempted again: at least once.
      this.#log.warn('recording a webhook attempt failed', { delivery: row.id, error: String(err) });
    }
  }

  /** Aborts the sends in progress (they are retried later, here or by the next leader) and waits for their records. */
  async stop(): Promise<void> {
    this.#abort.abort();
    await Promise.allSettled([...this.#sends]);
  }
}
