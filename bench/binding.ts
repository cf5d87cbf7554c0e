/**
 * The binding benchmark: registrations per second through POST /v1/distributors with referrer
 * codes, and the latency of the tree reads (upline, downline levels 1..3, team counts) on a
 * seeded random tree of 100,000 and 1,000,000 distributors, on PGlite and on PostgreSQL.
 *
 * Each run gets a fresh database (PostgreSQL: `fenxiao_bench_<ts>`, dropped afterwards; PGlite:
 * a temp folder, removed afterwards). A real `fenxiao serve` process creates the tenant, then the
 * tree is seeded with set-based SQL, level by level (each level's rows pick a parent in the level
 * above and copy its ancestors array), with the non-unique indexes dropped during the load and
 * rebuilt after, as a bulk load would. Then the server is started again and loaded over HTTP.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { openDatabase, type Database } from '../src/db/database.ts';
import { migrateToLatest } from '../src/db/migrate.ts';
import { INVITE_ALPHABET } from '../src/lib/invite-code.ts';
import { intOption, listOption, parseArgs } from './lib/args.ts';
import { closedLoop, type LoadResult } from './lib/load.ts';
import { log, progress } from './lib/progress.ts';
import { scratchDatabase } from './lib/pgdb.ts';
import { startServer } from './lib/server.ts';
import { summarize } from './lib/stats.ts';
import { int, ms, printTable } from './lib/table.ts';
import { formatDuration, nowMs, peakRssMiB, peakRssOfPid, timed } from './lib/timing.ts';

export const description = 'registrations/s and upline, downline and team latency on a seeded tree (PGlite, PostgreSQL)';
export const usage = [
  '--db pglite|postgres|both   (default: both when DATABASE_URL is set, else pglite)',
  '--sizes 100000,1000000      distributors seeded per run',
  '--depth 12                  levels in the seeded tree',
  '--registrations 2000        POST /v1/distributors requests (after 100 warm-up)',
  '--samples 1000              requests per read operation',
  '--concurrency 8             requests in flight (registrations); reads use --read-concurrency 4',
  '--keep                      keep the databases (prints where they are)',
].join('\n');

type DbKind = 'pglite' | 'postgres';

interface Row {
  db: DbKind;
  size: number;
  op: string;
  count: number;
  errors: number;
  p50: number;
  p99: number;
  throughput: number;
}

interface RunInfo {
  db: DbKind;
  size: number;
  seedMs: number;
  indexMs: number;
  serverRssMiB: number | undefined;
  maxDepth: number;
  explain: string[];
}

/** The seeded tree: contiguous index ranges per level; index i has id dst_<i padded>. */
interface Tree {
  levels: { start: number; end: number }[];
  size: number;
}

const seedId = (i: number) => `dst_${String(i).padStart(26, '0')}`;
const SQL_ID = (col: string) => sql.raw(`'dst_' || lpad((${col})::text, 26, '0')`);

/** Ten characters of the invite alphabet from the index: unique, and never an 8-character API code. */
function seedCode(i: number): string {
  let out = '';
  let n = i;
  for (let k = 0; k < 10; k++) {
    out = INVITE_ALPHABET[n % 31]! + out;
    n = Math.floor(n / 31);
  }
  return out;
}
function sqlCode(col: string) {
  const parts: string[] = [];
  for (let k = 9; k >= 0; k--) parts.push(`substr('${INVITE_ALPHABET}', ((${col}) / ${31 ** k}::bigint % 31)::int + 1, 1)`);
  return sql.raw(parts.join(' || '));
}

function planTree(size: number, depth: number): Tree {
  const roots = Math.max(1, Math.floor(size / (2 ** depth - 1)));
  const levels: { start: number; end: number }[] = [];
  let next = 1;
  for (let k = 0; k < depth && next <= size; k++) {
    const want = k === depth - 1 ? size - next + 1 : roots * 2 ** k;
    const end = Math.min(size, next + want - 1);
    levels.push({ start: next, end });
    next = end + 1;
  }
  return { levels, size };
}

async function seed(database: Database, tenantId: string, tree: Tree, kind: DbKind): Promise<{ seedMs: number; indexMs: number }> {
  const db = database.db;
  if (kind === 'postgres') {
    await sql`set synchronous_commit = off`.execute(db);
    await sql`set maintenance_work_mem = '512MB'`.execute(db);
  }
  // Bulk load: drop the secondary indexes, insert, rebuild them once.
  const idx = await sql<{ indexname: string; indexdef: string }>`
    select indexname, indexdef from pg_indexes
     where schemaname = current_schema() and tablename = 'distributors' and indexdef not like 'CREATE UNIQUE%'`.execute(db);
  for (const r of idx.rows) await sql.raw(`drop index ${r.indexname}`).execute(db);

  const p = progress(`seed ${kind} ${tree.size.toLocaleString('en-US')}`, tree.size);
  const started = nowMs();
  const chunk = kind === 'pglite' ? 25_000 : 100_000;
  let done = 0;
  for (const [k, level] of tree.levels.entries()) {
    for (let s = level.start; s <= level.end; s += chunk) {
      const e = Math.min(level.end, s + chunk - 1);
      if (k === 0) {
        await sql`
          insert into distributors (id, tenant_id, external_id, name, invite_code, status, referrer_id, ancestors, grade_code, source, approved_at)
          select ${SQL_ID('g')}, ${tenantId}, 'seed-' || g, 'Seed ' || g, ${sqlCode('g')}, 'active', null, '{}'::text[], 'default', 'api', now()
            from generate_series(${s}::bigint, ${e}::bigint) g`.execute(db);
      } else {
        const parent = tree.levels[k - 1]!;
        const count = parent.end - parent.start + 1;
        // Skewed parents (random()^2): a few distributors recruit many, most recruit few or none.
        await sql`
          insert into distributors (id, tenant_id, external_id, name, invite_code, status, referrer_id, ancestors, grade_code, source, approved_at)
          select ${SQL_ID('c.g')}, ${tenantId}, 'seed-' || c.g, 'Seed ' || c.g, ${sqlCode('c.g')}, 'active', p.id, array[p.id] || p.ancestors, 'default', 'api', now()
            from (select g, ${parent.start}::bigint + floor(power(random(), 2) * ${count})::bigint as pi
                    from generate_series(${s}::bigint, ${e}::bigint) g offset 0) c
            join distributors p on p.id = ${SQL_ID('c.pi')}`.execute(db);
      }
      done += e - s + 1;
      p.update(done, `level ${k}`);
    }
  }
  const seedMs = p.finish(done);
  const ip = progress(`indexes ${kind} ${tree.size.toLocaleString('en-US')}`, idx.rows.length);
  let built = 0;
  for (const r of idx.rows) {
    ip.note(`building ${r.indexname}`);
    await sql.raw(r.indexdef).execute(db);
    ip.update(++built);
  }
  await sql`analyze distributors`.execute(db);
  const indexMs = ip.finish(built);
  log(
    `seeded ${tree.size.toLocaleString('en-US')} distributors in ${formatDuration(seedMs)}, indexes in ${formatDuration(indexMs)} (total ${formatDuration(nowMs() - started)})`,
  );
  return { seedMs, indexMs };
}

/**
 * EXPLAIN of the queries behind the measured routes, as distributors/repo.ts builds them, on a
 * distributor with a big team: which index each one uses.
 */
async function explain(database: Database, tenantId: string, tree: Tree): Promise<string[]> {
  const db = database.db;
  const root = seedId(tree.levels[0]!.start);
  const deep = seedId(tree.size);
  const deepRow = await db.selectFrom('distributors').select('ancestors').where('id', '=', deep).executeTakeFirstOrThrow();
  const queries: { label: string; expect: RegExp; q: ReturnType<typeof sql> }[] = [
    {
      label: 'downline level 1',
      expect: /distributors_level1/,
      q: sql`select * from distributors where tenant_id = ${tenantId} and referrer_id = ${root} order by id limit 51`,
    },
    {
      label: 'downline level 2',
      expect: /distributors_level2/,
      q: sql`select * from distributors where tenant_id = ${tenantId} and ancestors[2] = ${root} order by id limit 51`,
    },
    {
      label: 'downline level 3',
      expect: /distributors_level3/,
      q: sql`select * from distributors where tenant_id = ${tenantId} and ancestors[3] = ${root} order by id limit 51`,
    },
    {
      label: 'count level 2',
      expect: /distributors_level2/,
      q: sql`select count(*) from distributors where tenant_id = ${tenantId} and ancestors[2] = ${root}`,
    },
    {
      label: 'upline (id in ancestors)',
      expect: /distributors_pkey/,
      q: sql`select * from distributors where tenant_id = ${tenantId} and id in (${sql.join(deepRow.ancestors.length ? deepRow.ancestors : [root])})`,
    },
    {
      label: 'team total (ancestors @>)',
      expect: /distributors_subtree/,
      q: sql`select count(*) from distributors where tenant_id = ${tenantId} and ancestors @> array[${root}]::text[]`,
    },
  ];
  const out: string[] = [];
  for (const { label, expect, q } of queries) {
    const r = await sql<{ 'QUERY PLAN': string }>`explain (analyze, costs off, timing on) ${q}`.execute(db);
    const plan = r.rows.map((x) => x['QUERY PLAN']);
    const ok = plan.some((l) => expect.test(l));
    out.push(`${ok ? 'ok ' : 'NO '} ${label}: ${ok ? `uses ${expect.source}` : `does not use ${expect.source}`}`);
    for (const l of plan) out.push(`      ${l}`);
  }
  return out;
}

async function createDatabase(
  kind: DbKind,
  size: number,
): Promise<{ env: Record<string, string>; open: () => Promise<Database>; drop: () => Promise<void>; where: string }> {
  if (kind === 'postgres') {
    const base = process.env.DATABASE_URL;
    if (!base) throw new Error('--db postgres needs DATABASE_URL');
    const scratch = await scratchDatabase(base, `fenxiao_bench_${Date.now()}_${size}`);
    const url = new URL(scratch.url);
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fenxiao-bench-pg-'));
    return {
      env: { DATABASE_URL: url.toString(), FENXIAO_DATA_DIR: dataDir },
      open: () => openDatabase({ databaseUrl: url.toString(), poolSize: 1 }),
      where: url.toString(),
      drop: async () => {
        await scratch.drop();
        fs.rmSync(dataDir, { recursive: true, force: true });
      },
    };
  }
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fenxiao-bench-pglite-'));
  return {
    env: { FENXIAO_DATA_DIR: dataDir },
    open: () => openDatabase({ dataDir }),
    where: dataDir,
    drop: async () => {
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

function rowOf(db: DbKind, size: number, op: string, r: LoadResult): Row {
  const s = summarize(r.latencies);
  if (r.errors > 0) log(`  ${op}: ${r.errors} errors, first: ${r.firstError}`);
  return { db, size, op, count: r.latencies.length, errors: r.errors, p50: s.p50, p99: s.p99, throughput: (r.latencies.length * 1000) / r.elapsedMs };
}

async function runOne(
  kind: DbKind,
  size: number,
  o: { depth: number; registrations: number; samples: number; concurrency: number; readConcurrency: number; keep: boolean },
): Promise<{ rows: Row[]; info: RunInfo }> {
  log(`\n== ${kind}, ${size.toLocaleString('en-US')} distributors`);
  const target = await createDatabase(kind, size);
  const rootToken = `bench-${randomBytes(16).toString('hex')}`;
  const env = { ...target.env, FENXIAO_ROOT_TOKEN: rootToken, FENXIAO_MASTER_KEY: randomBytes(32).toString('base64') };
  const rows: Row[] = [];
  try {
    // 1. The server migrates the fresh database and creates the tenant, as in production.
    let server = await startServer(env);
    const t = await fetch(`${server.url}/v1/tenants`, {
      method: 'POST',
      headers: { authorization: `Bearer ${rootToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Bench' }),
    });
    if (t.status !== 201) throw new Error(`tenant: ${t.status} ${await t.text()}`);
    const tenant = (await t.json()) as { id: string; api_key: string };
    await server.stop();

    // 2. Seed the tree directly, then look at the plans.
    const tree = planTree(size, o.depth);
    const database = await target.open();
    let seedMs = 0;
    let indexMs = 0;
    let explainLines: string[] = [];
    try {
      await migrateToLatest(database.db);
      ({ seedMs, indexMs } = await seed(database, tenant.id, tree, kind));
      explainLines = (await timed(() => explain(database, tenant.id, tree))).value;
    } finally {
      await database.close();
    }

    // 3. Serve it and measure over HTTP.
    log('starting the server on the seeded database');
    server = await startServer(env);
    const auth = { authorization: `Bearer ${tenant.api_key}` };
    const rand = (lo: number, hi: number) => lo + Math.floor(Math.random() * (hi - lo + 1));
    const runId = Date.now().toString(36);
    const register = (prefix: string) => (i: number) => ({
      url: `${server.url}/v1/distributors`,
      init: {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ external_id: `${prefix}-${runId}-${i}`, name: `Bench ${i}`, referrer_code: seedCode(rand(1, size)) }),
      },
    });
    await closedLoop({ total: 100, concurrency: o.concurrency, request: register('warm') });
    const rp = progress(`  registrations`, o.registrations);
    const reg = await closedLoop({ total: o.registrations, concurrency: o.concurrency, request: register('reg'), onProgress: (n) => rp.update(n) });
    rp.finish();
    rows.push(rowOf(kind, size, `register (POST, c=${o.concurrency})`, reg));

    const depth = tree.levels.length;
    const upTo = (levelsBelow: number) => tree.levels[Math.max(0, depth - 1 - levelsBelow)]!.end;
    const reads: { op: string; url: () => string }[] = [
      // What HTTP, the load generator and a trivial query cost on this machine, for scale.
      { op: 'GET /health (baseline)', url: () => '/health' },
      { op: 'upline', url: () => `/v1/distributors/${seedId(rand(1, size))}/upline` },
      { op: 'downline level=1', url: () => `/v1/distributors/${seedId(rand(1, upTo(1)))}/downline?level=1` },
      { op: 'downline level=2', url: () => `/v1/distributors/${seedId(rand(1, upTo(2)))}/downline?level=2` },
      { op: 'downline level=3', url: () => `/v1/distributors/${seedId(rand(1, upTo(3)))}/downline?level=3` },
      { op: 'downline level=3 (roots)', url: () => `/v1/distributors/${seedId(rand(1, tree.levels[0]!.end))}/downline?level=3` },
      { op: 'team counts', url: () => `/v1/distributors/${seedId(rand(1, upTo(1)))}/team` },
      { op: 'team counts (roots)', url: () => `/v1/distributors/${seedId(rand(1, tree.levels[0]!.end))}/team` },
    ];
    for (const r of reads) {
      await closedLoop({ total: 50, concurrency: o.readConcurrency, request: () => ({ url: server.url + r.url(), init: { headers: auth } }) });
      const pr = progress(`  ${r.op}`, o.samples);
      const res = await closedLoop({
        total: o.samples,
        concurrency: o.readConcurrency,
        request: () => ({ url: server.url + r.url(), init: { headers: auth } }),
        onProgress: (n) => pr.update(n),
      });
      pr.finish();
      rows.push(rowOf(kind, size, `${r.op} (c=${o.readConcurrency})`, res));
    }
    const serverRssMiB = server.child.pid ? peakRssOfPid(server.child.pid) : undefined;
    await server.stop();
    return { rows, info: { db: kind, size, seedMs, indexMs, serverRssMiB, maxDepth: depth, explain: explainLines } };
  } finally {
    if (o.keep) log(`kept: ${target.where}`);
    else await target.drop();
  }
}

export async function main(argv: string[]): Promise<void> {
  const { options } = parseArgs(argv);
  const dbOpt = options.get('db') ?? (process.env.DATABASE_URL ? 'both' : 'pglite');
  const dbs: DbKind[] =
    dbOpt === 'both'
      ? ['pglite', 'postgres']
      : dbOpt === 'pglite' || dbOpt === 'postgres'
        ? [dbOpt]
        : (() => {
            throw new Error(`--db must be pglite, postgres or both, got ${dbOpt}`);
          })();
  const sizes = listOption(options, 'sizes', ['100000', '1000000']).map((s) => {
    const n = Number(s.replace(/_/g, ''));
    if (!Number.isInteger(n) || n < 10) throw new Error(`bad size ${s}`);
    return n;
  });
  const o = {
    depth: intOption(options, 'depth', 12),
    registrations: intOption(options, 'registrations', 2000),
    samples: intOption(options, 'samples', 1000),
    concurrency: intOption(options, 'concurrency', 8),
    readConcurrency: intOption(options, 'read-concurrency', 4),
    keep: options.has('keep'),
  };
  log(
    `binding bench: db ${dbs.join(', ')}; sizes ${sizes.map((s) => s.toLocaleString('en-US')).join(', ')}; ${os.cpus().length} cpus, node ${process.version}`,
  );

  const rows: Row[] = [];
  const infos: RunInfo[] = [];
  for (const db of dbs) {
    for (const size of sizes) {
      const { rows: r, info } = await runOne(db, size, o);
      rows.push(...r);
      infos.push(info);
    }
  }

  printTable(
    'Seeding (set-based SQL, secondary indexes rebuilt after the load)',
    [
      { header: 'database', value: (i: RunInfo) => i.db },
      { header: 'distributors', value: (i) => int(i.size), align: 'right' },
      { header: 'levels', value: (i) => i.maxDepth, align: 'right' },
      { header: 'rows', value: (i) => formatDuration(i.seedMs), align: 'right' },
      { header: 'indexes', value: (i) => formatDuration(i.indexMs), align: 'right' },
      { header: 'rows/s', value: (i) => int((i.size * 1000) / i.seedMs), align: 'right' },
      { header: 'server peak RSS MiB', value: (i) => (i.serverRssMiB === undefined ? '-' : int(i.serverRssMiB)), align: 'right' },
    ],
    infos,
  );

  printTable(
    'Requests over HTTP to a real fenxiao serve process (latency in ms, send to end of body)',
    [
      { header: 'database', value: (r: Row) => r.db },
      { header: 'distributors', value: (r) => int(r.size), align: 'right' },
      { header: 'operation', value: (r) => r.op },
      { header: 'count', value: (r) => int(r.count), align: 'right' },
      { header: 'errors', value: (r) => r.errors, align: 'right' },
      { header: 'p50', value: (r) => ms(r.p50), align: 'right' },
      { header: 'p99', value: (r) => ms(r.p99), align: 'right' },
      { header: 'req/s', value: (r) => int(r.throughput), align: 'right' },
    ],
    rows,
  );

  // Ratios: PGlite against PostgreSQL at each size, and each database's largest size against its smallest.
  const find = (db: DbKind, size: number, op: string) => rows.find((r) => r.db === db && r.size === size && r.op === op);
  const ops = [...new Set(rows.map((r) => r.op))];
  if (dbs.length === 2) {
    const ratioRows = sizes.flatMap((size) => ops.map((op) => ({ size, op, a: find('pglite', size, op), b: find('postgres', size, op) })));
    printTable(
      'PGlite / PostgreSQL (above 1: PGlite slower; throughput: PostgreSQL / PGlite)',
      [
        { header: 'distributors', value: (r: (typeof ratioRows)[number]) => int(r.size), align: 'right' },
        { header: 'operation', value: (r) => r.op },
        { header: 'p50 ×', value: (r) => (r.a && r.b ? (r.a.p50 / r.b.p50).toFixed(2) : '-'), align: 'right' },
        { header: 'p99 ×', value: (r) => (r.a && r.b ? (r.a.p99 / r.b.p99).toFixed(2) : '-'), align: 'right' },
        { header: 'req/s ×', value: (r) => (r.a && r.b ? (r.b.throughput / r.a.throughput).toFixed(2) : '-'), align: 'right' },
      ],
      ratioRows,
    );
  }
  if (sizes.length >= 2) {
    const lo = Math.min(...sizes);
    const hi = Math.max(...sizes);
    const scaleRows = dbs.flatMap((db) => ops.map((op) => ({ db, op, a: find(db, hi, op), b: find(db, lo, op) })));
    printTable(
      `${int(hi)} / ${int(lo)} distributors (1.00: does not grow with the tree)`,
      [
        { header: 'database', value: (r: (typeof scaleRows)[number]) => r.db },
        { header: 'operation', value: (r) => r.op },
        { header: 'p50 ×', value: (r) => (r.a && r.b ? (r.a.p50 / r.b.p50).toFixed(2) : '-'), align: 'right' },
        { header: 'p99 ×', value: (r) => (r.a && r.b ? (r.a.p99 / r.b.p99).toFixed(2) : '-'), align: 'right' },
      ],
      scaleRows,
    );
  }
  for (const i of infos) {
    process.stdout.write(`\nQuery plans, ${i.db}, ${int(i.size)} distributors (EXPLAIN ANALYZE on the root with the biggest team)\n`);
    process.stdout.write(i.explain.join('\n') + '\n');
  }
  process.stdout.write(`\nbench process peak RSS ${int(peakRssMiB())} MiB\n`);
}
