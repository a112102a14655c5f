import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { NodeStatusSchema, type NodeStatus } from './api.js';
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
    ...Object.values(STATUS_EVENTS).map((type) => envelope(type, TransitionDataSchema)),
  ],
  { title: 'NodeEvent' },
);

export type NodeEvent =
  | { id: string; type: 'node.registered'; at: string; node_id: string; data: RegisteredData }
  | { id: string; type: 'node.updated'; at: string; node_id: string; data: UpdatedData }
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

/** Everything the headnode's event log holds. */
export type StoredEvent = NodeEvent | ServiceNodeEvent;
