import type { ErrorBody } from './errors.js';

export type Decoded<T> = { ok: true; value: T } | { ok: false; error: ErrorBody };

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Parses a message body as strict UTF-8 JSON. */
export function parseJsonBody(body: Uint8Array, maxBytes = Infinity): Decoded<unknown> {
  if (body.byteLength > maxBytes) {
    return {
      ok: false,
      error: { code: 'BODY_TOO_LARGE', message: `body is ${body.byteLength} bytes, limit ${maxBytes}` },
    };
  }
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    return { ok: false, error: { code: 'INVALID_JSON', message: 'body is not valid UTF-8' } };
  }
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (err) {
    return {
      ok: false,
      error: { code: 'INVALID_JSON', message: `body is not JSON: ${(err as Error).message}` },
    };
  }
}
