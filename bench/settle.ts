/**
 * The settlement benchmark: the seconds and the server's peak memory to settle 1,000,000
 * available commission lines over 100,000 distributors with one POST /v1/settlements/run, on
 * PostgreSQL; then `ledger verify` over the result. The run is worked in batches of distributors,
 * each its own transaction (FENXIAO_SETTLEMENT_BATCH).
 *
 * Orders keep flowing during a run: before it, `--order-clients` clients (closed loop) send
 * orders for buyers bound to distributors across the tenant for `--order-seconds` (the unloaded
 * rate); then the same clients send orders for as long as the run lasts (the rate during the run),
 * to the same server process. The bench prints both rates and their ratio (target: ≥ 50 %).
 *
 * A fresh database (`fenxiao_bench_settle_<ts>`, dropped afterwards unless --keep) is migrated,
 * and its tenant and program set, by a real `fenxiao serve` process. Then, with set-based SQL and
 * progress: the distributors with their five ledger accounts; for each line an order (completed,
 * received long ago), its one item and its commission line (level 0, 10 % of what was paid,
 * status available); and the ledger as the application would have written it: per order an
 * accrual journal (pending ← commission expense) and a make-available journal (available ←
 * pending), every posting of a cached account with its running balance, and the cached balances.
 * Secondary indexes are dropped for the load and rebuilt after it, then VACUUM ANALYZE (this
 * server runs without autovacuum). The run is timed over HTTP against a fresh server process.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { intOption, parseArgs } from './lib/args.ts';
import { log, progress } from './lib/progress.ts';
import { startServer, type ServerProcess } from './lib/server.ts';
import { dropSecondaryIndexes, scratchDatabase } from './lib/pgdb.ts';
import { int, ms, printTable } from './lib/table.ts';
import { httpClient, type HttpAnswer } from './lib/http.ts';
import { summarize } from './lib/stats.ts';
import { formatDuration, nowMs, peakRssMiB, peakRssOfPid } from './lib/timing.ts';
import type { JsonBody } from '../test/support/json.ts';

export const description = 'seconds and peak memory to settle 1,000,000 available lines over 100,000 distributors (PostgreSQL), then ledger verify';
export const usage = [
  '--distributors 100000       distributors with available lines',
  '--lines 1000000             available commission lines (one order and item each)',
  '--reuse NAME                run on a database seeded before (with --keep); it must not have been settled',
  '--keep                      keep the database (prints its name)',
  '--seed-only                 seed and keep the database, without running (then --reuse NAME)',
  "--cpu-prof DIR              write the server's V8 CPU profile into DIR",
  '--batch 1000                FENXIAO_SETTLEMENT_BATCH: distributors per transaction of the run',
  '--workers 1                 FENXIAO_SETTLEMENT_WORKERS: batches of the run in flight at once',
  '--order-clients 8           clients sending orders before and during the run (0: none)',
  '--order-seconds 15          seconds of orders before the run, unloaded',
].join('\n');

const RATE_BP = 1000;
const SEED = (prefix: string, col: string) => `'${prefix}_' || lpad((${col})::text, 26, '0')`;

async function step(c: pg.Client, label: string, text: string, params: unknown[] = []): Promise<void> {
  const t0 = nowMs();
  const r = await c.query(text, params);
  log(`  ${label}: ${int(r.rowCount ?? 0)} rows in ${formatDuration(nowMs() - t0)}`);
}

async function seed(c: pg.Client, tenantId: string, o: { distributors: number; lines: number }) {
  await c.query(`set synchronous_commit = off; set maintenance_work_mem = '1GB'; set work_mem = '256MB'; set session_replication_role = replica`);
  const tables = ['distributors', 'accounts', 'orders', 'order_items', 'commissions', 'journal_entries', 'postings'];
  const indexes = await dropSecondaryIndexes(c, tables);
  const started = nowMs();
  const N = o.distributors;
  const D = (col: string) => SEED('dst', col);

  await step(
    c,
    'distributors',
    `
    insert into distributors (id, tenant_id, external_id, name, invite_code, status, grade_code, source, approved_at)
    select ${D('g')}, $1, 'seed-' || g, '分销商 ' || g, 'S' || upper(to_hex(g)) || 'Z', 'active', 'default', 'api', now()
      from generate_series(1, $2::int) g`,
    [tenantId, N],
  );
  await step(
    c,
    'accounts (five each)',
    `
    insert into accounts (id, tenant_id, owner_type, owner_id, purpose, cached, bounded)
    select 'acc_' || p.purpose || '_' || lpad(g::text, 26, '0'), $1, 'distributor', ${D('g')}, p.purpose, true, p.purpose <> 'withdrawable'
      from generate_series(1, $2::int) g, unnest(array['pending', 'available', 'withdrawable', 'withdrawing', 'withdrawn']) as p(purpose)`,
    [tenantId, N],
  );

  // Orders, items and lines; line g belongs to distributor 1 + (g - 1) % N, so each has lines/N.
  const lp = progress('orders, items and lines', o.lines);
  const chunk = 200_000;
  for (let s = 1; s <= o.lines; s += chunk) {
    const e = Math.min(o.lines, s + chunk - 1);
    await c.query('begin');
    await c.query(
      `
      create temp table chunk on commit drop as
      select g, ${D(`1 + (g - 1) % ${N}`)} as seller, 1000 + floor(random() * 99000)::bigint as paid,
             now() - interval '40 days' - make_interval(secs => floor(random() * 86400 * 30)::int) as paid_at
        from generate_series($1::bigint, $2::bigint) g`,
      [s, e],
    );
    await c.query(
      `
      insert into orders (id, tenant_id, external_id, request_hash, buyer_external_id, status, seller_id, chain, rule_version, attribution,
                          paid_fen, paid_at, shipped_at, received_at, completed_at, created_at, updated_at)
      select ${SEED('ord', 'g')}, $1, 'seed-' || g, 'seed', 'buyer-' || g, 'completed', seller, array[seller], 1, 'binding',
             paid, paid_at, paid_at + interval '1 day', paid_at + interval '3 days', paid_at + interval '10 days', paid_at, paid_at from chunk`,
      [tenantId],
    );
    await c.query(
      `
      insert into order_items (id, tenant_id, order_id, position, sku, quantity, unit_price_fen, paid_fen)
      select ${SEED('oit', 'g')}, $1, ${SEED('ord', 'g')}, 0, 'sku-' || (g % 500), 1, paid, paid from chunk`,
      [tenantId],
    );
    await c.query(
      `
      insert into commissions (id, tenant_id, order_id, order_item_id, beneficiary_id, level, rule_version, rate_source, rate_kind, rate_bp,
                               beneficiary_grade, units, base_fen, original_base_fen, amount_fen, original_amount_fen, status, available_at, created_at)
      select ${SEED('cm', 'g')}, $1, ${SEED('ord', 'g')}, ${SEED('oit', 'g')}, seller, 0, 1, 'grade', 'percent', ${RATE_BP},
             'default', 1, paid, paid, paid * ${RATE_BP} / 10000, paid * ${RATE_BP} / 10000, 'available', paid_at + interval '10 days', paid_at from chunk`,
      [tenantId],
    );
    await c.query(
      `
      insert into journal_entries (id, tenant_id, kind, ref_type, ref_id, memo, created_at)
      select ${SEED('jea', 'g')}, $1, 'accrue', 'order', ${SEED('ord', 'g')}, 'seed-' || g, paid_at from chunk
      union all
      select ${SEED('jem', 'g')}, $1, 'make_available', 'order', ${SEED('ord', 'g')}, null, paid_at + interval '10 days' from chunk`,
      [tenantId],
    );
    await c.query('commit');
    lp.update(e);
  }
  lp.finish(o.lines);

  // Postings, a slice of distributors at a time so each account's postings are in one statement
  // and balance_after is the running balance in posting id order (what ledger verify checks).
  const expense = (
    await c.query<{ id: string }>(`select id from accounts where tenant_id = $1 and owner_id = 'tenant' and purpose = 'commission_expense'`, [tenantId])
  ).rows[0]!.id;
  const pp = progress('postings (accrue: 2 legs, make available: 2 legs)', N);
  const slice = 10_000;
  for (let a = 1; a <= N; a += slice) {
    const b = Math.min(N, a + slice - 1);
    await c.query(
      `
      insert into postings (journal_id, tenant_id, account_id, amount, party_id, commission_id, balance_after, created_at)
      select journal_id, $1, account_id, amount, party_id, commission_id,
             case when cached then sum(amount) over (partition by account_id order by seq) end, at
        from (
          select v.journal_id, v.account_id, v.amount, case when v.cached then c.beneficiary_id end as party_id,
                 case when v.cached then c.id end as commission_id, v.cached, v.at, c.n * 4 + v.leg as seq
            from (select id, beneficiary_id, amount_fen, created_at, substr(id, 4)::bigint as n, substr(beneficiary_id, 5)::bigint as d
                    from commissions where beneficiary_id between $3 and $4) c
            cross join lateral (values
              (0, ${SEED('jea', 'c.n')}, 'acc_pending_' || lpad(c.d::text, 26, '0'), c.amount_fen, true, c.created_at),
              (1, ${SEED('jea', 'c.n')}, $2, -c.amount_fen, false, c.created_at),
              (2, ${SEED('jem', 'c.n')}, 'acc_pending_' || lpad(c.d::text, 26, '0'), -c.amount_fen, true, c.created_at + interval '10 days'),
              (3, ${SEED('jem', 'c.n')}, 'acc_available_' || lpad(c.d::text, 26, '0'), c.amount_fen, true, c.created_at + interval '10 days')
            ) as v(leg, journal_id, account_id, amount, cached, at)
        ) x
       order by seq`,
      [tenantId, expense, `dst_${String(a).padStart(26, '0')}`, `dst_${String(b).padStart(26, '0')}`],
    );
    pp.update(b);
  }
  pp.finish(N);
  await step(
    c,
    'cached balances',
    `
    update accounts a set balance = s.total, version = s.n
      from (select account_id, sum(amount) as total, count(*) as n from postings where tenant_id = $1 group by account_id) s
     where a.id = s.account_id and a.cached`,
    [tenantId],
  );
  const seedMs = nowMs() - started;

  const indexMs = await indexes.rebuild();
  await c.query('set session_replication_role = origin');
  const vt = nowMs();
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

/** Buyers the order load sends for, each bound to one distributor spread over the tenant. */
const BUYERS = 1000;

interface OrderPhase {
  ok: number;
  errors: number;
  firstError?: string;
  elapsedMs: number;
  latencies: number[];
}

/**
 * Orders through POST /v1/orders: buyers bound first (by invite code, to distributors spread over
 * the seeded ones), then a closed loop of `clients` until stopped.
 */
async function orderLoad(url: string, databaseUrl: string, key: string, distributors: number, clients: number) {
  const client = httpClient(url, clients + 2);
  const headers = { authorization: `Bearer ${key}` };
  const tag = Date.now().toString(36);
  // The seed's invite codes are not ones a person could type: the distributors the buyers bind to
  // get real ones (8 characters of the invite alphabet).
  const alphabet = '23456789ABCDEFGHJKMNPQRSTUVWXYZ';
  const code = (i: number) => 'BNCH' + Array.from({ length: 4 }, (_, k) => alphabet[Math.floor(i / alphabet.length ** k) % alphabet.length]).join('');
  const target = (i: number) => `dst_${String(1 + Math.floor((i * distributors) / BUYERS)).padStart(26, '0')}`;
  const c = new pg.Client({ connectionString: databaseUrl });
  await c.connect();
  try {
    const ids = Array.from({ length: BUYERS }, (_, i) => target(i));
    await c.query(`update distributors d set invite_code = v.code from unnest($1::text[], $2::text[]) as v(id, code) where d.id = v.id`, [
      ids,
      ids.map((_, i) => code(i)),
    ]);
  } finally {
    await c.end();
  }
  const bind = async (i: number) => {
    const a = await client.request('POST', '/v1/bindings', {
      headers,
      body: JSON.stringify({ customer_external_id: `bench-buyer-${i}`, invite_code: code(i) }),
    });
    if (a.status >= 300 && a.status !== 409) throw new Error(`POST /v1/bindings: ${a.status} ${a.body.slice(0, 300)}`);
  };
  for (let i = 0; i < BUYERS; i += 20) await Promise.all(Array.from({ length: Math.min(20, BUYERS - i) }, (_, k) => bind(i + k)));
  let n = 0;
  const send = (): Promise<HttpAnswer> => {
    const i = n++;
    const paid = 1000 + ((i * 7919) % 99_000);
    return client.request('POST', '/v1/orders', {
      headers,
      body: JSON.stringify({
        external_id: `bench-${tag}-${i}`,
        buyer_external_id: `bench-buyer-${i % BUYERS}`,
        items: [{ sku: `sku-${i % 500}`, quantity: 1, unit_price_fen: paid, paid_fen: paid }],
      }),
    });
  };
  /** A closed loop until `stop` resolves. */
  const until = async (stop: Promise<unknown>): Promise<OrderPhase> => {
    let stopped = false;
    void stop.finally(() => {
      stopped = true;
    });
    const r: OrderPhase = { ok: 0, errors: 0, elapsedMs: 0, latencies: [] };
    const t0 = nowMs();
    const worker = async () => {
      while (!stopped) {
        const s0 = nowMs();
        try {
          const a = await send();
          if (a.status === 201) {
            r.ok++;
            r.latencies.push(nowMs() - s0);
          } else {
            r.errors++;
            r.firstError ??= `${a.status} ${a.body.slice(0, 300)}`;
          }
        } catch (err) {
          r.errors++;
          r.firstError ??= String(err);
        }
      }
    };
    await Promise.all(Array.from({ length: clients }, worker));
    r.elapsedMs = nowMs() - t0;
    return r;
  };
  return { until, close: () => client.close() };
}

export async function main(argv: string[]): Promise<void> {
  const { options } = parseArgs(argv);
  const o = {
    distributors: intOption(options, 'distributors', 100_000),
    lines: intOption(options, 'lines', 1_000_000),
    reuse: options.get('reuse'),
    keep: options.has('keep') || options.has('seed-only'),
    seedOnly: options.has('seed-only'),
    cpuProf: options.get('cpu-prof'),
    batch: intOption(options, 'batch', 1000),
    workers: intOption(options, 'workers', 1),
    orderClients: intOption(options, 'order-clients', 8),
    orderSeconds: intOption(options, 'order-seconds', 15),
  };
  const base = process.env.DATABASE_URL;
  if (!base) throw new Error('the settlement bench needs DATABASE_URL (PostgreSQL)');
  log(`settlement bench: ${int(o.lines)} available lines over ${int(o.distributors)} distributors; ${os.cpus().length} cpus, node ${process.version}`);
  const scratch = await scratchDatabase(base, o.reuse ?? `fenxiao_bench_settle_${Date.now()}`, { reuse: o.reuse !== undefined });
  const name = scratch.name;
  const url = new URL(scratch.url);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fenxiao-bench-settle-'));
  const rootToken = `bench-${randomBytes(16).toString('hex')}`;
  const keyFile = path.join(os.tmpdir(), `${name}.key`);
  const env = {
    DATABASE_URL: url.toString(),
    FENXIAO_DATA_DIR: dataDir,
    FENXIAO_ROOT_TOKEN: rootToken,
    FENXIAO_MASTER_KEY: randomBytes(32).toString('base64'),
    FENXIAO_SETTLEMENT_BATCH: String(o.batch),
    FENXIAO_SETTLEMENT_WORKERS: String(o.workers),
  };
  // node:http, not fetch: undici gives up on a response whose headers take over 5 minutes, and a
  // run on a busy machine can take longer than that.
  const call = async (server: ServerProcess, token: string, method: string, route: string, body?: unknown) => {
    const client = httpClient(server.url, 1);
    try {
      const res = await client.request(method, route, {
        headers: { authorization: `Bearer ${token}` },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      if (res.status >= 300) throw new Error(`${method} ${route}: ${res.status} ${res.body.slice(0, 2000)}`);
      return JSON.parse(res.body) as Record<string, JsonBody>;
    } finally {
      client.close();
    }
  };
  let server: ServerProcess | undefined;
  let seeded: Awaited<ReturnType<typeof seed>> | undefined;
  try {
    let key: string;
    if (o.reuse) {
      key = fs.readFileSync(keyFile, 'utf8').trim();
    } else {
      server = await startServer(env);
      const tenant = await call(server, rootToken, 'POST', '/v1/tenants', { name: 'Settlement bench' });
      key = tenant.api_key as string;
      fs.writeFileSync(keyFile, key, { mode: 0o600 });
      // Every statement is approved at once (10 lines of at most 99 yuan stay under 10,000 yuan).
      await call(server, key, 'PUT', '/v1/program', { levels: 1, freeze_days: 7 });
      await call(server, key, 'PUT', '/v1/grades/default', { name: '普通', rank: 0, sales_bp: RATE_BP, override_bp: [0] });
      await server.stop();
      server = undefined;
      const c = new pg.Client({ connectionString: url.toString(), statement_timeout: 0 });
      await c.connect();
      try {
        seeded = await seed(c, tenant.id as string, o);
      } finally {
        await c.end();
      }
    }

    if (o.seedOnly) {
      log(`seeded ${name}`);
      return;
    }
    server = await startServer(env, undefined, o.cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(o.cpuProf)}`] : []);
    // Balances from the ledger itself (the distributors' cached accounts, which verify checks
    // against their postings): the seed writes no analytics rollups, so the KPIs cannot say.
    const ledgerBalances = async () => {
      const c = new pg.Client({ connectionString: url.toString() });
      await c.connect();
      try {
        const r = await c.query<{ purpose: string; s: string }>(
          `select purpose, sum(balance)::text as s from accounts where owner_type = 'distributor' and purpose in ('available', 'withdrawable') group by purpose`,
        );
        const of = (p: string) => Number(r.rows.find((x) => x.purpose === p)?.s ?? 0);
        return { balances: { available_fen: of('available'), withdrawable_fen: of('withdrawable') } };
      } finally {
        await c.end();
      }
    };
    // Where the run's time went, from its own timestamps: the first and the last batch (each
    // batch stamps its statements when it starts), the run's end, against the answer's arrival.
    const runTimeline = async () => {
      const c = new pg.Client({ connectionString: url.toString() });
      await c.connect();
      try {
        const r = await c.query<{ first_s: number; last_s: number; finished_s: number }>(
          `select extract(epoch from min(s.created_at) - r.started_at)::float8 as first_s, extract(epoch from max(s.created_at) - r.started_at)::float8 as last_s,
                  extract(epoch from r.finished_at - r.started_at)::float8 as finished_s
             from settlement_runs r join statements s on s.run_id = r.id group by r.id order by r.started_at desc limit 1`,
        );
        return r.rows[0];
      } finally {
        await c.end();
      }
    };
    const orders = o.orderClients > 0 ? await orderLoad(server.url, url.toString(), key, o.distributors, o.orderClients) : null;
    let unloaded: OrderPhase | null = null;
    if (orders) {
      log(`orders, unloaded: ${o.orderClients} clients for ${o.orderSeconds} s …`);
      unloaded = await orders.until(new Promise((resolve) => setTimeout(resolve, o.orderSeconds * 1000)));
      log(`  ${int(unloaded.ok)} orders, ${((unloaded.ok * 1000) / unloaded.elapsedMs).toFixed(0)}/s`);
    }
    const before = await ledgerBalances();
    log(`before: available ${int(before.balances.available_fen / 100)} yuan, withdrawable ${int(before.balances.withdrawable_fen / 100)} yuan`);
    log(
      `POST /v1/settlements/run (batches of ${int(o.batch)} distributors, ${o.workers} at once)${orders ? `, ${o.orderClients} clients sending orders meanwhile` : ''} …`,
    );
    const t0 = nowMs();
    const running = call(server, key, 'POST', '/v1/settlements/run', { as_of: new Date().toISOString() });
    const duringRun = orders ? orders.until(running.catch(() => undefined)) : null;
    const run = await running;
    const runMs = nowMs() - t0;
    const during = duringRun ? await duringRun : null;
    orders?.close();
    const rss = server.child.pid ? peakRssOfPid(server.child.pid) : undefined;
    const statements = run.statements as { amount_fen: number; status: string }[];
    const settledFen = statements.reduce((s, x) => s + x.amount_fen, 0);
    log(`settled ${int(statements.length)} statements, ${int(settledFen / 100)} yuan in ${formatDuration(runMs)}`);
    const after = await ledgerBalances();
    const timeline = await runTimeline();
    log('GET /v1/ledger/verify …');
    const v0 = nowMs();
    const verify = await call(server, key, 'GET', '/v1/ledger/verify');
    const verifyMs = nowMs() - v0;
    await server.stop();
    server = undefined;

    if (seeded) {
      process.stdout.write(`\nSeeded in ${formatDuration(seeded.seedMs)}, indexes in ${formatDuration(seeded.indexMs)}\n`);
      printTable(
        'Tables',
        [
          { header: 'table', value: (r: { t: string }) => r.t },
          { header: 'rows', value: (r: { rows: string }) => int(Number(r.rows)), align: 'right' },
          { header: 'size', value: (r: { size: string }) => r.size, align: 'right' },
        ],
        seeded.sizes,
      );
    }
    const rate = (p: OrderPhase) => (p.ok * 1000) / p.elapsedMs;
    const latency = (p: OrderPhase) => {
      const l = summarize(p.latencies);
      return `p50 ${ms(l.p50)}, p99 ${ms(l.p99)}`;
    };
    const orderRows =
      unloaded && during
        ? [
            {
              what: 'orders/s unloaded',
              value: `${rate(unloaded).toFixed(0)} (${int(unloaded.ok)} in ${formatDuration(unloaded.elapsedMs)}; ${latency(unloaded)})`,
            },
            {
              what: 'orders/s during the run',
              value: `${rate(during).toFixed(0)} (${int(during.ok)} in ${formatDuration(during.elapsedMs)}; ${latency(during)})`,
            },
            {
              what: 'during / unloaded',
              value: `${((100 * rate(during)) / rate(unloaded)).toFixed(0)} % (target ≥ 50 %: ${rate(during) >= rate(unloaded) / 2 ? 'met' : 'NOT met'})`,
            },
            {
              what: 'order errors',
              value: `${unloaded.errors + during.errors}${(unloaded.firstError ?? during.firstError) ? ` (${unloaded.firstError ?? during.firstError})` : ''}`,
            },
          ]
        : [];
    const rows = [
      { what: 'POST /v1/settlements/run', value: `${(runMs / 1000).toFixed(1)} s (target < 40 s: ${runMs < 40_000 ? 'met' : 'NOT met'})` },
      ...(timeline
        ? [
            {
              what: 'first batch → last batch → run finished',
              value: `${timeline.first_s.toFixed(1)} → ${timeline.last_s.toFixed(1)} → ${timeline.finished_s.toFixed(1)} s after it started (the answer after ${(runMs / 1000).toFixed(1)} s)`,
            },
          ]
        : []),
      ...orderRows,
      { what: 'lines settled', value: int(statements.reduce((s, x) => s + ((x as { line_count?: number }).line_count ?? 0), 0)) },
      { what: 'statements', value: `${int(statements.length)} (${int(statements.filter((x) => x.status === 'approved').length)} approved)` },
      { what: 'amount settled', value: `${int(settledFen)} fen` },
      { what: 'server peak RSS', value: rss === undefined ? '-' : `${int(rss)} MiB` },
      { what: 'available before → after', value: `${int(before.balances.available_fen)} → ${int(after.balances.available_fen)} fen` },
      { what: 'withdrawable before → after', value: `${int(before.balances.withdrawable_fen)} → ${int(after.balances.withdrawable_fen)} fen` },
      {
        what: 'ledger verify',
        value: `${verify.ok ? 'ok' : `${verify.breaks.length} BREAKS`} (${int(verify.checked.postings)} postings, ${int(verify.checked.commissions)} lines) in ${formatDuration(verifyMs)}`,
      },
    ];
    printTable(
      `Settlement of ${int(o.lines)} available lines over ${int(o.distributors)} distributors, one run in batches of ${int(o.batch)}, ${o.workers} at once (PostgreSQL)`,
      [
        { header: 'measure', value: (r: { what: string }) => r.what },
        { header: 'value', value: (r: { value: string }) => r.value, align: 'right' },
      ],
      rows,
    );
    if (!verify.ok)
      for (const b of (verify.breaks as { invariant: string; subject: string; detail: string }[]).slice(0, 20))
        process.stdout.write(`  ${b.invariant}: ${b.subject} ${b.detail}\n`);
    process.stdout.write(`\nbench process peak RSS ${int(peakRssMiB())} MiB\n`);
  } finally {
    if (server) await server.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
    if (o.keep) log(`kept: ${name}`);
    else {
      await scratch.drop();
      fs.rmSync(keyFile, { force: true });
    }
  }
}
