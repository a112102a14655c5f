import { randomUUID } from 'node:crypto';
import { jsonMessage, type ConfirmPublisher } from '@ur/amqp';
import {
  executeKey,
  normalizeReply,
  type ExecuteReply,
  type ExecuteRequest,
  type Logger,
  type ProgressEvent,
} from '@ur/protocol';
import { ApiError, NodeOfflineError, ReplyTimeoutError } from './errors.js';
import type { ProgressListener } from './progress-listener.js';
import { HEADNODE_APP_ID } from './version.js';

interface Pending {
  nodeId: string;
  sentAt: number;
  resolve: (reply: ExecuteReply) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

export interface DispatchOptions {
  /**
   * Receives the request's `ur.execute-progress` events while it runs; the
   * request is sent with `stream: true`. Events may be lost (they are
   * transient); the reply is still the complete answer.
   */
  onProgress?: ((event: ProgressEvent) => void) | undefined;
}

export interface DispatchResult {
  requestId: string;
  reply: ExecuteReply;
}

/**
 * Sends commands to agents and matches their replies by request id. Requests
 * are published `mandatory` with publisher confirms, so a node without a
 * listening agent fails at once (NODE_OFFLINE) instead of timing out.
 */
export class CommandDispatcher {
  readonly #exchange: string;
  readonly #log: Logger;
  readonly #replyMarginMs: number;
  readonly #pending = new Map<string, Pending>();
  readonly #progress: ProgressListener | undefined;
  #publisher: ConfirmPublisher | undefined;

  constructor(exchange: string, replyMarginMs: number, logger: Logger, progress?: ProgressListener) {
    this.#exchange = exchange;
    this.#replyMarginMs = replyMarginMs;
    this.#log = logger;
    this.#progress = progress;
  }

  get inFlight(): number {
    return this.#pending.size;
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
    options: DispatchOptions = {},
  ): Promise<DispatchResult> {
    const { onProgress } = options;
    if (onProgress === undefined) return this.#execute(nodeId, randomUUID(), request, timeoutSeconds);
    if (!this.#progress) throw new Error('this dispatcher has no progress listener');
    const requestId = randomUUID();
    const unwatch = await this.#progress.watch(nodeId, requestId, onProgress);
    try {
      return await this.#execute(nodeId, requestId, { ...request, stream: true }, timeoutSeconds);
    } finally {
      unwatch();
    }
  }

  async #execute(
    nodeId: string,
    requestId: string,
    request: ExecuteRequest,
    timeoutSeconds: number,
  ): Promise<DispatchResult> {
    const publisher = this.#publisher;
    if (!publisher) throw new ApiError('BROKER_UNAVAILABLE', 'the headnode is not connected to the broker');
    const waitMs = timeoutSeconds * 1000 + this.#replyMarginMs;
    const reply = new Promise<ExecuteReply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(requestId);
        reject(new ReplyTimeoutError(nodeId, requestId, waitMs));
      }, waitMs);
      this.#pending.set(requestId, { nodeId, sentAt: Date.now(), resolve, reject, timer });
    });
    const forget = (): void => {
      const p = this.#pending.get(requestId);
      if (p) clearTimeout(p.timer);
      this.#pending.delete(requestId);
    };
    reply.catch(() => undefined); // observed below; avoids an unhandled rejection while publishing
    const message = jsonMessage(
      { ...request, timeout: timeoutSeconds },
      {
        appId: HEADNODE_APP_ID,
        type: 'execute',
        correlationId: requestId,
        persistent: true,
        mandatory: true,
        // Not picked up by then: pointless to run it later.
        expirationMs: timeoutSeconds * 1000,
      },
    );
    let outcome;
    try {
      outcome = await publisher.publish(this.#exchange, executeKey(nodeId, requestId), message);
    } catch (err) {
      forget();
      throw new ApiError('BROKER_UNAVAILABLE', `could not publish to node ${nodeId}: ${String(err)}`, {
        cause: err,
      });
    }
    if (outcome === 'unroutable') {
      forget();
      throw new NodeOfflineError(
        nodeId,
        `node ${nodeId} is offline: no agent is listening for it; nothing was run`,
      );
    }
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

  /** Fails every waiting request (headnode shutting down). */
  close(): void {
    for (const [id, p] of this.#pending) {
      clearTimeout(p.timer);
      p.reject(new ApiError('BROKER_UNAVAILABLE', 'the headnode is shutting down'));
      this.#pending.delete(id);
    }
  }
}
