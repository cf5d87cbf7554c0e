/**
 * The cluster benchmark (issue 13, item 5): orders per second through haproxy over 1, 2 and 3
 * `fenxiao serve` processes on one PostgreSQL database behind PgBouncer in transaction pooling
 * mode, beside one process on PostgreSQL directly (no balancer, no pooler): what the balanced
 * deployment of docs/deployment.md costs and gains on this machine.
 *
 * The traffic is `bench -- ingest`'s spread shape, with its code (bench/ingest.ts): 1,000
 * distributors in referral trees up to 10 deep made through the API, 5,000 buyers bound across
 * them, each order a random buyer's, 2 items, 1–4 beneficiaries. One scratch database for the
 * whole run (`fenxiao_bench_cluster_<ts>`, dropped afterwards); each configuration gets fresh
 * processes, a warm-up, then a closed loop (N clients) for the maximum rate. haproxy and PgBouncer
 * are Debian's packages, run with the test's config (test/pg/support/balancer.ts) on free ports.
 * Then the ledger verifies.
 *
 * On this machine every process shares the same cores with PostgreSQL, PgBouncer, haproxy and
 * the load generator: more processes cannot add cores, so the figures say what the balancer and
 * the pooler cost and that nothing breaks, not how a cluster of machines scales.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { openDatabase } from '../src/db/database.ts';
import { balancerUnavailable, startHaproxy, startPgBouncer, type Haproxy, type PgBouncer } from '../test/pg/support/balancer.ts';
import { intOption, parseArgs } from './lib/args.ts';
import { watchTreeCpu } from './lib/cpu.ts';
import { closedLoopFor, httpClient, type PhaseResult } from './lib/http.ts';
import { log, progress } from './lib/progress.ts';
import { scratchDatabase } from './lib/pgdb.ts';
import { startServer, type ServerProcess } from './lib/server.ts';
import { summarize } from './lib/stats.ts';
import { int, ms, printTable } from './lib/table.ts';
import { formatDuration, nowMs } from './lib/timing.ts';
import { apiOf, seedSpreadBuyers, setUpSpread } from './ingest.ts';

export const description =
  'orders/s through haproxy over 1, 2 and 3 fenxiao serve processes on PgBouncer (transaction mode), beside one process on PostgreSQL directly (spread shape)';
export const usage = [
  '--seconds 15                closed-loop duration per configuration',
  '--concurrency 16            clients in the closed loop',
  '--processes 3               the largest number of processes behind haproxy (1..N are run)',
  '--distributors 1000         distributors, in trees up to --depth deep (as bench -- ingest)',
  '--depth 10',
  '--spread-buyers 5000        buyers bound across the distributors',
  '--pool 20                   FENXIAO_DB_POOL_SIZE per process',
  '--bouncer-pool 20           PgBouncer default_pool_size (server connections for the database)',
].join('\n');

interface Options {
  seconds: number;
  concurrency: number;
  processes: number;
  distributors: number;
  depth: number;
  spreadBuyers: number;
  pool: number;
  bouncerPool: number;
}

interface Row {
  setup: string;
  processes: number;
  phase: PhaseResult;
  /** ms of CPU per order of the Fenxiao processes (all of them). */
  serverCpu: number | undefined;
}

export async function main(argv: string[]): Promise<void> {
  const { options } = parseArgs(argv);
  const o: Options = {
    seconds: intOption(options, 'seconds', 15),
    concurrency: intOption(options, 'concurrency', 16),
    processes: intOption(options, 'processes', 3),
    distributors: intOption(options, 'distributors', 1_000),
    depth: intOption(options, 'depth', 10),
    spreadBuyers: intOption(options, 'spread-buyers', 5_000),
    pool: intOption(options, 'pool', 20),
    bouncerPool: intOption(options, 'bouncer-pool', 20),
  };
  const base = process.env.DATABASE_URL;
  if (!base) throw new Error('bench -- cluster needs DATABASE_URL (a PostgreSQL server)');
  const missing = balancerUnavailable();
  if (missing) throw new Error(`bench -- cluster needs haproxy and PgBouncer: ${missing}`);
  if (o.processes < 1) throw new Error('--processes must be 1 or more');
  log(
    `cluster bench: ${os.cpus().length} cpus, node ${process.version}; spread shape (${int(o.distributors)} distributors, ${int(o.spreadBuyers)} buyers); c=${o.concurrency}, ${o.seconds} s per configuration; pool ${o.pool} per process, PgBouncer pool ${o.bouncerPool}`,
  );
  const started = nowMs();
  const scratch = await scratchDatabase(base, `fenxiao_bench_cluster_${Date.now()}`);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fenxiao-bench-cluster-'));
  const rootToken = `bench-${randomBytes(16).toString('hex')}`;
  const env: Record<string, string> = {
    DATABASE_URL: scratch.url,
    FENXIAO_ROOT_TOKEN: rootToken,
    FENXIAO_MASTER_KEY: randomBytes(32).toString('base64'),
    FENXIAO_DATA_DIR: dataDir,
    FENXIAO_DB_POOL_SIZE: String(o.pool),
    FENXIAO_TRUST_PROXY: '127.0.0.1',
    LOG_LEVEL: 'warn',
  };
  // Named statements on the direct run; off through a PgBouncer before 1.21 (Debian 12 ships 1.18),
  // which keeps none across server connections (docs/deployment.md#pgbouncer).
  const bouncerEnv = (url: string, version: string): Record<string, string> => ({
    ...env,
    DATABASE_URL: url,
    ...(/^1\.([0-9]|1[0-9]|20)\./.test(version) ? { FENXIAO_DB_PREPARE: 'off' } : {}),
  });
  if (process.env.REDIS_URL) env.REDIS_URL = process.env.REDIS_URL;
  let bouncer: PgBouncer | undefined;
  let balancer: Haproxy | undefined;
  let servers: ServerProcess[] = [];
  const stopAll = async () => {
    await balancer?.stop();
    balancer = undefined;
    await Promise.all(servers.map((s) => s.stop()));
    servers = [];
  };
  const rows: Row[] = [];
  try {
    // The tenant and its trees through the API, then the buyers set-based (as bench -- ingest).
    const setup = await startServer(env);
    servers = [setup];
    const spread = await setUpSpread(setup, rootToken, o);
    await stopAll();
    const database = await openDatabase({ databaseUrl: scratch.url, poolSize: 2 });
    try {
      await seedSpreadBuyers(database, spread.tenantId, spread.ids, o.spreadBuyers, spread.rand);
    } finally {
      await database.close();
    }
    log(`  seeded ${int(o.spreadBuyers)} buyers bound across ${int(o.distributors)} distributors`);
    bouncer = await startPgBouncer(scratch.url, { poolSize: o.bouncerPool, maxClients: 1000 });
    const bouncerVersion = /PgBouncer (\S+)/.exec(execFileSync(bouncer.bin, ['--version'], { encoding: 'utf8' }))?.[1] ?? '?';
    log(`  PgBouncer ${bouncerVersion}, transaction mode, pool ${o.bouncerPool}`);

    const runId = Date.now().toString(36);
    const auth = { authorization: `Bearer ${spread.key}` };
    const measure = async (label: string, processes: number, url: string, pids: number[]): Promise<Row> => {
      const api = httpClient(url, o.concurrency + 8);
      const order = (prefix: string) => (i: number) => {
        const p0 = 2_000 + Math.floor(Math.random() * 298_000);
        const p1 = 500 + Math.floor(Math.random() * 49_500);
        return api.request('POST', '/v1/orders', {
          headers: auth,
          body: JSON.stringify({
            external_id: `${prefix}-${runId}-${i}`,
            buyer_external_id: `buyer-${1 + Math.floor(Math.random() * o.spreadBuyers)}`,
            items: [
              { sku: 'sku-a', quantity: 3, unit_price_fen: Math.ceil(p0 / 3), paid_fen: p0 },
              { sku: 'sku-b', quantity: 1, unit_price_fen: p1, paid_fen: p1 },
            ],
          }),
        });
      };
      const created = (a: { status: number }) => a.status === 201;
      try {
        const tag = `${processes}p-${label.replace(/\W+/g, '')}`;
        const wp = progress(`  ${label}: warm-up`);
        const warm = await closedLoopFor({
          seconds: Math.min(3, o.seconds),
          concurrency: o.concurrency,
          send: order(`warm-${tag}`),
          ok: created,
          onProgress: (n) => wp.update(n),
        });
        wp.finish();
        if (warm.errors > 0) throw new Error(`${label}: warm-up had ${warm.errors} errors, first: ${warm.firstError}`);
        // Statistics as autovacuum keeps them in service (bench -- ingest does the same).
        const stats = await openDatabase({ databaseUrl: scratch.url, poolSize: 1 });
        try {
          await sql`analyze`.execute(stats.db);
        } finally {
          await stats.close();
        }
        const cpu = pids.map((p) => watchTreeCpu(p));
        const cp = progress(`  ${label}: closed loop c=${o.concurrency} for ${o.seconds} s`);
        const phase = await closedLoopFor({ seconds: o.seconds, concurrency: o.concurrency, send: order(tag), ok: created, onProgress: (n) => cp.update(n) });
        cp.finish();
        const cpuMs = cpu.reduce((s, w) => s + w.stop(), 0);
        if (phase.errors > 0) log(`  ${label}: ${phase.errors} errors, first: ${phase.firstError}`);
        return { setup: label, processes, phase, serverCpu: phase.ok > 0 ? cpuMs / phase.ok : undefined };
      } finally {
        api.close();
      }
    };

    // One process on PostgreSQL directly: the reference.
    log('\n== 1 process, PostgreSQL directly (no balancer, no PgBouncer)');
    servers = [await startServer(env)];
    rows.push(await measure('direct, 1 process', 1, servers[0]!.url, [servers[0]!.child.pid!]));
    await stopAll();

    for (let n = 1; n <= o.processes; n++) {
      log(`\n== ${n} process${n > 1 ? 'es' : ''} behind haproxy, on PgBouncer (transaction mode)`);
      servers = await Promise.all(Array.from({ length: n }, () => startServer(bouncerEnv(bouncer!.url, bouncerVersion))));
      balancer = await startHaproxy(servers.map((s) => Number(new URL(s.url).port)));
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline && !(await balancer.stats()).every((s) => s.status === 'UP')) await new Promise((r) => setTimeout(r, 200));
      rows.push(
        await measure(
          `haproxy + PgBouncer, ${n} process${n > 1 ? 'es' : ''}`,
          n,
          balancer.url,
          servers.map((s) => s.child.pid!),
        ),
      );
      const spreadOver = (await balancer.stats()).map((s) => int(s.responses2xx)).join(' / ');
      log(`  answered per process (2xx, warm-up included): ${spreadOver}`);
      await stopAll();
    }

    // The ledger after all of it, through one process.
    servers = [await startServer(env)];
    const verify = await apiOf(servers[0]!, 2).call('GET', '/v1/ledger/verify', spread.key);
    await stopAll();

    const direct = rows[0]!;
    const rate = (r: Row) => (r.phase.ok * 1000) / r.phase.elapsedMs;
    printTable(
      `Cluster: POST /v1/orders (spread shape, ${int(o.distributors)} distributors, ${int(o.spreadBuyers)} buyers, 2 items), closed loop c=${o.concurrency} for ${o.seconds} s; latency ms`,
      [
        { header: 'setup', value: (r: Row) => r.setup },
        { header: 'orders', value: (r) => int(r.phase.ok), align: 'right' },
        { header: 'errors', value: (r) => r.phase.errors, align: 'right' },
        { header: 'orders/s', value: (r) => int(rate(r)), align: 'right' },
        { header: 'vs direct', value: (r) => `${(rate(r) / rate(direct)).toFixed(2)}×`, align: 'right' },
        { header: 'p50', value: (r) => ms(summarize(r.phase.latencies).p50), align: 'right' },
        { header: 'p99', value: (r) => ms(summarize(r.phase.latencies).p99), align: 'right' },
        { header: 'server CPU/order', value: (r) => (r.serverCpu === undefined ? '-' : ms(r.serverCpu)), align: 'right' },
      ],
      rows,
    );
    const ok = verify.ok === true;
    process.stdout.write(
      [
        '',
        `ledger verify after every run: ${ok ? 'ok' : `${(verify.breaks as unknown[]).length} BREAKS`}`,
        `machine: ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), shared by PostgreSQL, PgBouncer, haproxy, the Fenxiao processes and this load generator;`,
        'more processes add no cores here: the rows show what the balancer and the pooler cost and that the processes share the work.',
        '',
      ].join('\n'),
    );
    if (!ok) throw new Error('the ledger does not verify');
  } finally {
    await stopAll().catch(() => {});
    await bouncer?.stop();
    await scratch.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
    log(`done in ${formatDuration(nowMs() - started)}`);
  }
}
