/**
 * Group commit of order events through the API: events that arrive together form one batch (one
 * transaction) and each is answered as it would be alone; events of one order in a batch take
 * effect one after another; one event the database refuses fails alone; auto-receipt confirms
 * due orders by the hundred. And what it costs: the round trips per event, counted where the
 * server counts them (dbStats, fenxiao_db_queries_total on /metrics).
 *
 * Round trips per event (PGlite, a chain of three, two order lines: six commission lines):
 *                      before batching   alone   in a batch of 20
 *   shipped                  9             5           < 1
 *   shipped, with a key     11             5           < 1
 *   refunded               28             8           < 7
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.ts';
import { dbStats } from '../../src/db/counting.ts';
import type { ManualClock } from '../../src/core/context.ts';
import { rollupBreaks } from '../support/analytics.ts';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.close();
});

interface Order {
  id: string;
  external_id: string;
  status: string;
  paid_fen: number;
  refunded_fen: number;
  shipped_at: string | null;
  received_at: string | null;
  commissions: { beneficiary_id: string; amount_fen: number; status: string }[];
}

/** A tenant with levels 3 and the chain A ← B ← C; buyers bound to C. */
async function chainTenant() {
  const { id: tenantId, key } = await t.tenant();
  await t.call('PUT', '/v1/program', { token: key, body: { levels: 3 } });
  await t.call('PUT', '/v1/grades/default', { token: key, body: { name: '普通', rank: 0, sales_bp: 500, override_bp: [1000, 500, 200] } });
  let code: string | undefined;
  for (const name of ['A', 'B', 'C'])
    code = (await t.call('POST', '/v1/distributors', { token: key, body: { external_id: name, name, ...(code ? { referrer_code: code } : {}) } })).data
      .invite_code;
  for (const buyer of ['buyer', 'buyer-2']) await t.call('POST', '/v1/bindings', { token: key, body: { customer_external_id: buyer, invite_code: code } });
  const orders = async (n: number, prefix = 'o') => {
    const bodies = Array.from({ length: n }, (_, i) => ({
      external_id: `${prefix}-${i}`,
      buyer_external_id: i % 2 === 0 ? 'buyer' : 'buyer-2',
      items: [
        { sku: 'a', quantity: 2, unit_price_fen: 5_000, paid_fen: 10_000 + i },
        { sku: 'b', quantity: 1, unit_price_fen: 3_000, paid_fen: 3_000 },
      ],
    }));
    const created = await Promise.all(bodies.map((body) => t.call('POST', '/v1/orders', { token: key, body })));
    for (const r of created) expect(r.statusCode).toBe(201);
    return bodies.map((b) => b.external_id);
  };
  return { tenantId, key, orders };
}

const event = (key: string, externalId: string, body: Record<string, unknown>, idempotencyKey?: string) =>
  t.call('POST', `/v1/orders/${externalId}/events`, { token: key, body, ...(idempotencyKey ? { headers: { 'idempotency-key': idempotencyKey } } : {}) });

/** Round trips to the database while `f` runs (nothing else runs in this file meanwhile). */
async function roundTrips(f: () => Promise<unknown>): Promise<number> {
  const before = dbStats.queries;
  await f();
  return dbStats.queries - before;
}

describe('order events arriving together', () => {
  it('form batches; each is answered as if alone, events of one order in the order they came', async () => {
    const { key, orders } = await chainTenant();
    const ids = await orders(12);
    const before = t.services.orders.eventBatchStats();
    // Per order: shipped then received, sent at once; the first answer says shipped.
    const answers = await Promise.all(ids.flatMap((id) => [event(key, id, { type: 'shipped' }), event(key, id, { type: 'received' })]));
    const after = t.services.orders.eventBatchStats();
    expect(after.items - before.items).toBe(24);
    expect(after.batches - before.batches).toBeLessThan(24);
    expect(after.largest).toBeGreaterThan(1);
    for (const [k, r] of answers.entries()) {
      expect(r.statusCode).toBe(200);
      expect((r.data as Order).status).toBe(k % 2 === 0 ? 'shipped' : 'received');
    }
    // Each answer is what GET answers now for the last event of its order.
    for (const [k, id] of ids.entries()) expect((await t.call('GET', `/v1/orders/${id}`, { token: key })).data).toEqual(answers[2 * k + 1]!.data);

    // A batch of refunds, refused transitions, an unknown order and a replayed key, at once.
    const mixed = await Promise.all([
      event(key, ids[0]!, { type: 'refunded', refund_fen: 1_000 }, 'r-0'),
      event(key, ids[0]!, { type: 'refunded', refund_fen: 1_000 }, 'r-0'),
      event(key, ids[0]!, { type: 'refunded', refund_fen: 2_000 }, 'r-0'),
      event(key, ids[1]!, { type: 'refunded', refund_fen: 50_000 }),
      event(key, ids[1]!, { type: 'shipped' }),
      event(key, 'nope', { type: 'shipped' }),
      event(key, ids[2]!, { type: 'refunded', refund_fen: 13_002 }),
      event(key, ids[2]!, { type: 'refunded', refund_fen: 1 }),
      event(key, ids[3]!, { type: 'refunded', items: [{ sku: 'b', quantity: 1 }] }),
    ]);
    expect(mixed.map((r) => r.statusCode)).toEqual([200, 200, 409, 400, 409, 404, 200, 409, 200]);
    expect(mixed.map((r) => r.data.error?.code ?? null)).toEqual([
      null,
      null,
      'conflict',
      'invalid_request',
      'invalid_state',
      'not_found',
      null,
      'invalid_state',
      null,
    ]);
    expect(mixed[1]!.data).toEqual(mixed[0]!.data);
    expect((mixed[0]!.data as Order).refunded_fen).toBe(1_000);
    expect((mixed[6]!.data as Order).status).toBe('refunded');
    expect((mixed[6]!.data as Order).commissions.every((l) => l.status === 'reversed' && l.amount_fen === 0)).toBe(true);
    expect((mixed[8]!.data as Order).refunded_fen).toBe(3_000);
    // The key's answer is kept: sent again later, alone, it is the same answer.
    expect((await event(key, ids[0]!, { type: 'refunded', refund_fen: 1_000 }, 'r-0')).data).toEqual(mixed[0]!.data);
    expect((await t.call('GET', '/v1/ledger/verify', { token: key })).data).toMatchObject({ ok: true, breaks: [] });
  });

  it('one refund the database refuses midway fails alone: the rest of its batch is applied and answered', async () => {
    const { tenantId, key, orders } = await chainTenant();
    const ids = await orders(6, 'p');
    const poisoned = (
      await t.database.db.selectFrom('orders').select('id').where('tenant_id', '=', tenantId).where('external_id', '=', 'p-3').executeTakeFirstOrThrow()
    ).id;
    // A fault only the database sees, after the refund has begun writing (the buyer's row is
    // updated first): the batch rolls that event back to its savepoint and goes on.
    await sql
      .raw(
        `create or replace function fenxiao_test_poison_item() returns trigger language plpgsql as $$
      begin if new.order_id = '${poisoned}' and new.refunded_fen > old.refunded_fen then raise exception 'refused by the test'; end if; return new; end $$;
      drop trigger if exists fenxiao_test_poison_item on order_items;
      create trigger fenxiao_test_poison_item before update on order_items for each row execute function fenxiao_test_poison_item();`,
      )
      .execute(t.database.db);
    try {
      const answers = await Promise.all(
        ids.map((id, i) =>
          event(key, id, i === 2 ? { type: 'refunded', items: [{ sku: 'b', quantity: 1 }], reason: 'x' } : { type: 'refunded', refund_fen: 1_000 }),
        ),
      );
      expect(answers.map((r) => r.statusCode)).toEqual([200, 200, 200, 500, 200, 200]);
      expect((await t.call('GET', '/v1/orders/p-3', { token: key })).data.refunded_fen).toBe(0);
      // buyer-2 bought p-1, p-3 and p-5: of their refunds only p-1's and p-5's count.
      const buyer = await t.database.db
        .selectFrom('customers')
        .select('purchases_fen')
        .where('tenant_id', '=', tenantId)
        .where('external_id', '=', 'buyer-2')
        .executeTakeFirstOrThrow();
      expect(buyer.purchases_fen).toBe(13_001 + 13_003 + 13_005 - 2_000);
      for (const [i, id] of ids.entries()) {
        if (i !== 3) expect((await t.call('GET', `/v1/orders/${id}`, { token: key })).data).toEqual(answers[i]!.data);
      }
    } finally {
      await sql
        .raw('drop trigger if exists fenxiao_test_poison_item on order_items; drop function if exists fenxiao_test_poison_item();')
        .execute(t.database.db);
    }
    expect((await event(key, 'p-3', { type: 'refunded', refund_fen: 1_000 })).statusCode).toBe(200);
    expect((await t.call('GET', '/v1/ledger/verify', { token: key })).data).toMatchObject({ ok: true, breaks: [] });
  });

  it('a batch whose last statement fails is split until each event has its own answer', async () => {
    const { tenantId, key, orders } = await chainTenant();
    const ids = await orders(5, 's');
    const poisoned = (
      await t.database.db.selectFrom('orders').select('id').where('tenant_id', '=', tenantId).where('external_id', '=', 's-2').executeTakeFirstOrThrow()
    ).id;
    await sql
      .raw(
        `create or replace function fenxiao_test_poison_event() returns trigger language plpgsql as $$
      begin if new.order_id = '${poisoned}' and new.type = 'shipped' then raise exception 'refused by the test'; end if; return new; end $$;
      drop trigger if exists fenxiao_test_poison_event on order_events;
      create trigger fenxiao_test_poison_event before insert on order_events for each row execute function fenxiao_test_poison_event();`,
      )
      .execute(t.database.db);
    try {
      const answers = await Promise.all(ids.map((id) => event(key, id, { type: 'shipped' })));
      expect(answers.map((r) => r.statusCode)).toEqual([200, 200, 500, 200, 200]);
      expect((await t.call('GET', '/v1/orders/s-2', { token: key })).data.status).toBe('paid');
      expect((await t.call('GET', '/v1/orders/s-4', { token: key })).data.status).toBe('shipped');
    } finally {
      await sql
        .raw('drop trigger if exists fenxiao_test_poison_event on order_events; drop function if exists fenxiao_test_poison_event();')
        .execute(t.database.db);
    }
  });
});

describe('round trips per event', () => {
  it('shipped: 5 alone (9 before batching), under 1 in a batch of 20; a refund 8 alone (28 before), under 7 in a batch', async () => {
    const { key, orders } = await chainTenant();
    const ids = await orders(44, 'rt');
    const alone = await roundTrips(() => event(key, ids[0]!, { type: 'shipped' }));
    const aloneKeyed = await roundTrips(() => event(key, ids[1]!, { type: 'shipped' }, 'ship-1'));
    const batch = await roundTrips(() => Promise.all(ids.slice(2, 22).map((id) => event(key, id, { type: 'shipped' }, `ship-${id}`))));
    const refund = await roundTrips(() => event(key, ids[0]!, { type: 'refunded', refund_fen: 1_000 }));
    const refunds = await roundTrips(() => Promise.all(ids.slice(22, 42).map((id) => event(key, id, { type: 'refunded', refund_fen: 1_000 }))));
    const replay = await roundTrips(() => event(key, ids[1]!, { type: 'shipped' }, 'ship-1'));
    console.log(
      `round trips per event: shipped ${alone} alone, ${aloneKeyed} with a key, ${batch / 20} in a batch of 20; refunded ${refund} alone, ${refunds / 20} in a batch of 20; a replayed key ${replay}`,
    );
    expect(alone).toBeLessThanOrEqual(5);
    expect(aloneKeyed).toBeLessThanOrEqual(5);
    expect(batch / 20).toBeLessThan(1);
    expect(refund).toBeLessThanOrEqual(8);
    expect(refunds / 20).toBeLessThan(7);
    expect(replay).toBeLessThanOrEqual(4);
    expect((await t.call('GET', '/v1/ledger/verify', { token: key })).data).toMatchObject({ ok: true, breaks: [] });
  });

  it('an order alone: six round trips, its rollups in its ledger statement (seven while the slot rows had their own)', async () => {
    const { tenantId, key, orders } = await chainTenant();
    // Warm: the program, rules and grades are read once and kept; the statements get their names.
    await orders(4, 'warm');
    const body = (id: string) => ({
      external_id: id,
      buyer_external_id: 'buyer',
      items: [
        { sku: 'a', quantity: 2, unit_price_fen: 5_000, paid_fen: 10_000 },
        { sku: 'b', quantity: 1, unit_price_fen: 3_000, paid_fen: 3_000 },
      ],
    });
    const trips: number[] = [];
    for (const id of ['rt-1', 'rt-2', 'rt-3']) {
      trips.push(await roundTrips(async () => expect((await t.call('POST', '/v1/orders', { token: key, body: body(id) })).statusCode).toBe(201)));
    }
    console.log(`round trips per order alone: ${trips.join(', ')}`);
    // BEGIN (with the batch's plan setting), the buyers (with the rules' version and the orders
    // that exist), the distributors, the order with its items and lines, the ledger with the
    // sales, the daily totals and every rollup row, COMMIT.
    expect(Math.max(...trips)).toBeLessThanOrEqual(6);
    // Every rollup, the slot rows of the day included, equals the base tables.
    const tz = (await t.call('GET', '/v1/program', { token: key })).data.timezone as string;
    expect(await rollupBreaks(t.database.db, tenantId, tz)).toEqual([]);
    expect((await t.call('GET', '/v1/ledger/verify', { token: key })).data).toMatchObject({ ok: true, breaks: [] });
  });

  it('auto-receipt: a statement per 100 due orders, each received auto_receive_days after it shipped, with its event', async () => {
    const { tenantId, key, orders } = await chainTenant();
    const ids = await orders(150, 'ar');
    const clock = t.clock as ManualClock;
    const shippedAt = clock.now().toISOString();
    await Promise.all(ids.slice(0, 140).map((id) => event(key, id, { type: 'shipped', at: shippedAt })));
    clock.advance(15 * 86_400_000);
    const trips = await roundTrips(async () => {
      expect(await t.services.orders.autoReceive(tenantId, clock.now())).toEqual({ received: 140 });
    });
    // The program, whether an endpoint wants order.received (none here), then two statements of at most 100 orders.
    expect(trips).toBeLessThanOrEqual(4);
    const received = new Date(new Date(shippedAt).getTime() + 15 * 86_400_000).toISOString();
    const order = (await t.call('GET', `/v1/orders/${ids[7]}`, { token: key })).data as Order;
    expect(order).toMatchObject({ status: 'received', received_at: received });
    expect((await t.call('GET', `/v1/orders/${ids[145]}`, { token: key })).data.status).toBe('paid');
    const events = await t.database.db
      .selectFrom('order_events')
      .select(['type', 'at', 'actor_type', 'actor_id', 'details'])
      .where('tenant_id', '=', tenantId)
      .where('type', '=', 'received')
      .execute();
    expect(events).toHaveLength(140);
    for (const e of events)
      expect({ ...e, at: e.at.toISOString() }).toEqual({ type: 'received', at: received, actor_type: 'system', actor_id: 'auto-receive', details: {} });
    expect((await t.call('POST', '/v1/jobs/auto-receive', { token: key, body: {} })).data).toEqual({ received: 0 });
  });
});
