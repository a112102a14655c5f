import type { Insertable, Kysely, Selectable } from 'kysely';
import { STATUS_EVENTS, type NodeStatus } from '@ur/protocol';
import type { Dialect } from './dialect.js';
import { inEventTransaction, type Trx } from './event-transaction.js';
import type { EventStore, NewNodeEvent } from './event-store.js';
import type { Database, NodesTable } from './schema.js';

export type NodeRow = Selectable<NodesTable>;

/** What a sysinfo says about a node, as stored in columns. */
export interface NodeFacts {
  hostname: string | null;
  sysinfo: string;
  agentVersion: string | null;
  capabilities: string;
  lastBoot: number | null;
  heartbeatIntervalMs: number | null;
  os: string | null;
  arch: string | null;
  serial: string | null;
  bmcAddress: string | null;
  cpuMilli: number | null;
  memoryBytes: number | null;
  diskBytes: number | null;
  consolePort: number | null;
  /** From sysinfo: whether the agent runs only signed requests; null if it does not say. */
  requestSigning: 'enforced' | 'off' | null;
  /** The key the agent announced (and signed the announcement with); pinned if none is. */
  publicKey: string | null;
}

/** What one inbound message (or several, merged) changes about a node. */
export interface NodePatch {
  id: string;
  seenAt: number;
  /** The status the message implies (a node that speaks is ready; one that said goodbye has left), and why. */
  status: 'ready' | 'left';
  reason: string;
  announce?: NodeFacts;
  heartbeat?: { json: string; intervalMs: number };
}

/** Folds a later patch for the same node into an earlier one. */
export function mergePatch(earlier: NodePatch, later: NodePatch): NodePatch {
  const merged: NodePatch = {
    id: later.id,
    seenAt: Math.max(earlier.seenAt, later.seenAt),
    status: later.status,
    reason: later.reason,
  };
  const announce = later.announce ?? earlier.announce;
  const heartbeat = later.heartbeat ?? earlier.heartbeat;
  if (announce) merged.announce = announce;
  if (heartbeat) merged.heartbeat = heartbeat;
  return merged;
}

/** Columns compared to decide whether an announcement is a `node.updated`. */
const FACT_COLUMNS = [
  ['hostname', 'hostname'],
  ['agent_version', 'agentVersion'],
  ['capabilities', 'capabilities'],
  ['last_boot', 'lastBoot'],
  ['os', 'os'],
  ['arch', 'arch'],
  ['serial', 'serial'],
  ['bmc_address', 'bmcAddress'],
  ['cpu_milli', 'cpuMilli'],
  ['memory_bytes', 'memoryBytes'],
  ['disk_bytes', 'diskBytes'],
  ['console_port', 'consolePort'],
  ['request_signing', 'requestSigning'],
] as const satisfies readonly (readonly [keyof NodeRow, keyof NodeFacts])[];

type Existing = Pick<
  NodeRow,
  | 'id'
  | 'status'
  | 'status_since'
  | 'status_reason'
  | 'last_seen'
  | 'public_key'
  | 'offered_key'
  | 'key_status'
  | (typeof FACT_COLUMNS)[number][0]
>;

/** Rows per statement: keeps statements under SQLite's bound-parameter limit. */
const CHUNK = 200;
const LOOKUP_CHUNK = 500;

/** Every column but the (large) sysinfo document. */
export const SUMMARY_COLUMNS = [
  'id',
  'hostname',
  'status',
  'status_since',
  'status_reason',
  'agent_version',
  'capabilities',
  'heartbeat_interval_ms',
  'first_seen',
  'last_seen',
  'last_boot',
  'last_heartbeat',
  'os',
  'arch',
  'serial',
  'bmc_address',
  'cpu_milli',
  'memory_bytes',
  'disk_bytes',
  'console_port',
  'labels',
  'request_signing',
  'key_status',
] as const;
export type NodeSummaryRow = Pick<NodeRow, (typeof SUMMARY_COLUMNS)[number]>;

export function parseLabels(text: string): Record<string, string> {
  try {
    const value = JSON.parse(text) as unknown;
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, string>)
      : {};
  } catch {
    return {};
  }
}

function factChanges(existing: Existing, facts: NodeFacts): Record<string, { from: unknown; to: unknown }> {
  const changes: Record<string, { from: unknown; to: unknown }> = {};
  for (const [column, key] of FACT_COLUMNS) {
    const from = existing[column];
    const to = facts[key];
    if (from === to) continue;
    if (column === 'capabilities') {
      changes[column] = {
        from: JSON.parse(from as string) as unknown,
        to: JSON.parse(to as string) as unknown,
      };
    } else {
      changes[column] = { from, to };
    }
  }
  return changes;
}

/** Nodes: the inventory, with stored status; every status change is written with its event. */
export class NodeStore {
  readonly #db: Kysely<Database>;
  readonly #dialect: Dialect;
  readonly #events: EventStore;

  constructor(db: Kysely<Database>, dialect: Dialect, events: EventStore) {
    this.#db = db;
    this.#dialect = dialect;
    this.#events = events;
  }

  get dialect(): Dialect {
    return this.#dialect;
  }

  /**
   * Writes many patches in one transaction (one multi-row upsert per patch
   * shape), with the events they cause: `node.registered` for new nodes,
   * `node.updated` when facts change, and a status event when the status the
   * message implies differs from the stored one. `also` runs in the same
   * transaction (the inbound writer records command replies there).
   */
  async apply<T = void>(
    patches: readonly NodePatch[],
    also?: (trx: Trx) => Promise<T>,
  ): Promise<T | undefined> {
    const byId = new Map<string, NodePatch>();
    for (const p of patches) {
      const earlier = byId.get(p.id);
      byId.set(p.id, earlier ? mergePatch(earlier, p) : p);
    }
    return inEventTransaction(this.#db, this.#dialect, async (trx) => {
      if (byId.size > 0) {
        const existing = await this.#lookup(trx, [...byId.keys()]);
        const events: NewNodeEvent[] = [];
        const groups = new Map<string, Insertable<NodesTable>[]>();
        for (const p of byId.values()) {
          const old = existing.get(p.id);
          const row = this.#row(p, old, events);
          const shape = `${p.announce ? 'a' : ''}${p.heartbeat ? 'h' : ''}`;
          const group = groups.get(shape);
          if (group) group.push(row);
          else groups.set(shape, [row]);
        }
        for (const [shape, rows] of groups) {
          for (let i = 0; i < rows.length; i += CHUNK)
            await this.#upsert(trx, shape, rows.slice(i, i + CHUNK));
        }
        await this.#events.append(trx, events);
      }
      return also ? await also(trx) : undefined;
    });
  }

  async #lookup(trx: Trx, ids: string[]): Promise<Map<string, Existing>> {
    const found = new Map<string, Existing>();
    for (let i = 0; i < ids.length; i += LOOKUP_CHUNK) {
      const rows = await trx
        .selectFrom('nodes')
        .select([
          'id',
          'status',
          'status_since',
          'status_reason',
          'last_seen',
          'public_key',
          'offered_key',
          'key_status',
          ...FACT_COLUMNS.map(([c]) => c),
        ])
        .where('id', 'in', ids.slice(i, i + LOOKUP_CHUNK))
        .execute();
      for (const r of rows) found.set(r.id, r);
    }
    return found;
  }

  /** The row to upsert for a patch, collecting the events it causes. */
  #row(p: NodePatch, old: Existing | undefined, events: NewNodeEvent[]): Insertable<NodesTable> {
    const at = p.seenAt;
    const a = p.announce;
    if (!old) {
      events.push({
        node_id: p.id,
        type: 'node.registered',
        at,
        data: { hostname: a?.hostname ?? null, agent_version: a?.agentVersion ?? null },
      });
    } else if (a) {
      const changes = factChanges(old, a);
      if (Object.keys(changes).length > 0)
        events.push({ node_id: p.id, type: 'node.updated', at, data: { changes } });
    }
    // Trust on first use: the first key a node announces (signed with it) is
    // pinned; the inbound side checks later messages against it. Computed
    // from the row read in this transaction (under the event lock), so two
    // headnodes cannot pin two keys.
    const pinned = old?.public_key ?? null;
    const pin = pinned === null && a?.publicKey ? a.publicKey : null;
    if (pin !== null) {
      events.push({
        node_id: p.id,
        type: 'node.key_pinned',
        at,
        data: { public_key: pin, how: 'first-use' },
      });
    }
    // Headnodes sharing the inbound queue may commit one node's messages out
    // of order: a message received before the current status was set (a
    // heartbeat sent just before the agent's goodbye) does not undo it.
    const stale = old !== undefined && p.seenAt < old.status_since;
    const changed = !stale && old?.status !== p.status;
    const status = changed || !old ? p.status : old.status;
    if (changed) {
      events.push({
        node_id: p.id,
        type: STATUS_EVENTS[p.status],
        at,
        data: { from: old?.status ?? null, to: p.status, reason: p.reason },
      });
    }
    return {
      id: p.id,
      hostname: a?.hostname ?? null,
      status,
      status_since: changed ? at : (old?.status_since ?? at),
      status_reason: changed ? p.reason : (old?.status_reason ?? p.reason),
      sysinfo: a?.sysinfo ?? JSON.stringify({ UUID: p.id }),
      agent_version: a?.agentVersion ?? null,
      capabilities: a?.capabilities ?? '[]',
      heartbeat_interval_ms: p.heartbeat?.intervalMs ?? a?.heartbeatIntervalMs ?? null,
      first_seen: at,
      last_seen: Math.max(at, old?.last_seen ?? at),
      last_boot: a?.lastBoot ?? null,
      last_heartbeat: p.heartbeat?.json ?? null,
      os: a?.os ?? null,
      arch: a?.arch ?? null,
      serial: a?.serial ?? null,
      bmc_address: a?.bmcAddress ?? null,
      cpu_milli: a?.cpuMilli ?? null,
      memory_bytes: a?.memoryBytes ?? null,
      disk_bytes: a?.diskBytes ?? null,
      console_port: a?.consolePort ?? null,
      labels: '{}',
      request_signing: a?.requestSigning ?? null,
      public_key: pinned ?? pin,
      offered_key: old?.offered_key ?? null,
      key_status: pin !== null ? 'pinned' : (old?.key_status ?? 'none'),
    };
  }

  async #upsert(trx: Trx, shape: string, rows: Insertable<NodesTable>[]): Promise<void> {
    await trx
      .insertInto('nodes')
      .values(rows)
      .onConflict((oc) =>
        oc.column('id').doUpdateSet((eb) => ({
          last_seen: eb.ref('excluded.last_seen'),
          status: eb.ref('excluded.status'),
          status_since: eb.ref('excluded.status_since'),
          status_reason: eb.ref('excluded.status_reason'),
          ...(shape.includes('a')
            ? {
                hostname: eb.ref('excluded.hostname'),
                sysinfo: eb.ref('excluded.sysinfo'),
                agent_version: eb.ref('excluded.agent_version'),
                capabilities: eb.ref('excluded.capabilities'),
                last_boot: eb.ref('excluded.last_boot'),
                heartbeat_interval_ms: eb.ref('excluded.heartbeat_interval_ms'),
                os: eb.ref('excluded.os'),
                arch: eb.ref('excluded.arch'),
                serial: eb.ref('excluded.serial'),
                bmc_address: eb.ref('excluded.bmc_address'),
                cpu_milli: eb.ref('excluded.cpu_milli'),
                memory_bytes: eb.ref('excluded.memory_bytes'),
                disk_bytes: eb.ref('excluded.disk_bytes'),
                console_port: eb.ref('excluded.console_port'),
                request_signing: eb.ref('excluded.request_signing'),
                public_key: eb.ref('excluded.public_key'),
                offered_key: eb.ref('excluded.offered_key'),
                key_status: eb.ref('excluded.key_status'),
              }
            : {}),
          ...(shape.includes('h')
            ? {
                last_heartbeat: eb.ref('excluded.last_heartbeat'),
                heartbeat_interval_ms: eb.ref('excluded.heartbeat_interval_ms'),
              }
            : {}),
        })),
      )
      .execute();
  }

  /**
   * Sets a node's status from a connection-level signal (an unroutable
   * command or ping), unless it is already in one of `unless`. Returns false
   * if the node is unknown to the inventory or nothing changed.
   */
  markStatus(
    id: string,
    to: NodeStatus,
    reason: string,
    unless: readonly NodeStatus[],
    now = Date.now(),
  ): Promise<boolean> {
    return inEventTransaction(this.#db, this.#dialect, async (trx) => {
      const row = await trx.selectFrom('nodes').select(['status']).where('id', '=', id).executeTakeFirst();
      if (!row || row.status === to || unless.includes(row.status)) return false;
      await trx
        .updateTable('nodes')
        .set({ status: to, status_since: now, status_reason: reason })
        .where('id', '=', id)
        .execute();
      await this.#events.append(trx, [
        { node_id: id, type: STATUS_EVENTS[to], at: now, data: { from: row.status, to, reason } },
      ]);
      return true;
    });
  }

  /**
   * Merges `changes` into a node's labels (null removes one) and records a
   * `node.updated` event if anything changed. Returns the new labels, or
   * undefined if the node is not in the inventory.
   */
  setLabels(
    id: string,
    changes: Record<string, string | null>,
    now = Date.now(),
  ): Promise<Record<string, string> | undefined> {
    return inEventTransaction(this.#db, this.#dialect, async (trx) => {
      const row = await trx.selectFrom('nodes').select(['labels']).where('id', '=', id).executeTakeFirst();
      if (!row) return undefined;
      const before = parseLabels(row.labels);
      const after: Record<string, string> = { ...before };
      for (const [key, value] of Object.entries(changes)) {
        if (value === null) delete after[key];
        else after[key] = value;
      }
      const sorted = Object.fromEntries(
        Object.entries(after).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
      );
      if (JSON.stringify(sorted) === JSON.stringify(before)) return before;
      await trx
        .updateTable('nodes')
        .set({ labels: JSON.stringify(sorted) })
        .where('id', '=', id)
        .execute();
      await this.#events.append(trx, [
        {
          node_id: id,
          type: 'node.updated',
          at: now,
          data: { changes: { labels: { from: before, to: sorted } } },
        },
      ]);
      return sorted;
    });
  }

  /**
   * Removes a node from the inventory, with its reservations, and records
   * `node.forgotten`. Its command and job history stay. A node whose agent
   * still runs comes back (as new) the next time it speaks. False if the
   * node is not in the inventory.
   */
  forget(id: string, reason: string, now = Date.now()): Promise<boolean> {
    return inEventTransaction(this.#db, this.#dialect, async (trx) => {
      const row = await trx.selectFrom('nodes').select(['status']).where('id', '=', id).executeTakeFirst();
      if (!row) return false;
      await trx.deleteFrom('compute_reservations').where('node_id', '=', id).execute();
      await trx.deleteFrom('storage_reservations').where('node_id', '=', id).execute();
      await trx.deleteFrom('nodes').where('id', '=', id).execute();
      await this.#events.append(trx, [
        { node_id: id, type: 'node.forgotten', at: now, data: { status: row.status, reason } },
      ]);
      return true;
    });
  }

  /** Every node without its sysinfo document, by id. */
  list(): Promise<NodeSummaryRow[]> {
    return this.#db.selectFrom('nodes').select(SUMMARY_COLUMNS).orderBy('id').execute();
  }

  /** Every node with its sysinfo document, by id. */
  listFull(): Promise<NodeRow[]> {
    return this.#db.selectFrom('nodes').selectAll().orderBy('id').execute();
  }

  get(id: string): Promise<NodeRow | undefined> {
    return this.#db.selectFrom('nodes').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async count(): Promise<number> {
    const row = await this.#db
      .selectFrom('nodes')
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** Ids of nodes without our agent (Triton Ur): they send no heartbeats, so they are pinged. */
  async legacyNodeIds(): Promise<string[]> {
    const rows = await this.#db
      .selectFrom('nodes')
      .select('id')
      .where('agent_version', 'is', null)
      .where('status', '!=', 'left')
      .execute();
    return rows.map((r) => r.id);
  }
}
