import { readFile, stat } from 'node:fs/promises';

/** A file holding a secret (a private key) is readable or writable by others: refused, as ssh refuses such keys. */
export class SecretFileModeError extends Error {
  readonly path: string;
  readonly mode: number;

  constructor(path: string, mode: number) {
    super(
      `${path} is open to others (mode ${(mode & 0o777).toString(8)}); it holds a private key and must be 0600 (chmod 600 ${path})`,
    );
    this.name = 'SecretFileModeError';
    this.path = path;
    this.mode = mode;
  }
}

/** Reads a secret file, refusing one that group or others can read or write. */
export async function readSecretFile(path: string): Promise<Buffer> {
  const { mode } = await stat(path);
  if ((mode & 0o077) !== 0) throw new SecretFileModeError(path, mode);
  return readFile(path);
}
