import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import pg from 'pg';
import { sql } from 'kysely';
import { openDatabase, type Database } from '../../src/db/database.ts';
import { migrateToLatest } from '../../src/db/migrate.ts';

/**
 * Issue 13 item 6: the Citus plan in docs/citus.sql, checked against the schema the migrations
 * make (Citus itself is not installable here). Every table is named in the plan (a new table
 * without a plan fails here); step 1 runs on a fresh copy of the schema; afterwards every
 * distributed table has its distribution column, not null, in its primary key, in each unique
 * index and in each foreign key to another distributed table (what create_distributed_table
 * requires); and step 2 distributes a table only after the tables it references.
 */

const PLAN = fs.readFileSync(path.resolve('docs/citus.sql'), 'utf8');

function section(name: string): string {
  const start = PLAN.indexOf(`-- step ${name}`);
  expect(start, `docs/citus.sql has a "-- step ${name}" section`).toBeGreaterThanOrEqual(0);
  const next = PLAN.indexOf('-- step ', start + 1);
  return PLAN.slice(start, next < 0 ? undefined : next);
}

function statements(text: string): string[] {
  return text
    .split('\n')
    .filter((l) => !l.trim().startsWith('--'))
    .join('\n')
    .split(/;\s*\n/)
    .map((s) => s.trim().replace(/;$/, ''))
    .filter(Boolean);
}

const reference = [...section('2').matchAll(/create_reference_table\('(\w+)'\)/g)].map((m) => m[1]!);
const distributed = [...section('2').matchAll(/create_distributed_table\('(\w+)', '(\w+)'(?:, colocate_with => '(\w+)')?\)/g)].map((m) => ({
  table: m[1]!,
  column: m[2]!,
  colocateWith: m[3] ?? null,
}));
const local = (/^-- local: (.*)$/m.exec(PLAN)?.[1] ?? '')
  .split(',')
  .map((s) => s.replace(/\(.*$/, '').trim())
  .filter(Boolean);

let database: Database;
let dropDatabase: (() => Promise<void>) | undefined;

beforeAll(async () => {
  const url = inject('databaseUrl');
  if (url) {
    // A database of its own: step 1 rewrites keys of every table, which the other test files use.
    const name = `fenxiao_citus_plan_${Date.now()}_${process.pid}`;
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query(`create database ${name}`);
    await admin.end();
    const mine = new URL(url);
    mine.pathname = `/${name}`;
    database = await openDatabase({ databaseUrl: mine.toString(), poolSize: 1 });
    dropDatabase = async () => {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    };
  } else database = await openDatabase({ inMemory: true });
  await migrateToLatest(database.db);
});
afterAll(async () => {
  await database?.close();
  await dropDatabase?.();
});

async function tablesOfSchema(): Promise<string[]> {
  const r = await sql<{ table_name: string }>`select table_name from information_schema.tables
    where table_schema = 'public' and table_type = 'BASE TABLE' order by table_name`.execute(database.db);
  return r.rows.map((x) => x.table_name);
}

describe('the Citus plan (docs/citus.sql)', () => {
  it('names every table of the schema once: reference, local or distributed', async () => {
    const named = [...reference, ...local, ...distributed.map((d) => d.table)];
    expect(new Set(named).size, 'a table named twice').toBe(named.length);
    expect([...named].sort()).toEqual(await tablesOfSchema());
    expect(reference).toEqual(['tenants']);
    expect(distributed.length).toBeGreaterThan(40);
  });

  it('distributes each table only after the tables it references, colocated', async () => {
    const fks = await sql<{ t: string; ft: string }>`select conrelid::regclass::text as t, confrelid::regclass::text as ft
      from pg_constraint where contype = 'f' and connamespace = 'public'::regnamespace`.execute(database.db);
    const position = new Map(distributed.map((d, i) => [d.table, i]));
    for (const { t, ft } of fks.rows) {
      if (reference.includes(ft) || t === ft) continue;
      expect(position.has(t) && position.has(ft), `${t} → ${ft}: both distributed`).toBe(true);
      expect(position.get(ft)!, `${ft} is distributed before ${t}, which references it`).toBeLessThan(position.get(t)!);
    }
    for (const d of distributed.slice(1)) expect(d.colocateWith).toBe(distributed[0]!.table);
  });

  it('after step 1, every distributed table has its distribution column in its primary key, unique indexes and foreign keys', async () => {
    for (const s of statements(section('1'))) await sql.raw(s).execute(database.db);
    const problems: string[] = [];
    const columnOf = new Map(distributed.map((d) => [d.table, d.column]));
    for (const { table, column } of distributed) {
      const c = await sql<{ is_nullable: string }>`select is_nullable from information_schema.columns
        where table_schema = 'public' and table_name = ${table} and column_name = ${column}`.execute(database.db);
      if (c.rows.length === 0) problems.push(`${table} has no column ${column}`);
      else if (c.rows[0]!.is_nullable !== 'NO') problems.push(`${table}.${column} may be null`);
      // The primary key and every unique index (constraint or not), with their columns.
      const unique = await sql<{ name: string; primary: boolean; cols: string[] }>`
        select ic.relname as name, i.indisprimary as primary,
               array(select coalesce(a.attname, '(expression)') from unnest(i.indkey) with ordinality k(n, o)
                      left join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.n
                      where k.o <= i.indnkeyatts order by k.o)::text[] as cols
          from pg_index i join pg_class ic on ic.oid = i.indexrelid
         where i.indrelid = ${table}::regclass and i.indisunique`.execute(database.db);
      if (!unique.rows.some((u) => u.primary)) problems.push(`${table} has no primary key`);
      for (const u of unique.rows) if (!u.cols.includes(column)) problems.push(`${table}: ${u.name} (${u.cols.join(', ')}) lacks ${column}`);
      const fks = await sql<{ name: string; ft: string; cols: string[]; fcols: string[] }>`
        select conname as name, confrelid::regclass::text as ft,
               array(select a.attname from unnest(conkey) with ordinality k(n, o) join pg_attribute a on a.attrelid = conrelid and a.attnum = k.n order by k.o)::text[] as cols,
               array(select a.attname from unnest(confkey) with ordinality k(n, o) join pg_attribute a on a.attrelid = confrelid and a.attnum = k.n order by k.o)::text[] as fcols
          from pg_constraint where contype = 'f' and conrelid = ${table}::regclass`.execute(database.db);
      for (const fk of fks.rows) {
        if (reference.includes(fk.ft)) continue;
        const theirs = columnOf.get(fk.ft);
        if (!theirs) {
          problems.push(`${table}: ${fk.name} references ${fk.ft}, which is neither distributed nor a reference table`);
          continue;
        }
        const i = fk.cols.indexOf(column);
        if (i < 0 || fk.fcols[i] !== theirs)
          problems.push(`${table}: ${fk.name} (${fk.cols.join(', ')}) → ${fk.ft} (${fk.fcols.join(', ')}) does not pair ${column} with ${theirs}`);
      }
    }
    // A reference or local table may not reference a distributed one.
    for (const table of [...reference, ...local]) {
      const fks = await sql<{
        ft: string;
      }>`select confrelid::regclass::text as ft from pg_constraint where contype = 'f' and conrelid = ${table}::regclass`.execute(database.db);
      for (const fk of fks.rows) if (columnOf.has(fk.ft)) problems.push(`${table} references the distributed ${fk.ft}`);
    }
    expect(problems).toEqual([]);
  });
});
