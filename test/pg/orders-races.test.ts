/**
 * Races on orders, commissions and the ledger, on a real PostgreSQL: many requests in flight at
 * once against one server (a pool of 10 connections) and against a second server instance on the
 * same database. PGlite runs one transaction at a time, so these only mean something here.
 *
 * - concurrent duplicates of one order make one order, one set of lines and one accrual journal;
 * - concurrent orders crediting the same distributors lose no update (balances, monthly sales,
 *   customers' purchase totals are exact);
 * - refunds racing each other and the order's other events never refund more than was paid, and
 *   what happened is what some serial order of the same requests would have done.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { onPostgres } from '../support/db.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { openDatabase, type Database } from '../../src/db/database.ts';
import { migrateToLatest } from '../../src/db/migrate.ts';
import { verifyLedger } from '../../src/modules/ledger/verify.ts';
import { analyticsRepo } from '../../src/modules/analytics/repo.ts';
import { sql } from 'kysely';

interface Dist {
  id: string;
  external_id: string;
  invite_code: string;
}
interface Line {
  id: string;
  beneficiary_id: string;
  level: number;
  base_fen: number;
  rate_bp: number;
  amount_fen: number;
  status: string;
  kind: string;
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
type EventBody = { type: 'shipped' | 'received' | 'cancelled' } | { type: 'refunded'; refund_fen: number };

const floorBp = (base: number, bp: number) => Number((BigInt(base) * BigInt(bp)) / 10000n);

function statusCounts(codes: number[]): Record<number, number> {
  const out: Record<number, number> = {};
  for (const c of codes) out[c] = (out[c] ?? 0) + 1;
  return out;
}

function shuffle<T>(xs: T[]): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [xs[i], xs[j]] = [xs[j]!, xs[i]!];
  }
  return xs;
}

function permutations<T>(xs: T[]): T[][] {
  if (xs.length <= 1) return [xs];
  return xs.flatMap((x, i) => permutations([...xs.slice(0, i), ...xs.slice(i + 1)]).map((rest) => [x, ...rest]));
}

/** Rates of the `default` grade in every test: the seller, then override levels 1..3. */
const SALES_BP = 500;
const OVERRIDE_BP = [1000, 500, 200];

describe.skipIf(!onPostgres())('order and ledger races on PostgreSQL (needs DATABASE_URL: PostgreSQL only)', () => {
  let a: TestServer;
  let b: TestServer;
  let servers: TestServer[];
  const pick = (i: number) => servers[i % servers.length]!;
  /**
   * This file has a database of its own, so that PostgreSQL's count of deadlocks in it is ours
   * alone: deadlocks are retried by inTransaction and would pass unseen, but the lock order is
   * meant to make them impossible, and each one costs a second or more under load.
   */
  let url: string;
  let dbName: string;
  const pools: Database[] = [];

  beforeAll(async () => {
    const base = inject('databaseUrl');
    dbName = `fenxiao_races_${Date.now()}_${process.pid}`;
    const admin = new pg.Client({ connectionString: base });
    await admin.connect();
    await admin.query(`create database ${dbName}`);
    // Long enough that the test below sees a deadlock before PostgreSQL breaks it.
    await admin.query(`alter database ${dbName} set deadlock_timeout = '5s'`);
    await admin.end();
    const u = new URL(base);
    u.pathname = `/${dbName}`;
    url = u.toString();
    const setup = await openDatabase({ databaseUrl: url, poolSize: 2 });
    await migrateToLatest(setup.db);
    await setup.close();
    // Two server instances, each with its own pool of 10, as two app processes would be.
    pools.push(await openDatabase({ databaseUrl: url, poolSize: 10 }), await openDatabase({ databaseUrl: url, poolSize: 10 }));
    const env = { FENXIAO_MASTER_KEY: randomBytes(32).toString('base64') };
    [a, b] = await Promise.all([startTestServer({ env, database: pools[0]! }), startTestServer({ env, database: pools[1]! })]);
    servers = [a, b];
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await Promise.all(pools.map((p) => p.close()));
    if (!dbName || process.env.FENXIAO_KEEP_TEST_DB) return;
    const admin = new pg.Client({ connectionString: inject('databaseUrl') });
    await admin.connect();
    await admin.query(`drop database if exists ${dbName} with (force)`);
    await admin.end();
  });

  /** A tenant with levels 3 and the chain A ← B ← C; buyers are bound to C. */
  async function chainTenant() {
    const { id: tenantId, key } = await a.tenant();
    expect((await a.call('PUT', '/v1/program', { token: key, body: { levels: 3 } })).statusCode).toBe(200);
    expect(
      (await a.call('PUT', '/v1/grades/default', { token: key, body: { name: '普通', rank: 0, sales_bp: SALES_BP, override_bp: OVERRIDE_BP } })).statusCode,
    ).toBe(200);
    const mk = async (externalId: string, referrer?: Dist): Promise<Dist> => {
      const res = await a.call('POST', '/v1/distributors', {
        token: key,
        body: { external_id: externalId, name: externalId, ...(referrer ? { referrer_code: referrer.invite_code } : {}) },
      });
      if (res.statusCode !== 201) throw new Error(`distributor ${externalId}: ${res.statusCode} ${res.body}`);
      return res.data as Dist;
    };
    const A = await mk('A');
    const B = await mk('B', A);
    const C = await mk('C', B);
    const bind = async (buyer: string) => {
      const res = await a.call('POST', '/v1/bindings', { token: key, body: { customer_external_id: buyer, invite_code: C.invite_code } });
      if (res.statusCode !== 201) throw new Error(`binding ${buyer}: ${res.statusCode} ${res.body}`);
    };
    /** Beneficiary and rate by level: C sells (level 0), B and A are its uplines. */
    const rates = [
      [C.id, SALES_BP],
      [B.id, OVERRIDE_BP[0]!],
      [A.id, OVERRIDE_BP[1]!],
    ] as const;
    return { tenantId, key, A, B, C, bind, rates };
  }

  const orderBody = (externalId: string, buyer: string, paid: [number, number], extra: Record<string, unknown> = {}) => ({
    external_id: externalId,
    buyer_external_id: buyer,
    items: [
      { sku: 'sku-a', quantity: 2, unit_price_fen: Math.ceil(paid[0] / 2), paid_fen: paid[0] },
      { sku: 'sku-b', quantity: 1, unit_price_fen: paid[1], paid_fen: paid[1] },
    ],
    ...extra,
  });

  const paidOf = (body: { items: { paid_fen: number }[] }) => body.items.reduce((sum, it) => sum + it.paid_fen, 0);

  /** What the lines of an order must be now: each level's rate on what each item still has paid. */
  function expectedLines(order: Order, rates: readonly (readonly [string, number])[]) {
    return rates
      .flatMap(([beneficiary, bp], level) =>
        order.items.map((item) => {
          const base = item.paid_fen - item.refunded_fen;
          return { beneficiary_id: beneficiary, level, sku: item.sku, base_fen: base, amount_fen: floorBp(base, bp), original: floorBp(item.paid_fen, bp) };
        }),
      )
      .filter((l) => l.original > 0);
  }

  function expectLinesExact(order: Order, rates: readonly (readonly [string, number])[]) {
    const want = expectedLines(order, rates).map((l) => [l.beneficiary_id, l.level, l.sku, l.amount_fen, l.amount_fen === 0 ? 'reversed' : 'pending']);
    const have = order.commissions.map((l) => [l.beneficiary_id, l.level, l.sku, l.amount_fen, l.status]);
    const key = (x: unknown[]) => x.join('|');
    expect(have.map(key).sort(), order.external_id).toEqual(want.map(key).sort());
  }

  async function expectLedgerClean(tenantId: string) {
    const report = await verifyLedger(a.database.db, tenantId);
    expect(report.breaks).toEqual([]);
    expect(report.ok).toBe(true);
  }

  /**
   * `events` events went through the two servers' group commits since `before`, in batches of
   * several: fewer batches than events on each server, and one batch of more than one at least.
   */
  function expectEventBatches(before: { batches: number; items: number; largest: number }[], events: number) {
    const after = servers.map((s) => s.services.orders.eventBatchStats());
    expect(after.reduce((n, x, k) => n + x.items - before[k]!.items, 0)).toBe(events);
    for (const [k, x] of after.entries()) expect(x.batches - before[k]!.batches, `server ${k}`).toBeLessThan(x.items - before[k]!.items);
    expect(Math.max(...after.map((x) => x.largest))).toBeGreaterThan(1);
  }

  /** Each distributor's pending balance, through the API, equals the sum of its lines. */
  async function expectBalancesEqualLines(key: string, tenantId: string, ids: string[], want?: Map<string, number>) {
    const sums = await a.database.db
      .selectFrom('commissions')
      .select(['beneficiary_id', (eb) => eb.fn.sum<number>('amount_fen').as('total')])
      .where('tenant_id', '=', tenantId)
      .groupBy('beneficiary_id')
      .execute();
    const byLine = new Map(sums.map((s) => [s.beneficiary_id, Number(s.total)]));
    for (const [i, id] of ids.entries()) {
      const bal = await pick(i).call('GET', `/v1/distributors/${id}/balance`, { token: key });
      expect(bal.statusCode).toBe(200);
      expect(bal.data.pending_fen, id).toBe(byLine.get(id) ?? 0);
      if (want) expect(bal.data.pending_fen, id).toBe(want.get(id) ?? 0);
    }
  }

  describe('(a) concurrent duplicates of one order', () => {
    it('20 identical POST /v1/orders: one 201, nineteen 200 with the identical order; one row, one set of lines, one journal', async () => {
      const { tenantId, key, bind, rates } = await chainTenant();
      const C = rates[0][0];
      await bind('bound-buyer');
      const inviteCode = (await a.call('GET', `/v1/distributors/${C}`, { token: key })).data.invite_code as string;
      // Rounds alternate between a buyer already bound and a new one whom the order's invite
      // code binds, so the duplicates also race the binding.
      for (let round = 0; round < 6; round++) {
        const externalId = `dup-${round}`;
        const body =
          round % 2 === 0
            ? orderBody(externalId, 'bound-buyer', [12_345 + round, 6_789])
            : orderBody(externalId, `new-buyer-${round}`, [20_001, 333 + round], { invite_code: inviteCode });
        const results = await Promise.all(Array.from({ length: 20 }, (_, i) => pick(i).call('POST', '/v1/orders', { token: key, body })));
        expect(statusCounts(results.map((r) => r.statusCode)), externalId).toEqual({ 201: 1, 200: 19 });
        const first = results.find((r) => r.statusCode === 201)!.data as Order;
        for (const r of results) expect(r.data).toEqual(first);
        expectLinesExact(first, rates);

        const orders = await a.database.db.selectFrom('orders').select('id').where('tenant_id', '=', tenantId).where('external_id', '=', externalId).execute();
        expect(orders).toEqual([{ id: first.id }]);
        const lines = await a.database.db.selectFrom('commissions').select('id').where('order_id', '=', first.id).execute();
        expect(lines.map((l) => l.id).sort()).toEqual(first.commissions.map((l) => l.id).sort());
        expect(lines).toHaveLength(6);
        const journals = await a.database.db
          .selectFrom('journal_entries')
          .select(['id', 'kind'])
          .where('tenant_id', '=', tenantId)
          .where('ref_type', '=', 'order')
          .where('ref_id', '=', first.id)
          .execute();
        expect(journals.map((j) => j.kind)).toEqual(['accrue']);
        const events = await a.database.db.selectFrom('order_events').select('type').where('order_id', '=', first.id).execute();
        expect(events).toEqual([{ type: 'paid' }]);
        if (round % 2 === 1) {
          const bindings = await a.database.db
            .selectFrom('binding_events')
            .select('kind')
            .where('tenant_id', '=', tenantId)
            .where('customer_external_id', '=', `new-buyer-${round}`)
            .execute();
          expect(bindings).toEqual([{ kind: 'bind' }]);
        }
      }
      // Counted once: the buyer's purchases and the seller's monthly sales.
      const buyer = await a.database.db
        .selectFrom('customers')
        .select('purchases_fen')
        .where('tenant_id', '=', tenantId)
        .where('external_id', '=', 'bound-buyer')
        .executeTakeFirstOrThrow();
      expect(buyer.purchases_fen).toBe([0, 2, 4].reduce((s, r) => s + 12_345 + r + 6_789, 0));
      const sales = await a.database.db.selectFrom('sales_monthly').select(['order_count']).where('distributor_id', '=', C).execute();
      expect(sales).toEqual([{ order_count: 6 }]);
      await expectBalancesEqualLines(
        key,
        tenantId,
        rates.map((r) => r[0]),
      );
      await expectLedgerClean(tenantId);
    });

    it("20 concurrent POSTs of one external_id with different bodies: one 201, nineteen 409, the winner's body stored", async () => {
      const { tenantId, key, bind, rates } = await chainTenant();
      await bind('buyer');
      for (let round = 0; round < 4; round++) {
        const externalId = `clash-${round}`;
        // Round 0 and 2: all from one buyer (they queue on the customer row); 1 and 3: each
        // from its own buyer, so they meet only at the order's unique key.
        const bodies = Array.from({ length: 20 }, (_, i) => orderBody(externalId, round % 2 === 0 ? 'buyer' : `buyer-${round}-${i}`, [10_000 + i, 500]));
        if (round % 2 === 1) for (const [i] of bodies.entries()) await bind(`buyer-${round}-${i}`);
        const results = await Promise.all(bodies.map((body, i) => pick(i).call('POST', '/v1/orders', { token: key, body })));
        expect(statusCounts(results.map((r) => r.statusCode)), externalId).toEqual({ 201: 1, 409: 19 });
        for (const r of results.filter((x) => x.statusCode === 409)) expect(r.data.error.code).toBe('conflict');
        const winnerIndex = results.findIndex((r) => r.statusCode === 201);
        const winner = results[winnerIndex]!.data as Order;
        expect(winner.paid_fen).toBe(10_000 + winnerIndex + 500);
        const stored = (await a.call('GET', `/v1/orders/${externalId}`, { token: key })).data as Order;
        expect(stored).toEqual(winner);
        // The same body as the winner's, sent again, is answered 200 with it.
        const again = await b.call('POST', '/v1/orders', { token: key, body: bodies[winnerIndex] });
        expect(again.statusCode).toBe(200);
        expect(again.data).toEqual(winner);
        const rows = await a.database.db.selectFrom('orders').select('id').where('tenant_id', '=', tenantId).where('external_id', '=', externalId).execute();
        expect(rows).toHaveLength(1);
        const lines = await a.database.db.selectFrom('commissions').select('id').where('order_id', '=', winner.id).execute();
        expect(lines).toHaveLength(6);
      }
      const journals = await a.database.db.selectFrom('journal_entries').select('id').where('tenant_id', '=', tenantId).where('kind', '=', 'accrue').execute();
      expect(journals).toHaveLength(4);
      await expectBalancesEqualLines(
        key,
        tenantId,
        rates.map((r) => r[0]),
      );
      await expectLedgerClean(tenantId);
    });
  });

  describe('(b) concurrent orders crediting the same distributors', () => {
    it('200 concurrent orders from buyers bound to the bottom of one chain, through two servers: balances exact, no lost update', async () => {
      const { tenantId, key, bind, rates } = await chainTenant();
      const buyers = Array.from({ length: 25 }, (_, i) => `buyer-${i}`);
      for (const buyer of buyers) await bind(buyer);
      const bodies = Array.from({ length: 200 }, (_, i) =>
        orderBody(`o-${i}`, buyers[i % buyers.length]!, [1 + Math.floor(Math.random() * 500_000), 1 + Math.floor(Math.random() * 90_000)]),
      );
      const batchesBefore = [a, b].map((s) => s.services.orders.batchStats());
      const results = await Promise.all(bodies.map((body, i) => pick(i).call('POST', '/v1/orders', { token: key, body })));
      expect(statusCounts(results.map((r) => r.statusCode))).toEqual({ 201: 200 });
      // Both servers wrote batches of several orders at once, concurrently with each other.
      const batchesAfter = [a, b].map((s) => s.services.orders.batchStats());
      for (const [k, after] of batchesAfter.entries()) {
        expect(after.items - batchesBefore[k]!.items).toBe(100);
        expect(after.batches - batchesBefore[k]!.batches).toBeLessThan(100);
      }

      // What each distributor must have: the rate on each item, floored per line, summed.
      const want = new Map<string, number>();
      const fromResponses = new Map<string, number>();
      for (const [i, r] of results.entries()) {
        const order = r.data as Order;
        expectLinesExact(order, rates);
        for (const [id, bp] of rates) for (const it of bodies[i]!.items) want.set(id, (want.get(id) ?? 0) + floorBp(it.paid_fen, bp));
        for (const l of order.commissions) fromResponses.set(l.beneficiary_id, (fromResponses.get(l.beneficiary_id) ?? 0) + l.amount_fen);
      }
      expect(fromResponses).toEqual(want);
      await expectBalancesEqualLines(
        key,
        tenantId,
        rates.map((r) => r[0]),
        want,
      );

      // The other running totals written by every order: the seller's monthly sales and each
      // buyer's purchases (several orders per buyer were in flight at once).
      const total = bodies.reduce((s, o) => s + paidOf(o), 0);
      const sales = await a.database.db.selectFrom('sales_monthly').select(['sales_fen', 'order_count']).where('distributor_id', '=', rates[0][0]).execute();
      expect(sales).toEqual([{ sales_fen: total, order_count: 200 }]);
      const purchases = await a.database.db
        .selectFrom('customers')
        .select(['external_id', 'purchases_fen'])
        .where('tenant_id', '=', tenantId)
        .where('external_id', 'in', buyers)
        .execute();
      for (const p of purchases) {
        const mine = bodies.filter((o) => o.buyer_external_id === p.external_id).reduce((s, o) => s + paidOf(o), 0);
        expect(p.purchases_fen, p.external_id).toBe(mine);
      }
      const journals = await a.database.db.selectFrom('journal_entries').select('id').where('tenant_id', '=', tenantId).where('kind', '=', 'accrue').execute();
      expect(journals).toHaveLength(200);
      // The merchant's expense is the sum of every line (it is not locked: no hot row).
      const expense = await a.services.ledger.tenantBalance(a.database.db, tenantId, 'commission_expense');
      expect(-expense).toBe([...want.values()].reduce((s, v) => s + v, 0));
      await expectLedgerClean(tenantId);
    });

    it('orders of several chains sharing uplines, interleaved with refunds, through two servers: balances exact', async () => {
      const { tenantId, key, A, B, C, rates } = await chainTenant();
      // A second seller C2 under B: A and B are credited by both chains.
      const c2 = (await a.call('POST', '/v1/distributors', { token: key, body: { external_id: 'C2', name: 'C2', referrer_code: B.invite_code } })).data as Dist;
      for (let i = 0; i < 10; i++) {
        expect((await a.call('POST', '/v1/bindings', { token: key, body: { customer_external_id: `x-${i}`, invite_code: C.invite_code } })).statusCode).toBe(
          201,
        );
        expect((await a.call('POST', '/v1/bindings', { token: key, body: { customer_external_id: `y-${i}`, invite_code: c2.invite_code } })).statusCode).toBe(
          201,
        );
      }
      const ratesOf = (buyer: string) =>
        buyer.startsWith('y')
          ? ([
              [c2.id, SALES_BP],
              [B.id, OVERRIDE_BP[0]!],
              [A.id, OVERRIDE_BP[1]!],
            ] as const)
          : rates;
      const bodies = Array.from({ length: 120 }, (_, i) => orderBody(`m-${i}`, i % 2 === 0 ? `x-${i % 10}` : `y-${i % 10}`, [5_000 + 37 * i, 1_000 + i]));
      const created = await Promise.all(bodies.map((body, i) => pick(i).call('POST', '/v1/orders', { token: key, body })));
      expect(statusCounts(created.map((r) => r.statusCode))).toEqual({ 201: 120 });
      // Refund a third of them partly while new orders for the same distributors arrive.
      const more = Array.from({ length: 60 }, (_, i) => orderBody(`n-${i}`, i % 2 === 0 ? `x-${i % 10}` : `y-${i % 10}`, [7_000 + i, 70]));
      const eventsBefore = servers.map((s) => s.services.orders.eventBatchStats());
      const work = await Promise.all([
        ...bodies
          .filter((_, i) => i % 3 === 0)
          .map((body, i) => pick(i).call('POST', `/v1/orders/${body.external_id}/events`, { token: key, body: { type: 'refunded', refund_fen: 1_234 } })),
        ...more.map((body, i) => pick(i + 1).call('POST', '/v1/orders', { token: key, body })),
      ]);
      expect(statusCounts(work.map((r) => r.statusCode))).toEqual({ 200: 40, 201: 60 });
      // Refunds of several buyers and chains in one batch lock their buyers, lines and accounts
      // before any of them runs: batches of orders for the same distributors queue, never deadlock.
      expectEventBatches(eventsBefore, 40);
      const want = new Map<string, number>();
      for (const body of [...bodies, ...more]) {
        const order = (await a.call('GET', `/v1/orders/${body.external_id}`, { token: key })).data as Order;
        expectLinesExact(order, ratesOf(body.buyer_external_id));
        for (const l of order.commissions) want.set(l.beneficiary_id, (want.get(l.beneficiary_id) ?? 0) + l.amount_fen);
      }
      await expectBalancesEqualLines(key, tenantId, [A.id, B.id, rates[0][0], c2.id], want);
      await expectLedgerClean(tenantId);
    });
  });

  describe("(c) refunds racing refunds and the order's other events", () => {
    it('50 orders × 4 concurrent refunds that together exceed what was paid: never more refunded than paid, each success exact', async () => {
      const { tenantId, key, bind, rates } = await chainTenant();
      await bind('buyer');
      const orders: { body: ReturnType<typeof orderBody>; refunds: number[] }[] = [];
      for (let i = 0; i < 50; i++) {
        const paid: [number, number] = [6_000 + 13 * i, 4_000 + 7 * i];
        const body = orderBody(`r-${i}`, 'buyer', paid);
        const total = paid[0] + paid[1];
        // Four refunds whose sum is more than what was paid; one of them is alone the whole.
        orders.push({
          body,
          refunds: shuffle([Math.floor(total * 0.4), Math.floor(total * 0.35) + i, Math.floor(total * 0.3), i % 5 === 0 ? total : Math.floor(total * 0.2)]),
        });
      }
      for (const [i, o] of orders.entries()) expect((await pick(i).call('POST', '/v1/orders', { token: key, body: o.body })).statusCode).toBe(201);

      const eventsBefore = servers.map((s) => s.services.orders.eventBatchStats());
      await Promise.all(
        orders.map(async (o, n) => {
          const url = `/v1/orders/${o.body.external_id}/events`;
          const results = await Promise.all(
            o.refunds.map((fen, i) => pick(n + i).call('POST', url, { token: key, body: { type: 'refunded', refund_fen: fen } })),
          );
          const paid = paidOf(o.body);
          const ok = results.map((r, i) => ({ r, fen: o.refunds[i]! })).filter((x) => x.r.statusCode === 200);
          for (const r of results) expect([200, 400, 409], r.body).toContain(r.statusCode);
          const refused = results.filter((r) => r.statusCode !== 200);
          for (const r of refused) expect(['invalid_request', 'invalid_state']).toContain(r.data.error.code);
          const refunded = ok.reduce((s, x) => s + x.fen, 0);
          expect(refunded).toBeLessThanOrEqual(paid);
          // Each success saw exactly its own amount added to what the ones before it refunded.
          const seen = ok.map((x) => ({ after: (x.r.data as Order).refunded_fen, fen: x.fen })).sort((x, y) => x.after - y.after);
          let before = 0;
          for (const s of seen) {
            expect(s.after - before, o.body.external_id).toBe(s.fen);
            before = s.after;
          }
          // A refused refund was refused rightly: it did not fit in what was left when it ran.
          for (const [i, r] of results.entries()) {
            if (r.statusCode === 200) continue;
            const fen = o.refunds[i]!;
            const leftAtSomePoint = [0, ...seen.map((s) => s.after)].map((x) => paid - x);
            expect(
              leftAtSomePoint.some((left) => fen > left),
              `${o.body.external_id} refused ${fen}`,
            ).toBe(true);
          }
          const order = (await a.call('GET', `/v1/orders/${o.body.external_id}`, { token: key })).data as Order;
          expect(order.refunded_fen).toBe(refunded);
          expect(order.items.reduce((s, it) => s + it.refunded_fen, 0)).toBe(refunded);
          expect(order.status).toBe(refunded === paid ? 'refunded' : 'paid');
          expectLinesExact(order, rates);
          const events = await a.database.db
            .selectFrom('order_events')
            .select('refund_fen')
            .where('order_id', '=', order.id)
            .where('type', '=', 'refunded')
            .execute();
          expect(events.map((e) => e.refund_fen).sort((x, y) => x! - y!)).toEqual(ok.map((x) => x.fen).sort((x, y) => x - y));
        }),
      );
      // The refunds raced as batches of several (group commit) on both servers, each under its
      // own savepoint, and still every one was answered as some serial order would.
      expectEventBatches(eventsBefore, 200);
      await expectBalancesEqualLines(
        key,
        tenantId,
        rates.map((r) => r[0]),
      );
      await expectLedgerClean(tenantId);
    });

    it('the same refund sent concurrently under one Idempotency-Key is applied once', async () => {
      const { tenantId, key, bind, rates } = await chainTenant();
      await bind('buyer');
      for (let i = 0; i < 10; i++) {
        const body = orderBody(`k-${i}`, 'buyer', [9_000, 1_000]);
        expect((await a.call('POST', '/v1/orders', { token: key, body })).statusCode).toBe(201);
        const results = await Promise.all(
          Array.from({ length: 8 }, (_, n) =>
            pick(n).call('POST', `/v1/orders/k-${i}/events`, {
              token: key,
              headers: { 'idempotency-key': `refund-${i}` },
              body: { type: 'refunded', refund_fen: 2_500 },
            }),
          ),
        );
        expect(statusCounts(results.map((r) => r.statusCode))).toEqual({ 200: 8 });
        for (const r of results) expect(r.data).toEqual(results[0]!.data);
        expect((results[0]!.data as Order).refunded_fen).toBe(2_500);
        const order = (await b.call('GET', `/v1/orders/k-${i}`, { token: key })).data as Order;
        expect(order.refunded_fen).toBe(2_500);
        expectLinesExact(order, rates);
      }
      const refunds = await a.database.db.selectFrom('journal_entries').select('id').where('tenant_id', '=', tenantId).where('kind', '=', 'refund').execute();
      expect(refunds).toHaveLength(10);
      await expectLedgerClean(tenantId);
    });

    it('refunds racing shipped, received and cancelled: the outcome is one some serial order of the same requests gives', async () => {
      const { tenantId, key, bind, rates } = await chainTenant();
      await bind('buyer');
      const TRANSITIONS: Record<string, string[]> = {
        shipped: ['paid'],
        received: ['paid', 'shipped'],
        cancelled: ['paid', 'shipped'],
        refunded: ['paid', 'shipped', 'received', 'completed'],
      };
      /** The serial model: each event's status code and the order's state after it. */
      const run = (paid: number, events: EventBody[]) => {
        let status = 'paid';
        let refunded = 0;
        return events.map((e) => {
          if (!TRANSITIONS[e.type]!.includes(status)) return { code: 409, status, refunded };
          if (e.type === 'refunded') {
            if (paid - refunded === 0) return { code: 409, status, refunded };
            if (e.refund_fen > paid - refunded) return { code: 400, status, refunded };
            refunded += e.refund_fen;
            if (refunded >= paid) status = 'refunded';
          } else if (e.type === 'cancelled') {
            refunded = paid;
            status = 'cancelled';
          } else status = e.type;
          return { code: 200, status, refunded };
        });
      };
      let cancelledWon = 0;
      let refundsWon = 0;
      const eventsBefore = servers.map((s) => s.services.orders.eventBatchStats());
      for (let batch = 0; batch < 3; batch++) {
        const cases = Array.from({ length: 15 }, (_, i) => {
          const paid: [number, number] = [8_000 + 101 * i, 3_000 + batch];
          const total = paid[0] + paid[1];
          const events: EventBody[] = shuffle([
            { type: 'refunded', refund_fen: Math.floor(total / 3) },
            { type: 'refunded', refund_fen: Math.floor(total / 2) + i },
            { type: 'shipped' },
            { type: 'received' },
            { type: 'cancelled' },
          ]);
          return { body: orderBody(`e-${batch}-${i}`, 'buyer', paid), total, events };
        });
        for (const [i, c] of cases.entries()) expect((await pick(i).call('POST', '/v1/orders', { token: key, body: c.body })).statusCode).toBe(201);
        await Promise.all(
          cases.map(async (c, n) => {
            const results = await Promise.all(
              c.events.map((e, i) => pick(n + i).call('POST', `/v1/orders/${c.body.external_id}/events`, { token: key, body: e })),
            );
            const observed = results.map((r) =>
              r.statusCode === 200 ? { code: 200, status: (r.data as Order).status, refunded: (r.data as Order).refunded_fen } : { code: r.statusCode },
            );
            const order = (await a.call('GET', `/v1/orders/${c.body.external_id}`, { token: key })).data as Order;
            // Some serial order of the five requests answers each exactly as it was answered and
            // ends where the order is.
            const serial = permutations(c.events.map((_, i) => i)).some((perm) => {
              const outcome = run(
                c.total,
                perm.map((i) => c.events[i]!),
              );
              const byRequest = new Map(perm.map((i, k) => [i, outcome[k]!]));
              const last = outcome[outcome.length - 1]!;
              return (
                last.status === order.status &&
                last.refunded === order.refunded_fen &&
                observed.every((o, i) => {
                  const m = byRequest.get(i)!;
                  return o.code === m.code && (o.code !== 200 || (o.status === m.status && o.refunded === m.refunded));
                })
              );
            });
            expect(
              serial,
              `${c.body.external_id}: ${JSON.stringify(c.events)} → ${JSON.stringify(observed)}, final ${order.status} ${order.refunded_fen}`,
            ).toBe(true);
            expect(order.refunded_fen).toBeLessThanOrEqual(order.paid_fen);
            expectLinesExact(order, rates);
            if (order.status === 'cancelled') cancelledWon++;
            refundsWon += observed.filter((o, i) => o.code === 200 && c.events[i]!.type === 'refunded').length;
            const events = await a.database.db.selectFrom('order_events').select('type').where('order_id', '=', order.id).execute();
            expect(events.map((e) => e.type).sort()).toEqual(['paid', ...observed.flatMap((o, i) => (o.code === 200 ? [c.events[i]!.type] : []))].sort());
          }),
        );
      }
      // The race went both ways at least once (not a test of speed: 45 orders of five requests).
      expect(cancelledWon).toBeGreaterThan(0);
      expect(refundsWon).toBeGreaterThan(0);
      expectEventBatches(eventsBefore, 225);
      await expectBalancesEqualLines(
        key,
        tenantId,
        rates.map((r) => r[0]),
      );
      await expectLedgerClean(tenantId);
    });
  });
  describe('(d) lock order', () => {
    /**
     * A refund and a new order of the same buyer, made to meet: a test transaction holds the
     * chain's pending accounts; the refund starts first and queues there, then the order. Once
     * the accounts are free the refund gets them first. It used to lock the buyer's customer row
     * only after the accounts, while the order holds that row from its start and waits for the
     * accounts: a deadlock, every time, that PostgreSQL broke by killing one (retried, a second
     * lost). Now the refund takes the customer row before any account and the two queue.
     */
    it('a refund and a new order of the same buyer queue at the ledger instead of deadlocking', async () => {
      const { tenantId, key, bind, rates } = await chainTenant();
      await bind('buyer');
      const holder = new pg.Client({ connectionString: url });
      const watcher = new pg.Client({ connectionString: url });
      await holder.connect();
      await watcher.connect();
      const lockWaiters = async () =>
        (
          await watcher.query<{ pid: number; by: number[] }>(
            `select pid, pg_blocking_pids(pid) as by from pg_stat_activity where datname = current_database() and state = 'active' and wait_event_type = 'Lock'`,
          )
        ).rows;
      const waiting = async (n: number) => {
        for (let i = 0; i < 2000; i++) {
          if ((await lockWaiters()).length >= n) return;
          await new Promise((r) => setTimeout(r, 10));
        }
        throw new Error(`never saw ${n} requests waiting on a lock`);
      };
      try {
        for (let round = 0; round < 3; round++) {
          expect((await a.call('POST', '/v1/orders', { token: key, body: orderBody(`d-${round}`, 'buyer', [10_000, 2_000]) })).statusCode).toBe(201);
          await holder.query('begin');
          await holder.query(`select id from accounts where tenant_id = $1 and owner_id = any($2) and purpose = 'pending' order by id for update`, [
            tenantId,
            rates.map((r) => r[0]),
          ]);
          let settled = 0;
          const refund = a.call('POST', `/v1/orders/d-${round}/events`, { token: key, body: { type: 'refunded', refund_fen: 3_000 } }).finally(() => {
            settled++;
          });
          await waiting(1);
          const order = b.call('POST', '/v1/orders', { token: key, body: orderBody(`d-${round}-next`, 'buyer', [5_000, 500]) }).finally(() => {
            settled++;
          });
          await waiting(2);
          await holder.query('commit');
          // Until both answer, look for two requests each waiting for the other.
          let deadlock: string | null = null;
          while (settled < 2 && deadlock === null) {
            const rows = await lockWaiters();
            for (const r of rows) {
              if (rows.some((o) => o.pid !== r.pid && r.by.includes(o.pid) && o.by.includes(r.pid))) deadlock = JSON.stringify(rows);
            }
            await new Promise((r) => setTimeout(r, 5));
          }
          expect(deadlock, 'the refund and the order wait for each other').toBeNull();
          expect((await refund).statusCode).toBe(200);
          expect((await order).statusCode).toBe(201);
        }
      } finally {
        await holder.query('rollback').catch(() => {});
        await holder.end();
        await watcher.end();
      }
      await expectBalancesEqualLines(
        key,
        tenantId,
        rates.map((r) => r[0]),
      );
      await expectLedgerClean(tenantId);
    });

    /**
     * A batch of two refunds (buyers x and y, on two chains sharing B and A) and a new order of
     * buyer y, made to meet: a test transaction holds the chains' pending accounts; the refund
     * batch starts first and queues there, then the order. Refund by refund, the batch would lock
     * y's customer row only after the first refund's accounts, while the order holds that row
     * from its start and waits for the accounts: a deadlock. The batch locks both buyers, both
     * orders' lines and all their accounts before either refund runs, so the order queues behind it.
     */
    it('a batch of refunds of several buyers and an order of one of them queue instead of deadlocking', async () => {
      const { tenantId, key, B, rates } = await chainTenant();
      const c2 = (await a.call('POST', '/v1/distributors', { token: key, body: { external_id: 'C2', name: 'C2', referrer_code: B.invite_code } })).data as Dist;
      await a.call('POST', '/v1/bindings', {
        token: key,
        body: { customer_external_id: 'x', invite_code: (await a.call('GET', `/v1/distributors/${rates[0][0]}`, { token: key })).data.invite_code },
      });
      await a.call('POST', '/v1/bindings', { token: key, body: { customer_external_id: 'y', invite_code: c2.invite_code } });
      const holder = new pg.Client({ connectionString: url });
      const watcher = new pg.Client({ connectionString: url });
      await holder.connect();
      await watcher.connect();
      const lockWaiters = async () =>
        (
          await watcher.query<{ pid: number; by: number[] }>(
            `select pid, pg_blocking_pids(pid) as by from pg_stat_activity where datname = current_database() and state = 'active' and wait_event_type = 'Lock'`,
          )
        ).rows;
      const waiting = async (n: number) => {
        for (let i = 0; i < 2000; i++) {
          if ((await lockWaiters()).length >= n) return;
          await new Promise((r) => setTimeout(r, 10));
        }
        throw new Error(`never saw ${n} requests waiting on a lock`);
      };
      const actor = { principal: { kind: 'api_key' as const, tenantId, keyId: 'key_race' }, requestId: null };
      try {
        for (let round = 0; round < 3; round++) {
          for (const buyer of ['x', 'y'])
            expect((await a.call('POST', '/v1/orders', { token: key, body: orderBody(`q-${round}-${buyer}`, buyer, [10_000, 2_000]) })).statusCode).toBe(201);
          await holder.query('begin');
          await holder.query(`select id from accounts where tenant_id = $1 and owner_id = any($2) and purpose = 'pending' order by id for update`, [
            tenantId,
            [...rates.map((r) => r[0]), c2.id],
          ]);
          const before = a.services.orders.eventBatchStats();
          let settled = 0;
          // Submitted in one turn of the event loop: one batch of two refunds.
          const refunds = Promise.all(
            ['x', 'y'].map((buyer) => a.services.orders.event(actor, `q-${round}-${buyer}`, { type: 'refunded', refund_fen: 3_000 })),
          ).finally(() => {
            settled++;
          });
          await waiting(1);
          const order = b.call('POST', '/v1/orders', { token: key, body: orderBody(`q-${round}-y-next`, 'y', [5_000, 500]) }).finally(() => {
            settled++;
          });
          await waiting(2);
          await holder.query('commit');
          let deadlock: string | null = null;
          while (settled < 2 && deadlock === null) {
            const rows = await lockWaiters();
            for (const r of rows) {
              if (rows.some((o) => o.pid !== r.pid && r.by.includes(o.pid) && o.by.includes(r.pid))) deadlock = JSON.stringify(rows);
            }
            await new Promise((r) => setTimeout(r, 5));
          }
          expect(deadlock, 'the refund batch and the order wait for each other').toBeNull();
          expect((await refunds).map((o) => o.refunded_fen)).toEqual([3_000, 3_000]);
          expect((await order).statusCode).toBe(201);
          const after = a.services.orders.eventBatchStats();
          expect({ batches: after.batches - before.batches, items: after.items - before.items }).toEqual({ batches: 1, items: 2 });
        }
      } finally {
        await holder.query('rollback').catch(() => {});
        await holder.end();
        await watcher.end();
      }
      await expectBalancesEqualLines(key, tenantId, [...rates.map((r) => r[0]), c2.id]);
      await expectLedgerClean(tenantId);
    });

    // Last in the file: the servers are stopped so that their connections report their counts.
    /**
     * An order whose invite code attaches an existing distributor moves the tree, which needs the
     * tree lock alone. A batch used to find that part-way, after it had locked its buyers' rows
     * and written under the shared lock, and then waited for the lock alone while holding them:
     * a holder of the shared lock that then wanted one of those rows closed a cycle. Now the
     * batch starts over with the tree lock taken first, before it locks anything else.
     */
    it('an order attaching an existing distributor takes the tree lock before any row: a shared holder locking its buyer does not wait', async () => {
      const { tenantId, key, C: c } = await chainTenant();
      const top = (await a.call('POST', '/v1/distributors', { token: key, body: { external_id: 'T', name: 'T' } })).data as Dist;
      // T has bought before: its customer row exists (committed).
      expect((await a.call('POST', '/v1/orders', { token: key, body: orderBody('t-before', 'T', [1_000, 100]) })).statusCode).toBe(201);
      const holder = new pg.Client({ connectionString: url });
      const watcher = new pg.Client({ connectionString: url });
      await holder.connect();
      await watcher.connect();
      try {
        await holder.query('begin');
        await holder.query(`select pg_advisory_xact_lock_shared(hashtextextended('tree:' || $1, 0))`, [tenantId]);
        const order = a.call('POST', '/v1/orders', { token: key, body: orderBody('t-attach', 'T', [4_000, 400], { invite_code: c.invite_code }) });
        for (let i = 0; ; i++) {
          const r = await watcher.query(
            `select 1 from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock' and query like '%pg_advisory_xact_lock%'`,
          );
          if (r.rows.length > 0) break;
          if (i > 2000) throw new Error('the order never waited for the tree lock');
          await new Promise((res) => setTimeout(res, 10));
        }
        // The order waits for the tree lock holding nothing of T's: the holder takes T's row at once.
        await holder.query(`set local lock_timeout = '2s'`);
        const row = await holder.query(`select external_id from customers where tenant_id = $1 and external_id = 'T' for update`, [tenantId]);
        expect(row.rows).toHaveLength(1);
        await holder.query('commit');
        const res = await order;
        expect(res.statusCode).toBe(201);
        expect((await a.call('GET', `/v1/distributors/${top.id}`, { token: key })).data.referrer_id).toBe(c.id);
      } finally {
        await holder.query('rollback').catch(() => undefined);
        await holder.end();
        await watcher.end();
      }
    });

    /**
     * Rollup rows spread over slots never make a writer wait: a transaction that opens a slot
     * holds that slot's lock only (it used to try-lock every free slot of the row at once, so the
     * next writer found none free and fell back to waiting, which could close a cycle).
     */
    it('a writer opening a rollup slot holds one slot; another writer of the same row meanwhile opens its own without waiting', async () => {
      const { id: tenantId } = await a.tenant();
      const key = { tenant_id: tenantId, day: '2026-01-01' };
      const advisoryLocks = async (tx: Parameters<typeof analyticsRepo.addToSlot>[0]) =>
        (await sql<{ n: number }>`select count(*)::int as n from pg_locks where locktype = 'advisory' and pid = pg_backend_pid()`.execute(tx)).rows[0]!.n;
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      let opened!: () => void;
      const first = new Promise<void>((r) => (opened = r));
      const one = pools[0]!.db.transaction().execute(async (tx) => {
        await analyticsRepo.addToSlot(tx, 'analytics_daily', key, { orders: 1 });
        expect(await advisoryLocks(tx)).toBe(1);
        opened();
        await held;
      });
      await first;
      try {
        await pools[1]!.db.transaction().execute(async (tx) => {
          await sql`set local lock_timeout = '2s'`.execute(tx);
          await analyticsRepo.addToSlot(tx, 'analytics_daily', key, { orders: 2 });
          expect(await advisoryLocks(tx)).toBe(1);
        });
      } finally {
        release();
        await one;
      }
      const rows = await sql<{ slot: number; orders: number }>`
        select slot, orders::int as orders from analytics_daily where tenant_id = ${tenantId} and day = '2026-01-01' order by slot`.execute(pools[0]!.db);
      expect(rows.rows).toEqual([
        { slot: 0, orders: 1 },
        { slot: 1, orders: 2 },
      ]);
    });

    it('no transaction of this file deadlocked', async () => {
      await Promise.all([a.close(), b.close()]);
      await Promise.all(pools.map((p) => p.close()));
      pools.length = 0;
      const admin = new pg.Client({ connectionString: inject('databaseUrl') });
      await admin.connect();
      try {
        for (let i = 0; i < 500; i++) {
          const r = await admin.query('select count(*)::int as n from pg_stat_activity where datname = $1', [dbName]);
          if (r.rows[0].n === 0) break;
          await new Promise((res) => setTimeout(res, 20));
        }
        // A backend leaves pg_stat_activity just before it flushes its statistics.
        await new Promise((res) => setTimeout(res, 500));
        const r = await admin.query('select deadlocks::int as n from pg_stat_database where datname = $1', [dbName]);
        expect(r.rows[0].n).toBe(0);
      } finally {
        await admin.end();
      }
    });
  });
});
