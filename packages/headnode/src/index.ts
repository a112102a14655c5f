export { Headnode } from './headnode.js';
export { HEADNODE_FLAGS, parseHeadnodeConfig, type HeadnodeConfig } from './config.js';
export { ApiError, NodeOfflineError, ReplyTimeoutError, StoreError } from './errors.js';
export { deriveStatus, type LivenessSettings } from './node-view.js';
export {
  compileHeadnodeOptions,
  parseListen,
  type CompiledHeadnodeOptions,
  type HeadnodeOptions,
} from './options.js';
export { openDatabase } from './store/open-database.js';
export { NodeStore, type NodePatch, type NodeRow } from './store/node-store.js';
export { HEADNODE_VERSION } from './version.js';
