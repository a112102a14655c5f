import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { generateSigningKey } from '@ur/protocol';
import { AdminUsageError, type AdminIo } from './admin-io.js';

export const KEYGEN_USAGE = `ur-headnode keygen --out FILE [--force]

Writes a new Ed25519 private key (PEM, mode 0600) for --signing-key and prints
its public key as one line (ed25519:<base64>): put that line in each agent's
--trusted-keys file.`;

/** `ur-headnode keygen`: never overwrites a key unless told to. */
export async function keygenCommand(args: string[], io: AdminIo): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { out: { type: 'string' }, force: { type: 'boolean', default: false } },
    strict: true,
    allowPositionals: false,
  });
  if (values.out === undefined) throw new AdminUsageError('--out FILE is required');
  const { privateKeyPem, publicKey } = generateSigningKey();
  try {
    await writeFile(values.out, privateKeyPem, { mode: 0o600, flag: values.force ? 'w' : 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new AdminUsageError(`${values.out} exists; keep it, or pass --force to replace it`);
    }
    throw err;
  }
  io.stdout.write(`${publicKey.text}\n`);
  io.stderr.write(`wrote ${values.out} (key id ${publicKey.id}); the line above is its public key\n`);
  return 0;
}
