/**
 * An agent's own territory in the portal (GET /v1/agents/{id}/territory-sales with its portal
 * session): orders shipped into its district or city, its territory commission by status after
 * refunds and a clawback, its price difference, the series by local day, its stock and the
 * slow-moving part. Runs on PGlite, and on PostgreSQL when DATABASE_URL is set.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/context.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { portalSession } from '../security/world.ts';

let t: TestServer;
// 16:00 in Shanghai (the program's default time zone) on 1 March.
const clock = new ManualClock('2026-03-01T08:00:00Z');
beforeAll(async () => {
  t = await startTestServer({ clock });
});
afterAll(async () => {
  await t?.close();
});

const DAY = 86_400_000;

type Line = { id: string; kind: string; rank?: string; beneficiary_id: string; amount_fen: number; status: string; clawback_of: string | null };

interface Sales {
  agent_id: string;
  rank: string;
  region_full_name: string;
  range: { from: string; to: string; timezone: string };
  interval: string;
  orders: number;
  sales_fen: number;
  refunded_fen: number;
  territory_commission_fen: number;
  territory_commission: { pending_fen: number; available_fen: number; settled_fen: number };
  price_difference_fen: number;
  stock_units: number;
  stock_value_fen: number;
  slow_units: number;
  slow_value_fen: number;
  points: { period: string; orders: number; sales_fen: number; refunded_fen: number; territory_commission_fen: number; price_difference_fen: number }[];
}

async function merchant() {
  const { key, id: tenantId } = await t.tenant();
  const call = (method: string, url: string, body?: unknown, headers?: Record<string, string>) =>
    t.call(method, url, { token: key, ...(body !== undefined ? { body } : {}), ...(headers ? { headers } : {}) });
  expect((await call('PUT', '/v1/program', { levels: 1, freeze_days: 7 })).statusCode).toBe(200);
  expect((await call('PUT', '/v1/agent-program', { enabled: true, territory_bp: { province: 100, city: 200, district: 300 } })).statusCode).toBe(200);
  const secret = (await call('POST', '/v1/portal/signing-secret')).data.secret as string;
  let n = 0;
  const distributor = async () => {
    n += 1;
    const r = await call('POST', '/v1/distributors', { external_id: `d-${n}`, name: `D${n}` });
    expect(r.statusCode).toBe(201);
    return r.data as { id: string; external_id: string };
  };
  const agent = async (rank: string, region_code: string) => {
    const d = await distributor();
    const r = await call('POST', '/v1/agents', { distributor_id: d.id, rank, region_code });
    expect(r.statusCode).toBe(201);
    return { ...(r.data as { id: string; distributor_id: string }), external_id: d.external_id };
  };
  const session = (externalId: string) => portalSession(t, tenantId, secret, externalId);
  return { key, tenantId, call, distributor, agent, session };
}

describe('an agent’s territory in the portal', () => {
  it('shows the orders shipped into its territory, its territory commission by status to the fen, its price difference, by day, and its stock; nobody else sees it', async () => {
    const m = await merchant();
    const { call } = m;
    expect((await call('PUT', '/v1/agent-prices/tea', { retail_fen: 10000, province_fen: 5000, city_fen: 6000, district_fen: 7000 })).statusCode).toBe(200);
    const nanshan = await m.agent('district', '440305'); // 广东省深圳市南山区, 3%
    const shenzhen = await m.agent('city', '440300'); // 广东省深圳市, 2%
    const po = await call('POST', '/v1/purchase-orders', { agent_id: nanshan.id, items: [{ sku: 'tea', quantity: 4 }] }, { 'idempotency-key': 'po-ts-1' });
    expect(po.data.amount_fen).toBe(28000);
    expect((await call('POST', `/v1/purchase-orders/${po.data.id}/pay`, { reference: 'bank-ts' })).statusCode).toBe(200);
    const order = (external_id: string, body: Record<string, unknown>, items: unknown[]) =>
      call('POST', '/v1/orders', { external_id, buyer_external_id: `buyer-${external_id}`, items, ...body });
    const event = async (externalId: string, body: Record<string, unknown>) => {
      const r = await call('POST', `/v1/orders/${externalId}/events`, body);
      expect(r.statusCode, JSON.stringify(r.data)).toBe(200);
    };

    // 1 March: two tea from Nanshan's stock shipped to Nanshan (200 yuan), a cup to Futian (no district agent, 50 yuan).
    expect(
      (await order('ts-1', { region_code: '440305', fulfilled_by: nanshan.id }, [{ sku: 'tea', quantity: 2, unit_price_fen: 10000, paid_fen: 20000 }]))
        .statusCode,
    ).toBe(201);
    expect((await order('ts-2', { region_code: '440304' }, [{ sku: 'cup', quantity: 1, unit_price_fen: 5000, paid_fen: 5000 }])).statusCode).toBe(201);
    for (const id of ['ts-1', 'ts-2']) {
      await event(id, { type: 'shipped' });
      await event(id, { type: 'received' });
    }
    // The city agent's line of ts-2 is held: final, but not settled.
    const ts2 = (await call('GET', '/v1/orders/ts-2')).data.commissions as Line[];
    const held = ts2.find((l) => l.kind === 'territory' && l.beneficiary_id === shenzhen.distributor_id);
    expect(held?.amount_fen).toBe(100);
    expect((await call('POST', `/v1/commissions/${held!.id}/hold`, { reason: '核查收货地址' })).statusCode).toBe(200);

    // 2 March: 80 yuan to Nanshan, half refunded at once; 30 yuan to Guangzhou (neither territory).
    clock.advance(DAY);
    expect((await order('ts-3', { region_code: '440305' }, [{ sku: 'cup', quantity: 1, unit_price_fen: 8000, paid_fen: 8000 }])).statusCode).toBe(201);
    await event('ts-3', { type: 'refunded', refund_fen: 4000 });
    expect((await order('ts-4', { region_code: '440106' }, [{ sku: 'cup', quantity: 1, unit_price_fen: 3000, paid_fen: 3000 }])).statusCode).toBe(201);
    // Cancelled: counts nowhere.
    expect((await order('ts-6', { region_code: '440305' }, [{ sku: 'cup', quantity: 1, unit_price_fen: 700, paid_fen: 700 }])).statusCode).toBe(201);
    await event('ts-6', { type: 'cancelled' });
    // 10 March: settlement settles ts-1's lines (ts-2's is held); then one tea of ts-1 comes back, after settlement: clawbacks.
    clock.advance(8 * DAY);
    const run = await call('POST', '/v1/settlements/run', { as_of: clock.now().toISOString() });
    expect(run.statusCode).toBe(200);
    await event('ts-1', { type: 'refunded', items: [{ sku: 'tea', quantity: 1 }] });
    // Paid late on 2 March by UTC, which is 00:30 on 3 March in Shanghai: the 3rd's, by the program's time zone.
    expect(
      (await order('ts-5', { region_code: '440305', paid_at: '2026-03-02T16:30:00Z' }, [{ sku: 'cup', quantity: 1, unit_price_fen: 900, paid_fen: 900 }]))
        .statusCode,
    ).toBe(201);

    const lines = (await call('GET', '/v1/orders/ts-1')).data.commissions as Line[];
    // A clawback is a line of its own (kind clawback) of the line it claws back.
    const kindOf = (l: Line) => (l.clawback_of ? lines.find((o) => o.id === l.clawback_of)?.kind : l.kind);
    const mine = (l: Line, who: string, kind: string) => l.beneficiary_id === who && kindOf(l) === kind;
    // Nanshan on ts-1: district 600 settled then −300 clawed back; price difference 20000 − 2 × 7000 = 6000, then 10000 − 7000 = 3000 (−3000).
    expect(lines.filter((l) => mine(l, nanshan.distributor_id, 'territory')).reduce((s, l) => s + l.amount_fen, 0)).toBe(300);
    expect(lines.filter((l) => mine(l, nanshan.distributor_id, 'price_difference')).reduce((s, l) => s + l.amount_fen, 0)).toBe(3000);

    const citySession = await m.session(shenzhen.external_id);
    const districtSession = await m.session(nanshan.external_id);
    const read = async (token: string, agentId: string, query = 'from=2026-03-01&to=2026-03-10') => {
      const r = await t.call('GET', `/v1/agents/${agentId}/territory-sales?${query}`, { token });
      return r;
    };

    const city = await read(citySession, shenzhen.id);
    expect(city.statusCode).toBe(200);
    const c = city.data as Sales;
    // ts-1 (20000, 10000 refunded), ts-2 (5000), ts-3 (8000, 4000 refunded), ts-5 (900); not Guangzhou, not the cancelled one.
    expect(c).toMatchObject({
      agent_id: shenzhen.id,
      rank: 'city',
      region_full_name: '广东省深圳市',
      range: { from: '2026-03-01', to: '2026-03-10', timezone: 'Asia/Shanghai' },
      interval: 'day',
      orders: 4,
      sales_fen: 33900,
      refunded_fen: 14000,
      // ts-1: 400 settled, −200 clawed back; ts-2: 100 available (held); ts-3: floor(4000 × 2%) = 80 and ts-5: 18 pending.
      territory_commission_fen: 398,
      territory_commission: { settled_fen: 200, available_fen: 100, pending_fen: 98 },
      price_difference_fen: 0,
      stock_units: 0,
      stock_value_fen: 0,
    });
    expect(c.points.map((p) => p.period)).toEqual([
      '2026-03-01',
      '2026-03-02',
      '2026-03-03',
      '2026-03-04',
      '2026-03-05',
      '2026-03-06',
      '2026-03-07',
      '2026-03-08',
      '2026-03-09',
      '2026-03-10',
    ]);
    expect(c.points.slice(0, 3)).toEqual([
      { period: '2026-03-01', orders: 2, sales_fen: 25000, refunded_fen: 10000, territory_commission_fen: 300, price_difference_fen: 0 },
      { period: '2026-03-02', orders: 1, sales_fen: 8000, refunded_fen: 4000, territory_commission_fen: 80, price_difference_fen: 0 },
      { period: '2026-03-03', orders: 1, sales_fen: 900, refunded_fen: 0, territory_commission_fen: 18, price_difference_fen: 0 },
    ]);
    expect(c.points.slice(3).every((p) => p.orders === 0 && p.territory_commission_fen === 0)).toBe(true);
    // The figures are the commission lines' own: the city agent's balance holds the same money.
    const cityLines = (await t.call('GET', `/v1/distributors/${shenzhen.distributor_id}/commissions?limit=100`, { token: citySession })).data.items as Line[];
    const byStatus = (s: string) => cityLines.filter((l) => l.status === s).reduce((sum, l) => sum + l.amount_fen, 0);
    expect({ pending: byStatus('pending'), available: byStatus('available'), settled: byStatus('settled') }).toEqual({
      pending: 98,
      available: 100,
      settled: 200,
    });

    const district = (await read(districtSession, nanshan.id, 'from=2026-03-01&to=2026-03-10&slow_days=5')).data as Sales;
    expect(district).toMatchObject({
      rank: 'district',
      region_full_name: '广东省深圳市南山区',
      orders: 3,
      sales_fen: 28900,
      refunded_fen: 14000,
      // ts-1: 600 − 300 settled; ts-3: floor(4000 × 3%) = 120 and ts-5: 27 pending.
      territory_commission_fen: 447,
      territory_commission: { settled_fen: 300, available_fen: 0, pending_fen: 147 },
      price_difference_fen: 3000,
      // 4 bought, 2 sold, 1 back from the refund: 3 at 7000, all bought 9 days ago (slow at 5 days).
      stock_units: 3,
      stock_value_fen: 21000,
      slow_units: 3,
      slow_value_fen: 21000,
    });
    expect(district.points[0]).toEqual({
      period: '2026-03-01',
      orders: 1,
      sales_fen: 20000,
      refunded_fen: 10000,
      territory_commission_fen: 300,
      price_difference_fen: 3000,
    });
    // The days sum to the totals.
    for (const s of [c, district])
      for (const f of ['orders', 'sales_fen', 'refunded_fen', 'territory_commission_fen', 'price_difference_fen'] as const)
        expect(
          s.points.reduce((sum, p) => sum + p[f], 0),
          f,
        ).toBe(s[f]);

    // The merchant's report says the same of each territory.
    const report = (await call('GET', '/v1/agent-territories?from=2026-02-28T16:00:00Z&to=2026-03-10T16:00:00Z')).data.items as {
      agent_id: string;
      territory_commission_fen: number;
      sales_fen: number;
    }[];
    expect(report.find((i) => i.agent_id === shenzhen.id)).toMatchObject({ sales_fen: 33900, territory_commission_fen: 398 });
    expect(report.find((i) => i.agent_id === nanshan.id)).toMatchObject({ sales_fen: 28900, territory_commission_fen: 447 });

    // By month over a long range; 2 March alone; a default range (the last 30 days up to today, 10 March).
    const monthly = (await read(citySession, shenzhen.id, 'from=2025-12-01&to=2026-05-31')).data as Sales;
    expect(monthly.interval).toBe('month');
    expect(monthly.points.map((p) => [p.period, p.territory_commission_fen])).toEqual([
      ['2025-12-01', 0],
      ['2026-01-01', 0],
      ['2026-02-01', 0],
      ['2026-03-01', 398],
      ['2026-04-01', 0],
      ['2026-05-01', 0],
    ]);
    expect((await read(citySession, shenzhen.id, 'from=2026-03-02&to=2026-03-02')).data).toMatchObject({
      orders: 1,
      sales_fen: 8000,
      territory_commission_fen: 80,
      territory_commission: { pending_fen: 80, available_fen: 0, settled_fen: 0 },
    });
    const recent = (await read(citySession, shenzhen.id, '')).data as Sales;
    expect(recent.range).toEqual({ from: '2026-02-09', to: '2026-03-10', timezone: 'Asia/Shanghai' });
    expect(recent.territory_commission_fen).toBe(398);
    // The merchant reads it with its key too.
    expect((await t.call('GET', `/v1/agents/${shenzhen.id}/territory-sales?from=2026-03-01&to=2026-03-10`, { token: m.key })).data).toEqual(c);

    // Bad input: 400 in the error shape.
    for (const bad of [
      'from=2026-3-1',
      'from=2026-02-30',
      'to=tomorrow',
      'from=2026-03-10&to=2026-03-01',
      'from=2010-01-01&to=2026-03-10',
      'from=2025-01-01&to=2026-03-10&interval=day',
      'interval=week',
      'slow_days=0',
      'slow_days=x',
      'agent_id=x',
    ]) {
      const res = await read(citySession, shenzhen.id, bad);
      expect(res.statusCode, bad).toBe(400);
      expect(res.data.error.code, bad).toBe('invalid_request');
      expect(typeof res.data.error.message).toBe('string');
    }

    // Another agent's territory, another distributor, another tenant: not found.
    expect((await read(citySession, nanshan.id)).statusCode).toBe(404);
    expect((await read(districtSession, shenzhen.id)).statusCode).toBe(404);
    const plain = await m.distributor();
    const plainSession = await m.session(plain.external_id);
    expect((await read(plainSession, shenzhen.id)).statusCode).toBe(404);
    expect((await t.call('GET', '/v1/agents', { token: plainSession })).data.items).toEqual([]);
    expect((await read(citySession, 'agt_nobody')).statusCode).toBe(404);
    const stranger = await merchant();
    const strangerAgent = await stranger.agent('city', '440300');
    expect((await t.call('GET', `/v1/agents/${shenzhen.id}/territory-sales`, { token: stranger.key })).statusCode).toBe(404);
    const strangerSession = await stranger.session(strangerAgent.external_id);
    expect((await read(strangerSession, shenzhen.id)).statusCode).toBe(404);
    // The other tenant's agent of the same city sees none of these orders.
    expect((await read(strangerSession, strangerAgent.id)).data).toMatchObject({ orders: 0, sales_fen: 0, territory_commission_fen: 0 });
    expect((await read(citySession, shenzhen.id, 'from=2026-03-01&to=2026-03-10')).statusCode).toBe(200);
    expect((await read('garbage', shenzhen.id)).statusCode).toBe(401);
  });
});
