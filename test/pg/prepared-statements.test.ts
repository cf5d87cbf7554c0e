/**
 * Statements sent again and again become named prepared statements (src/db/prepare.ts): seen in
 * PostgreSQL's own `pg_prepared_statements` of the connection that sent them, with the same answers
 * as unnamed ones, and none with FENXIAO_DB_PREPARE off. One connection per pool, so every query
 * below runs on the session that is asked.
 */
import { sql } from 'kysely';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { onPostgres } from '../support/db.ts';
import { openDatabase, type Database, type Executor } from '../../src/db/database.ts';
import { dbStats } from '../../src/db/counting.ts';

const opened: Database[] = [];
afterAll(async () => {
  await Promise.all(opened.map((d) => d.close()));
});

async function open(prepare: boolean): Promise<Database> {
  const d = await openDatabase({ databaseUrl: inject('databaseUrl'), poolSize: 1, prepare });
  opened.push(d);
  return d;
}

const named = async (d: Database) =>
  (await sql<{ name: string; statement: string }>`select name, statement from pg_prepared_statements where name like 'fx\\_%'`.execute(d.db)).rows;

describe.skipIf(!onPostgres())('prepared statements', () => {
  it('names a text from its third use on, once per connection, with the same answers', async () => {
    const d = await open(true);
    const answers: number[] = [];
    for (let i = 0; i < 6; i++) {
      answers.push((await sql<{ n: number }>`select sum(x)::int as n from unnest(${[1, 2, i]}::int[]) as v(x)`.execute(d.db)).rows[0]!.n);
    }
    expect(answers).toEqual([3, 4, 5, 6, 7, 8]);
    const statements = await named(d);
    expect(statements.filter((s) => s.statement.includes('unnest($1::int[])'))).toHaveLength(1);
  });

  it('leaves texts seen fewer times unnamed, and names none when turned off', async () => {
    const on = await open(true);
    await sql`select 1 + ${1}::int as once`.execute(on.db);
    await sql`select 1 + ${2}::int as once`.execute(on.db);
    expect((await named(on)).filter((s) => s.statement.includes('once'))).toEqual([]);

    const off = await open(false);
    for (let i = 0; i < 6; i++) await sql`select ${i}::int as never_named`.execute(off.db);
    expect(await named(off)).toEqual([]);
  });

  it('stops naming statements when one is lost (as behind an old PgBouncer), and the retried transaction succeeds', async () => {
    const d = await open(true);
    const lost: Error[] = [];
    d.onPreparedStatementsOff = (err) => lost.push(err);
    const run = (i: number) =>
      d.db.transaction().execute(async (tx) => (await sql<{ v: number }>`select ${i}::int + 1 as v, 'lost_and_found' as marker`.execute(tx)).rows[0]!.v);
    for (let i = 0; i < 4; i++) expect(await run(i)).toBe(i + 1);
    expect((await named(d)).filter((s) => s.statement.includes('lost_and_found'))).toHaveLength(1);
    // What a pooler in transaction mode does to a client: its next transaction lands on a server
    // connection that never saw the statement.
    await sql`deallocate all`.execute(d.db);
    await expect(run(10)).rejects.toMatchObject({ code: '26000' });
    expect(lost).toHaveLength(1);
    for (let i = 0; i < 4; i++) expect(await run(i)).toBe(i + 1);
    expect(await named(d)).toEqual([]);
    expect(lost).toHaveLength(1);
  });

  it('keeps working inside transactions and after a failed statement', async () => {
    const d = await open(true);
    for (let i = 0; i < 4; i++) {
      await d.db.transaction().execute(async (tx) => {
        expect((await sql<{ v: number }>`select ${i}::int as v`.execute(tx)).rows[0]!.v).toBe(i);
      });
    }
    await expect(sql`select 1 / ${0}::int`.execute(d.db)).rejects.toThrow(/division by zero/);
    await expect(sql`select 1 / ${0}::int`.execute(d.db)).rejects.toThrow(/division by zero/);
    await expect(sql`select 1 / ${0}::int`.execute(d.db)).rejects.toThrow(/division by zero/);
    expect((await sql<{ v: number }>`select 6 / ${2}::int as v`.execute(d.db)).rows[0]!.v).toBe(3);
  });

  it('plans named statements generically in a transaction of Database.keyed, with BEGIN in the same round trip, and not elsewhere', async () => {
    const d = await open(true);
    const mode = async (ex: Executor) => (await sql<{ m: string }>`select current_setting('plan_cache_mode') as m`.execute(ex)).rows[0]!.m;
    const before = dbStats.queries;
    const inside = await d.keyed.transaction().execute(async (tx) => mode(tx));
    // BEGIN (with the setting), the select, COMMIT: three round trips, as any transaction of one statement.
    expect(dbStats.queries - before).toBe(3);
    expect(inside).toBe('force_generic_plan');
    // Local to that transaction: the next one, and a statement outside any, keep the default.
    expect(await mode(d.keyed)).toBe('auto');
    expect(await d.db.transaction().execute(async (tx) => mode(tx))).toBe('auto');
    expect(await mode(d.db)).toBe('auto');
    // A named statement run in such transactions is planned once: its generic plan is used.
    for (let i = 0; i < 6; i++) {
      await d.keyed
        .transaction()
        .execute(async (tx) => sql`select count(*) from pg_class where relname = any(${['pg_class', `x${i}`]}::text[]) and 'generic_marker' <> ''`.execute(tx));
    }
    const plans = await sql<{ generic_plans: string; custom_plans: string }>`
      select generic_plans::text, custom_plans::text from pg_prepared_statements where name like 'fx\_%' and statement like '%generic_marker%'`.execute(d.db);
    expect(plans.rows).toHaveLength(1);
    expect(Number(plans.rows[0]!.custom_plans)).toBe(0);
    expect(Number(plans.rows[0]!.generic_plans)).toBeGreaterThanOrEqual(4);
  });
});
