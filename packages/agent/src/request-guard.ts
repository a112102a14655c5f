import type { Message } from 'amqplib';
import type { ErrorBody, RequestVerifier } from '@ur/protocol/wire';

/**
 * Decides whether a request may run before anything is journaled or run.
 * Without a verifier (compatible mode) everything passes, as with Ur.
 */
export class RequestGuard {
  #verifier: RequestVerifier | undefined;

  constructor(verifier: RequestVerifier | undefined) {
    this.#verifier = verifier;
  }

  get verifier(): RequestVerifier | undefined {
    return this.#verifier;
  }

  /** Key rotation: the new set applies to the next request. */
  replace(verifier: RequestVerifier | undefined): void {
    this.#verifier = verifier;
  }

  /** A request id the journal has not seen: its signature must hold. */
  checkNew(msg: Message, now = Date.now()): ErrorBody | undefined {
    const verified = this.#verifier?.verify(this.#received(msg), now);
    return verified === undefined || verified.ok ? undefined : verified.error;
  }

  /**
   * A request id the journal knows. The broker's own redelivery (the agent
   * died or lost its connection before acking) is a duplicate, answered as
   * before; any other copy was published again by someone: a replay.
   */
  checkKnown(msg: Message, now = Date.now()): ErrorBody | 'duplicate' {
    if (!this.#verifier || msg.fields.redelivered) return 'duplicate';
    const verified = this.#verifier.verify(this.#received(msg), now);
    if (!verified.ok && verified.error.code !== 'SIGNATURE_EXPIRED') return verified.error;
    return { code: 'REPLAYED', message: 'this request id was received before; a request runs at most once' };
  }

  #received(msg: Message): {
    routingKey: string;
    body: Uint8Array;
    headers: Record<string, unknown> | undefined;
  } {
    return {
      routingKey: msg.fields.routingKey,
      body: msg.content,
      headers: msg.properties.headers,
    };
  }
}
