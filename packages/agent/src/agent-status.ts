import type { JournalStats } from './journal/journal.js';

export type ConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'stopped';

export interface RunningStatus {
  requestId: string;
  type: string;
  startedAt: string;
  /** Process group id, for commands that run a process. */
  pgid: number | undefined;
}

/** A snapshot of the agent, for tests, embedding and the local status endpoint. */
export interface AgentStatus {
  nodeId: string;
  version: string;
  connection: ConnectionState;
  connected: boolean;
  /** Why the last connection attempt failed (e.g. another agent with this node id is connected). */
  problem: string | undefined;
  running: number;
  commands: RunningStatus[];
  /** Replies waiting for the broker's confirm (including broadcast answers). */
  outbox: number;
  journal: (JournalStats & { path: string }) | undefined;
  /** Supervised services: coordinate, state and main process. */
  services: { coordinate: string; state: string; pid: number | null }[];
  startedAt: string;
  /** enforced: only requests signed by a trusted key run; off: compatible mode, unsigned requests run. */
  requestSigning: 'enforced' | 'off';
  /** Ids of the trusted keys. */
  trustedKeys: string[];
  /** The agent's own key, as in sysinfo. */
  publicKey: string | undefined;
}

/** The JSON the status endpoint serves (snake_case, as everything else on the wire and in the API). */
export function statusDocument(status: AgentStatus): Record<string, unknown> {
  const memory = process.memoryUsage();
  return {
    node_id: status.nodeId,
    version: status.version,
    pid: process.pid,
    started_at: status.startedAt,
    connection: status.connection,
    problem: status.problem ?? null,
    request_signing: status.requestSigning,
    trusted_keys: status.trustedKeys,
    public_key: status.publicKey ?? null,
    running: status.commands.map((c) => ({
      request_id: c.requestId,
      type: c.type,
      started_at: c.startedAt,
      pgid: c.pgid ?? null,
    })),
    outbox: { pending: status.outbox },
    journal: status.journal
      ? {
          path: status.journal.path,
          entries: status.journal.entries,
          running: status.journal.running,
          unsent: status.journal.unsent,
          records: status.journal.records,
          bytes: status.journal.bytes,
        }
      : null,
    services: status.services,
    memory: { rss_bytes: memory.rss, heap_used_bytes: memory.heapUsed },
  };
}
