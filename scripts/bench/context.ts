/** What every measurement gets: the broker, a private exchange and a scratch directory. */
export interface BenchContext {
  url: string;
  exchange: string;
  dir: string;
  /** Unique per run, for node ids and queue names. */
  tag: string;
  quick: boolean;
  log(message: string): void;
}
