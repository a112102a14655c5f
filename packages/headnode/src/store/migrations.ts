import { sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import { stateOfReplyBody } from '../jobs/node-state.js';
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
    '0003_security': {
      async up(db: Kysely<unknown>): Promise<void> {
        const add = (name: string, type: 'text' | 'varchar(16)', notNullDefault?: string) =>
          db.schema
            .alterTable('nodes')
            .addColumn(name, type, (c) =>
              notNullDefault === undefined ? c : c.notNull().defaultTo(notNullDefault),
            )
            .execute();
        // Whether the agent runs only signed requests (null: not said, a Triton agent).
        await add('request_signing', 'varchar(16)');
        // The agent key pinned on first use, and a different one a node proved it holds.
        await add('public_key', 'text');
        await add('offered_key', 'text');
        await add('key_status', 'varchar(16)', 'none');
        await db.schema
          .createTable('api_tokens')
          .addColumn('id', 'varchar(32)', (c) => c.primaryKey())
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('role', 'varchar(16)', (c) => c.notNull())
          // SHA-256 of the secret part, hex: the token itself is shown once and never stored.
          .addColumn('hash', 'varchar(64)', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('revoked_at', 'bigint')
          .execute();
      },
      async down(db: Kysely<unknown>): Promise<void> {
        await db.schema.dropTable('api_tokens').execute();
        for (const column of ['request_signing', 'public_key', 'offered_key', 'key_status'])
          await db.schema.alterTable('nodes').dropColumn(column).execute();
      },
    },
    '0004_jobs_events_hooks': {
      async up(db: Kysely<unknown>): Promise<void> {
        // One log for node and job events: one id sequence to resume from.
        await db.schema.alterTable('node_events').renameTo('events').execute();
        await db.schema.alterTable('events').addColumn('job_id', 'varchar(64)').execute();
        await db.schema.createIndex('events_job').on('events').columns(['job_id', 'id']).execute();

        await db.schema.alterTable('commands').addColumn('job_id', 'varchar(64)').execute();
        await db.schema
          .alterTable('commands')
          .addColumn('state', 'varchar(16)', (c) => c.notNull().defaultTo('sent'))
          .execute();
        await db.schema.alterTable('commands').addColumn('sent_at', 'bigint').execute();
        await db.schema.alterTable('commands').addColumn('detail', 'text').execute();
        await sql`update commands set sent_at = issued_at, state = case
          when status in ('offline', 'expired', 'timed_out') then status else 'sent' end`.execute(db);
        // Replied commands: the state comes from the reply.
        const done = await sql<{ request_id: string; reply: string | null }>`
          select request_id, reply from commands where status = 'done'`.execute(db);
        for (const row of done.rows) {
          const state = stateOfReplyBody(row.reply === null ? null : (JSON.parse(row.reply) as unknown));
          await sql`update commands set state = ${state} where request_id = ${row.request_id}`.execute(db);
        }
        await db.schema.createIndex('commands_job').on('commands').columns(['job_id', 'node_id']).execute();

        await db.schema
          .createTable('jobs')
          .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
          .addColumn('kind', 'varchar(16)', (c) => c.notNull())
          .addColumn('target', 'text', (c) => c.notNull())
          .addColumn('command', 'text', (c) => c.notNull())
          .addColumn('concurrency', 'varchar(16)', (c) => c.notNull())
          .addColumn('max_errors', 'varchar(16)')
          .addColumn('batch_wait_ms', 'bigint', (c) => c.notNull())
          .addColumn('timeout_ms', 'bigint', (c) => c.notNull())
          .addColumn('stream', 'integer', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('created_by', 'text', (c) => c.notNull())
          .addColumn('node_count', 'integer', (c) => c.notNull())
          .addColumn('state', 'varchar(16)', (c) => c.notNull())
          .addColumn('owner', 'varchar(64)')
          .addColumn('owner_seen_at', 'bigint', (c) => c.notNull())
          .addColumn('cancel_requested_at', 'bigint')
          .addColumn('stopped_reason', 'text')
          .addColumn('finished_at', 'bigint')
          .execute();
        await db.schema.createIndex('jobs_state').on('jobs').columns(['state', 'owner_seen_at']).execute();
        await db.schema.createIndex('jobs_created').on('jobs').columns(['created_at', 'id']).execute();

        await db.schema
          .createTable('hooks')
          .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
          .addColumn('url', 'text', (c) => c.notNull())
          .addColumn('events', 'text', (c) => c.notNull())
          .addColumn('secret', 'text', (c) => c.notNull())
          .addColumn('description', 'text')
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('after_event_id', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('hook_deliveries')
          .addColumn('id', dialect === 'postgres' ? 'bigserial' : 'integer', (c) =>
            dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement(),
          )
          .addColumn('hook_id', 'varchar(64)', (c) => c.notNull())
          .addColumn('event_id', 'bigint', (c) => c.notNull())
          .addColumn('event_type', 'varchar(32)', (c) => c.notNull())
          .addColumn('payload', 'text', (c) => c.notNull())
          .addColumn('status', 'varchar(16)', (c) => c.notNull())
          .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('last_status', 'integer')
          .addColumn('last_error', 'text')
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('last_attempt_at', 'bigint')
          .addColumn('next_attempt_at', 'bigint', (c) => c.notNull())
          .addColumn('delivered_at', 'bigint')
          .addUniqueConstraint('hook_deliveries_event', ['hook_id', 'event_id'])
          .execute();
        await db.schema
          .createIndex('hook_deliveries_due')
          .on('hook_deliveries')
          .columns(['status', 'hook_id', 'next_attempt_at'])
          .execute();
        await db.schema
          .createTable('cursors')
          .addColumn('name', 'varchar(64)', (c) => c.primaryKey())
          .addColumn('position', 'bigint', (c) => c.notNull())
          .execute();
      },
      async down(db: Kysely<unknown>): Promise<void> {
        for (const table of ['cursors', 'hook_deliveries', 'hooks', 'jobs'])
          await db.schema.dropTable(table).execute();
        await db.schema.dropIndex('commands_job').execute();
        await sql`delete from commands where job_id is not null and status in ('pending', 'cancelled', 'skipped')`.execute(
          db,
        );
        for (const column of ['detail', 'sent_at', 'state', 'job_id'])
          await db.schema.alterTable('commands').dropColumn(column).execute();
        await db.schema.dropIndex('events_job').execute();
        await sql`delete from events where job_id is not null`.execute(db);
        await db.schema.alterTable('events').dropColumn('job_id').execute();
        await db.schema.alterTable('events').renameTo('node_events').execute();
      },
    },
    '0005_services': {
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
