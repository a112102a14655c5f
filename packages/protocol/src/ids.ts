import { InvalidIdError } from './errors.js';

/**
 * An id that appears inside a routing key must be one AMQP "word": a dot would
 * split it into two words and `*`/`#` are topic wildcards. Colons are allowed
 * because Triton addresses nodes as `<uuid>-<admin MAC>`.
 */
const WORD = /^[A-Za-z0-9_:-]+$/;

/** Routing keys are limited to 255 bytes; this leaves room for the fixed parts. */
export const MAX_ID_LENGTH = 128;

/** The same rule as a JSON Schema pattern, for API path parameters. */
export const WORD_PATTERN = '^[A-Za-z0-9_:-]{1,128}$';

export type IdKind = 'node id' | 'request id' | 'client id' | 'event name';

export function isWord(value: string): boolean {
  return value.length > 0 && value.length <= MAX_ID_LENGTH && WORD.test(value);
}

/** Throws {@link InvalidIdError} unless `value` is a single routing-key word. */
export function assertWord(value: string, kind: IdKind): string {
  if (!isWord(value)) {
    throw new InvalidIdError(kind, value);
  }
  return value;
}

export function assertNodeId(value: string): string {
  return assertWord(value, 'node id');
}

export function assertRequestId(value: string): string {
  return assertWord(value, 'request id');
}
