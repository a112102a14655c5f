export { AckBatcher, type AckChannel } from './ack-batcher.js';
export { BrokerUnavailableError, PublishNackedError } from './errors.js';
export { ensureExchange } from './exchange.js';
export { jsonMessage, type JsonMessage, type JsonMessageOptions } from './json-message.js';
export {
  ConfirmPublisher,
  type ConfirmPublisherOptions,
  type HeaderHook,
  type PublishOutcome,
} from './publisher.js';
export { readTlsFiles, TlsConfigError, type TlsFiles, type TlsOptions } from './tls-files.js';
export {
  AmqpSession,
  DEFAULT_HEARTBEAT_SECONDS,
  DEFAULT_RECONNECT_INITIAL_DELAY_MS,
  DEFAULT_RECONNECT_JITTER,
  DEFAULT_RECONNECT_MAX_DELAY_MS,
  type AmqpSessionOptions,
  type SetupContext,
} from './session.js';
