import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto';

/** How keys are written: `ed25519:<base64 of the 32 raw key bytes>`, one per line. */
export const PUBLIC_KEY_PREFIX = 'ed25519:';

/** An Ed25519 public key with its text form and its id (which signatures name). */
export interface PublicKey {
  /** `ed25519:<base64>`, as `ur-headnode keygen` prints it and sysinfo carries it. */
  text: string;
  /** 16 hex digits of the key's SHA-256: short, and enough to tell a handful of keys apart. */
  id: string;
  key: KeyObject;
}

/** A key could not be read; `source` says where it came from (a file and line, a flag). */
export class InvalidKeyError extends Error {
  readonly source: string;

  constructor(source: string, reason: string, options?: ErrorOptions) {
    super(`${source}: ${reason}`, options);
    this.name = 'InvalidKeyError';
    this.source = source;
  }
}

const RAW_KEY_BYTES = 32;

function keyId(raw: Buffer): string {
  return createHash('sha256').update(raw).digest('hex').slice(0, 16);
}

function fromRaw(raw: Buffer, source: string): PublicKey {
  if (raw.length !== RAW_KEY_BYTES) {
    throw new InvalidKeyError(source, `an Ed25519 public key has ${RAW_KEY_BYTES} bytes, got ${raw.length}`);
  }
  const key = createPublicKey({
    key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') },
    format: 'jwk',
  });
  return { text: `${PUBLIC_KEY_PREFIX}${raw.toString('base64')}`, id: keyId(raw), key };
}

/** Reads `ed25519:<base64>`; throws {@link InvalidKeyError}. */
export function parsePublicKey(text: string, source = 'public key'): PublicKey {
  const trimmed = text.trim();
  if (!trimmed.startsWith(PUBLIC_KEY_PREFIX)) {
    throw new InvalidKeyError(
      source,
      `expected ${PUBLIC_KEY_PREFIX}<base64>, got ${JSON.stringify(trimmed)}`,
    );
  }
  const b64 = trimmed.slice(PUBLIC_KEY_PREFIX.length);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) throw new InvalidKeyError(source, 'the key is not base64');
  return fromRaw(Buffer.from(b64, 'base64'), source);
}

/**
 * A trusted-keys file: one public key per line as keygen prints it; blank
 * lines and `#` comments are skipped. Several keys allow rotation.
 */
export function parsePublicKeys(text: string, source: string): PublicKey[] {
  const keys: PublicKey[] = [];
  for (const [i, line] of text.split('\n').entries()) {
    const content = line.replace(/#.*$/, '').trim();
    if (content !== '') keys.push(parsePublicKey(content, `${source}:${i + 1}`));
  }
  return keys;
}

/** The public half of an Ed25519 private (or public) key object. */
export function publicKeyOf(key: KeyObject): PublicKey {
  const jwk = createPublicKey(key).export({ format: 'jwk' });
  if (jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string') {
    throw new InvalidKeyError('key', `expected an Ed25519 key, got ${String(jwk.crv ?? jwk.kty)}`);
  }
  return fromRaw(Buffer.from(jwk.x, 'base64url'), 'key');
}

/** Reads a PEM private key and checks that it is Ed25519. */
export function parsePrivateKey(pem: string | Buffer, source = 'private key'): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (err) {
    throw new InvalidKeyError(source, `not a PEM private key (${(err as Error).message})`, { cause: err });
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new InvalidKeyError(source, `expected an Ed25519 key, got ${String(key.asymmetricKeyType)}`);
  }
  return key;
}

/** A new key pair: the private key as PEM (PKCS#8), and its public key. */
export function generateSigningKey(): { privateKeyPem: string; publicKey: PublicKey } {
  const { privateKey } = generateKeyPairSync('ed25519');
  const pem = privateKey.export({ format: 'pem', type: 'pkcs8' });
  return {
    privateKeyPem: typeof pem === 'string' ? pem : pem.toString('utf8'),
    publicKey: publicKeyOf(privateKey),
  };
}
