/**
 * Session features through PgBouncer in transaction pooling mode (issue 13, item 5), where one
 * client connection's statements may reach different server connections:
 *
 * - migrations: several processes starting at once migrate one empty database; exactly one
 *   applies the migrations, the others wait for it and find nothing to do, and no advisory lock is
 *   left behind on a pooled server connection. (Kysely's own lock is session-level: taken and
 *   released by statements PgBouncer may send to different server connections. src/db/migrate.ts
 *   takes a transaction-scoped lock instead.)
 * - named prepared statements (db/prepare.ts, on by default): Debian 12's PgBouncer (1.18) does not
 *   keep them; left on, the first one lost turns them off in the process, and the transaction it
 *   failed runs again, so every transaction still succeeds.
 */
import { execFileSync } from 'node:child_process';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { inTransaction, openDatabase } from '../../src/db/database.ts';
import { migrateToLatest } from '../../src/db/migrate.ts';
import { migrations } from '../../src/db/migrations/index.ts';
import { onPostgres } from '../support/db.ts';
import { balancerUnavailable, startPgBouncer, type PgBouncer } from './support/balancer.ts';

const missing = onPostgres() ? balancerUnavailable() : null;
const onCi = /^(1|true)$/i.test(process.env.CI ?? '');

describe.skipIf(!onPostgres() || (missing !== null && !onCi))('session features through PgBouncer in transaction mode (needs DATABASE_URL, pgbouncer)', () => {
  const name = `fenxiao_migrate_bouncer_${Date.now()}_${process.pid}`;
  let bouncer: PgBouncer | undefined;
  let directUrl = '';
  const admin = async <T extends pg.QueryResultRow>(url: string, query: string) => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      return (await c.query<T>(query)).rows;
    } finally {
      await c.end();
    }
  };

  beforeAll(async () => {
    if (missing) throw new Error(`cannot run: ${missing}`);
    await admin(inject('databaseUrl'), `create database ${name}`);
    const url = new URL(inject('databaseUrl'));
    url.pathname = `/${name}`;
    directUrl = url.toString();
    bouncer = await startPgBouncer(directUrl, { poolSize: 3 });
  }, 60_000);

  afterAll(async () => {
    await bouncer?.stop();
    await admin(inject('databaseUrl'), `drop database if exists ${name} with (force)`);
  });

  it('four processes at once: one migrates, three wait and find nothing to do, no lock is left held', async () => {
    const dbs = await Promise.all([0, 1, 2, 3].map(() => openDatabase({ databaseUrl: bouncer!.url, poolSize: 2, prepare: false })));
    try {
      const applied = await Promise.all(dbs.map((d) => migrateToLatest(d.db)));
      const sizes = applied.map((a) => a.length).sort((a, b) => a - b);
      expect(sizes).toEqual([0, 0, 0, Object.keys(migrations).length]);
      const rows = await admin<{ n: string }>(directUrl, 'select count(*)::text as n from fenxiao_migrations');
      expect(Number(rows[0]!.n)).toBe(Object.keys(migrations).length);
      // Nothing held by PgBouncer's server connections once every run has returned.
      const locks = await admin<{ n: string }>(
        directUrl,
        `select count(*)::text as n from pg_locks l join pg_stat_activity a on a.pid = l.pid where l.locktype = 'advisory' and a.datname = current_database()`,
      );
      expect(locks[0]!.n).toBe('0');
      // And again: nothing to do.
      expect(await migrateToLatest(dbs[0]!.db)).toEqual([]);
    } finally {
      await Promise.all(dbs.map((d) => d.close()));
    }
  }, 240_000);

  it('waits while another transaction holds the migration lock', async () => {
    const holder = new pg.Client({ connectionString: directUrl });
    await holder.connect();
    const db = await openDatabase({ databaseUrl: bouncer!.url, poolSize: 1, prepare: false });
    try {
      await holder.query('begin');
      await holder.query(`select pg_advisory_xact_lock(hashtextextended('fenxiao:migrations', 0))`);
      let done = false;
      const run = migrateToLatest(db.db).then(() => {
        done = true;
      });
      // Still waiting while the lock is held (its backend shows it waiting on the advisory lock).
      let waiting = false;
      for (let i = 0; i < 100 && !waiting; i++) {
        await new Promise((r) => setTimeout(r, 100));
        const w = await admin<{ n: string }>(directUrl, `select count(*)::text as n from pg_locks where locktype = 'advisory' and not granted`);
        waiting = w[0]!.n !== '0';
      }
      expect(waiting).toBe(true);
      expect(done).toBe(false);
      await holder.query('commit');
      await run;
      expect(done).toBe(true);
    } finally {
      await holder.end();
      await db.close();
    }
  }, 60_000);

  it('named prepared statements left on behind PgBouncer 1.18: turned off after the first lost one, its transaction retried, every transaction succeeds', async () => {
    // Two "processes" (pools of 4) over PgBouncer's 3 server connections: a client's next
    // transaction often lands on a server connection that never saw its named statements.
    const dbs = await Promise.all([0, 1].map(() => openDatabase({ databaseUrl: bouncer!.url, poolSize: 4 })));
    const offs: Error[] = [];
    for (const d of dbs) d.onPreparedStatementsOff = (err) => offs.push(err);
    try {
      const n = 120;
      const answers = await Promise.all(
        Array.from({ length: n }, (_, i) =>
          inTransaction(dbs[i % 2]!.db, async (tx) => {
            const r = await sql<{ v: number }>`select ${i}::int + 1 as v`.execute(tx);
            await sql`select pg_sleep(0.001)`.execute(tx);
            return r.rows[0]!.v;
          }),
        ),
      );
      expect(answers).toEqual(Array.from({ length: n }, (_, i) => i + 1));
      // PgBouncer before 1.21 keeps no named statement across server connections: they were lost,
      // and said so (once per process at most).
      const version = /PgBouncer (\d+)\.(\d+)/.exec(execFileSync(bouncer!.bin, ['--version'], { encoding: 'utf8' }));
      const keepsNamed = version !== null && (Number(version[1]) > 1 || Number(version[2]) >= 21);
      if (!keepsNamed) {
        expect(offs.length).toBeGreaterThanOrEqual(1);
        expect(offs.length).toBeLessThanOrEqual(2);
        expect(offs.every((e) => /prepared statement "fx_[0-9a-f]+"/.test(e.message))).toBe(true);
      }
    } finally {
      await Promise.all(dbs.map((d) => d.close()));
    }
  }, 120_000);
});
