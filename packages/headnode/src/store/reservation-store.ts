import { sql, type Kysely, type Selectable } from 'kysely';
import type { ComputeRequest, StorageRequest } from '@ur/protocol';
import {
  InsufficientCapacityError,
  NoCapacityError,
  NodeNotFoundError,
  ReservationExistsError,
  ReservationNotFoundError,
  type ReservationKind,
} from '../errors.js';
import type { Dialect } from './dialect.js';
import type { Trx } from './event-transaction.js';
import { SUMMARY_COLUMNS, type NodeSummaryRow } from './node-store.js';
import type { ComputeReservationsTable, Database, StorageReservationsTable } from './schema.js';

export type ComputeReservationRow = Selectable<ComputeReservationsTable>;
export type StorageReservationRow = Selectable<StorageReservationsTable>;

/** Which ready nodes a placement may use (the schedule's constraints). */
export interface NodeFilter {
  accept: (node: NodeSummaryRow & { sysinfo?: string }) => boolean;
  /** Load each candidate's sysinfo document for `accept`. */
  needsSysinfo: boolean;
  /** The constraints as given, for error messages. */
  where: string | undefined;
}

export interface ReservedTotals {
  cpu_milli: number;
  memory_bytes: number;
  disk_bytes: number;
}

/** A placement attempt whose node filled up meanwhile is retried with fresh numbers this often. */
const MAX_ATTEMPTS = 100;

const RETRY = Symbol('retry');

/** What one reservation of a kind asks for, and how it is checked and stored. */
interface Kind<R> {
  kind: ReservationKind;
  /** Free amounts (null: capacity unknown) of a node with `reserved` already taken. */
  free(node: NodeSummaryRow, reserved: ReservedTotals): { [k: string]: number | null };
  fits(node: NodeSummaryRow, reserved: ReservedTotals, r: R): boolean;
  /** Fraction of the node in use after placing `r`; placement picks the lowest (spread). */
  load(node: NodeSummaryRow, reserved: ReservedTotals, r: R): number;
  requested(r: R): { cpu_milli?: number; memory_bytes?: number; bytes?: number };
  exists(trx: Trx, nodeId: string, name: string): Promise<boolean>;
  insert(trx: Trx, nodeId: string, r: R, now: number): Promise<void>;
  hasCapacity: 'cpu_milli' | 'disk_bytes';
}

const computeKind: Kind<ComputeRequest> = {
  kind: 'compute',
  free: (n, t) => ({
    cpu_milli: n.cpu_milli === null ? null : n.cpu_milli - t.cpu_milli,
    memory_bytes: n.memory_bytes === null ? null : n.memory_bytes - t.memory_bytes,
  }),
  fits: (n, t, r) =>
    n.cpu_milli !== null &&
    n.memory_bytes !== null &&
    t.cpu_milli + r.request_cpu_milli <= n.cpu_milli &&
    t.memory_bytes + r.request_memory_bytes <= n.memory_bytes,
  load: (n, t, r) =>
    Math.max(
      (t.cpu_milli + r.request_cpu_milli) / Math.max(1, n.cpu_milli ?? 0),
      (t.memory_bytes + r.request_memory_bytes) / Math.max(1, n.memory_bytes ?? 0),
    ),
  requested: (r) => ({ cpu_milli: r.request_cpu_milli, memory_bytes: r.request_memory_bytes }),
  exists: async (trx, nodeId, name) =>
    (await trx
      .selectFrom('compute_reservations')
      .select('name')
      .where('node_id', '=', nodeId)
      .where('name', '=', name)
      .executeTakeFirst()) !== undefined,
  insert: async (trx, nodeId, r, now) => {
    await trx
      .insertInto('compute_reservations')
      .values({
        node_id: nodeId,
        name: r.name,
        request_cpu_milli: r.request_cpu_milli,
        limit_cpu_milli: r.limit_cpu_milli ?? r.request_cpu_milli,
        request_memory_bytes: r.request_memory_bytes,
        limit_memory_bytes: r.limit_memory_bytes ?? r.request_memory_bytes,
        created_at: now,
      })
      .execute();
  },
  hasCapacity: 'cpu_milli',
};

const storageKind: Kind<StorageRequest> = {
  kind: 'storage',
  free: (n, t) => ({ bytes: n.disk_bytes === null ? null : n.disk_bytes - t.disk_bytes }),
  fits: (n, t, r) => n.disk_bytes !== null && t.disk_bytes + r.request_bytes <= n.disk_bytes,
  load: (n, t, r) => (t.disk_bytes + r.request_bytes) / Math.max(1, n.disk_bytes ?? 0),
  requested: (r) => ({ bytes: r.request_bytes }),
  exists: async (trx, nodeId, name) =>
    (await trx
      .selectFrom('storage_reservations')
      .select('name')
      .where('node_id', '=', nodeId)
      .where('name', '=', name)
      .executeTakeFirst()) !== undefined,
  insert: async (trx, nodeId, r, now) => {
    await trx
      .insertInto('storage_reservations')
      .values({
        node_id: nodeId,
        name: r.name,
        request_bytes: r.request_bytes,
        limit_bytes: r.limit_bytes ?? r.request_bytes,
        created_at: now,
      })
      .execute();
  },
  hasCapacity: 'disk_bytes',
};

/**
 * Compute and storage reservations (n0stack's ReserveCompute/Storage and
 * ScheduleCompute/Storage). Every check-then-insert runs in one transaction
 * holding the node's row lock (PostgreSQL `FOR UPDATE`; SQLite runs one
 * write transaction at a time), so concurrent reservations, from one
 * headnode or several, never over-commit a node.
 */
export class ReservationStore {
  readonly #db: Kysely<Database>;
  readonly #dialect: Dialect;

  constructor(db: Kysely<Database>, dialect: Dialect) {
    this.#db = db;
    this.#dialect = dialect;
  }

  reserveCompute(nodeId: string, r: ComputeRequest, now = Date.now()): Promise<ComputeReservationRow> {
    return this.#reserve(computeKind, nodeId, r, now).then(() => this.#getCompute(nodeId, r.name));
  }

  reserveStorage(nodeId: string, r: StorageRequest, now = Date.now()): Promise<StorageReservationRow> {
    return this.#reserve(storageKind, nodeId, r, now).then(() => this.#getStorage(nodeId, r.name));
  }

  /** Places a compute reservation on the ready node (among those `accept` allows) with the most room left. */
  async scheduleCompute(
    r: ComputeRequest,
    filter: NodeFilter,
    now = Date.now(),
  ): Promise<ComputeReservationRow> {
    const nodeId = await this.#schedule(computeKind, r, filter, now);
    return this.#getCompute(nodeId, r.name);
  }

  async scheduleStorage(
    r: StorageRequest,
    filter: NodeFilter,
    now = Date.now(),
  ): Promise<StorageReservationRow> {
    const nodeId = await this.#schedule(storageKind, r, filter, now);
    return this.#getStorage(nodeId, r.name);
  }

  async release(kind: ReservationKind, nodeId: string, name: string): Promise<void> {
    const table = kind === 'compute' ? 'compute_reservations' : 'storage_reservations';
    const result = await this.#db
      .deleteFrom(table)
      .where('node_id', '=', nodeId)
      .where('name', '=', name)
      .executeTakeFirst();
    if (Number(result.numDeletedRows) === 0) throw new ReservationNotFoundError(nodeId, kind, name);
  }

  async forNode(
    nodeId: string,
  ): Promise<{ compute: ComputeReservationRow[]; storage: StorageReservationRow[] }> {
    const [compute, storage] = await Promise.all([
      this.#db
        .selectFrom('compute_reservations')
        .selectAll()
        .where('node_id', '=', nodeId)
        .orderBy('name')
        .execute(),
      this.#db
        .selectFrom('storage_reservations')
        .selectAll()
        .where('node_id', '=', nodeId)
        .orderBy('name')
        .execute(),
    ]);
    return { compute, storage };
  }

  /** Sums of requests per node (all nodes, or the given ones). */
  async totals(
    db: Kysely<Database> = this.#db,
    nodeIds?: readonly string[],
  ): Promise<Map<string, ReservedTotals>> {
    let compute = db
      .selectFrom('compute_reservations')
      .select([
        'node_id',
        sql<string | number>`coalesce(sum(request_cpu_milli), 0)`.as('cpu'),
        sql<string | number>`coalesce(sum(request_memory_bytes), 0)`.as('mem'),
      ])
      .groupBy('node_id');
    let storage = db
      .selectFrom('storage_reservations')
      .select(['node_id', sql<string | number>`coalesce(sum(request_bytes), 0)`.as('bytes')])
      .groupBy('node_id');
    if (nodeIds) {
      compute = compute.where('node_id', 'in', nodeIds);
      storage = storage.where('node_id', 'in', nodeIds);
    }
    const totals = new Map<string, ReservedTotals>();
    const entry = (id: string): ReservedTotals => {
      let t = totals.get(id);
      if (!t) totals.set(id, (t = { cpu_milli: 0, memory_bytes: 0, disk_bytes: 0 }));
      return t;
    };
    for (const row of await compute.execute()) {
      const t = entry(row.node_id);
      t.cpu_milli = Number(row.cpu);
      t.memory_bytes = Number(row.mem);
    }
    for (const row of await storage.execute()) entry(row.node_id).disk_bytes = Number(row.bytes);
    return totals;
  }

  async #totalsOf(trx: Trx, nodeId: string): Promise<ReservedTotals> {
    return (await this.totals(trx, [nodeId])).get(nodeId) ?? { cpu_milli: 0, memory_bytes: 0, disk_bytes: 0 };
  }

  /** The node row, locked for the rest of the transaction on PostgreSQL. */
  async #lockNode(trx: Trx, nodeId: string): Promise<NodeSummaryRow | undefined> {
    const q = trx.selectFrom('nodes').select(SUMMARY_COLUMNS).where('id', '=', nodeId);
    return (this.#dialect === 'postgres' ? q.forUpdate() : q).executeTakeFirst();
  }

  async #reserve<R extends { name: string }>(k: Kind<R>, nodeId: string, r: R, now: number): Promise<void> {
    await this.#db.transaction().execute(async (trx) => {
      const node = await this.#lockNode(trx, nodeId);
      if (!node) throw new NodeNotFoundError(nodeId);
      if (await k.exists(trx, nodeId, r.name)) throw new ReservationExistsError(nodeId, k.kind, r.name);
      const reserved = await this.#totalsOf(trx, nodeId);
      if (!k.fits(node, reserved, r))
        throw new InsufficientCapacityError(nodeId, k.requested(r), k.free(node, reserved));
      await k.insert(trx, nodeId, r, now);
    });
  }

  async #schedule<R extends { name: string }>(
    k: Kind<R>,
    r: R,
    filter: NodeFilter,
    now: number,
  ): Promise<string> {
    const { where } = filter;
    for (let attempt = 1; ; attempt++) {
      const placed = await this.#db.transaction().execute(async (trx) => {
        const candidates = trx
          .selectFrom('nodes')
          .select(SUMMARY_COLUMNS)
          .where('status', '=', 'ready')
          .where(k.hasCapacity, 'is not', null);
        const nodes = (
          filter.needsSysinfo ? await candidates.select('sysinfo').execute() : await candidates.execute()
        ).filter(filter.accept);
        const totals = await this.totals(trx);
        const zero: ReservedTotals = { cpu_milli: 0, memory_bytes: 0, disk_bytes: 0 };
        const ranked = nodes
          .filter((n) => k.fits(n, totals.get(n.id) ?? zero, r))
          .map((n) => ({ n, load: k.load(n, totals.get(n.id) ?? zero, r) }))
          .sort((a, b) => a.load - b.load || (a.n.id < b.n.id ? -1 : 1));
        for (const { n } of ranked) {
          if (await k.exists(trx, n.id, r.name)) continue;
          // Lock the best node, then look again: a concurrent placement may have filled it.
          const locked = await this.#lockNode(trx, n.id);
          if (!locked || locked.status !== 'ready') return RETRY;
          if (!k.fits(locked, await this.#totalsOf(trx, n.id), r)) return RETRY;
          await k.insert(trx, n.id, r, now);
          return n.id;
        }
        throw new NoCapacityError(k.requested(r), nodes.length, where);
      });
      if (placed !== RETRY) return placed;
      if (attempt >= MAX_ATTEMPTS) throw new NoCapacityError(k.requested(r), 0, where);
    }
  }

  async #getCompute(nodeId: string, name: string): Promise<ComputeReservationRow> {
    return this.#db
      .selectFrom('compute_reservations')
      .selectAll()
      .where('node_id', '=', nodeId)
      .where('name', '=', name)
      .executeTakeFirstOrThrow();
  }

  async #getStorage(nodeId: string, name: string): Promise<StorageReservationRow> {
    return this.#db
      .selectFrom('storage_reservations')
      .selectAll()
      .where('node_id', '=', nodeId)
      .where('name', '=', name)
      .executeTakeFirstOrThrow();
  }
}
