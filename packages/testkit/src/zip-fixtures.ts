import { createHash } from 'node:crypto';
import yazl from 'yazl';

export interface ZipEntrySpec {
  name: string;
  /** File contents, or a symlink's target. */
  data?: string | Buffer;
  /** Unix mode with type bits, e.g. 0o100755, 0o120777 for a symlink. */
  mode?: number;
  directory?: boolean;
  /** Deflate (default) or store. */
  compress?: boolean;
}

/** A real zip file, as `zip` or a build tool would make it. */
export function makeZip(entries: readonly ZipEntrySpec[]): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const e of entries) {
    if (e.directory) {
      zip.addEmptyDirectory(e.name, e.mode === undefined ? {} : { mode: e.mode });
    } else {
      const data = typeof e.data === 'string' ? Buffer.from(e.data) : (e.data ?? Buffer.alloc(0));
      zip.addBuffer(data, e.name, { mode: e.mode ?? 0o100644, compress: e.compress ?? true });
    }
  }
  zip.end();
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    zip.outputStream.on('data', (c: Buffer) => chunks.push(c));
    zip.outputStream.on('end', () => resolve(Buffer.concat(chunks)));
    zip.outputStream.on('error', reject);
  });
}

export function sha256Hex(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

interface CentralEntry {
  /** Offset of the central directory header. */
  central: number;
  /** Offset of the local file header. */
  local: number;
  name: string;
}

function centralEntries(zip: Buffer): CentralEntry[] {
  const eocd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (eocd < 0) throw new Error('no end of central directory record');
  const count = zip.readUInt16LE(eocd + 10);
  let at = zip.readUInt32LE(eocd + 16);
  const entries: CentralEntry[] = [];
  for (let i = 0; i < count; i++) {
    const nameLength = zip.readUInt16LE(at + 28);
    const extra = zip.readUInt16LE(at + 30);
    const comment = zip.readUInt16LE(at + 32);
    const name = zip.subarray(at + 46, at + 46 + nameLength).toString('utf8');
    entries.push({ central: at, local: zip.readUInt32LE(at + 42), name });
    at += 46 + nameLength + extra + comment;
  }
  return entries;
}

function entryNamed(zip: Buffer, name: string): CentralEntry {
  const entry = centralEntries(zip).find((e) => e.name === name);
  if (!entry) throw new Error(`no entry ${name}`);
  return entry;
}

/**
 * Renames an entry in place (same byte length), in both headers: how tests
 * make names that zip libraries refuse to write, such as `../evil` or `/tmp/x`.
 */
export function renameEntry(zip: Buffer, from: string, to: string): Buffer {
  if (Buffer.byteLength(from) !== Buffer.byteLength(to)) throw new Error('names must have the same length');
  const out = Buffer.from(zip);
  const entry = entryNamed(out, from);
  out.write(to, entry.central + 46, 'utf8');
  out.write(to, entry.local + 30, 'utf8');
  return out;
}

/** Makes an entry claim a different uncompressed size (a zip bomb that lies in its headers). */
export function claimUncompressedSize(zip: Buffer, name: string, size: number): Buffer {
  const out = Buffer.from(zip);
  const entry = entryNamed(out, name);
  out.writeUInt32LE(size, entry.central + 24);
  out.writeUInt32LE(size, entry.local + 22);
  return out;
}

/** Makes an entry claim another compression method (e.g. 12, bzip2, which nothing here reads). */
export function claimCompressionMethod(zip: Buffer, name: string, method: number): Buffer {
  const out = Buffer.from(zip);
  const entry = entryNamed(out, name);
  out.writeUInt16LE(method, entry.central + 10);
  out.writeUInt16LE(method, entry.local + 8);
  return out;
}

/** Flips a byte of an entry's compressed data (a corrupt download that still parses). */
export function corruptEntryData(zip: Buffer, name: string): Buffer {
  const out = Buffer.from(zip);
  const entry = entryNamed(out, name);
  const nameLength = out.readUInt16LE(entry.local + 26);
  const extra = out.readUInt16LE(entry.local + 28);
  const data = entry.local + 30 + nameLength + extra;
  out[data + 2] = (out[data + 2] ?? 0) ^ 0xff;
  return out;
}
