import cliProgress from 'cli-progress';
import type { ProgressEvent } from '@ur/protocol';
import type { CliStream } from './io.js';

const MiB = 1024 * 1024;

function amount(value: number, unit: string): string {
  return unit === 'bytes' ? `${(value / MiB).toFixed(1)} MiB` : `${value} ${unit}`;
}

/**
 * A terminal progress bar fed by a node's progress events: one phase per
 * unit (bytes downloading, then entries unpacking), redrawn in place.
 */
export class ProgressBar {
  readonly #bar: cliProgress.SingleBar;
  #unit: string | undefined;

  constructor(stream: CliStream, label: string) {
    this.#bar = new cliProgress.SingleBar(
      {
        // cli-progress only needs write() and isTTY (readline writes the cursor moves).
        stream: stream as unknown as NodeJS.WritableStream,
        format: `${label} {phase} [{bar}] {percentage}% {done} / {all}`,
        hideCursor: true,
        clearOnComplete: true,
        barsize: 30,
        fps: 10,
      },
      cliProgress.Presets.shades_classic,
    );
  }

  update(event: ProgressEvent): void {
    const p = event.progress;
    if (event.stage !== 'progress' || !p) return;
    const total = p.total ?? p.done;
    const payload = { phase: p.message ?? p.unit, done: amount(p.done, p.unit), all: amount(total, p.unit) };
    if (this.#unit === undefined) this.#bar.start(total, p.done, payload);
    else if (this.#unit !== p.unit) this.#bar.setTotal(total);
    this.#unit = p.unit;
    this.#bar.update(p.done, payload);
  }

  stop(): void {
    if (this.#unit !== undefined) this.#bar.stop();
  }
}
