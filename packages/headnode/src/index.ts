export { Headnode } from './headnode.js';
export { runAdminCommand } from './admin/run-admin.js';
export type { AdminIo } from './admin/admin-io.js';
export { generateToken, hashSecret, parseToken, secretMatches } from './auth/api-tokens.js';
export { API_ROLES, roleAllows, roleFor, type ApiRole } from './auth/roles.js';
export {
  announcedKey,
  judgeAnnouncement,
  judgeReply,
  NodeKeys,
  type Judgement,
  type NodeKeysOptions,
} from './node-keys.js';
export { HEADNODE_FLAGS, parseHeadnodeConfig, type HeadnodeConfig } from './config.js';
export {
  ApiError,
  CommandNotPendingError,
  HookNotFoundError,
  InsufficientCapacityError,
  JobFinishedError,
  JobNotFoundError,
  NoCapacityError,
  NodeKeyMismatchError,
  NodeNotFoundError,
  NodeOfflineError,
  NoTargetNodesError,
  ReplyTimeoutError,
  ReservationExistsError,
  ReservationNotFoundError,
  StoreError,
} from './errors.js';
export { EventBus, type EventListener } from './event-bus.js';
export { nextStatus, type LivenessFacts, type LivenessSettings, type Transition } from './liveness-rules.js';
export { factsFromSysinfo } from './node-patches.js';
export { nodeFacts } from './node-facts.js';
export {
  compileHeadnodeOptions,
  parseListen,
  type CompiledHeadnodeOptions,
  type HeadnodeOptions,
} from './options.js';
export { openDatabase, type Dialect } from './store/open-database.js';
export { CommandStore } from './store/command-store.js';
export { EventStore, type NewEvent } from './store/event-store.js';
export { HookOutbox } from './hooks/hook-outbox.js';
export { HookService, type HookServiceOptions } from './hooks/hook-service.js';
export { HookStore, type DeliveryRow, type HookRow } from './store/hook-store.js';
export { JobStore, type JobRow, type NewJob, type NewJobNode } from './store/job-store.js';
export { JobManager } from './jobs/job-manager.js';
export { OutputHub, type OutputHubOptions } from './jobs/output-hub.js';
export { UnissuedRequests } from './unissued-requests.js';
export { stateOfReply } from './jobs/node-state.js';
export { LivenessStore } from './store/liveness-store.js';
export { NodeStore, type NodeFacts, type NodePatch, type NodeRow } from './store/node-store.js';
export { ReservationStore, type NodeFilter } from './store/reservation-store.js';
export { NodeKeyStore, type NodeKeyRow } from './store/node-key-store.js';
export { TokenStore, type Authenticated, type TokenRow } from './store/token-store.js';
export { ServiceStore, type ServiceRecordOutcome } from './store/service-store.js';
export type { HeadnodeStores } from './store/stores.js';
export { HEADNODE_VERSION } from './version.js';
export { InventoryWriter, type InventoryWriterOptions } from './inventory-writer.js';
export { withStatementCache } from './store/statement-cache.js';
