import { Type, type Static } from '@sinclair/typebox';
import {
  ServiceDrainRequestSchema,
  ServiceInfoSchema,
  ServiceListResultSchema,
  ServiceLogsResultSchema,
  ServiceStartRequestSchema,
  ServiceStartResultSchema,
  ServiceStateSchema,
  ServiceStopRequestSchema,
  ServiceStopResultSchema,
} from './messages/service.js';

/** Schemas of the headnode's service routes (`/v1/nodes/:id/services`). */
const RequestRef = Type.Object({ node_id: Type.String(), request_id: Type.String() });

export const ServiceStartBodySchema = Type.Pick(
  ServiceStartRequestSchema,
  ['coordinate', 'artifact', 'options', 'restart', 'overrides', 'timeout'],
  { title: 'ServiceStartBody', additionalProperties: false },
);
export type ServiceStartBody = Static<typeof ServiceStartBodySchema>;

export const ServiceStopBodySchema = Type.Pick(ServiceStopRequestSchema, ['forget', 'timeout'], {
  title: 'ServiceStopBody',
  additionalProperties: false,
});
export type ServiceStopBody = Static<typeof ServiceStopBodySchema>;

export const ServiceDrainBodySchema = Type.Pick(ServiceDrainRequestSchema, ['drain_timeout', 'timeout'], {
  title: 'ServiceDrainBody',
  additionalProperties: false,
});
export type ServiceDrainBody = Static<typeof ServiceDrainBodySchema>;

export const ServiceRestartBodySchema = Type.Object(
  { timeout: ServiceStartRequestSchema.properties.timeout },
  { title: 'ServiceRestartBody', additionalProperties: false },
);
export type ServiceRestartBody = Static<typeof ServiceRestartBodySchema>;

export const ServiceStartResponseSchema = Type.Composite([RequestRef, ServiceStartResultSchema], {
  title: 'ServiceStartResponse',
});
export type ServiceStartResponse = Static<typeof ServiceStartResponseSchema>;

export const ServiceStopResponseSchema = Type.Composite([RequestRef, ServiceStopResultSchema], {
  title: 'ServiceStopResponse',
});
export type ServiceStopResponse = Static<typeof ServiceStopResponseSchema>;

export const ServiceInfoResponseSchema = Type.Composite([RequestRef, ServiceInfoSchema], {
  title: 'ServiceInfoResponse',
});
export type ServiceInfoResponse = Static<typeof ServiceInfoResponseSchema>;

export const ServiceListResponseSchema = Type.Composite([RequestRef, ServiceListResultSchema], {
  title: 'ServiceListResponse',
});
export type ServiceListResponse = Static<typeof ServiceListResponseSchema>;

export const ServiceLogsResponseSchema = Type.Composite([RequestRef, ServiceLogsResultSchema], {
  title: 'ServiceLogsResponse',
});
export type ServiceLogsResponse = Static<typeof ServiceLogsResponseSchema>;

/** What the inventory keeps about a node's service, from its `ur.event.<node>.service` events. */
export const NodeServiceSchema = Type.Object(
  {
    coordinate: Type.String(),
    artifact: Type.String(),
    state: ServiceStateSchema,
    since: Type.String({ description: 'When the node reported the state (its clock, ISO 8601).' }),
    pid: Type.Union([Type.Integer(), Type.Null()]),
    restarts: Type.Integer({ minimum: 0 }),
    exit_status: Type.Union([Type.Integer(), Type.Null()], { description: 'Of the last exit, if reported.' }),
    signal: Type.Union([Type.String(), Type.Null()]),
  },
  { title: 'NodeService' },
);
export type NodeService = Static<typeof NodeServiceSchema>;
