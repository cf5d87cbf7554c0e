import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onPostgres, openTestDatabase } from '../../test/support/db.ts';
import { dbStats } from './counting.ts';
import type { Database } from './database.ts';
import { migrateToLatest } from './migrate.ts';
import { migrations } from './migrations/index.ts';

/**
 * Every start and every CLI command migrates; the schema is nearly always current. Then a run is
 * its transaction, the migration lock and two short reads, not Kysely's Migrator with its
 * information_schema round trips (issue 16 item 1: `fenxiao migrate` on an existing database).
 */
describe('migrating a database whose schema is current', () => {
  let database: Database;
  beforeAll(async () => {
    database = await openTestDatabase(2);
  });
  afterAll(async () => {
    await database?.close();
  });

  it('finds nothing pending in five statements and changes nothing', async () => {
    const before = dbStats.queries;
    expect(await migrateToLatest(database.db)).toEqual([]);
    // begin, the lock, whether the table exists, its names, commit.
    expect(dbStats.queries - before).toBe(5);
    const rows = await sql<{ n: number }>`select count(*)::int as n from fenxiao_migrations`.execute(database.db);
    expect(rows.rows[0]?.n).toBe(Object.keys(migrations).length);
  });

  // On PGlite only: PostgreSQL runs share one database between test files, which must not see a
  // migration missing meanwhile.
  it.skipIf(onPostgres())('runs what is not yet recorded: one migration forgotten is applied again through the migrator', async () => {
    // The last migration's record taken away (its schema left in place) and put back by a migrator
    // run: proves the check sends an unrecorded migration to the migrator rather than trusting the count.
    const names = Object.keys(migrations);
    const last = names[names.length - 1]!;
    const [row] = (await sql<{ name: string; timestamp: string }>`select name, timestamp from fenxiao_migrations where name = ${last}`.execute(database.db))
      .rows;
    await sql`delete from fenxiao_migrations where name = ${last}`.execute(database.db);
    try {
      const before = dbStats.queries;
      // Its DDL exists already: the migrator's run of it fails, or succeeds if it is idempotent.
      // Either way it ran, which is the point.
      const outcome = await migrateToLatest(database.db).then(
        (applied) => applied.join(','),
        (err: unknown) => String(err),
      );
      expect(outcome === last || outcome.includes(`migration ${last} failed`), outcome).toBe(true);
      expect(dbStats.queries - before).toBeGreaterThan(5);
    } finally {
      await sql`delete from fenxiao_migrations where name = ${last}`.execute(database.db);
      await sql`insert into fenxiao_migrations (name, timestamp) values (${last}, ${row!.timestamp})`.execute(database.db);
    }
    expect(await migrateToLatest(database.db)).toEqual([]);
  });
});
