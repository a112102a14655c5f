import { sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import type { Dialect } from './dialect.js';

/**
 * Migrations live in code (not files found at run time) so the bundle and
 * the tests run the same list. Use only portable Kysely schema builders:
 * every migration runs on SQLite and on PostgreSQL. SQLite takes one ADD
 * COLUMN per ALTER TABLE, hence one statement per column.
 */
function migrations(dialect: Dialect): Record<string, Migration> {
  return {
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
    '0002_liveness_inventory_capacity': {
      async up(db: Kysely<unknown>): Promise<void> {
        const add = (
          name: string,
          type: 'text' | 'bigint' | 'integer' | 'varchar(16)',
          notNullDefault?: string | number,
        ) =>
          db.schema
            .alterTable('nodes')
            .addColumn(name, type, (c) =>
              notNullDefault === undefined ? c : c.notNull().defaultTo(notNullDefault),
            )
            .execute();
        await add('status', 'varchar(16)', 'unknown');
        await add('status_since', 'bigint', 0);
        await add('status_reason', 'text', '');
        for (const column of ['os', 'arch', 'serial', 'bmc_address'] as const) await add(column, 'text');
        for (const column of ['cpu_milli', 'memory_bytes', 'disk_bytes'] as const)
          await add(column, 'bigint');
        await add('console_port', 'integer');
        await add('labels', 'text', '{}');
        // What 0001 stored as state becomes the first stored status.
        await sql`update nodes set status = case when state = 'left' then 'left' else 'unknown' end,
          status_since = last_seen, status_reason = 'stored before liveness tracking'`.execute(db);
        await db.schema.alterTable('nodes').dropColumn('state').execute();
        await db.schema
          .createIndex('nodes_status_last_seen')
          .on('nodes')
          .columns(['status', 'last_seen'])
          .execute();

        await db.schema
          .createTable('node_events')
          .addColumn('id', dialect === 'postgres' ? 'bigserial' : 'integer', (c) =>
            dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement(),
          )
          .addColumn('node_id', 'varchar(128)', (c) => c.notNull())
          .addColumn('type', 'varchar(32)', (c) => c.notNull())
          .addColumn('at', 'bigint', (c) => c.notNull())
          .addColumn('data', 'text', (c) => c.notNull())
          .execute();
        await db.schema
          .createIndex('node_events_node')
          .on('node_events')
          .columns(['node_id', 'id'])
          .execute();
        await db.schema.createIndex('node_events_at').on('node_events').column('at').execute();

        await db.schema
          .createTable('compute_reservations')
          .addColumn('node_id', 'varchar(128)', (c) => c.notNull())
          .addColumn('name', 'varchar(128)', (c) => c.notNull())
          .addColumn('request_cpu_milli', 'bigint', (c) => c.notNull())
          .addColumn('limit_cpu_milli', 'bigint', (c) => c.notNull())
          .addColumn('request_memory_bytes', 'bigint', (c) => c.notNull())
          .addColumn('limit_memory_bytes', 'bigint', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('compute_reservations_pk', ['node_id', 'name'])
          .execute();
        await db.schema
          .createTable('storage_reservations')
          .addColumn('node_id', 'varchar(128)', (c) => c.notNull())
          .addColumn('name', 'varchar(128)', (c) => c.notNull())
          .addColumn('request_bytes', 'bigint', (c) => c.notNull())
          .addColumn('limit_bytes', 'bigint', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('storage_reservations_pk', ['node_id', 'name'])
          .execute();

        await db.schema
          .createTable('commands')
          .addColumn('request_id', 'varchar(128)', (c) => c.primaryKey())
          .addColumn('node_id', 'varchar(128)', (c) => c.notNull())
          .addColumn('type', 'varchar(32)', (c) => c.notNull())
          .addColumn('request', 'text', (c) => c.notNull())
          .addColumn('issued_by', 'varchar(64)', (c) => c.notNull())
          .addColumn('issued_at', 'bigint', (c) => c.notNull())
          .addColumn('deadline', 'bigint', (c) => c.notNull())
          .addColumn('status', 'varchar(16)', (c) => c.notNull())
          .addColumn('reply', 'text')
          .addColumn('finished_at', 'bigint')
          .addColumn('recorded_by', 'varchar(64)')
          .execute();
        await db.schema
          .createIndex('commands_node')
          .on('commands')
          .columns(['node_id', 'issued_at'])
          .execute();
        await db.schema
          .createIndex('commands_status')
          .on('commands')
          .columns(['status', 'deadline'])
          .execute();

        await db.schema
          .createTable('leases')
          .addColumn('name', 'varchar(64)', (c) => c.primaryKey())
          .addColumn('holder', 'varchar(64)')
          .addColumn('renewed_at', 'bigint', (c) => c.notNull())
          .addColumn('expires_at', 'bigint', (c) => c.notNull())
          .execute();
      },
      async down(db: Kysely<unknown>): Promise<void> {
        for (const table of [
          'leases',
          'commands',
          'storage_reservations',
          'compute_reservations',
          'node_events',
        ])
          await db.schema.dropTable(table).execute();
        await db.schema.dropIndex('nodes_status_last_seen').execute();
        await db.schema
          .alterTable('nodes')
          .addColumn('state', 'varchar(16)', (c) => c.notNull().defaultTo('active'))
          .execute();
        await sql`update nodes set state = case when status = 'left' then 'left' else 'active' end`.execute(
          db,
        );
        for (const column of [
          'status',
          'status_since',
          'status_reason',
          'os',
          'arch',
          'serial',
          'bmc_address',
          'cpu_milli',
          'memory_bytes',
          'disk_bytes',
          'console_port',
          'labels',
        ])
          await db.schema.alterTable('nodes').dropColumn(column).execute();
      },
    },
    // Named 0004: another branch adds 0003 (keys and tokens).
    '0004_services': {
      async up(db: Kysely<unknown>): Promise<void> {
        await db.schema
          .createTable('node_services')
          .addColumn('node_id', 'varchar(128)', (c) => c.notNull())
          .addColumn('coordinate', 'varchar(300)', (c) => c.notNull())
          .addColumn('artifact', 'text', (c) => c.notNull())
          .addColumn('state', 'varchar(16)', (c) => c.notNull())
          .addColumn('pid', 'integer')
          .addColumn('restarts', 'integer', (c) => c.notNull())
          .addColumn('exit_status', 'integer')
          .addColumn('signal', 'varchar(16)')
          .addColumn('since', 'bigint', (c) => c.notNull())
          .addColumn('seq', 'bigint', (c) => c.notNull())
          .addColumn('updated_at', 'bigint', (c) => c.notNull())
          .addPrimaryKeyConstraint('node_services_pk', ['node_id', 'coordinate'])
          .execute();
      },
      async down(db: Kysely<unknown>): Promise<void> {
        await db.schema.dropTable('node_services').execute();
      },
    },
  };
}

export function migrationProvider(dialect: Dialect): MigrationProvider {
  return { getMigrations: () => Promise.resolve(migrations(dialect)) };
}
