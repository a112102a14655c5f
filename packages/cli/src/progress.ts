import cliProgress from 'cli-progress';
import type { CliStream } from './io.js';

/**
 * A progress bar on a terminal while a job runs: nodes finished of all,
 * how many did not succeed, time elapsed. Lines printed meanwhile (live
 * output) go above it.
 */
export class JobProgress {
  readonly #bars: cliProgress.MultiBar;
  readonly #bar: cliProgress.SingleBar;

  constructor(stream: CliStream, total: number) {
    this.#bars = new cliProgress.MultiBar(
      {
        stream: stream as NodeJS.WritableStream,
        format: ' {bar} {value}/{total} nodes | {failures} not ok | {duration_formatted}',
        hideCursor: true,
        clearOnComplete: true,
        forceRedraw: true,
      },
      cliProgress.Presets.shades_classic,
    );
    this.#bar = this.#bars.create(total, 0, { failures: 0 });
  }

  update(finished: number, failures: number): void {
    this.#bar.update(finished, { failures });
  }

  /** Prints a line above the bar. */
  log(text: string): void {
    this.#bars.log(text.endsWith('\n') ? text : `${text}\n`);
  }

  stop(): void {
    this.#bars.stop();
  }
}
