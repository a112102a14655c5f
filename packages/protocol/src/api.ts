import { Type, type Static } from '@sinclair/typebox';
import { NodeServiceSchema } from './api-services.js';
import { ArtifactSummarySchema } from './messages/artifact.js';
import { ServiceCountsSchema } from './messages/service.js';
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

const NullableString = Type.Union([Type.String(), Type.Null()]);
const NullableInteger = Type.Union([Type.Integer(), Type.Null()]);

/** Operator labels: keys usable in selectors as `label.<key>`. */
export const LABEL_KEY_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,62}$';
export const LabelsSchema = Type.Record(
  Type.String({ pattern: LABEL_KEY_PATTERN }),
  Type.String({ maxLength: 256 }),
  {
    description: 'Set by operators with PATCH /v1/nodes/:id.',
    additionalProperties: false,
  },
);

export const NodeSummarySchema = Type.Object(
  {
    id: Type.String(),
    hostname: NullableString,
    status: NodeStatusSchema,
    status_since: Timestamp,
    status_reason: Type.String(),
    agent_version: Type.Union([Type.String(), Type.Null()], { description: 'Null for Triton Ur agents.' }),
    capabilities: Type.Array(Type.String()),
    labels: LabelsSchema,
    os: Type.Union([Type.String(), Type.Null()], {
      description: 'Lower-cased sysinfo "System Type": linux, sunos, …',
    }),
    arch: NullableString,
    serial: NullableString,
    bmc_address: Type.Union([Type.String(), Type.Null()], {
      description: 'IPMI/BMC address where the machine exposes one.',
    }),
    cpu_milli: Type.Union([Type.Integer(), Type.Null()], { description: 'Total CPU in milli-cores.' }),
    memory_bytes: NullableInteger,
    disk_bytes: NullableInteger,
    console_port: Type.Union([Type.Integer(), Type.Null()], {
      description: "The agent's local console/status port.",
    }),
    first_seen: Timestamp,
    last_seen: Timestamp,
    last_boot: NullableTimestamp,
    request_signing: Type.Union([Type.Literal('enforced'), Type.Literal('off')], {
      description:
        'enforced: the agent runs only requests signed by a key it trusts; off: it runs unsigned requests ' +
        '(compatible mode, or a Triton Ur agent): the node is unprotected.',
    }),
    key_status: Type.Union([Type.Literal('none'), Type.Literal('pinned'), Type.Literal('mismatch')], {
      description:
        "none: no agent key known (Triton agent, or forgotten); pinned: the node's messages are checked " +
        'against the key pinned on first use; mismatch: messages came signed by another key (or unsigned) ' +
        'and were not recorded.',
    }),
  },
  { title: 'NodeSummary' },
);
export type NodeSummary = Static<typeof NodeSummarySchema>;

export const NodeDetailSchema = Type.Composite(
  [
    NodeSummarySchema,
    Type.Object({
      public_key: Type.Union([Type.String(), Type.Null()], { description: 'The pinned agent key.' }),
      offered_key: Type.Union([Type.String(), Type.Null()], {
        description: 'A different key the node proved it holds; `urctl nodes trust` pins it.',
      }),
      sysinfo: SysinfoSchema,
      last_heartbeat: Type.Union([
        Type.Object({
          seq: Type.Integer(),
          at: Timestamp,
          load: Type.Array(Type.Number()),
          mem_free_mib: Type.Number(),
          running: Type.Integer(),
          services: Type.Optional(ServiceCountsSchema),
        }),
        Type.Null(),
      ]),
      artifacts: Type.Array(ArtifactSummarySchema, {
        description:
          'Installed software artifacts, as the node last announced them (empty for Triton agents).',
      }),
      services: Type.Array(NodeServiceSchema, {
        description:
          "The node's supervised services and their states, from its service events, by coordinate.",
      }),
    }),
  ],
  { title: 'NodeDetail' },
);
export type NodeDetail = Static<typeof NodeDetailSchema>;

export const NodeListSchema = Type.Object(
  {
    nodes: Type.Array(NodeSummarySchema),
    total: Type.Integer({ description: 'Nodes matching the selector, over all pages.' }),
    next: Type.Union([Type.String(), Type.Null()], {
      description: 'Pass as `after` for the next page; null on the last page.',
    }),
  },
  { title: 'NodeList' },
);
export type NodeList = Static<typeof NodeListSchema>;

/** Most nodes one page of GET /v1/nodes returns. */
export const MAX_PAGE_SIZE = 10_000;
export const DEFAULT_PAGE_SIZE = 1_000;

export const NodeListQuerySchema = Type.Object({
  where: Type.Optional(Type.String({ description: 'A node selector (see the README); default all.' })),
  limit: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_PAGE_SIZE, default: DEFAULT_PAGE_SIZE })),
  after: Type.Optional(Type.String({ description: 'The `next` of the previous page.' })),
});
export type NodeListQuery = Static<typeof NodeListQuerySchema>;

export const NodePatchBodySchema = Type.Object(
  {
    labels: Type.Record(
      Type.String({ pattern: LABEL_KEY_PATTERN }),
      Type.Union([Type.String({ maxLength: 256 }), Type.Null()]),
      { description: "Merged into the node's labels; null removes a label.", additionalProperties: false },
    ),
  },
  { title: 'NodePatchBody', additionalProperties: false },
);
export type NodePatchBody = Static<typeof NodePatchBodySchema>;

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
