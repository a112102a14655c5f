/**
 * Table types for Kysely. Times are epoch milliseconds (bigint columns);
 * JSON documents are stored as text so both dialects read them the same way.
 */
export interface NodesTable {
  id: string;
  hostname: string | null;
  /** Stored state; the status the API shows is derived from it and last_seen. */
  state: 'active' | 'left';
  sysinfo: string;
  agent_version: string | null;
  capabilities: string;
  heartbeat_interval_ms: number | null;
  first_seen: number;
  last_seen: number;
  last_boot: number | null;
  last_heartbeat: string | null;
}

export interface Database {
  nodes: NodesTable;
}
