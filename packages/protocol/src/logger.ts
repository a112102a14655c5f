/**
 * The logging surface libraries use. Binaries pass a winston logger (which
 * satisfies it); embedders and tests can pass anything with these methods.
 */
export interface Logger {
  error(message: string, meta?: Record<string, unknown>): unknown;
  warn(message: string, meta?: Record<string, unknown>): unknown;
  info(message: string, meta?: Record<string, unknown>): unknown;
  debug(message: string, meta?: Record<string, unknown>): unknown;
  child(meta: Record<string, unknown>): Logger;
}

const noop = (): undefined => undefined;

/** A logger that drops everything, for embedding many agents in one process. */
export const silentLogger: Logger = {
  error: noop,
  warn: noop,
  info: noop,
  debug: noop,
  child: () => silentLogger,
};
