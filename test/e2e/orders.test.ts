import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.ts';
import { sql } from 'kysely';
import type { ManualClock } from '../../src/core/context.ts';
import { MAX_FEN } from '../../src/core/schema.ts';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.close();
});

interface Line {
  id: string;
  beneficiary_id: string;
  level: number;
  base_fen: number;
  rate_bp: number;
  amount_fen: number;
  status: string;
  kind: string;
}

async function setup(opts: { levels?: number; override?: number[]; sales?: number; program?: Record<string, unknown> } = {}) {
  const { key } = await t.tenant();
  await t.call('PUT', '/v1/program', { token: key, body: { levels: opts.levels ?? 2, ...(opts.program ?? {}) } });
  await t.call('PUT', '/v1/grades/default', {
    token: key,
    body: { name: '普通', rank: 0, sales_bp: opts.sales ?? 0, override_bp: opts.override ?? [1000, 500] },
  });
  const mk = async (external_id: string, referrer_code?: string) =>
    (await t.call('POST', '/v1/distributors', { token: key, body: { external_id, name: external_id, ...(referrer_code ? { referrer_code } : {}) } })).data;
  const a = await mk('A');
  const b = await mk('B', a.invite_code);
  const c = await mk('C', b.invite_code);
  return { key, a, b, c };
}

const order = (external_id: string, buyer: string, paid: number, extra: Record<string, unknown> = {}) => ({
  external_id,
  buyer_external_id: buyer,
  items: [{ sku: 'sku-1', quantity: 1, unit_price_fen: paid, paid_fen: paid }],
  ...extra,
});
const summary = (lines: Line[]) => lines.map((l) => [l.beneficiary_id, l.level, l.amount_fen, l.status]);

describe("the article's example through the API", () => {
  it("A earns 10 yuan on B's 100 yuan sale; B 5 and A 2.50 on C's 50 yuan sale", async () => {
    const { key, a, b, c } = await setup();
    await t.call('POST', '/v1/bindings', { token: key, body: { customer_external_id: 'buyer-of-b', invite_code: b.invite_code } });
    await t.call('POST', '/v1/bindings', { token: key, body: { customer_external_id: 'buyer-of-c', invite_code: c.invite_code } });
    const one = await t.call('POST', '/v1/orders', { token: key, body: order('o-1', 'buyer-of-b', 10000) });
    expect(one.statusCode).toBe(201);
    expect(one.data).toMatchObject({ external_id: 'o-1', status: 'paid', seller_id: b.id, paid_fen: 10000 });
    expect(summary(one.data.commissions)).toEqual([[a.id, 1, 1000, 'pending']]);
    expect(one.data.commissions[0]).toMatchObject({ base_fen: 10000, rate_bp: 1000 });
    const two = await t.call('POST', '/v1/orders', { token: key, body: order('o-2', 'buyer-of-c', 5000) });
    expect(summary(two.data.commissions)).toEqual([
      [b.id, 1, 500, 'pending'],
      [a.id, 2, 250, 'pending'],
    ]);
    const bal = await t.call('GET', `/v1/distributors/${a.id}/balance`, { token: key });
    expect(bal.data).toEqual({ pending_fen: 1250, available_fen: 0, withdrawable_fen: 0, withdrawing_fen: 0, withdrawn_fen: 0 });
    expect((await t.call('GET', '/v1/ledger/verify', { token: key })).data).toMatchObject({ ok: true, breaks: [] });
  });

  it("single-level mode: A earns nothing from C's sale", async () => {
    const { key, a, b, c } = await setup({ levels: 1 });
    await t.call('POST', '/v1/bindings', { token: key, body: { customer_external_id: 'x', invite_code: c.invite_code } });
    const res = await t.call('POST', '/v1/orders', { token: key, body: order('o-1', 'x', 5000) });
    expect(summary(res.data.commissions)).toEqual([[b.id, 1, 500, 'pending']]);
    expect((await t.call('GET', `/v1/distributors/${a.id}/balance`, { token: key })).data.pending_fen).toBe(0);
  });
});

describe('attribution', () => {
  it('an invite code on the order binds an unbound buyer; an existing binding stays', async () => {
    const { key, a, b } = await setup();
    const first = await t.call('POST', '/v1/orders', { token: key, body: order('o-1', 'new-buyer', 10000, { invite_code: b.invite_code }) });
    expect(first.data.seller_id).toBe(b.id);
    expect(first.data.attribution).toBe('invite_code');
    expect((await t.call('GET', '/v1/customers/new-buyer', { token: key })).data.distributor_id).toBe(b.id);
    const second = await t.call('POST', '/v1/orders', { token: key, body: order('o-2', 'new-buyer', 10000, { invite_code: a.invite_code }) });
    expect(second.data.seller_id).toBe(b.id);
  });

  it('no binding, no seller: the order has no commissions', async () => {
    const { key } = await setup();
    const res = await t.call('POST', '/v1/orders', { token: key, body: order('o-1', 'stranger', 10000) });
    expect(res.statusCode).toBe(201);
    expect(res.data).toMatchObject({ seller_id: null, commissions: [] });
  });

  it('an unknown invite code does not refuse a real order', async () => {
    const { key } = await setup();
    const res = await t.call('POST', '/v1/orders', { token: key, body: order('o-1', 'stranger', 10000, { invite_code: 'ZZZZZZZZ' }) });
    expect(res.statusCode).toBe(201);
    expect(res.data.attribution).toContain('unknown invite_code');
  });

  it('self-purchase off: a distributor buying is credited to its referrer as seller', async () => {
    const { key, a, b } = await setup({ sales: 300 });
    const res = await t.call('POST', '/v1/orders', { token: key, body: order('o-1', 'B', 10000) });
    expect(res.data.seller_id).toBe(a.id);
    expect(summary(res.data.commissions)).toEqual([[a.id, 0, 300, 'pending']]);
    expect(b.id).not.toBe(a.id);
  });

  it('self-purchase on: the distributor is its own seller', async () => {
    const { key, a, b } = await setup({ sales: 300, program: { self_purchase: true } });
    const res = await t.call('POST', '/v1/orders', { token: key, body: order('o-1', 'B', 10000) });
    expect(res.data.seller_id).toBe(b.id);
    expect(summary(res.data.commissions)).toEqual([
      [b.id, 0, 300, 'pending'],
      [a.id, 1, 1000, 'pending'],
    ]);
  });

  it('a relation moved after payment never changes what a paid order credited', async () => {
    const { key, a, b, c } = await setup();
    await t.call('POST', '/v1/bindings', { token: key, body: { customer_external_id: 'x', invite_code: c.invite_code } });
    const before = (await t.call('POST', '/v1/orders', { token: key, body: order('o-1', 'x', 5000) })).data;
    await t.call('POST', `/v1/distributors/${c.id}/move`, { token: key, body: { referrer_id: a.id, reason: 'team reorganised' } });
    const after = (await t.call('GET', '/v1/orders/o-1', { token: key })).data;
    expect(after.chain).toEqual([c.id, b.id, a.id]);
    expect(summary(after.commissions)).toEqual(summary(before.commissions));
    const next = (await t.call('POST', '/v1/orders', { token: key, body: order('o-2', 'x', 5000) })).data;
    expect(summary(next.commissions)).toEqual([[a.id, 1, 500, 'pending']]);
  });
});

describe('group commit', () => {
  it('orders that arrive together are written in one batch, each answered as if alone', async () => {
    const { key, a, b } = await setup();
    await t.call('POST', '/v1/bindings', { token: key, body: { customer_external_id: 'gc-buyer', invite_code: b.invite_code } });
    const before = t.services.orders.batchStats();
    const answers = await Promise.all(
      Array.from({ length: 30 }, (_, i) => t.call('POST', '/v1/orders', { token: key, body: order(`gc-${i}`, 'gc-buyer', 1000 + i) })),
    );
    expect(answers.map((r) => r.statusCode)).toEqual(answers.map(() => 201));
    answers.forEach((r, i) => {
      expect(r.data).toMatchObject({ external_id: `gc-${i}`, seller_id: b.id, paid_fen: 1000 + i });
      expect(summary(r.data.commissions)).toEqual([[a.id, 1, Math.floor((1000 + i) / 10), 'pending']]);
    });
    const after = t.services.orders.batchStats();
    // 30 orders, fewer transactions: some batch held more than one.
    expect(after.items - before.items).toBe(30);
    expect(after.batches - before.batches).toBeLessThan(30);
    // What each answered is what the order says when read back.
    for (const r of answers.slice(0, 5)) expect((await t.call('GET', `/v1/orders/${r.data.external_id}`, { token: key })).data).toEqual(r.data);
    expect((await t.call('GET', `/v1/distributors/${a.id}/balance`, { token: key })).data.pending_fen).toBe(
      answers.reduce((s, r) => s + r.data.commissions[0].amount_fen, 0),
    );
    expect((await t.call('GET', '/v1/ledger/verify', { token: key })).data).toMatchObject({ ok: true, breaks: [] });
  });

  it('an order whose invite code attaches a top-level distributor moves its team, and the next order of the batch sees the new chain', async () => {
    const { key, a } = await setup({ sales: 500 });
    const mk = async (external_id: string, referrer_code?: string) =>
      (await t.call('POST', '/v1/distributors', { token: key, body: { external_id, name: external_id, ...(referrer_code ? { referrer_code } : {}) } })).data;
    const top = await mk('TOP');
    const under = await mk('UNDER', top.invite_code);
    await t.call('POST', '/v1/bindings', { token: key, body: { customer_external_id: 'buyer-of-under', invite_code: under.invite_code } });
    const [first, second] = await Promise.all([
      t.call('POST', '/v1/orders', { token: key, body: order('tree-1', 'TOP', 10000, { invite_code: a.invite_code }) }),
      t.call('POST', '/v1/orders', { token: key, body: order('tree-2', 'buyer-of-under', 20000) }),
    ]);
    expect(first!.statusCode).toBe(201);
    // TOP bought as a customer of A (self-purchase off): A sells, and TOP now sits under A.
    expect(first!.data).toMatchObject({ seller_id: a.id, attribution: 'invite_code', chain: [a.id] });
    expect((await t.call('GET', `/v1/distributors/${top.id}`, { token: key })).data.referrer_id).toBe(a.id);
    // …and as a customer it stays bound to A (the batch must not write back the row it read before the move).
    expect((await t.call('GET', '/v1/customers/TOP', { token: key })).data).toMatchObject({ distributor_id: a.id, source: 'invite_code' });
    // UNDER's sale reaches TOP (level 1) and, through the move, A (level 2).
    expect(second!.data.chain).toEqual([under.id, top.id, a.id]);
    expect(summary(second!.data.commissions)).toEqual([
      [under.id, 0, 1000, 'pending'],
      [top.id, 1, 2000, 'pending'],
      [a.id, 2, 1000, 'pending'],
    ]);
    expect((await t.call('GET', '/v1/ledger/verify', { token: key })).data).toMatchObject({ ok: true, breaks: [] });
  });

  it('one order the database refuses fails alone: the rest of its batch is written and answered', async () => {
    const { key, b } = await setup();
    await t.call('POST', '/v1/bindings', { token: key, body: { customer_external_id: 'split-buyer', invite_code: b.invite_code } });
    // A fault only the database sees, on one order of the batch: the batch splits until that
    // order stands alone.
    await sql
      .raw(
        `create or replace function fenxiao_test_poison() returns trigger language plpgsql as $$
      begin if new.external_id = 'poisoned' then raise exception 'refused by the test'; end if; return new; end $$;
      drop trigger if exists fenxiao_test_poison on orders;
      create trigger fenxiao_test_poison before insert on orders for each row execute function fenxiao_test_poison();`,
      )
      .execute(t.database.db);
    try {
      const ids = ['ok-1', 'ok-2', 'poisoned', 'ok-3', 'ok-4', 'ok-5'];
      const answers = await Promise.all(ids.map((id) => t.call('POST', '/v1/orders', { token: key, body: order(id, 'split-buyer', 5000) })));
      expect(answers.map((r) => r.statusCode)).toEqual([201, 201, 500, 201, 201, 201]);
      expect(answers[2]!.data).toEqual({ error: { code: 'internal_error', message: 'internal error' } });
      for (const id of ids.filter((x) => x !== 'poisoned')) expect((await t.call('GET', `/v1/orders/${id}`, { token: key })).statusCode).toBe(200);
      expect((await t.call('GET', '/v1/orders/poisoned', { token: key })).statusCode).toBe(404);
    } finally {
      await sql.raw('drop trigger if exists fenxiao_test_poison on orders; drop function if exists fenxiao_test_poison();').execute(t.database.db);
    }
    expect((await t.call('GET', '/v1/ledger/verify', { token: key })).data).toMatchObject({ ok: true, breaks: [] });
  });

  it('duplicates inside one batch: the same body answers the order once created, another body is 409', async () => {
    const { key, b } = await setup();
    await t.call('POST', '/v1/bindings', { token: key, body: { customer_external_id: 'dup-buyer', invite_code: b.invite_code } });
    const body = order('dup-1', 'dup-buyer', 7000);
    const answers = await Promise.all([
      t.call('POST', '/v1/orders', { token: key, body }),
      t.call('POST', '/v1/orders', { token: key, body }),
      t.call('POST', '/v1/orders', { token: key, body: { ...body, items: [{ sku: 'sku-1', quantity: 1, unit_price_fen: 7001, paid_fen: 7001 }] } }),
    ]);
    expect(answers.map((r) => r.statusCode).sort()).toEqual([200, 201, 409]);
    const created = answers.find((r) => r.statusCode === 201)!;
    expect(answers.find((r) => r.statusCode === 200)!.data).toEqual(created.data);
    expect(answers.find((r) => r.statusCode === 409)!.data.error.code).toBe('conflict');
    expect((await t.call('GET', `/v1/distributors/${b.id}/balance`, { token: key })).data.pending_fen).toBe(0);
    expect((await t.call('GET', '/v1/ledger/verify', { token: key })).data).toMatchObject({ ok: true, breaks: [] });
  });
});

describe('idempotency', () => {
  it('the same external id and body answers 200 with the same order; a different body 409', async () => {
    const { key, b } = await setup();
    await t.call('POST', '/v1/bindings', { token: key, body: { customer_external_id: 'x', invite_code: b.invite_code } });
    const body = order('o-1', 'x', 10000);
    const first = await t.call('POST', '/v1/orders', { token: key, body });
    const again = await t.call('POST', '/v1/orders', { token: key, body: { items: body.items, buyer_external_id: 'x', external_id: 'o-1' } });
    expect(again.statusCode).toBe(200);
    expect(again.data).toEqual(first.data);
    const different = await t.call('POST', '/v1/orders', { token: key, body: order('o-1', 'x', 9999) });
    expect(different.statusCode).toBe(409);
    expect(different.data.error.code).toBe('conflict');
    const lines = await t.database.db.selectFrom('commissions').selectAll().where('order_id', '=', first.data.id).execute();
    expect(lines).toHaveLength(1);
  });

  it('a refused order leaves no buyer behind: a 409 naming a new buyer, an order over the limit', async () => {
    const { key } = await setup();
    expect((await t.call('POST', '/v1/orders', { token: key, body: order('o-1', 'first-buyer', 10000) })).statusCode).toBe(201);
    // The same external id with another buyer: 409, and the other buyer is not created.
    const refused = await Promise.all([
      t.call('POST', '/v1/orders', { token: key, body: order('o-1', 'never-a-buyer', 10000) }),
      t.call('POST', '/v1/orders', { token: key, body: order('o-2', 'kept-buyer', 10000) }),
    ]);
    expect(refused.map((r) => r.statusCode)).toEqual([409, 201]);
    expect((await t.call('GET', '/v1/customers/never-a-buyer', { token: key })).statusCode).toBe(404);
    expect((await t.call('GET', '/v1/customers/kept-buyer', { token: key })).statusCode).toBe(200);
    // Over the order limit (each line within it): refused, no buyer.
    const big = {
      external_id: 'o-3',
      buyer_external_id: 'too-big-buyer',
      items: [1, 2].map((n) => ({ sku: `s${n}`, quantity: 1, unit_price_fen: MAX_FEN, paid_fen: MAX_FEN })),
    };
    expect((await t.call('POST', '/v1/orders', { token: key, body: big })).statusCode).toBe(422);
    expect((await t.call('GET', '/v1/customers/too-big-buyer', { token: key })).statusCode).toBe(404);
  });

  it('an event retried with the same Idempotency-Key answers the first result; another body is 409', async () => {
    const { key, b } = await setup();
    await t.call('POST', '/v1/bindings', { token: key, body: { customer_external_id: 'x', invite_code: b.invite_code } });
    await t.call('POST', '/v1/orders', { token: key, body: order('o-1', 'x', 10000) });
    const headers = { 'idempotency-key': 'refund-1' };
    const first = await t.call('POST', '/v1/orders/o-1/events', { token: key, headers, body: { type: 'refunded', refund_fen: 3000 } });
    expect(first.statusCode).toBe(200);
    const retry = await t.call('POST', '/v1/orders/o-1/events', { token: key, headers, body: { type: 'refunded', refund_fen: 3000 } });
    expect(retry.statusCode).toBe(200);
    expect(retry.data).toEqual(first.data);
    expect(retry.data.refunded_fen).toBe(3000);
    const other = await t.call('POST', '/v1/orders/o-1/events', { token: key, headers, body: { type: 'refunded', refund_fen: 1000 } });
    expect(other.statusCode).toBe(409);
    expect((await t.call('GET', '/v1/orders/o-1', { token: key })).data.refunded_fen).toBe(3000);
  });
});

describe('lifecycle and refunds before settlement', () => {
  it('paid → shipped → received; events the state does not allow are 409 invalid_state', async () => {
    const { key, b } = await setup();
    await t.call('POST', '/v1/bindings', { token: key, body: { customer_external_id: 'x', invite_code: b.invite_code } });
    await t.call('POST', '/v1/orders', { token: key, body: order('o-1', 'x', 10000) });
    expect((await t.call('POST', '/v1/orders/o-1/events', { token: key, body: { type: 'shipped' } })).data.status).toBe('shipped');
    const again = await t.call('POST', '/v1/orders/o-1/events', { token: key, body: { type: 'shipped' } });
    expect(again.statusCode).toBe(409);
    expect(again.data.error.code).toBe('invalid_state');
    expect((await t.call('POST', '/v1/orders/o-1/events', { token: key, body: { type: 'received' } })).data.status).toBe('received');
    expect((await t.call('POST', '/v1/orders/o-1/events', { token: key, body: { type: 'cancelled' } })).statusCode).toBe(409);
    expect((await t.call('POST', '/v1/orders/nope/events', { token: key, body: { type: 'shipped' } })).statusCode).toBe(404);
  });

  it('a partial refund recomputes each line on the remaining base; the last refund reverses it', async () => {
    const { key, a, b, c } = await setup();
    await t.call('POST', '/v1/bindings', { token: key, body: { customer_external_id: 'x', invite_code: c.invite_code } });
    await t.call('POST', '/v1/orders', { token: key, body: order('o-1', 'x', 5000) });
    const r1 = await t.call('POST', '/v1/orders/o-1/events', { token: key, body: { type: 'refunded', refund_fen: 1999 } });
    expect(r1.data.commissions.map((l: Line) => [l.beneficiary_id, l.base_fen, l.amount_fen, l.status])).toEqual([
      [b.id, 3001, 300, 'pending'],
      [a.id, 3001, 150, 'pending'],
    ]);
    const over = await t.call('POST', '/v1/orders/o-1/events', { token: key, body: { type: 'refunded', refund_fen: 3002 } });
    expect(over.statusCode).toBe(400);
    const r2 = await t.call('POST', '/v1/orders/o-1/events', { token: key, body: { type: 'refunded', refund_fen: 3001 } });
    expect(r2.data.status).toBe('refunded');
    expect(r2.data.commissions.map((l: Line) => [l.amount_fen, l.status])).toEqual([
      [0, 'reversed'],
      [0, 'reversed'],
    ]);
    expect((await t.call('GET', `/v1/distributors/${a.id}/balance`, { token: key })).data.pending_fen).toBe(0);
    expect((await t.call('POST', '/v1/orders/o-1/events', { token: key, body: { type: 'refunded', refund_fen: 1 } })).statusCode).toBe(409);
    expect((await t.call('GET', '/v1/ledger/verify', { token: key })).data.breaks).toEqual([]);
  });

  it('a line rounded to 0 by a partial refund still follows the rest of the refund (found by the property test)', async () => {
    const { key, b } = await setup({ sales: 4989, levels: 0 });
    await t.call('POST', '/v1/bindings', { token: key, body: { customer_external_id: 'x', invite_code: b.invite_code } });
    await t.call('POST', '/v1/orders', { token: key, body: order('o-1', 'x', 49837) });
    const r1 = (await t.call('POST', '/v1/orders/o-1/events', { token: key, body: { type: 'refunded', refund_fen: 49836 } })).data;
    expect(r1.commissions.map((l: Line) => [l.base_fen, l.amount_fen, l.status])).toEqual([[1, 0, 'reversed']]);
    const r2 = (await t.call('POST', '/v1/orders/o-1/events', { token: key, body: { type: 'refunded', refund_fen: 1 } })).data;
    expect(r2.commissions.map((l: Line) => [l.base_fen, l.amount_fen, l.status])).toEqual([[0, 0, 'reversed']]);
    expect((await t.call('GET', '/v1/ledger/verify', { token: key })).data.breaks).toEqual([]);
  });

  it("cancelling reverses every level's commission, not just one", async () => {
    const { key, a, b, c } = await setup({ sales: 200 });
    await t.call('POST', '/v1/bindings', { token: key, body: { customer_external_id: 'x', invite_code: c.invite_code } });
    await t.call('POST', '/v1/orders', { token: key, body: order('o-1', 'x', 5000) });
    const res = await t.call('POST', '/v1/orders/o-1/events', { token: key, body: { type: 'cancelled' } });
    expect(res.data.status).toBe('cancelled');
    expect(res.data.commissions.map((l: Line) => [l.level, l.amount_fen, l.status])).toEqual([
      [0, 0, 'reversed'],
      [1, 0, 'reversed'],
      [2, 0, 'reversed'],
    ]);
    for (const d of [a, b, c]) expect((await t.call('GET', `/v1/distributors/${d.id}/balance`, { token: key })).data.pending_fen).toBe(0);
  });

  it('a refund by line and quantity takes back those units of a fixed-amount commission', async () => {
    const { key, a, b } = await setup();
    await t.call('PUT', '/v1/sku-rules/kit', { token: key, body: { rates: { '1': { kind: 'fixed', fen: 300 } } } });
    await t.call('POST', '/v1/bindings', { token: key, body: { customer_external_id: 'x', invite_code: b.invite_code } });
    const res = await t.call('POST', '/v1/orders', {
      token: key,
      body: { external_id: 'o-1', buyer_external_id: 'x', items: [{ sku: 'kit', quantity: 3, unit_price_fen: 10000, paid_fen: 29700 }] },
    });
    expect(summary(res.data.commissions)).toEqual([[a.id, 1, 900, 'pending']]);
    expect(res.data.commissions[0]).toMatchObject({ rate_kind: 'fixed', fixed_fen: 300, units: 3, rate_source: 'sku' });
    const r = await t.call('POST', '/v1/orders/o-1/events', { token: key, body: { type: 'refunded', items: [{ sku: 'kit', quantity: 1 }] } });
    expect(r.data.refunded_fen).toBe(9900);
    expect(r.data.commissions[0]).toMatchObject({ amount_fen: 600, units: 2 });
  });

  it('shipping and tax are never part of the commission base', async () => {
    const { key, a, b } = await setup();
    await t.call('POST', '/v1/bindings', { token: key, body: { customer_external_id: 'x', invite_code: b.invite_code } });
    const res = await t.call('POST', '/v1/orders', { token: key, body: order('o-1', 'x', 10000, { shipping_fen: 1500, tax_fen: 600 }) });
    expect(res.data).toMatchObject({ paid_fen: 10000, shipping_fen: 1500, tax_fen: 600 });
    expect(summary(res.data.commissions)).toEqual([[a.id, 1, 1000, 'pending']]);
  });

  it('auto-receipt confirms orders shipped auto_receive_days ago', async () => {
    const { key, b } = await setup({ program: { auto_receive_days: 10 } });
    await t.call('POST', '/v1/bindings', { token: key, body: { customer_external_id: 'x', invite_code: b.invite_code } });
    await t.call('POST', '/v1/orders', { token: key, body: order('o-1', 'x', 10000) });
    await t.call('POST', '/v1/orders/o-1/events', { token: key, body: { type: 'shipped', at: '2026-03-01T00:00:00Z' } });
    expect((await t.call('POST', '/v1/jobs/auto-receive', { token: key, body: { as_of: '2026-03-10T00:00:00Z' } })).data).toEqual({ received: 0 });
    expect((await t.call('POST', '/v1/jobs/auto-receive', { token: key, body: { as_of: '2026-03-11T00:00:00Z' } })).data).toEqual({ received: 1 });
    const o = (await t.call('GET', '/v1/orders/o-1', { token: key })).data;
    expect(o).toMatchObject({ status: 'received', received_at: '2026-03-11T00:00:00.000Z' });
  });
});

describe('rules', () => {
  it('each line names its rule version and explains itself', async () => {
    const { key, a, b } = await setup();
    await t.call('POST', '/v1/bindings', { token: key, body: { customer_external_id: 'x', invite_code: b.invite_code } });
    const o1 = (await t.call('POST', '/v1/orders', { token: key, body: order('o-1', 'x', 10000) })).data;
    (t.clock as ManualClock).advance(1000);
    await t.call('PUT', '/v1/grades/default', { token: key, body: { name: '普通', rank: 0, sales_bp: 0, override_bp: [1200, 500] } });
    (t.clock as ManualClock).advance(1000);
    const o2 = (await t.call('POST', '/v1/orders', { token: key, body: order('o-2', 'x', 10000) })).data;
    expect(o2.rule_version).toBeGreaterThan(o1.rule_version);
    expect(o2.commissions[0].amount_fen).toBe(1200);
    // An order paid before the change uses the rules in force then.
    const back = (await t.call('POST', '/v1/orders', { token: key, body: order('o-3', 'x', 10000, { paid_at: '2026-03-01T08:00:00.000Z' }) })).data;
    expect(back.rule_version).toBe(o1.rule_version);
    expect(back.commissions[0].amount_fen).toBe(1000);
    const ex = (await t.call('GET', `/v1/commissions/${o1.commissions[0].id}`, { token: key })).data;
    expect(ex).toMatchObject({
      beneficiary_id: a.id,
      level: 1,
      base_fen: 10000,
      rate_bp: 1000,
      amount_fen: 1000,
      rule_version: o1.rule_version,
      rate_source: 'grade',
    });
    expect(ex.explanation.formula).toBe('floor(10000 × 1000 / 10000) = 1000');
    expect(ex.explanation.chain.map((x: { distributor_id: string }) => x.distributor_id)).toEqual([b.id, a.id]);
    expect(ex.postings).toEqual([expect.objectContaining({ kind: 'accrue', account: 'pending', amount_fen: 1000 })]);
    const list = (await t.call('GET', `/v1/distributors/${a.id}/commissions`, { token: key })).data;
    expect(list.items).toHaveLength(3);
  });

  it('grades upgrade on sales, never on head count, with history', async () => {
    const { key, a, b } = await setup();
    await t.call('PUT', '/v1/grades/senior', {
      token: key,
      body: { name: '高级', rank: 10, sales_bp: 0, override_bp: [1500, 500], upgrade: { metric: 'sales_fen', min_fen: 10_000_000 } },
    });
    // Recruiting does not upgrade.
    for (let i = 0; i < 5; i++)
      await t.call('POST', '/v1/distributors', { token: key, body: { external_id: `r${i}`, name: 'r', referrer_code: a.invite_code } });
    expect((await t.call('GET', `/v1/distributors/${a.id}`, { token: key })).data.grade).toBe('default');
    await t.call('POST', '/v1/bindings', { token: key, body: { customer_external_id: 'big', invite_code: b.invite_code } });
    await t.call('POST', '/v1/orders', { token: key, body: order('o-1', 'big', 9_999_999) });
    expect((await t.call('GET', `/v1/distributors/${b.id}`, { token: key })).data.grade).toBe('default');
    await t.call('POST', '/v1/orders', { token: key, body: order('o-2', 'big', 1) });
    expect((await t.call('GET', `/v1/distributors/${b.id}`, { token: key })).data.grade).toBe('senior');
    const hist = (await t.call('GET', `/v1/distributors/${b.id}/grade-history`, { token: key })).data.items;
    expect(hist).toEqual([expect.objectContaining({ from_grade: 'default', to_grade: 'senior', reason: 'sales_fen 10000000 ≥ 10000000' })]);
  });
});

describe('bad input', () => {
  it('refuses malformed orders with 400 and stores nothing', async () => {
    const { key } = await setup();
    const bad = [
      { external_id: 'o', buyer_external_id: 'x', items: [] },
      { external_id: 'o', buyer_external_id: 'x', items: [{ sku: 's', quantity: 0, unit_price_fen: 1, paid_fen: 1 }] },
      { external_id: 'o', buyer_external_id: 'x', items: [{ sku: 's', quantity: 1, unit_price_fen: 1, paid_fen: -1 }] },
      { external_id: 'o', buyer_external_id: 'x', items: [{ sku: 's', quantity: 1, unit_price_fen: 1, paid_fen: 1.5 }] },
      { external_id: 'o', buyer_external_id: 'x', items: [{ sku: 's', quantity: 1, unit_price_fen: 1, paid_fen: '100' }] },
      { external_id: 'o', buyer_external_id: 'x', items: [{ sku: 's', quantity: 1, unit_price_fen: 1, paid_fen: 1e16 }] },
      { external_id: 'o', buyer_external_id: 'x', items: [{ sku: 's', quantity: 1, unit_price_fen: 1, paid_fen: 1, extra: 1 }] },
      { external_id: 'o', buyer_external_id: 'x', paid_at: 'yesterday', items: [{ sku: 's', quantity: 1, unit_price_fen: 1, paid_fen: 1 }] },
    ];
    for (const body of bad) {
      const res = await t.call('POST', '/v1/orders', { token: key, body });
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      expect(res.data.error.code).toBe('invalid_request');
    }
    expect((await t.call('GET', '/v1/orders/o', { token: key })).statusCode).toBe(404);
    for (const body of [{ type: 'refunded' }, { type: 'lost' }, { type: 'shipped', refund_fen: 5 }, { type: 'refunded', refund_fen: 0 }]) {
      await t.call('POST', '/v1/orders', { token: key, body: order('o-ok', 'x', 100) });
      const res = await t.call('POST', '/v1/orders/o-ok/events', { token: key, body });
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
    }
  });

  it("another tenant's orders and commissions are not found", async () => {
    const { key, b } = await setup();
    const other = await t.tenant();
    await t.call('POST', '/v1/bindings', { token: key, body: { customer_external_id: 'x', invite_code: b.invite_code } });
    const o = (await t.call('POST', '/v1/orders', { token: key, body: order('o-1', 'x', 10000) })).data;
    expect((await t.call('GET', '/v1/orders/o-1', { token: other.key })).statusCode).toBe(404);
    expect((await t.call('POST', '/v1/orders/o-1/events', { token: other.key, body: { type: 'shipped' } })).statusCode).toBe(404);
    expect((await t.call('GET', `/v1/commissions/${o.commissions[0].id}`, { token: other.key })).statusCode).toBe(404);
    expect((await t.call('GET', `/v1/distributors/${b.id}/balance`, { token: other.key })).statusCode).toBe(404);
    // The same external id is free in another tenant.
    expect((await t.call('POST', '/v1/orders', { token: other.key, body: order('o-1', 'x', 1) })).statusCode).toBe(201);
  });
});

describe('limits', () => {
  it('an order totalling more than 10 billion yuan is refused with 422 and writes nothing', async () => {
    const { key } = await setup();
    const big = {
      external_id: 'too-big',
      buyer_external_id: 'rich',
      items: [
        { sku: 'a', quantity: 1, unit_price_fen: 1_000_000_000_000, paid_fen: 1_000_000_000_000 },
        { sku: 'b', quantity: 1, unit_price_fen: 1, paid_fen: 1 },
      ],
    };
    const res = await t.call('POST', '/v1/orders', { token: key, body: big });
    expect(res.statusCode).toBe(422);
    expect(res.data.error.code).toBe('limit_exceeded');
    expect((await t.call('GET', '/v1/orders/too-big', { token: key })).statusCode).toBe(404);
  });

  it('orders that would carry a balance past a trillion yuan are refused with 422; the others of their batch go through', async () => {
    const { key, b } = await setup({ levels: 0, sales: 10000 });
    await t.call('POST', '/v1/bindings', { token: key, body: { customer_external_id: 'whale', invite_code: b.invite_code } });
    // Each order pays B 10 billion yuan (100 %): the hundredth reaches the bound, the next passes it.
    const huge = (i: number) => ({
      external_id: `whale-${i}`,
      buyer_external_id: 'whale',
      items: [{ sku: 'x', quantity: 1, unit_price_fen: 1_000_000_000_000, paid_fen: 1_000_000_000_000 }],
    });
    const first = await Promise.all(Array.from({ length: 100 }, (_, i) => t.call('POST', '/v1/orders', { token: key, body: huge(i) })));
    expect(first.map((r) => r.statusCode)).toEqual(first.map(() => 201));
    const more = await Promise.all([100, 101, 102].map((i) => t.call('POST', '/v1/orders', { token: key, body: huge(i) })));
    expect(more.map((r) => r.statusCode)).toEqual([422, 422, 422]);
    expect(more[0]!.data.error.code).toBe('limit_exceeded');
    const small = await t.call('POST', '/v1/orders', {
      token: key,
      body: { external_id: 'whale-small', buyer_external_id: 'someone-else', items: [{ sku: 'x', quantity: 1, unit_price_fen: 100, paid_fen: 100 }] },
    });
    expect(small.statusCode).toBe(201);
    expect((await t.call('GET', `/v1/distributors/${b.id}/balance`, { token: key })).data.pending_fen).toBe(100 * 1_000_000_000_000);
    expect((await t.call('GET', '/v1/ledger/verify', { token: key })).data).toMatchObject({ ok: true });
  });
});
