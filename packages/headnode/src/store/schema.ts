import type { Generated } from 'kysely';
import type { CommandStatus, NodeStatus, ServiceState } from '@ur/protocol';

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
}

export interface NodeEventsTable {
  id: Generated<number>;
  node_id: string;
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

export interface CommandsTable {
  request_id: string;
  node_id: string;
  type: string;
  request: string;
  issued_by: string;
  issued_at: number;
  /** After this, a command still `sent` is recorded as timed out by any headnode. */
  deadline: number;
  status: CommandStatus;
  reply: string | null;
  finished_at: number | null;
  recorded_by: string | null;
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
  node_events: NodeEventsTable;
  compute_reservations: ComputeReservationsTable;
  storage_reservations: StorageReservationsTable;
  commands: CommandsTable;
  leases: LeasesTable;
  node_services: NodeServicesTable;
}
