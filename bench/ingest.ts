/**
 * The ingest benchmark: orders per second through POST /v1/orders, and latency at a fixed rate.
 *
 * Each run gets a fresh database (PostgreSQL: `fenxiao_bench_ingest_<ts>`, dropped afterwards;
 * PGlite: a temp folder, removed afterwards) and a real `fenxiao serve` child process, loaded
 * over HTTP from this process (keep-alive node:http). The tenant has program levels 3, two
 * grades with rates, the chain A ← B ← C ← D (A and B gold, C and D default) and many buyers bound
 * to D, so every order credits four beneficiaries on two items: 8 commission lines, a journal of
 * 9 postings, 4 cached balances — the same four hot accounts on every order.
 *
 * Phases: a warm-up; a closed loop (N clients, each sending the next order when the last was
 * answered) for max throughput; an open loop at a fixed rate (orders due every 1/rate s whatever
 * happened before; latency counted from when each was due). Then ledger verify on the result.
 *
 * Beside them, on PostgreSQL, pgbench runs a bare SQL transaction of the same shape (lock the
 * customer, insert the order, its 2 items and 8 lines, lock and update the 4 accounts, insert the
 * journal and its 9 postings, upsert the seller's monthly sales, update the customer, insert the
 * order event) on scratch copies of the tables (indexes and checks, no foreign keys or triggers)
 * in the same database, with the same client count and the same fixed rate.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import pg from 'pg';
import { openDatabase, type Database } from '../src/db/database.ts';
import { intOption, listOption, parseArgs } from './lib/args.ts';
import { closedLoopFor, httpClient, openLoop, type PhaseResult } from './lib/http.ts';
import { cpuMsOfPid, watchPostgresCpu } from './lib/cpu.ts';
import { runPgbench, pgbenchPath, type PgbenchResult } from './lib/pgbench.ts';
import { log, progress } from './lib/progress.ts';
import { scratchDatabase } from './lib/pgdb.ts';
import { startServer, type ServerProcess } from './lib/server.ts';
import { summarize } from './lib/stats.ts';
import { int, ms, printTable } from './lib/table.ts';
import { formatDuration, nowMs, peakRssOfPid } from './lib/timing.ts';

export const description = 'orders/s through POST /v1/orders (4-deep chain, 2 items) and p50/p99 at a fixed rate, beside pgbench';
export const usage = [
  '--db pglite|postgres|both   (default: both when DATABASE_URL is set, else pglite)',
  '--seconds 20                closed-loop (max throughput) duration',
  '--concurrency 16            clients in the closed loop (and pgbench -c)',
  '--rate 300                  open-loop orders per second',
  '--open-seconds 15           open-loop duration',
  '--buyers 20000              buyers bound to the bottom of the chain',
  '--log-levels info,warn      server LOG_LEVEL per run (info logs every request)',
  '--pool 20                   FENXIAO_DB_POOL_SIZE of the server',
  '--no-pgbench                skip the pgbench baseline',
  '--cpu-prof DIR              write the server\'s V8 CPU profile (--cpu-prof) into DIR',
  '--keep                      keep the databases (prints where they are)',
].join('\n');

type DbKind = 'pglite' | 'postgres';

/** CPU time per order (ms): what an order costs, however busy the machine's other work keeps it. */
interface Cpu { server?: number | undefined; postgres?: number | undefined; client?: number | undefined }

interface Run {
  db: DbKind;
  logLevel: string;
  closed: PhaseResult & { cpu: Cpu };
  open: PhaseResult & { cpu: Cpu };
  verify: string;
  serverRssMiB: number | undefined;
  pgbench?: { closed: PgbenchResult & { cpu: Cpu }; open: PgbenchResult & { cpu: Cpu } } | undefined;
}

const SALES_BP = { default: 500, gold: 800 };
const OVERRIDE_BP = { default: [1000, 500, 200], gold: [1500, 800, 300] };

async function createDatabase(kind: DbKind): Promise<{ env: Record<string, string>; url?: string; name?: string; open: () => Promise<Database>; drop: () => Promise<void>; where: string }> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `fenxiao-bench-ingest-${kind}-`));
  if (kind === 'postgres') {
    const base = process.env.DATABASE_URL;
    if (!base) throw new Error('--db postgres needs DATABASE_URL');
    const scratch = await scratchDatabase(base, `fenxiao_bench_ingest_${Date.now()}`);
    const name = scratch.name;
    const url = new URL(scratch.url);
    return {
      env: { DATABASE_URL: url.toString(), FENXIAO_DATA_DIR: dataDir },
      url: url.toString(),
      name,
      open: () => openDatabase({ databaseUrl: url.toString(), poolSize: 2 }),
      where: url.toString(),
      drop: async () => {
        await scratch.drop();
        fs.rmSync(dataDir, { recursive: true, force: true });
      },
    };
  }
  return {
    env: { FENXIAO_DATA_DIR: dataDir },
    open: () => openDatabase({ dataDir }),
    where: dataDir,
    drop: async () => { fs.rmSync(dataDir, { recursive: true, force: true }); },
  };
}

/** The tenant, its program, grades and chain, through the API as a merchant would set them up. */
async function setUpTenant(server: ServerProcess, rootToken: string) {
  const api = httpClient(server.url, 4);
  const call = async (method: string, route: string, token: string, body?: unknown) => {
    const a = await api.request(method, route, { headers: { authorization: `Bearer ${token}` }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    if (a.status >= 300) throw new Error(`${method} ${route}: ${a.status} ${a.body}`);
    return JSON.parse(a.body) as Record<string, any>;
  };
  try {
    const tenant = await call('POST', '/v1/tenants', rootToken, { name: 'Ingest bench' });
    const key = tenant.api_key as string;
    await call('PUT', '/v1/program', key, { levels: 3 });
    await call('PUT', '/v1/grades/default', key, { name: '普通', rank: 0, sales_bp: SALES_BP.default, override_bp: OVERRIDE_BP.default });
    await call('PUT', '/v1/grades/gold', key, { name: '金牌', rank: 2, sales_bp: SALES_BP.gold, override_bp: OVERRIDE_BP.gold });
    const chain: { id: string; invite_code: string }[] = [];
    for (const name of ['A', 'B', 'C', 'D']) {
      const referrer = chain[chain.length - 1];
      const d = await call('POST', '/v1/distributors', key, { external_id: `chain-${name}`, name, ...(referrer ? { referrer_code: referrer.invite_code } : {}) });
      if (name === 'A' || name === 'B') await call('PATCH', `/v1/distributors/${d.id}`, key, { grade: 'gold', reason: 'bench' });
      chain.push({ id: d.id, invite_code: d.invite_code });
    }
    return { tenantId: tenant.id as string, key, chain };
  } finally {
    api.close();
  }
}

/** Many buyers bound to the bottom of the chain, set-based (the server is stopped meanwhile). */
async function seedBuyers(database: Database, tenantId: string, sellerId: string, buyers: number) {
  await sql`insert into customers (tenant_id, external_id, distributor_id, bound_at, binding_source, created_at)
    select ${tenantId}, 'buyer-' || g, ${sellerId}, now(), 'seed', now() from generate_series(1, ${buyers}::int) g
    on conflict do nothing`.execute(database.db);
  await sql`analyze customers`.execute(database.db);
}

const SCRATCH_TABLES = ['orders', 'order_items', 'commissions', 'accounts', 'journal_entries', 'postings', 'sales_monthly', 'customers', 'order_events'];

/**
 * Scratch copies of the tables an order writes, for pgbench, doing the same work in the
 * database as the real ones: columns, defaults, checks and indexes (LIKE … INCLUDING ALL), the
 * same foreign keys (to the scratch copy where the parent is copied too, else to the real table:
 * the bench's tenant and its distributors), and the same triggers (a trigger function that reads
 * a copied table by name gets a copy reading the scratch table).
 */
async function pgbenchSetup(database: Database, tenantId: string, chain: { id: string }[], buyers: number) {
  const db = database.db;
  const scratch = (t: string) => (SCRATCH_TABLES.includes(t) ? `bench_${t}` : t);
  for (const t of SCRATCH_TABLES) await sql.raw(`drop table if exists bench_${t} cascade; create table bench_${t} (like ${t} including all)`).execute(db);
  const fks = await sql<{ tbl: string; name: string; def: string; ref: string }>`
    select conrelid::regclass::text as tbl, conname as name, pg_get_constraintdef(oid) as def, confrelid::regclass::text as ref
      from pg_constraint where contype = 'f' and conrelid::regclass::text = any(${SCRATCH_TABLES}::text[])`.execute(db);
  for (const fk of fks.rows) {
    const def = fk.def.replace(/REFERENCES (\w+)\(/, (_m, ref: string) => `REFERENCES ${scratch(ref)}(`);
    await sql.raw(`alter table bench_${fk.tbl} add constraint bench_${fk.name} ${def}`).execute(db);
  }
  const triggers = await sql<{ tbl: string; name: string; def: string; fn: string; body: string }>`
    select c.relname as tbl, t.tgname as name, pg_get_triggerdef(t.oid) as def, p.proname as fn, pg_get_functiondef(p.oid) as body
      from pg_trigger t join pg_class c on c.oid = t.tgrelid join pg_proc p on p.oid = t.tgfoid
     where not t.tgisinternal and c.relname = any(${SCRATCH_TABLES}::text[])`.execute(db);
  const tableWord = new RegExp(`\\b(${SCRATCH_TABLES.join('|')})\\b`, 'g');
  for (const tr of triggers.rows) {
    let fn = tr.fn;
    if (tableWord.test(tr.body.slice(tr.body.indexOf('AS $')))) {
      fn = `bench_${tr.fn}`;
      const head = tr.body.slice(0, tr.body.indexOf('AS $'));
      const body = tr.body.slice(tr.body.indexOf('AS $')).replace(tableWord, (t) => scratch(t));
      await sql.raw((head + body).replace(`FUNCTION public.${tr.fn}(`, `FUNCTION public.${fn}(`)).execute(db);
    }
    tableWord.lastIndex = 0;
    const def = tr.def.replace(` ON public.${tr.tbl} `, ` ON public.bench_${tr.tbl} `).replace(`TRIGGER ${tr.name} `, `TRIGGER bench_${tr.name} `)
      .replace(`EXECUTE FUNCTION ${tr.fn}(`, `EXECUTE FUNCTION ${fn}(`);
    await sql.raw(def).execute(db);
  }
  await sql`insert into bench_customers (tenant_id, external_id, distributor_id, bound_at, binding_source)
    select ${tenantId}, 'buyer-' || g, ${chain[3]!.id}, now(), 'seed' from generate_series(1, ${buyers}::int) g`.execute(db);
  await sql`insert into bench_accounts (id, tenant_id, owner_type, owner_id, purpose, cached, bounded)
    select 'bacc_' || k, ${tenantId}, 'distributor', d, 'pending', true, true from unnest(${chain.map((c) => c.id)}::text[], array['a', 'b', 'c', 'd']) as v(d, k)
    union all select 'bacc_x', ${tenantId}, 'tenant', 'tenant', 'commission_expense', false, false`.execute(db);
  await sql`analyze`.execute(db);
}

/**
 * One order as bare SQL on the scratch tables: what POST /v1/orders writes and locks, in its
 * order, without the reads that decide it (rules, seller and chain) and without HTTP.
 */
function pgbenchScript(tenantId: string, chain: { id: string }[]): string {
  const [a, b, c, d] = chain.map((x) => x.id) as [string, string, string, string];
  return `
\\set buyer random(1, :buyers)
\\set oid random(1, 9000000000000000000)
\\set p0 random(2000, 300000)
\\set p1 random(500, 50000)
\\set d0 :p0 * ${SALES_BP.default} / 10000
\\set d1 :p1 * ${SALES_BP.default} / 10000
\\set c0 :p0 * ${OVERRIDE_BP.default[0]} / 10000
\\set c1 :p1 * ${OVERRIDE_BP.default[0]} / 10000
\\set b0 :p0 * ${OVERRIDE_BP.gold[1]} / 10000
\\set b1 :p1 * ${OVERRIDE_BP.gold[1]} / 10000
\\set a0 :p0 * ${OVERRIDE_BP.gold[2]} / 10000
\\set a1 :p1 * ${OVERRIDE_BP.gold[2]} / 10000
BEGIN;
INSERT INTO bench_customers (tenant_id, external_id) VALUES ('${tenantId}', 'buyer-' || :buyer) ON CONFLICT DO NOTHING;
SELECT * FROM bench_customers WHERE tenant_id = '${tenantId}' AND external_id = 'buyer-' || :buyer FOR UPDATE;
INSERT INTO bench_orders (id, tenant_id, external_id, request_hash, buyer_external_id, status, seller_id, chain, rule_version, attribution, paid_fen, paid_at)
  VALUES ('ord_' || :oid, '${tenantId}', 'ext-' || :oid, 'hash', 'buyer-' || :buyer, 'paid', '${d}', '{${d},${c},${b},${a}}', 1, 'binding', :p0 + :p1, now());
INSERT INTO bench_order_items (id, tenant_id, order_id, position, sku, quantity, unit_price_fen, paid_fen)
  VALUES ('oit_' || :oid || '_0', '${tenantId}', 'ord_' || :oid, 0, 'sku-a', 3, :p0 / 3, :p0), ('oit_' || :oid || '_1', '${tenantId}', 'ord_' || :oid, 1, 'sku-b', 1, :p1, :p1);
INSERT INTO bench_commissions (id, tenant_id, order_id, order_item_id, beneficiary_id, level, rule_version, rate_source, rate_kind, rate_bp, beneficiary_grade, base_fen, original_base_fen, amount_fen, original_amount_fen, status)
  SELECT 'cm_' || :oid || '_' || v.n, '${tenantId}', 'ord_' || :oid, 'oit_' || :oid || '_' || v.item, v.who, v.level, 1, 'grade', 'percent', v.bp, 'default', v.base, v.base, v.amount, v.amount, 'pending'
    FROM (VALUES (1, 0, '${d}', 0, ${SALES_BP.default}, :p0, :d0), (2, 1, '${d}', 0, ${SALES_BP.default}, :p1, :d1),
                 (3, 0, '${c}', 1, ${OVERRIDE_BP.default[0]}, :p0, :c0), (4, 1, '${c}', 1, ${OVERRIDE_BP.default[0]}, :p1, :c1),
                 (5, 0, '${b}', 2, ${OVERRIDE_BP.gold[1]}, :p0, :b0), (6, 1, '${b}', 2, ${OVERRIDE_BP.gold[1]}, :p1, :b1),
                 (7, 0, '${a}', 3, ${OVERRIDE_BP.gold[2]}, :p0, :a0), (8, 1, '${a}', 3, ${OVERRIDE_BP.gold[2]}, :p1, :a1))
         AS v(n, item, who, level, bp, base, amount);
SELECT id FROM bench_accounts WHERE id = ANY('{bacc_a,bacc_b,bacc_c,bacc_d}'::text[]) ORDER BY id FOR UPDATE;
UPDATE bench_accounts a SET balance = a.balance + v.delta, version = a.version + 2
  FROM (VALUES ('bacc_a', :a0 + :a1), ('bacc_b', :b0 + :b1), ('bacc_c', :c0 + :c1), ('bacc_d', :d0 + :d1)) AS v(id, delta)
 WHERE a.id = v.id RETURNING a.id, a.balance;
WITH j AS (INSERT INTO bench_journal_entries (id, tenant_id, kind, ref_type, ref_id, memo) VALUES ('je_' || :oid, '${tenantId}', 'accrue', 'order', 'ord_' || :oid, 'ext-' || :oid) RETURNING id)
INSERT INTO bench_postings (journal_id, tenant_id, account_id, amount, party_id, commission_id, balance_after)
  SELECT j.id, '${tenantId}', v.acc, v.amount, v.party, v.cm, NULL FROM j, (VALUES
    ('bacc_d', :d0, '${d}', 'cm_' || :oid || '_1'), ('bacc_d', :d1, '${d}', 'cm_' || :oid || '_2'),
    ('bacc_c', :c0, '${c}', 'cm_' || :oid || '_3'), ('bacc_c', :c1, '${c}', 'cm_' || :oid || '_4'),
    ('bacc_b', :b0, '${b}', 'cm_' || :oid || '_5'), ('bacc_b', :b1, '${b}', 'cm_' || :oid || '_6'),
    ('bacc_a', :a0, '${a}', 'cm_' || :oid || '_7'), ('bacc_a', :a1, '${a}', 'cm_' || :oid || '_8'),
    ('bacc_x', -(:d0 + :d1 + :c0 + :c1 + :b0 + :b1 + :a0 + :a1), NULL, NULL)) AS v(acc, amount, party, cm) WHERE v.amount <> 0;
INSERT INTO bench_sales_monthly (tenant_id, distributor_id, month, sales_fen, order_count, refunded_fen) VALUES ('${tenantId}', '${d}', date_trunc('month', now())::date, :p0 + :p1, 1, 0)
  ON CONFLICT (distributor_id, month) DO UPDATE SET sales_fen = bench_sales_monthly.sales_fen + excluded.sales_fen, order_count = bench_sales_monthly.order_count + excluded.order_count;
UPDATE bench_customers SET purchases_fen = purchases_fen + :p0 + :p1, last_order_at = greatest(coalesce(last_order_at, now()), now()) WHERE tenant_id = '${tenantId}' AND external_id = 'buyer-' || :buyer;
INSERT INTO bench_order_events (id, tenant_id, order_id, type, at, details, actor_type, actor_id) VALUES ('evt_' || :oid, '${tenantId}', 'ord_' || :oid, 'paid', now(), '{"lines":8}', 'api_key', 'key');
COMMIT;
`;
}

async function runOne(kind: DbKind, logLevel: string, o: Options): Promise<Run> {
  log(`\n== ${kind}, LOG_LEVEL=${logLevel}`);
  const target = await createDatabase(kind);
  const rootToken = `bench-${randomBytes(16).toString('hex')}`;
  const env: Record<string, string> = {
    ...target.env, FENXIAO_ROOT_TOKEN: rootToken, FENXIAO_MASTER_KEY: randomBytes(32).toString('base64'),
    LOG_LEVEL: logLevel, FENXIAO_DB_POOL_SIZE: String(o.pool),
  };
  let server: ServerProcess | undefined;
  try {
    server = await startServer(env);
    const { tenantId, key, chain } = await setUpTenant(server, rootToken);
    await server.stop();
    server = undefined;
    const database = await target.open();
    try {
      await seedBuyers(database, tenantId, chain[3]!.id, o.buyers);
      if (kind === 'postgres' && o.pgbench) await pgbenchSetup(database, tenantId, chain, o.buyers);
    } finally {
      await database.close();
    }
    log(`seeded ${int(o.buyers)} buyers bound to D; starting the server`);
    server = await startServer(env, undefined, o.cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(o.cpuProf, `${kind}-${logLevel}`)}`] : []);
    const s = server;

    const api = httpClient(s.url, Math.max(o.concurrency, 64) + 8);
    const runId = Date.now().toString(36);
    const auth = { authorization: `Bearer ${key}` };
    const order = (prefix: string) => (i: number) => {
      const p0 = 2_000 + Math.floor(Math.random() * 298_000);
      const p1 = 500 + Math.floor(Math.random() * 49_500);
      const body = JSON.stringify({
        external_id: `${prefix}-${runId}-${i}`, buyer_external_id: `buyer-${1 + Math.floor(Math.random() * o.buyers)}`,
        items: [{ sku: 'sku-a', quantity: 3, unit_price_fen: Math.ceil(p0 / 3), paid_fen: p0 }, { sku: 'sku-b', quantity: 1, unit_price_fen: p1, paid_fen: p1 }],
      });
      return api.request('POST', '/v1/orders', { body, headers: auth });
    };
    const created = (a: { status: number }) => a.status === 201;
    // CPU time of the server process, of the PostgreSQL backends of this database, and of this
    // load generator, over a phase, per order.
    const watcher = target.url ? new pg.Client({ connectionString: target.url }) : undefined;
    await watcher?.connect();
    const measured = async <T extends { ok?: number; transactions?: number }>(phase: () => Promise<T>, pid: number | undefined): Promise<T & { cpu: Cpu }> => {
      const server0 = pid ? cpuMsOfPid(pid) : undefined;
      const pgWatch = watcher && target.name ? await watchPostgresCpu(watcher, target.name) : undefined;
      const client0 = process.cpuUsage();
      const r = await phase();
      const clientUs = process.cpuUsage(client0);
      const postgres = await pgWatch?.stop();
      const server1 = pid ? cpuMsOfPid(pid) : undefined;
      const n = r.ok ?? r.transactions ?? 0;
      const per = (ms: number | undefined) => (ms === undefined || n === 0 ? undefined : ms / n);
      return { ...r, cpu: { server: per(server0 === undefined || server1 === undefined ? undefined : server1 - server0), postgres: per(postgres), client: per((clientUs.user + clientUs.system) / 1000) } };
    };
    try {
      const wp = progress('  warm-up');
      const warm = await closedLoopFor({ seconds: Math.min(5, o.seconds), concurrency: o.concurrency, send: order('warm'), ok: created, onProgress: (n) => wp.update(n) });
      wp.finish();
      if (warm.errors > 0) throw new Error(`warm-up: ${warm.errors} errors, first: ${warm.firstError}\nserver output:\n${s.output().slice(-4000)}`);

      const cp = progress(`  closed loop c=${o.concurrency} for ${o.seconds} s`);
      const closed = await measured(() => closedLoopFor({ seconds: o.seconds, concurrency: o.concurrency, send: order('closed'), ok: created, onProgress: (n) => cp.update(n) }), s.child.pid);
      cp.finish();
      if (closed.errors > 0) log(`  closed loop: ${closed.errors} errors, first: ${closed.firstError}`);

      const op = progress(`  open loop ${o.rate}/s for ${o.openSeconds} s`, Math.round(o.rate * o.openSeconds));
      const open = await measured(() => openLoop({ rate: o.rate, seconds: o.openSeconds, send: order('open'), ok: created, onProgress: (n) => op.update(n) }), s.child.pid);
      op.finish();
      if (open.errors > 0) log(`  open loop: ${open.errors} errors, first: ${open.firstError}`);

      const v = await api.request('GET', '/v1/ledger/verify', { headers: auth });
      const report = JSON.parse(v.body) as { ok: boolean; breaks: unknown[]; checked: { journals: number } };
      const verify = v.status === 200 ? (report.ok ? `ok (${int(report.checked.journals)} journals)` : `${report.breaks.length} BREAKS`) : `HTTP ${v.status}`;
      log(`  ledger verify: ${verify}`);
      const serverRssMiB = s.child.pid ? peakRssOfPid(s.child.pid) : undefined;
      api.close();
      await s.stop();
      server = undefined;

      let pgbench: Run['pgbench'];
      if (kind === 'postgres' && o.pgbench && target.url) {
        const vars = { buyers: o.buyers };
        log(`  pgbench -c ${o.concurrency} -T ${o.seconds}, then -R ${o.rate} -T ${o.openSeconds}`);
        const script = pgbenchScript(tenantId, chain);
        const closedPg = await measured(() => runPgbench({ url: target.url!, script, clients: o.concurrency, threads: 2, seconds: o.seconds, vars }), undefined);
        const openPg = await measured(() => runPgbench({ url: target.url!, script, clients: o.concurrency, threads: 2, seconds: o.openSeconds, rate: o.rate, vars }), undefined);
        pgbench = { closed: closedPg, open: openPg };
      }
      return { db: kind, logLevel, closed, open, verify, serverRssMiB, pgbench };
    } finally {
      api.close();
      await watcher?.end();
    }
  } finally {
    if (server) await server.stop();
    if (o.keep) log(`kept: ${target.where}`);
    else await target.drop();
  }
}

interface Options {
  seconds: number; concurrency: number; rate: number; openSeconds: number; buyers: number; pool: number;
  pgbench: boolean; cpuProf: string | undefined; keep: boolean;
}

export async function main(argv: string[]): Promise<void> {
  const { options } = parseArgs(argv);
  const dbOpt = options.get('db') ?? (process.env.DATABASE_URL ? 'both' : 'pglite');
  const dbs: DbKind[] = dbOpt === 'both' ? ['pglite', 'postgres'] : dbOpt === 'pglite' || dbOpt === 'postgres' ? [dbOpt] : (() => { throw new Error(`--db must be pglite, postgres or both, got ${dbOpt}`); })();
  const logLevels = listOption(options, 'log-levels', ['info', 'warn']);
  const o: Options = {
    seconds: intOption(options, 'seconds', 20),
    concurrency: intOption(options, 'concurrency', 16),
    rate: intOption(options, 'rate', 300),
    openSeconds: intOption(options, 'open-seconds', 15),
    buyers: intOption(options, 'buyers', 20_000),
    pool: intOption(options, 'pool', 20),
    pgbench: !options.has('no-pgbench') && pgbenchPath() !== null,
    cpuProf: options.get('cpu-prof'),
    keep: options.has('keep'),
  };
  if (o.cpuProf) fs.mkdirSync(o.cpuProf, { recursive: true });
  if (!options.has('no-pgbench') && !o.pgbench) log('pgbench not found: the SQL baseline is skipped');
  log(`ingest bench: db ${dbs.join(', ')}; log levels ${logLevels.join(', ')}; ${os.cpus().length} cpus, node ${process.version}; server: a fenxiao serve child process, pool ${o.pool}`);

  const started = nowMs();
  const runs: Run[] = [];
  for (const db of dbs) for (const level of logLevels) runs.push(await runOne(db, level, o));

  type Row = { db: string; log: string; phase: string; load: string; count: number; errors: number; rate: number; p50: number; p99: number; max: number; keptUp: string; cpu: Cpu };
  const rows: Row[] = [];
  const keptUp = (r: PhaseResult) => {
    if (!r.target) return '';
    const achieved = (r.ok * 1000) / r.elapsedMs;
    return r.errors === 0 && achieved >= 0.98 * r.target.rate ? `yes (max ${r.target.maxInFlight} in flight)` : `NO: ${int(achieved)}/s, max ${r.target.maxInFlight} in flight`;
  };
  const add = (db: string, logLevel: string, phase: string, load: string, r: PhaseResult & { cpu: Cpu }) => {
    const s = summarize(r.latencies);
    rows.push({ db, log: logLevel, phase, load, count: r.ok, errors: r.errors, rate: (r.ok * 1000) / r.elapsedMs, p50: s.p50, p99: s.p99, max: s.max, keptUp: keptUp(r), cpu: r.cpu });
  };
  for (const r of runs) {
    add(r.db, r.logLevel, 'POST /v1/orders, max throughput', `c=${o.concurrency}`, r.closed);
    add(r.db, r.logLevel, 'POST /v1/orders, fixed rate', `${o.rate}/s`, r.open);
  }
  const pgRun = runs.find((r) => r.pgbench);
  if (pgRun?.pgbench) {
    const { closed, open } = pgRun.pgbench;
    const pgRow = (phase: string, load: string, p: PgbenchResult & { cpu: Cpu }, seconds: number, rate?: number): Row => {
      const s = summarize(p.latencies);
      const achieved = p.transactions / seconds;
      return {
        db: 'postgres', log: '-', phase, load, count: p.transactions, errors: p.failed, rate: p.tps, p50: s.p50, p99: s.p99, max: s.max,
        keptUp: rate ? (p.failed === 0 && achieved >= 0.98 * rate ? `yes (max lag ${ms(p.maxLagMs)} ms)` : `NO: ${int(achieved)}/s`) : '',
        cpu: p.cpu,
      };
    };
    rows.push(pgRow('pgbench: bare SQL, same shape', `c=${o.concurrency}`, closed, o.seconds));
    rows.push(pgRow('pgbench: bare SQL, same shape', `${o.rate}/s`, open, o.openSeconds, o.rate));
  }

  printTable('Ingest: POST /v1/orders over HTTP to a fenxiao serve child process (4-deep chain, levels 3, 2 items: 8 lines, 9 postings, 4 hot accounts per order); latency ms, open loop counted from when each order was due', [
    { header: 'database', value: (r: Row) => r.db },
    { header: 'LOG_LEVEL', value: (r) => r.log },
    { header: 'phase', value: (r) => r.phase },
    { header: 'load', value: (r) => r.load, align: 'right' },
    { header: 'orders', value: (r) => int(r.count), align: 'right' },
    { header: 'errors', value: (r) => r.errors, align: 'right' },
    { header: 'orders/s', value: (r) => int(r.rate), align: 'right' },
    { header: 'p50', value: (r) => ms(r.p50), align: 'right' },
    { header: 'p99', value: (r) => ms(r.p99), align: 'right' },
    { header: 'max', value: (r) => ms(r.max), align: 'right' },
    { header: 'server CPU/order', value: (r) => (r.cpu.server === undefined ? '-' : ms(r.cpu.server)), align: 'right' },
    { header: 'PG CPU/order', value: (r) => (r.cpu.postgres === undefined ? '-' : ms(r.cpu.postgres)), align: 'right' },
    { header: 'kept up', value: (r) => r.keptUp },
  ], rows);
  process.stdout.write('\nCPU/order: ms of CPU time per order (user + system) of the server process and of the PostgreSQL backends of the\nbench database, over the phase; unlike orders/s and latency it does not depend on how busy the rest of the machine is.\n');

  if (pgRun?.pgbench) {
    const bare = pgRun.pgbench.closed.tps;
    const ratios = runs.filter((r) => r.db === 'postgres').map((r) => ({ r, rate: (r.closed.ok * 1000) / r.closed.elapsedMs }));
    printTable(`Against the bare SQL (pgbench, c=${o.concurrency}, ${int(bare)} tps on this machine)`, [
      { header: 'database', value: (x: (typeof ratios)[number]) => x.r.db },
      { header: 'LOG_LEVEL', value: (x) => x.r.logLevel },
      { header: 'orders/s', value: (x) => int(x.rate), align: 'right' },
      { header: 'of pgbench', value: (x) => `${((100 * x.rate) / bare).toFixed(0)}%`, align: 'right' },
    ], ratios);
  }

  const checks = runs.map((r) => `${r.db} LOG_LEVEL=${r.logLevel}: ledger verify ${r.verify}; server peak RSS ${r.serverRssMiB === undefined ? '-' : `${int(r.serverRssMiB)} MiB`}`);
  process.stdout.write(`\n${checks.join('\n')}\n`);
  const pgRuns = runs.filter((r) => r.db === 'postgres');
  if (pgRuns.length > 0) {
    const best = Math.max(...pgRuns.map((r) => (r.closed.ok * 1000) / r.closed.elapsedMs));
    const p99At = Math.min(...pgRuns.map((r) => summarize(r.open.latencies).p99));
    process.stdout.write(`\nPostgreSQL targets: ≥ 1,000 orders/s → ${int(best)} (${best >= 1000 ? 'met' : 'NOT met'}); p99 < 50 ms at ${o.rate}/s → ${ms(p99At)} ms (${p99At < 50 ? 'met' : 'NOT met'})\n`);
  }
  if (o.cpuProf) process.stdout.write(`\nserver CPU profiles in ${path.resolve(o.cpuProf)}\n`);
  log(`done in ${formatDuration(nowMs() - started)}`);
}
