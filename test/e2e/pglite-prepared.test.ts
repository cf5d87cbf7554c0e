/**
 * The embedded database names the statements it is sent again and again, as PostgreSQL's pooled
 * clients do (src/db/pglite-dialect.ts with src/db/prepare.ts): seen in the session's own
 * `pg_prepared_statements`, with the same answers, types and errors as unnamed ones; none with
 * FENXIAO_DB_PREPARE off; a plan the session can no longer use (a table changed shape) is dropped
 * and the statement answers; and `keyed` transactions plan generically, as on PostgreSQL.
 */
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { onPostgres } from '../support/db.ts';
import { openDatabase, type Database } from '../../src/db/database.ts';

const opened: Database[] = [];
afterAll(async () => {
  await Promise.all(opened.map((d) => d.close()));
});

async function open(prepare: boolean): Promise<Database> {
  const d = await openDatabase({ inMemory: true, prepare });
  opened.push(d);
  return d;
}

const named = async (d: Database) =>
  (await sql<{ name: string; statement: string }>`select name, statement from pg_prepared_statements where name like 'fx\\_%'`.execute(d.db)).rows;

describe.skipIf(onPostgres())('prepared statements on the embedded database', () => {
  it('names a text from its third use on, with the same answers and types', async () => {
    const d = await open(true);
    const answers: unknown[] = [];
    for (let i = 0; i < 6; i++) {
      const r = await sql<{ n: number; big: number; at: Date; tags: string[]; doc: { k: number }; none: null }>`
        select sum(x)::int as n, ${String(9_000_000_000 + i)}::bigint as big, ${new Date(Date.UTC(2026, 11, 7, i))}::timestamptz as at,
               ${['a', 'b,"c"', String(i)]}::text[] as tags, ${JSON.stringify({ k: i })}::jsonb as doc, ${null}::text as none
          from unnest(${[1, 2, i]}::int[]) as v(x)`.execute(d.db);
      answers.push(r.rows[0]);
    }
    expect(answers).toEqual(
      [0, 1, 2, 3, 4, 5].map((i) => ({
        n: 3 + i,
        big: 9_000_000_000 + i,
        at: new Date(Date.UTC(2026, 11, 7, i)),
        tags: ['a', 'b,"c"', String(i)],
        doc: { k: i },
        none: null,
      })),
    );
    expect((await named(d)).filter((s) => s.statement.includes('unnest($6::int[])'))).toHaveLength(1);
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

  it('answers errors as unnamed statements do, inside and outside transactions, and goes on', async () => {
    const d = await open(true);
    for (let i = 0; i < 4; i++) await expect(sql`select 1 / ${0}::int`.execute(d.db)).rejects.toMatchObject({ code: '22012' });
    expect((await sql<{ v: number }>`select 6 / ${2}::int as v`.execute(d.db)).rows[0]!.v).toBe(3);
    await sql`create table pp_t (id int primary key)`.execute(d.db);
    for (let i = 0; i < 4; i++) {
      await expect(
        d.db.transaction().execute(async (tx) => {
          await sql`insert into pp_t (id) values (${1}::int) on conflict do nothing`.execute(tx);
          await sql`insert into pp_t (id) values (${1}::int)`.execute(tx);
        }),
      ).rejects.toMatchObject({ code: '23505' });
    }
    expect((await sql<{ n: number }>`select count(*)::int as n from pp_t where id > ${0}::int`.execute(d.db)).rows[0]!.n).toBe(0);
  });

  it('drops a plan whose table changed shape and answers from the new shape', async () => {
    const d = await open(true);
    await sql`create table pp_shape (id int primary key, a text)`.execute(d.db);
    await sql`insert into pp_shape values (1, 'x')`.execute(d.db);
    const read = () => sql<Record<string, unknown>>`select * from pp_shape where id = ${1}::int`.execute(d.db);
    for (let i = 0; i < 4; i++) expect((await read()).rows).toEqual([{ id: 1, a: 'x' }]);
    expect((await named(d)).filter((s) => s.statement.includes('pp_shape'))).toHaveLength(1);
    await sql`alter table pp_shape add column b int default 7`.execute(d.db);
    // PostgreSQL refuses the old plan (0A000, "cached plan must not change result type"): the
    // statement runs again unnamed, and is named afresh from its third use after.
    expect((await read()).rows).toEqual([{ id: 1, a: 'x', b: 7 }]);
    for (let i = 0; i < 4; i++) expect((await read()).rows).toEqual([{ id: 1, a: 'x', b: 7 }]);
    expect((await named(d)).filter((s) => s.statement.includes('pp_shape'))).toHaveLength(1);
  });

  it('plans generically in keyed transactions only, sharing the one session', async () => {
    const d = await open(true);
    const mode = async (ex: Database['db']) => (await sql<{ m: string }>`select current_setting('plan_cache_mode') as m`.execute(ex)).rows[0]!.m;
    expect(await d.keyed.transaction().execute((tx) => mode(tx))).toBe('force_generic_plan');
    expect(await d.db.transaction().execute((tx) => mode(tx))).toBe('auto');
    expect(await mode(d.db)).toBe('auto');
    // Both instances queue for the same session: transactions from each, started together, never interleave.
    await sql`create table pp_q (n int)`.execute(d.db);
    const txOf = (k: Database['db'], n: number) =>
      k.transaction().execute(async (tx) => {
        await sql`insert into pp_q values (${n}::int)`.execute(tx);
        await new Promise((r) => setTimeout(r, 5));
        return (await sql<{ c: number }>`select count(*)::int as c from pp_q`.execute(tx)).rows[0]!.c;
      });
    const counts = await Promise.all([txOf(d.db, 1), txOf(d.keyed, 2), txOf(d.db, 3), txOf(d.keyed, 4)]);
    expect(counts).toEqual([1, 2, 3, 4]);
  });
});
