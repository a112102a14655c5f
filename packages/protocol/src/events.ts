import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { NodeStatusSchema, type NodeStatus } from './api.js';
import { JobNodeStateSchema, JobStateSchema } from './api-jobs.js';
import { JOB_NODE_STATES, type JobNodeState } from './job-states.js';
import { ErrorBodySchema, type ErrorBodyMessage } from './messages/common.js';
import { SERVICE_STATES, type ServiceState } from './messages/service-constants.js';
import { ServiceStateSchema } from './messages/service.js';

/**
 * Node events: what the headnode stores and publishes when a node enters
 * the inventory, changes facts or labels, or changes status. Every event has
 * `{id, type, at, node_id, data}`; `id` is a decimal string that increases
 * with every event across all headnodes sharing a store, so a subscriber can
 * resume after the last id it saw (SSE `Last-Event-ID`, webhook retries).
 */
export const NODE_EVENT_TYPES = [
  'node.registered',
  'node.updated',
  'node.ready',
  'node.suspect',
  'node.down',
  'node.left',
  'node.unknown',
  'node.key_pinned',
  'node.key_mismatch',
  'node.key_forgotten',
  'node.forgotten',
] as const;
export type NodeEventType = (typeof NODE_EVENT_TYPES)[number];

/** The event a transition to each status emits. */
export const STATUS_EVENTS = {
  ready: 'node.ready',
  suspect: 'node.suspect',
  down: 'node.down',
  left: 'node.left',
  unknown: 'node.unknown',
} as const satisfies Record<NodeStatus, NodeEventType>;

export type StatusEventType = (typeof STATUS_EVENTS)[NodeStatus];

export const TransitionDataSchema = Type.Object(
  {
    from: Type.Union([NodeStatusSchema, Type.Null()], { description: 'Null when the node is new.' }),
    to: NodeStatusSchema,
    reason: Type.String(),
  },
  { title: 'TransitionData' },
);
export type TransitionData = Static<typeof TransitionDataSchema>;

export const RegisteredDataSchema = Type.Object(
  {
    hostname: Type.Union([Type.String(), Type.Null()]),
    agent_version: Type.Union([Type.String(), Type.Null()]),
  },
  { title: 'RegisteredData' },
);
export type RegisteredData = Static<typeof RegisteredDataSchema>;

export const FactChangeSchema = Type.Object({ from: Type.Unknown(), to: Type.Unknown() });

export const UpdatedDataSchema = Type.Object(
  {
    changes: Type.Record(Type.String(), FactChangeSchema, {
      description:
        'Each changed field (hostname, serial, labels, memory_bytes, …) with its old and new value.',
    }),
  },
  { title: 'UpdatedData' },
);
export type UpdatedData = Static<typeof UpdatedDataSchema>;

export const KeyPinnedDataSchema = Type.Object(
  {
    public_key: Type.String({ description: 'The key now pinned for the node (`ed25519:<base64>`).' }),
    how: Type.Union([Type.Literal('first-use'), Type.Literal('trusted')], {
      description: 'first-use: from its first announcement; trusted: an operator trusted the key it offered.',
    }),
  },
  { title: 'KeyPinnedData' },
);
export type KeyPinnedData = Static<typeof KeyPinnedDataSchema>;

export const KeyMismatchDataSchema = Type.Object(
  {
    pinned_key: Type.Union([Type.String(), Type.Null()]),
    offered_key: Type.Union([Type.String(), Type.Null()], {
      description: 'A new key the node proved it holds (trust it with urctl nodes trust), else null.',
    }),
    message: Type.String({
      description: 'The kind of message that did not match: startup, sysinfo, execute-reply.',
    }),
    reason: Type.String(),
  },
  { title: 'KeyMismatchData' },
);
export type KeyMismatchData = Static<typeof KeyMismatchDataSchema>;

export const KeyForgottenDataSchema = Type.Object(
  { public_key: Type.Union([Type.String(), Type.Null()], { description: 'The key that was pinned.' }) },
  { title: 'KeyForgottenData' },
);
export type KeyForgottenData = Static<typeof KeyForgottenDataSchema>;
export const ForgottenDataSchema = Type.Object(
  {
    status: NodeStatusSchema,
    reason: Type.String(),
  },
  { title: 'ForgottenData', description: 'The status the node had when it was removed from the inventory.' },
);
export type ForgottenData = Static<typeof ForgottenDataSchema>;

const envelope = <T extends string, D extends TSchema>(type: T, data: D) =>
  Type.Object({
    id: Type.String({ description: 'Increases with every event; resume after it.' }),
    type: Type.Literal(type),
    at: Type.String({ description: 'ISO 8601 time.' }),
    node_id: Type.String(),
    data: data,
  });

export const NodeEventSchema = Type.Union(
  [
    envelope('node.registered', RegisteredDataSchema),
    envelope('node.updated', UpdatedDataSchema),
    envelope('node.key_pinned', KeyPinnedDataSchema),
    envelope('node.key_mismatch', KeyMismatchDataSchema),
    envelope('node.key_forgotten', KeyForgottenDataSchema),
    envelope('node.forgotten', ForgottenDataSchema),
    ...Object.values(STATUS_EVENTS).map((type) => envelope(type, TransitionDataSchema)),
  ],
  { title: 'NodeEvent' },
);

export type NodeEvent =
  | { id: string; type: 'node.registered'; at: string; node_id: string; data: RegisteredData }
  | { id: string; type: 'node.updated'; at: string; node_id: string; data: UpdatedData }
  | { id: string; type: 'node.key_pinned'; at: string; node_id: string; data: KeyPinnedData }
  | { id: string; type: 'node.key_mismatch'; at: string; node_id: string; data: KeyMismatchData }
  | { id: string; type: 'node.key_forgotten'; at: string; node_id: string; data: KeyForgottenData }
  | { id: string; type: 'node.forgotten'; at: string; node_id: string; data: ForgottenData }
  | { id: string; type: StatusEventType; at: string; node_id: string; data: TransitionData };

export const NodeTransitionSchema = Type.Object(
  {
    event_id: Type.String(),
    at: Type.String(),
    from: Type.Union([NodeStatusSchema, Type.Null()]),
    to: NodeStatusSchema,
    reason: Type.String(),
  },
  { title: 'NodeTransition' },
);
export type NodeTransition = Static<typeof NodeTransitionSchema>;

export const NodeTransitionListSchema = Type.Object(
  { node_id: Type.String(), transitions: Type.Array(NodeTransitionSchema) },
  { title: 'NodeTransitionList' },
);
export type NodeTransitionList = Static<typeof NodeTransitionListSchema>;

/**
 * Service events: the headnode turns each `ur.event.<node>.service` from an
 * agent into `service.<state>` (the state the service entered), in the same
 * log and id sequence as node events, with the same envelope.
 */
export type ServiceEventType = `service.${ServiceState}`;
export const SERVICE_EVENT_TYPES = SERVICE_STATES.map((s): ServiceEventType => `service.${s}`);
export const serviceEventType = (state: ServiceState): ServiceEventType => `service.${state}`;

export const ServiceTransitionDataSchema = Type.Object(
  {
    coordinate: Type.String(),
    artifact: Type.String(),
    from: Type.Union([ServiceStateSchema, Type.Null()], {
      description: 'Null: the first report since the agent (re)started.',
    }),
    to: ServiceStateSchema,
    exit_status: Type.Union([Type.Integer(), Type.Null()]),
    signal: Type.Union([Type.String(), Type.Null()]),
    pid: Type.Union([Type.Integer(), Type.Null()]),
    restarts: Type.Integer({ minimum: 0 }),
    forgotten: Type.Boolean({ description: 'Stopped and forgotten: the inventory no longer lists it.' }),
  },
  { title: 'ServiceTransitionData' },
);
export type ServiceTransitionData = Static<typeof ServiceTransitionDataSchema>;

export const ServiceNodeEventSchema = Type.Union(
  SERVICE_EVENT_TYPES.map((type) => envelope(type, ServiceTransitionDataSchema)),
  { title: 'ServiceNodeEvent' },
);
export interface ServiceNodeEvent {
  id: string;
  type: ServiceEventType;
  at: string;
  node_id: string;
  data: ServiceTransitionData;
}

/**
 * Job events share the node events' id sequence (one log, one `Last-Event-ID`).
 * `job.node.<state>` is written with every change of a node's state in a
 * job, in the same transaction, so each final state is one event.
 */
export const JOB_LEVEL_EVENT_TYPES = [
  'job.created',
  'job.cancelling',
  'job.resumed',
  'job.completed',
] as const;
export type JobLevelEventType = (typeof JOB_LEVEL_EVENT_TYPES)[number];
export type JobNodeEventType = `job.node.${JobNodeState}`;
export const JOB_NODE_EVENT_TYPES = JOB_NODE_STATES.map((s): JobNodeEventType => `job.node.${s}`);
export const jobNodeEventType = (state: JobNodeState): JobNodeEventType => `job.node.${state}`;

/** What job.created and job.completed say about the job (GET /v1/jobs/:id has the rest). */
export const JobEventSummarySchema = Type.Object(
  {
    state: JobStateSchema,
    kind: Type.Union([Type.Literal('fanout'), Type.Literal('execute')]),
    target: Type.String(),
    created_by: Type.String(),
    total: Type.Integer(),
    counts: Type.Record(Type.String(), Type.Integer()),
    stopped_reason: Type.Union([Type.String(), Type.Null()]),
  },
  { title: 'JobEventSummary' },
);
export type JobEventSummary = Omit<Static<typeof JobEventSummarySchema>, 'counts'> & {
  counts: Record<JobNodeState, number>;
};

export const JobNodeEventDataSchema = Type.Object(
  {
    request_id: Type.String(),
    state: JobNodeStateSchema,
    exit_status: Type.Union([Type.Integer(), Type.Null()]),
    signal: Type.Union([Type.String(), Type.Null()]),
    duration_ms: Type.Union([Type.Number(), Type.Null()]),
    error: Type.Union([ErrorBodySchema, Type.Null()]),
    detail: Type.Union([Type.String(), Type.Null()]),
  },
  { title: 'JobNodeEventData' },
);
export interface JobNodeEventData {
  request_id: string;
  state: JobNodeState;
  exit_status: number | null;
  signal: string | null;
  duration_ms: number | null;
  error: ErrorBodyMessage | null;
  detail: string | null;
}

export const JobCancellingDataSchema = Type.Object(
  { requested_by: Type.String() },
  { title: 'JobCancellingData' },
);
export type JobCancellingData = Static<typeof JobCancellingDataSchema>;

export const JobResumedDataSchema = Type.Object(
  {
    by: Type.String({ description: 'The headnode that took the job over.' }),
    previous_owner: Type.Union([Type.String(), Type.Null()]),
    pending: Type.Integer({ description: 'Nodes not sent yet, dispatched from now on.' }),
    in_flight: Type.Integer({ description: 'Nodes sent before; their replies are still recorded.' }),
  },
  { title: 'JobResumedData' },
);
export type JobResumedData = Static<typeof JobResumedDataSchema>;

const jobEnvelope = <T extends string, D extends TSchema>(type: T, data: D, withNode: boolean) =>
  Type.Object({
    id: Type.String({ description: 'Increases with every event; resume after it.' }),
    type: Type.Literal(type),
    at: Type.String({ description: 'ISO 8601 time.' }),
    job_id: Type.String(),
    ...(withNode ? { node_id: Type.String() } : {}),
    data: data,
  });

export const JobEventSchema = Type.Union(
  [
    jobEnvelope('job.created', JobEventSummarySchema, false),
    jobEnvelope('job.cancelling', JobCancellingDataSchema, false),
    jobEnvelope('job.resumed', JobResumedDataSchema, false),
    jobEnvelope('job.completed', JobEventSummarySchema, false),
    ...JOB_NODE_EVENT_TYPES.map((type) => jobEnvelope(type, JobNodeEventDataSchema, true)),
  ],
  { title: 'JobEvent' },
);

export type JobEvent =
  | { id: string; type: 'job.created' | 'job.completed'; at: string; job_id: string; data: JobEventSummary }
  | { id: string; type: 'job.cancelling'; at: string; job_id: string; data: JobCancellingData }
  | { id: string; type: 'job.resumed'; at: string; job_id: string; data: JobResumedData }
  | {
      id: string;
      type: JobNodeEventType;
      at: string;
      job_id: string;
      node_id: string;
      data: JobNodeEventData;
    };

export type JobEventType = JobEvent['type'];

/** Every event the headnode stores, streams (`GET /v1/events`) and delivers to webhooks. */
export const UrEventSchema = Type.Union(
  [...NodeEventSchema.anyOf, ...ServiceNodeEventSchema.anyOf, ...JobEventSchema.anyOf],
  { title: 'Event' },
);
export type UrEvent = NodeEvent | ServiceNodeEvent | JobEvent;
export type UrEventType = UrEvent['type'];

export const isJobEvent = (event: UrEvent): event is JobEvent => event.type.startsWith('job.');
export const isNodeEvent = (event: UrEvent): event is NodeEvent => event.type.startsWith('node.');
export const isServiceEvent = (event: UrEvent): event is ServiceNodeEvent =>
  event.type.startsWith('service.');
