/**
 * The rule simulator replays a period's orders, with their frozen chains, under today's rules and
 * under a proposed change, and nothing is written.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.ts';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.close();
});

async function world() {
  const { key } = await t.tenant();
  await t.call('PUT', '/v1/program', { token: key, body: { levels: 2, timezone: 'Asia/Shanghai' } });
  await t.call('PUT', '/v1/grades/default', { token: key, body: { name: '普通', rank: 0, sales_bp: 0, override_bp: [1000, 500] } });
  const a = (await t.call('POST', '/v1/distributors', { token: key, body: { external_id: 'A', name: 'A' } })).data;
  const b = (await t.call('POST', '/v1/distributors', { token: key, body: { external_id: 'B', name: 'B', referrer_code: a.invite_code } })).data;
  const c = (await t.call('POST', '/v1/distributors', { token: key, body: { external_id: 'C', name: 'C', referrer_code: b.invite_code } })).data;
  await t.call('POST', '/v1/bindings', { token: key, body: { customer_external_id: 'buyer-b', invite_code: b.invite_code } });
  await t.call('POST', '/v1/bindings', { token: key, body: { customer_external_id: 'buyer-c', invite_code: c.invite_code } });
  const order = async (id: string, buyer: string, items: { sku: string; quantity: number; paid_fen: number }[]) => {
    const res = await t.call('POST', '/v1/orders', {
      token: key,
      body: { external_id: id, buyer_external_id: buyer, items: items.map((i) => ({ ...i, unit_price_fen: Math.floor(i.paid_fen / i.quantity) })) },
    });
    expect(res.statusCode).toBe(201);
  };
  // The article's example: A earns 10 yuan on B's 100 yuan sale; B 5 and A 2.50 on C's 50 yuan sale.
  await order('o1', 'buyer-b', [{ sku: 'tea', quantity: 1, paid_fen: 10000 }]);
  await order('o2', 'buyer-c', [{ sku: 'tea', quantity: 1, paid_fen: 5000 }]);
  await order('o3', 'buyer-c', [{ sku: 'cup', quantity: 3, paid_fen: 3001 }]);
  const day = new Date(t.clock.now().getTime() + 8 * 3_600_000).toISOString().slice(0, 10);
  const next = new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
  const simulate = (changes: Record<string, unknown>, period: { from?: string; to?: string } = { from: day, to: next }, token = key) =>
    t.call('POST', '/v1/rules/simulate', { token, body: { ...period, changes } });
  return { key, a, b, c, simulate, day, next };
}

describe('rule simulator', () => {
  it("replays today's rules to exactly what was credited, and a raise of level 1 to exactly its cost", async () => {
    const w = await world();
    const same = (await w.simulate({})).data;
    // o1: A 1000. o2: B 500, A 250. o3: B floor(3001 × 10%) = 300, A floor(3001 × 5%) = 150.
    expect(same).toMatchObject({ orders: 3, paid_fen: 18001, actual_fen: 2200, current_fen: 2200, proposed_fen: 2200, delta_fen: 0, top_changes: [] });
    const raised = (await w.simulate({ grades: { default: { override_bp: [1200, 500] } } })).data;
    // Level 1 at 12%: 1200 + 600 + floor(3001 × 12%) = 360 → +200 +100 +60.
    expect(raised).toMatchObject({ current_fen: 2200, proposed_fen: 2560, delta_fen: 360, distributors_gaining: 2, distributors_losing: 0 });
    expect(raised.by_level).toEqual([
      { level: 1, current_fen: 1800, proposed_fen: 2160, delta_fen: 360 },
      { level: 2, current_fen: 400, proposed_fen: 400, delta_fen: 0 },
    ]);
    expect(raised.top_changes).toEqual([
      { distributor_id: w.a.id, name: 'A', current_fen: 1400, proposed_fen: 1600, delta_fen: 200 },
      { distributor_id: w.b.id, name: 'B', current_fen: 800, proposed_fen: 960, delta_fen: 160 },
    ]);
    expect(raised.current_rate_bp).toBe(Math.floor((2200 * 10000) / 18001));
    // Nothing was written: the orders and the rules are as they were.
    expect((await t.call('GET', '/v1/orders/o3', { token: w.key })).data.commissions.map((l: { amount_fen: number }) => l.amount_fen).sort()).toEqual([
      150, 300,
    ]);
    expect((await t.call('GET', '/v1/grades', { token: w.key })).data.items[0].override_bp).toEqual([1000, 500]);
  });

  it('one level fewer, a fixed SKU rate, a cap and a seller commission each cost what the calculator says', async () => {
    const w = await world();
    expect((await w.simulate({ levels: 1 })).data).toMatchObject({ proposed_fen: 1800, delta_fen: -400, distributors_losing: 1 });
    // cup at 2 yuan per unit for level 1: 3 × 200 = 600 instead of 300.
    expect((await w.simulate({ sku: { cup: { 1: { kind: 'fixed', fen: 200 } } } })).data.delta_fen).toBe(300);
    // A per-order cap of 2 yuan per beneficiary: o1 A 1000 → 200; o2 B 500 → 200, A 250 → 200; o3 B 300 → 200.
    expect((await w.simulate({ caps: { per_order_fen: 200 } })).data.delta_fen).toBe(-800 - 300 - 50 - 100);
    // Sellers at 3%: B on o1 300, C on o2 150 and o3 90.
    expect((await w.simulate({ grades: { default: { sales_bp: 300 } } })).data.by_level[0]).toEqual({
      level: 0,
      current_fen: 0,
      proposed_fen: 540,
      delta_fen: 540,
    });
  });

  it('fixed amounts per grade (per order) and per program default (per unit) cost what the calculator says; the default is kept under other changes', async () => {
    const w = await world();
    // Level 1 at 1 yuan once per order: 100 on each of o1, o2, o3 instead of 1000, 500 and 300.
    expect((await w.simulate({ grades: { default: { override_fixed_fen: [100], fixed_per: 'order' } } })).data.by_level[0]).toEqual({
      level: 1,
      current_fen: 1800,
      proposed_fen: 300,
      delta_fen: -1500,
    });
    // Today: the grade pays level 1 only; the program default 0.40 yuan per unit at level 2 (o2: 1 unit, o3: 3).
    await t.call('PUT', '/v1/grades/default', { token: w.key, body: { name: '普通', rank: 0, sales_bp: 0, override_bp: [1000] } });
    const put = await t.call('PUT', '/v1/program', { token: w.key, body: { default_rates: { override_fixed_fen: [null, 40], fixed_per: 'unit' } } });
    expect(put.statusCode).toBe(200);
    const other = (await w.simulate({ grades: { default: { sales_bp: 0 } } })).data;
    expect(other).toMatchObject({ current_fen: 1960, proposed_fen: 1960, delta_fen: 0 });
    expect((await w.simulate({ default_rates: { override_fixed_fen: [null, 50] } })).data.delta_fen).toBe(40);
    // A fixed amount the grade sets for level 2 wins over the default's: 0.10 yuan per unit.
    expect((await w.simulate({ grades: { default: { override_bp: [1000], override_fixed_fen: [null, 10] } } })).data.delta_fen).toBe(-120);
  });

  it("refuses more than three levels as a compliance violation, a bad period, an unknown grade; sees only its tenant's orders", async () => {
    const w = await world();
    const four = await w.simulate({ levels: 4 });
    expect(four.statusCode).toBe(422);
    expect(four.data.error.code).toBe('compliance_violation');
    expect((await w.simulate({}, { from: w.next, to: w.day })).statusCode).toBe(400);
    expect((await w.simulate({}, { from: '2026-02-30', to: w.next })).statusCode).toBe(400);
    expect((await w.simulate({ grades: { nosuch: { sales_bp: 1 } } })).statusCode).toBe(400);
    expect((await w.simulate({ grades: { default: { sales_bp: 20000 } } })).statusCode).toBe(400);
    expect((await w.simulate({ surprise: 1 })).statusCode).toBe(400);
    const other = await t.tenant();
    expect((await t.call('POST', '/v1/rules/simulate', { token: other.key, body: { from: w.day, to: w.next, changes: {} } })).data).toMatchObject({
      orders: 0,
      current_fen: 0,
    });
    // The default period is the last 30 days, today included.
    expect((await w.simulate({}, {})).data).toMatchObject({ orders: 3, to: w.next });
  });
});

describe('rule simulator: the month-end tier true-up', () => {
  it('replays the true-up of the whole months that are over, exactly what the tier-true-up job then writes', async () => {
    const { id: tenantId, key } = await t.tenant();
    const call = (method: string, url: string, body?: unknown) => t.call(method, url, { token: key, body });
    // The month before the one the clock is in (Asia/Shanghai), whole and over.
    const today = new Date(t.clock.now().getTime() + 8 * 3_600_000).toISOString().slice(0, 10);
    const thisMonth = `${today.slice(0, 7)}-01`;
    const d = new Date(`${thisMonth}T00:00:00Z`);
    const lastMonth = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - 1, 1)).toISOString().slice(0, 10);
    // The same rules since before that month (back-dated, as for imported orders) and now (the tenant's first rules are of its creation).
    const since = `?effective_from=${new Date(Date.parse(`${lastMonth}T00:00:00Z`) - 86_400_000).toISOString()}&reason=import`;
    for (const when of [since, '']) {
      expect((await call('PUT', `/v1/program${when}`, { levels: 1, timezone: 'Asia/Shanghai' })).statusCode).toBe(200);
      // 5 % / 2 % from the first fen, 8 % / 3 % from 1,000 yuan, 10 % / 5 % from 2,000 yuan of own sales in the month.
      const grade = await call('PUT', `/v1/grades/default${when}`, {
        name: '普通',
        rank: 0,
        sales_bp: 0,
        override_bp: [],
        tiers: [
          { min_monthly_sales_fen: 0, sales_bp: 500, override_bp: [200] },
          { min_monthly_sales_fen: 100_000, sales_bp: 800, override_bp: [300] },
          { min_monthly_sales_fen: 200_000, sales_bp: 1000, override_bp: [500] },
        ],
      });
      expect(grade.statusCode, grade.body).toBe(200);
    }
    const a = (await call('POST', '/v1/distributors', { external_id: 'A', name: 'A' })).data;
    const b = (await call('POST', '/v1/distributors', { external_id: 'B', name: 'B', referrer_code: a.invite_code })).data;
    await call('POST', '/v1/bindings', { customer_external_id: 'buyer-a', invite_code: a.invite_code });
    await call('POST', '/v1/bindings', { customer_external_id: 'buyer-b', invite_code: b.invite_code });
    const order = async (id: string, buyer: string, day: number, quantity: number, paid: number) => {
      const res = await call('POST', '/v1/orders', {
        external_id: id,
        buyer_external_id: buyer,
        paid_at: `${lastMonth.slice(0, 8)}${String(day).padStart(2, '0')}T04:00:00Z`,
        items: [{ sku: 'tea', quantity, unit_price_fen: Math.ceil(paid / quantity), paid_fen: paid }],
      });
      expect(res.statusCode, res.body).toBe(201);
      return (res.data.commissions as { amount_fen: number }[]).map((l) => l.amount_fen);
    };
    // B's sales cross 1,000 yuan on b3 (B ends at 8 %); A's cross 2,000 yuan on a2 (A ends at 10 % / 5 %).
    expect(await order('b1', 'buyer-b', 3, 2, 60_000)).toEqual([3000, 1200]);
    expect(await order('a1', 'buyer-a', 5, 1, 150_000)).toEqual([7500]);
    expect(await order('b2', 'buyer-b', 10, 3, 45_001)).toEqual([2250, 1350]);
    expect(await order('a2', 'buyer-a', 12, 1, 60_000)).toEqual([4800]);
    expect(await order('b3', 'buyer-b', 20, 1, 20_000)).toEqual([1600, 1000]);
    // B: b1 4800 − 3000, b2 3600 − 2250; A: a1 15000 − 7500, a2 6000 − 4800, b1 3000 − 1200, b2 2250 − 1350 (b3 already at 5 %).
    const expected = 1800 + 1350 + 7500 + 1200 + 1800 + 900;
    const credited = 3000 + 1200 + 7500 + 2250 + 1350 + 4800 + 1600 + 1000;
    const simulate = async (changes: Record<string, unknown>, from = lastMonth) => {
      const res = await call('POST', '/v1/rules/simulate', { from, to: thisMonth, changes });
      expect(res.statusCode, res.body).toBe(200);
      return res.data;
    };

    const proposed = await simulate({ tier_true_up: true });
    expect(proposed.true_up).toEqual({
      months: [lastMonth.slice(0, 7)],
      current: false,
      proposed: true,
      current_fen: 0,
      proposed_fen: expected,
      delta_fen: expected,
    });
    expect(proposed).toMatchObject({ orders: 5, actual_fen: credited, current_fen: credited, proposed_fen: credited + expected, delta_fen: expected });
    expect(proposed.by_level).toEqual([
      { level: 0, current_fen: 3000 + 7500 + 2250 + 4800 + 1600, proposed_fen: 3000 + 7500 + 2250 + 4800 + 1600 + 1800 + 1350 + 7500 + 1200, delta_fen: 11850 },
      { level: 1, current_fen: 1200 + 1350 + 1000, proposed_fen: 1200 + 1350 + 1000 + 1800 + 900, delta_fen: 2700 },
    ]);
    expect(proposed.top_changes.map((c: { distributor_id: string; delta_fen: number }) => [c.distributor_id, c.delta_fen])).toEqual([
      [a.id, 7500 + 1200 + 1800 + 900],
      [b.id, 1800 + 1350],
    ]);
    // A period that starts within the month has no whole month: nothing to true up.
    expect((await simulate({ tier_true_up: true }, `${lastMonth.slice(0, 8)}02`)).true_up).toMatchObject({ months: [], proposed_fen: 0 });
    // Combined with a rate change: the true-up reprices at the proposed tiers.
    const raised = await simulate({
      tier_true_up: true,
      grades: {
        default: {
          tiers: [
            { min_monthly_sales_fen: 0, sales_bp: 500, override_bp: [200] },
            { min_monthly_sales_fen: 100_000, sales_bp: 900, override_bp: [300] },
          ],
        },
      },
    });
    // B ends at 9 %: b1 5400 − 3000, b2 4050 − 2250, b3 (9 % when paid) nothing; A ends at 9 % / 3 %: a1 13500 − 7500; a2 was 9 % already; b1 1800 − 1200, b2 1350 − 1350.
    expect(raised.true_up.proposed_fen).toBe(2400 + 1800 + 6000 + 600);
    // A final bracket paying 20.00 yuan per unit: lines paid at 5 % are raised to 20.00 × their units.
    const perUnit = await simulate({
      tier_true_up: true,
      grades: {
        default: {
          tiers: [
            { min_monthly_sales_fen: 0, sales_bp: 500, override_bp: [200] },
            { min_monthly_sales_fen: 100_000, sales_fixed_fen: 2000, override_bp: [300] },
          ],
        },
      },
    });
    // B ends at 20.00 per unit: b1 (2 units) 4000 − 3000, b2 (3 units) 6000 − 2250, b3 (20.00 × 1 when paid) nothing;
    // A's own a1 (1 unit) holds 7500, above 2000; A's override of b1 ends at 3 %: 1800 − 1200.
    expect(perUnit.true_up.proposed_fen).toBe(1000 + 3750 + 600);

    // On in the program: today's rules have it, the job writes exactly what was simulated.
    expect((await call('PUT', '/v1/program', { tier_true_up: true })).statusCode).toBe(200);
    const before = await simulate({});
    expect(before.true_up).toMatchObject({ current: true, proposed: true, current_fen: expected, proposed_fen: expected, delta_fen: 0 });
    expect((await simulate({ tier_true_up: false })).true_up).toMatchObject({ current_fen: expected, proposed_fen: 0, delta_fen: -expected });
    const job = await t.services.commissions.trueUpDue(tenantId, t.clock.now());
    expect(job.fen).toBe(proposed.true_up.proposed_fen);
    const written = await t.services.db
      .selectFrom('commissions')
      .select((eb) => eb.fn.sum<string>('amount_fen').as('fen'))
      .where('tenant_id', '=', tenantId)
      .where('kind', '=', 'adjustment')
      .executeTakeFirstOrThrow();
    expect(Number(written.fen)).toBe(expected);
    // What was credited now holds the adjustments, and replays to exactly that.
    const after = await simulate({});
    expect(after).toMatchObject({ actual_fen: credited + expected, current_fen: credited + expected });
  });
});
