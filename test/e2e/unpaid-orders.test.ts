/**
 * Unpaid orders (待付款), end to end on the database the suite runs on (PGlite, or PostgreSQL with
 * DATABASE_URL): an order arrives pending_payment (no commission), then its paid arrival pays it
 * with the rules in force at that moment, or the event closed closes it unpaid; both arrivals and
 * their replays are idempotent, another body is a 409, events need a paid order, and the funnel
 * and the dashboard count unpaid orders while the paid figures stay those of paid orders.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.ts';
import type { ManualClock } from '../../src/core/context.ts';

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
  rate_bp: number;
}

async function setup() {
  const { key } = await t.tenant();
  await t.call('PUT', '/v1/program', { token: key, body: { levels: 2 } });
  await t.call('PUT', '/v1/grades/default', { token: key, body: { name: '普通', rank: 0, sales_bp: 0, override_bp: [1000, 500] } });
  const mk = async (external_id: string, referrer_code?: string) =>
    (await t.call('POST', '/v1/distributors', { token: key, body: { external_id, name: external_id, ...(referrer_code ? { referrer_code } : {}) } })).data;
  const a = await mk('A');
  const b = await mk('B', a.invite_code);
  const c = await mk('C', b.invite_code);
  return { key, a, b, c };
}

const body = (external_id: string, buyer: string, paid: number, extra: Record<string, unknown> = {}) => ({
  external_id,
  buyer_external_id: buyer,
  items: [
    { sku: 'sku-1', quantity: 2, unit_price_fen: paid / 2, paid_fen: paid / 2 },
    { sku: 'sku-2', quantity: 1, unit_price_fen: paid / 2, paid_fen: paid / 2 },
  ],
  ...extra,
});
const unpaid = (external_id: string, buyer: string, paid: number, extra: Record<string, unknown> = {}) =>
  body(external_id, buyer, paid, { status: 'pending_payment', ...extra });
const owed = (lines: Line[]) =>
  Object.entries(
    lines.reduce<Record<string, number>>((m, l) => {
      m[`${l.beneficiary_id}@${l.level}`] = (m[`${l.beneficiary_id}@${l.level}`] ?? 0) + l.amount_fen;
      return m;
    }, {}),
  ).sort();
const sumOf = (lines: Line[]) => lines.reduce((s, l) => s + l.amount_fen, 0);
const advance = (ms: number) => (t.clock as ManualClock).advance(ms);

describe('an unpaid order, then paid', () => {
  it('arrives without commission, and its paid arrival computes commission with the rules in force when it was paid', async () => {
    const { key, a, b, c } = await setup();
    const placed = await t.call('POST', '/v1/orders', { token: key, body: unpaid('u-1', 'buyer-1', 10000, { invite_code: c.invite_code }) });
    expect(placed.statusCode).toBe(201);
    expect(placed.data).toMatchObject({
      external_id: 'u-1',
      status: 'pending_payment',
      paid_at: null,
      commissions: [],
      chain: [],
      seller_id: c.id,
      paid_fen: 10000,
    });
    expect((await t.call('GET', `/v1/distributors/${b.id}/balance`, { token: key })).data.pending_fen).toBe(0);

    // The rates change before it is paid: the payment uses the new ones.
    await t.call('PUT', '/v1/grades/default', { token: key, body: { name: '普通', rank: 0, sales_bp: 0, override_bp: [2000, 1000] } });
    advance(3_600_000);
    const paidAt = t.clock.now().toISOString();
    const paid = await t.call('POST', '/v1/orders', { token: key, body: body('u-1', 'buyer-1', 10000, { invite_code: c.invite_code, paid_at: paidAt }) });
    expect(paid.statusCode).toBe(201);
    expect(paid.data).toMatchObject({ id: placed.data.id, status: 'paid', seller_id: c.id, chain: [c.id, b.id, a.id].slice(0, 3), paid_at: paidAt });
    expect(owed(paid.data.commissions)).toEqual([
      [`${a.id}@2`, 1000],
      [`${b.id}@1`, 2000],
    ]);
    expect(paid.data.commissions.map((l: Line) => l.rate_bp).sort()).toEqual([1000, 1000, 2000, 2000]);
    expect((await t.call('GET', '/v1/orders/u-1', { token: key })).data).toEqual(paid.data);
    expect((await t.call('GET', `/v1/distributors/${b.id}/balance`, { token: key })).data.pending_fen).toBe(2000);
    expect((await t.call('GET', `/v1/distributors/${a.id}/balance`, { token: key })).data.pending_fen).toBe(1000);

    // Replays of either arrival answer the order as it stands, 200; nothing is credited twice.
    const again = await t.call('POST', '/v1/orders', { token: key, body: body('u-1', 'buyer-1', 10000, { invite_code: c.invite_code, paid_at: paidAt }) });
    expect(again.statusCode).toBe(200);
    expect(again.data).toEqual(paid.data);
    const late = await t.call('POST', '/v1/orders', { token: key, body: unpaid('u-1', 'buyer-1', 10000, { invite_code: c.invite_code }) });
    expect(late.statusCode).toBe(200);
    expect(late.data).toEqual(paid.data);
    // Another body: a conflict, as ever (another amount; another paid_at once it is paid).
    expect((await t.call('POST', '/v1/orders', { token: key, body: body('u-1', 'buyer-1', 9000, { invite_code: c.invite_code }) })).statusCode).toBe(409);
    expect((await t.call('POST', '/v1/orders', { token: key, body: unpaid('u-1', 'buyer-1', 9000, { invite_code: c.invite_code }) })).statusCode).toBe(409);
    const otherTime = await t.call('POST', '/v1/orders', { token: key, body: body('u-1', 'buyer-1', 10000, { invite_code: c.invite_code }) });
    expect(otherTime.statusCode).toBe(409);
    expect(otherTime.data.error.code).toBe('conflict');
    expect((await t.call('GET', `/v1/distributors/${b.id}/balance`, { token: key })).data.pending_fen).toBe(2000);

    // Paid, it lives as every paid order: shipped, refunded.
    expect((await t.call('POST', '/v1/orders/u-1/events', { token: key, body: { type: 'shipped' } })).data.status).toBe('shipped');
    const refunded = await t.call('POST', '/v1/orders/u-1/events', { token: key, body: { type: 'refunded', refund_fen: 5000 } });
    expect(refunded.statusCode).toBe(200);
    expect(owed(refunded.data.commissions)).toEqual([
      [`${a.id}@2`, 500],
      [`${b.id}@1`, 1000],
    ]);
    expect((await t.call('GET', '/v1/ledger/verify', { token: key })).data).toMatchObject({ ok: true, breaks: [] });
  });

  it('a conflicting unpaid arrival is a 409, and an unpaid arrival cannot carry paid_at (400)', async () => {
    const { key } = await setup();
    expect((await t.call('POST', '/v1/orders', { token: key, body: unpaid('u-2', 'buyer-2', 4000) })).statusCode).toBe(201);
    const replay = await t.call('POST', '/v1/orders', { token: key, body: unpaid('u-2', 'buyer-2', 4000) });
    expect(replay.statusCode).toBe(200);
    expect(replay.data.status).toBe('pending_payment');
    const other = await t.call('POST', '/v1/orders', { token: key, body: unpaid('u-2', 'buyer-2', 4002) });
    expect(other.statusCode).toBe(409);
    expect(other.data.error.code).toBe('conflict');
    // The paid arrival must be the same order: another buyer is another body.
    expect((await t.call('POST', '/v1/orders', { token: key, body: body('u-2', 'buyer-x', 4000) })).statusCode).toBe(409);
    const withTime = await t.call('POST', '/v1/orders', { token: key, body: unpaid('u-3', 'buyer-2', 4000, { paid_at: '2026-03-01T08:00:00Z' }) });
    expect(withTime.statusCode).toBe(400);
    expect(withTime.data.error.code).toBe('invalid_request');
    expect((await t.call('GET', '/v1/orders/u-3', { token: key })).statusCode).toBe(404);
    expect((await t.call('GET', '/v1/orders/u-2', { token: key })).data.status).toBe('pending_payment');
  });

  it('the paid arrival first and the unpaid one late, or both in one batch: one paid order, credited once', async () => {
    const { key, a, b } = await setup();
    await t.call('POST', '/v1/bindings', { token: key, body: { customer_external_id: 'buyer-3', invite_code: b.invite_code } });
    const first = await t.call('POST', '/v1/orders', { token: key, body: body('u-4', 'buyer-3', 3000) });
    expect(first.statusCode).toBe(201);
    const late = await t.call('POST', '/v1/orders', { token: key, body: unpaid('u-4', 'buyer-3', 3000) });
    expect(late.statusCode).toBe(200);
    expect(late.data).toEqual(first.data);

    // Sent together they join one batch: the unpaid arrival places it, the paid one pays it.
    const paidAt = t.clock.now().toISOString();
    const [u, p, again] = await Promise.all([
      t.call('POST', '/v1/orders', { token: key, body: unpaid('u-5', 'buyer-3', 6000) }),
      t.call('POST', '/v1/orders', { token: key, body: body('u-5', 'buyer-3', 6000, { paid_at: paidAt }) }),
      t.call('POST', '/v1/orders', { token: key, body: unpaid('u-5', 'buyer-3', 6000) }),
    ]);
    expect([u.statusCode, p.statusCode, again.statusCode].filter((s) => s === 201).length).toBeGreaterThanOrEqual(1);
    expect(p.data.status).toBe('paid');
    expect(again.data.status).toBe('paid');
    const now = (await t.call('GET', '/v1/orders/u-5', { token: key })).data;
    expect(now.status).toBe('paid');
    expect(now.id).toBe(p.data.id);
    expect(owed(now.commissions)).toEqual(owed(first.data.commissions).map(([k, v]) => [k, v * 2]));
    expect(sumOf(first.data.commissions)).toBe(300);
    expect((await t.call('GET', `/v1/distributors/${a.id}/balance`, { token: key })).data.pending_fen).toBe(300 * 3);
    expect((await t.call('GET', '/v1/ledger/verify', { token: key })).data).toMatchObject({ ok: true, breaks: [] });
  });

  it('an invite code binds when the order is paid, not when it arrives unpaid', async () => {
    const { key, c } = await setup();
    await t.call('POST', '/v1/orders', { token: key, body: unpaid('u-6', 'buyer-4', 2000, { invite_code: c.invite_code }) });
    // Not bound yet: an order of the same buyer without a code has no seller.
    const before = await t.call('POST', '/v1/orders', { token: key, body: body('u-7', 'buyer-4', 2000) });
    expect(before.data.seller_id).toBeNull();
    const paid = await t.call('POST', '/v1/orders', { token: key, body: body('u-6', 'buyer-4', 2000, { invite_code: c.invite_code }) });
    expect(paid.data).toMatchObject({ status: 'paid', seller_id: c.id });
    expect(paid.data.attribution).toContain('invite_code');
    const after = await t.call('POST', '/v1/orders', { token: key, body: body('u-8', 'buyer-4', 2000) });
    expect(after.data.seller_id).toBe(c.id);
  });
});

describe('an unpaid order closed', () => {
  it('closes without money, cannot be paid afterwards, and answers its replays closed', async () => {
    const { key, c } = await setup();
    await t.call('POST', '/v1/orders', { token: key, body: unpaid('c-1', 'buyer-5', 8000, { invite_code: c.invite_code }) });
    const closed = await t.call('POST', '/v1/orders/c-1/events', { token: key, body: { type: 'closed', reason: '超时未付款' } });
    expect(closed.statusCode).toBe(200);
    expect(closed.data).toMatchObject({ status: 'closed', paid_at: null, commissions: [] });
    expect(closed.data.closed_at).toBe(t.clock.now().toISOString());
    const pay = await t.call('POST', '/v1/orders', { token: key, body: body('c-1', 'buyer-5', 8000, { invite_code: c.invite_code }) });
    expect(pay.statusCode).toBe(409);
    expect(pay.data.error.code).toBe('invalid_state');
    const replay = await t.call('POST', '/v1/orders', { token: key, body: unpaid('c-1', 'buyer-5', 8000, { invite_code: c.invite_code }) });
    expect(replay.statusCode).toBe(200);
    expect(replay.data.status).toBe('closed');
    for (const ev of [{ type: 'closed' }, { type: 'shipped' }, { type: 'refunded', refund_fen: 100 }]) {
      const r = await t.call('POST', '/v1/orders/c-1/events', { token: key, body: ev });
      expect(r.statusCode).toBe(409);
      expect(r.data.error.code).toBe('invalid_state');
    }
    expect((await t.call('GET', '/v1/ledger/verify', { token: key })).data).toMatchObject({ ok: true, breaks: [] });
  });

  it('events other than closed are refused on an unpaid order, closed is refused on a paid one', async () => {
    const { key } = await setup();
    await t.call('POST', '/v1/orders', { token: key, body: unpaid('e-1', 'buyer-6', 5000) });
    for (const ev of [{ type: 'shipped' }, { type: 'received' }, { type: 'refunded', refund_fen: 100 }, { type: 'cancelled' }]) {
      const r = await t.call('POST', '/v1/orders/e-1/events', { token: key, body: ev, headers: { 'accept-language': 'en' } });
      expect(r.statusCode).toBe(409);
      expect(r.data.error).toMatchObject({ code: 'invalid_state' });
      expect(r.data.error.message).toContain('awaits payment');
    }
    expect((await t.call('GET', '/v1/orders/e-1', { token: key })).data.status).toBe('pending_payment');
    await t.call('POST', '/v1/orders', { token: key, body: body('e-2', 'buyer-6', 5000) });
    const close = await t.call('POST', '/v1/orders/e-2/events', { token: key, body: { type: 'closed' } });
    expect(close.statusCode).toBe(409);
    expect(close.data.error.code).toBe('invalid_state');
    const list = await t.call('GET', '/v1/orders?status=pending_payment', { token: key });
    expect(list.data.items.map((o: { external_id: string }) => o.external_id)).toEqual(['e-1']);
  });
});

describe('the funnel and the dashboard', () => {
  it('count unpaid and closed orders; the paid figures are those of paid orders only', async () => {
    const { key, c } = await setup();
    const day = t.clock.now().toISOString().slice(0, 10);
    await t.call('POST', '/v1/orders', { token: key, body: unpaid('f-1', 'buyer-7', 1000, { invite_code: c.invite_code }) });
    await t.call('POST', '/v1/orders', { token: key, body: unpaid('f-2', 'buyer-8', 2000, { invite_code: c.invite_code }) });
    await t.call('POST', '/v1/orders', { token: key, body: unpaid('f-3', 'buyer-9', 4000, { invite_code: c.invite_code }) });
    await t.call('POST', '/v1/orders/f-2/events', { token: key, body: { type: 'closed' } });
    await t.call('POST', '/v1/orders', { token: key, body: body('f-3', 'buyer-9', 4000, { invite_code: c.invite_code }) });
    const kpis = (await t.call('GET', `/v1/analytics/kpis?from=${day}&to=${day}`, { token: key })).data;
    expect(kpis).toMatchObject({ orders: 1, gross_sales_fen: 4000, pending_payment_orders: 1, closed_orders: 1 });
    const funnel = (await t.call('GET', `/v1/analytics/funnel?from=${day}&to=${day}&distributor_id=${c.id}`, { token: key })).data;
    expect(funnel).toMatchObject({ orders: 1, buyers: 1, sales_fen: 4000, pending_payment_orders: 1, closed_orders: 1 });
    // Paid, the last one leaves the unpaid count.
    await t.call('POST', '/v1/orders', { token: key, body: body('f-1', 'buyer-7', 1000, { invite_code: c.invite_code }) });
    const later = (await t.call('GET', `/v1/analytics/kpis?from=${day}&to=${day}`, { token: key })).data;
    expect(later).toMatchObject({ orders: 2, gross_sales_fen: 5000, pending_payment_orders: 0, closed_orders: 1 });
  });
});
