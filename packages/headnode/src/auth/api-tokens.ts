import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * API tokens look like `urt_<id>_<secret>`: the id (12 hex digits) finds the
 * stored row and is safe to show (token lists, logs); the secret (32 random
 * bytes, base64url) is shown once and only its SHA-256 is stored. Being
 * random, it needs no slow password hash.
 */
const TOKEN = /^urt_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;

export interface NewToken {
  id: string;
  /** The whole token, to hand to the user once. */
  token: string;
  hash: string;
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

export function generateToken(): NewToken {
  const id = randomBytes(6).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  return { id, token: `urt_${id}_${secret}`, hash: hashSecret(secret) };
}

/** The parts of a presented token, or undefined if it cannot be one of ours. */
export function parseToken(token: string): { id: string; secret: string } | undefined {
  const m = TOKEN.exec(token);
  return m ? { id: m[1]!, secret: m[2]! } : undefined;
}

/** Stands in for a missing row, so an unknown id costs the same comparison as a known one. */
const NO_HASH = '0'.repeat(64);

/** Compares the secret's hash with the stored one in constant time. */
export function secretMatches(secret: string, storedHash: string | undefined): boolean {
  const presented = Buffer.from(hashSecret(secret), 'hex');
  const stored = Buffer.from(storedHash ?? NO_HASH, 'hex');
  if (stored.length !== presented.length) return false;
  const equal = timingSafeEqual(presented, stored);
  return equal && storedHash !== undefined;
}
