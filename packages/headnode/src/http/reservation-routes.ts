import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import {
  ComputeRequestSchema,
  ComputeReservationSchema,
  NodeReservationsSchema,
  RESERVATION_NAME_PATTERN,
  ScheduleComputeBodySchema,
  ScheduleStorageBodySchema,
  StorageRequestSchema,
  StorageReservationSchema,
  type ComputeRequest,
  type ComputeReservation,
  type NodeReservations,
  type ScheduleComputeBody,
  type ScheduleStorageBody,
  type StorageRequest,
  type StorageReservation,
} from '@ur/protocol';
import { ApiError, NodeNotFoundError, type ReservationKind } from '../errors.js';
import type { ComputeReservationRow, StorageReservationRow } from '../store/reservation-store.js';
import type { HeadnodeStores } from '../store/stores.js';
import { nodeFilter } from './node-selection.js';
import { errors, NodeParams } from './node-routes.js';

const iso = (ms: number): string => new Date(ms).toISOString();

function toCompute(row: ComputeReservationRow): ComputeReservation {
  return { ...row, created_at: iso(row.created_at) };
}

function toStorage(row: StorageReservationRow): StorageReservation {
  return { ...row, created_at: iso(row.created_at) };
}

/** A limit below its request is a mistake, not an overcommit. */
function checkLimits(body: { [k: string]: unknown }, pairs: [request: string, limit: string][]): void {
  for (const [request, limit] of pairs) {
    const r = body[request] as number;
    const l = body[limit] as number | undefined;
    if (l !== undefined && l < r)
      throw new ApiError('VALIDATION_FAILED', `${limit} (${l}) is below ${request} (${r})`);
  }
}
const COMPUTE_LIMITS: [string, string][] = [
  ['request_cpu_milli', 'limit_cpu_milli'],
  ['request_memory_bytes', 'limit_memory_bytes'],
];
const STORAGE_LIMITS: [string, string][] = [['request_bytes', 'limit_bytes']];

const ReservationParams = Type.Object({
  id: NodeParams.properties.id,
  name: Type.String({ pattern: RESERVATION_NAME_PATTERN }),
});

/** Reservations on a node, and placement of new ones (n0stack's Reserve/Release/Schedule). */
export function registerReservationRoutes(app: FastifyInstance, stores: HeadnodeStores): void {
  const { nodes, reservations } = stores;

  app.get<{ Params: { id: string } }>(
    '/v1/nodes/:id/reservations',
    {
      schema: {
        summary: "A node's capacity, what is reserved, and its reservations",
        params: NodeParams,
        response: { 200: NodeReservationsSchema, ...errors(400, 404) },
      },
    },
    async (request): Promise<NodeReservations> => {
      const { id } = request.params;
      const node = await nodes.get(id);
      if (!node) throw new NodeNotFoundError(id);
      const { compute, storage } = await reservations.forNode(id);
      const sum = (values: number[]): number => values.reduce((a, b) => a + b, 0);
      return {
        node_id: id,
        capacity: { cpu_milli: node.cpu_milli, memory_bytes: node.memory_bytes, disk_bytes: node.disk_bytes },
        reserved: {
          cpu_milli: sum(compute.map((c) => c.request_cpu_milli)),
          memory_bytes: sum(compute.map((c) => c.request_memory_bytes)),
          disk_bytes: sum(storage.map((s) => s.request_bytes)),
        },
        compute: compute.map(toCompute),
        storage: storage.map(toStorage),
      };
    },
  );

  app.post<{ Params: { id: string }; Body: ComputeRequest }>(
    '/v1/nodes/:id/reservations/compute',
    {
      schema: {
        summary: 'Reserve CPU and memory on a node under a name',
        description:
          "Refused with 409 INSUFFICIENT_CAPACITY when the requests exceed the node's unreserved capacity.",
        params: NodeParams,
        body: ComputeRequestSchema,
        response: { 201: ComputeReservationSchema, ...errors(400, 404, 409) },
      },
    },
    async (request, reply): Promise<ComputeReservation> => {
      checkLimits(request.body, COMPUTE_LIMITS);
      const row = await reservations.reserveCompute(request.params.id, request.body);
      void reply.status(201);
      return toCompute(row);
    },
  );

  app.post<{ Params: { id: string }; Body: StorageRequest }>(
    '/v1/nodes/:id/reservations/storage',
    {
      schema: {
        summary: 'Reserve disk space on a node under a name',
        description:
          "Refused with 409 INSUFFICIENT_CAPACITY when the request exceeds the node's unreserved disk.",
        params: NodeParams,
        body: StorageRequestSchema,
        response: { 201: StorageReservationSchema, ...errors(400, 404, 409) },
      },
    },
    async (request, reply): Promise<StorageReservation> => {
      checkLimits(request.body, STORAGE_LIMITS);
      const row = await reservations.reserveStorage(request.params.id, request.body);
      void reply.status(201);
      return toStorage(row);
    },
  );

  for (const kind of ['compute', 'storage'] as const satisfies ReservationKind[]) {
    app.delete<{ Params: { id: string; name: string } }>(
      `/v1/nodes/:id/reservations/${kind}/:name`,
      {
        schema: {
          summary: `Release a ${kind} reservation`,
          params: ReservationParams,
          response: { 204: Type.Null(), ...errors(400, 404) },
        },
      },
      async (request, reply) => {
        await reservations.release(kind, request.params.id, request.params.name);
        return reply.status(204).send();
      },
    );
  }

  app.post<{ Body: ScheduleComputeBody }>(
    '/v1/schedule/compute',
    {
      schema: {
        summary: 'Place a compute reservation on a ready node with room (spread), atomically',
        description:
          'Picks, among ready nodes matching `where`, the one left least loaded, and reserves there in one ' +
          'transaction; concurrent calls never over-commit a node. 409 NO_CAPACITY when none has room.',
        body: ScheduleComputeBodySchema,
        response: { 201: ComputeReservationSchema, ...errors(400, 409) },
      },
    },
    async (request, reply): Promise<ComputeReservation> => {
      const { where, ...wanted } = request.body;
      checkLimits(wanted, COMPUTE_LIMITS);
      const row = await reservations.scheduleCompute(wanted, nodeFilter(where));
      void reply.status(201);
      return toCompute(row);
    },
  );

  app.post<{ Body: ScheduleStorageBody }>(
    '/v1/schedule/storage',
    {
      schema: {
        summary: 'Place a storage reservation on a ready node with room (spread), atomically',
        body: ScheduleStorageBodySchema,
        response: { 201: StorageReservationSchema, ...errors(400, 409) },
      },
    },
    async (request, reply): Promise<StorageReservation> => {
      const { where, ...wanted } = request.body;
      checkLimits(wanted, STORAGE_LIMITS);
      const row = await reservations.scheduleStorage(wanted, nodeFilter(where));
      void reply.status(201);
      return toStorage(row);
    },
  );
}
