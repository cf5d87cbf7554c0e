import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.ts';

/** Fixed-amount rates per grade and per program default, through POST /v1/orders (issue 17, item 2). */
let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.close();
});

interface Line {
  beneficiary_id: string;
  level: number;
  amount_fen: number;
  rate_kind: string;
  fixed_fen: number;
  units: number;
  rate_source: string;
  status: string;
}

async function setup(grade: Record<string, unknown>, program: Record<string, unknown> = {}) {
  const { key } = await t.tenant();
  expect((await t.call('PUT', '/v1/program', { token: key, body: { levels: 2, ...program } })).statusCode).toBe(200);
  const put = await t.call('PUT', '/v1/grades/default', { token: key, body: { name: '普通', rank: 0, sales_bp: 0, override_bp: [1000, 500], ...grade } });
  expect(put.statusCode).toBe(200);
  const mk = async (external_id: string, referrer_code?: string) =>
    (await t.call('POST', '/v1/distributors', { token: key, body: { external_id, name: external_id, ...(referrer_code ? { referrer_code } : {}) } })).data;
  const a = await mk('A');
  const b = await mk('B', a.invite_code);
  const c = await mk('C', b.invite_code);
  await t.call('POST', '/v1/bindings', { token: key, body: { customer_external_id: 'x', invite_code: c.invite_code } });
  return { key, a, b, c };
}

const items = [
  { sku: 'kit', quantity: 3, unit_price_fen: 10000, paid_fen: 30000 },
  { sku: 'cup', quantity: 1, unit_price_fen: 5000, paid_fen: 5000 },
];
const summary = (lines: Line[]) => lines.map((l) => [l.beneficiary_id, l.level, l.amount_fen]);
const verified = async (key: string) => {
  const v = (await t.call('GET', '/v1/ledger/verify', { token: key })).data as { ok: boolean; breaks: unknown[] };
  expect(v.breaks).toEqual([]);
  expect(v.ok).toBe(true);
};

describe('fixed amounts per grade', () => {
  it('a grade pays fen per unit at the levels it sets; the contract shape still works and reads back unchanged', async () => {
    const { key, a, b, c } = await setup({ sales_bp: 800, sales_fixed_fen: 200, override_fixed_fen: [100] });
    const g = (await t.call('GET', '/v1/grades/default', { token: key })).data;
    expect(g).toMatchObject({ code: 'default', sales_bp: 800, override_bp: [1000, 500], sales_fixed_fen: 200, override_fixed_fen: [100] });
    const res = await t.call('POST', '/v1/orders', { token: key, body: { external_id: 'o-1', buyer_external_id: 'x', items } });
    expect(res.statusCode).toBe(201);
    expect(summary(res.data.commissions)).toEqual([
      [c.id, 0, 600],
      [c.id, 0, 200],
      [b.id, 1, 300],
      [b.id, 1, 100],
      [a.id, 2, 1500],
      [a.id, 2, 250],
    ]);
    expect(res.data.commissions[0]).toMatchObject({ rate_kind: 'fixed', fixed_fen: 200, units: 3, rate_source: 'grade' });
    // A refund by units recomputes per unit; the level-2 percentage line on the remaining base.
    const r = await t.call('POST', '/v1/orders/o-1/events', { token: key, body: { type: 'refunded', items: [{ sku: 'kit', quantity: 1 }] } });
    expect(r.statusCode).toBe(200);
    expect(summary(r.data.commissions)).toEqual([
      [c.id, 0, 400],
      [c.id, 0, 200],
      [b.id, 1, 200],
      [b.id, 1, 100],
      [a.id, 2, 1000],
      [a.id, 2, 250],
    ]);
    await verified(key);
    // The contract body alone keeps the fixed amounts; null clears one.
    await t.call('PUT', '/v1/grades/default', { token: key, body: { name: '普通', rank: 0, sales_bp: 800, override_bp: [1000, 500] } });
    expect((await t.call('GET', '/v1/grades/default', { token: key })).data).toMatchObject({ sales_fixed_fen: 200, override_fixed_fen: [100] });
    await t.call('PUT', '/v1/grades/default', { token: key, body: { name: '普通', rank: 0, sales_bp: 800, override_bp: [1000, 500], sales_fixed_fen: null } });
    const o2 = await t.call('POST', '/v1/orders', { token: key, body: { external_id: 'o-2', buyer_external_id: 'x', items: [items[1]] } });
    expect(summary(o2.data.commissions)).toEqual([
      [c.id, 0, 400],
      [b.id, 1, 100],
      [a.id, 2, 250],
    ]);
  });

  it('per order: the amount is paid once, split over the lines by units, and a full refund of a line takes its share back', async () => {
    const { key, b, c } = await setup({ sales_fixed_fen: 1000, override_fixed_fen: [701, null], fixed_per: 'order' }, { levels: 1 });
    const res = await t.call('POST', '/v1/orders', { token: key, body: { external_id: 'o-1', buyer_external_id: 'x', items } });
    expect(summary(res.data.commissions)).toEqual([
      [c.id, 0, 750],
      [c.id, 0, 250],
      [b.id, 1, 525],
      [b.id, 1, 176],
    ]);
    expect(res.data.commissions[2]).toMatchObject({ rate_kind: 'fixed', fixed_fen: 175, units: 3 });
    await verified(key);
    const r = await t.call('POST', '/v1/orders/o-1/events', { token: key, body: { type: 'refunded', items: [{ sku: 'cup', quantity: 1 }] } });
    expect(summary(r.data.commissions)).toEqual([
      [c.id, 0, 750],
      [c.id, 0, 0],
      [b.id, 1, 525],
      [b.id, 1, 0],
    ]);
    const r2 = await t.call('POST', '/v1/orders/o-1/events', { token: key, body: { type: 'refunded', items: [{ sku: 'kit', quantity: 1 }] } });
    expect(summary(r2.data.commissions).slice(0, 1)).toEqual([[c.id, 0, 500]]);
    await verified(key);
    // 10 yuan over 1 + 2 units: 333 and 667; the 667 is kept at 334 per unit, and explained as a share.
    const o2 = await t.call('POST', '/v1/orders', {
      token: key,
      body: {
        external_id: 'o-2',
        buyer_external_id: 'x',
        items: [
          { sku: 'cup', quantity: 1, unit_price_fen: 5000, paid_fen: 5000 },
          { sku: 'kit', quantity: 2, unit_price_fen: 10000, paid_fen: 20000 },
        ],
      },
    });
    expect(summary(o2.data.commissions).slice(0, 2)).toEqual([
      [c.id, 0, 333],
      [c.id, 0, 667],
    ]);
    const share = o2.data.commissions[1] as Line & { id: string };
    expect(share).toMatchObject({ fixed_fen: 334, units: 2 });
    const ex = (await t.call('GET', `/v1/commissions/${share.id}`, { token: key })).data;
    expect(ex.explanation.formula).toBe("667: this line's share, by units, of a fixed amount per order (within 334 × 2 units = 668)");
    const first = (await t.call('GET', `/v1/commissions/${(o2.data.commissions[0] as { id: string }).id}`, { token: key })).data;
    expect(first.explanation.formula).toBe('333 × 1 units = 333');
    await verified(key);
  });

  it('refuses a negative or non-integer fixed amount and an unknown fixed_per with 400, changing nothing', async () => {
    const { key } = await setup({});
    for (const extra of [{ sales_fixed_fen: -1 }, { override_fixed_fen: [1.5] }, { fixed_per: 'month' }, { override_fixed_fen: [1, 2, 3, 4] }]) {
      const bad = await t.call('PUT', '/v1/grades/default', { token: key, body: { name: '普通', rank: 0, sales_bp: 0, override_bp: [], ...extra } });
      expect(bad.statusCode).toBe(400);
      expect(bad.data.error.code).toBeTypeOf('string');
    }
    expect((await t.call('GET', '/v1/grades/default', { token: key })).data).toEqual({
      code: 'default',
      name: '普通',
      rank: 0,
      sales_bp: 0,
      override_bp: [1000, 500],
    });
  });
});

describe('fixed amounts as the program default', () => {
  it('used where the grade has no rate for the level; per order on the program', async () => {
    const { key, a, b, c } = await setup(
      { sales_bp: 0, override_bp: [1000] },
      { default_rates: { sales_bp: null, override_bp: [], override_fixed_fen: [null, 900], fixed_per: 'order' } },
    );
    const p = (await t.call('GET', '/v1/program', { token: key })).data;
    expect(JSON.stringify(p)).toContain('"override_fixed_fen":[null,900]');
    const res = await t.call('POST', '/v1/orders', { token: key, body: { external_id: 'o-1', buyer_external_id: 'x', items } });
    expect(summary(res.data.commissions)).toEqual([
      [b.id, 1, 3000],
      [b.id, 1, 500],
      [a.id, 2, 675],
      [a.id, 2, 225],
    ]);
    expect(res.data.commissions[2]).toMatchObject({ rate_source: 'default', rate_kind: 'fixed' });
    expect(c.id).toBeTypeOf('string');
    await verified(key);
  });
});
