/**
 * The part of the protocol that needs no schema library at run time: ids,
 * routing keys, error codes, constants, message types and the precompiled
 * request validators. The agent and urctl import this entry
 * (`@ur/protocol/wire`); TypeBox and ajv (tens of milliseconds and megabytes
 * of module loading) stay out of their processes.
 */
export {
  assertNodeId,
  assertRequestId,
  assertWord,
  isWord,
  MAX_ID_LENGTH,
  WORD_PATTERN,
  type IdKind,
} from './ids.js';
export {
  ErrorCodes,
  httpStatusOf,
  InvalidIdError,
  InvalidRoutingKeyError,
  isErrorCode,
  UrError,
  type ErrorBody,
  type ErrorCode,
} from './errors.js';
export {
  ackKey,
  BROADCAST_KINDS,
  bindings,
  broadcastKey,
  eventKey,
  executeKey,
  executeProgressKey,
  executeReplyKey,
  expiredKey,
  heartbeatKey,
  parseRoutingKey,
  pingKey,
  shutdownKey,
  startupKey,
  sysinfoKey,
  type BroadcastKind,
  type RoutingKey,
  type RoutingKeyKind,
} from './routing-keys.js';
export { silentLogger, type Logger } from './logger.js';
export { redactUrl } from './redact-url.js';
export { REDACTED, redactRequest } from './redact.js';
export {
  generateSigningKey,
  InvalidKeyError,
  parsePrivateKey,
  parsePublicKey,
  parsePublicKeys,
  PUBLIC_KEY_PREFIX,
  publicKeyOf,
  type PublicKey,
} from './signing/public-key.js';
export {
  MessageSigner,
  readSignatureHeaders,
  requestIdOf,
  signatureMatches,
  SIGNATURE_HEADERS,
  signedBy,
  signingPayload,
  type ReceivedMessage,
  type SignatureFields,
  type SignatureHeaders,
} from './signing/signature.js';
export {
  RequestVerifier,
  type RequestVerifierOptions,
  type Verification,
} from './signing/request-verifier.js';
export { PROTOCOL_VERSION, REQUEST_TYPES, type RequestType } from './constants.js';
export { parseJsonBody, type Decoded } from './json-body.js';
export { checkExecuteRequest, checkPingRequest, decodeExecuteRequest } from './request-decoder.js';
export {
  matchesSelector,
  parseQuantity,
  parseSelector,
  SELECTOR_OPS,
  SelectorError,
  selectorUses,
  type FactLookup,
  type Selector,
  type SelectorCondition,
  type SelectorOp,
} from './selector.js';
export {
  artifactArchivePath,
  COORDINATE_PATTERN,
  formatCoordinate,
  InvalidCoordinateError,
  isCoordinate,
  MAX_COORDINATE_PART_LENGTH,
  parseCoordinate,
  type ArtifactCoordinate,
} from './artifact-coordinate.js';
export {
  formatServiceCoordinate,
  InvalidServiceCoordinateError,
  isServiceCoordinate,
  MAX_SERVICE_PART_LENGTH,
  parseServiceCoordinate,
  SERVICE_COORDINATE_PATTERN,
  serviceRuntimeSegments,
  type ServiceCoordinate,
} from './service-coordinate.js';
export { checkServiceManifest } from './request-decoder.js';
export {
  MAX_LOG_LINES,
  RESTART_POLICIES,
  SERVICE_STATES,
  type RestartPolicyName,
  type ServiceState,
} from './messages/service-constants.js';
export type {
  HealthCheck,
  PreparedStep,
  PrepareStep,
  RestartPolicy,
  ServiceCounts,
  ServiceDrainRequest,
  ServiceEvent,
  ServiceExit,
  ServiceInfo,
  ServiceListRequest,
  ServiceListResult,
  ServiceLogsRequest,
  ServiceLogsResult,
  ServiceManifest,
  ServiceOverrides,
  ServiceRestartRequest,
  ServiceStartRequest,
  ServiceStartResult,
  ServiceStatusRequest,
  ServiceStopRequest,
  ServiceStopResult,
} from './messages/service.js';
export { NDJSON_CONTENT_TYPE, type StreamLine } from './api-stream.js';
export type { ExecuteRequest, FileRequest, ScriptRequest } from './messages/execute-request.js';
export type { CancelRequest, CancelResult } from './messages/cancel.js';
export type { ExecuteReply, LegacyReply } from './messages/execute-reply.js';
export type { Sysinfo, UrAgentInfo } from './messages/sysinfo.js';
export type { Heartbeat, PingAck, PingRequest, Shutdown } from './messages/liveness.js';
export type { ProgressEvent } from './messages/progress.js';
export type {
  ArtifactInstallRequest,
  ArtifactInstallResult,
  ArtifactListRequest,
  ArtifactListResult,
  ArtifactRemoveRequest,
  ArtifactRemoveResult,
  ArtifactSummary,
  InstalledArtifact,
} from './messages/artifact.js';
export {
  ERROR_NODE_STATES,
  FINAL_NODE_STATES,
  isErrorNodeState,
  isFinalNodeState,
  JOB_NODE_STATE_MEANINGS,
  JOB_NODE_STATES,
  JOB_STATES,
  nodeStateRank,
  type FinalNodeState,
  type JobNodeState,
  type JobState,
} from './job-states.js';
export {
  FanOutLimitError,
  formatFanOutLimit,
  parseFanOutLimit,
  resolveFanOutLimit,
  type FanOutLimit,
} from './fan-out-limit.js';
export { readSse, type SseMessage } from './sse.js';
export {
  EVENT_PATTERN,
  isEventPattern,
  matchesAnyEventPattern,
  matchesEventPattern,
} from './event-pattern.js';
