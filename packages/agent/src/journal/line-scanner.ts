import type { FileHandle } from 'node:fs/promises';

export interface ScanResult {
  /** Offset just past the last complete line. */
  end: number;
  /** Bytes after `end` that do not end with a newline (a write cut short by a crash). */
  trailing: number;
}

const NEWLINE = 0x0a;

/**
 * Calls `onLine` for every newline-terminated line of a file, with its byte
 * offset, reading in chunks so a large file is never held in memory at once.
 */
export async function scanLines(
  file: FileHandle,
  onLine: (line: Buffer, offset: number) => void | Promise<void>,
  chunkBytes = 1024 * 1024,
): Promise<ScanResult> {
  const chunk = Buffer.allocUnsafe(chunkBytes);
  let carry = Buffer.alloc(0);
  /** File offset of carry[0]. */
  let base = 0;
  let position = 0;
  for (;;) {
    const { bytesRead } = await file.read(chunk, 0, chunkBytes, position);
    if (bytesRead === 0) break;
    position += bytesRead;
    const data =
      carry.length === 0
        ? chunk.subarray(0, bytesRead)
        : Buffer.concat([carry, chunk.subarray(0, bytesRead)]);
    let start = 0;
    for (let nl = data.indexOf(NEWLINE); nl >= 0; nl = data.indexOf(NEWLINE, start)) {
      await onLine(data.subarray(start, nl), base + start);
      start = nl + 1;
    }
    // Copied: the chunk buffer is reused by the next read.
    carry = Buffer.from(data.subarray(start));
    base += start;
  }
  return { end: base, trailing: carry.length };
}
