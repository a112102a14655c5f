import { Type, type Static } from '@sinclair/typebox';
import { ErrorBodySchema } from './common.js';

/**
 * The reply on `ur.execute-reply.<node-id>.<request-id>`: Ur's
 * `{exit_status, stdout, stderr}` plus our fields. exit_status is always a
 * number here (Ur sometimes sent strings such as "ENOENT"; see
 * {@link normalizeReply}).
 */
export const ExecuteReplySchema = Type.Object(
  {
    exit_status: Type.Integer({ description: 'Exit code; 128+N when killed by signal N.' }),
    stdout: Type.String(),
    stderr: Type.String(),
    signal: Type.Union([Type.String(), Type.Null()], {
      description: 'Signal that ended the process, if any.',
    }),
    duration_ms: Type.Number(),
    started_at: Type.Union([Type.String(), Type.Null()]),
    finished_at: Type.Union([Type.String(), Type.Null()]),
    stdout_bytes: Type.Integer({ description: 'Bytes the process wrote, before capping.' }),
    stderr_bytes: Type.Integer(),
    stdout_truncated: Type.Boolean(),
    stderr_truncated: Type.Boolean(),
    timed_out: Type.Boolean(),
    error: Type.Optional(ErrorBodySchema),
    result: Type.Optional(Type.Unknown({ description: 'Typed result of non-script commands.' })),
    reboot: Type.Optional(
      Type.Boolean({ description: 'The script exited 113: the agent reboots the node.' }),
    ),
  },
  { title: 'ExecuteReply' },
);
export type ExecuteReply = Static<typeof ExecuteReplySchema>;

/** What a Triton Ur agent sends: only these fields are guaranteed. */
export const LegacyReplySchema = Type.Object({
  exit_status: Type.Union([Type.Number(), Type.String()]),
  stdout: Type.Optional(Type.String()),
  stderr: Type.Optional(Type.String()),
});
export type LegacyReply = Static<typeof LegacyReplySchema>;
