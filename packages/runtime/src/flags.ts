import yargs from 'yargs';
import { ConfigError } from './config-error.js';

export interface FlagSpec {
  /** Environment variable read when the flag is absent. */
  env: string;
  describe: string;
}

export type FlagTable = Record<string, FlagSpec>;

export interface ParseFlagsOptions<T extends FlagTable> {
  scriptName: string;
  usage: string;
  flags: T;
}

type Env = Record<string, string | undefined>;

/**
 * Parses string flags, each falling back to its environment variable. No
 * defaults are applied here: they live in each package's compile step, so a
 * value given by nobody stays `undefined`.
 */
export async function parseFlags<T extends FlagTable>(
  argv: string[],
  env: Env,
  options: ParseFlagsOptions<T>,
): Promise<Record<keyof T, string | undefined>> {
  let parser = yargs(argv)
    .scriptName(options.scriptName)
    .usage(options.usage)
    .strict()
    .help()
    .version(false)
    .fail((message: string | undefined, err: Error | undefined) => {
      throw new ConfigError('arguments', message ?? err?.message ?? 'invalid arguments', { cause: err });
    });
  for (const [flag, spec] of Object.entries(options.flags)) {
    parser = parser.option(flag, { type: 'string', describe: `${spec.describe} (${spec.env})` });
  }
  const args = (await parser.parseAsync()) as Record<string, unknown>;
  const values = {} as Record<keyof T, string | undefined>;
  for (const [flag, spec] of Object.entries(options.flags) as [keyof T & string, FlagSpec][]) {
    const fromFlag = args[flag];
    values[flag] = typeof fromFlag === 'string' ? fromFlag : env[spec.env];
  }
  return values;
}

/** A positive number scaled to the unit the options use (e.g. seconds → ms). */
export function positiveNumber(field: string, raw: string | undefined, scale = 1): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n) || n <= 0) {
    throw new ConfigError(field, `expected a positive number, got ${JSON.stringify(raw)}`);
  }
  return n * scale;
}

const TRUE_WORDS = ['', 'true', '1', 'yes', 'on'];
const FALSE_WORDS = ['false', '0', 'no', 'off'];

/** A switch: the bare flag (`--x`), `true`/`1`/`yes`/`on` or `false`/`0`/`no`/`off`. */
export function booleanFlag(field: string, raw: string | undefined): boolean | undefined {
  if (raw === undefined) return undefined;
  const word = raw.trim().toLowerCase();
  if (TRUE_WORDS.includes(word)) return true;
  if (FALSE_WORDS.includes(word)) return false;
  throw new ConfigError(field, `expected true or false, got ${JSON.stringify(raw)}`);
}

/** One of a fixed set of words. */
export function oneOf<const T extends string>(
  field: string,
  raw: string | undefined,
  allowed: readonly T[],
): T | undefined {
  if (raw === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new ConfigError(field, `expected one of ${allowed.join(', ')}, got ${JSON.stringify(raw)}`);
  }
  return raw as T;
}

/** A numeric option with its default applied; must be positive and finite. */
export function positiveOption(field: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isFinite(v) || v <= 0) throw new ConfigError(field, `must be a positive number, got ${v}`);
  return v;
}
