import { type Kysely, type Migration, type MigrationProvider } from 'kysely';

/**
 * Migrations live in code (not files found at run time) so the bundle and
 * the tests run the same list. Use only portable Kysely schema builders:
 * every migration runs on SQLite and on PostgreSQL.
 */
const migrations: Record<string, Migration> = {
  '0001_nodes': {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('nodes')
        .addColumn('id', 'varchar(128)', (c) => c.primaryKey())
        .addColumn('hostname', 'text')
        .addColumn('state', 'varchar(16)', (c) => c.notNull().defaultTo('active'))
        .addColumn('sysinfo', 'text', (c) => c.notNull())
        .addColumn('agent_version', 'text')
        .addColumn('capabilities', 'text', (c) => c.notNull().defaultTo('[]'))
        .addColumn('heartbeat_interval_ms', 'integer')
        .addColumn('first_seen', 'bigint', (c) => c.notNull())
        .addColumn('last_seen', 'bigint', (c) => c.notNull())
        .addColumn('last_boot', 'bigint')
        .addColumn('last_heartbeat', 'text')
        .execute();
      await db.schema.createIndex('nodes_last_seen').on('nodes').column('last_seen').execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.dropTable('nodes').execute();
    },
  },
};

export const migrationProvider: MigrationProvider = {
  getMigrations: () => Promise.resolve(migrations),
};
