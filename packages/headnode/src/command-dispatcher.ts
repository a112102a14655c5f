import { randomUUID } from 'node:crypto';
import { jsonMessage, type ConfirmPublisher } from '@ur/amqp';
import {
  check,
  executeKey,
  normalizeReply,
  ProgressEventSchema,
  type ExecuteReply,
  type ExecuteRequest,
  type Logger,
  type MessageSigner,
  type ProgressEvent,
} from '@ur/protocol';
import {
  ApiError,
  NodeKeyMismatchError,
  NodeOfflineError,
  ReplyTimeoutError,
  RequestExpiredError,
} from './errors.js';
import { HEADNODE_APP_ID } from './version.js';

interface Pending {
  nodeId: string;
  sentAt: number;
  resolve: (reply: ExecuteReply) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
  onProgress: ((event: ProgressEvent) => void) | undefined;
}

export interface DispatchResult {
  requestId: string;
  reply: ExecuteReply;
}

/** Per-request options of {@link CommandDispatcher.execute}. */
export interface ExecuteOptions {
  /** Send under this request id (a job's pending command) instead of a new one. */
  requestId?: string | undefined;
  /**
   * Called with each `ur.execute-progress` event of the request while its
   * reply is awaited (agents send them for requests with `stream: true`).
   */
  onProgress?: ((event: ProgressEvent) => void) | undefined;
  /** Called once the broker confirmed the request, before its reply. */
  onPublished?: (() => void) | undefined;
}

/**
 * Where commands and their one result are recorded (the store). Replies are
 * recorded by whichever headnode consumes them; the journal covers the rest.
 */
export interface CommandJournal {
  /** Before publishing: a reply consumed by another headnode then finds the command. */
  issued(requestId: string, nodeId: string, request: ExecuteRequest, deadline: number): Promise<void>;
  /** Nobody listened (mandatory publish returned): connection-level proof the node is down. */
  unroutable(requestId: string, nodeId: string): Promise<void>;
  /** Resolves with a reply another headnode recorded meanwhile, if one won the race. */
  timedOut(requestId: string): Promise<unknown>;
}

/**
 * Sends commands to agents and matches their replies by request id. Requests
 * are published `mandatory` with publisher confirms, so a node without a
 * listening agent fails at once (NODE_OFFLINE) instead of timing out; a
 * request whose deadline passes in the node's queue comes back on
 * `ur.expired.<node>` and fails at once with EXPIRED.
 */
export class CommandDispatcher {
  readonly #exchange: string;
  readonly #log: Logger;
  readonly #replyMarginMs: number;
  readonly #pending = new Map<string, Pending>();
  readonly #journal: CommandJournal | undefined;
  readonly #signer: MessageSigner | undefined;
  #publisher: ConfirmPublisher | undefined;

  /** With a `signer`, every request is signed (agents that trust its key run nothing else). */
  constructor(
    exchange: string,
    replyMarginMs: number,
    logger: Logger,
    journal?: CommandJournal,
    signer?: MessageSigner,
  ) {
    this.#exchange = exchange;
    this.#replyMarginMs = replyMarginMs;
    this.#log = logger;
    this.#journal = journal;
    this.#signer = signer;
  }

  get inFlight(): number {
    return this.#pending.size;
  }

  /** Request ids this headnode is waiting for. */
  get pendingIds(): string[] {
    return [...this.#pending.keys()];
  }

  /** True while a caller here waits for this request's reply. */
  awaits(requestId: string): boolean {
    return this.#pending.has(requestId);
  }

  attach(publisher: ConfirmPublisher | undefined): void {
    this.#publisher = publisher;
  }

  /**
   * Runs `request` on `nodeId`. `timeoutSeconds` goes to the agent, which
   * kills the command then; the reply is awaited for that plus the margin.
   */
  async execute(
    nodeId: string,
    request: ExecuteRequest,
    timeoutSeconds: number,
    options: ExecuteOptions = {},
  ): Promise<DispatchResult> {
    const publisher = this.#publisher;
    if (!publisher) throw new ApiError('BROKER_UNAVAILABLE', 'the headnode is not connected to the broker');
    const requestId = options.requestId ?? randomUUID();
    // Agents send progress only for requests that ask for it.
    if (options.onProgress !== undefined && !('stream' in request && request.stream === true)) {
      request = { ...request, stream: true } as ExecuteRequest;
    }
    const waitMs = timeoutSeconds * 1000 + this.#replyMarginMs;
    const journal = this.#journal;
    const reply = new Promise<ExecuteReply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(requestId);
        const fail = (): void => reject(new ReplyTimeoutError(nodeId, requestId, waitMs));
        if (!journal) return fail();
        journal.timedOut(requestId).then((late) => {
          const recorded = late === undefined ? null : normalizeReply(late, waitMs);
          if (recorded) resolve(recorded);
          else fail();
        }, fail);
      }, waitMs);
      this.#pending.set(requestId, {
        nodeId,
        sentAt: Date.now(),
        resolve,
        reject,
        timer,
        onProgress: options.onProgress,
      });
    });
    const forget = (): void => {
      const p = this.#pending.get(requestId);
      if (p) clearTimeout(p.timer);
      this.#pending.delete(requestId);
    };
    reply.catch(() => undefined); // observed below; avoids an unhandled rejection while publishing
    const routingKey = executeKey(nodeId, requestId);
    const signer = this.#signer;
    const message = jsonMessage(
      { ...request, timeout: timeoutSeconds },
      {
        appId: HEADNODE_APP_ID,
        type: 'execute',
        correlationId: requestId,
        persistent: true,
        mandatory: true,
        // Not picked up by then: pointless to run it later. A signed request
        // is refused after its signature expires, so the queue gives up then.
        expirationMs: Math.min(timeoutSeconds * 1000, signer?.lifetimeMs ?? Infinity),
      },
    );
    if (signer) message.options.headers = signer.headers(routingKey, message.content);
    try {
      await journal?.issued(requestId, nodeId, request, Date.now() + waitMs);
    } catch (err) {
      forget();
      throw err;
    }
    let outcome;
    try {
      outcome = await publisher.publish(this.#exchange, routingKey, message);
    } catch (err) {
      forget();
      throw new ApiError('BROKER_UNAVAILABLE', `could not publish to node ${nodeId}: ${String(err)}`, {
        cause: err,
      });
    }
    if (outcome === 'unroutable') {
      forget();
      await journal
        ?.unroutable(requestId, nodeId)
        .catch((err: unknown) =>
          this.#log.warn('recording an unroutable command failed', { requestId, error: String(err) }),
        );
      throw new NodeOfflineError(
        nodeId,
        `node ${nodeId} is offline: no agent is listening for it; nothing was run`,
      );
    }
    options.onPublished?.();
    return { requestId, reply: await reply };
  }

  /** Called for every `ur.execute-reply`; returns false if no one was waiting for it. */
  onReply(requestId: string, body: unknown): boolean {
    const pending = this.#pending.get(requestId);
    if (!pending) return false;
    const reply = normalizeReply(body, Date.now() - pending.sentAt);
    if (reply === null) {
      this.#log.warn('malformed reply', { requestId, nodeId: pending.nodeId });
      return false;
    }
    clearTimeout(pending.timer);
    this.#pending.delete(requestId);
    pending.resolve(reply);
    return true;
  }

  /**
   * Called for a reply that is not signed by the node's pinned key: it is not
   * the node's answer, so the caller gets NODE_KEY_MISMATCH at once.
   */
  onUntrustedReply(requestId: string, reason: string): boolean {
    const pending = this.#pending.get(requestId);
    if (!pending) return false;
    clearTimeout(pending.timer);
    this.#pending.delete(requestId);
    pending.reject(new NodeKeyMismatchError(pending.nodeId, requestId, reason));
    return true;
  }

  /** Called for every `ur.execute-progress`; returns false if no one here asked for it. */
  onProgress(requestId: string, body: unknown): boolean {
    const pending = this.#pending.get(requestId);
    if (!pending?.onProgress) return false;
    const event = check(ProgressEventSchema, body);
    if (!event.ok) {
      this.#log.debug('malformed progress event', { requestId, error: event.error.message });
      return false;
    }
    try {
      pending.onProgress(event.value);
    } catch (err) {
      this.#log.warn('progress listener failed', { requestId, error: String(err) });
    }
    return true;
  }

  /** Called for every request dead-lettered on `ur.expired.<node>`; false if no one was waiting for it. */
  onExpired(requestId: string): boolean {
    const pending = this.#pending.get(requestId);
    if (!pending) return false;
    clearTimeout(pending.timer);
    this.#pending.delete(requestId);
    pending.reject(new RequestExpiredError(pending.nodeId, requestId));
    return true;
  }

  /** Fails every waiting request (headnode shutting down). */
  close(): void {
    for (const [id, p] of this.#pending) {
      clearTimeout(p.timer);
      p.reject(new ApiError('BROKER_UNAVAILABLE', 'the headnode is shutting down'));
      this.#pending.delete(id);
    }
  }
}
