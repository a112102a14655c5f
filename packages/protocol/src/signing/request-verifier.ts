import type { ErrorBody } from '../errors.js';
import type { PublicKey } from './public-key.js';
import { readSignatureHeaders, signatureMatches, type ReceivedMessage } from './signature.js';

export type Verification =
  { ok: true; keyId: string; signedAt: number; expiresAt: number } | { ok: false; error: ErrorBody };

export interface RequestVerifierOptions {
  /** How far the signer's clock may be from ours, either way. */
  clockSkewMs: number;
  /**
   * A signature is never honoured for longer than this after it was made,
   * whatever expiry it states: the agent remembers request ids (to refuse
   * replays) only so long.
   */
  maxLifetimeMs: number;
}

const refuse = (code: ErrorBody['code'], message: string): Verification => ({
  ok: false,
  error: { code, message },
});

/**
 * Checks requests against a set of trusted public keys, in this order, each
 * failure with its own code: signed at all (UNSIGNED), well-formed and by a
 * trusted key (BAD_SIGNATURE, UNKNOWN_KEY), the signature matches the body
 * and fields (BAD_SIGNATURE), it was signed for the routing key it came with
 * (WRONG_NODE), and it is inside its validity window (SIGNATURE_EXPIRED).
 * Replays (a request id seen before) are the journal's to refuse.
 */
export class RequestVerifier {
  readonly #keys: Map<string, PublicKey>;
  readonly #o: RequestVerifierOptions;

  constructor(keys: readonly PublicKey[], options: RequestVerifierOptions) {
    this.#keys = new Map(keys.map((k) => [k.id, k]));
    this.#o = options;
  }

  get keys(): PublicKey[] {
    return [...this.#keys.values()];
  }

  verify(message: ReceivedMessage, now = Date.now()): Verification {
    const read = readSignatureHeaders(message.headers);
    if (read.kind === 'unsigned') {
      return refuse('UNSIGNED', 'the request is not signed, and this agent runs only signed requests');
    }
    if (read.kind === 'malformed')
      return refuse('BAD_SIGNATURE', `malformed signature headers: ${read.reason}`);
    const { fields, signature } = read;
    const key = this.#keys.get(fields.keyId);
    if (!key) return refuse('UNKNOWN_KEY', `signed by key ${fields.keyId}, which this agent does not trust`);
    if (!signatureMatches(fields, message.body, signature, key)) {
      return refuse(
        'BAD_SIGNATURE',
        `the signature by key ${key.id} does not match the request (altered or forged)`,
      );
    }
    if (fields.routingKey !== message.routingKey) {
      return refuse(
        'WRONG_NODE',
        `signed for ${fields.routingKey} but delivered as ${message.routingKey} (sent to another node or under another request id)`,
      );
    }
    const skew = this.#o.clockSkewMs;
    const expiresAt = Math.min(fields.expiresAt, fields.signedAt + this.#o.maxLifetimeMs);
    if (fields.signedAt > now + skew) {
      return refuse(
        'SIGNATURE_EXPIRED',
        `signed ${Math.round((fields.signedAt - now) / 1000)} s in the future (clock skew tolerance ${skew / 1000} s)`,
      );
    }
    if (now > expiresAt + skew) {
      return refuse(
        'SIGNATURE_EXPIRED',
        `the signature expired ${Math.round((now - expiresAt) / 1000)} s ago (clock skew tolerance ${skew / 1000} s)`,
      );
    }
    return { ok: true, keyId: key.id, signedAt: fields.signedAt, expiresAt: fields.expiresAt };
  }
}
