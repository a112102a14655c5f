import { readFile } from 'node:fs/promises';
import { parsePublicKeys, type PublicKey } from '@ur/protocol/wire';

/** The trusted-keys file cannot be used; the agent does not start (or keeps its old keys on reload). */
export class TrustedKeysError extends Error {
  readonly path: string;

  constructor(path: string, reason: string, options?: ErrorOptions) {
    super(`trusted keys ${path}: ${reason}`, options);
    this.name = 'TrustedKeysError';
    this.path = path;
  }
}

/**
 * Reads `--trusted-keys`: one `ed25519:<base64>` per line, as
 * `ur-headnode keygen` prints them. A file that names no key is an error,
 * not a silent fall back to running unsigned requests.
 */
export async function readTrustedKeys(path: string): Promise<PublicKey[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new TrustedKeysError(path, (err as Error).message, { cause: err });
  }
  let keys: PublicKey[];
  try {
    keys = parsePublicKeys(text, path);
  } catch (err) {
    throw new TrustedKeysError(path, (err as Error).message, { cause: err });
  }
  if (keys.length === 0) throw new TrustedKeysError(path, 'names no key (one ed25519:<base64> per line)');
  return keys;
}
