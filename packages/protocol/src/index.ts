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
export { ErrorBodySchema, MAX_TIMEOUT_SECONDS } from './messages/common.js';
export {
  ExecuteRequestSchema,
  FileRequestSchema,
  REQUEST_TYPES,
  requestSchemas,
  ScriptRequestSchema,
  type ExecuteRequest,
  type FileRequest,
  type RequestType,
  type ScriptRequest,
} from './messages/execute-request.js';
export {
  ExecuteReplySchema,
  LegacyReplySchema,
  type ExecuteReply,
  type LegacyReply,
} from './messages/execute-reply.js';
export { normalizeReply } from './messages/normalize-reply.js';
export {
  NetworkInterfaceSchema,
  PROTOCOL_VERSION,
  SysinfoSchema,
  UrAgentInfoSchema,
  type Sysinfo,
  type UrAgentInfo,
} from './messages/sysinfo.js';
export {
  HeartbeatSchema,
  PingAckSchema,
  PingRequestSchema,
  ShutdownSchema,
  type Heartbeat,
  type PingAck,
  type PingRequest,
  type Shutdown,
} from './messages/liveness.js';
export { check, checkExecuteRequest, decodeExecuteRequest, parseJsonBody, type Decoded } from './validate.js';
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
