export { Headnode } from './headnode.js';
export { HEADNODE_FLAGS, parseHeadnodeConfig, type HeadnodeConfig } from './config.js';
export {
  ApiError,
  InsufficientCapacityError,
  NoCapacityError,
  NodeNotFoundError,
  NodeOfflineError,
  ReplyTimeoutError,
  ReservationExistsError,
  ReservationNotFoundError,
  StoreError,
} from './errors.js';
export { EventBus, type NodeEventListener } from './event-bus.js';
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
export { EventStore } from './store/event-store.js';
export { LivenessStore } from './store/liveness-store.js';
export { NodeStore, type NodeFacts, type NodePatch, type NodeRow } from './store/node-store.js';
export { ReservationStore, type NodeFilter } from './store/reservation-store.js';
export { ServiceStore, type ServiceRecordOutcome } from './store/service-store.js';
export type { HeadnodeStores } from './store/stores.js';
export { HEADNODE_VERSION } from './version.js';
