import { Type, type Static } from '@sinclair/typebox';
import { ArtifactSummarySchema } from './messages/artifact.js';
import { ExecuteReplySchema } from './messages/execute-reply.js';
import { ExecuteRequestSchema } from './messages/execute-request.js';
import { SysinfoSchema } from './messages/sysinfo.js';

/**
 * Schemas of the headnode's REST API (v1). The headnode validates and
 * documents its routes with them; urctl reads responses with the same types.
 */
export const NODE_STATUSES = ['ready', 'suspect', 'down', 'left', 'unknown'] as const;
export type NodeStatus = (typeof NODE_STATUSES)[number];

export const NodeStatusSchema = Type.Union(
  NODE_STATUSES.map((s) => Type.Literal(s)),
  {
    description:
      'ready: heard from recently; suspect: missed two heartbeats; down: silent past the grace period; ' +
      'left: the agent stopped on purpose; unknown: not heard from since the headnode started.',
  },
);

const Timestamp = Type.String({ description: 'ISO 8601 time.' });
const NullableTimestamp = Type.Union([Timestamp, Type.Null()]);

export const NodeSummarySchema = Type.Object(
  {
    id: Type.String(),
    hostname: Type.Union([Type.String(), Type.Null()]),
    status: NodeStatusSchema,
    agent_version: Type.Union([Type.String(), Type.Null()], { description: 'Null for Triton Ur agents.' }),
    capabilities: Type.Array(Type.String()),
    first_seen: Timestamp,
    last_seen: Timestamp,
    last_boot: NullableTimestamp,
  },
  { title: 'NodeSummary' },
);
export type NodeSummary = Static<typeof NodeSummarySchema>;

export const NodeDetailSchema = Type.Composite(
  [
    NodeSummarySchema,
    Type.Object({
      sysinfo: SysinfoSchema,
      last_heartbeat: Type.Union([
        Type.Object({
          seq: Type.Integer(),
          at: Timestamp,
          load: Type.Array(Type.Number()),
          mem_free_mib: Type.Number(),
          running: Type.Integer(),
        }),
        Type.Null(),
      ]),
      artifacts: Type.Array(ArtifactSummarySchema, {
        description:
          'Installed software artifacts, as the node last announced them (empty for Triton agents).',
      }),
    }),
  ],
  { title: 'NodeDetail' },
);
export type NodeDetail = Static<typeof NodeDetailSchema>;

export const NodeListSchema = Type.Object({ nodes: Type.Array(NodeSummarySchema) }, { title: 'NodeList' });
export type NodeList = Static<typeof NodeListSchema>;

export const ExecuteBodySchema = ExecuteRequestSchema;
export type ExecuteBody = Static<typeof ExecuteBodySchema>;

export const ExecuteResponseSchema = Type.Composite(
  [Type.Object({ node_id: Type.String(), request_id: Type.String() }), ExecuteReplySchema],
  { title: 'ExecuteResponse' },
);
export type ExecuteResponse = Static<typeof ExecuteResponseSchema>;

export const PingResponseSchema = Type.Object(
  {
    ok: Type.Boolean(),
    version: Type.String(),
    broker: Type.Union([Type.Literal('connected'), Type.Literal('disconnected')]),
  },
  { title: 'PingResponse' },
);
export type PingResponse = Static<typeof PingResponseSchema>;
