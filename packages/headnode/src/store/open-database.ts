import { Kysely, Migrator, PostgresDialect } from 'kysely';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from '@ur/protocol';
import { redactUrl } from '@ur/protocol';
import { StoreError } from '../errors.js';
import type { Dialect } from './dialect.js';
import { migrationProvider } from './migrations.js';
import { ImmediateSqliteDialect } from './sqlite-immediate.js';
import { withStatementCache } from './statement-cache.js';
import type { Database } from './schema.js';

export type { Dialect } from './dialect.js';

export interface OpenedDatabase {
  db: Kysely<Database>;
  dialect: Dialect;
}

export const isPostgresUrl = (location: string): boolean => /^postgres(ql)?:\/\//.test(location);

async function sqliteDialect(path: string): Promise<ImmediateSqliteDialect> {
  if (path !== ':memory:') await mkdir(dirname(path), { recursive: true });
  // libsql: better-sqlite3's API with prebuilt binaries (no compile at install).
  const { default: Database } = await import('libsql');
  const sqlite = new Database(path);
  // WAL lets API reads run while inventory batches commit; NORMAL is durable
  // across process crashes, which is what a headnode restart needs.
  sqlite.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;');
  return new ImmediateSqliteDialect({
    database: withStatementCache(sqlite),
  });
}

async function postgresDialect(url: string, logger: Logger): Promise<PostgresDialect> {
  const pg = (await import('pg')).default;
  // int8 columns hold epoch milliseconds, well inside Number's exact range.
  pg.types.setTypeParser(pg.types.builtins.INT8, (value: string) => Number(value));
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  // The server ending a connection that is checked out between queries, or
  // still closing after the pool ended, is otherwise an unhandled 'error'
  // event (a crash); the pool replaces broken connections by itself.
  const dropped = (err: Error): void => {
    logger.warn('PostgreSQL connection lost', { error: err.message });
  };
  pool.on('error', dropped);
  pool.on('connect', (client) => {
    client.on('error', dropped);
  });
  return new PostgresDialect({ pool });
}

/**
 * Opens the store: a PostgreSQL URL, or else a SQLite file path (`:memory:`
 * for tests). Runs pending migrations before returning.
 */
export async function openDatabase(location: string, logger: Logger): Promise<OpenedDatabase> {
  const dialect: Dialect = isPostgresUrl(location) ? 'postgres' : 'sqlite';
  let db: Kysely<Database>;
  try {
    db = new Kysely<Database>({
      dialect:
        dialect === 'postgres' ? await postgresDialect(location, logger) : await sqliteDialect(location),
    });
  } catch (err) {
    throw new StoreError(`cannot open ${redactUrl(location)}: ${String(err)}`, { cause: err });
  }
  const migrator = new Migrator({
    db,
    provider: migrationProvider(dialect),
    migrationTableName: 'ur_migrations',
    migrationLockTableName: 'ur_migrations_lock',
  });
  const { error, results } = await migrator.migrateToLatest();
  for (const r of results ?? []) {
    logger.info('migration', { name: r.migrationName, status: r.status });
  }
  if (error) {
    await db.destroy();
    throw new StoreError(
      `migrating ${redactUrl(location)} failed: ${error instanceof Error ? error.message : JSON.stringify(error)}`,
      { cause: error },
    );
  }
  return { db, dialect };
}
