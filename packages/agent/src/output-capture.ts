/**
 * Collects one output stream of a command under a byte cap. Up to the cap
 * everything is kept; beyond it the first and last halves are kept and the
 * middle is dropped (the end of a log usually says why it failed). Unlike Ur,
 * large output never kills the process.
 */
export class OutputCapture {
  readonly #headLimit: number;
  readonly #tailLimit: number;
  readonly #head: Buffer[] = [];
  #headBytes = 0;
  #tail: Buffer[] = [];
  #tailBytes = 0;
  #total = 0;

  constructor(limitBytes: number) {
    this.#headLimit = Math.floor(limitBytes / 2);
    this.#tailLimit = limitBytes - this.#headLimit;
  }

  /** Bytes written by the process, including any dropped. */
  get bytes(): number {
    return this.#total;
  }

  get truncated(): boolean {
    return this.#total > this.#headBytes + this.#tailBytes;
  }

  push(chunk: Buffer): void {
    this.#total += chunk.length;
    let rest = chunk;
    if (this.#headBytes < this.#headLimit) {
      const take = Math.min(this.#headLimit - this.#headBytes, rest.length);
      this.#head.push(rest.subarray(0, take));
      this.#headBytes += take;
      rest = rest.subarray(take);
    }
    if (rest.length === 0) return;
    this.#tail.push(rest);
    this.#tailBytes += rest.length;
    // Drop whole chunks from the front while the rest still fills the tail.
    while (this.#tail.length > 1 && this.#tailBytes - this.#tail[0]!.length >= this.#tailLimit) {
      this.#tailBytes -= this.#tail.shift()!.length;
    }
    if (this.#tailBytes > this.#tailLimit) {
      const first = this.#tail[0]!;
      const excess = this.#tailBytes - this.#tailLimit;
      this.#tail[0] = first.subarray(excess);
      this.#tailBytes -= excess;
    }
  }

  text(): string {
    const head = Buffer.concat(this.#head);
    const tail = Buffer.concat(this.#tail);
    if (!this.truncated) return Buffer.concat([head, tail]).toString('utf8');
    const omitted = this.#total - head.length - tail.length;
    return (
      trimIncompleteEnd(head).toString('utf8') +
      `\n[... ${omitted} bytes omitted by ur-agent ...]\n` +
      trimIncompleteStart(tail).toString('utf8')
    );
  }
}

const isContinuation = (byte: number): boolean => (byte & 0b1100_0000) === 0b1000_0000;

/** Drops a UTF-8 sequence cut off at the end, so the cut does not become U+FFFD. */
export function trimIncompleteEnd(buf: Buffer): Buffer {
  let i = buf.length - 1;
  let continuation = 0;
  while (i >= 0 && continuation < 3 && isContinuation(buf[i]!)) {
    i -= 1;
    continuation += 1;
  }
  if (i < 0) return buf;
  const lead = buf[i]!;
  const need = lead >= 0xf0 ? 3 : lead >= 0xe0 ? 2 : lead >= 0xc0 ? 1 : 0;
  return need > continuation ? buf.subarray(0, i) : buf;
}

/** Drops continuation bytes left at the start of a buffer cut mid-character. */
export function trimIncompleteStart(buf: Buffer): Buffer {
  let i = 0;
  while (i < buf.length && i < 3 && isContinuation(buf[i]!)) i += 1;
  return buf.subarray(i);
}
