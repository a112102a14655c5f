import Database from 'libsql';
import { StoreFixtures } from './store-fixtures.js';

const fixtures = new StoreFixtures();
beforeAll(() => fixtures.setUp());
afterAll(() => fixtures.tearDown());

const insertLease = (db: Database.Database, name: string): void => {
  db.prepare('insert into leases (name, holder, renewed_at, expires_at) values (?, ?, 1, 2)').run(
    name,
    'other',
  );
};

describe('the SQLite store shared with other processes (ur-headnode tokens … --db)', () => {
  it('commits a transaction another connection wrote during, and keeps seeing later writes', async () => {
    const { location } = await fixtures.fresh('sqlite');
    const { db } = await fixtures.stores(location);
    // Another process, as `ur-headnode tokens create` is: its own connection to the file.
    const racer = new Database(location);
    racer.exec('PRAGMA busy_timeout = 0');
    const later = new Database(location);
    try {
      let racerWrote = false;
      await db.transaction().execute(async (trx) => {
        await trx.selectFrom('leases').selectAll().execute();
        try {
          insertLease(racer, 'racer');
          racerWrote = true;
        } catch {
          // busy: the headnode's transaction holds the write lock, as it should
        }
        await trx
          .insertInto('leases')
          .values({ name: 'mine', holder: 'headnode', renewed_at: 1, expires_at: 2 })
          .execute();
      });
      // Had the racer's write gone in mid-transaction, the transaction's own write could not have.
      expect(racerWrote).toBe(false);
      insertLease(later, 'later');
      const names = (await db.selectFrom('leases').select('name').execute()).map((r) => r.name).sort();
      expect(names).toEqual(['later', 'mine']);
    } finally {
      racer.close();
      later.close();
    }
  });
});
