import { constants } from 'node:fs';
import { lchown, mkdir, open, rename, type FileHandle } from 'node:fs/promises';

const DIR_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY;

/**
 * A directory held open by the agent: paths below it go through
 * `/proc/self/fd/<fd>/`, which always means this directory, whatever is
 * renamed or symlinked meanwhile (openat(2) semantics; Node has no openat).
 * The agent often runs as root and writes into directories a service owns
 * (its runtime directory): a service must not be able to redirect those
 * writes elsewhere by swapping a directory for a symlink.
 */
export class PinnedDir {
  readonly #handle: FileHandle;

  private constructor(handle: FileHandle) {
    this.#handle = handle;
  }

  /** Pins `path`, which must be reached through directories services cannot change. */
  static async open(path: string): Promise<PinnedDir> {
    return new PinnedDir(await open(path, DIR_FLAGS));
  }

  /** The path of `name` in this directory (or of the directory itself). */
  path(name = ''): string {
    return name === '' ? `/proc/self/fd/${this.#handle.fd}` : `/proc/self/fd/${this.#handle.fd}/${name}`;
  }

  stat(): ReturnType<FileHandle['stat']> {
    return this.#handle.stat();
  }

  /**
   * Pins the subdirectory `name`, making it (mode, owner) if missing. A
   * symlink there is refused (ELOOP/ENOTDIR), never followed.
   */
  async child(
    name: string,
    create?: { mode: number; owner?: { uid: number; gid: number } | undefined },
  ): Promise<PinnedDir> {
    const path = this.path(name);
    try {
      return new PinnedDir(await open(path, DIR_FLAGS | constants.O_NOFOLLOW));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || !create) throw err;
    }
    await mkdir(path, { mode: create.mode }).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
    });
    const dir = new PinnedDir(await open(path, DIR_FLAGS | constants.O_NOFOLLOW));
    if (create.owner) await lchown(dir.path(), create.owner.uid, create.owner.gid);
    return dir;
  }

  /** Pins `relative` (a normalized relative path) below this directory, one component at a time. */
  async descend(
    relative: string,
    create: { mode: number; owner?: { uid: number; gid: number } | undefined },
  ): Promise<PinnedDir> {
    let dir = await PinnedDir.open(this.path());
    for (const part of relative === '' || relative === '.' ? [] : relative.split('/')) {
      try {
        const next = await dir.child(part, create);
        await dir.close();
        dir = next;
      } catch (err) {
        await dir.close();
        throw err;
      }
    }
    return dir;
  }

  /** Moves `from` (any path on the same filesystem) to `name` here, replacing a file (not a directory). */
  moveIn(from: string, name: string): Promise<void> {
    return rename(from, this.path(name));
  }

  close(): Promise<void> {
    return this.#handle.close();
  }
}
