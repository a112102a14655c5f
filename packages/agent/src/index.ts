export { Agent } from './agent.js';
export type { AgentStatus, ConnectionState, RunningStatus } from './agent-status.js';
export { AGENT_FLAGS, parseAgentConfig, type AgentConfig } from './config.js';
export { AGENT_NODE_FLAGS } from './node-flags.js';
export { OutputCapture } from './output-capture.js';
export {
  compileAgentOptions,
  DEFAULT_AMQP_URL,
  DEFAULT_EXCHANGE,
  DEFAULT_PREFIX,
  type AgentOptions,
  type CompiledAgentOptions,
} from './options.js';
export { AGENT_VERSION } from './version.js';
