import { readFile, writeFile } from 'node:fs/promises';
import { stat } from 'node:fs/promises';
import type { KeyObject } from 'node:crypto';
import { generateSigningKey, parsePrivateKey } from '@ur/protocol/wire';

/** The agent's private key is readable by others: refused, as ssh refuses such keys. */
export class KeyFileModeError extends Error {
  readonly path: string;
  readonly mode: number;

  constructor(path: string, mode: number) {
    super(
      `${path} is readable by others (mode ${(mode & 0o777).toString(8)}); the agent's key must be 0600 (chmod 600 ${path})`,
    );
    this.name = 'KeyFileModeError';
    this.path = path;
    this.mode = mode;
  }
}

/**
 * The agent's own Ed25519 key, which signs everything it publishes: read
 * from `path`, or generated there (mode 0600) at the first start. Its public
 * half goes into sysinfo, where the headnode pins it on first use.
 */
export async function loadOrCreateAgentKey(path: string): Promise<{ key: KeyObject; created: boolean }> {
  const { privateKeyPem } = generateSigningKey();
  try {
    // 'wx': never overwrite a key another start wrote meanwhile.
    await writeFile(path, privateKeyPem, { mode: 0o600, flag: 'wx' });
    return { key: parsePrivateKey(privateKeyPem, path), created: true };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const { mode } = await stat(path);
  if ((mode & 0o077) !== 0) throw new KeyFileModeError(path, mode);
  return { key: parsePrivateKey(await readFile(path), path), created: false };
}
