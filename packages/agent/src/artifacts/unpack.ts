import { lstat, mkdir, open, realpath, symlink } from 'node:fs/promises';
import { dirname, join, sep } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { crc32 } from 'node:zlib';
import yauzl, { type Entry, type ZipFile } from 'yauzl';
import { classifyEntry, symlinkTargetInside, type EntryInfo } from './entry-path.js';
import { ArtifactError, InvalidArchiveError, TooLargeError, UnsafeArchiveError } from './errors.js';
import { syncDirectory } from './tree.js';

export interface UnpackOptions {
  /** Total bytes written, counted as they are inflated (never trusting headers). */
  maxUnpackedBytes: number;
  maxEntries: number;
  /** fsync every file and directory, so a power loss cannot leave empty files behind. */
  fsync: boolean;
  signal: AbortSignal;
  onProgress?: ((entries: number, total: number) => void) | undefined;
}

export interface Unpacked {
  /** Files, directories and symlinks written. */
  files: number;
  bytes: number;
  /** Every directory written, deepest first (for sealing). */
  directories: string[];
}

/** Longest symlink target we accept (PATH_MAX). */
const MAX_LINK_TARGET = 4096;

interface PendingLink {
  name: string;
  path: string;
  target: string;
}

/** yauzl's own messages for entries whose data does not match their header. */
const SIZE_LIES = /too many bytes|not enough bytes|size mismatch/;

function mapError(err: unknown, entry: string | undefined): Error {
  if (err instanceof ArtifactError) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (SIZE_LIES.test(message)) {
    return new UnsafeArchiveError(entry ?? '?', `its data does not match its header (${message})`);
  }
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EEXIST' || code === 'ENOTDIR' || code === 'EISDIR') {
    return new UnsafeArchiveError(entry ?? '?', `clashes with another entry (${code})`);
  }
  if (code !== undefined && code !== 'ERR_STREAM_PREMATURE_CLOSE' && !code.startsWith('Z_')) {
    return err as Error; // a local I/O failure (disk full, permissions): not the archive's fault
  }
  return new InvalidArchiveError(`not a valid zip file: ${message}`, { cause: err });
}

/**
 * Unpacks a zip into `dest` (an empty directory), refusing anything unsafe
 * before it is written: every path is checked (no absolute paths, no `..`),
 * files are created exclusively (no overwrite, no following of links),
 * symlinks are created last and must resolve inside `dest` on disk, and the
 * byte and entry counts are enforced while streaming, with CRC-32 checked.
 * Files get mode 0444, or 0555 when the zip marks them executable;
 * directories stay writable for the caller to seal.
 */
export async function unpackZip(zipPath: string, dest: string, o: UnpackOptions): Promise<Unpacked> {
  let zip: ZipFile;
  try {
    zip = await yauzl.openPromise(zipPath, {
      lazyEntries: true,
      decodeStrings: false,
      validateEntrySizes: true,
      autoClose: true,
    });
  } catch (err) {
    throw new InvalidArchiveError(`not a zip file: ${err instanceof Error ? err.message : String(err)}`, {
      cause: err,
    });
  }
  if (zip.entryCount > o.maxEntries) {
    zip.close();
    throw new TooLargeError('entries', o.maxEntries, `the archive has ${zip.entryCount} entries`);
  }
  const state = { bytes: 0, files: 0 };
  const directories = new Set<string>([dest]);
  const links: PendingLink[] = [];
  const ensureDir = async (dir: string): Promise<void> => {
    if (directories.has(dir)) return;
    await ensureDir(dirname(dir));
    await mkdir(dir).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
    });
    if (!(await lstat(dir)).isDirectory())
      throw Object.assign(new Error(`${dir} is not a directory`), { code: 'ENOTDIR' });
    directories.add(dir);
  };
  let current: string | undefined;
  let seen = 0;
  try {
    for await (const entry of zip.eachEntry()) {
      o.signal.throwIfAborted();
      seen += 1;
      if (seen > o.maxEntries)
        throw new TooLargeError('entries', o.maxEntries, 'the archive has more entries');
      const name = yauzl.getFileNameLowLevel(
        entry.generalPurposeBitFlag,
        entry.fileNameRaw,
        entry.extraFields,
        false,
      );
      current = name;
      const info = classifyEntry(name, entry.externalFileAttributes, entry.versionMadeBy);
      if (entry.isEncrypted()) throw new InvalidArchiveError(`entry ${JSON.stringify(name)} is encrypted`);
      const path = join(dest, ...info.segments);
      if (info.kind === 'directory') {
        await ensureDir(path);
      } else {
        await ensureDir(dirname(path));
        if (info.kind === 'symlink')
          links.push({ name, path, target: await readLinkTarget(zip, entry, name) });
        else await writeFile(zip, entry, info, path, state, o);
      }
      state.files += 1;
      o.onProgress?.(seen, zip.entryCount);
    }
    current = undefined;
    await createLinks(links, dest);
    if (o.fsync) for (const dir of directories) await syncDirectory(dir);
  } catch (err) {
    zip.close();
    throw mapError(err, current);
  }
  const sorted = [...directories].sort((a, b) => b.split(sep).length - a.split(sep).length);
  return { files: state.files, bytes: state.bytes, directories: sorted };
}

/**
 * Entry streams start inflating as soon as they are opened and report errors
 * (bad data, size lies) at once, so they are opened only when their consumer
 * is ready to listen.
 */
async function readLinkTarget(zip: ZipFile, entry: Entry, name: string): Promise<string> {
  const stream = await zip.openReadStreamPromise(entry);
  let target = '';
  for await (const chunk of stream) {
    target += (chunk as Buffer).toString('utf8');
    if (target.length > MAX_LINK_TARGET) {
      stream.destroy();
      throw new UnsafeArchiveError(name, 'symlink target too long');
    }
  }
  return target;
}

async function writeFile(
  zip: ZipFile,
  entry: Entry,
  info: EntryInfo,
  path: string,
  state: { bytes: number },
  o: UnpackOptions,
): Promise<void> {
  const mode = info.executable ? 0o555 : 0o444;
  // Created exclusively (never through an existing file or link) and read-only
  // from the start; the open descriptor may still write.
  const file = await open(path, 'wx', mode);
  try {
    // umask may have taken bits away; services of other users must read it.
    await file.chmod(mode);
  } catch (err) {
    await file.close();
    throw err;
  }
  let crc = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      state.bytes += chunk.length;
      if (state.bytes > o.maxUnpackedBytes) {
        callback(new TooLargeError('unpacked', o.maxUnpackedBytes, 'the unpacked archive grew'));
        return;
      }
      crc = crc32(chunk, crc);
      callback(null, chunk);
    },
  });
  let stream: Readable;
  try {
    stream = await zip.openReadStreamPromise(entry);
  } catch (err) {
    await file.close();
    throw err;
  }
  // The write stream closes the handle when done or failed (fsyncing first if asked).
  await pipeline(stream, meter, file.createWriteStream({ flush: o.fsync }), { signal: o.signal });
  if (crc !== entry.crc32) throw new InvalidArchiveError(`entry ${JSON.stringify(path)}: CRC-32 mismatch`);
}

/**
 * Symlinks come last, so no file is ever written through one. Each must
 * point inside by its text, and, once all exist, resolve inside on disk:
 * that catches links through links (`a -> .`, `b -> a/..`) and dangling ones.
 */
async function createLinks(links: PendingLink[], dest: string): Promise<void> {
  const root = await realpath(dest);
  for (const link of links) {
    const segments = link.path.slice(dest.length + 1).split(sep);
    if (!symlinkTargetInside(segments, link.target)) {
      throw new UnsafeArchiveError(link.name, `symlink to ${JSON.stringify(link.target)} leads outside`);
    }
    await symlink(link.target, link.path).catch((err: NodeJS.ErrnoException) => {
      throw err.code === 'EEXIST' ? new UnsafeArchiveError(link.name, 'clashes with another entry') : err;
    });
  }
  for (const link of links) {
    let resolved: string;
    try {
      resolved = await realpath(link.path);
    } catch (err) {
      const why = (err as NodeJS.ErrnoException).code ?? String(err);
      throw new UnsafeArchiveError(
        link.name,
        `symlink to ${JSON.stringify(link.target)} does not resolve (${why})`,
      );
    }
    if (resolved !== root && !resolved.startsWith(root + sep)) {
      throw new UnsafeArchiveError(link.name, `symlink to ${JSON.stringify(link.target)} resolves outside`);
    }
  }
}
