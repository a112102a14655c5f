import { setMaxListeners } from 'node:events';
import { closeSync, fchmodSync, open as openCallback, writeSync } from 'node:fs';
import { mkdir, open, realpath, symlink } from 'node:fs/promises';
import { dirname, join, sep } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { crc32, inflateRawSync } from 'node:zlib';
import type { Entry, ZipFile } from 'yauzl';
import { classifyEntry, symlinkTargetInside, type EntryInfo } from './entry-path.js';
import { ArtifactError, InvalidArchiveError, TooLargeError, UnsafeArchiveError } from './errors.js';
import { loadYauzl, openZip, readRawEntry } from './zip-reader.js';

export interface UnpackOptions {
  /** Total bytes written, counted as they are inflated (never trusting headers). */
  maxUnpackedBytes: number;
  maxEntries: number;
  /** Entries written at once: overlaps reads, file creation (thread pool) and inflating. */
  concurrency: number;
  signal: AbortSignal;
  onProgress?: ((entries: number, total: number) => void) | undefined;
}

export interface Unpacked {
  /** Files, directories and symlinks in the archive. */
  files: number;
  bytes: number;
  /** Every regular file written (for making them durable). */
  written: string[];
  /** Every directory written, deepest first (for sealing). */
  directories: string[];
}

const openAsync = promisify(openCallback);

/** Longest symlink target we accept (PATH_MAX). */
const MAX_LINK_TARGET = 4096;

interface Planned {
  entry: Entry;
  name: string;
  info: EntryInfo;
  path: string;
}

interface PendingLink {
  name: string;
  path: string;
  target: string;
}

/** yauzl's own messages for entries whose data does not match their header. */
const SIZE_LIES = /too many bytes|not enough bytes|size mismatch/;

/** Turns what yauzl, zlib and the file system throw into the archive's fault, or not. */
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
  return new InvalidArchiveError(`not a valid zip file${entry ? ` (entry ${entry})` : ''}: ${message}`, {
    cause: err,
  });
}

/** Reads the central directory, checking every entry before anything is written. */
async function plan(zip: ZipFile, dest: string, o: UnpackOptions): Promise<Planned[]> {
  const planned: Planned[] = [];
  const yauzl = await loadYauzl();
  let name: string | undefined;
  try {
    for await (const entry of zip.eachEntry()) {
      o.signal.throwIfAborted();
      if (planned.length >= o.maxEntries) {
        throw new TooLargeError('entries', o.maxEntries, 'the archive has more entries than it says');
      }
      name = yauzl.getFileNameLowLevel(
        entry.generalPurposeBitFlag,
        entry.fileNameRaw,
        entry.extraFields,
        false,
      );
      const info = classifyEntry(name, entry.externalFileAttributes, entry.versionMadeBy);
      if (entry.isEncrypted()) throw new InvalidArchiveError(`entry ${JSON.stringify(name)} is encrypted`);
      planned.push({ entry, name, info, path: join(dest, ...info.segments) });
    }
  } catch (err) {
    throw mapError(err, name);
  }
  return planned;
}

/**
 * Unpacks a zip into `dest` (an empty directory), refusing anything unsafe
 * before it is written: every path is checked first (no absolute paths, no
 * `..`), directories are made before any file, files are created
 * exclusively (no overwrite, never through a link), symlinks come last and
 * must resolve inside `dest` on disk, and the byte and entry counts are
 * enforced while inflating, with CRC-32 checked. Files get mode 0444, or
 * 0555 when the zip marks them executable; directories stay writable for
 * the caller to seal. On failure nothing is being written any more when
 * this rejects.
 */
export async function unpackZip(zipPath: string, dest: string, o: UnpackOptions): Promise<Unpacked> {
  let zip: ZipFile;
  try {
    zip = await openZip(zipPath, {
      lazyEntries: true,
      decodeStrings: false,
      validateEntrySizes: true,
      autoClose: false,
    });
  } catch (err) {
    throw new InvalidArchiveError(`not a zip file: ${err instanceof Error ? err.message : String(err)}`, {
      cause: err,
    });
  }
  try {
    if (zip.entryCount > o.maxEntries) {
      throw new TooLargeError('entries', o.maxEntries, `the archive has ${zip.entryCount} entries`);
    }
    const entries = await plan(zip, dest, o);
    const directories = new Set<string>([dest]);
    for (const e of entries) {
      for (
        let dir = e.info.kind === 'directory' ? e.path : dirname(e.path);
        !directories.has(dir);
        dir = dirname(dir)
      ) {
        directories.add(dir);
      }
    }
    const sorted = [...directories].sort((a, b) => b.split(sep).length - a.split(sep).length);
    // Shallow first; nothing but these directories exists yet, so nothing can redirect them.
    for (const dir of [...sorted].reverse()) if (dir !== dest) await mkdir(dir);
    const contents = entries.filter((e) => e.info.kind !== 'directory');
    let done = entries.length - contents.length;
    o.onProgress?.(done, entries.length);
    const links: PendingLink[] = [];
    const state = { bytes: 0 };
    await forEachConcurrently(contents, o.concurrency, o.signal, async (e, signal) => {
      try {
        if (e.info.kind === 'symlink') {
          links.push({ name: e.name, path: e.path, target: await readLinkTarget(zip, e.entry, e.name) });
        } else {
          await writeEntry(zip, e, state, o, signal);
        }
      } catch (err) {
        throw mapError(err, e.name);
      }
      done += 1;
      o.onProgress?.(done, entries.length);
    });
    await createLinks(links, dest);
    const written = contents.filter((e) => e.info.kind !== 'symlink').map((e) => e.path);
    return { files: entries.length, bytes: state.bytes, written, directories: sorted };
  } finally {
    zip.close();
  }
}

/**
 * Runs `task` over `items`, `concurrency` at a time. The first failure stops
 * the rest (their signal aborts) and is thrown once every task has settled.
 */
async function forEachConcurrently<T>(
  items: readonly T[],
  concurrency: number,
  outer: AbortSignal,
  task: (item: T, signal: AbortSignal) => Promise<void>,
): Promise<void> {
  const stop = new AbortController();
  const signal = AbortSignal.any([outer, stop.signal]);
  // Each running task's pipeline listens on it.
  setMaxListeners(concurrency + 10, signal);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (next < items.length && !signal.aborted) {
      const item = items[next++] as T;
      try {
        await task(item, signal);
      } catch (err) {
        failure ??= { error: outer.aborted ? outer.reason : err };
        stop.abort(err);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, worker));
  if (failure) throw failure.error;
  outer.throwIfAborted();
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

/**
 * Entries up to this size (both sizes) are read and inflated in memory, on
 * the event loop, and written with synchronous calls: for the many small
 * files of a typical release, a stream pipeline and zlib's thread-pool round
 * trips per file cost more than the bytes (measured: ~2,600 32 KiB files
 * took over twice unzip's time streamed; strace counted ~90,000 futex calls
 * for one unpack).
 */
const SMALL_ENTRY_BYTES = 256 * 1024;

async function writeEntry(
  zip: ZipFile,
  e: Planned,
  state: { bytes: number },
  o: UnpackOptions,
  signal: AbortSignal,
): Promise<void> {
  const mode = e.info.executable ? 0o555 : 0o444;
  let crc = 0;
  const count = (chunk: Buffer): void => {
    state.bytes += chunk.length;
    if (state.bytes > o.maxUnpackedBytes) {
      throw new TooLargeError('unpacked', o.maxUnpackedBytes, 'the unpacked archive grew');
    }
    crc = crc32(chunk, crc);
  };
  if (e.entry.uncompressedSize <= SMALL_ENTRY_BYTES && e.entry.compressedSize <= SMALL_ENTRY_BYTES) {
    const data = await readSmallEntry(zip, e);
    signal.throwIfAborted();
    count(data);
    checkCrc(e, crc);
    writeSmallFile(await openAsync(e.path, 'wx', mode), data, mode);
    return;
  }
  // Created exclusively (never through an existing file or link) and read-only
  // from the start; the open descriptor may still write.
  const file = await open(e.path, 'wx', mode);
  let stream: Readable;
  try {
    // umask may have taken bits away; services of other users must read it.
    await file.chmod(mode);
    stream = await zip.openReadStreamPromise(e.entry);
  } catch (err) {
    await file.close();
    throw err;
  }
  const meter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      try {
        count(chunk);
      } catch (err) {
        callback(err as Error);
        return;
      }
      callback(null, chunk);
    },
  });
  // The write stream closes the handle when done or failed.
  await pipeline(stream, meter, file.createWriteStream(), { signal });
  checkCrc(e, crc);
}

/**
 * The entry's data, inflated in one synchronous call. Never trusts the
 * header: output beyond the size it states stops the inflation, and any other
 * length is refused the same way.
 */
async function readSmallEntry(zip: ZipFile, e: Planned): Promise<Buffer> {
  const { compressionMethod, uncompressedSize } = e.entry;
  if (compressionMethod !== 0 && compressionMethod !== 8) {
    throw new InvalidArchiveError(
      `entry ${JSON.stringify(e.name)}: unsupported compression method ${compressionMethod}`,
    );
  }
  const raw = await readRawEntry(zip, e.entry);
  let data = raw;
  if (compressionMethod === 8) {
    try {
      data = inflateRawSync(raw, { maxOutputLength: Math.max(1, uncompressedSize) });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ERR_BUFFER_TOO_LARGE') throw err;
      throw new UnsafeArchiveError(e.name, 'its data does not match its header (it inflates to more)');
    }
  }
  if (data.length !== uncompressedSize) {
    throw new UnsafeArchiveError(
      e.name,
      `its data does not match its header (${data.length} bytes, not ${uncompressedSize})`,
    );
  }
  return data;
}

function checkCrc(e: Planned, crc: number): void {
  if (crc !== e.entry.crc32)
    throw new InvalidArchiveError(`entry ${JSON.stringify(e.name)}: CRC-32 mismatch`);
}

/**
 * Same guarantees as the streaming path (exclusive create, final mode) in
 * synchronous calls on a descriptor the caller opened: creating the file is
 * the slow call (0.15-0.4 ms on ext4 here, against ~20 us for writing
 * 32 KiB), so it goes to the thread pool, where creates of several entries
 * overlap.
 */
function writeSmallFile(fd: number, data: Buffer, mode: number): void {
  try {
    fchmodSync(fd, mode);
    for (let offset = 0; offset < data.length;) offset += writeSync(fd, data, offset);
  } finally {
    closeSync(fd);
  }
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
