/**
 * Breakdowns by grade, province and city end to end (PGlite, or PostgreSQL with DATABASE_URL):
 * orders of sellers in several regions and grades, refunds, a grade change between orders; then
 * every breakdown the API answers, over a range of whole months with part-months at both ends
 * and over a year, against the same figures computed here from the orders and their commission
 * lines. The seller's grade when an order was paid is its sales line's beneficiary_grade (written
 * by the commission calculator, not by the rollups).
 */
import { sql } from 'kysely';
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
const FIELDS = ['orders', 'gross_sales_fen', 'refunded_fen', 'sales_fen', 'commission_fen', 'new_distributors'] as const;
type Figures = Record<(typeof FIELDS)[number], number>;

async function ok(res: Promise<{ statusCode: number; body: string; data: JsonBody }>, status = 200) {
  const r = await res;
  expect(r.statusCode, r.body).toBe(status);
  return r.data;
}

async function scenario() {
  const clock = t.clock as ManualClock;
  clock.set('2026-01-10T04:00:00Z');
  const tenant = await t.tenant('Breakdowns 商城');
  const key = tenant.key;
  await ok(t.call('PUT', '/v1/program', { token: key, body: { levels: 1, timezone: TZ } }));
  await ok(t.call('PUT', '/v1/grades/default', { token: key, body: { name: '普通', rank: 0, sales_bp: 500, override_bp: [1000] } }));
  await ok(t.call('PUT', '/v1/grades/silver', { token: key, body: { name: '银牌', rank: 1, sales_bp: 600, override_bp: [1200] } }));
  await ok(t.call('PUT', '/v1/grades/gold', { token: key, body: { name: '金牌', rank: 2, sales_bp: 800, override_bp: [1500] } }));
  // Every distributor is registered on 2026-01-25 (the application clock), inside both ranges read below.
  clock.set('2026-01-25T02:00:00Z');
  const mk = async (externalId: string, extra: Record<string, unknown>) =>
    (await ok(t.call('POST', '/v1/distributors', { token: key, body: { external_id: externalId, name: externalId, ...extra } }), 201)) as {
      id: string;
      invite_code: string;
    };
  const P = await mk('P', { region_code: '440305' }); // 深圳
  const Q = await mk('Q', { referrer_code: P.invite_code, region_code: '440106' }); // 广州
  const R = await mk('R', { region_code: '310101' }); // 上海
  const S = await mk('S', {}); // no region
  const T = await mk('T', { referrer_code: R.invite_code, region_code: '510104' }); // 成都
  for (const [buyer, d] of [
    ['bP', P],
    ['bQ', Q],
    ['bR', R],
    ['bS', S],
    ['bT', T],
  ] as const)
    await ok(t.call('POST', '/v1/bindings', { token: key, body: { customer_external_id: buyer, invite_code: d.invite_code } }), 201);

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

  clock.set('2026-04-25T08:00:00Z');
  await order('o1', 'bP', '2026-01-15T03:00:00Z', [10000]); // before the part-month range
  await order('o2', 'bQ', '2026-01-28T03:00:00Z', [12000]);
  await order('o3', 'bR', '2026-02-10T03:00:00Z', [20000, 5000]);
  await order('o4', 'bS', '2026-02-14T03:00:00Z', [8000]);
  await order('o5', 'bT', '2026-02-28T17:00:00Z', [6000]); // 01:00 on 1 March in Shanghai
  await order('o6', 'bX', '2026-03-01T03:00:00Z', [7000]); // no seller
  await order('o7', 'bQ', '2026-03-05T03:00:00Z', [9000]);
  await event('o3', { type: 'refunded', refund_fen: 4000 });
  await event('o2', { type: 'refunded', refund_fen: 12000 });
  // Grade changes: later orders land in the new grade, earlier ones stay where they were.
  await ok(t.call('PATCH', `/v1/distributors/${Q.id}`, { token: key, body: { grade: 'gold', reason: 'top seller' } }));
  await ok(t.call('PATCH', `/v1/distributors/${R.id}`, { token: key, body: { grade: 'silver', reason: 'promoted' } }));
  await order('o8', 'bQ', '2026-04-05T03:00:00Z', [30000]);
  await order('o9', 'bR', '2026-04-20T03:00:00Z', [11000]); // after the part-month range
  await order('o10', 'bQ', '2026-03-15T03:00:00Z', [4000, 4000]);
  await order('o11', 'bP', '2026-02-27T03:00:00Z', [2500]);
  await event('o8', { type: 'refunded', refund_fen: 1000 });
  // A refund after the grade change of an order paid before it: it counts where the order was paid (普通), not in 金牌.
  await event('o7', { type: 'refunded', refund_fen: 3000 });
  return { tenant, key };
}

/** A level's figures over [from, to] (local days), from the orders, their lines and the distributors. */
async function expected(tenantId: string, level: 'grade' | 'province' | 'city', from: string, to: string): Promise<Map<string, Figures>> {
  const db = t.services.db;
  const keyOf = level === 'grade' ? sql`grade` : level === 'city' ? sql`city` : sql`case when city = '' then '' else left(city, 2) || '0000' end`;
  const r = await sql<Record<string, string | number>>`
    with o as (
      select o.paid_fen, o.refunded_fen,
             coalesce((select min(c.beneficiary_grade) from commissions c where c.order_id = o.id and c.level = 0 and c.kind = 'commission'), '') as grade,
             case when d.region_code ~ '^[0-9]{6}$' then left(d.region_code, 4) || '00' else '' end as city,
             (select coalesce(sum(c.amount_fen), 0) from commissions c where c.order_id = o.id) as commission
        from orders o left join distributors d on d.id = o.seller_id
       where o.tenant_id = ${tenantId} and (o.paid_at at time zone ${TZ})::date between ${from}::date and ${to}::date
    ), n as (
      -- Registered on 2026-01-25 by the application clock (created_at is the database's), all at
      -- the default grade (none was given; a PATCH of the grade leaves no row in grade_changes).
      select 'default' as grade,
             case when d.region_code ~ '^[0-9]{6}$' then left(d.region_code, 4) || '00' else '' end as city
        from distributors d where d.tenant_id = ${tenantId} and '2026-01-25'::date between ${from}::date and ${to}::date
    ), x as (
      select grade, city, 1 as orders, paid_fen as gross, refunded_fen as refunded, commission, 0 as nd from o
      union all
      select grade, city, 0, 0, 0, 0, 1 from n
    )
    select ${keyOf} as key, sum(orders)::bigint as orders, sum(gross)::bigint as gross, sum(refunded)::bigint as refunded,
           sum(commission)::bigint as commission, sum(nd)::bigint as nd
      from x group by 1`.execute(db);
  return new Map(
    r.rows.map((x) => [
      String(x.key),
      {
        orders: Number(x.orders),
        gross_sales_fen: Number(x.gross),
        refunded_fen: Number(x.refunded),
        sales_fen: Number(x.gross) - Number(x.refunded),
        commission_fen: Number(x.commission),
        new_distributors: Number(x.nd),
      },
    ]),
  );
}

const pick = (x: Record<string, unknown>): Figures => Object.fromEntries(FIELDS.map((f) => [f, Number(x[f])])) as Figures;
const nonZero = (m: Map<string, Figures>) => new Map([...m].filter(([, f]) => FIELDS.some((k) => f[k] !== 0)));

describe('analytics breakdowns', () => {
  let s: Awaited<ReturnType<typeof scenario>>;
  beforeAll(async () => {
    s = await scenario();
  });

  it('keeps every rollup equal to the base tables', async () => {
    expect(await rollupBreaks(t.services.db, s.tenant.id, TZ)).toEqual([]);
  });

  for (const [label, from, to] of [
    ['whole months with part-months at both ends', '2026-01-20', '2026-04-10'],
    ['a year', '2026-01-01', '2026-12-31'],
    ['one part-month', '2026-03-01', '2026-03-20'],
  ] as const) {
    it(`by grade, province and city over ${label}: the figures of the orders themselves`, async () => {
      for (const level of ['grade', 'province', 'city'] as const) {
        const q = level === 'grade' ? 'by=grade' : `by=region&level=${level}`;
        const got = await ok(t.call('GET', `/v1/analytics/breakdown?${q}&from=${from}&to=${to}`, { token: s.key }));
        const actual = new Map<string, Figures>((got.items as Record<string, unknown>[]).map((i) => [i.key === null ? '' : String(i.key), pick(i)]));
        const want = await expected(s.tenant.id, level, from, to);
        expect(Object.fromEntries(nonZero(actual)), `${level} ${from}..${to}`).toEqual(Object.fromEntries(nonZero(want)));
        const total = [...want.values()].reduce((acc, f) => acc + f.gross_sales_fen, 0);
        expect(pick(got.totals as Record<string, unknown>).gross_sales_fen).toBe(total);
      }
    });
  }

  it('puts the orders before and after a grade change in the grade each was paid at, refunds included', async () => {
    const got = await ok(t.call('GET', '/v1/analytics/breakdown?by=grade&from=2026-01-01&to=2026-12-31', { token: s.key }));
    const g = new Map((got.items as Record<string, unknown>[]).map((i) => [String(i.key), pick(i)]));
    // Q: o2 (refunded in full) and o7 (3,000 refunded after the change) as 普通; o8 (1,000 refunded) and o10 as 金牌. R: o3 as 普通, o9 as 银牌.
    expect(g.get('gold')).toMatchObject({ orders: 2, gross_sales_fen: 38000, refunded_fen: 1000 });
    expect(g.get('silver')).toMatchObject({ orders: 1, gross_sales_fen: 11000, refunded_fen: 0 });
    expect(g.get('default')).toMatchObject({
      orders: 7,
      gross_sales_fen: 10000 + 12000 + 25000 + 8000 + 6000 + 9000 + 2500,
      refunded_fen: 19000,
      new_distributors: 5,
    });
    expect(g.get('null')).toMatchObject({ orders: 1, gross_sales_fen: 7000 });
    const city = await ok(t.call('GET', '/v1/analytics/breakdown?by=region&level=city&from=2026-03-01&to=2026-03-31', { token: s.key }));
    const c = new Map((city.items as Record<string, unknown>[]).map((i) => [String(i.key), pick(i)]));
    expect(c.get('510100')).toMatchObject({ orders: 1, gross_sales_fen: 6000 }); // o5, 1 March local
    expect(c.get('440100')).toMatchObject({ orders: 2, gross_sales_fen: 9000 + 8000 });
  });
});
