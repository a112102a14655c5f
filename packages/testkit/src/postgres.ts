import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const LOCAL_POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

/** The PostgreSQL server for tests: UR_TEST_PG_URL (scripts/test sets it), else the local one. */
export function postgresUrl(): string {
  return process.env.UR_TEST_PG_URL ?? LOCAL_POSTGRES_URL;
}

export interface TestDatabase {
  /** A `postgres://` URL of a database nobody else uses. */
  url: string;
  name: string;
  /** Drops the database, closing anything still connected to it. */
  drop(): Promise<void>;
}

async function admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: postgresUrl() });
  try {
    await client.connect();
  } catch (err) {
    throw new Error(
      `PostgreSQL at ${new URL(postgresUrl()).host} is not reachable (${String(err)}); ` +
        'scripts/test starts the local server, or set UR_TEST_PG_URL',
      { cause: err },
    );
  }
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Creates a fresh database for one test file; drop it in afterAll. */
export async function createTestDatabase(prefix = 'ur_test'): Promise<TestDatabase> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  await admin((c) => c.query(`CREATE DATABASE ${name}`));
  const url = new URL(postgresUrl());
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    drop: () => admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined),
  };
}
