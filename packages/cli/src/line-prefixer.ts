/**
 * Prefixes live output with the node it comes from, a whole line at a
 * time: chunks split lines anywhere, so the rest of a line waits for its
 * end (or for {@link flush}).
 */
export class LinePrefixer {
  readonly #partial = new Map<string, string>();
  readonly #write: (stream: 'stdout' | 'stderr', text: string) => void;

  constructor(write: (stream: 'stdout' | 'stderr', text: string) => void) {
    this.#write = write;
  }

  push(nodeId: string, stream: 'stdout' | 'stderr', data: string): void {
    const key = `${stream}\u0000${nodeId}`;
    const text = (this.#partial.get(key) ?? '') + data;
    const end = text.lastIndexOf('\n');
    if (end < 0) {
      this.#partial.set(key, text);
      return;
    }
    this.#partial.set(key, text.slice(end + 1));
    const lines = text.slice(0, end).split('\n');
    this.#write(stream, lines.map((line) => `${nodeId}: ${line}\n`).join(''));
  }

  /** Prints what is left of unfinished lines. */
  flush(): void {
    for (const [key, rest] of this.#partial) {
      if (rest === '') continue;
      const [stream, nodeId] = key.split('\u0000') as ['stdout' | 'stderr', string];
      this.#write(stream, `${nodeId}: ${rest}\n`);
    }
    this.#partial.clear();
  }
}
