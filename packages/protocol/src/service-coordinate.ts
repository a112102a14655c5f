import { UrError } from './errors.js';

/**
 * A service coordinate, `instance.service.user.cell` (as Nodee's
 * `1.myservice.borud.fbu`). Each part becomes one directory of the runtime
 * directory `<prefix>/runtime/<cell>/<user>/<service>/<instance>` and the
 * parts are separated by dots, so a part is a single harmless name:
 * letters, digits, `_` and `-`, starting with a letter or digit.
 */
export interface ServiceCoordinate {
  instance: string;
  service: string;
  user: string;
  cell: string;
}

/** Longest part; four of them stay well under the usual path limits. */
export const MAX_SERVICE_PART_LENGTH = 64;

const PART = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;

/** The whole coordinate as a JSON Schema pattern (documentation and API path parameters). */
export const SERVICE_COORDINATE_PATTERN =
  '^[A-Za-z0-9][A-Za-z0-9_-]{0,63}\\.[A-Za-z0-9][A-Za-z0-9_-]{0,63}\\.[A-Za-z0-9][A-Za-z0-9_-]{0,63}\\.[A-Za-z0-9][A-Za-z0-9_-]{0,63}$';

const PART_NAMES = ['instance', 'service', 'user', 'cell'] as const;

/** Thrown by {@link parseServiceCoordinate}; `reason` says which rule the text broke. */
export class InvalidServiceCoordinateError extends UrError {
  readonly value: string;
  readonly reason: string;

  constructor(value: string, reason: string) {
    super('INVALID_SERVICE_COORDINATE', `invalid service coordinate ${JSON.stringify(value)}: ${reason}`);
    this.value = value;
    this.reason = reason;
  }
}

function partProblem(part: string): string | undefined {
  if (part === '') return 'is empty';
  if (part.length > MAX_SERVICE_PART_LENGTH) return `is longer than ${MAX_SERVICE_PART_LENGTH} characters`;
  if (!PART.test(part)) return "may only hold letters, digits, '_' and '-', starting with a letter or digit";
  return undefined;
}

/** Parses `instance.service.user.cell`; throws {@link InvalidServiceCoordinateError}. */
export function parseServiceCoordinate(text: string): ServiceCoordinate {
  const parts = text.split('.');
  if (parts.length !== 4) {
    throw new InvalidServiceCoordinateError(text, 'expected instance.service.user.cell (four parts)');
  }
  for (const [i, part] of parts.entries()) {
    const problem = partProblem(part);
    if (problem !== undefined) throw new InvalidServiceCoordinateError(text, `${PART_NAMES[i]} ${problem}`);
  }
  const [instance = '', service = '', user = '', cell = ''] = parts;
  return { instance, service, user, cell };
}

export function isServiceCoordinate(text: string): boolean {
  try {
    parseServiceCoordinate(text);
    return true;
  } catch {
    return false;
  }
}

export function formatServiceCoordinate(c: ServiceCoordinate): string {
  return `${c.instance}.${c.service}.${c.user}.${c.cell}`;
}

/** The runtime directory's path below `<prefix>/runtime`: the coordinate reversed, `[cell, user, service, instance]`. */
export function serviceRuntimeSegments(c: ServiceCoordinate): [string, string, string, string] {
  return [c.cell, c.user, c.service, c.instance];
}
