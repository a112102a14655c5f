import type { Kysely } from 'kysely';
import { serviceEventType, type NodeService, type ServiceEvent } from '@ur/protocol';
import type { Dialect } from './dialect.js';
import { inEventTransaction } from './event-transaction.js';
import type { EventStore } from './event-store.js';
import type { Database } from './schema.js';

/** What recording one service event did. */
export type ServiceRecordOutcome =
  /** Stored (or the service forgotten), and a `service.<state>` event appended. */
  | 'recorded'
  /** An older event than the stored one (headnodes consume in parallel): logged as an event only. */
  | 'stale'
  /** The same event again (a re-sent message): nothing. */
  | 'duplicate';

/**
 * The inventory's services: each node's services and their states, kept
 * from the agents' `ur.event.<node>.service` events. Events may arrive out
 * of order (several headnodes share the inbound queue) or twice (a re-sent
 * message), so the row changes only for a newer event by the node's time
 * and sequence; every transition also goes into the event log as
 * `service.<state>`.
 */
export class ServiceStore {
  readonly #db: Kysely<Database>;
  readonly #dialect: Dialect;
  readonly #events: EventStore;

  constructor(db: Kysely<Database>, dialect: Dialect, events: EventStore) {
    this.#db = db;
    this.#dialect = dialect;
    this.#events = events;
  }

  record(nodeId: string, event: ServiceEvent, now = Date.now()): Promise<ServiceRecordOutcome> {
    const at = Date.parse(event.at);
    return inEventTransaction(this.#db, this.#dialect, async (trx) => {
      const stored = await trx
        .selectFrom('node_services')
        .select(['since', 'seq'])
        .where('node_id', '=', nodeId)
        .where('coordinate', '=', event.coordinate)
        .executeTakeFirst();
      if (stored && Number(stored.since) === at && Number(stored.seq) === event.seq) return 'duplicate';
      const newer =
        !stored ||
        at > Number(stored.since) ||
        (at === Number(stored.since) && event.seq > Number(stored.seq));
      if (newer && event.forgotten === true) {
        await trx
          .deleteFrom('node_services')
          .where('node_id', '=', nodeId)
          .where('coordinate', '=', event.coordinate)
          .execute();
      } else if (newer) {
        const row = {
          node_id: nodeId,
          coordinate: event.coordinate,
          artifact: event.artifact,
          state: event.to,
          pid: event.pid,
          restarts: event.restarts,
          exit_status: event.exit_status ?? null,
          signal: event.signal ?? null,
          since: at,
          seq: event.seq,
          updated_at: now,
        };
        await trx
          .insertInto('node_services')
          .values(row)
          .onConflict((oc) =>
            oc.columns(['node_id', 'coordinate']).doUpdateSet({
              artifact: row.artifact,
              state: row.state,
              pid: row.pid,
              restarts: row.restarts,
              // An exit is remembered until the next one.
              ...(event.exit_status !== undefined
                ? { exit_status: row.exit_status, signal: row.signal }
                : {}),
              since: row.since,
              seq: row.seq,
              updated_at: row.updated_at,
            }),
          )
          .execute();
      }
      await this.#events.append(trx, [
        {
          node_id: nodeId,
          type: serviceEventType(event.to),
          at,
          data: {
            coordinate: event.coordinate,
            artifact: event.artifact,
            from: event.from,
            to: event.to,
            exit_status: event.exit_status ?? null,
            signal: event.signal ?? null,
            pid: event.pid,
            restarts: event.restarts,
            forgotten: event.forgotten === true,
          },
        },
      ]);
      return newer ? 'recorded' : 'stale';
    });
  }

  async forNode(nodeId: string): Promise<NodeService[]> {
    const rows = await this.#db
      .selectFrom('node_services')
      .selectAll()
      .where('node_id', '=', nodeId)
      .orderBy('coordinate')
      .execute();
    return rows.map((r) => ({
      coordinate: r.coordinate,
      artifact: r.artifact,
      state: r.state,
      since: new Date(Number(r.since)).toISOString(),
      pid: r.pid === null ? null : Number(r.pid),
      restarts: Number(r.restarts),
      exit_status: r.exit_status === null ? null : Number(r.exit_status),
      signal: r.signal,
    }));
  }
}
