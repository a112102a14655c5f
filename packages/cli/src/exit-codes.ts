import type { JobCounts } from '@ur/protocol';
import { HeadnodeError, HeadnodeUnreachableError } from './client.js';
import { CliConfigError } from './config-file.js';

/**
 * urctl's own exit statuses (from sysexits.h) for failures that are not the
 * remote command's: `exec` otherwise exits with the command's exit status.
 */
export const ExitCodes = {
  /** A job: some node ran the command and it failed (non-zero exit, timeout, interrupted). */
  NODE_FAILED: 1,
  USAGE: 64,
  /** The artifact is corrupt, unsafe, too large or fails its checksum; the service manifest is invalid. */
  DATAERR: 65,
  /** No such artifact in the repository, or not installed on the node; no such service. */
  NOINPUT: 66,
  /** Node offline or unknown, or the headnode unreachable; a job: some node did not run the command. */
  UNAVAILABLE: 69,
  /** Any other error answer from the headnode. */
  SOFTWARE: 70,
  /**
   * The node did not reply in time, or did not take the request before its
   * deadline; a download failed; the artifact is in use; the service runs
   * otherwise or did not drain in time.
   */
  TEMPFAIL: 75,
  /** The headnode wants a (better) API token. */
  NOPERM: 77,
  /** urctl's config file cannot be used, or the node has no artifact repository configured. */
  CONFIG: 78,
} as const;

/**
 * A job's exit status: 0 when every node succeeded; 69 when some node did
 * not run the command (offline, expired, skipped, cancelled); else 1 when
 * some node failed, timed out or was interrupted.
 */
export function exitCodeForJob(counts: JobCounts): number {
  if (counts.offline + counts.expired + counts.skipped + counts.cancelled > 0) return ExitCodes.UNAVAILABLE;
  if (counts.failed + counts.timed_out + counts.interrupted > 0) return ExitCodes.NODE_FAILED;
  const unfinished = counts.pending + counts.sent + counts.accepted + counts.running;
  return unfinished > 0 ? ExitCodes.TEMPFAIL : 0;
}

export function exitCodeFor(err: unknown): number {
  if (err instanceof HeadnodeUnreachableError) return ExitCodes.UNAVAILABLE;
  if (err instanceof CliConfigError) return ExitCodes.CONFIG;
  if (err instanceof HeadnodeError) {
    switch (err.code) {
      case 'NODE_OFFLINE':
      case 'NODE_NOT_FOUND':
      case 'BROKER_UNAVAILABLE':
      case 'NO_TARGET_NODES':
      case 'JOB_NOT_FOUND':
      case 'HOOK_NOT_FOUND':
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
      case 'UNAUTHENTICATED':
      case 'FORBIDDEN':
        return ExitCodes.NOPERM;
      default:
        return ExitCodes.SOFTWARE;
    }
  }
  return ExitCodes.SOFTWARE;
}

/** One line for stderr, e.g. `NODE_OFFLINE: node x is offline ...`. */
export function describeError(err: unknown): string {
  if (err instanceof HeadnodeError && err.code === 'UNAUTHENTICATED') {
    return `${err.code}: ${err.message}; set UR_TOKEN, or "token" in the config file (mode 0600)`;
  }
  if (err instanceof HeadnodeError) return `${err.code}: ${err.message}`;
  if (err instanceof HeadnodeUnreachableError) {
    const cause =
      err.cause instanceof Error && err.cause.cause instanceof Error ? ` (${err.cause.cause.message})` : '';
    return `${err.message}${cause}; is ur-headnode running? (--headnode / UR_HEADNODE_URL)`;
  }
  return err instanceof Error ? err.message : String(err);
}
