import { Type, type Static } from '@sinclair/typebox';
import { JobNodeStateSchema } from './api-jobs.js';
import { ExecuteReplySchema } from './messages/execute-reply.js';

/**
 * Commands as the headnodes record them: one row per request, with exactly
 * one result (the reply, or why there is none) recorded by whichever
 * headnode learned it first.
 */
export const COMMAND_STATUSES = [
  'pending',
  'sent',
  'done',
  'offline',
  'expired',
  'timed_out',
  'cancelled',
  'skipped',
] as const;
export type CommandStatus = (typeof COMMAND_STATUSES)[number];

export const CommandRecordSchema = Type.Object(
  {
    request_id: Type.String(),
    node_id: Type.String(),
    type: Type.String(),
    status: Type.Union(
      COMMAND_STATUSES.map((s) => Type.Literal(s)),
      {
        description:
          'pending: part of a job, not sent yet; sent: waiting for the reply; done: replied; ' +
          'offline: no agent listened (or the node was down or left), nothing ran; ' +
          "expired: its deadline passed while it waited in the node's queue, nothing ran; " +
          'timed_out: no reply within the timeout plus a margin; cancelled, skipped: part of a job, ' +
          'never sent (the job was cancelled, or stopped at max_errors).',
      },
    ),
    issued_by: Type.String({ description: 'The headnode that sent it.' }),
    issued_at: Type.String(),
    finished_at: Type.Union([Type.String(), Type.Null()]),
    recorded_by: Type.Union([Type.String(), Type.Null()], {
      description: 'The headnode that recorded the result.',
    }),
    reply: Type.Union([ExecuteReplySchema, Type.Null()]),
    job_id: Type.Union([Type.String(), Type.Null()], { description: 'The job the command belongs to.' }),
    state: JobNodeStateSchema,
  },
  { title: 'CommandRecord' },
);
export type CommandRecord = Static<typeof CommandRecordSchema>;

export const CommandListSchema = Type.Object(
  { commands: Type.Array(CommandRecordSchema) },
  { title: 'CommandList' },
);
export type CommandList = Static<typeof CommandListSchema>;

export const CommandListQuerySchema = Type.Object({
  node_id: Type.Optional(Type.String()),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000, default: 100 })),
});
export type CommandListQuery = Static<typeof CommandListQuerySchema>;
