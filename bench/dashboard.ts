/**
 * The dashboard benchmark: p50/p95 of the console's KPI, time-series, top-10 and breakdown queries through
 * the HTTP API of a real `fenxiao serve` process, on a PostgreSQL database seeded with 1,000,000
 * distributors and 10,000,000 orders spread over the last year.
 *
 * A fresh database (`fenxiao_bench_dash_<ts>`, dropped afterwards unless --keep) is migrated and
 * given its tenant, program and grades by the server, as in production; then it is seeded with
 * set-based SQL, with progress:
 *   - distributors: a four-level forest (10,000 roots), grades 70/20/8/2 % (普通/银牌/金牌/钻石),
 *     GB/T 2260 district codes weighted towards the big provinces, joined over the two years before;
 *   - orders: a growing trend over the year, weekly rhythm and a Double 11 peak; sellers drawn
 *     with a heavy skew (a few sell a lot, most little; 10 % of orders have no seller); amounts
 *     from 10 yuan up with a long tail; 6 % refunded (half in full); chain frozen on each order;
 *   - the rollups, from the seeded orders in one set-based pass: each order's commission (seller
 *     at its grade's sales rate, its referrer at its grade's level-1 rate, floor per order on what
 *     is still paid), then per distributor and day/month, per tenant and day (each day spread over
 *     8 slots, more than this order rate would ever open: it costs the reads, not the seed), per
 *     grade, per province and per city (2 slots: the breakdown rows, at the level each is read),
 *     and each seller's latest order day with its histogram.
 * Order lines, commission lines and ledger postings are not seeded: none of the measured queries
 * reads them (the KPI's balances read the same daily rows whatever they hold).
 * Secondary indexes are dropped for the load and rebuilt after it, then VACUUM ANALYZE (this
 * server runs without autovacuum; a production one would have done it).
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { openDatabase } from '../src/db/database.ts';
import { localDate } from '../src/core/time.ts';
import { daysBetween } from '../src/modules/analytics/periods.ts';
import { migrateToLatest } from '../src/db/migrate.ts';
import { intOption, listOption, parseArgs } from './lib/args.ts';
import { closedLoopFor, httpClient, type PhaseResult } from './lib/http.ts';
import { log, progress } from './lib/progress.ts';
import { startServer, type ServerProcess } from './lib/server.ts';
import { dropSecondaryIndexes, scratchDatabase, type ScratchDatabase } from './lib/pgdb.ts';
import { summarize, percentile } from './lib/stats.ts';
import { int, ms, printTable } from './lib/table.ts';
import { formatDuration, nowMs, peakRssMiB, peakRssOfPid } from './lib/timing.ts';
import type { JsonBody } from '../test/support/json.ts';

export const description = 'p50/p95 of the KPI, time-series, top-10 and breakdown queries over HTTP on 1M distributors and 10M orders (PostgreSQL)';
export const usage = [
  '--distributors 1000000      distributors seeded',
  '--orders 10000000           orders seeded, over the last 365 days',
  '--seconds 20                per query, per concurrency',
  '--concurrency 1,4           requests in flight',
  '--reuse NAME                measure an already seeded database (from --keep) instead of seeding',
  '--keep                      keep the database (prints its name)',
].join('\n');

const TZ = 'Asia/Shanghai';
const GRADES = [
  { code: 'default', name: '普通', rank: 0, sales_bp: 500, override_bp: [1000, 500] },
  { code: 'silver', name: '银牌', rank: 1, sales_bp: 600, override_bp: [1200, 600] },
  { code: 'gold', name: '金牌', rank: 2, sales_bp: 800, override_bp: [1500, 800] },
  { code: 'diamond', name: '钻石', rank: 3, sales_bp: 1000, override_bp: [2000, 1000] },
];
/** Province prefixes with a weight (roughly where online shoppers are). */
const PROVINCES: [string, number][] = [
  ['44', 14],
  ['32', 9],
  ['33', 9],
  ['37', 7],
  ['11', 5],
  ['31', 5],
  ['41', 5],
  ['51', 5],
  ['42', 4],
  ['43', 4],
  ['35', 4],
  ['34', 3],
  ['13', 3],
  ['50', 3],
  ['61', 3],
  ['36', 3],
  ['21', 3],
  ['45', 3],
  ['53', 2],
  ['12', 2],
  ['14', 2],
  ['52', 2],
  ['23', 2],
  ['22', 2],
  ['15', 1],
  ['62', 1],
  ['65', 1],
  ['46', 1],
  ['64', 1],
  ['63', 1],
  ['54', 1],
];

const SEED_ID = (col: string) => `'dst_' || lpad((${col})::text, 26, '0')`;

type Db = ScratchDatabase;

async function createDatabase(keepName?: string): Promise<Db> {
  const base = process.env.DATABASE_URL;
  if (!base) throw new Error('the dashboard bench needs DATABASE_URL (PostgreSQL)');
  return scratchDatabase(base, keepName ?? `fenxiao_bench_dash_${Date.now()}`, { reuse: keepName !== undefined });
}

async function api(server: ServerProcess, token: string, method: string, route: string, body?: unknown) {
  const res = await fetch(server.url + route, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${route}: ${res.status} ${text}`);
  return JSON.parse(text) as Record<string, JsonBody>;
}

/** Runs one statement, timing it into the log. */
async function step(c: pg.Client, label: string, text: string, params: unknown[] = []): Promise<number> {
  const t0 = nowMs();
  const r = await c.query(text, params);
  log(`  ${label}: ${int(r.rowCount ?? 0)} rows in ${formatDuration(nowMs() - t0)}`);
  return r.rowCount ?? 0;
}

async function seed(c: pg.Client, tenantId: string, o: { distributors: number; orders: number }) {
  await c.query(`set synchronous_commit = off; set maintenance_work_mem = '1GB'; set work_mem = '256MB'; set session_replication_role = replica`);
  const tables = [
    'distributors',
    'orders',
    'analytics_daily',
    'analytics_breakdown_daily',
    'analytics_breakdown_monthly',
    'analytics_distributor_daily',
    'analytics_distributor_monthly',
    'analytics_distributor_activity',
  ];
  const indexes = await dropSecondaryIndexes(c, tables);
  const started = nowMs();

  // ------------------------------------------------------------------------------ distributors
  const N = o.distributors;
  const roots = Math.max(1, Math.round(N / 100));
  const levels = [
    [1, roots],
    [roots + 1, Math.round(N * 0.1)],
    [Math.round(N * 0.1) + 1, Math.round(N * 0.4)],
    [Math.round(N * 0.4) + 1, N],
  ] as const;
  const provinceCase = (() => {
    const total = PROVINCES.reduce((s, [, w]) => s + w, 0);
    let acc = 0;
    return `case ${PROVINCES.map(([p, w]) => {
      acc += w;
      return `when h < ${(acc / total).toFixed(6)} then '${p}'`;
    }).join(' ')} else '44' end`;
  })();
  const dp = progress('distributors', N);
  let done = 0;
  for (const [k, [lo, hi]] of levels.entries()) {
    const chunk = 200_000;
    for (let s = lo; s <= hi; s += chunk) {
      const e = Math.min(hi, s + chunk - 1);
      const parent = k === 0 ? null : levels[k - 1]!;
      await c.query(
        `
        insert into distributors (id, tenant_id, external_id, name, invite_code, status, referrer_id, ancestors, grade_code, region_code, source, approved_at, created_at, updated_at)
        select ${SEED_ID('x.g')}, $1, 'seed-' || x.g, '分销商 ' || x.g, 'S' || upper(to_hex(x.g::bigint)) || 'Z',
               'active', ${parent ? 'p.id' : 'null'}, ${parent ? 'array[p.id] || p.ancestors' : `'{}'::text[]`},
               case when x.gr < 0.02 then 'diamond' when x.gr < 0.10 then 'gold' when x.gr < 0.30 then 'silver' else 'default' end,
               x.province || lpad((1 + floor(x.h2 * 12))::int::text, 2, '0') || lpad((1 + floor(x.h3 * 6))::int::text, 2, '0'),
               'api', x.joined, x.joined, x.joined
          from (select g, random() as gr, (${provinceCase}) as province, random() as h2, random() as h3,
                       now() - make_interval(secs => floor(random() * 730 * 86400)::int) as joined,
                       ${parent ? `${parent[0]}::bigint + floor(power(random(), 2) * ${parent[1] - parent[0] + 1})::bigint` : 'null::bigint'} as pi
                  from (select g, random() as h from generate_series($2::bigint, $3::bigint) g) q offset 0) x
          ${parent ? `join distributors p on p.id = ${SEED_ID('x.pi')}` : ''}`,
        [tenantId, s, e],
      );
      done += e - s + 1;
      dp.update(done, `level ${k}`);
    }
  }
  dp.finish(done);

  // ------------------------------------------------------------------------------------ orders
  // Day d of 0..364 (364 = today): a growing trend (density rising towards today), a weekly
  // rhythm (10 % more on Saturdays) and 2 % on the last Double 11.
  const today = localDate(new Date(), TZ);
  const year = Number(today.slice(0, 4));
  const d11 = `${today >= `${year}-11-11` ? year : year - 1}-11-11`;
  const double11 = 364 - daysBetween(d11, today);
  const op = progress('orders', o.orders);
  const chunk = 250_000;
  for (let s = 1; s <= o.orders; s += chunk) {
    const e = Math.min(o.orders, s + chunk - 1);
    await c.query(
      `
      insert into orders (id, tenant_id, external_id, request_hash, buyer_external_id, status, seller_id, chain, rule_version, attribution,
                          paid_fen, refunded_fen, paid_at, received_at, completed_at, created_at, updated_at)
      select 'ord_' || lpad(x.g::text, 26, '0'), $1, 'seed-' || x.g, 'seed', 'buyer-' || x.buyer,
             case when x.refund = 2 then 'refunded' when x.paid_at < now() - interval '15 days' then 'completed' else 'paid' end,
             d.id, case when d.id is null then '{}'::text[] else array[d.id] || d.ancestors[1:1] end, 1, case when d.id is null then 'none' else 'binding' end,
             x.paid, case x.refund when 2 then x.paid when 1 then x.paid / 2 else 0 end,
             x.paid_at, case when x.paid_at < now() - interval '15 days' then x.paid_at + interval '5 days' end,
             case when x.paid_at < now() - interval '15 days' then x.paid_at + interval '15 days' end, x.paid_at, x.paid_at
        from (
          select g, floor(random() * 3000000)::int as buyer,
                 case when random() < 0.1 then null else 1 + ((floor(${N}::bigint * power(random(), 2.5))::bigint * 7919 + 13) % ${N}) end as si,
                 1000 + floor(power(random(), 3) * 500000)::bigint as paid,
                 case when random() < 0.03 then 2 when random() < 0.03093 then 1 else 0 end as refund,
                 least(now(), date_trunc('day', now() at time zone '${TZ}') at time zone '${TZ}'
                   - make_interval(days => 364 - (case when random() < 0.02 then $4::int
                                                       when random() < 0.12 then 364 - floor(random() * 52)::int * 7 - (extract(isodow from now() at time zone '${TZ}')::int + 1) % 7
                                                       else least(364, floor(365 * power(random(), 0.7))::int) end))
                   + make_interval(secs => floor(random() * 86399)::int)) as paid_at
            from generate_series($2::bigint, $3::bigint) g
            offset 0
        ) x
        left join distributors d on d.id = ${SEED_ID('x.si')}`,
      [tenantId, s, e, double11],
    );
    op.update(e);
  }
  op.finish(o.orders);

  // ------------------------------------------------------------------------------------ rollups
  log('rollups from the seeded orders:');
  await step(
    c,
    "each order's commission (seller and referrer at their grades' rates)",
    `
    create unlogged table seed_lines as
    select o.id, (o.paid_at at time zone '${TZ}')::date as day, o.seller_id, o.chain[2] as upline, o.paid_fen as paid, o.paid_fen - o.refunded_fen as net,
           (o.refunded_fen > 0)::int as refunded_order, o.refunded_fen as refunded,
           coalesce(s.grade_code, '') as grade, coalesce(left(s.region_code, 4) || '00', '') as city,
           coalesce((o.paid_fen - o.refunded_fen) * gs.sales_bp / 10000, 0) as c0, coalesce(o.paid_fen * gs.sales_bp / 10000, 0) as c0_orig,
           coalesce((o.paid_fen - o.refunded_fen) * gu.override_bp[1] / 10000, 0) as c1, coalesce(o.paid_fen * gu.override_bp[1] / 10000, 0) as c1_orig,
           (abs(hashtext(o.id)) % 8) as slot
      from orders o
      left join distributors s on s.id = o.seller_id
      left join grades gs on gs.tenant_id = o.tenant_id and gs.code = s.grade_code
      left join distributors u on u.id = o.chain[2]
      left join grades gu on gu.tenant_id = o.tenant_id and gu.code = u.grade_code
     where o.tenant_id = $1`,
    [tenantId],
  );
  await step(
    c,
    'analytics_distributor_daily',
    `
    insert into analytics_distributor_daily (distributor_id, day, tenant_id, orders, sales_fen, commission_fen)
    select id, day, $1, sum(orders), sum(sales), sum(commission) from (
      select seller_id as id, day, 1 as orders, net as sales, c0 as commission from seed_lines where seller_id is not null
      union all
      select upline, day, 0, 0, c1 from seed_lines where upline is not null
    ) x group by id, day`,
    [tenantId],
  );
  await step(
    c,
    'analytics_distributor_monthly',
    `
    insert into analytics_distributor_monthly (distributor_id, month, tenant_id, orders, sales_fen, commission_fen)
    select distributor_id, date_trunc('month', day)::date, $1, sum(orders), sum(sales_fen), sum(commission_fen)
      from analytics_distributor_daily where tenant_id = $1 group by 1, 2`,
    [tenantId],
  );
  await step(
    c,
    'analytics_distributor_activity',
    `
    insert into analytics_distributor_activity (distributor_id, tenant_id, last_order_day)
    select seller_id, $1, max(day) from seed_lines where seller_id is not null group by seller_id`,
    [tenantId],
  );
  await step(
    c,
    'analytics_daily (8 slots a day)',
    `
    insert into analytics_daily (tenant_id, day, slot, orders, gross_sales_fen, refunded_fen, refunds, commission_fen, commission_reversed_fen, new_distributors, last_order_distributors)
    select $1, coalesce(a.day, b.day), coalesce(a.slot, b.slot), coalesce(a.orders, 0), coalesce(a.gross, 0), coalesce(a.refunded, 0), coalesce(a.refunds, 0),
           coalesce(a.commission, 0), coalesce(a.reversed, 0), coalesce(b.new_distributors, 0), coalesce(h.n, 0)
      from (select day, slot, count(*) as orders, sum(paid) as gross, sum(refunded) as refunded, sum(refunded_order) as refunds,
                   sum(c0 + c1) as commission, sum(c0_orig + c1_orig - c0 - c1) as reversed
              from seed_lines group by day, slot) a
      full join (select (created_at at time zone '${TZ}')::date as day, (abs(hashtext(id)) % 8) as slot, count(*) as new_distributors
                   from distributors where tenant_id = $1 group by 1, 2) b on b.day = a.day and b.slot = a.slot
      left join (select last_order_day as day, 0 as slot, count(*) as n from analytics_distributor_activity where tenant_id = $1 group by 1) h
        on h.day = coalesce(a.day, b.day) and h.slot = coalesce(a.slot, b.slot)`,
    [tenantId],
  );
  // Breakdown rows at each level they are read at (grade, province, city), as the recorder keeps them.
  for (const [table, period, trunc] of [
    ['analytics_breakdown_daily', 'day', 'day'],
    ['analytics_breakdown_monthly', 'month', 'month'],
  ] as const) {
    await step(
      c,
      `${table} (grade, province, city; 2 slots)`,
      `
      with seg as (
        select coalesce(a.p, b.p) as p, coalesce(a.grade, b.grade) as grade, coalesce(a.city, b.city) as city, coalesce(a.slot, b.slot) as slot,
               coalesce(a.orders, 0) as orders, coalesce(a.gross, 0) as gross, coalesce(a.refunded, 0) as refunded, coalesce(a.commission, 0) as commission, coalesce(b.n, 0) as n
          from (select date_trunc('${trunc}', day)::date as p, grade, city, slot % 2 as slot, count(*) as orders, sum(paid) as gross, sum(refunded) as refunded, sum(c0 + c1) as commission
                  from seed_lines group by 1, 2, 3, 4) a
          full join (select date_trunc('${trunc}', (created_at at time zone '${TZ}')::date)::date as p, grade_code as grade, left(region_code, 4) || '00' as city,
                            abs(hashtext(id)) % 2 as slot, count(*) as n
                       from distributors where tenant_id = $1 group by 1, 2, 3, 4) b
            on b.p = a.p and b.grade = a.grade and b.city = a.city and b.slot = a.slot
      )
      insert into ${table} (tenant_id, level, ${period}, code, slot, orders, gross_sales_fen, refunded_fen, commission_fen, new_distributors)
      select $1, l.level, seg.p, l.code, seg.slot, sum(seg.orders), sum(seg.gross), sum(seg.refunded), sum(seg.commission), sum(seg.n)
        from seg cross join lateral (values ('grade', seg.grade), ('province', case when seg.city = '' then '' else left(seg.city, 2) || '0000' end), ('city', seg.city)) as l(level, code)
       group by 2, 3, 4, 5`,
      [tenantId],
    );
  }
  await c.query('drop table seed_lines');
  const seedMs = nowMs() - started;

  const indexMs = await indexes.rebuild();
  const vt = nowMs();
  await c.query('set session_replication_role = origin');
  for (const t of tables) await c.query(`vacuum analyze ${t}`);
  log(`vacuum analyze in ${formatDuration(nowMs() - vt)}`);
  const sizes = await c.query<{ t: string; rows: string; size: string }>(
    `
    select c.relname as t, c.reltuples::bigint::text as rows, pg_size_pretty(pg_total_relation_size(c.oid)) as size
      from pg_class c where c.relname = any($1) and c.relkind = 'r' order by c.relname`,
    [tables],
  );
  return { seedMs, indexMs, sizes: sizes.rows };
}

interface Row {
  op: string;
  concurrency: number;
  r: PhaseResult;
}

export async function main(argv: string[]): Promise<void> {
  const { options } = parseArgs(argv);
  const o = {
    distributors: intOption(options, 'distributors', 1_000_000),
    orders: intOption(options, 'orders', 10_000_000),
    seconds: intOption(options, 'seconds', 20),
    concurrency: listOption(options, 'concurrency', ['1', '4']).map(Number),
    reuse: options.get('reuse'),
    keep: options.has('keep') || options.has('reuse'),
  };
  log(`dashboard bench: ${int(o.distributors)} distributors, ${int(o.orders)} orders; ${os.cpus().length} cpus, node ${process.version}`);
  const target = await createDatabase(o.reuse);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fenxiao-bench-dash-'));
  const rootToken = `bench-${randomBytes(16).toString('hex')}`;
  const keyFile = path.join(os.tmpdir(), `${target.name}.key`);
  const env = { DATABASE_URL: target.url, FENXIAO_DATA_DIR: dataDir, FENXIAO_ROOT_TOKEN: rootToken, FENXIAO_MASTER_KEY: randomBytes(32).toString('base64') };
  let seedInfo: Awaited<ReturnType<typeof seed>> | undefined;
  let server: ServerProcess | undefined;
  try {
    let key: string;
    if (o.reuse) {
      key = fs.readFileSync(keyFile, 'utf8').trim();
      log(`reusing ${target.name}`);
    } else {
      server = await startServer(env);
      const tenant = await api(server, rootToken, 'POST', '/v1/tenants', { name: 'Dashboard bench' });
      key = tenant.api_key as string;
      fs.writeFileSync(keyFile, key, { mode: 0o600 });
      await api(server, key, 'PUT', '/v1/program', { levels: 2, timezone: TZ });
      for (const g of GRADES)
        await api(server, key, 'PUT', `/v1/grades/${g.code}`, { name: g.name, rank: g.rank, sales_bp: g.sales_bp, override_bp: g.override_bp });
      await server.stop();
      server = undefined;
      const database = await openDatabase({ databaseUrl: target.url, poolSize: 1 });
      await migrateToLatest(database.db);
      await database.close();
      const c = new pg.Client({ connectionString: target.url, statement_timeout: 0 });
      await c.connect();
      try {
        seedInfo = await seed(c, tenant.id as string, o);
      } finally {
        await c.end();
      }
    }

    log('starting the server on the seeded database');
    server = await startServer(env);
    const s = server;
    const client = httpClient(s.url, Math.max(...o.concurrency) + 4);
    const auth = { authorization: `Bearer ${key}` };
    const today = (await api(s, key, 'GET', '/v1/analytics/kpis')).range.to as string;
    const dayBefore = (day: string, n: number) => new Date(Date.parse(`${day}T00:00:00Z`) - n * 86_400_000).toISOString().slice(0, 10);
    const yearFrom = dayBefore(today, 364);
    const randomMonth = () => {
      const d = new Date(Date.parse(`${today}T00:00:00Z`));
      const m = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - 1 - Math.floor(Math.random() * 11), 1));
      const end = new Date(Date.UTC(m.getUTCFullYear(), m.getUTCMonth() + 1, 0));
      return `from=${m.toISOString().slice(0, 10)}&to=${end.toISOString().slice(0, 10)}`;
    };
    const random30 = () => {
      const end = dayBefore(today, Math.floor(Math.random() * 330));
      return `from=${dayBefore(end, 29)}&to=${end}`;
    };
    const year = `from=${yearFrom}&to=${today}`;
    const ops: { op: string; url: () => string }[] = [
      { op: 'GET /health (baseline)', url: () => '/health' },
      { op: 'KPIs, last 30 days', url: () => '/v1/analytics/kpis' },
      { op: 'KPIs, a year', url: () => `/v1/analytics/kpis?${year}` },
      { op: 'KPIs, a random month', url: () => `/v1/analytics/kpis?${randomMonth()}` },
      { op: 'time series by day, a year', url: () => `/v1/analytics/timeseries?metric=sales_fen&interval=day&${year}` },
      { op: 'time series by month, a year', url: () => `/v1/analytics/timeseries?metric=commission_fen&interval=month&${year}` },
      { op: 'top 10 by sales, a year', url: () => `/v1/analytics/top?metric=sales&limit=10&${year}` },
      { op: 'top 10 by commission, a year', url: () => `/v1/analytics/top?metric=commission&limit=10&${year}` },
      { op: 'top 10 by sales, last 30 days', url: () => '/v1/analytics/top?metric=sales&limit=10' },
      { op: 'top 10 by sales, a random 30 days', url: () => `/v1/analytics/top?metric=sales&limit=10&${random30()}` },
      { op: 'top 10 by sales, a random month', url: () => `/v1/analytics/top?metric=sales&limit=10&${randomMonth()}` },
      { op: 'breakdown by province, a year', url: () => `/v1/analytics/breakdown?by=region&level=province&${year}` },
      { op: 'breakdown by city, a year', url: () => `/v1/analytics/breakdown?by=region&level=city&${year}` },
      { op: 'breakdown by grade, a year', url: () => `/v1/analytics/breakdown?by=grade&${year}` },
      { op: 'breakdown by grade, a random 30 days', url: () => `/v1/analytics/breakdown?by=grade&${random30()}` },
      { op: 'breakdown by city, a random 30 days', url: () => `/v1/analytics/breakdown?by=region&level=city&${random30()}` },
    ];
    const sample = await api(s, key, 'GET', `/v1/analytics/kpis?${year}`);
    log(
      `the year's KPIs: ${int(sample.orders)} orders, sales ${int(sample.sales_fen / 100)} yuan, commission ${int(sample.commission_fen / 100)} yuan, ${int(sample.distributors)} distributors, ${int(sample.active_distributors)} active`,
    );
    const top = await api(s, key, 'GET', `/v1/analytics/top?metric=sales&limit=10&${year}`);
    log(`top seller of the year: ${top.items[0]?.name} with ${int((top.items[0]?.sales_fen ?? 0) / 100)} yuan over ${int(top.items[0]?.orders ?? 0)} orders`);

    const rows: Row[] = [];
    for (const concurrency of o.concurrency) {
      for (const x of ops) {
        const send = () => client.request('GET', x.url(), { headers: auth });
        await closedLoopFor({ seconds: 2, concurrency, send });
        const p = progress(`  ${x.op} (c=${concurrency})`);
        const r = await closedLoopFor({ seconds: o.seconds, concurrency, send, onProgress: (n) => p.update(n) });
        p.finish();
        if (r.errors > 0) log(`  ${x.op}: ${r.errors} errors, first: ${r.firstError}`);
        rows.push({ op: x.op, concurrency, r });
      }
    }
    const serverRss = s.child.pid ? peakRssOfPid(s.child.pid) : undefined;
    client.close();

    if (seedInfo) {
      process.stdout.write(
        `\nSeeded ${int(o.distributors)} distributors and ${int(o.orders)} orders with their rollups in ${formatDuration(seedInfo.seedMs)}, indexes in ${formatDuration(seedInfo.indexMs)}\n`,
      );
      printTable(
        'Tables',
        [
          { header: 'table', value: (r: { t: string }) => r.t },
          { header: 'rows', value: (r: { rows: string }) => int(Number(r.rows)), align: 'right' },
          { header: 'size', value: (r: { size: string }) => r.size, align: 'right' },
        ],
        seedInfo.sizes,
      );
    }
    printTable(
      'Dashboard queries over HTTP to a fenxiao serve process on PostgreSQL (closed loop; latency ms, send to end of body)',
      [
        { header: 'query', value: (r: Row) => r.op },
        { header: 'c', value: (r) => r.concurrency, align: 'right' },
        { header: 'count', value: (r) => int(r.r.ok), align: 'right' },
        { header: 'errors', value: (r) => r.r.errors, align: 'right' },
        { header: 'p50', value: (r) => ms(summarize(r.r.latencies).p50), align: 'right' },
        {
          header: 'p95',
          value: (r) =>
            ms(
              percentile(
                [...r.r.latencies].sort((a, b) => a - b),
                95,
              ),
            ),
          align: 'right',
        },
        { header: 'p99', value: (r) => ms(summarize(r.r.latencies).p99), align: 'right' },
        { header: 'max', value: (r) => ms(summarize(r.r.latencies).max), align: 'right' },
        { header: 'req/s', value: (r) => int((r.r.ok * 1000) / r.r.elapsedMs), align: 'right' },
        {
          header: 'p95 < 200 ms',
          value: (r) =>
            r.op.includes('baseline')
              ? ''
              : percentile(
                    [...r.r.latencies].sort((a, b) => a - b),
                    95,
                  ) < 200
                ? 'yes'
                : 'NO',
        },
      ],
      rows,
    );
    process.stdout.write(`\nserver peak RSS ${serverRss === undefined ? '-' : `${int(serverRss)} MiB`}; bench process peak RSS ${int(peakRssMiB())} MiB\n`);
  } finally {
    if (server) await server.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
    if (o.keep) log(`kept: ${target.name} (rerun with --reuse ${target.name}; drop it with: psql -c 'drop database ${target.name}')`);
    else {
      await target.drop();
      fs.rmSync(keyFile, { force: true });
    }
  }
}
