// Everything in the wire entry, plus the schemas and validators.
export * from './wire.js';
export { ErrorBodySchema, MAX_TIMEOUT_SECONDS } from './messages/common.js';
export {
  ExecuteRequestSchema,
  FileRequestSchema,
  requestSchemas,
  ScriptRequestSchema,
} from './messages/execute-request.js';
export { ExecuteReplySchema, LegacyReplySchema } from './messages/execute-reply.js';
export { CANCEL_STATES, CancelRequestSchema, CancelResultSchema } from './messages/cancel.js';
export { normalizeReply } from './messages/normalize-reply.js';
export { NetworkInterfaceSchema, SysinfoSchema, UrAgentInfoSchema } from './messages/sysinfo.js';
export { HeartbeatSchema, PingAckSchema, PingRequestSchema, ShutdownSchema } from './messages/liveness.js';
export { ProgressEventSchema } from './messages/progress.js';
export {
  ArtifactInstallRequestSchema,
  ArtifactInstallResultSchema,
  ArtifactListRequestSchema,
  ArtifactListResultSchema,
  ArtifactRemoveRequestSchema,
  ArtifactRemoveResultSchema,
  ArtifactSummarySchema,
  InstalledArtifactSchema,
} from './messages/artifact.js';
export {
  ArtifactInstallBodySchema,
  ArtifactInstallResponseSchema,
  ArtifactListResponseSchema,
  ArtifactRemoveResponseSchema,
  type ArtifactInstallBody,
  type ArtifactInstallResponse,
  type ArtifactListResponse,
  type ArtifactRemoveResponse,
} from './api-artifacts.js';
export { check } from './validate.js';
export {
  DEFAULT_PAGE_SIZE,
  ExecuteBodySchema,
  ExecuteResponseSchema,
  LABEL_KEY_PATTERN,
  LabelsSchema,
  MAX_PAGE_SIZE,
  NODE_STATUSES,
  NodeDetailSchema,
  NodeListQuerySchema,
  NodeListSchema,
  NodePatchBodySchema,
  NodeStatusSchema,
  NodeSummarySchema,
  PingResponseSchema,
  type ExecuteBody,
  type ExecuteResponse,
  type NodeDetail,
  type NodeList,
  type NodeListQuery,
  type NodePatchBody,
  type NodeStatus,
  type NodeSummary,
  type PingResponse,
} from './api.js';
export {
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
} from './api-reservations.js';
export {
  COMMAND_STATUSES,
  CommandListQuerySchema,
  CommandListSchema,
  CommandRecordSchema,
  type CommandListQuery,
  type CommandList,
  type CommandRecord,
  type CommandStatus,
} from './api-commands.js';
export {
  KeyForgottenDataSchema,
  KeyMismatchDataSchema,
  KeyPinnedDataSchema,
  type KeyForgottenData,
  type KeyMismatchData,
  type KeyPinnedData,
  NODE_EVENT_TYPES,
  NodeEventSchema,
  NodeTransitionListSchema,
  NodeTransitionSchema,
  RegisteredDataSchema,
  STATUS_EVENTS,
  TransitionDataSchema,
  UpdatedDataSchema,
  type NodeEvent,
  type NodeEventType,
  type NodeTransition,
  type NodeTransitionList,
  type RegisteredData,
  type StatusEventType,
  type TransitionData,
  type UpdatedData,
} from './events.js';
