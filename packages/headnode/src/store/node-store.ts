import type { Insertable, Kysely, Selectable } from 'kysely';
import type { Database, NodesTable } from './schema.js';

export type NodeRow = Selectable<NodesTable>;

/** What one inbound message (or several, merged) changes about a node. */
export interface NodePatch {
  id: string;
  seenAt: number;
  state: NodesTable['state'];
  announce?: {
    hostname: string | null;
    sysinfo: string;
    agentVersion: string | null;
    capabilities: string;
    lastBoot: number | null;
    heartbeatIntervalMs: number | null;
  };
  heartbeat?: { json: string; intervalMs: number };
}

/** Folds a later patch for the same node into an earlier one. */
export function mergePatch(earlier: NodePatch, later: NodePatch): NodePatch {
  const merged: NodePatch = {
    id: later.id,
    seenAt: Math.max(earlier.seenAt, later.seenAt),
    state: later.state,
  };
  const announce = later.announce ?? earlier.announce;
  const heartbeat = later.heartbeat ?? earlier.heartbeat;
  if (announce) merged.announce = announce;
  if (heartbeat) merged.heartbeat = heartbeat;
  return merged;
}

/** Rows per INSERT: keeps statements under SQLite's bound-parameter limit. */
const CHUNK = 200;

export class NodeStore {
  readonly #db: Kysely<Database>;

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  /** Writes many patches in one transaction (one multi-row upsert per patch shape). */
  async apply(patches: readonly NodePatch[]): Promise<void> {
    const groups = new Map<string, NodePatch[]>();
    for (const p of patches) {
      const shape = `${p.announce ? 'a' : ''}${p.heartbeat ? 'h' : ''}`;
      const group = groups.get(shape);
      if (group) group.push(p);
      else groups.set(shape, [p]);
    }
    await this.#db.transaction().execute(async (trx) => {
      for (const [shape, group] of groups) {
        for (let i = 0; i < group.length; i += CHUNK) {
          await this.#upsert(trx, shape, group.slice(i, i + CHUNK));
        }
      }
    });
  }

  async #upsert(db: Kysely<Database>, shape: string, patches: NodePatch[]): Promise<void> {
    const rows: Insertable<NodesTable>[] = patches.map((p) => ({
      id: p.id,
      hostname: p.announce?.hostname ?? null,
      state: p.state,
      sysinfo: p.announce?.sysinfo ?? JSON.stringify({ UUID: p.id }),
      agent_version: p.announce?.agentVersion ?? null,
      capabilities: p.announce?.capabilities ?? '[]',
      heartbeat_interval_ms: p.heartbeat?.intervalMs ?? p.announce?.heartbeatIntervalMs ?? null,
      first_seen: p.seenAt,
      last_seen: p.seenAt,
      last_boot: p.announce?.lastBoot ?? null,
      last_heartbeat: p.heartbeat?.json ?? null,
    }));
    await db
      .insertInto('nodes')
      .values(rows)
      .onConflict((oc) =>
        oc.column('id').doUpdateSet((eb) => ({
          last_seen: eb.ref('excluded.last_seen'),
          state: eb.ref('excluded.state'),
          ...(shape.includes('a')
            ? {
                hostname: eb.ref('excluded.hostname'),
                sysinfo: eb.ref('excluded.sysinfo'),
                agent_version: eb.ref('excluded.agent_version'),
                capabilities: eb.ref('excluded.capabilities'),
                last_boot: eb.ref('excluded.last_boot'),
                heartbeat_interval_ms: eb.ref('excluded.heartbeat_interval_ms'),
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

  list(): Promise<NodeRow[]> {
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
}
