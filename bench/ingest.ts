/**
 * The ingest benchmark: orders per second through POST /v1/orders, and latency at a fixed rate,
 * for two shapes of order traffic, beside pgbench doing one bare SQL transaction per order of
 * the same shape on the same server.
 *
 * Shapes (the tenant has program levels 3 and two grades with rates in both):
 * - hot: the chain A ← B ← C ← D (A and B gold) and many buyers bound to D, so every order credits
 *   the same four beneficiaries on two items: 8 commission lines, a journal of 9 postings, the same
 *   4 cached balances on every order (a viral seller's worst case);
 * - spread: 1,000 distributors in referral trees up to 10 deep (one in ten gold), created through
 *   the API, and 5,000 buyers bound across them; each order picks a random buyer, so its seller
 *   is that buyer's distributor and its chain up to 3 of the seller's uplines (2 to 8 lines).
 *
 * Each run (database × shape) gets a fresh database (PostgreSQL: `fenxiao_bench_ingest_<shape>_<ts>`,
 * dropped afterwards; PGlite: a temp folder, removed afterwards) and a real `fenxiao serve` child
 * process (`--workers N`, default 1), loaded over HTTP from this process (keep-alive node:http).
 *
 * Phases: a warm-up (then, on PostgreSQL, ANALYZE, as autovacuum keeps a database in service
 * analyzed); a closed loop (N clients, each sending the next order when the last was
 * answered) for the maximum rate; an open loop at half that rate (orders due every 1/rate s
 * whatever happened before; latency counted from when each was due). Over each phase: CPU time
 * per order of the server processes and of the PostgreSQL backends, and from the server's
 * /metrics the round trips to the database and the commits per order. Then ledger verify.
 *
 * Beside them, on PostgreSQL, pgbench runs a bare SQL transaction of the same shape (lock the
 * customer, insert the order, its 2 items and its lines, lock and update the beneficiaries'
 * accounts, insert the journal and its postings, upsert the seller's monthly sales, update the
 * customer, insert the order event) on scratch copies of the tables (indexes, checks, foreign keys
 * and triggers) in the same database, with the same client count and at the same fixed rate.
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
import { processTree, watchPostgresCpu, watchTreeCpu } from './lib/cpu.ts';
import { metricsReader, type PerOrder } from './lib/metrics.ts';
import { runPgbench, pgbenchPath, type PgbenchResult } from './lib/pgbench.ts';
import { log, progress } from './lib/progress.ts';
import { scratchDatabase } from './lib/pgdb.ts';
import { startServer, type ServerProcess } from './lib/server.ts';
import { summarize } from './lib/stats.ts';
import { int, ms, printTable } from './lib/table.ts';
import { formatDuration, nowMs, peakRssOfPid } from './lib/timing.ts';
import type { JsonBody } from '../test/support/json.ts';

export const description =
  'orders/s through POST /v1/orders for a hot chain and a spread of 1,000 distributors, p50/p99 at half that rate, CPU and round trips per order, beside pgbench';
export const usage = [
  '--shape hot|spread|both     (default: both)',
  '--db pglite|postgres|both   (default: both when DATABASE_URL is set, else pglite)',
  '--workers 1                 fenxiao serve --workers (PostgreSQL; PGlite always runs one process)',
  '--seconds 15                closed-loop (max throughput) duration',
  '--concurrency 16            clients in the closed loop (and pgbench -c)',
  "--rate N                    open-loop orders per second (default: half the closed loop's rate)",
  '--open-seconds 10           open-loop duration',
  '--buyers 20000              hot: buyers bound to the bottom of the chain',
  '--distributors 1000         spread: distributors, in trees up to --depth deep',
  '--depth 10                  spread: deepest tree level',
  '--spread-buyers 5000        spread: buyers bound across the distributors',
  '--log-levels info           server LOG_LEVEL per run, comma-separated (info logs every request)',
  '--pool 20                   FENXIAO_DB_POOL_SIZE of the server (per worker)',
  '--in-flight N               FENXIAO_ORDER_BATCHES_IN_FLIGHT of the server (default: its own, 2 on PostgreSQL)',
  '--no-pgbench                skip the pgbench baseline',
  "--cpu-prof DIR              write the server's V8 CPU profiles (--cpu-prof) into DIR",
  '--keep                      keep the databases (prints where they are)',
].join('\n');

type DbKind = 'pglite' | 'postgres';
type Shape = 'hot' | 'spread';

/** CPU time per order (ms): what an order costs, however busy the machine's other work keeps it. */
interface Cpu {
  server?: number | undefined;
  postgres?: number | undefined;
  client?: number | undefined;
}

type Phase = PhaseResult & { cpu: Cpu; perOrder: PerOrder };
type PgbenchPhase = PgbenchResult & { cpu: Cpu };

interface Run {
  db: DbKind;
  shape: Shape;
  logLevel: string;
  workers: number;
  closed: Phase;
  open: Phase;
  /** Open-loop rate, orders/s. */
  rate: number;
  verify: string;
  verifyOk: boolean;
  serverRssMiB: number | undefined;
  pgbench?: { closed: PgbenchPhase; open: PgbenchPhase; statements: number } | undefined;
}

const SALES_BP = { default: 500, gold: 800 };
const OVERRIDE_BP = { default: [1000, 500, 200], gold: [1500, 800, 300] };
/** Spread: separate referral trees (a tenant's first recruits), the rest joins under them. */
const SPREAD_ROOTS = 20;
const SHAPE_NAME: Record<Shape, string> = { hot: 'hot chain', spread: 'spread' };

async function createDatabase(
  kind: DbKind,
  shape: Shape,
): Promise<{ env: Record<string, string>; url?: string; name?: string; open: () => Promise<Database>; drop: () => Promise<void>; where: string }> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `fenxiao-bench-ingest-${kind}-`));
  if (kind === 'postgres') {
    const base = process.env.DATABASE_URL;
    if (!base) throw new Error('--db postgres needs DATABASE_URL');
    const scratch = await scratchDatabase(base, `fenxiao_bench_ingest_${shape}_${Date.now()}`);
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
    drop: async () => {
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** JSON calls to the server as the merchant makes them; throws on anything but 2xx. */
export function apiOf(server: Pick<ServerProcess, 'url'>, sockets: number) {
  const api = httpClient(server.url, sockets);
  return {
    async call(method: string, route: string, token: string, body?: unknown) {
      const a = await api.request(method, route, {
        headers: { authorization: `Bearer ${token}` },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      if (a.status >= 300) throw new Error(`${method} ${route}: ${a.status} ${a.body}`);
      return JSON.parse(a.body) as Record<string, JsonBody>;
    },
    close: () => api.close(),
  };
}

/** The tenant, its program (levels 3) and grades, through the API as a merchant would set them up. */
async function createTenant(call: ReturnType<typeof apiOf>['call'], rootToken: string, name: string) {
  const tenant = await call('POST', '/v1/tenants', rootToken, { name });
  const key = tenant.api_key as string;
  await call('PUT', '/v1/program', key, { levels: 3 });
  await call('PUT', '/v1/grades/default', key, { name: '普通', rank: 0, sales_bp: SALES_BP.default, override_bp: OVERRIDE_BP.default });
  await call('PUT', '/v1/grades/gold', key, { name: '金牌', rank: 2, sales_bp: SALES_BP.gold, override_bp: OVERRIDE_BP.gold });
  return { tenantId: tenant.id as string, key };
}

/** Hot: the chain A ← B ← C ← D, A and B gold. */
async function setUpHot(server: ServerProcess, rootToken: string) {
  const api = apiOf(server, 4);
  try {
    const { tenantId, key } = await createTenant(api.call, rootToken, 'Ingest bench (hot chain)');
    const chain: { id: string; invite_code: string }[] = [];
    for (const name of ['A', 'B', 'C', 'D']) {
      const referrer = chain[chain.length - 1];
      const d = await api.call('POST', '/v1/distributors', key, {
        external_id: `chain-${name}`,
        name,
        ...(referrer ? { referrer_code: referrer.invite_code } : {}),
      });
      if (name === 'A' || name === 'B') await api.call('PATCH', `/v1/distributors/${d.id}`, key, { grade: 'gold', reason: 'bench' });
      chain.push({ id: d.id, invite_code: d.invite_code });
    }
    return { tenantId, key, chain };
  } finally {
    api.close();
  }
}

/** A small seeded generator (mulberry32): the same seed, the same trees and bindings every run. */
function seeded(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Referral trees: SPREAD_ROOTS roots, then each distributor invited by one picked at random among
 * those before it that are less than `depth` deep (a random recursive tree: most teams shallow, a
 * few chains reaching `depth`). Depth 1 is a root.
 */
function spreadTree(n: number, depth: number, rand: () => number): { parent: number | null; depth: number }[] {
  const nodes: { parent: number | null; depth: number }[] = [];
  for (let i = 0; i < n; i++) {
    if (i < Math.min(SPREAD_ROOTS, n)) {
      nodes.push({ parent: null, depth: 1 });
      continue;
    }
    let parent = 0;
    for (let tries = 0; tries < 100; tries++) {
      parent = Math.floor(rand() * i);
      if (nodes[parent]!.depth < depth) break;
      parent = 0;
    }
    nodes.push({ parent, depth: nodes[parent]!.depth + 1 });
  }
  return nodes;
}

/** Runs `fn` over `items` with `concurrency` calls in flight. */
async function inParallel<T>(items: T[], concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

/**
 * Spread: the distributors through the API, each tree level after the one above it (a referrer
 * exists before its recruits), so each one is exactly what the server makes: invite code,
 * ancestors, grade, accounts, its own customer row bound to its referrer. One in ten is then
 * upgraded to gold.
 */
export async function setUpSpread(server: Pick<ServerProcess, 'url'>, rootToken: string, o: Pick<Options, 'distributors' | 'depth'>) {
  const api = apiOf(server, 16);
  try {
    const { tenantId, key } = await createTenant(api.call, rootToken, 'Ingest bench (spread)');
    const rand = seeded(20261125);
    const nodes = spreadTree(o.distributors, o.depth, rand);
    const ids: string[] = [];
    const codes: string[] = [];
    const dp = progress('  distributors through the API', nodes.length);
    let made = 0;
    const deepest = Math.max(...nodes.map((x) => x.depth));
    for (let level = 1; level <= deepest; level++) {
      const here = nodes.flatMap((x, i) => (x.depth === level ? [i] : []));
      await inParallel(here, 8, async (i) => {
        const parent = nodes[i]!.parent;
        const d = await api.call('POST', '/v1/distributors', key, {
          external_id: `dst-${i}`,
          name: `分销商 ${i}`,
          ...(parent !== null ? { referrer_code: codes[parent] } : {}),
        });
        ids[i] = d.id as string;
        codes[i] = d.invite_code as string;
        dp.update(++made);
      });
    }
    const setupMs = dp.finish();
    const gold = nodes.flatMap((_x, i) => (rand() < 0.1 ? [i] : []));
    await inParallel(gold, 8, async (i) => {
      await api.call('PATCH', `/v1/distributors/${ids[i]}`, key, { grade: 'gold', reason: 'bench' });
    });
    const byDepth = new Map<number, number>();
    for (const x of nodes) byDepth.set(x.depth, (byDepth.get(x.depth) ?? 0) + 1);
    log(
      `  ${int(nodes.length)} distributors in ${SPREAD_ROOTS} trees in ${formatDuration(setupMs)} (${int((nodes.length * 1000) / setupMs)}/s), ${gold.length} gold; by depth ${[...byDepth].map(([k, v]) => `${k}:${v}`).join(' ')}`,
    );
    return { tenantId, key, ids, rand };
  } finally {
    api.close();
  }
}

/** Hot: many buyers bound to the bottom of the chain, set-based (the server is stopped meanwhile). */
async function seedHotBuyers(database: Database, tenantId: string, sellerId: string, buyers: number) {
  await sql`insert into customers (tenant_id, external_id, distributor_id, bound_at, binding_source, created_at)
    select ${tenantId}, 'buyer-' || g, ${sellerId}, now(), 'seed', now() from generate_series(1, ${buyers}::int) g
    on conflict do nothing`.execute(database.db);
  await sql`analyze customers`.execute(database.db);
}

/** Spread: buyers bound each to a distributor picked at random, set-based like the hot shape's. */
export async function seedSpreadBuyers(database: Database, tenantId: string, ids: string[], buyers: number, rand: () => number) {
  for (let from = 1; from <= buyers; from += 2_000) {
    const rows = Array.from({ length: Math.min(2_000, buyers - from + 1) }, (_x, k) => sql`(${`buyer-${from + k}`}, ${ids[Math.floor(rand() * ids.length)]!})`);
    await sql`insert into customers (tenant_id, external_id, distributor_id, bound_at, binding_source, created_at)
      select ${tenantId}, v.buyer, v.distributor, now(), 'seed', now() from (values ${sql.join(rows)}) as v(buyer, distributor)
      on conflict do nothing`.execute(database.db);
  }
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
async function scratchTables(database: Database) {
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
    const def = tr.def
      .replace(` ON public.${tr.tbl} `, ` ON public.bench_${tr.tbl} `)
      .replace(`TRIGGER ${tr.name} `, `TRIGGER bench_${tr.name} `)
      .replace(`EXECUTE FUNCTION ${tr.fn}(`, `EXECUTE FUNCTION ${fn}(`);
    await sql.raw(def).execute(db);
  }
}

/** Hot: the buyers, all bound to D, and the chain's four pending accounts and the expense account. */
async function pgbenchSetupHot(database: Database, tenantId: string, chain: { id: string }[], buyers: number) {
  await scratchTables(database);
  const db = database.db;
  await sql`insert into bench_customers (tenant_id, external_id, distributor_id, bound_at, binding_source)
    select ${tenantId}, 'buyer-' || g, ${chain[3]!.id}, now(), 'seed' from generate_series(1, ${buyers}::int) g`.execute(db);
  await sql`insert into bench_accounts (id, tenant_id, owner_type, owner_id, purpose, cached, bounded)
    select 'bacc_' || k, ${tenantId}, 'distributor', d, 'pending', true, true from unnest(${chain.map((c) => c.id)}::text[], array['a', 'b', 'c', 'd']) as v(d, k)
    union all select 'bacc_x', ${tenantId}, 'tenant', 'tenant', 'commission_expense', false, false`.execute(db);
  await sql`analyze`.execute(db);
}

/**
 * Hot: one order as bare SQL on the scratch tables: what POST /v1/orders writes and locks, in its
 * order, without the reads that decide it (rules, seller and chain) and without HTTP.
 */
function pgbenchScriptHot(tenantId: string, chain: { id: string }[]): string {
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

/** A grade's rate for a level as a SQL expression over `grade` and `lvl` (0 = the seller's own sale). */
const RATE_SQL = `(case grade when 'gold' then array[${[SALES_BP.gold, ...OVERRIDE_BP.gold].join(',')}] else array[${[SALES_BP.default, ...OVERRIDE_BP.default].join(',')}] end)[lvl + 1]`;

/**
 * Spread: copies of the tenant's customers (the buyers and the distributors' own rows) and
 * accounts, and `bench_chain`: for buyer n its seller and up to 3 uplines (nearest first), their
 * pending accounts, grades and rates, written as SQL literals for the script to read into
 * variables. It stands for what the server reads to decide an order (the binding, the
 * distributors' ancestors and grades) and costs the script one statement, as locking the
 * customer does in the hot script.
 */
async function pgbenchSetupSpread(database: Database, tenantId: string): Promise<{ expenseAccount: string }> {
  await scratchTables(database);
  const db = database.db;
  await sql`insert into bench_customers select * from customers where tenant_id = ${tenantId}`.execute(db);
  await sql`insert into bench_accounts select * from accounts where tenant_id = ${tenantId}`.execute(db);
  let expense = await sql<{
    id: string;
  }>`select id from bench_accounts where tenant_id = ${tenantId} and owner_type = 'tenant' and purpose = 'commission_expense'`.execute(db);
  if (!expense.rows[0]) {
    await sql`insert into bench_accounts (id, tenant_id, owner_type, owner_id, purpose, cached, bounded) values ('bacc_x', ${tenantId}, 'tenant', 'tenant', 'commission_expense', false, false)`.execute(
      db,
    );
    expense = { rows: [{ id: 'bacc_x' }] } as typeof expense;
  }
  await sql`drop table if exists bench_chain`.execute(db);
  await sql`create table bench_chain (n int primary key, buyer text not null, seller text not null, chain text not null, accs text not null, bps text not null, grades text not null)`.execute(
    db,
  );
  await sql`insert into bench_chain
    select substr(c.external_id, 7)::int, c.external_id, quote_literal(c.distributor_id),
           quote_literal(x.chain::text), quote_literal(x.accs::text), quote_literal(x.bps::text), quote_literal(x.grades::text)
      from customers c join distributors d on d.id = c.distributor_id
      cross join lateral (
        select array_agg(m.id order by m.lvl) as chain, array_agg(a.id order by m.lvl) as accs,
               array_agg(${sql.raw(RATE_SQL)} order by m.lvl) as bps, array_agg(m.grade order by m.lvl) as grades
          from (select d.id, 0::int as lvl, d.grade_code as grade
                union all
                select u.id, k.lvl::int, u.grade_code from unnest(d.ancestors[1:3]) with ordinality as k(uid, lvl) join distributors u on u.id = k.uid) m
          join accounts a on a.tenant_id = ${tenantId} and a.owner_type = 'distributor' and a.owner_id = m.id and a.purpose = 'pending'
      ) x
     where c.tenant_id = ${tenantId} and c.external_id like 'buyer-%'`.execute(db);
  await sql`analyze`.execute(db);
  return { expenseAccount: expense.rows[0]!.id };
}

/**
 * Spread: one order of a random buyer as bare SQL, what POST /v1/orders writes and locks, in the
 * hot script's order; the seller, chain, accounts and rates come from `bench_chain` in the
 * statement that locks the customer (\gset puts them in variables), every line and leg is
 * computed from them in SQL.
 */
function pgbenchScriptSpread(tenantId: string, expenseAccount: string): string {
  const lines = `unnest(:chain::text[], :accs::text[], :bps::int[], :grades::text[]) with ordinality as u(who, acc, bp, grade, ord)
    cross join (values (0, :p0::bigint), (1, :p1::bigint)) as it(item, base)`;
  return `
\\set n random(1, :buyers)
\\set oid random(1, 9000000000000000000)
\\set p0 random(2000, 300000)
\\set p1 random(500, 50000)
BEGIN;
INSERT INTO bench_customers (tenant_id, external_id) VALUES ('${tenantId}', 'buyer-' || :n) ON CONFLICT DO NOTHING;
SELECT ch.seller, ch.chain, ch.accs, ch.bps, ch.grades FROM bench_chain ch JOIN bench_customers c ON c.tenant_id = '${tenantId}' AND c.external_id = ch.buyer
 WHERE ch.n = :n FOR UPDATE OF c \\gset
INSERT INTO bench_orders (id, tenant_id, external_id, request_hash, buyer_external_id, status, seller_id, chain, rule_version, attribution, paid_fen, paid_at)
  VALUES ('ord_' || :oid, '${tenantId}', 'ext-' || :oid, 'hash', 'buyer-' || :n, 'paid', :seller, :chain::text[], 1, 'binding', :p0 + :p1, now());
INSERT INTO bench_order_items (id, tenant_id, order_id, position, sku, quantity, unit_price_fen, paid_fen)
  VALUES ('oit_' || :oid || '_0', '${tenantId}', 'ord_' || :oid, 0, 'sku-a', 3, :p0 / 3, :p0), ('oit_' || :oid || '_1', '${tenantId}', 'ord_' || :oid, 1, 'sku-b', 1, :p1, :p1);
INSERT INTO bench_commissions (id, tenant_id, order_id, order_item_id, beneficiary_id, level, rule_version, rate_source, rate_kind, rate_bp, beneficiary_grade, base_fen, original_base_fen, amount_fen, original_amount_fen, status)
  SELECT 'cm_' || :oid || '_' || (u.ord * 2 + it.item), '${tenantId}', 'ord_' || :oid, 'oit_' || :oid || '_' || it.item, u.who, u.ord - 1, 1, 'grade', 'percent', u.bp, u.grade,
         it.base, it.base, it.base * u.bp / 10000, it.base * u.bp / 10000, 'pending'
    FROM ${lines};
SELECT id FROM bench_accounts WHERE id = ANY(:accs::text[]) ORDER BY id FOR UPDATE;
UPDATE bench_accounts a SET balance = a.balance + v.delta, version = a.version + 2
  FROM (SELECT u.acc, sum(it.base * u.bp / 10000) AS delta FROM ${lines} GROUP BY u.acc) AS v
 WHERE a.id = v.acc RETURNING a.id, a.balance;
WITH j AS (INSERT INTO bench_journal_entries (id, tenant_id, kind, ref_type, ref_id, memo) VALUES ('je_' || :oid, '${tenantId}', 'accrue', 'order', 'ord_' || :oid, 'ext-' || :oid) RETURNING id),
     l AS (SELECT u.acc, u.who, 'cm_' || :oid || '_' || (u.ord * 2 + it.item) AS cm, it.base * u.bp / 10000 AS amount FROM ${lines})
INSERT INTO bench_postings (journal_id, tenant_id, account_id, amount, party_id, commission_id, balance_after)
  SELECT j.id, '${tenantId}', l.acc, l.amount, l.who, l.cm, NULL::bigint FROM j, l WHERE l.amount <> 0
  UNION ALL SELECT j.id, '${tenantId}', '${expenseAccount}', -(SELECT sum(amount) FROM l), NULL, NULL, NULL FROM j;
INSERT INTO bench_sales_monthly (tenant_id, distributor_id, month, sales_fen, order_count, refunded_fen) VALUES ('${tenantId}', :seller, date_trunc('month', now())::date, :p0 + :p1, 1, 0)
  ON CONFLICT (distributor_id, month) DO UPDATE SET sales_fen = bench_sales_monthly.sales_fen + excluded.sales_fen, order_count = bench_sales_monthly.order_count + excluded.order_count;
UPDATE bench_customers SET purchases_fen = purchases_fen + :p0 + :p1, last_order_at = greatest(coalesce(last_order_at, now()), now()) WHERE tenant_id = '${tenantId}' AND external_id = 'buyer-' || :n;
INSERT INTO bench_order_events (id, tenant_id, order_id, type, at, details, actor_type, actor_id) VALUES ('evt_' || :oid, '${tenantId}', 'ord_' || :oid, 'paid', now(), '{"lines":8}', 'api_key', 'key');
COMMIT;
`;
}

/** Statements in a pgbench script, each one round trip in its simple protocol (BEGIN and COMMIT included). */
function statementsIn(script: string): number {
  return script.split('\n').filter((l) => !l.startsWith('\\set') && (/;\s*$/.test(l) || /\\gset\s*$/.test(l))).length;
}

async function runOne(kind: DbKind, shape: Shape, logLevel: string, o: Options): Promise<Run> {
  const workers = kind === 'postgres' ? o.workers : 1;
  log(`\n== ${kind}, ${SHAPE_NAME[shape]}, LOG_LEVEL=${logLevel}, ${workers} server process${workers > 1 ? 'es' : ''}`);
  const target = await createDatabase(kind, shape);
  const rootToken = `bench-${randomBytes(16).toString('hex')}`;
  const metricsToken = `bench-metrics-${randomBytes(16).toString('hex')}`;
  const env: Record<string, string> = {
    ...target.env,
    FENXIAO_ROOT_TOKEN: rootToken,
    FENXIAO_MASTER_KEY: randomBytes(32).toString('base64'),
    FENXIAO_METRICS_TOKEN: metricsToken,
    LOG_LEVEL: logLevel,
    FENXIAO_DB_POOL_SIZE: String(o.pool),
    ...(o.inFlight === undefined ? {} : { FENXIAO_ORDER_BATCHES_IN_FLIGHT: String(o.inFlight) }),
  };
  let server: ServerProcess | undefined;
  try {
    // The tenant through the API (one process), then the buyers set-based with the server stopped.
    server = await startServer({ ...env, LOG_LEVEL: 'warn' });
    const hot = shape === 'hot' ? await setUpHot(server, rootToken) : undefined;
    const spread = shape === 'spread' ? await setUpSpread(server, rootToken, o) : undefined;
    const { tenantId, key } = (hot ?? spread)!;
    await server.stop();
    server = undefined;
    const buyers = shape === 'hot' ? o.buyers : o.spreadBuyers;
    let script: string | undefined;
    const database = await target.open();
    try {
      if (hot) await seedHotBuyers(database, tenantId, hot.chain[3]!.id, buyers);
      if (spread) await seedSpreadBuyers(database, tenantId, spread.ids, buyers, spread.rand);
      if (kind === 'postgres' && o.pgbench) {
        if (hot) {
          await pgbenchSetupHot(database, tenantId, hot.chain, buyers);
          script = pgbenchScriptHot(tenantId, hot.chain);
        } else {
          const { expenseAccount } = await pgbenchSetupSpread(database, tenantId);
          script = pgbenchScriptSpread(tenantId, expenseAccount);
        }
      }
    } finally {
      await database.close();
    }
    log(`  seeded ${int(buyers)} buyers ${hot ? 'bound to D' : `bound across ${int(o.distributors)} distributors`}; starting the server`);
    const nodeArgs = o.cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(o.cpuProf, `${kind}-${shape}-${logLevel}`)}`] : [];
    server = await startServer(env, undefined, nodeArgs, ['--workers', String(workers)]);
    const s = server;
    const serverPid = s.child.pid;

    const api = httpClient(s.url, Math.max(o.concurrency, 64) + 8);
    const metrics = metricsReader(s.url, metricsToken);
    const runId = Date.now().toString(36);
    const auth = { authorization: `Bearer ${key}` };
    const order = (prefix: string) => (i: number) => {
      const p0 = 2_000 + Math.floor(Math.random() * 298_000);
      const p1 = 500 + Math.floor(Math.random() * 49_500);
      const body = JSON.stringify({
        external_id: `${prefix}-${runId}-${i}`,
        buyer_external_id: `buyer-${1 + Math.floor(Math.random() * buyers)}`,
        items: [
          { sku: 'sku-a', quantity: 3, unit_price_fen: Math.ceil(p0 / 3), paid_fen: p0 },
          { sku: 'sku-b', quantity: 1, unit_price_fen: p1, paid_fen: p1 },
        ],
      });
      return api.request('POST', '/v1/orders', { body, headers: auth });
    };
    const created = (a: { status: number }) => a.status === 201;
    // CPU time of the server processes (a cluster's primary and workers), of the PostgreSQL
    // backends of this database, and of this load generator, over a phase, per order.
    const watcher = target.url ? new pg.Client({ connectionString: target.url }) : undefined;
    await watcher?.connect();
    const cpuOver = async <T extends { ok?: number; transactions?: number }>(phase: () => Promise<T>, pid: number | undefined): Promise<T & { cpu: Cpu }> => {
      const server0 = pid ? watchTreeCpu(pid) : undefined;
      const pgWatch = watcher && target.name ? await watchPostgresCpu(watcher, target.name) : undefined;
      const client0 = process.cpuUsage();
      const r = await phase();
      const clientUs = process.cpuUsage(client0);
      const postgres = await pgWatch?.stop();
      const backends = pgWatch?.backends();
      // New backends during a phase start with cold caches (a pool closing idle connections shows here).
      if (backends) log(`    PostgreSQL backends of the bench database over the phase: ${backends.seen}, ${backends.started} of them new`);
      const serverMs = server0?.stop();
      const n = r.ok ?? r.transactions ?? 0;
      const per = (v: number | undefined) => (v === undefined || n === 0 ? undefined : v / n);
      return { ...r, cpu: { server: per(serverMs), postgres: per(postgres), client: per((clientUs.user + clientUs.system) / 1000) } };
    };
    const measured = async (phase: () => Promise<PhaseResult>): Promise<Phase> => {
      const before = await metrics.scrape();
      const r = await cpuOver(phase, serverPid);
      const after = await metrics.scrape();
      return { ...r, perOrder: metrics.perOrder(before, after) };
    };
    try {
      const wp = progress('  warm-up');
      const warm = await closedLoopFor({
        seconds: Math.min(3, o.seconds),
        concurrency: o.concurrency,
        send: order('warm'),
        ok: created,
        onProgress: (n) => wp.update(n),
      });
      wp.finish();
      if (warm.errors > 0) throw new Error(`warm-up: ${warm.errors} errors, first: ${warm.firstError}\nserver output:\n${s.output().slice(-4000)}`);
      // Statistics as a database in service has them (autovacuum analyzes tables as they grow):
      // a fresh database's tables go from empty to thousands of rows within the run, and an
      // automatic analyze early on (stats of a near-empty table) leaves foreign-key checks and the
      // journal trigger scanning whole tables until the next one, a minute later — the bench
      // would measure that accident instead of the steady state. PGlite has no autovacuum.
      if (watcher) await watcher.query('analyze');
      await metrics.calibrate();

      const cp = progress(`  closed loop c=${o.concurrency} for ${o.seconds} s`);
      const closed = await measured(() =>
        closedLoopFor({ seconds: o.seconds, concurrency: o.concurrency, send: order('closed'), ok: created, onProgress: (n) => cp.update(n) }),
      );
      cp.finish();
      if (closed.errors > 0) log(`  closed loop: ${closed.errors} errors, first: ${closed.firstError}`);

      // Latency is read at half the rate the server just sustained: a load it should take in its stride.
      const rate = o.rate ?? Math.max(1, Math.round((closed.ok * 1000) / closed.elapsedMs / 2));
      const op = progress(`  open loop ${rate}/s for ${o.openSeconds} s`, Math.round(rate * o.openSeconds));
      const open = await measured(() => openLoop({ rate, seconds: o.openSeconds, send: order('open'), ok: created, onProgress: (n) => op.update(n) }));
      op.finish();
      if (open.errors > 0) log(`  open loop: ${open.errors} errors, first: ${open.firstError}`);

      const v = await api.request('GET', '/v1/ledger/verify', { headers: auth });
      const report = v.status === 200 ? (JSON.parse(v.body) as { ok: boolean; breaks: unknown[]; checked: { journals: number } }) : undefined;
      const verifyOk = report?.ok === true;
      const verify = report ? (report.ok ? `ok (${int(report.checked.journals)} journals)` : `${report.breaks.length} BREAKS`) : `HTTP ${v.status}`;
      log(`  ledger verify: ${verify}`);
      const serverRssMiB = serverPid ? processTree(serverPid).reduce((sum, p) => sum + (peakRssOfPid(p) ?? 0), 0) : undefined;
      api.close();
      metrics.close();
      await s.stop();
      server = undefined;

      let pgbench: Run['pgbench'];
      if (script && target.url) {
        const vars = { buyers };
        log(`  pgbench -c ${o.concurrency} -T ${o.seconds}, then -R ${rate} -T ${o.openSeconds}`);
        const closedPg = await cpuOver(
          () => runPgbench({ url: target.url!, script: script!, clients: o.concurrency, threads: 2, seconds: o.seconds, vars }),
          undefined,
        );
        const openPg = await cpuOver(
          () => runPgbench({ url: target.url!, script: script!, clients: o.concurrency, threads: 2, seconds: o.openSeconds, rate, vars }),
          undefined,
        );
        pgbench = { closed: closedPg, open: openPg, statements: statementsIn(script) };
      }
      return { db: kind, shape, logLevel, workers, closed, open, rate, verify, verifyOk, serverRssMiB, pgbench };
    } catch (err) {
      // A server that died mid-phase shows as refused connections: say so, with its last words.
      if (server && (s.child.exitCode !== null || s.child.signalCode !== null)) {
        throw new Error(
          `${err instanceof Error ? err.message : String(err)}\nthe server exited (${s.child.exitCode ?? s.child.signalCode}); its last output:\n${s.output().slice(-4000)}`,
          { cause: err },
        );
      }
      throw err;
    } finally {
      api.close();
      metrics.close();
      await watcher?.end();
    }
  } finally {
    if (server) await server.stop();
    if (o.keep) log(`kept: ${target.where}`);
    else await target.drop();
  }
}

interface Options {
  seconds: number;
  concurrency: number;
  rate: number | undefined;
  openSeconds: number;
  buyers: number;
  pool: number;
  inFlight: number | undefined;
  workers: number;
  distributors: number;
  depth: number;
  spreadBuyers: number;
  pgbench: boolean;
  cpuProf: string | undefined;
  keep: boolean;
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
  const shapeOpt = options.get('shape') ?? 'both';
  const shapes: Shape[] =
    shapeOpt === 'both'
      ? ['hot', 'spread']
      : shapeOpt === 'hot' || shapeOpt === 'spread'
        ? [shapeOpt]
        : (() => {
            throw new Error(`--shape must be hot, spread or both, got ${shapeOpt}`);
          })();
  const logLevels = listOption(options, 'log-levels', ['info']);
  const o: Options = {
    seconds: intOption(options, 'seconds', 15),
    concurrency: intOption(options, 'concurrency', 16),
    rate: options.has('rate') ? intOption(options, 'rate', 0) : undefined,
    openSeconds: intOption(options, 'open-seconds', 10),
    buyers: intOption(options, 'buyers', 20_000),
    distributors: intOption(options, 'distributors', 1_000),
    depth: intOption(options, 'depth', 10),
    spreadBuyers: intOption(options, 'spread-buyers', 5_000),
    pool: intOption(options, 'pool', 20),
    inFlight: options.has('in-flight') ? intOption(options, 'in-flight', 2) : undefined,
    workers: intOption(options, 'workers', 1),
    pgbench: !options.has('no-pgbench') && pgbenchPath() !== null,
    cpuProf: options.get('cpu-prof'),
    keep: options.has('keep'),
  };
  if (o.workers < 1) throw new Error('--workers must be 1 or more');
  if (o.rate === 0) throw new Error('--rate must be 1 or more');
  if (o.cpuProf) fs.mkdirSync(o.cpuProf, { recursive: true });
  if (!options.has('no-pgbench') && !o.pgbench) log('pgbench not found: the SQL baseline is skipped');
  log(
    `ingest bench: db ${dbs.join(', ')}; shapes ${shapes.map((x) => SHAPE_NAME[x]).join(', ')}; log levels ${logLevels.join(', ')}; ${os.cpus().length} cpus, node ${process.version}; server: fenxiao serve --workers ${o.workers} (PostgreSQL), pool ${o.pool}`,
  );

  const started = nowMs();
  const runs: Run[] = [];
  for (const db of dbs) for (const shape of shapes) for (const level of logLevels) runs.push(await runOne(db, shape, level, o));

  type Row = {
    db: string;
    shape: string;
    log: string;
    phase: string;
    load: string;
    count: number;
    errors: number;
    rate: number;
    p50: number;
    p99: number;
    max: number;
    keptUp: string;
    cpu: Cpu;
    statements: number | undefined;
    roundTrips: number | undefined;
    commits: number | undefined;
  };
  const rows: Row[] = [];
  const keptUp = (r: PhaseResult) => {
    if (!r.target) return '';
    const achieved = (r.ok * 1000) / r.elapsedMs;
    return r.errors === 0 && achieved >= 0.98 * r.target.rate
      ? `yes (max ${r.target.maxInFlight} in flight)`
      : `NO: ${int(achieved)}/s, max ${r.target.maxInFlight} in flight`;
  };
  const add = (r: Run, phase: string, load: string, p: Phase) => {
    const st = summarize(p.latencies);
    rows.push({
      db: r.db,
      shape: SHAPE_NAME[r.shape],
      log: r.logLevel,
      phase,
      load,
      count: p.ok,
      errors: p.errors,
      rate: (p.ok * 1000) / p.elapsedMs,
      p50: st.p50,
      p99: st.p99,
      max: st.max,
      keptUp: keptUp(p),
      cpu: p.cpu,
      statements: p.perOrder.roundTrips,
      roundTrips: p.perOrder.roundTrips,
      commits: p.perOrder.commits,
    });
  };
  const addPg = (r: Run, phase: string, load: string, p: PgbenchPhase, seconds: number, statements: number, rate?: number) => {
    const st = summarize(p.latencies);
    const achieved = p.transactions / seconds;
    rows.push({
      db: r.db,
      shape: SHAPE_NAME[r.shape],
      log: '-',
      phase,
      load,
      count: p.transactions,
      errors: p.failed,
      rate: p.tps,
      p50: st.p50,
      p99: st.p99,
      max: st.max,
      keptUp: rate ? (p.failed === 0 && achieved >= 0.98 * rate ? `yes (max lag ${ms(p.maxLagMs)} ms)` : `NO: ${int(achieved)}/s`) : '',
      // pgbench's own CPU is not watched: this process only waits meanwhile.
      cpu: { ...p.cpu, client: undefined },
      statements,
      roundTrips: statements,
      commits: 1,
    });
  };
  for (const r of runs) {
    add(r, 'POST /v1/orders, max (closed loop)', `c=${o.concurrency}`, r.closed);
    add(r, 'POST /v1/orders, half max (open loop)', `${int(r.rate)}/s`, r.open);
    if (r.pgbench) {
      addPg(r, 'pgbench, 1 transaction per order', `c=${o.concurrency}`, r.pgbench.closed, o.seconds, r.pgbench.statements);
      addPg(r, 'pgbench, same rate as above', `${int(r.rate)}/s`, r.pgbench.open, o.openSeconds, r.pgbench.statements, r.rate);
    }
  }
  const perOrder = (v: number | undefined) => (v === undefined ? '-' : v.toFixed(v < 10 ? 2 : 1));

  printTable(
    `Ingest: POST /v1/orders over HTTP to fenxiao serve --workers ${o.workers} (PostgreSQL; PGlite: 1), levels 3, 2 items per order; hot chain: 4 beneficiaries (8 lines, 9 postings, the same 4 accounts) on every order; spread: ${int(o.distributors)} distributors in trees up to ${o.depth} deep, ${int(o.spreadBuyers)} buyers, 1–4 beneficiaries; latency ms, the open loop's counted from when each order was due`,
    [
      { header: 'database', value: (r: Row) => r.db },
      { header: 'shape', value: (r) => r.shape },
      ...(logLevels.length > 1 ? [{ header: 'LOG_LEVEL', value: (r: Row) => r.log }] : []),
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
      { header: 'bench CPU/order', value: (r) => (r.cpu.client === undefined ? '-' : ms(r.cpu.client)), align: 'right' },
      { header: 'statements/order', value: (r) => perOrder(r.statements), align: 'right' },
      { header: 'round trips/order', value: (r) => perOrder(r.roundTrips), align: 'right' },
      { header: 'commits/order', value: (r) => perOrder(r.commits), align: 'right' },
      { header: 'kept up', value: (r) => r.keptUp },
    ],
    rows,
  );
  process.stdout.write(
    [
      '',
      'CPU/order: ms of CPU time per order (user + system) of the server processes, of the PostgreSQL backends of the bench',
      'database and of this load generator (bench), over the phase; unlike orders/s and latency it hardly depends on how busy',
      'the rest of the machine is (on PGlite the database runs inside the server process). Round trips and commits per order:',
      "the server's own counters on /metrics (fenxiao_db_queries_total, BEGIN and COMMIT included, and fenxiao_db_commits_total)",
      'before and after the phase, read from one worker with the orders that worker answered. Statements = round trips:',
      "node-postgres and PGlite send one statement per query. pgbench: the script's statements, each one round trip in its",
      'simple protocol.',
      '',
    ].join('\n'),
  );

  const rateOf = (r: Run) => (r.closed.ok * 1000) / r.closed.elapsedMs;
  const withPg = runs.filter((r) => r.pgbench);
  if (withPg.length > 0) {
    printTable(
      `Against the bare SQL (pgbench, one transaction per order of the same shape, c=${o.concurrency}, same run)`,
      [
        { header: 'shape', value: (r: Run) => SHAPE_NAME[r.shape] },
        ...(logLevels.length > 1 ? [{ header: 'LOG_LEVEL', value: (r: Run) => r.logLevel }] : []),
        { header: 'orders/s', value: (r) => int(rateOf(r)), align: 'right' },
        { header: 'pgbench tps', value: (r) => int(r.pgbench!.closed.tps), align: 'right' },
        { header: 'ratio', value: (r) => `${(rateOf(r) / r.pgbench!.closed.tps).toFixed(2)}×`, align: 'right' },
      ],
      withPg,
    );
  }

  const checks = runs.map(
    (r) =>
      `${r.db} ${SHAPE_NAME[r.shape]} LOG_LEVEL=${r.logLevel}: ledger verify ${r.verify}; server peak RSS ${r.serverRssMiB === undefined ? '-' : `${int(r.serverRssMiB)} MiB`}${r.workers > 1 ? ` (${r.workers} workers and the primary)` : ''}`,
  );
  process.stdout.write(`\n${checks.join('\n')}\n`);

  // The targets of issue 15, each from this run's figures.
  for (const level of logLevels) {
    const find = (db: DbKind, shape: Shape) => runs.find((r) => r.db === db && r.shape === shape && r.logLevel === level);
    const lines: string[] = [];
    const target = (what: string, value: number | undefined, goal: number, show: (v: number) => string, atMost = false) => {
      if (value === undefined || !Number.isFinite(value)) {
        lines.push(`  ${what}: not measured in this run`);
        return;
      }
      const met = atMost ? value <= goal : value >= goal;
      lines.push(`  ${what}: ${show(value)} — ${met ? 'met' : 'NOT met'}`);
    };
    const times = (v: number) => `${v.toFixed(2)}×`;
    const pgHot = find('postgres', 'hot');
    const pgSpread = find('postgres', 'spread');
    const liteSpread = find('pglite', 'spread');
    const ratio = (r: Run | undefined) => (r?.pgbench ? rateOf(r) / r.pgbench.closed.tps : undefined);
    const p99 = (r: Run | undefined) => (r ? summarize(r.open.latencies).p99 : undefined);
    target('PostgreSQL spread ≥ 1,500 orders/s', pgSpread && rateOf(pgSpread), 1500, (v) => `${int(v)} orders/s`);
    target(
      'PostgreSQL spread ≥ 1.0× its bare per-order pgbench rate',
      ratio(pgSpread),
      1,
      (v) => `${times(v)} (${int(rateOf(pgSpread!))} vs ${int(pgSpread!.pgbench!.closed.tps)})`,
    );
    target(
      'PostgreSQL hot chain ≥ 1.0× its bare per-order pgbench rate',
      ratio(pgHot),
      1,
      (v) => `${times(v)} (${int(rateOf(pgHot!))} vs ${int(pgHot!.pgbench!.closed.tps)})`,
    );
    target('PostgreSQL hot chain ≥ 0.7× the spread rate', pgHot && pgSpread ? rateOf(pgHot) / rateOf(pgSpread) : undefined, 0.7, times);
    target(`PostgreSQL hot chain p99 ≤ 100 ms at half its maximum rate${pgHot ? ` (${int(pgHot.rate)}/s)` : ''}`, p99(pgHot), 100, (v) => `${ms(v)} ms`, true);
    target(
      `PostgreSQL spread p99 ≤ 100 ms at half its maximum rate${pgSpread ? ` (${int(pgSpread.rate)}/s)` : ''}`,
      p99(pgSpread),
      100,
      (v) => `${ms(v)} ms`,
      true,
    );
    target('embedded database (PGlite) spread ≥ 500 orders/s', liteSpread && rateOf(liteSpread), 500, (v) => `${int(v)} orders/s`);
    const runsHere = runs.filter((r) => r.logLevel === level);
    const clean = runsHere.every((r) => r.verifyOk && r.closed.errors === 0 && r.open.errors === 0);
    lines.push(`  every run answered every order and its ledger verifies: ${clean ? 'yes' : 'NO'}`);
    process.stdout.write(
      `\nTargets (issue 15; this machine: ${os.cpus().length} cores; LOG_LEVEL=${level}; server --workers ${o.workers} on PostgreSQL)\n${lines.join('\n')}\n`,
    );
  }
  if (o.cpuProf) process.stdout.write(`\nserver CPU profiles in ${path.resolve(o.cpuProf)}\n`);
  log(`done in ${formatDuration(nowMs() - started)}`);
}
