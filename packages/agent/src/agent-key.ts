import { writeFile } from 'node:fs/promises';
import type { KeyObject } from 'node:crypto';
import { generateSigningKey, parsePrivateKey } from '@ur/protocol/wire';
import { readSecretFile } from '@ur/runtime';

/**
 * The agent's own Ed25519 key, which signs everything it publishes: read
 * from `path` (refused if others can read it), or generated there (mode
 * 0600) at the first start. Its public half goes into sysinfo, where the
 * headnode pins it on first use.
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
  return { key: parsePrivateKey(await readSecretFile(path), path), created: false };
}
