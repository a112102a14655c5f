import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { NodeStatusSchema, type NodeStatus } from './api.js';

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
