/**
 * The rule simulator replays attribution under a proposed binding policy (issue 17): which orders
 * would have been credited to someone else, or to no one, and what their commissions become.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/context.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

const DAY = 86_400_000;
let t: TestServer;
const clock = new ManualClock('2026-05-01T00:00:00Z');
beforeAll(async () => {
  t = await startTestServer({ clock });
});
afterAll(async () => {
  await t?.close();
});

async function world() {
  clock.set('2026-05-01T00:00:00Z');
  const { key } = await t.tenant();
  await t.call('PUT', '/v1/program', { token: key, body: { levels: 0 } });
  await t.call('PUT', '/v1/grades/default', { token: key, body: { name: 'g', rank: 0, sales_bp: 1000, override_bp: [] } });
  const A = (await t.call('POST', '/v1/distributors', { token: key, body: { external_id: 'A', name: 'A' } })).data;
  const B = (await t.call('POST', '/v1/distributors', { token: key, body: { external_id: 'B', name: 'B' } })).data;
  const order = async (id: string, buyer: string, code?: string) => {
    const r = await t.call('POST', '/v1/orders', {
      token: key,
      body: {
        external_id: id,
        buyer_external_id: buyer,
        ...(code ? { invite_code: code } : {}),
        items: [{ sku: 's', quantity: 1, unit_price_fen: 10_000, paid_fen: 10_000 }],
      },
    });
    expect(r.statusCode).toBe(201);
    return r.data;
  };
  // Day 1: x bound to A. Day 2: x orders with B's code (permanent: A keeps x). Day 20: x orders again.
  clock.advance(DAY);
  expect((await t.call('POST', '/v1/bindings', { token: key, body: { customer_external_id: 'x', invite_code: A.invite_code } })).statusCode).toBe(201);
  clock.advance(DAY);
  expect((await order('o1', 'x', B.invite_code)).seller_id).toBe(A.id);
  clock.advance(18 * DAY);
  expect((await order('o2', 'x')).seller_id).toBe(A.id);
  // A distributor's own order follows the tree whatever the policy.
  await order('o3', 'B');
  const simulate = async (binding: Record<string, unknown>) => {
    const r = await t.call('POST', '/v1/rules/simulate', { token: key, body: { from: '2026-05-01', to: '2026-05-31', changes: { binding } } });
    expect(r.statusCode, r.body).toBe(200);
    return r.data;
  };
  return { key, A, B, simulate };
}

describe('the rule simulator under a proposed binding policy', () => {
  it("today's policy proposed again moves nothing and replays to what was credited", async () => {
    const w = await world();
    const same = await w.simulate({ mode: 'permanent' });
    expect(same).toMatchObject({ orders: 3, actual_fen: 2000, current_fen: 2000, proposed_fen: 2000, delta_fen: 0 });
    expect(same.binding).toMatchObject({ orders_moved: 0, moved_paid_fen: 0, orders_without_seller_current: 1, orders_without_seller_proposed: 1 });
  });

  it('override: the invite on o1 would have taken x, and both orders move to B', async () => {
    const w = await world();
    const r = await w.simulate({ mode: 'override' });
    expect(r.binding).toMatchObject({ orders_moved: 2, moved_paid_fen: 20_000, moved_current_fen: 2000, moved_proposed_fen: 2000 });
    expect(r.binding.proposed).toMatchObject({ mode: 'override', protection_days: 0 });
    expect(r.top_changes).toEqual([
      { distributor_id: w.A.id, name: 'A', current_fen: 2000, proposed_fen: 0, delta_fen: -2000 },
      { distributor_id: w.B.id, name: 'B', current_fen: 0, proposed_fen: 2000, delta_fen: 2000 },
    ]);
  });

  it('override with a 7-day protection window: o1 came on day 1 of the binding, so nothing moves', async () => {
    const w = await world();
    expect((await w.simulate({ mode: 'override', protection_days: 7 })).binding).toMatchObject({ orders_moved: 0 });
    // A protection window of 1 day is over by o1 (a day after the binding, to the millisecond).
    expect((await w.simulate({ mode: 'override', protection_days: 1 })).binding).toMatchObject({ orders_moved: 2 });
  });

  it('a validity window of 10 days from the binding: o2 (day 19 of it) would have earned nothing', async () => {
    const w = await world();
    const r = await w.simulate({ validity_days: 10 });
    expect(r).toMatchObject({ current_fen: 2000, proposed_fen: 1000, delta_fen: -1000 });
    expect(r.binding).toMatchObject({
      orders_moved: 1,
      moved_paid_fen: 10_000,
      moved_current_fen: 1000,
      moved_proposed_fen: 0,
      orders_without_seller_proposed: 2,
    });
    // Counted from the last order, o2 (18 days after o1) still lapses; 20 days would hold.
    expect((await w.simulate({ validity_days: 10, validity_from: 'last_order' })).binding).toMatchObject({ orders_moved: 1 });
    expect((await w.simulate({ validity_days: 20, validity_from: 'last_order' })).binding).toMatchObject({ orders_moved: 0 });
  });

  it('writes nothing, and refuses a malformed policy with a 400', async () => {
    const w = await world();
    await w.simulate({ mode: 'override', validity_days: 3 });
    const c = (await t.call('GET', '/v1/customers/x', { token: w.key })).data;
    expect(c.distributor_id).toBe(w.A.id);
    expect(c.history.map((h: { kind: string }) => h.kind)).toEqual(['bind']);
    const bad = await t.call('POST', '/v1/rules/simulate', { token: w.key, body: { changes: { binding: { mode: 'sometimes' } } } });
    expect(bad.statusCode).toBe(400);
  });
});
