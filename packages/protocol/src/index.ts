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
export { check, checkExecuteRequest, decodeExecuteRequest } from './validate.js';
export {
  ExecuteBodySchema,
  ExecuteResponseSchema,
  NODE_STATUSES,
  NodeDetailSchema,
  NodeListSchema,
  NodeStatusSchema,
  NodeSummarySchema,
  PingResponseSchema,
  type ExecuteBody,
  type ExecuteResponse,
  type NodeDetail,
  type NodeList,
  type NodeStatus,
  type NodeSummary,
  type PingResponse,
} from './api.js';
