/**
 * A job's `concurrency` and `max_errors`: a count (`3`) or a percentage of
 * the job's nodes (`"10%"`). A percentage never resolves below 1.
 */
export type FanOutLimit = { kind: 'count'; value: number } | { kind: 'percent'; value: number };

/** Thrown for a limit that is neither a positive integer nor a percentage in (0, 100]. */
export class FanOutLimitError extends Error {
  readonly field: string;
  readonly value: unknown;

  constructor(field: string, value: unknown) {
    super(`${field} must be a positive integer or a percentage such as "10%", got ${JSON.stringify(value)}`);
    this.name = 'FanOutLimitError';
    this.field = field;
    this.value = value;
  }
}

export function parseFanOutLimit(field: string, value: number | string): FanOutLimit {
  if (typeof value === 'number') {
    if (Number.isInteger(value) && value >= 1) return { kind: 'count', value };
    throw new FanOutLimitError(field, value);
  }
  const text = value.trim();
  const percent = /^(\d+(?:\.\d+)?)%$/.exec(text);
  if (percent) {
    const p = Number(percent[1]);
    if (p > 0 && p <= 100) return { kind: 'percent', value: p };
    throw new FanOutLimitError(field, value);
  }
  if (/^\d+$/.test(text) && Number(text) >= 1) return { kind: 'count', value: Number(text) };
  throw new FanOutLimitError(field, value);
}

/** The limit as a number of nodes for a job of `total` nodes (at least 1). */
export function resolveFanOutLimit(limit: FanOutLimit, total: number): number {
  if (limit.kind === 'count') return limit.value;
  return Math.max(1, Math.ceil((limit.value * total) / 100));
}

/** `3` or `"10%"`: how the API and the job record show a limit. */
export function formatFanOutLimit(limit: FanOutLimit): number | string {
  return limit.kind === 'count' ? limit.value : `${limit.value}%`;
}
