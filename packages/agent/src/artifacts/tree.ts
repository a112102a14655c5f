import { chmod, open, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';

/** Mode of directories in an installed version: nobody may add, rename or delete entries. */
export const SEALED_DIR_MODE = 0o555;

/** Makes directories read-only; pass them deepest first. */
export async function sealDirectories(dirs: readonly string[]): Promise<void> {
  for (const dir of dirs) await chmod(dir, SEALED_DIR_MODE);
}

/**
 * Deletes a tree that may be sealed: without write permission on a
 * directory its entries cannot be unlinked (for anyone but root), so every
 * directory is opened up first. Symlinks are never followed.
 */
export async function removeTree(path: string): Promise<void> {
  await unsealDirectories(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
  await rm(path, { recursive: true, force: true });
}

async function unsealDirectories(dir: string): Promise<void> {
  await chmod(dir, 0o755);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) await unsealDirectories(join(dir, entry.name));
  }
}

/** Makes a rename or a new entry in `dir` durable. */
export async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
