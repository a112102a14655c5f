import { UnsafeArchiveError } from './errors.js';

/** Written by the agent into every version directory; an archive may not bring its own. */
export const METADATA_FILE = '.ur-artifact.json';

const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;
/** "Version made by" host systems whose external attributes carry a Unix mode. */
const UNIX_HOSTS = new Set([3, 19]); // Unix, OS X

export type EntryKind = 'file' | 'directory' | 'symlink';

export interface EntryInfo {
  /** Path components below the version directory; empty for the root itself. */
  segments: string[];
  kind: EntryKind;
  /** Any execute bit in the zip's Unix mode. */
  executable: boolean;
}

/**
 * Decides where an entry goes and what it is, refusing anything that could
 * land outside the version directory: absolute paths (`/x`, `C:x`), `..`
 * components, NUL bytes, device files, FIFOs and sockets, and our own
 * metadata file. `name` is the decoded name with `\` already turned into `/`.
 */
export function classifyEntry(
  name: string,
  externalFileAttributes: number,
  versionMadeBy: number,
): EntryInfo {
  if (name.includes('\0')) throw new UnsafeArchiveError(name, 'NUL byte in the name');
  if (name.startsWith('/') || /^[A-Za-z]:/.test(name)) throw new UnsafeArchiveError(name, 'absolute path');
  const parts = name.split('/');
  if (parts.includes('..')) throw new UnsafeArchiveError(name, "'..' component");
  const segments = parts.filter((p) => p !== '' && p !== '.');
  const mode = UNIX_HOSTS.has(versionMadeBy >> 8) ? externalFileAttributes >>> 16 : 0;
  const type = mode & S_IFMT;
  let kind: EntryKind;
  if (name.endsWith('/') || type === S_IFDIR) kind = 'directory';
  else if (type === S_IFLNK) kind = 'symlink';
  else if (type === S_IFREG || type === 0) kind = 'file';
  else throw new UnsafeArchiveError(name, `special file (mode ${mode.toString(8)})`);
  if (segments.length === 0 && kind !== 'directory') throw new UnsafeArchiveError(name, 'empty path');
  if (segments.length === 1 && segments[0] === METADATA_FILE) {
    throw new UnsafeArchiveError(name, 'name reserved for the agent');
  }
  return { segments, kind, executable: (mode & 0o111) !== 0 };
}

/**
 * True if a symlink at `linkSegments` pointing to `target` resolves, by its
 * text, inside the root. Only a first check: symlinks through symlinks are
 * caught after unpacking by resolving every link on disk.
 */
export function symlinkTargetInside(linkSegments: readonly string[], target: string): boolean {
  if (target === '' || target.startsWith('/') || target.includes('\0')) return false;
  const stack = linkSegments.slice(0, -1);
  for (const part of target.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (stack.length === 0) return false;
      stack.pop();
    } else {
      stack.push(part);
    }
  }
  return true;
}
