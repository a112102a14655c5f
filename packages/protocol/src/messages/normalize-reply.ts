import { isErrorCode } from '../errors.js';
import { check } from '../validate.js';
import type { ExecuteReply } from './execute-reply.js';
import { LegacyReplySchema } from './execute-reply.js';

/** Exit status used when a Triton agent reports a string such as "ENOENT". */
const LEGACY_FAILURE_STATUS = 127;

/**
 * Turns any agent's reply into our full shape: our agents' replies pass
 * through; a Triton Ur reply gets defaults, and its string exit statuses
 * become a number plus an error. Returns null for bodies that are not replies.
 * `durationMs` is the caller's own measure, used when the agent gave none.
 */
export function normalizeReply(body: unknown, durationMs: number): ExecuteReply | null {
  const legacy = check(LegacyReplySchema, body);
  if (!legacy.ok) return null;
  const raw = body as Partial<ExecuteReply> & { exit_status: number | string };
  const stdout = raw.stdout ?? '';
  const stderr = raw.stderr ?? '';
  const reply: ExecuteReply = {
    exit_status: 0,
    stdout,
    stderr,
    signal: raw.signal ?? null,
    duration_ms: typeof raw.duration_ms === 'number' ? raw.duration_ms : durationMs,
    started_at: raw.started_at ?? null,
    finished_at: raw.finished_at ?? null,
    stdout_bytes: typeof raw.stdout_bytes === 'number' ? raw.stdout_bytes : Buffer.byteLength(stdout),
    stderr_bytes: typeof raw.stderr_bytes === 'number' ? raw.stderr_bytes : Buffer.byteLength(stderr),
    stdout_truncated: raw.stdout_truncated === true,
    stderr_truncated: raw.stderr_truncated === true,
    timed_out: raw.timed_out === true,
  };
  if (typeof raw.exit_status === 'number' && Number.isInteger(raw.exit_status)) {
    reply.exit_status = raw.exit_status;
  } else {
    reply.exit_status = LEGACY_FAILURE_STATUS;
    reply.error = { code: 'SPAWN_FAILED', message: String(raw.exit_status) };
  }
  const error = raw.error as { code?: unknown; message?: unknown } | undefined;
  if (error !== undefined) {
    reply.error = {
      code: isErrorCode(error.code) ? error.code : 'INTERNAL_ERROR',
      message: typeof error.message === 'string' ? error.message : JSON.stringify(error),
    };
  }
  if (raw.result !== undefined) reply.result = raw.result;
  if (raw.reboot !== undefined) reply.reboot = raw.reboot;
  return reply;
}
