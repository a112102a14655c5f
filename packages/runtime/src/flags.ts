import { parseArgs } from 'node:util';
import { ConfigError } from './config-error.js';

export interface FlagSpec {
  /** Environment variable read when the flag is absent. */
  env: string;
  describe: string;
  /** A switch: `--flag` alone means "true" (its variable may still say false); it takes no value. */
  switch?: boolean;
}

export type FlagTable = Record<string, FlagSpec>;

export interface ParseFlagsOptions<T extends FlagTable> {
  scriptName: string;
  usage: string;
  flags: T;
}

type Env = Record<string, string | undefined>;

/** Thrown for `--help`: the message is the usage text; the caller prints it and exits 0. */
export class HelpRequested extends Error {
  constructor(usage: string) {
    super(usage);
    this.name = 'HelpRequested';
  }
}

/** The usage text: one line per flag with its variable. */
export function usageText<T extends FlagTable>(options: ParseFlagsOptions<T>): string {
  const rows = Object.entries(options.flags).map(([flag, spec]) => [
    `--${flag}`,
    `${spec.describe} (${spec.env})`,
  ]);
  const width = Math.max(...rows.map(([f]) => f!.length));
  return [
    options.usage.replaceAll('$0', options.scriptName),
    '',
    'Options:',
    ...rows.map(([f, d]) => `  ${f!.padEnd(width)}  ${d}`),
    `  ${'--help'.padEnd(width)}  Show this help`,
  ].join('\n');
}

/**
 * Parses string flags (`--name value` or `--name=value`), each falling back to
 * its environment variable. No defaults are applied here: they live in each
 * package's compile step, so a value given by nobody stays `undefined`.
 * node:util's parser keeps the daemons' start-up small (yargs is for urctl).
 */
export function parseFlags<T extends FlagTable>(
  argv: string[],
  env: Env,
  options: ParseFlagsOptions<T>,
): Record<keyof T, string | undefined> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        help: { type: 'boolean' },
        ...Object.fromEntries(
          Object.entries(options.flags).map(([flag, spec]) => [
            flag,
            { type: spec.switch === true ? ('boolean' as const) : ('string' as const) },
          ]),
        ),
      },
    });
  } catch (err) {
    throw new ConfigError('arguments', `${err instanceof Error ? err.message : String(err)}; see --help`, {
      cause: err,
    });
  }
  if (parsed.values.help === true) throw new HelpRequested(usageText(options));
  const values = {} as Record<keyof T, string | undefined>;
  for (const [flag, spec] of Object.entries(options.flags) as [keyof T & string, FlagSpec][]) {
    const fromFlag = (parsed.values as Record<string, string | boolean | undefined>)[flag];
    if (fromFlag === true) values[flag] = 'true';
    else values[flag] = typeof fromFlag === 'string' ? fromFlag : env[spec.env];
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
