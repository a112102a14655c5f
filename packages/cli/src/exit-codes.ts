import { HeadnodeError, HeadnodeUnreachableError } from './client.js';

/**
 * urctl's own exit statuses (from sysexits.h) for failures that are not the
 * remote command's: `exec` otherwise exits with the command's exit status.
 */
export const ExitCodes = {
  USAGE: 64,
  /** The artifact is corrupt, unsafe, too large or fails its checksum; the service manifest is invalid. */
  DATAERR: 65,
  /** No such artifact in the repository, or not installed on the node; no such service. */
  NOINPUT: 66,
  /** Node offline or unknown, or the headnode unreachable. */
  UNAVAILABLE: 69,
  /** Any other error answer from the headnode. */
  SOFTWARE: 70,
  /**
   * The node did not reply in time, or did not take the request before its
   * deadline; a download failed; the artifact is in use; the service runs
   * otherwise or did not drain in time.
   */
  TEMPFAIL: 75,
  /** The node has no artifact repository configured. */
  CONFIG: 78,
} as const;

export function exitCodeFor(err: unknown): number {
  if (err instanceof HeadnodeUnreachableError) return ExitCodes.UNAVAILABLE;
  if (err instanceof HeadnodeError) {
    switch (err.code) {
      case 'NODE_OFFLINE':
      case 'NODE_NOT_FOUND':
      case 'BROKER_UNAVAILABLE':
        return ExitCodes.UNAVAILABLE;
      case 'REPLY_TIMEOUT':
      case 'EXPIRED':
        return ExitCodes.TEMPFAIL;
      case 'VALIDATION_FAILED':
      case 'INVALID_SELECTOR':
      case 'INVALID_COORDINATE':
      case 'INVALID_SERVICE_COORDINATE':
      case 'CHECKSUM_REQUIRED':
        return ExitCodes.USAGE;
      case 'CHECKSUM_MISMATCH':
      case 'INVALID_ARCHIVE':
      case 'UNSAFE_ARCHIVE':
      case 'ARTIFACT_TOO_LARGE':
      case 'INVALID_SERVICE_SPEC':
        return ExitCodes.DATAERR;
      case 'ARTIFACT_NOT_FOUND':
      case 'ARTIFACT_NOT_INSTALLED':
      case 'SERVICE_NOT_FOUND':
        return ExitCodes.NOINPUT;
      case 'DOWNLOAD_FAILED':
      case 'TIMED_OUT':
      case 'ARTIFACT_IN_USE':
      case 'SERVICE_CONFLICT':
      case 'DRAIN_TIMEOUT':
        return ExitCodes.TEMPFAIL;
      case 'NO_ARTIFACT_REPO':
        return ExitCodes.CONFIG;
      default:
        return ExitCodes.SOFTWARE;
    }
  }
  return ExitCodes.SOFTWARE;
}

/** One line for stderr, e.g. `NODE_OFFLINE: node x is offline ...`. */
export function describeError(err: unknown): string {
  if (err instanceof HeadnodeError) return `${err.code}: ${err.message}`;
  if (err instanceof HeadnodeUnreachableError) {
    const cause =
      err.cause instanceof Error && err.cause.cause instanceof Error ? ` (${err.cause.cause.message})` : '';
    return `${err.message}${cause}; is ur-headnode running? (--headnode / UR_HEADNODE_URL)`;
  }
  return err instanceof Error ? err.message : String(err);
}
