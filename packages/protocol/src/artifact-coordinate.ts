import { UrError } from './errors.js';

/**
 * A Maven-style artifact coordinate, `groupId:artifactId:version`. Each part
 * becomes one directory under `<prefix>/software/` and one path segment of
 * the repository URL, so the rules keep it a single, harmless name: letters,
 * digits, `.`, `_`, `-`; starting with a letter or digit (never `.`, `-`, a
 * hidden or option-like name); no `..`.
 */
export interface ArtifactCoordinate {
  groupId: string;
  artifactId: string;
  version: string;
}

/** Longest part; keeps paths and URLs well under the usual limits. */
export const MAX_COORDINATE_PART_LENGTH = 128;

const PART = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** The whole coordinate as a JSON Schema pattern (documentation and API path parameters). */
export const COORDINATE_PATTERN =
  '^(?!.*\\.\\.)[A-Za-z0-9][A-Za-z0-9._-]{0,127}:[A-Za-z0-9][A-Za-z0-9._-]{0,127}:[A-Za-z0-9][A-Za-z0-9._-]{0,127}$';

const PART_NAMES = ['groupId', 'artifactId', 'version'] as const;

/** Thrown by {@link parseCoordinate}; `reason` says which rule the text broke. */
export class InvalidCoordinateError extends UrError {
  readonly value: string;
  readonly reason: string;

  constructor(value: string, reason: string) {
    super('INVALID_COORDINATE', `invalid artifact coordinate ${JSON.stringify(value)}: ${reason}`);
    this.value = value;
    this.reason = reason;
  }
}

function partProblem(part: string): string | undefined {
  if (part === '') return 'is empty';
  if (part.length > MAX_COORDINATE_PART_LENGTH)
    return `is longer than ${MAX_COORDINATE_PART_LENGTH} characters`;
  if (part.includes('..')) return "contains '..'";
  if (!PART.test(part))
    return "may only hold letters, digits, '.', '_' and '-', starting with a letter or digit";
  return undefined;
}

/** Parses `groupId:artifactId:version`; throws {@link InvalidCoordinateError}. */
export function parseCoordinate(text: string): ArtifactCoordinate {
  const parts = text.split(':');
  if (parts.length !== 3) {
    throw new InvalidCoordinateError(text, 'expected groupId:artifactId:version');
  }
  for (const [i, part] of parts.entries()) {
    const problem = partProblem(part);
    if (problem !== undefined) throw new InvalidCoordinateError(text, `${PART_NAMES[i]} ${problem}`);
  }
  const [groupId = '', artifactId = '', version = ''] = parts;
  return { groupId, artifactId, version };
}

export function isCoordinate(text: string): boolean {
  try {
    parseCoordinate(text);
    return true;
  } catch {
    return false;
  }
}

export function formatCoordinate(c: ArtifactCoordinate): string {
  return `${c.groupId}:${c.artifactId}:${c.version}`;
}

/**
 * The archive's path below a repository URL:
 * `<groupId>/<artifactId>/<version>/<artifactId>-<version>.zip` (as Nodee's).
 */
export function artifactArchivePath(c: ArtifactCoordinate): string {
  return `${c.groupId}/${c.artifactId}/${c.version}/${c.artifactId}-${c.version}.zip`;
}
