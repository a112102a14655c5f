import { createHmac, timingSafeEqual } from 'node:crypto';

/** The `X-Ur-Signature` value for a body: `sha256=<hex HMAC-SHA256 under the hook's secret>`. */
export function signBody(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** What a receiver does: compare in constant time. */
export function verifySignature(secret: string, body: string, header: string | undefined): boolean {
  if (header === undefined) return false;
  const expected = Buffer.from(signBody(secret, body));
  const given = Buffer.from(header);
  return expected.length === given.length && timingSafeEqual(expected, given);
}
