import {
  CompiledQuery,
  SqliteDialect,
  SqliteDriver,
  type DatabaseConnection,
  type Driver,
  type SqliteDialectConfig,
} from 'kysely';

/**
 * Kysely's SQLite driver, except that transactions begin IMMEDIATE.
 *
 * Kysely begins them DEFERRED: the first read takes a snapshot, and the first
 * write must then upgrade it. If another process (`ur-headnode tokens create`
 * on the same file) committed in between, SQLite refuses the upgrade at once
 * with SQLITE_BUSY_SNAPSHOT; no busy timeout helps. libsql does not reset the
 * statement that failed, so the connection kept that old snapshot: from then
 * on the headnode read stale rows (new tokens unknown, revoked ones valid) and
 * every write failed with "database is locked", until a restart. Reproduced
 * with four CLIs creating tokens while the headnode served requests.
 * IMMEDIATE takes the write lock first (waiting up to the busy timeout), so
 * a transaction's snapshot is always the newest and never has to upgrade.
 */
class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
}

export class ImmediateSqliteDialect extends SqliteDialect {
  readonly #config: SqliteDialectConfig;

  constructor(config: SqliteDialectConfig) {
    super(config);
    this.#config = config;
  }

  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.#config);
  }
}
