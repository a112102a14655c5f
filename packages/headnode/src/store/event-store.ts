import type { Kysely, Selectable } from 'kysely';
import type {
  NodeEventType,
  NodeTransition,
  ServiceEventType,
  StoredEvent,
  TransitionData,
} from '@ur/protocol';
import type { Dialect } from './dialect.js';
import { CHANNELS, notify, type Trx } from './event-transaction.js';
import type { Database, NodeEventsTable } from './schema.js';

export type NodeEventRow = Selectable<NodeEventsTable>;

/** An event before it has an id. */
export interface NewNodeEvent {
  node_id: string;
  type: NodeEventType | ServiceEventType;
  at: number;
  data: object;
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

export function toNodeEvent(row: NodeEventRow): StoredEvent {
  const event = {
    id: String(row.id),
    type: row.type,
    at: new Date(row.at).toISOString(),
    node_id: row.node_id,
    data: JSON.parse(row.data) as unknown,
  };
  // Written only by this module from typed events.
  return event as StoredEvent;
}

/** The stored log of node (and service) events, in id order. */
export class EventStore {
  readonly #db: Kysely<Database>;
  readonly #dialect: Dialect;

  constructor(db: Kysely<Database>, dialect: Dialect) {
    this.#db = db;
    this.#dialect = dialect;
  }

  /** Appends events inside an event transaction (see inEventTransaction). */
  async append(trx: Trx, events: readonly NewNodeEvent[]): Promise<void> {
    if (events.length === 0) return;
    for (let i = 0; i < events.length; i += CHUNK) {
      await trx
        .insertInto('node_events')
        .values(
          events
            .slice(i, i + CHUNK)
            .map((e) => ({ node_id: e.node_id, type: e.type, at: e.at, data: JSON.stringify(e.data) })),
        )
        .execute();
    }
    await notify(trx, this.#dialect, CHANNELS.events, ['new']);
  }

  /** Events with an id above `afterId`, oldest first. */
  async after(afterId: number, limit: number): Promise<StoredEvent[]> {
    const rows = await this.#db
      .selectFrom('node_events')
      .selectAll()
      .where('id', '>', afterId)
      .orderBy('id')
      .limit(limit)
      .execute();
    return rows.map(toNodeEvent);
  }

  /** The id of the newest event, 0 if none. */
  async lastId(): Promise<number> {
    const row = await this.#db
      .selectFrom('node_events')
      .select((eb) => eb.fn.max('id').as('id'))
      .executeTakeFirst();
    return Number(row?.id ?? 0);
  }

  /** A node's status transitions, newest first. */
  async transitions(nodeId: string, limit: number): Promise<NodeTransition[]> {
    const rows = await this.#db
      .selectFrom('node_events')
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
    const result = await this.#db.deleteFrom('node_events').where('at', '<', before).executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
