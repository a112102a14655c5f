import { UrError, type ErrorCode } from '@ur/protocol/wire';

/**
 * Failures of the artifact store. Each becomes the `error` of the command's
 * reply; the typed fields are for callers and logs.
 */
export class ArtifactError extends UrError {
  constructor(code: ErrorCode, message: string, options?: ErrorOptions) {
    super(code, message, options);
  }
}

/** The repository answered 404 for the archive. */
export class ArtifactNotFoundError extends ArtifactError {
  readonly url: string;

  constructor(url: string) {
    super('ARTIFACT_NOT_FOUND', `${url}: not found (HTTP 404)`);
    this.url = url;
  }
}

/** The download failed for good: a permanent HTTP status, or retries used up. */
export class DownloadFailedError extends ArtifactError {
  readonly url: string;
  readonly attempts: number;
  /** The HTTP status, when the server answered. */
  readonly status: number | undefined;

  constructor(url: string, attempts: number, reason: string, status?: number, options?: ErrorOptions) {
    super(
      'DOWNLOAD_FAILED',
      `${url}: ${reason}${attempts > 1 ? ` (after ${attempts} attempts)` : ''}`,
      options,
    );
    this.url = url;
    this.attempts = attempts;
    this.status = status;
  }
}

/** The archive's SHA-256 is not the expected one. */
export class ChecksumMismatchError extends ArtifactError {
  readonly expected: string;
  readonly actual: string;

  constructor(what: string, expected: string, actual: string) {
    super('CHECKSUM_MISMATCH', `${what}: sha256 is ${actual}, expected ${expected}`);
    this.expected = expected;
    this.actual = actual;
  }
}

export type SizeLimit = 'download' | 'unpacked' | 'entries';

/** A size or count limit was exceeded (a zip bomb, or an artifact larger than allowed). */
export class TooLargeError extends ArtifactError {
  readonly limit: SizeLimit;
  readonly max: number;

  constructor(limit: SizeLimit, max: number, detail: string) {
    super(
      'ARTIFACT_TOO_LARGE',
      `${detail}: over the ${limit} limit of ${max}${limit === 'entries' ? '' : ' bytes'}`,
    );
    this.limit = limit;
    this.max = max;
  }
}

/** An entry would land outside the version directory, or the archive lies about itself. */
export class UnsafeArchiveError extends ArtifactError {
  readonly entry: string;

  constructor(entry: string, reason: string) {
    super('UNSAFE_ARCHIVE', `entry ${JSON.stringify(entry)}: ${reason}`);
    this.entry = entry;
  }
}

/** Not a zip file, corrupt, or using features we do not unpack. */
export class InvalidArchiveError extends ArtifactError {
  constructor(message: string, options?: ErrorOptions) {
    super('INVALID_ARCHIVE', message, options);
  }
}

export class NotInstalledError extends ArtifactError {
  readonly coordinate: string;

  constructor(coordinate: string) {
    super('ARTIFACT_NOT_INSTALLED', `${coordinate} is not installed`);
    this.coordinate = coordinate;
  }
}

export class InUseError extends ArtifactError {
  readonly coordinate: string;

  constructor(coordinate: string) {
    super(
      'ARTIFACT_IN_USE',
      `${coordinate} is used by a running service; remove it with force to do it anyway`,
    );
    this.coordinate = coordinate;
  }
}

/** The install was stopped (timeout, agent stopping); nothing was installed. */
export class InstallAbortedError extends ArtifactError {
  constructor(code: 'TIMED_OUT' | 'AGENT_STOPPING', message: string) {
    super(code, message);
  }
}
