/**
 * Crash safety. A real `fenxiao serve` process (on a temp PGlite folder, or on the run's
 * PostgreSQL when DATABASE_URL is set) takes a burst of hundreds of concurrent orders, with
 * shipping and refunds under Idempotency-Key following some of them (orders and events both in
 * batches: group commit), and is SIGKILLed in the middle. It is started again on the same data,
 * every request is sent again (same bodies, same keys) and it is killed once more halfway
 * through; then it is started a third time and everything is sent once more. After that:
 *
 * - nothing a client was told had happened was lost: an order answered 201 before a kill is
 *   answered 200 with the same order afterwards, a refund's stored answer is the same answer;
 * - every order exists once, with its lines once, one accrual journal, and each refund applied
 *   once (its journal once, its amount once), each shipping once, and every event's kept answer
 *   is the answer it got first;
 * - balances equal the sums of the lines, and ledger verify (the API and `fenxiao ledger
 *   verify` on the data) is clean; the CLI also names a break when there is one.
 *
 * PGlite keeps its files through Emscripten's NODEFS, which writes straight to the real files,
 * and runs with fsync=off and synchronous_commit=on: the WAL is written (not flushed) at every
 * commit, so a killed process loses nothing the OS already has. A power cut or an OS crash is
 * another matter (fsync=off); that is not what this test can show.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { runCli, spawnServer, type ServerProcess } from '../pg/support/spawn.ts';
import { openDatabase } from '../../src/db/database.ts';
import type { JsonBody } from '../support/json.ts';

const ROOT = `crash-root-${randomBytes(8).toString('hex')}`;
const METRICS_TOKEN = `crash-metrics-${randomBytes(8).toString('hex')}`;
const SALES_BP = 500;
const OVERRIDE_BP = [1000, 500, 200];
const ORDERS = 300;
const CONCURRENCY = 24;

const dirs: string[] = [];
const servers: ServerProcess[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop('SIGKILL')));
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

interface Line {
  id: string;
  beneficiary_id: string;
  level: number;
  amount_fen: number;
  status: string;
  sku: string | null;
}
interface Order {
  id: string;
  external_id: string;
  status: string;
  paid_fen: number;
  refunded_fen: number;
  commissions: Line[];
  items: { sku: string; paid_fen: number; refunded_fen: number }[];
}
interface Answer {
  status: number;
  data: JsonBody;
}

const floorBp = (base: number, bp: number) => Number((BigInt(base) * BigInt(bp)) / 10000n);

async function call(
  url: string,
  method: string,
  route: string,
  opts: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const res = await fetch(url + route, {
    method,
    headers: {
      ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
      ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(opts.headers ?? {}),
    },
    ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
  });
  const text = await res.text();
  let data: unknown;
  try {
    data = text ? JSON.parse(text) : undefined;
  } catch {
    data = text;
  }
  return { status: res.status, data };
}

describe('crash safety: SIGKILL in the middle of a burst of orders', () => {
  it('restarted and sent everything again, each order and refund counts exactly once and the ledger verifies', { timeout: 600_000 }, async () => {
    const databaseUrl = inject('databaseUrl');
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fenxiao-crash-'));
    dirs.push(dataDir);
    const env: Record<string, string> = {
      FENXIAO_DATA_DIR: dataDir,
      FENXIAO_ROOT_TOKEN: ROOT,
      FENXIAO_MASTER_KEY: randomBytes(32).toString('base64'),
      LOG_LEVEL: 'warn',
      FENXIAO_METRICS_TOKEN: METRICS_TOKEN,
      ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
    };
    const start = async () => {
      const s = await spawnServer(env);
      servers.push(s);
      return s;
    };

    // The tenant: levels 3, the chain A ← B ← C ← D, buyers bound to D (4 beneficiaries × 2 items).
    let server = await start();
    const t = await call(server.url, 'POST', '/v1/tenants', { token: ROOT, body: { name: 'Crash 商城' } });
    expect(t.status).toBe(201);
    const tenantId = t.data.id as string;
    const key = t.data.api_key as string;
    expect((await call(server.url, 'PUT', '/v1/program', { token: key, body: { levels: 3 } })).status).toBe(200);
    expect(
      (await call(server.url, 'PUT', '/v1/grades/default', { token: key, body: { name: '普通', rank: 0, sales_bp: SALES_BP, override_bp: OVERRIDE_BP } }))
        .status,
    ).toBe(200);
    const chain: { id: string; invite_code: string }[] = [];
    for (const name of ['A', 'B', 'C', 'D']) {
      const referrer = chain[chain.length - 1];
      const d = await call(server.url, 'POST', '/v1/distributors', {
        token: key,
        body: { external_id: name, name, ...(referrer ? { referrer_code: referrer.invite_code } : {}) },
      });
      expect(d.status).toBe(201);
      chain.push(d.data);
    }
    const buyers = Array.from({ length: 30 }, (_, i) => `buyer-${i}`);
    for (const buyer of buyers) {
      expect(
        (await call(server.url, 'POST', '/v1/bindings', { token: key, body: { customer_external_id: buyer, invite_code: chain[3]!.invite_code } })).status,
      ).toBe(201);
    }
    // Beneficiary and rate by level: D sells, C, B and A are its uplines at levels 1..3.
    const rates: [string, number][] = [
      [chain[3]!.id, SALES_BP],
      [chain[2]!.id, OVERRIDE_BP[0]!],
      [chain[1]!.id, OVERRIDE_BP[1]!],
      [chain[0]!.id, OVERRIDE_BP[2]!],
    ];

    const orders = Array.from({ length: ORDERS }, (_, i) => {
      const paid = [2_000 + ((i * 7919) % 300_000), 500 + ((i * 104_729) % 50_000)];
      const body = {
        external_id: `crash-${i}`,
        buyer_external_id: buyers[i % buyers.length]!,
        items: [
          { sku: 'sku-a', quantity: 3, unit_price_fen: Math.ceil(paid[0]! / 3), paid_fen: paid[0]! },
          { sku: 'sku-b', quantity: 1, unit_price_fen: paid[1]!, paid_fen: paid[1]! },
        ],
      };
      // Every other order is shipped, under an Idempotency-Key (events of the burst meet in
      // batches of several); a refund with its key follows every seventh order.
      const ship = i % 2 === 0 ? { key: `ship-${i}`, body: { type: 'shipped' as const } } : null;
      const refund = i % 7 === 3 ? { key: `refund-${i}`, body: { type: 'refunded' as const, refund_fen: Math.floor((paid[0]! + paid[1]!) * 0.3) + i } } : null;
      return { body, ship, refund };
    });

    /** Every answer each request got, in order, over all rounds (errors of a dying server too). */
    const orderAnswers = new Map<string, Answer[]>();
    const refundAnswers = new Map<string, Answer[]>();
    const shipAnswers = new Map<string, Answer[]>();
    const note = (m: Map<string, Answer[]>, k: string, a: Answer) => m.set(k, [...(m.get(k) ?? []), a]);

    /**
     * Sends every order (then its shipping and its refund) with CONCURRENCY in flight. With `killAfter`, the
     * server is SIGKILLed once that many orders were answered; requests that then fail are
     * simply left for the next round, as a client would retry them.
     */
    async function burst(s: ServerProcess, killAfter: number | null) {
      let next = 0;
      let answered = 0;
      let killed = false;
      const queue = orders.map((o, i) => ({ o, i }));
      // Shuffled per round: the re-sends arrive in another order than the first time.
      for (let i = queue.length - 1; i > 0; i--) {
        const j = Math.floor(Math.random() * (i + 1));
        [queue[i], queue[j]] = [queue[j]!, queue[i]!];
      }
      const worker = async () => {
        while (!killed) {
          const job = queue[next++];
          if (!job) return;
          try {
            const r = await call(s.url, 'POST', '/v1/orders', { token: key, body: job.o.body });
            note(orderAnswers, job.o.body.external_id, r);
            if (r.status >= 500) throw new Error(`order ${job.o.body.external_id}: ${r.status} ${JSON.stringify(r.data)}`);
            if (killAfter !== null && ++answered >= killAfter && !killed) {
              killed = true;
              s.child.kill('SIGKILL');
            }
            if (job.o.ship && !killed) {
              const sh = await call(s.url, 'POST', `/v1/orders/${job.o.body.external_id}/events`, {
                token: key,
                body: job.o.ship.body,
                headers: { 'idempotency-key': job.o.ship.key },
              });
              note(shipAnswers, job.o.ship.key, sh);
              if (sh.status >= 500) throw new Error(`shipping ${job.o.ship.key}: ${sh.status} ${JSON.stringify(sh.data)}`);
            }
            if (job.o.refund && !killed) {
              const rf = await call(s.url, 'POST', `/v1/orders/${job.o.body.external_id}/events`, {
                token: key,
                body: job.o.refund.body,
                headers: { 'idempotency-key': job.o.refund.key },
              });
              note(refundAnswers, job.o.refund.key, rf);
              if (rf.status >= 500) throw new Error(`refund ${job.o.refund.key}: ${rf.status} ${JSON.stringify(rf.data)}`);
            }
          } catch (err) {
            // Only a killed server may fail to answer.
            if (!killed) throw err;
          }
        }
      };
      await Promise.all(Array.from({ length: CONCURRENCY }, worker));
      if (killAfter !== null) {
        expect(killed).toBe(true);
        expect(await s.exited).toBe(null);
      }
    }

    // 1. The first burst, killed after a third of the orders were answered.
    await burst(server, Math.floor(ORDERS / 3));
    const firstRound = new Map([...orderAnswers].map(([k, v]) => [k, v[0]!]));
    expect(firstRound.size).toBeGreaterThanOrEqual(Math.floor(ORDERS / 3));
    expect(firstRound.size).toBeLessThan(ORDERS);
    // 2. Again on the same data, killed halfway through the re-sends.
    server = await start();
    await burst(server, Math.floor(ORDERS / 2));
    // 3. Once more, to the end.
    server = await start();
    await burst(server, null);

    // Nothing acknowledged was lost: one 201 per order at most over all rounds (none when the
    // order committed but the server died before answering), and every answer after the first
    // is 200 with the same order (lines included) unless an event has changed it since.
    for (const { body, ship, refund } of orders) {
      const answers = orderAnswers.get(body.external_id)!;
      const statuses = answers.map((a) => a.status);
      expect(statuses.filter((s) => s === 201).length, `${body.external_id}: ${statuses.join(', ')}`).toBeLessThanOrEqual(1);
      for (const s of statuses) expect([200, 201]).toContain(s);
      // A 201 can only be the first answer an order got.
      expect(statuses.slice(1), `${body.external_id}: ${statuses.join(', ')}`).not.toContain(201);
      const created = answers[0]!.data as Order;
      for (const a of answers.slice(1)) {
        expect(a.status).toBe(200);
        if (refund || ship) {
          expect(a.data.id).toBe(created.id);
          expect((a.data as Order).commissions.map((l) => l.id).sort()).toEqual(created.commissions.map((l) => l.id).sort());
        } else {
          expect(a.data).toEqual(created);
        }
      }
      if (ship) {
        const sa = shipAnswers.get(ship.key)!;
        expect(sa.length).toBeGreaterThan(0);
        for (const a of sa) {
          expect(a.status, `${ship.key}: ${JSON.stringify(a.data)}`).toBe(200);
          expect(a.data).toEqual(sa[0]!.data);
        }
        expect((sa[0]!.data as Order).status).toBe('shipped');
      }
      if (refund) {
        const ra = refundAnswers.get(refund.key)!;
        expect(ra.length).toBeGreaterThan(0);
        // The first answer is kept: every later one under the key is the same.
        for (const a of ra) {
          expect(a.status, `${refund.key}: ${JSON.stringify(a.data)}`).toBe(200);
          expect(a.data).toEqual(ra[0]!.data);
        }
        expect((ra[0]!.data as Order).refunded_fen).toBe(refund.body.refund_fen);
      }
    }

    // The orders as they stand: each refund applied once, each line exact.
    const want = new Map<string, number>();
    let refunds = 0;
    let ships = 0;
    for (const { body, ship, refund } of orders) {
      const o = await call(server.url, 'GET', `/v1/orders/${body.external_id}`, { token: key });
      expect(o.status).toBe(200);
      const order = o.data as Order;
      expect(order.refunded_fen).toBe(refund ? refund.body.refund_fen : 0);
      expect(order.status).toBe(ship ? 'shipped' : 'paid');
      expect(order.items.reduce((s, it) => s + it.refunded_fen, 0)).toBe(order.refunded_fen);
      const expected = rates.flatMap(([id, bp], level) => order.items.map((it) => [id, level, it.sku, floorBp(it.paid_fen - it.refunded_fen, bp)].join('|')));
      expect(order.commissions.map((l) => [l.beneficiary_id, l.level, l.sku, l.amount_fen].join('|')).sort()).toEqual(expected.sort());
      for (const l of order.commissions) want.set(l.beneficiary_id, (want.get(l.beneficiary_id) ?? 0) + l.amount_fen);
      if (refund) refunds++;
      if (ship) ships++;
    }
    for (const [id] of rates) {
      const bal = await call(server.url, 'GET', `/v1/distributors/${id}/balance`, { token: key });
      expect(bal.status).toBe(200);
      expect(bal.data.pending_fen, id).toBe(want.get(id));
    }
    const verify = await call(server.url, 'GET', '/v1/ledger/verify', { token: key });
    expect(verify.data.breaks).toEqual([]);
    // The last round wrote its orders in batches of several (group commit), not one by one.
    const metrics = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } }).then((r) => r.text());
    const counter = (name: string) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(metrics)?.[1] ?? NaN);
    expect(counter('fenxiao_order_batch_orders_total')).toBeGreaterThan(counter('fenxiao_order_batches_total'));
    // So did its events (their kept answers, this round).
    expect(counter('fenxiao_order_event_batch_events_total')).toBeGreaterThan(counter('fenxiao_order_event_batches_total'));
    expect(verify.data.ok).toBe(true);
    expect(await server.stop('SIGTERM')).toBe(0);

    // `fenxiao ledger verify` on the data the crashes left.
    const cli = await runCli(['ledger', 'verify', '--tenant', tenantId], env);
    expect(cli.code, cli.stdout + cli.stderr).toBe(0);
    expect(cli.stdout).toContain('ledger ok');
    const cliJson = await runCli(['ledger', 'verify', '--tenant', tenantId, '--json'], env);
    expect(cliJson.code, cliJson.stderr).toBe(0);
    expect(JSON.parse(cliJson.stdout.trim().split('\n').at(-1)!)).toMatchObject({ ok: true, tenant_id: tenantId, breaks: [] });

    // Counted in SQL, straight from the data: once each.
    const database = await openDatabase(databaseUrl ? { databaseUrl, poolSize: 1 } : { dataDir });
    try {
      const db = database.db;
      const count = async (q: ReturnType<typeof sql<{ n: number }>>) => Number((await q.execute(db)).rows[0]!.n);
      expect(await count(sql`select count(*) as n from orders where tenant_id = ${tenantId}`)).toBe(ORDERS);
      expect(await count(sql`select count(distinct external_id) as n from orders where tenant_id = ${tenantId}`)).toBe(ORDERS);
      expect(await count(sql`select count(*) as n from order_items where tenant_id = ${tenantId}`)).toBe(ORDERS * 2);
      expect(await count(sql`select count(*) as n from commissions where tenant_id = ${tenantId}`)).toBe(ORDERS * 8);
      expect(
        await count(sql`select count(*) as n from (select order_id from commissions where tenant_id = ${tenantId} group by order_id having count(*) <> 8) x`),
      ).toBe(0);
      expect(await count(sql`select count(*) as n from journal_entries where tenant_id = ${tenantId} and kind = 'accrue'`)).toBe(ORDERS);
      expect(await count(sql`select count(distinct ref_id) as n from journal_entries where tenant_id = ${tenantId} and kind = 'accrue'`)).toBe(ORDERS);
      expect(await count(sql`select count(*) as n from journal_entries where tenant_id = ${tenantId} and kind = 'refund'`)).toBe(refunds);
      expect(await count(sql`select count(*) as n from order_events where tenant_id = ${tenantId} and type = 'refunded'`)).toBe(refunds);
      expect(await count(sql`select count(*) as n from order_events where tenant_id = ${tenantId} and type = 'paid'`)).toBe(ORDERS);
      expect(await count(sql`select count(*) as n from order_events where tenant_id = ${tenantId} and type = 'shipped'`)).toBe(ships);
      expect(await count(sql`select count(*) as n from idempotency_keys where tenant_id = ${tenantId}`)).toBe(refunds + ships);
      const sales = await count(sql`select coalesce(sum(order_count), 0) as n from sales_monthly where tenant_id = ${tenantId}`);
      expect(sales).toBe(ORDERS);

      // The CLI names a break: a cached balance off by one fen (put right again afterwards).
      const account = (
        await sql<{ id: string }>`select id from accounts where tenant_id = ${tenantId} and owner_id = ${rates[0]![0]} and purpose = 'pending'`.execute(db)
      ).rows[0]!.id;
      await sql`update accounts set balance = balance + 1 where id = ${account}`.execute(db);
      if (!databaseUrl) await database.close();
      const broken = await runCli(['ledger', 'verify', '--tenant', tenantId], env);
      expect(broken.code, broken.stdout + broken.stderr).toBe(2);
      expect(broken.stdout).toContain(`BREAK each cached balance equals the sum of its postings: ${account}`);
      const fix = databaseUrl ? database : await openDatabase({ dataDir });
      await sql`update accounts set balance = balance - 1 where id = ${account}`.execute(fix.db);
      if (!databaseUrl) await fix.close();
    } finally {
      await database.close().catch(() => {});
    }
  });
});
