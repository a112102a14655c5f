import { Type, type Static } from '@sinclair/typebox';

/**
 * Reservations (as n0stack's node service): compute or storage capacity set
 * aside under a name on a node. Requests count against the node's capacity;
 * limits (default: the request) are what the workload may burst to and are
 * not summed.
 */
export const RESERVATION_NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$';
const Name = Type.String({ pattern: RESERVATION_NAME_PATTERN });
const Quantity = Type.Integer({ minimum: 0 });
const Timestamp = Type.String({ description: 'ISO 8601 time.' });

export const ComputeRequestSchema = Type.Object(
  {
    name: Name,
    request_cpu_milli: Quantity,
    limit_cpu_milli: Type.Optional(Quantity),
    request_memory_bytes: Quantity,
    limit_memory_bytes: Type.Optional(Quantity),
  },
  { title: 'ComputeRequest', additionalProperties: false },
);
export type ComputeRequest = Static<typeof ComputeRequestSchema>;

export const StorageRequestSchema = Type.Object(
  { name: Name, request_bytes: Quantity, limit_bytes: Type.Optional(Quantity) },
  { title: 'StorageRequest', additionalProperties: false },
);
export type StorageRequest = Static<typeof StorageRequestSchema>;

const Where = Type.Optional(
  Type.String({ description: 'Constraints on the node, as a selector: labels and facts (see the README).' }),
);

export const ScheduleComputeBodySchema = Type.Object(
  { ...ComputeRequestSchema.properties, where: Where },
  { title: 'ScheduleComputeBody', additionalProperties: false },
);
export type ScheduleComputeBody = Static<typeof ScheduleComputeBodySchema>;

export const ScheduleStorageBodySchema = Type.Object(
  { ...StorageRequestSchema.properties, where: Where },
  { title: 'ScheduleStorageBody', additionalProperties: false },
);
export type ScheduleStorageBody = Static<typeof ScheduleStorageBodySchema>;

export const ComputeReservationSchema = Type.Object(
  {
    node_id: Type.String(),
    name: Type.String(),
    request_cpu_milli: Quantity,
    limit_cpu_milli: Quantity,
    request_memory_bytes: Quantity,
    limit_memory_bytes: Quantity,
    created_at: Timestamp,
  },
  { title: 'ComputeReservation' },
);
export type ComputeReservation = Static<typeof ComputeReservationSchema>;

export const StorageReservationSchema = Type.Object(
  {
    node_id: Type.String(),
    name: Type.String(),
    request_bytes: Quantity,
    limit_bytes: Quantity,
    created_at: Timestamp,
  },
  { title: 'StorageReservation' },
);
export type StorageReservation = Static<typeof StorageReservationSchema>;

const Amounts = Type.Object({
  cpu_milli: Type.Union([Quantity, Type.Null()]),
  memory_bytes: Type.Union([Quantity, Type.Null()]),
  disk_bytes: Type.Union([Quantity, Type.Null()]),
});

export const NodeReservationsSchema = Type.Object(
  {
    node_id: Type.String(),
    capacity: Type.Composite([Amounts], { description: 'What the node reported; null when unknown.' }),
    reserved: Type.Composite([Amounts], { description: 'Sum of the requests of its reservations.' }),
    compute: Type.Array(ComputeReservationSchema),
    storage: Type.Array(StorageReservationSchema),
  },
  { title: 'NodeReservations' },
);
export type NodeReservations = Static<typeof NodeReservationsSchema>;
