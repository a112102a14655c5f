import type { Kysely, Selectable } from 'kysely';
import type { NodeEventType, NodeTransition, TransitionData, UrEvent, UrEventType } from '@ur/protocol';
import type { Dialect } from './dialect.js';
import { CHANNELS, inEventTransaction, notify, type Trx } from './event-transaction.js';
import type { Database, EventsTable } from './schema.js';

export type EventRow = Selectable<EventsTable>;

/** An event before it has an id. */
export interface NewEvent {
  type: UrEventType;
  at: number;
  /** The node it is about; null for events about a whole job. */
  node_id: string | null;
  job_id?: string | null;
  data: object;
}

/** A node event before it has an id. */
export interface NewNodeEvent extends NewEvent {
  type: NodeEventType;
  node_id: string;
}

/** Rows per INSERT: well under both dialects' bound-parameter limits. */
const CHUNK = 500;

const STATUS_TYPES: NodeEventType[] = [
  'node.ready',
  'node.suspect',
  'node.down',
  'node.left',
  'node.unknown',
];

export function toEvent(row: EventRow): UrEvent {
  const base = {
    id: String(row.id),
    type: row.type,
    at: new Date(row.at).toISOString(),
  };
  const data = JSON.parse(row.data) as unknown;
  // Written only by this module from typed events.
  if (row.job_id === null) return { ...base, node_id: row.node_id, data } as UrEvent;
  return row.node_id === ''
    ? ({ ...base, job_id: row.job_id, data } as UrEvent)
    : ({ ...base, job_id: row.job_id, node_id: row.node_id, data } as UrEvent);
}

/** The stored log of node, service and job events, in id order. */
export class EventStore {
  readonly #db: Kysely<Database>;
  readonly #dialect: Dialect;
  readonly #appended = new WeakSet<Trx>();
  /** Runs after a {@link transaction} that appended events commits (the headnode wakes its bus). */
  onCommitted: () => void = () => undefined;

  constructor(db: Kysely<Database>, dialect: Dialect) {
    this.#db = db;
    this.#dialect = dialect;
  }

  /** An event transaction (see inEventTransaction) that calls {@link onCommitted} once it committed events. */
  async transaction<T>(fn: (trx: Trx) => Promise<T>): Promise<T> {
    let appended = false;
    const result = await inEventTransaction(this.#db, this.#dialect, async (trx) => {
      const value = await fn(trx);
      appended = this.#appended.has(trx);
      return value;
    });
    if (appended) this.onCommitted();
    return result;
  }

  /** Appends events inside an event transaction (see inEventTransaction). */
  async append(trx: Trx, events: readonly NewEvent[]): Promise<void> {
    if (events.length === 0) return;
    this.#appended.add(trx);
    for (let i = 0; i < events.length; i += CHUNK) {
      await trx
        .insertInto('events')
        .values(
          events.slice(i, i + CHUNK).map((e) => ({
            node_id: e.node_id ?? '',
            job_id: e.job_id ?? null,
            type: e.type,
            at: e.at,
            data: JSON.stringify(e.data),
          })),
        )
        .execute();
    }
    await notify(trx, this.#dialect, CHANNELS.events, ['new']);
  }

  /** Events with an id above `afterId`, oldest first. */
  async after(afterId: number, limit: number): Promise<UrEvent[]> {
    const rows = await this.#db
      .selectFrom('events')
      .selectAll()
      .where('id', '>', afterId)
      .orderBy('id')
      .limit(limit)
      .execute();
    return rows.map(toEvent);
  }

  /** One job's events with an id above `afterId`, oldest first. */
  async forJob(jobId: string, afterId: number, limit: number): Promise<UrEvent[]> {
    const rows = await this.#db
      .selectFrom('events')
      .selectAll()
      .where('job_id', '=', jobId)
      .where('id', '>', afterId)
      .orderBy('id')
      .limit(limit)
      .execute();
    return rows.map(toEvent);
  }

  /** The id of the newest event, 0 if none. */
  async lastId(): Promise<number> {
    const row = await this.#db
      .selectFrom('events')
      .select((eb) => eb.fn.max('id').as('id'))
      .executeTakeFirst();
    return Number(row?.id ?? 0);
  }

  /** A node's status transitions, newest first. */
  async transitions(nodeId: string, limit: number): Promise<NodeTransition[]> {
    const rows = await this.#db
      .selectFrom('events')
      .selectAll()
      .where('node_id', '=', nodeId)
      .where('type', 'in', STATUS_TYPES)
      .orderBy('id', 'desc')
      .limit(limit)
      .execute();
    return rows.map((row) => {
      const data = JSON.parse(row.data) as TransitionData;
      return { event_id: String(row.id), at: new Date(row.at).toISOString(), ...data };
    });
  }

  /** Deletes events older than `before` (epoch ms); returns how many. */
  async prune(before: number): Promise<number> {
    const result = await this.#db.deleteFrom('events').where('at', '<', before).executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
