export { ArtifactRepository, type RepositoryRoute } from './artifact-repository.js';
export { brokerUrl, LOCAL_BROKER_URL } from './broker-url.js';
export { LegacyUrAgent } from './legacy-ur-agent.js';
export { recordingLogger } from './recording-logger.js';
export { freePort, startProcess, type StartedProcess } from './processes.js';
export {
  closeConnections,
  connectionChannels,
  consumerCounts,
  queueArguments,
  rabbitmqctl,
} from './rabbitmqctl.js';
export { deleteBrokerObjects, uniqueExchange, uniqueNodeId } from './test-exchange.js';
export { createTestDatabase, LOCAL_POSTGRES_URL, postgresUrl, type TestDatabase } from './postgres.js';
export {
  markedProcesses,
  SERVICE_MANIFEST,
  SERVICE_SCRIPT,
  serviceZip,
  uniqueMarker,
} from './service-fixtures.js';
export { waitFor } from './wait-for.js';
export { WireClient, type WireMessage } from './wire-client.js';
export {
  claimCompressionMethod,
  claimUncompressedSize,
  corruptEntryData,
  makeZip,
  renameEntry,
  sha256Hex,
  type ZipEntrySpec,
} from './zip-fixtures.js';
export { SseClient } from './sse-client.js';
export {
  brokerSocketLimit,
  startPrivateBroker,
  type PrivateBroker,
  type PrivateBrokerOptions,
} from './private-broker.js';
