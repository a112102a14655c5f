import { close, fstat, open, read } from 'node:fs';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import type yauzlModule from 'yauzl';
import type { Options, ZipFile } from 'yauzl';

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

/**
 * yauzl's file access with large reads: entry data is read in 1 MiB chunks
 * (positioned reads on one descriptor, so entries can stream concurrently).
 */
function fileReaderClass(yauzl: Yauzl) {
  return class FileReader extends yauzl.RandomAccessReader {
    readonly #fd: number;

    constructor(fd: number) {
      super();
      this.#fd = fd;
    }

    override _readStreamForRange(start: number, end: number): Readable {
      return new RangeStream(this.#fd, start, end);
    }

    override read(
      buffer: Buffer,
      offset: number,
      length: number,
      position: number,
      callback: (err: Error | null) => void,
    ): void {
      read(this.#fd, buffer, offset, length, position, (err, bytesRead) => {
        if (err) callback(err);
        else if (bytesRead < length) callback(new Error('unexpected EOF'));
        else callback(null);
      });
    }

    override close(callback: (err: Error | null) => void): void {
      close(this.#fd, callback);
    }
  };
}

let FileReader: ReturnType<typeof fileReaderClass> | undefined;

/** Opens a zip file for yauzl with the reader above; closing the ZipFile closes the file. */
export async function openZip(path: string, options: Options): Promise<ZipFile> {
  const fd = await promisify(open)(path, 'r');
  try {
    const { size } = await promisify(fstat)(fd);
    const yauzl = await loadYauzl();
    FileReader ??= fileReaderClass(yauzl);
    return await yauzl.fromRandomAccessReaderPromise(new FileReader(fd), size, options);
  } catch (err) {
    close(fd, () => undefined);
    throw err;
  }
}
