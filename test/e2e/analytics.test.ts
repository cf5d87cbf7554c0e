/**
 * Analytics end to end (PGlite, or PostgreSQL with DATABASE_URL): a tenant's orders, refunds
 * before and after settlement, a settlement, withdrawals paid, failed and waiting, registrations,
 * bindings and visits; then every rollup against the base tables (test/support/analytics.ts), and
 * the API's KPIs, series, breakdowns, top N and funnels against figures computed here from the
 * orders, commission lines, ledger and events.
 */
import { sql } from 'kysely';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.ts';
import { rollupBreaks } from '../support/analytics.ts';
import type { ManualClock } from '../../src/core/context.ts';
import type { JsonBody } from '../support/json.ts';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.close();
});

const TZ = 'Asia/Shanghai';
const METRICS = [
  'sales_fen',
  'gross_sales_fen',
  'refunded_fen',
  'orders',
  'refunds',
  'commission_fen',
  'commission_reversed_fen',
  'new_distributors',
  'new_bindings',
  'visits',
  'settled_fen',
  'withdrawn_fen',
] as const;

interface Dist {
  id: string;
  invite_code: string;
  external_id: string;
}

async function ok(res: Promise<{ statusCode: number; body: string; data: JsonBody }>, status = 200) {
  const r = await res;
  expect(r.statusCode, r.body).toBe(status);
  return r.data;
}

/**
 * A ← B ← C (levels 2), D alone; B is gold. Buyers b1, b2 bound to C (through C's link), b3 to B,
 * b4 to D, b5 to nobody. Orders over January to March, crossing a local midnight; a partial refund
 * before settlement, a cancellation, a refund after settlement (a clawback); a settlement; C paid
 * out, A's payout failed, B's request waiting.
 */
async function scenario() {
  const clock = t.clock as ManualClock;
  clock.set('2026-01-10T04:00:00Z');
  const tenant = await t.tenant('Analytics 商城');
  const key = tenant.key;
  await ok(
    t.call('PUT', '/v1/program', { token: key, body: { levels: 2, freeze_days: 7, withdrawal: { min_fen: 100, fee_bp: 100, auto_approve_max_fen: 0 } } }),
  );
  await ok(t.call('PUT', '/v1/grades/default', { token: key, body: { name: '普通', rank: 0, sales_bp: 500, override_bp: [1000, 500] } }));
  await ok(t.call('PUT', '/v1/grades/gold', { token: key, body: { name: '金牌', rank: 1, sales_bp: 800, override_bp: [1500, 800] } }));
  const secret = (await ok(t.call('POST', '/v1/portal/signing-secret', { token: key }), 201)).secret as string;
  const mk = async (externalId: string, extra: Record<string, unknown>) =>
    (await ok(t.call('POST', '/v1/distributors', { token: key, body: { external_id: externalId, name: externalId, ...extra } }), 201)) as Dist;
  const A = await mk('A', { region_code: '440305' });
  clock.set('2026-01-12T04:00:00Z');
  const B = await mk('B', { referrer_code: A.invite_code, region_code: '440106' });
  const C = await mk('C', { referrer_code: B.invite_code, region_code: '310101' });
  const D = await mk('D', {});
  await ok(t.call('PATCH', `/v1/distributors/${B.id}`, { token: key, body: { grade: 'gold', reason: 'top seller' } }));

  // Visits of C's link: two from one visitor (its cookie), one from another; one of B's.
  const visit = async (code: string, cookie?: string) => {
    const r = await t.call('GET', `/i/${code}`, cookie ? { headers: { cookie } } : {});
    expect(r.statusCode).toBe(302);
    return String(r.headers['set-cookie'] ?? '').split(';')[0]!;
  };
  clock.set('2026-01-13T02:00:00Z');
  const cookie = await visit(C.invite_code);
  await visit(C.invite_code, cookie);
  clock.set('2026-01-14T02:00:00Z');
  await visit(C.invite_code);
  await visit(B.invite_code);
  const bind = async (buyer: string, d: Dist) =>
    ok(t.call('POST', '/v1/bindings', { token: key, body: { customer_external_id: buyer, invite_code: d.invite_code } }), 201);
  await bind('b1', C);
  await bind('b2', C);
  clock.set('2026-01-15T02:00:00Z');
  await bind('b3', B);
  await bind('b4', D);

  const order = async (externalId: string, buyer: string, paidAt: string, items: number[]) =>
    ok(
      t.call('POST', '/v1/orders', {
        token: key,
        body: {
          external_id: externalId,
          buyer_external_id: buyer,
          paid_at: paidAt,
          items: items.map((p, i) => ({ sku: `s${i}`, quantity: 1, unit_price_fen: p, paid_fen: p })),
        },
      }),
      201,
    );
  const event = async (externalId: string, body: Record<string, unknown>) => ok(t.call('POST', `/v1/orders/${externalId}/events`, { token: key, body }));
  clock.set('2026-03-01T08:00:00Z');
  await order('o6', 'b1', '2026-01-15T03:00:00Z', [15000]);
  await order('o1', 'b1', '2026-02-10T02:00:00Z', [10000]);
  await order('o2', 'b2', '2026-02-20T05:00:00Z', [12000, 8000]);
  await order('o3', 'b3', '2026-02-25T20:00:00Z', [30000]); // 04:00 on the 26th in Shanghai
  await order('o4', 'b4', '2026-03-01T01:00:00Z', [5000]);
  await order('o5', 'b5', '2026-03-01T02:00:00Z', [7000]);
  await order('o7', 'b2', '2026-03-01T03:00:00Z', [9999]);
  await event('o2', { type: 'refunded', refund_fen: 5000 });
  await event('o6', { type: 'cancelled' });
  for (const id of ['o1', 'o2', 'o3']) await event(id, { type: 'received', at: '2026-02-26T00:00:00Z' });
  const run = await ok(t.call('POST', '/v1/settlements/run', { token: key, body: { as_of: '2026-03-05T00:00:00Z' } }));
  expect(run.statements.length).toBeGreaterThan(0);
  clock.set('2026-03-06T08:00:00Z');
  await event('o1', { type: 'refunded', refund_fen: 3000 }); // after settlement: clawbacks
  const withdraw = async (d: Dist, amount: number) =>
    ok(t.call('POST', '/v1/withdrawals', { token: key, body: { distributor_id: d.id, amount_fen: amount, channel: 'manual' } }), 201);
  const wc = await withdraw(C, 1000);
  await ok(t.call('POST', `/v1/withdrawals/${wc.id}/approve`, { token: key }));
  await ok(t.call('POST', `/v1/withdrawals/${wc.id}/complete`, { token: key, body: { reference: 'BANK-1' } }));
  const wa = await withdraw(A, 500);
  await ok(t.call('POST', `/v1/withdrawals/${wa.id}/approve`, { token: key }));
  await ok(t.call('POST', `/v1/withdrawals/${wa.id}/fail`, { token: key, body: { reason: 'account closed' } }));
  await withdraw(B, 700);
  clock.set('2026-03-10T08:00:00Z');
  await mk('E', { region_code: '110101' });
  return { tenant, key, secret, A, B, C, D };
}

/** Figures over [from, to] (local days) computed straight from the base tables. */
async function base(tenantId: string, from: string, to: string) {
  const db = t.services.db;
  const day = sql.raw(`(o.paid_at at time zone '${TZ}')::date`);
  const r = await sql<Record<string, number>>`
    select
      (select count(*) from orders o where o.tenant_id = ${tenantId} and ${day} between ${from}::date and ${to}::date) as orders,
      (select coalesce(sum(paid_fen), 0) from orders o where o.tenant_id = ${tenantId} and ${day} between ${from}::date and ${to}::date) as gross,
      (select coalesce(sum(refunded_fen), 0) from orders o where o.tenant_id = ${tenantId} and ${day} between ${from}::date and ${to}::date) as refunded,
      (select coalesce(sum(c.amount_fen), 0) from commissions c join orders o on o.id = c.order_id where o.tenant_id = ${tenantId} and ${day} between ${from}::date and ${to}::date) as commission,
      (select coalesce(sum(amount_fen - fee_fen), 0) from withdrawals where tenant_id = ${tenantId} and status = 'paid') as withdrawn,
      (select coalesce(sum(p.amount), 0) from postings p join accounts a on a.id = p.account_id where a.tenant_id = ${tenantId} and a.purpose = 'withdrawn') as withdrawn_postings,
      (select count(*) from distributors where tenant_id = ${tenantId}) as distributors`.execute(db);
  const x = r.rows[0]!;
  const n = (k: string) => Number(x[k]);
  return {
    orders: n('orders'),
    gross: n('gross'),
    refunded: n('refunded'),
    commission: n('commission'),
    withdrawn: n('withdrawn'),
    withdrawn_postings: n('withdrawn_postings'),
    distributors: n('distributors'),
  };
}

describe('analytics', () => {
  let s: Awaited<ReturnType<typeof scenario>>;
  beforeAll(async () => {
    s = await scenario();
  });

  it('keeps every rollup equal to the base tables, and the ledger verifies', async () => {
    expect(await rollupBreaks(t.services.db, s.tenant.id, TZ)).toEqual([]);
    expect((await ok(t.call('GET', '/v1/ledger/verify', { token: s.key }))).breaks).toEqual([]);
  });

  it('KPI totals reconcile with the ledger and the base tables', async () => {
    const k = await ok(t.call('GET', '/v1/analytics/kpis?from=2026-01-01&to=2026-03-31', { token: s.key }));
    const b = await base(s.tenant.id, '2026-01-01', '2026-03-31');
    expect(k.range).toEqual({ from: '2026-01-01', to: '2026-03-31', timezone: TZ });
    expect(k.orders).toBe(7);
    expect(k.orders).toBe(b.orders);
    expect(k.gross_sales_fen).toBe(b.gross);
    expect(k.gross_sales_fen).toBe(15000 + 10000 + 20000 + 30000 + 5000 + 7000 + 9999);
    expect(k.refunded_fen).toBe(b.refunded);
    expect(k.refunded_fen).toBe(5000 + 15000 + 3000);
    expect(k.sales_fen).toBe(b.gross - b.refunded);
    expect(k.refunds).toBe(3);
    expect(k.commission_fen).toBe(b.commission);
    // The merchant's commission expense in the ledger is every line ever, which all fall in the range.
    const expense = await t.services.ledger.tenantBalance(t.services.db, s.tenant.id, 'commission_expense');
    expect(k.commission_fen).toBe(-expense);
    expect(k.balances.commission_expense_fen).toBe(-expense);
    expect(k.withdrawn_fen).toBe(b.withdrawn);
    expect(k.withdrawn_fen).toBe(b.withdrawn_postings);
    expect(k.withdrawn_fen).toBe(1000 - 10);
    expect(k.withdrawal_fee_fen).toBe(10);
    expect(k.distributors).toBe(b.distributors);
    expect(k.new_distributors).toBe(5);
    expect(k.new_bindings).toBe(6); // b1..b4, and B and C, bound to their referrers when they registered
    expect(k.visits).toBe(4);
    // Balances now equal the sum of the distributors' accounts.
    const sums = await sql<{
      purpose: string;
      total: number;
    }>`select purpose, sum(balance)::bigint as total from accounts where tenant_id = ${s.tenant.id} and owner_type = 'distributor' group by purpose`.execute(
      t.services.db,
    );
    const bal = Object.fromEntries(sums.rows.map((r) => [r.purpose, Number(r.total)]));
    expect(k.balances).toMatchObject({
      pending_fen: bal.pending,
      available_fen: bal.available,
      withdrawable_fen: bal.withdrawable,
      withdrawn_fen: bal.withdrawn,
    });
    expect(k.balances.withdrawing_fen).toBe(bal.withdrawing! + 0);
    expect(k.balances.withdrawing_fen).toBe(700);
    const settled = await sql<{
      s: number;
    }>`select coalesce(sum(amount_fen), 0)::bigint as s from statements where tenant_id = ${s.tenant.id} and status = 'approved'`.execute(t.services.db);
    expect(k.settled_fen).toBe(Number(settled.rows[0]!.s));
  });

  it('a sub-range counts orders by their local paid day, refunds included', async () => {
    for (const [from, to] of [
      ['2026-02-01', '2026-02-28'],
      ['2026-02-26', '2026-02-26'],
      ['2026-02-25', '2026-02-25'],
      ['2026-01-01', '2026-01-31'],
    ] as const) {
      const k = await ok(t.call('GET', `/v1/analytics/kpis?from=${from}&to=${to}`, { token: s.key }));
      const b = await base(s.tenant.id, from, to);
      expect([k.orders, k.gross_sales_fen, k.refunded_fen, k.commission_fen], `${from}..${to}`).toEqual([b.orders, b.gross, b.refunded, b.commission]);
    }
    // o3 was paid at 20:00 UTC on the 25th: the 26th in Shanghai.
    expect((await ok(t.call('GET', '/v1/analytics/kpis?from=2026-02-26&to=2026-02-26', { token: s.key }))).gross_sales_fen).toBe(30000);
  });

  it('active distributors: sold in the 30 days up to today, whatever the range', async () => {
    const clock = t.clock as ManualClock;
    // Today is 2026-03-10 in Shanghai: the window is 02-09..03-10: C (o1, o2, o7), B (o3), D (o4).
    const now = await ok(t.call('GET', '/v1/analytics/kpis?from=2026-03-01&to=2026-03-31', { token: s.key }));
    expect(now.active_window).toEqual({ from: '2026-02-09', to: '2026-03-10' });
    expect(now.active_distributors).toBe(3);
    const past = await ok(t.call('GET', '/v1/analytics/kpis?from=2026-01-01&to=2026-01-20', { token: s.key }));
    expect(past.active_window).toEqual({ from: '2026-02-09', to: '2026-03-10' });
    expect(past.active_distributors).toBe(3);
    expect(past.distributors).toBe(4); // E registered later
    try {
      // B's last order (o3) was on 02-26, C's and D's on 03-01.
      clock.set('2026-03-27T08:00:00Z');
      expect((await ok(t.call('GET', '/v1/analytics/kpis', { token: s.key }))).active_distributors).toBe(3);
      clock.set('2026-03-28T08:00:00Z');
      expect((await ok(t.call('GET', '/v1/analytics/kpis', { token: s.key }))).active_distributors).toBe(2);
      clock.set('2026-03-31T08:00:00Z');
      expect((await ok(t.call('GET', '/v1/analytics/kpis', { token: s.key }))).active_distributors).toBe(0);
      const base = await sql<{ n: number }>`select count(distinct seller_id)::int as n from orders where tenant_id = ${s.tenant.id}
        and (paid_at at time zone 'Asia/Shanghai')::date between date '2026-02-09' and date '2026-03-10'`.execute(t.services.db);
      expect(base.rows[0]!.n).toBe(3);
    } finally {
      clock.set('2026-03-10T08:00:00Z');
    }
  });

  it('time series by day, week and month sum to the KPIs', async () => {
    const k = await ok(t.call('GET', '/v1/analytics/kpis?from=2026-01-01&to=2026-03-31', { token: s.key }));
    for (const metric of METRICS) {
      for (const interval of ['day', 'week', 'month'] as const) {
        const ts = await ok(t.call('GET', `/v1/analytics/timeseries?metric=${metric}&interval=${interval}&from=2026-01-01&to=2026-03-31`, { token: s.key }));
        const sum = ts.points.reduce((acc: number, p: { value: number }) => acc + p.value, 0);
        expect(ts.total).toBe(sum);
        expect(sum, `${metric} by ${interval}`).toBe(k[metric]);
      }
    }
    const days = await ok(t.call('GET', '/v1/analytics/timeseries?metric=gross_sales_fen&interval=day&from=2026-02-20&to=2026-02-26', { token: s.key }));
    expect(days.points).toEqual([
      { period: '2026-02-20', value: 20000 },
      { period: '2026-02-21', value: 0 },
      { period: '2026-02-22', value: 0 },
      { period: '2026-02-23', value: 0 },
      { period: '2026-02-24', value: 0 },
      { period: '2026-02-25', value: 0 },
      { period: '2026-02-26', value: 30000 },
    ]);
    const months = await ok(t.call('GET', '/v1/analytics/timeseries?metric=sales_fen&interval=month&from=2026-01-01&to=2026-03-31', { token: s.key }));
    expect(months.points).toEqual([
      { period: '2026-01-01', value: 0 },
      { period: '2026-02-01', value: 10000 - 3000 + 20000 - 5000 + 30000 },
      { period: '2026-03-01', value: 5000 + 7000 + 9999 },
    ]);
    const weeks = await ok(t.call('GET', '/v1/analytics/timeseries?metric=orders&interval=week&from=2026-02-20&to=2026-03-03', { token: s.key }));
    expect(weeks.points).toEqual([
      { period: '2026-02-16', value: 1 },
      { period: '2026-02-23', value: 4 },
      { period: '2026-03-02', value: 0 },
    ]);
  });

  it('breakdowns by grade and by region sum to the totals', async () => {
    const k = await ok(t.call('GET', '/v1/analytics/kpis?from=2026-01-01&to=2026-03-31', { token: s.key }));
    const grade = await ok(t.call('GET', '/v1/analytics/breakdown?by=grade&from=2026-01-01&to=2026-03-31', { token: s.key }));
    const byKey = (items: { key: string | null }[]) => Object.fromEntries(items.map((i) => [String(i.key), i]));
    expect(grade.totals).toMatchObject({
      orders: k.orders,
      gross_sales_fen: k.gross_sales_fen,
      refunded_fen: k.refunded_fen,
      sales_fen: k.sales_fen,
      commission_fen: k.commission_fen,
      new_distributors: k.new_distributors,
    });
    const g = byKey(grade.items);
    expect(g.gold).toMatchObject({ name: '金牌', orders: 1, gross_sales_fen: 30000 }); // B sold o3 as gold
    expect(g.null).toMatchObject({ name: null, orders: 1, gross_sales_fen: 7000 }); // o5 had no seller
    expect(g.default).toMatchObject({ name: '普通', orders: 5 });
    for (const level of ['province', 'city'] as const) {
      const region = await ok(t.call('GET', `/v1/analytics/breakdown?by=region&level=${level}&from=2026-01-01&to=2026-03-31`, { token: s.key }));
      const sum = (f: string) => region.items.reduce((acc: number, i: Record<string, number>) => acc + i[f]!, 0);
      for (const f of ['orders', 'gross_sales_fen', 'refunded_fen', 'sales_fen', 'commission_fen', 'new_distributors']) {
        expect(sum(f), `${level} ${f}`).toBe(k[f]);
        expect(region.totals[f]).toBe(k[f]);
      }
      const r = byKey(region.items);
      if (level === 'province') {
        expect(r['440000']).toMatchObject({ name: '广东省', gross_sales_fen: 30000, new_distributors: 2 });
        expect(r['310000']).toMatchObject({ name: '上海市', gross_sales_fen: 15000 + 10000 + 20000 + 9999, new_distributors: 1 });
        expect(r['110000']).toMatchObject({ name: '北京市', orders: 0, new_distributors: 1 });
        expect(r.null).toMatchObject({ gross_sales_fen: 5000 + 7000, new_distributors: 1 });
      } else {
        expect(r['440100']).toMatchObject({ gross_sales_fen: 30000, new_distributors: 1 });
        expect(r['440300']).toMatchObject({ gross_sales_fen: 0, new_distributors: 1 });
        // Names from GB/T 2260; a municipality's city reads as the municipality.
        expect([r['440100'], r['440300'], r['310100']].map((x) => (x as { name?: string } | undefined)?.name)).toEqual(['广州市', '深圳市', '上海市']);
      }
    }
    // A range that is a part-month at both ends reads daily rows there.
    const part = await ok(t.call('GET', '/v1/analytics/breakdown?by=grade&from=2026-02-15&to=2026-03-01', { token: s.key }));
    const kp = await ok(t.call('GET', '/v1/analytics/kpis?from=2026-02-15&to=2026-03-01', { token: s.key }));
    expect(part.totals).toMatchObject({ orders: kp.orders, sales_fen: kp.sales_fen, commission_fen: kp.commission_fen });
  });

  it('top N by sales and by commission, in order, against the orders and lines', async () => {
    const db = t.services.db;
    const sales = await sql<{ id: string; v: number }>`
      select seller_id as id, sum(paid_fen - refunded_fen)::bigint as v from orders where tenant_id = ${s.tenant.id} and seller_id is not null
       group by 1 having sum(paid_fen - refunded_fen) > 0 order by 2 desc, 1`.execute(db);
    const top = await ok(t.call('GET', '/v1/analytics/top?metric=sales&limit=10&from=2026-01-01&to=2026-03-31', { token: s.key }));
    expect(top.items.map((i: { distributor_id: string; sales_fen: number }) => [i.distributor_id, i.sales_fen])).toEqual(
      sales.rows.map((r) => [r.id, Number(r.v)]),
    );
    expect(top.items[0]).toMatchObject({ rank: 1, distributor_id: s.C.id, external_id: 'C', name: 'C', region_code: '310101', orders: 4 });
    const commission = await sql<{ id: string; v: number }>`
      select beneficiary_id as id, sum(amount_fen)::bigint as v from commissions where tenant_id = ${s.tenant.id}
       group by 1 having sum(amount_fen) > 0 order by 2 desc, 1`.execute(db);
    const topC = await ok(t.call('GET', '/v1/analytics/top?metric=commission&from=2026-01-01&to=2026-03-31', { token: s.key }));
    expect(topC.items.map((i: { distributor_id: string; commission_fen: number }) => [i.distributor_id, i.commission_fen])).toEqual(
      commission.rows.map((r) => [r.id, Number(r.v)]),
    );
    const one = await ok(t.call('GET', '/v1/analytics/top?metric=commission&limit=1&from=2026-01-01&to=2026-03-31', { token: s.key }));
    expect(one.items).toHaveLength(1);
    expect(one.items[0].distributor_id).toBe(commission.rows[0]!.id);
    // Only February: B's 30000 (o3) over C's 10000 - 3000 + 15000.
    const feb = await ok(t.call('GET', '/v1/analytics/top?metric=sales&from=2026-02-01&to=2026-02-28', { token: s.key }));
    expect(feb.items.map((i: { external_id: string; sales_fen: number }) => [i.external_id, i.sales_fen])).toEqual([
      ['B', 30000],
      ['C', 22000],
    ]);
    // No whole month: days only (02-15..03-05), and a whole month with days on both sides.
    const loose = await ok(t.call('GET', '/v1/analytics/top?metric=sales&from=2026-02-15&to=2026-03-05', { token: s.key }));
    expect(loose.items.map((i: { external_id: string; sales_fen: number }) => [i.external_id, i.sales_fen])).toEqual([
      ['B', 30000],
      ['C', 15000 + 9999],
      ['D', 5000],
    ]);
    const around = await ok(t.call('GET', '/v1/analytics/top?metric=commission&from=2026-01-31&to=2026-03-01', { token: s.key }));
    const c31 = await sql<{ id: string; v: number }>`
      select c.beneficiary_id as id, sum(c.amount_fen)::bigint as v from commissions c join orders o on o.id = c.order_id
       where c.tenant_id = ${s.tenant.id} and (o.paid_at at time zone 'Asia/Shanghai')::date between date '2026-01-31' and date '2026-03-01'
       group by 1 having sum(c.amount_fen) > 0 order by 2 desc, 1`.execute(db);
    expect(around.items.map((i: { distributor_id: string; commission_fen: number }) => [i.distributor_id, i.commission_fen])).toEqual(
      c31.rows.map((r) => [r.id, Number(r.v)]),
    );
  });

  it('the funnel of a distributor: visits → bindings → orders, with rates in basis points', async () => {
    const f = await ok(t.call('GET', `/v1/analytics/funnel?distributor_id=${s.C.id}&from=2026-01-01&to=2026-03-31`, { token: s.key }));
    expect(f).toMatchObject({ distributor_id: s.C.id, visits: 3, unique_visitors: 2, bindings: 2, orders: 4, buyers: 2 });
    expect(f.sales_fen).toBe(15000 - 15000 + 10000 - 3000 + 20000 - 5000 + 9999);
    expect(f.visit_to_binding_bp).toBe(10000);
    expect(f.binding_to_order_bp).toBe(10000);
    expect(f.visit_to_order_bp).toBe(10000);
    const b = await ok(t.call('GET', `/v1/analytics/funnel?distributor_id=${s.B.id}&from=2026-01-01&to=2026-03-31`, { token: s.key }));
    expect(b).toMatchObject({
      visits: 1,
      unique_visitors: 1,
      bindings: 2,
      orders: 1,
      buyers: 1,
      visit_to_binding_bp: 20000,
      binding_to_order_bp: 5000,
      visit_to_order_bp: 10000,
    });
    const lines = await sql<{ v: number }>`select coalesce(sum(amount_fen), 0)::bigint as v from commissions where beneficiary_id = ${s.B.id}`.execute(
      t.services.db,
    );
    expect(b.commission_fen).toBe(Number(lines.rows[0]!.v));
    const d = await ok(t.call('GET', `/v1/analytics/funnel?distributor_id=${s.D.id}&from=2026-01-01&to=2026-03-31`, { token: s.key }));
    expect(d).toMatchObject({
      visits: 0,
      unique_visitors: 0,
      bindings: 1,
      orders: 1,
      buyers: 1,
      visit_to_binding_bp: null,
      binding_to_order_bp: 10000,
      visit_to_order_bp: null,
    });
    // Visits were on 13 and 14 January (Shanghai), the bindings on the 14th: a range of that day sees one visit of C's.
    const one = await ok(t.call('GET', `/v1/analytics/funnel?distributor_id=${s.C.id}&from=2026-01-14&to=2026-01-14`, { token: s.key }));
    expect(one).toMatchObject({ visits: 1, unique_visitors: 1, bindings: 2, orders: 0, visit_to_binding_bp: 20000 });
  });

  it('a distributor sees its own funnel and earnings in the portal', async () => {
    const iat = Math.floor(t.clock.now().getTime() / 1000);
    const jwt = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuedAt(iat)
      .setExpirationTime(iat + 300)
      .setSubject('C')
      .setJti(`jti-${Date.now()}`)
      .sign(new TextEncoder().encode(s.secret));
    const session = (await ok(t.call('POST', '/v1/portal/token-login', { body: { tenant_id: s.tenant.id, token: jwt } }))).token as string;
    const f = await ok(t.call('GET', '/v1/me/funnel?from=2026-01-01&to=2026-03-31', { token: session }));
    expect(f).toMatchObject({ distributor_id: s.C.id, visits: 3, bindings: 2, orders: 4, buyers: 2 });
    const e = await ok(t.call('GET', '/v1/me/earnings?from=2026-01-01&to=2026-03-31&interval=month', { token: session }));
    const bal = await ok(t.call('GET', `/v1/distributors/${s.C.id}/balance`, { token: s.key }));
    expect(e.balances).toEqual(bal);
    const lines = await sql<{ v: number }>`select coalesce(sum(amount_fen), 0)::bigint as v from commissions where beneficiary_id = ${s.C.id}`.execute(
      t.services.db,
    );
    expect(e.commission_fen).toBe(Number(lines.rows[0]!.v));
    expect(e.orders).toBe(4);
    expect(e.sales_fen).toBe(f.sales_fen);
    expect(e.points.map((p: { period: string }) => p.period)).toEqual(['2026-01-01', '2026-02-01', '2026-03-01']);
    expect(e.points.reduce((acc: number, p: { commission_fen: number }) => acc + p.commission_fen, 0)).toBe(e.commission_fen);
    // The console's routes are not a distributor's.
    expect((await t.call('GET', '/v1/analytics/kpis', { token: session })).statusCode).toBe(403);
    expect((await t.call('GET', `/v1/analytics/funnel?distributor_id=${s.B.id}`, { token: session })).statusCode).toBe(403);
  });

  it('each tenant sees only its own figures; roles and input are checked', async () => {
    const other = await t.tenant('Other');
    const k = await ok(t.call('GET', '/v1/analytics/kpis?from=2026-01-01&to=2026-03-31', { token: other.key }));
    expect(k).toMatchObject({ orders: 0, gross_sales_fen: 0, commission_fen: 0, distributors: 0, active_distributors: 0, visits: 0 });
    expect(k.balances).toMatchObject({ pending_fen: 0, withdrawable_fen: 0, withdrawn_fen: 0 });
    expect((await ok(t.call('GET', '/v1/analytics/top?from=2026-01-01&to=2026-03-31', { token: other.key }))).items).toEqual([]);
    expect((await ok(t.call('GET', '/v1/analytics/breakdown?by=grade&from=2026-01-01&to=2026-03-31', { token: other.key }))).items).toEqual([]);
    expect((await t.call('GET', `/v1/analytics/funnel?distributor_id=${s.C.id}`, { token: other.key })).statusCode).toBe(404);
    expect((await t.call('GET', '/v1/analytics/kpis')).statusCode).toBe(401);
    // An auditor reads the dashboard.
    await ok(t.call('POST', '/v1/admin-users', { token: s.key, body: { email: 'audit@example.com', password: 'auditor-password-1', role: 'auditor' } }), 201);
    const login = await ok(t.call('POST', '/v1/auth/login', { body: { tenant_id: s.tenant.id, email: 'audit@example.com', password: 'auditor-password-1' } }));
    expect((await ok(t.call('GET', '/v1/analytics/kpis?from=2026-01-01&to=2026-03-31', { token: login.token }))).orders).toBe(7);
    for (const url of [
      '/v1/analytics/kpis?from=2026-03-02&to=2026-03-01',
      '/v1/analytics/kpis?from=2026-02-30',
      '/v1/analytics/kpis?to=20260301',
      '/v1/analytics/kpis?from=2000-01-01&to=2026-01-01',
      '/v1/analytics/kpis?x=1',
      '/v1/analytics/timeseries?metric=profit',
      '/v1/analytics/timeseries?metric=orders&interval=year',
      '/v1/analytics/timeseries?metric=orders&interval=day&from=2020-01-01&to=2026-01-01',
      '/v1/analytics/breakdown?by=sku',
      '/v1/analytics/top?limit=101',
      '/v1/analytics/top?limit=0',
      '/v1/analytics/top?metric=orders',
      '/v1/analytics/funnel',
    ]) {
      const r = await t.call('GET', url, { token: s.key });
      expect(r.statusCode, url).toBe(400);
      expect(r.data.error.code).toBe('invalid_request');
    }
  });

  it('is in the OpenAPI document', async () => {
    const doc = (await t.call('GET', '/openapi.json')).data;
    for (const p of [
      '/v1/analytics/kpis',
      '/v1/analytics/timeseries',
      '/v1/analytics/breakdown',
      '/v1/analytics/top',
      '/v1/analytics/funnel',
      '/v1/me/funnel',
      '/v1/me/earnings',
    ]) {
      expect(doc.paths[p]?.get, p).toBeDefined();
    }
  });
});
