import { close, fstat, open, read } from 'node:fs';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import type yauzlModule from 'yauzl';
import type { Entry, Options, ZipFile } from 'yauzl';

type Yauzl = typeof yauzlModule;

let loading: Promise<Yauzl> | undefined;

/** yauzl is loaded with the first archive, like got with the first download. */
export function loadYauzl(): Promise<Yauzl> {
  loading ??= import('yauzl').then((m) => m.default);
  return loading;
}

/** Bytes per read of entry data; yauzl's default file reader reads 16 KiB at a time. */
const CHUNK_BYTES = 1024 * 1024;

/** Reads `[start, end)` of a shared descriptor; destroying it leaves the descriptor open. */
class RangeStream extends Readable {
  readonly #fd: number;
  #position: number;
  readonly #end: number;

  constructor(fd: number, start: number, end: number) {
    super({ highWaterMark: CHUNK_BYTES });
    this.#fd = fd;
    this.#position = start;
    this.#end = end;
  }

  override _read(): void {
    const length = Math.min(CHUNK_BYTES, this.#end - this.#position);
    if (length <= 0) {
      this.push(null);
      return;
    }
    const buffer = Buffer.allocUnsafe(length);
    read(this.#fd, buffer, 0, length, this.#position, (err, bytesRead) => {
      if (err) this.destroy(err);
      else if (bytesRead === 0) this.destroy(new Error('unexpected EOF'));
      else {
        this.#position += bytesRead;
        this.push(bytesRead < length ? buffer.subarray(0, bytesRead) : buffer);
      }
    });
  }
}

/** Size of the cached blocks small reads are served from. */
const BLOCK_BYTES = 256 * 1024;
/** Blocks kept: entries are unpacked in archive order, a few at a time. */
const CACHED_BLOCKS = 4;

function readAt(
  fd: number,
  buffer: Buffer,
  offset: number,
  length: number,
  position: number,
): Promise<number> {
  return new Promise((resolve, reject) => {
    read(fd, buffer, offset, length, position, (err, bytesRead) => (err ? reject(err) : resolve(bytesRead)));
  });
}

/**
 * yauzl's file access with large reads: entry data is read in 1 MiB chunks
 * (positioned reads on one descriptor, so entries can stream concurrently),
 * and small reads (central directory records, local headers, small entries'
 * data) are served from a few cached 256 KiB blocks: yauzl reads each record
 * with two or three tiny reads, one thread-pool round trip apiece.
 */
function fileReaderClass(yauzl: Yauzl) {
  return class FileReader extends yauzl.RandomAccessReader {
    readonly #fd: number;
    /** Most recently used last; a block still being read is shared. */
    readonly #blocks = new Map<number, Promise<Buffer>>();

    constructor(fd: number) {
      super();
      this.#fd = fd;
    }

    override _readStreamForRange(start: number, end: number): Readable {
      return new RangeStream(this.#fd, start, end);
    }

    #block(index: number): Promise<Buffer> {
      let block = this.#blocks.get(index);
      if (block) {
        this.#blocks.delete(index);
      } else {
        const buffer = Buffer.allocUnsafe(BLOCK_BYTES);
        block = readAt(this.#fd, buffer, 0, BLOCK_BYTES, index * BLOCK_BYTES).then((n) =>
          buffer.subarray(0, n),
        );
        // A failed read is not kept.
        block.catch(() => this.#blocks.delete(index));
        if (this.#blocks.size >= CACHED_BLOCKS)
          this.#blocks.delete(this.#blocks.keys().next().value as number);
      }
      this.#blocks.set(index, block);
      return block;
    }

    /** Reads `length` bytes at `position` or rejects (a short read is an unexpected end of file). */
    async readExactly(buffer: Buffer, offset: number, length: number, position: number): Promise<void> {
      const index = Math.floor(position / BLOCK_BYTES);
      const from = position - index * BLOCK_BYTES;
      if (from + length <= BLOCK_BYTES) {
        const block = await this.#block(index);
        if (from + length > block.length) throw new Error('unexpected EOF');
        block.copy(buffer, offset, from, from + length);
        return;
      }
      for (let done = 0; done < length;) {
        const n = await readAt(this.#fd, buffer, offset + done, length - done, position + done);
        if (n === 0) throw new Error('unexpected EOF');
        done += n;
      }
    }

    override read(
      buffer: Buffer,
      offset: number,
      length: number,
      position: number,
      callback: (err: Error | null) => void,
    ): void {
      this.readExactly(buffer, offset, length, position).then(
        () => callback(null),
        (err: unknown) => callback(err as Error),
      );
    }

    override close(callback: (err: Error | null) => void): void {
      this.#blocks.clear();
      close(this.#fd, callback);
    }
  };
}

let FileReader: ReturnType<typeof fileReaderClass> | undefined;

const readers = new WeakMap<ZipFile, InstanceType<ReturnType<typeof fileReaderClass>>>();

/**
 * An entry's stored bytes (compressed, as in the archive), read through the
 * block cache. For small entries only: the whole of it is held in memory.
 */
export async function readRawEntry(zip: ZipFile, entry: Entry): Promise<Buffer> {
  const reader = readers.get(zip);
  if (!reader) throw new Error('not a zip opened by openZip');
  const { fileDataStart } = await zip.readLocalFileHeaderPromise(entry, { minimal: true });
  const data = Buffer.allocUnsafe(entry.compressedSize);
  await reader.readExactly(data, 0, data.length, fileDataStart);
  return data;
}

/** Opens a zip file for yauzl with the reader above; closing the ZipFile closes the file. */
export async function openZip(path: string, options: Options): Promise<ZipFile> {
  const fd = await promisify(open)(path, 'r');
  try {
    const { size } = await promisify(fstat)(fd);
    const yauzl = await loadYauzl();
    FileReader ??= fileReaderClass(yauzl);
    const reader = new FileReader(fd);
    const zip = await yauzl.fromRandomAccessReaderPromise(reader, size, options);
    readers.set(zip, reader);
    return zip;
  } catch (err) {
    close(fd, () => undefined);
    throw err;
  }
}
