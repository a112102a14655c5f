import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'libsql';
import type { SqliteDatabase } from 'kysely';
import { withStatementCache } from '@ur/headnode';

describe('withStatementCache', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ur-stmt-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('prepares each SQL text once, keeps results right across reuse, and evicts the oldest', () => {
    const sqlite = new Database(join(dir, 'cache.db'));
    const prepared: string[] = [];
    const counting: SqliteDatabase = {
      close: () => sqlite.close(),
      prepare: (sql) => {
        prepared.push(sql);
        return sqlite.prepare(sql);
      },
    };
    const db = withStatementCache(counting, 2);
    db.prepare('create table t (k text primary key, v integer)').run([]);
    const insert = 'insert into t (k, v) values (?, ?)';
    for (let i = 0; i < 5; i++) db.prepare(insert).run([`k${i}`, i]);
    const select = 'select v from t where k = ?';
    expect(db.prepare(select).all(['k3'])).toEqual([{ v: 3 }]);
    expect(db.prepare(select).all(['k4'])).toEqual([{ v: 4 }]);
    expect(prepared.filter((s) => s === insert)).toHaveLength(1);
    expect(prepared.filter((s) => s === select)).toHaveLength(1);
    // Two kept: preparing a third pushes out the insert (the oldest), not the select.
    db.prepare('select count(*) as n from t').all([]);
    db.prepare(insert).run(['k9', 9]);
    expect(prepared.filter((s) => s === insert)).toHaveLength(2);
    // A batch statement of thousands of parameters is prepared each time and not kept.
    const batch = `select v from t where k in (${Array.from({ length: 2000 }, () => '?').join(', ')})`;
    const keys = Array.from({ length: 2000 }, (_, i) => `k${i}`);
    expect(db.prepare(batch).all(keys)).toHaveLength(6);
    db.prepare(batch).all(keys);
    expect(prepared.filter((s) => s === batch)).toHaveLength(2);
    db.close();
  });
});
