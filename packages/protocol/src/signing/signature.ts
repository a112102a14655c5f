import { sign, verify, type KeyObject } from 'node:crypto';
import { parseRoutingKey } from '../routing-keys.js';
import { publicKeyOf, type PublicKey } from './public-key.js';

/**
 * Signatures travel in AMQP headers, so the body stays exactly the request
 * Ur defines: a Triton Ur agent (which ignores headers) runs a signed request
 * as it would an unsigned one, and an unsigned request is simply one without
 * these headers. Values are strings; times are epoch milliseconds.
 */
export const SIGNATURE_HEADERS = {
  /** Id of the signing key ({@link PublicKey.id}). */
  keyId: 'ur-key-id',
  signedAt: 'ur-signed-at',
  expiresAt: 'ur-expires-at',
  /** The routing key the message was signed for (a copy sent elsewhere still names it). */
  routingKey: 'ur-routing-key',
  /** Base64 Ed25519 signature of {@link signingPayload}. */
  signature: 'ur-signature',
} as const;

/** What a signature covers besides the body. */
export interface SignatureFields {
  routingKey: string;
  keyId: string;
  signedAt: number;
  expiresAt: number;
}

const PAYLOAD_VERSION = 'ur-signature-v1';
const MAX_ROUTING_KEY_BYTES = 255;
const TIME = /^\d{1,16}$/;
const KEY_ID = /^[0-9a-f]{16}$/;

/** The request id a routing key carries (execute, reply, progress, broadcast, sysinfo), else ''. */
export function requestIdOf(routingKey: string): string {
  try {
    const key = parseRoutingKey(routingKey);
    if ('requestId' in key) return key.requestId;
    if (key.kind === 'sysinfo') return key.id;
  } catch {
    // Not an Ur key: nothing more to bind than the key itself.
  }
  return '';
}

/**
 * The bytes that are signed: a version line, the routing key, the request id,
 * the key id, the signing time, the expiry, then the body as sent. Only the
 * body can contain a newline, and it comes last, so the encoding is
 * unambiguous. Signer and verifier both build it here.
 */
export function signingPayload(fields: SignatureFields, body: Uint8Array): Buffer {
  const head = [
    PAYLOAD_VERSION,
    fields.routingKey,
    requestIdOf(fields.routingKey),
    fields.keyId,
    String(fields.signedAt),
    String(fields.expiresAt),
    '',
  ].join('\n');
  return Buffer.concat([Buffer.from(head, 'utf8'), body]);
}

/** Signs messages with one private key; each signature is valid for `lifetimeMs`. */
export class MessageSigner {
  readonly publicKey: PublicKey;
  readonly lifetimeMs: number;
  readonly #privateKey: KeyObject;

  constructor(privateKey: KeyObject, lifetimeMs: number) {
    this.#privateKey = privateKey;
    this.publicKey = publicKeyOf(privateKey);
    this.lifetimeMs = lifetimeMs;
  }

  /** The headers to publish `body` on `routingKey` with. */
  headers(routingKey: string, body: Uint8Array, now = Date.now()): Record<string, string> {
    const fields: SignatureFields = {
      routingKey,
      keyId: this.publicKey.id,
      signedAt: now,
      expiresAt: now + this.lifetimeMs,
    };
    const signature = sign(null, signingPayload(fields, body), this.#privateKey);
    return {
      [SIGNATURE_HEADERS.keyId]: fields.keyId,
      [SIGNATURE_HEADERS.signedAt]: String(fields.signedAt),
      [SIGNATURE_HEADERS.expiresAt]: String(fields.expiresAt),
      [SIGNATURE_HEADERS.routingKey]: routingKey,
      [SIGNATURE_HEADERS.signature]: signature.toString('base64'),
    };
  }
}

/** A received message, as far as signatures are concerned. */
export interface ReceivedMessage {
  /** The key it was delivered with. */
  routingKey: string;
  body: Uint8Array;
  headers: Record<string, unknown> | undefined;
}

export type SignatureHeaders =
  | { kind: 'unsigned' }
  | { kind: 'malformed'; reason: string }
  | { kind: 'signed'; fields: SignatureFields; signature: Buffer };

/** Reads the signature headers of a message without checking the signature. */
export function readSignatureHeaders(headers: Record<string, unknown> | undefined): SignatureHeaders {
  const names = Object.values(SIGNATURE_HEADERS);
  const values = names.map((name) => headers?.[name]);
  if (values.every((v) => v === undefined)) return { kind: 'unsigned' };
  const [keyId, signedAt, expiresAt, routingKey, signature] = values;
  const missing = names.filter((_, i) => typeof values[i] !== 'string');
  if (missing.length > 0) return { kind: 'malformed', reason: `missing or not text: ${missing.join(', ')}` };
  const text = (v: unknown): string => v as string;
  if (!KEY_ID.test(text(keyId))) return { kind: 'malformed', reason: 'bad key id' };
  if (!TIME.test(text(signedAt)) || !TIME.test(text(expiresAt))) {
    return { kind: 'malformed', reason: 'bad signing or expiry time' };
  }
  const key = text(routingKey);
  if (key === '' || key.includes('\n') || Buffer.byteLength(key) > MAX_ROUTING_KEY_BYTES) {
    return { kind: 'malformed', reason: 'bad routing key' };
  }
  const sig = Buffer.from(text(signature), 'base64');
  if (sig.length !== 64 || sig.toString('base64') !== text(signature)) {
    return { kind: 'malformed', reason: 'the signature is not 64 bytes of base64' };
  }
  return {
    kind: 'signed',
    fields: { keyId: text(keyId), signedAt: Number(signedAt), expiresAt: Number(expiresAt), routingKey: key },
    signature: sig,
  };
}

/** True if `signature` is `key`'s signature of the fields and body. */
export function signatureMatches(
  fields: SignatureFields,
  body: Uint8Array,
  signature: Buffer,
  key: PublicKey,
): boolean {
  if (fields.keyId !== key.id) return false;
  try {
    return verify(null, signingPayload(fields, body), key.key, signature);
  } catch {
    return false;
  }
}

/**
 * Whether `message` was signed by `key` for the key it was delivered with
 * (no time checks: for messages whose lateness is no threat, such as
 * replies a journal kept through a broker outage).
 */
export function signedBy(message: ReceivedMessage, key: PublicKey): 'unsigned' | 'valid' | 'invalid' {
  const read = readSignatureHeaders(message.headers);
  if (read.kind === 'unsigned') return 'unsigned';
  if (read.kind === 'malformed') return 'invalid';
  if (read.fields.routingKey !== message.routingKey) return 'invalid';
  return signatureMatches(read.fields, message.body, read.signature, key) ? 'valid' : 'invalid';
}
