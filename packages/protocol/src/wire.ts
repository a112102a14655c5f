/**
 * The part of the protocol that needs no schema library: ids, routing keys,
 * error codes, constants and message types. The agent imports this entry
 * (`@ur/protocol/wire`) at start-up and loads the validators (TypeBox, ajv:
 * tens of milliseconds of module loading) only after it has announced itself.
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
export { PROTOCOL_VERSION, REQUEST_TYPES, type RequestType } from './constants.js';
export { parseJsonBody, type Decoded } from './json-body.js';
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
export { NDJSON_CONTENT_TYPE, type StreamLine } from './api-stream.js';
export type { ExecuteRequest, FileRequest, ScriptRequest } from './messages/execute-request.js';
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
