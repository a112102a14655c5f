import type { SqliteDatabase, SqliteStatement } from 'kysely';

/** Distinct statements kept; `IN (...)` lists of every length make the set open-ended. */
const DEFAULT_MAX_STATEMENTS = 500;
/**
 * Longer SQL is not kept: those are the batch writes and lookups of
 * thousands of rows, each a different length, whose prepared form is large
 * and whose parsing is a sliver of their run time.
 */
const MAX_CACHED_SQL_LENGTH = 4096;

/**
 * Kysely's SQLite driver prepares every query it runs. A headnode runs the
 * same few dozen statements over and over (each node command is several),
 * and parsing and planning them again showed up as a tenth of the
 * headnode's CPU in fan-out profiles, so prepared statements are kept by
 * their SQL text. Safe because the SQLite API is synchronous: a statement
 * is never in use by two queries at once (the store does not stream).
 */
export function withStatementCache(db: SqliteDatabase, max = DEFAULT_MAX_STATEMENTS): SqliteDatabase {
  const cache = new Map<string, SqliteStatement>();
  return {
    close: () => {
      cache.clear();
      db.close();
    },
    prepare: (sql) => {
      if (sql.length > MAX_CACHED_SQL_LENGTH) return db.prepare(sql);
      let statement = cache.get(sql);
      if (statement === undefined) {
        statement = db.prepare(sql);
        // Oldest first out: a Map iterates in insertion order.
        if (cache.size >= max) cache.delete(cache.keys().next().value as string);
        cache.set(sql, statement);
      }
      return statement;
    },
  };
}
