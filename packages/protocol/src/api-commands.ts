import { Type, type Static } from '@sinclair/typebox';
import { ExecuteReplySchema } from './messages/execute-reply.js';

/**
 * Commands as the headnodes record them: one row per request, with exactly
 * one result (the reply, or why there is none) recorded by whichever
 * headnode learned it first.
 */
export const COMMAND_STATUSES = ['sent', 'done', 'offline', 'expired', 'timed_out'] as const;
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
          'sent: waiting for the reply; done: replied; offline: no agent listened, nothing ran; ' +
          "expired: its deadline passed while it waited in the node's queue, nothing ran; " +
          'timed_out: no reply within the timeout plus a margin.',
      },
    ),
    issued_by: Type.String({ description: 'The headnode that sent it.' }),
    issued_at: Type.String(),
    finished_at: Type.Union([Type.String(), Type.Null()]),
    recorded_by: Type.Union([Type.String(), Type.Null()], {
      description: 'The headnode that recorded the result.',
    }),
    reply: Type.Union([ExecuteReplySchema, Type.Null()]),
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
