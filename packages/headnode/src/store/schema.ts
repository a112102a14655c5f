import type { Generated } from 'kysely';
import type {
  CommandStatus,
  DeliveryStatus,
  JobNodeState,
  JobState,
  NodeStatus,
  ServiceState,
} from '@ur/protocol';
import type { ApiRole } from '../auth/roles.js';

/**
 * Table types for Kysely. Times are epoch milliseconds (bigint columns);
 * JSON documents are stored as text so both dialects read them the same way.
 */
export interface NodesTable {
  id: string;
  hostname: string | null;
  /** Stored by the liveness evaluator and the inbound writer; every change is a node event. */
  status: NodeStatus;
  status_since: number;
  status_reason: string;
  sysinfo: string;
  agent_version: string | null;
  capabilities: string;
  heartbeat_interval_ms: number | null;
  first_seen: number;
  last_seen: number;
  last_boot: number | null;
  last_heartbeat: string | null;
  os: string | null;
  arch: string | null;
  serial: string | null;
  bmc_address: string | null;
  cpu_milli: number | null;
  memory_bytes: number | null;
  disk_bytes: number | null;
  console_port: number | null;
  /** JSON object of operator labels. */
  labels: string;
  /** What the agent says: it runs only signed requests, or unsigned ones too; null for Triton agents. */
  request_signing: 'enforced' | 'off' | null;
  /** The agent's key, pinned on first use (`ed25519:<base64>`). */
  public_key: string | null;
  /** A different key the node proved it holds (signed with it); `urctl nodes trust` pins it. */
  offered_key: string | null;
  key_status: KeyStatus;
}

export type KeyStatus = 'none' | 'pinned' | 'mismatch';

export interface ApiTokensTable {
  id: string;
  name: string;
  role: ApiRole;
  hash: string;
  created_at: number;
  revoked_at: number | null;
}

/** The one event log: node events and job events share its id sequence. */
export interface EventsTable {
  id: Generated<number>;
  /** '' for job events about the whole job (the column predates job events and is NOT NULL). */
  node_id: string;
  job_id: string | null;
  type: string;
  at: number;
  data: string;
}

export interface ComputeReservationsTable {
  node_id: string;
  name: string;
  request_cpu_milli: number;
  limit_cpu_milli: number;
  request_memory_bytes: number;
  limit_memory_bytes: number;
  created_at: number;
}

export interface StorageReservationsTable {
  node_id: string;
  name: string;
  request_bytes: number;
  limit_bytes: number;
  created_at: number;
}

/**
 * Every command to a node, and a job's per-node results: a job's node is
 * one row from the moment the job is created (`pending`), so there is one
 * record per command.
 */
export interface CommandsTable {
  request_id: string;
  node_id: string;
  type: string;
  /** The request as sent; '' for a job's rows (the job has the command). */
  request: string;
  issued_by: string;
  issued_at: number;
  /** After this, a command still `sent` is recorded as timed out by any headnode; 0 while pending. */
  deadline: number;
  /** The result-recording status: results are written only over `sent` (the first wins). */
  status: CommandStatus;
  reply: string | null;
  finished_at: number | null;
  recorded_by: string | null;
  job_id: string | null;
  /** What the API shows: the status refined by the reply and progress events. */
  state: JobNodeState;
  sent_at: number | null;
  /** Why a command ended without a reply, in words. */
  detail: string | null;
}

export interface JobsTable {
  id: string;
  kind: 'fanout' | 'execute';
  target: string;
  /** JSON of the command, secrets redacted. */
  command: string;
  /** "3" or "10%". */
  concurrency: string;
  max_errors: string | null;
  batch_wait_ms: number;
  timeout_ms: number;
  stream: number;
  created_at: number;
  created_by: string;
  node_count: number;
  state: JobState;
  /** The headnode dispatching it; it renews owner_seen_at while alive, and another takes over when that stops. */
  owner: string | null;
  owner_seen_at: number;
  cancel_requested_at: number | null;
  stopped_reason: string | null;
  finished_at: number | null;
}

export interface HooksTable {
  id: string;
  url: string;
  /** JSON array of event type patterns. */
  events: string;
  secret: string;
  description: string | null;
  created_at: number;
  /** Only events after this one are delivered to the hook. */
  after_event_id: number;
}

export interface HookDeliveriesTable {
  id: Generated<number>;
  hook_id: string;
  event_id: number;
  event_type: string;
  /** The JSON body, signed and sent as is on every attempt. */
  payload: string;
  status: DeliveryStatus;
  attempts: number;
  last_status: number | null;
  last_error: string | null;
  created_at: number;
  last_attempt_at: number | null;
  /** Not attempted before this; also holds an attempt in progress (its timeout) off other senders. */
  next_attempt_at: number;
  delivered_at: number | null;
}

/** Positions of log followers (the webhook outbox's last enqueued event). */
export interface CursorsTable {
  name: string;
  position: number;
}

export interface LeasesTable {
  name: string;
  holder: string | null;
  renewed_at: number;
  expires_at: number;
}

/** A node's service as its last service event (by the node's clock and sequence) said. */
export interface NodeServicesTable {
  node_id: string;
  coordinate: string;
  artifact: string;
  state: ServiceState;
  pid: number | null;
  restarts: number;
  exit_status: number | null;
  signal: string | null;
  /** The event's time (the node's clock). */
  since: number;
  /** The event's sequence number (per agent process). */
  seq: number;
  updated_at: number;
}

export interface Database {
  nodes: NodesTable;
  events: EventsTable;
  compute_reservations: ComputeReservationsTable;
  storage_reservations: StorageReservationsTable;
  commands: CommandsTable;
  leases: LeasesTable;
  api_tokens: ApiTokensTable;
  jobs: JobsTable;
  hooks: HooksTable;
  hook_deliveries: HookDeliveriesTable;
  cursors: CursorsTable;
  node_services: NodeServicesTable;
}
