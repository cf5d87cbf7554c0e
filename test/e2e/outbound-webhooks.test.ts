/**
 * Outbound webhooks end to end (CONTRACT.md, "Outbound webhooks"), on PGlite and on PostgreSQL:
 * endpoints, the signed envelope, retries that keep the event id on the backoff's schedule
 * (the clock is moved, nothing sleeps), a receiver that was down getting everything afterwards in
 * order per object, nothing for a transaction that rolled back, rotation, disable/enable,
 * replay, and the SSRF guard with a hosts table of the test's own (no real DNS is asked).
 */
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { startTestServer, type TestServer } from '../support/server.ts';
import { startReceiver, verifyFenxiaoSignature, type Receiver } from '../support/receiver.ts';
import { ManualClock } from '../../src/core/context.ts';
import { inTransaction } from '../../src/db/database.ts';
import type { JsonBody } from '../support/json.ts';
import { portalSession } from '../security/world.ts';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { addFenxiaoFormats } from '../../src/core/formats.ts';
import { TEST_EVENT_TYPE, WEBHOOK_EVENT_TYPES, WEBHOOK_PAYLOAD_VERSION } from '../../src/modules/webhooks/schema.ts';

let t: TestServer;
let rx: Receiver;
const clock = new ManualClock('2026-03-01T08:00:00Z');

beforeAll(async () => {
  rx = await startReceiver();
  t = await startTestServer({ clock, env: { FENXIAO_WEBHOOKS_ALLOW_PRIVATE: '1' } });
});
afterAll(async () => {
  await t?.close();
  await rx?.close();
});

const ok = <R extends { statusCode: number; body: string }>(r: R): R => {
  if (r.statusCode >= 300) throw new Error(`${r.statusCode} ${r.body}`);
  return r;
};

/** A merchant with one level at 10%, freeze 0, a distributor A, and an endpoint at the receiver. */
async function merchant(
  events: string[] = ['order.credited', 'commission.available', 'statement.approved', 'withdrawal.paid', 'withdrawal.failed', 'distributor.approved'],
) {
  const { id: tenantId, key } = await t.tenant('网店');
  ok(await t.call('PUT', '/v1/program', { token: key, body: { levels: 1, freeze_days: 0 } }));
  ok(await t.call('PUT', '/v1/grades/default', { token: key, body: { name: '普通', rank: 0, sales_bp: 1000, override_bp: [0] } }));
  const a = ok(await t.call('POST', '/v1/distributors', { token: key, body: { external_id: 'A', name: 'A' } })).data;
  const ep = await t.call('POST', '/v1/webhook-endpoints', { token: key, body: { url: rx.url, events } });
  expect(ep.statusCode).toBe(201);
  return { tenantId, key, a, ep: ep.data as { id: string; secret: string } };
}

async function order(key: string, externalId: string, inviteCode: string, paid = 10000) {
  return ok(
    await t.call('POST', '/v1/orders', {
      token: key,
      body: {
        external_id: externalId,
        buyer_external_id: `buyer-${externalId}`,
        invite_code: inviteCode,
        items: [{ sku: 'S', quantity: 1, unit_price_fen: paid, paid_fen: paid }],
      },
    }),
  ).data;
}

/** Runs delivery passes, moving the clock `stepMs` between them, until nothing is due for `hours`. */
async function drain(hours = 30, stepMs = 5 * 60_000) {
  const until = clock.now().getTime() + hours * 3_600_000;
  while (clock.now().getTime() < until) {
    await t.webhookWorker.runOnce();
    clock.advance(stepMs);
  }
}

async function attempts(key: string, endpointId: string): Promise<JsonBody[]> {
  const r = await t.call('GET', `/v1/webhook-endpoints/${endpointId}/deliveries?limit=200`, { token: key });
  expect(r.statusCode).toBe(200);
  return r.data.items;
}

describe('endpoints', () => {
  it('creates an endpoint with a secret shown once, lists it without, refuses bad input and other tenants', async () => {
    const { key, ep } = await merchant(['order.credited']);
    expect(ep).toMatchObject({ id: expect.stringMatching(/^whe_/), url: rx.url, events: ['order.credited'] });
    expect(ep.secret.length).toBeGreaterThanOrEqual(16);
    const listed = (await t.call('GET', '/v1/webhook-endpoints', { token: key })).data.items;
    expect(listed).toHaveLength(1);
    expect(listed[0].secret).toBeUndefined();
    expect(listed[0].secret_hint).toBe(ep.secret.slice(-4));
    for (const body of [
      { url: 'ftp://example.com/x', events: ['order.credited'] },
      { url: 'not a url at all', events: ['order.credited'] },
      { url: rx.url, events: ['order.nope'] },
      { url: rx.url, events: [] },
      { url: rx.url, events: ['order.credited'], extra: 1 },
    ]) {
      const r = await t.call('POST', '/v1/webhook-endpoints', { token: key, body });
      expect(r.statusCode, JSON.stringify(body)).toBe(400);
      expect(r.data.error.code).toBe('invalid_request');
    }
    expect((await t.call('GET', '/v1/webhook-endpoints', { token: key })).data.items).toHaveLength(1);
    const other = await t.tenant('别家');
    expect((await t.call('GET', `/v1/webhook-endpoints/${ep.id}`, { token: other.key })).statusCode).toBe(404);
    expect((await t.call('GET', `/v1/webhook-endpoints/${ep.id}/deliveries`, { token: other.key })).statusCode).toBe(404);
    expect((await t.call('POST', '/v1/webhook-endpoints', { body: { url: rx.url, events: ['order.credited'] } })).statusCode).toBe(401);
  });
});

describe('delivery', () => {
  it('order.credited carries the order as GET answers it, signed with the endpoint secret, with Fenxiao-Event-Id', async () => {
    const { key, a, ep } = await merchant(['order.credited']);
    rx.answer(200);
    const o = await order(key, 'oc-1', a.invite_code);
    await t.webhookWorker.runOnce();
    const got = rx.got.filter((g) => g.body.type === 'order.credited' && (g.body.data as { external_id?: string }).external_id === 'oc-1');
    expect(got).toHaveLength(1);
    const [g] = got;
    expect(g!.headers['fenxiao-event-id']).toBe(g!.body.id);
    expect(g!.headers['content-type']).toBe('application/json');
    expect(verifyFenxiaoSignature(g!.headers['fenxiao-signature'] as string, g!.raw, ep.secret)).toBe(true);
    expect(verifyFenxiaoSignature(g!.headers['fenxiao-signature'] as string, g!.raw, ep.secret + 'x')).toBe(false);
    expect(verifyFenxiaoSignature(g!.headers['fenxiao-signature'] as string, g!.raw.replace('oc-1', 'oc-2'), ep.secret)).toBe(false);
    expect(Object.keys(g!.body).sort()).toEqual(['created_at', 'data', 'id', 'type']);
    const now = (await t.call('GET', '/v1/orders/oc-1', { token: key })).data;
    expect(g!.body.data).toEqual(now);
    expect(g!.body.data).toMatchObject({ id: o.id, commissions: [{ beneficiary_id: a.id, amount_fen: 1000 }] });
    const log = await attempts(key, ep.id);
    expect(log[0]).toMatchObject({
      event_id: g!.body.id,
      event_type: 'order.credited',
      status: 'succeeded',
      http_status: 200,
      attempt: 1,
      delivery_status: 'delivered',
    });
  });

  it('a failed delivery is retried with the same event id, the first retry within 30 s, then backing off', async () => {
    const { key, a, ep } = await merchant(['order.credited']);
    rx.answer(500);
    await order(key, 'rt-1', a.invite_code);
    const before = rx.got.length;
    await t.webhookWorker.runOnce();
    expect(rx.got.length).toBe(before + 1);
    const eventId = rx.got.at(-1)!.body.id;
    let log = await attempts(key, ep.id);
    expect(log).toHaveLength(1);
    expect(log[0]).toMatchObject({ event_id: eventId, status: 'failed', http_status: 500, delivery_status: 'pending' });
    const firstRetry = new Date(log[0]!.next_attempt_at).getTime() - clock.now().getTime();
    expect(firstRetry).toBeGreaterThan(0);
    expect(firstRetry).toBeLessThanOrEqual(30_000);
    // Not due yet: nothing is sent.
    await t.webhookWorker.runOnce();
    expect(rx.got.length).toBe(before + 1);
    // Due: sent again with the same id; it fails again and waits longer.
    clock.advance(firstRetry);
    await t.webhookWorker.runOnce();
    expect(rx.got.length).toBe(before + 2);
    log = await attempts(key, ep.id);
    const second = new Date(log[0]!.next_attempt_at).getTime() - clock.now().getTime();
    expect(second).toBeGreaterThan(firstRetry);
    // A timeout or a refused connection is a failure like a 500; a 3xx is not followed.
    rx.answer(302);
    clock.advance(second);
    await t.webhookWorker.runOnce();
    rx.answer(200);
    await drain(1, 60_000);
    const sent = rx.got.slice(before).map((g) => g.body.id);
    expect(new Set(sent)).toEqual(new Set([eventId]));
    log = await attempts(key, ep.id);
    expect(log.map((x) => [x.attempt, x.status, x.http_status])).toEqual([
      [4, 'succeeded', 200],
      [3, 'failed', 302],
      [2, 'failed', 500],
      [1, 'failed', 500],
    ]);
    expect(new Set(log.map((x) => x.event_id))).toEqual(new Set([eventId]));
  });

  it('a receiver down for a while gets every event afterwards, each object’s in the order they happened', async () => {
    const { key, a, ep } = await merchant();
    rx.answer(503);
    const before = rx.got.length;
    const orders = ['dn-1', 'dn-2', 'dn-3'];
    for (const ext of orders) await order(key, ext, a.invite_code);
    // Receipt, then a settlement run: each order's commission.available, and a statement.approved.
    for (const ext of orders) ok(await t.call('POST', `/v1/orders/${ext}/events`, { token: key, body: { type: 'received' } }));
    clock.advance(60_000);
    ok(await t.call('POST', '/v1/settlements/run', { token: key, body: { as_of: clock.now().toISOString() } }));
    // Three hours down.
    const downUntil = clock.now().getTime() + 3 * 3_600_000;
    while (clock.now().getTime() < downUntil) {
      await t.webhookWorker.runOnce();
      clock.advance(60_000);
    }
    const whileDown = rx.got.slice(before);
    expect(whileDown.length).toBeGreaterThan(0);
    // While an order's order.credited failed, its commission.available was never tried.
    expect(whileDown.filter((g) => g.body.type === 'commission.available')).toEqual([]);
    rx.answer(200);
    await drain(6);
    const delivered = rx.got.slice(before).filter((g) => g.answered === 200);
    const types = delivered.map((g) => g.body.type);
    expect(types.filter((x) => x === 'order.credited')).toHaveLength(3);
    expect(types.filter((x) => x === 'commission.available')).toHaveLength(3);
    expect(types.filter((x) => x === 'statement.approved')).toHaveLength(1);
    // Once each: no event delivered twice.
    expect(new Set(delivered.map((g) => g.body.id)).size).toBe(delivered.length);
    for (const ext of orders) {
      const ofOrder = delivered.filter(
        (g) =>
          (g.body.data as { external_id?: string; order_external_id?: string }).external_id === ext ||
          (g.body.data as { order_external_id?: string }).order_external_id === ext,
      );
      expect(ofOrder.map((g) => g.body.type)).toEqual(['order.credited', 'commission.available']);
    }
    const st = delivered.find((g) => g.body.type === 'statement.approved')!;
    expect(st.body.data).toMatchObject({ distributor_id: a.id, amount_fen: 3000, status: 'approved' });
    // The log says the same: every delivery ends delivered.
    expect((await attempts(key, ep.id)).filter((x) => x.delivery_status !== 'delivered')).toEqual([]);
  });

  it('nothing is recorded or sent for a transaction that rolled back', async () => {
    const { tenantId, key, a, ep } = await merchant(['distributor.approved']);
    rx.answer(200);
    const before = rx.got.length;
    // The payload a real distributor.approved carries (the last test checks every payload against its schema).
    const data = (await t.call('GET', `/v1/distributors/${a.id}`, { token: key })).data;
    await expect(
      inTransaction(t.services.db, async (tx) => {
        await sql`update distributors set status = 'active' where id = ${a.id}`.execute(tx);
        await t.services.outbox.record(tx, tenantId, [{ type: 'distributor.approved', objectType: 'distributor', objectId: a.id, data }]);
        throw new Error('the cause failed after its event was recorded');
      }),
    ).rejects.toThrow('the cause failed');
    await t.webhookWorker.runOnce();
    expect(rx.got.length).toBe(before);
    const rows = await t.services.db.selectFrom('webhook_events').select('id').where('tenant_id', '=', tenantId).execute();
    expect(rows).toEqual([]);
    expect(await attempts(key, ep.id)).toEqual([]);
    // The same event in a transaction that commits is sent.
    await inTransaction(t.services.db, (tx) =>
      t.services.outbox.record(tx, tenantId, [{ type: 'distributor.approved', objectType: 'distributor', objectId: a.id, data }]),
    );
    await t.webhookWorker.runOnce();
    expect(rx.got.length).toBe(before + 1);
  });

  it('distributor.approved and withdrawal.paid / withdrawal.failed come from their own transactions', async () => {
    const { key, a } = await merchant();
    ok(await t.call('PUT', '/v1/program', { token: key, body: { admission: 'review', withdrawal: { min_fen: 100, fee_bp: 0, auto_approve_max_fen: 0 } } }));
    rx.answer(200);
    const before = rx.got.length;
    const p = ok(await t.call('POST', '/v1/distributors', { token: key, body: { external_id: 'P', name: 'P' } })).data;
    expect(p.status).toBe('pending');
    ok(await t.call('POST', `/v1/distributors/${p.id}/approve`, { token: key }));
    await order(key, 'wd-1', a.invite_code, 100000);
    ok(await t.call('POST', '/v1/orders/wd-1/events', { token: key, body: { type: 'received' } }));
    clock.advance(60_000);
    ok(await t.call('POST', '/v1/settlements/run', { token: key, body: { as_of: clock.now().toISOString() } }));
    const w1 = ok(
      await t.call('POST', '/v1/withdrawals', {
        token: key,
        headers: { 'idempotency-key': `w1-${Date.now()}` },
        body: { distributor_id: a.id, amount_fen: 3000, channel: 'manual' },
      }),
    ).data;
    const w2 = ok(
      await t.call('POST', '/v1/withdrawals', {
        token: key,
        headers: { 'idempotency-key': `w2-${Date.now()}` },
        body: { distributor_id: a.id, amount_fen: 2000, channel: 'manual' },
      }),
    ).data;
    for (const w of [w1, w2]) ok(await t.call('POST', `/v1/withdrawals/${w.id}/approve`, { token: key }));
    ok(await t.call('POST', `/v1/withdrawals/${w1.id}/complete`, { token: key, body: { reference: 'BANK-1' } }));
    ok(await t.call('POST', `/v1/withdrawals/${w2.id}/fail`, { token: key, body: { reason: 'wrong account' } }));
    await drain(0.1, 10_000);
    const got = rx.got.slice(before);
    expect(got.find((g) => g.body.type === 'distributor.approved')?.body.data).toMatchObject({ id: p.id, status: 'active' });
    expect(got.find((g) => g.body.type === 'withdrawal.paid')?.body.data).toMatchObject({ id: w1.id, status: 'paid', amount_fen: 3000 });
    expect(got.find((g) => g.body.type === 'withdrawal.failed')?.body.data).toMatchObject({ id: w2.id, status: 'failed', amount_fen: 2000 });
  });
});

describe('the rest of the catalogue', () => {
  it('order events, withdrawal requests and reviews, statement rejection, applications and suspensions, each with its object', async () => {
    const all = [
      'order.shipped',
      'order.received',
      'order.refunded',
      'order.cancelled',
      'order.closed',
      'withdrawal.requested',
      'withdrawal.approved',
      'withdrawal.rejected',
      'statement.rejected',
      'distributor.applied',
      'distributor.suspended',
    ];
    const { key, a } = await merchant(all);
    ok(await t.call('PUT', '/v1/program', { token: key, body: { admission: 'review', review_threshold_fen: 0 } }));
    rx.answer(200);
    const before = rx.got.length;
    await order(key, 'cat-1', a.invite_code, 50000);
    await order(key, 'cat-2', a.invite_code, 1000);
    ok(await t.call('POST', '/v1/orders/cat-1/events', { token: key, body: { type: 'shipped' } }));
    ok(await t.call('POST', '/v1/orders/cat-1/events', { token: key, body: { type: 'received' } }));
    ok(await t.call('POST', '/v1/orders/cat-1/events', { token: key, body: { type: 'refunded', refund_fen: 10000 } }));
    ok(await t.call('POST', '/v1/orders/cat-2/events', { token: key, body: { type: 'cancelled' } }));
    ok(
      await t.call('POST', '/v1/orders', {
        token: key,
        body: {
          external_id: 'cat-3',
          buyer_external_id: 'buyer-cat-3',
          status: 'pending_payment',
          items: [{ sku: 'S', quantity: 1, unit_price_fen: 10, paid_fen: 10 }],
        },
      }),
    );
    ok(await t.call('POST', '/v1/orders/cat-3/events', { token: key, body: { type: 'closed' } }));
    const afterRefund = (await t.call('GET', '/v1/orders/cat-1', { token: key })).data;
    clock.advance(60_000);
    const st = ok(await t.call('POST', '/v1/settlements/run', { token: key, body: { as_of: clock.now().toISOString() } })).data.statements[0];
    expect(st.status).toBe('pending_review');
    ok(await t.call('POST', `/v1/statements/${st.id}/reject`, { token: key, body: { reason: 'check it', lines: 'available' } }));
    const again = ok(await t.call('POST', '/v1/settlements/run', { token: key, body: { as_of: clock.now().toISOString() } })).data.statements[0];
    ok(await t.call('POST', `/v1/statements/${again.id}/approve`, { token: key }));
    const w1 = ok(
      await t.call('POST', '/v1/withdrawals', {
        token: key,
        headers: { 'idempotency-key': 'cat-w1' },
        body: { distributor_id: a.id, amount_fen: 1000, channel: 'manual' },
      }),
    ).data;
    const w2 = ok(
      await t.call('POST', '/v1/withdrawals', {
        token: key,
        headers: { 'idempotency-key': 'cat-w2' },
        body: { distributor_id: a.id, amount_fen: 1000, channel: 'manual' },
      }),
    ).data;
    ok(await t.call('POST', `/v1/withdrawals/${w1.id}/approve`, { token: key }));
    ok(await t.call('POST', `/v1/withdrawals/${w2.id}/reject`, { token: key, body: { reason: 'no' } }));
    const p = ok(await t.call('POST', '/v1/distributors', { token: key, body: { external_id: 'P2', name: 'P2' } })).data;
    ok(await t.call('POST', `/v1/distributors/${a.id}/suspend`, { token: key, body: { reason: 'paused' } }));
    await drain(0.05, 10_000);
    const got = rx.got.slice(before);
    const of = (type: string) => got.filter((g) => g.body.type === type).map((g) => g.body.data as Record<string, unknown>);
    expect(of('order.shipped')).toMatchObject([{ external_id: 'cat-1', status: 'shipped', event: { type: 'shipped' } }]);
    expect(of('order.received')).toMatchObject([{ external_id: 'cat-1', status: 'received' }]);
    expect(of('order.refunded')).toMatchObject([{ external_id: 'cat-1', refunded_fen: 10000, event: { type: 'refunded', refund_fen: 10000 } }]);
    expect(of('order.cancelled')).toMatchObject([{ external_id: 'cat-2' }]);
    expect(of('order.closed')).toMatchObject([{ external_id: 'cat-3', status: 'closed', paid_at: null, event: { type: 'closed' } }]);
    // order.refunded carried the order as GET answered it right after the refund.
    const { event: _event, ...refunded } = of('order.refunded')[0]!;
    expect(refunded).toEqual(afterRefund);
    expect(of('statement.rejected')).toMatchObject([{ id: st.id, status: 'rejected' }]);
    expect(of('withdrawal.requested').map((w) => w.id)).toEqual([w1.id, w2.id]);
    expect(of('withdrawal.approved')).toMatchObject([{ id: w1.id, status: 'approved' }]);
    expect(of('withdrawal.rejected')).toMatchObject([{ id: w2.id, status: 'rejected' }]);
    expect(of('distributor.applied')).toMatchObject([{ id: p.id, status: 'pending' }]);
    expect(of('distributor.suspended')).toMatchObject([{ id: a.id, status: 'suspended' }]);
    // Of one order, in the order they happened.
    const cat1 = got.filter((g) => (g.body.data as { external_id?: string }).external_id === 'cat-1').map((g) => g.body.type);
    expect(cat1).toEqual(['order.shipped', 'order.received', 'order.refunded']);
  });
});

describe('unpaid orders', () => {
  it('order.credited when an unpaid order is paid, not when it arrives unpaid', async () => {
    const { key, a } = await merchant(['order.credited']);
    rx.answer(200);
    const before = rx.got.length;
    const unpaid = {
      external_id: 'unpaid-1',
      buyer_external_id: 'buyer-unpaid-1',
      invite_code: a.invite_code,
      items: [{ sku: 'S', quantity: 1, unit_price_fen: 5000, paid_fen: 5000 }],
    };
    ok(await t.call('POST', '/v1/orders', { token: key, body: { ...unpaid, status: 'pending_payment' } }));
    const paid = ok(await t.call('POST', '/v1/orders', { token: key, body: unpaid })).data;
    await drain(0.05, 10_000);
    const got = rx.got.slice(before).filter((g) => g.body.type === 'order.credited');
    expect(got.map((g) => g.body.data)).toEqual([paid]);
    expect(paid.status).toBe('paid');
  });
});

describe('receipt by the scheduler or a carrier, and risk events', () => {
  it("order.received when the auto-receipt job confirms receipt: the order as GET answers it, in the job's transaction", async () => {
    const { tenantId, key, a } = await merchant(['order.received']);
    rx.answer(200);
    const before = rx.got.length;
    await order(key, 'auto-1', a.invite_code);
    await order(key, 'auto-2', a.invite_code);
    ok(await t.call('POST', '/v1/orders/auto-1/events', { token: key, body: { type: 'shipped' } }));
    ok(await t.call('POST', '/v1/orders/auto-2/events', { token: key, body: { type: 'shipped' } }));
    // Received by the buyer before the job runs: the job does not announce it again.
    ok(await t.call('POST', '/v1/orders/auto-2/events', { token: key, body: { type: 'received' } }));
    clock.advance(16 * 86_400_000); // past the default auto_receive_days (15)
    expect(await t.services.orders.autoReceive(tenantId, clock.now())).toEqual({ received: 1 });
    expect(await t.services.orders.autoReceive(tenantId, clock.now())).toEqual({ received: 0 });
    await drain(0.05, 10_000);
    const got = rx.got.slice(before).filter((g) => g.body.type === 'order.received');
    expect(got.map((g) => (g.body.data as { external_id: string }).external_id).sort()).toEqual(['auto-1', 'auto-2']);
    const auto = got.find((g) => (g.body.data as { external_id: string }).external_id === 'auto-1')!;
    const { event, ...data } = auto.body.data as Record<string, unknown>;
    expect(data).toEqual((await t.call('GET', '/v1/orders/auto-1', { token: key })).data);
    expect(data.status).toBe('received');
    expect(event).toEqual({ type: 'received', at: data.received_at, refund_fen: null });
  });

  it('order.received when a signed 签收 push marks the order received, once however often it is pushed', async () => {
    const { tenantId, key, a } = await merchant(['order.shipped', 'order.received']);
    rx.answer(200);
    const before = rx.got.length;
    await order(key, 'trk-1', a.invite_code);
    ok(await t.call('PUT', '/v1/orders/trk-1/tracking', { token: key, body: { carrier: 'sf', tracking_number: 'SF100200300' } }));
    const secret = ok(await t.call('POST', '/v1/logistics/secret', { token: key })).data.secret as string;
    const push = (body: object) => {
      const raw = JSON.stringify(body);
      const ts = Math.floor(clock.now().getTime() / 1000);
      const sig = `v1=${createHmac('sha256', secret).update(`${ts}.${raw}`).digest('hex')}`;
      return t.call('POST', `/v1/logistics/${tenantId}/generic`, { rawBody: raw, headers: { 'x-fenxiao-timestamp': String(ts), 'x-fenxiao-signature': sig } });
    };
    expect(ok(await push({ event_id: 'p1', tracking_number: 'SF100200300', status: 'shipped' })).data.outcome).toBe('applied');
    expect(ok(await push({ event_id: 'p2', tracking_number: 'SF100200300', status: 'signed' })).data.outcome).toBe('applied');
    expect(ok(await push({ event_id: 'p2', tracking_number: 'SF100200300', status: 'signed' })).data.outcome).toBe('duplicate');
    expect(ok(await push({ event_id: 'p3', tracking_number: 'SF100200300', status: 'signed' })).data.outcome).toBe('ignored');
    await drain(0.05, 10_000);
    const got = rx.got.slice(before).filter((g) => (g.body.data as { external_id?: string }).external_id === 'trk-1');
    expect(got.map((g) => g.body.type)).toEqual(['order.shipped', 'order.received']);
    const { event, ...data } = got[1]!.body.data as Record<string, unknown>;
    expect(data).toEqual((await t.call('GET', '/v1/orders/trk-1', { token: key })).data);
    expect(data).toMatchObject({ status: 'received', tracking_number: 'SF100200300' });
    expect(event).toMatchObject({ type: 'received' });
  });

  it('risk_event.opened when the order path opens a risk event (a cap cut a line), as the risk events list shows it', async () => {
    const { key, a } = await merchant(['risk_event.opened']);
    ok(await t.call('PUT', '/v1/program', { token: key, body: { caps: { per_order_fen: 300 } } }));
    rx.answer(200);
    const before = rx.got.length;
    await order(key, 'cap-1', a.invite_code, 10000); // 10% = 1000 fen, cut to 300
    await drain(0.05, 10_000);
    const got = rx.got.slice(before).filter((g) => g.body.type === 'risk_event.opened');
    const listed = (await t.call('GET', '/v1/risk-events', { token: key })).data.items as JsonBody[];
    expect(listed.map((e) => e.kind)).toContain('cap_hit');
    expect(got.map((g) => g.body.data)).toEqual(listed);
    expect(got[0]!.body.data).toMatchObject({ kind: 'cap_hit', status: 'open' });
  });

  it('risk_event.opened for a shared identity, and nothing when the rule blocks the change and it rolls back', async () => {
    const { tenantId, key } = await merchant(['risk_event.opened']);
    rx.answer(200);
    const before = rx.got.length;
    ok(await t.call('POST', '/v1/distributors', { token: key, body: { external_id: 'S1', name: 'S1', phone: '13800138000' } }));
    ok(await t.call('PUT', '/v1/program', { token: key, body: { risk: { shared_identity: { enabled: true, effect: 'block' } } } }));
    const refused = await t.call('POST', '/v1/distributors', { token: key, body: { external_id: 'S2', name: 'S2', phone: '13800138000' } });
    expect(refused.statusCode).toBeGreaterThanOrEqual(400);
    expect(refused.data.error.code).toBe('risk_blocked');
    await drain(0.05, 10_000);
    expect(rx.got.slice(before).filter((g) => g.body.type === 'risk_event.opened')).toEqual([]);
    const none = await t.services.db.selectFrom('webhook_events').select('id').where('tenant_id', '=', tenantId).execute();
    expect(none).toEqual([]);

    ok(await t.call('PUT', '/v1/program', { token: key, body: { risk: { shared_identity: { enabled: true, effect: 'flag' } } } }));
    const s3 = ok(await t.call('POST', '/v1/distributors', { token: key, body: { external_id: 'S3', name: 'S3', phone: '13800138000' } })).data;
    await drain(0.05, 10_000);
    const got = rx.got.slice(before).filter((g) => g.body.type === 'risk_event.opened');
    expect(got).toHaveLength(1);
    const listed = (await t.call('GET', '/v1/risk-events', { token: key })).data.items as JsonBody[];
    expect(listed).toHaveLength(1);
    expect(got[0]!.body.data).toEqual(listed[0]);
    expect(got[0]!.body.data).toMatchObject({ kind: 'shared_identity', severity: 'flag', status: 'open', subject_id: s3.id });
  });
});

describe('managing an endpoint', () => {
  it('rotation: both secrets sign during the grace period, then only the new one', async () => {
    const { key, a, ep } = await merchant(['order.credited']);
    rx.answer(200);
    const rotated = await t.call('POST', `/v1/webhook-endpoints/${ep.id}/rotate-secret`, { token: key, body: { grace_hours: 1 } });
    expect(rotated.statusCode).toBe(200);
    const fresh = rotated.data.secret as string;
    expect(fresh).not.toBe(ep.secret);
    await order(key, 'rot-1', a.invite_code);
    await t.webhookWorker.runOnce();
    const g = rx.got.at(-1)!;
    expect(verifyFenxiaoSignature(g.headers['fenxiao-signature'] as string, g.raw, fresh)).toBe(true);
    expect(verifyFenxiaoSignature(g.headers['fenxiao-signature'] as string, g.raw, ep.secret)).toBe(true);
    clock.advance(3_600_001);
    await order(key, 'rot-2', a.invite_code);
    await t.webhookWorker.runOnce();
    const h = rx.got.at(-1)!;
    expect(verifyFenxiaoSignature(h.headers['fenxiao-signature'] as string, h.raw, fresh)).toBe(true);
    expect(verifyFenxiaoSignature(h.headers['fenxiao-signature'] as string, h.raw, ep.secret)).toBe(false);
  });

  it("an endpoint whose secret this server cannot decrypt fails alone, with the reason; the tenant's other endpoint gets its event", async () => {
    const { key, a, ep } = await merchant(['order.credited']);
    const other = ok(await t.call('POST', '/v1/webhook-endpoints', { token: key, body: { url: `${rx.url}?other`, events: ['order.credited'] } })).data as {
      id: string;
    };
    rx.answer(200);
    // As if the endpoint had been made under another master key.
    await sql`update webhook_endpoints set secret_enc = ${'v1:' + 'A'.repeat(60)} where id = ${ep.id}`.execute(t.database.db);
    const before = rx.got.length;
    await order(key, 'unreadable-1', a.invite_code);
    await t.webhookWorker.runOnce();
    expect(rx.got.slice(before).map((g) => (g.body.data as { external_id: string }).external_id)).toEqual(['unreadable-1']);
    expect((await attempts(key, other.id)).map((x) => x.status)).toEqual(['succeeded']);
    const failed = await attempts(key, ep.id);
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ status: 'failed', http_status: null, delivery_status: 'pending' });
    expect(failed[0]!.error).toContain('cannot be decrypted');
  });

  it('a disabled endpoint keeps its deliveries waiting; enabled again, they go out', async () => {
    const { key, a, ep } = await merchant(['order.credited']);
    rx.answer(200);
    expect((await t.call('PATCH', `/v1/webhook-endpoints/${ep.id}`, { token: key, body: { enabled: false } })).data.enabled).toBe(false);
    // Disabled endpoints are not subscribed: events meanwhile are not recorded for them.
    const before = rx.got.length;
    await order(key, 'dis-1', a.invite_code);
    await t.webhookWorker.runOnce();
    expect(rx.got.length).toBe(before);
    expect((await t.call('PATCH', `/v1/webhook-endpoints/${ep.id}`, { token: key, body: { enabled: true } })).data.enabled).toBe(true);
    await order(key, 'dis-2', a.invite_code);
    await t.webhookWorker.runOnce();
    expect(rx.got.slice(before).map((g) => (g.body.data as { external_id: string }).external_id)).toEqual(['dis-2']);
  });

  it('replays one event, or a time range, with the same event ids; a test send reaches the endpoint', async () => {
    const { key, a, ep } = await merchant(['order.credited']);
    rx.answer(200);
    const from = clock.now().toISOString();
    await order(key, 'rp-1', a.invite_code);
    clock.advance(1000);
    await order(key, 'rp-2', a.invite_code);
    await t.webhookWorker.runOnce();
    const first = rx.got.slice(-2).map((g) => g.body.id);
    const before = rx.got.length;
    const one = await t.call('POST', `/v1/webhook-endpoints/${ep.id}/events/${first[0]}/replay`, { token: key });
    expect(one.statusCode).toBe(202);
    expect(one.data).toEqual({ replayed: 1 });
    await t.webhookWorker.runOnce();
    expect(rx.got.slice(before).map((g) => g.body.id)).toEqual([first[0]]);
    const range = await t.call('POST', `/v1/webhook-endpoints/${ep.id}/replay`, {
      token: key,
      body: { from, to: new Date(clock.now().getTime() + 1).toISOString() },
    });
    expect(range.data).toEqual({ replayed: 2 });
    await t.webhookWorker.runOnce();
    expect(rx.got.slice(before + 1).map((g) => g.body.id)).toEqual(first);
    expect((await t.call('POST', `/v1/webhook-endpoints/${ep.id}/events/evt_nope/replay`, { token: key })).statusCode).toBe(404);
    const test = await t.call('POST', `/v1/webhook-endpoints/${ep.id}/test`, { token: key });
    expect(test.statusCode).toBe(202);
    await t.webhookWorker.runOnce();
    expect(rx.got.at(-1)!.body).toMatchObject({ id: test.data.event_id, type: 'webhook.test' });
  });

  it('gives a delivery up after 24 hours of failures (dead), and lets later events of the object through', async () => {
    const { tenantId, key, a, ep } = await merchant(['order.credited', 'commission.available']);
    rx.answer(500);
    const before = rx.got.length;
    const o = await order(key, 'dead-1', a.invite_code);
    ok(await t.call('POST', '/v1/orders/dead-1/events', { token: key, body: { type: 'received' } }));
    clock.advance(60_000);
    ok(await t.call('POST', '/v1/settlements/run', { token: key, body: { as_of: clock.now().toISOString() } }));
    const credited = () =>
      t.services.db
        .selectFrom('webhook_deliveries as d')
        .innerJoin('webhook_events as e', 'e.id', 'd.event_id')
        .select(['d.status', 'd.created_at', 'd.finished_at'])
        .where('d.tenant_id', '=', tenantId)
        .where('e.type', '=', 'order.credited')
        .executeTakeFirstOrThrow();
    const started = clock.now().getTime();
    while ((await credited()).status === 'pending') {
      expect(clock.now().getTime() - started).toBeLessThan(40 * 3_600_000);
      await t.webhookWorker.runOnce();
      clock.advance(10 * 60_000);
    }
    const dead = await credited();
    expect(dead.status).toBe('dead');
    expect(dead.finished_at!.getTime() - dead.created_at.getTime()).toBeGreaterThanOrEqual(24 * 3_600_000);
    // Held back behind it all along: the order's commission.available was tried only once the
    // order.credited before it was given up (then at once: it too is past its 24 hours).
    const types = rx.got.slice(before).map((g) => g.body.type);
    const lastCredited = types.lastIndexOf('order.credited');
    expect(types.slice(0, lastCredited + 1).every((x) => x === 'order.credited')).toBe(true);
    expect(types.slice(lastCredited + 1)).toEqual(['commission.available']);
    const log = await attempts(key, ep.id);
    expect(log.find((x) => x.event_type === 'order.credited')).toMatchObject({ delivery_status: 'dead', status: 'failed' });
    expect(log.length).toBeLessThan(30);
    // A replay of the range sends both again, in their order, once the receiver is back.
    rx.answer(200);
    const replay = await t.call('POST', `/v1/webhook-endpoints/${ep.id}/replay`, {
      token: key,
      body: { from: new Date(started - 3_600_000).toISOString(), to: clock.now().toISOString() },
    });
    expect(replay.data).toEqual({ replayed: 2 });
    await drain(0.5, 60_000);
    const after = rx.got.slice(before).filter((g) => g.answered === 200);
    expect(after.map((g) => g.body.type)).toEqual(['order.credited', 'commission.available']);
    expect((after[1]!.body.data as { order_id?: string }).order_id).toBe(o.id);
  });
});

/**
 * Makes every transaction that records an event of `type` fail at its commit (a deferred
 * constraint trigger on webhook_events): what it wrote, its cause and its events, rolls back
 * together. Answers the function that lifts it.
 */
async function failCommitsRecording(type: string): Promise<() => Promise<void>> {
  const db = t.services.db;
  await sql`create or replace function test_fail_commit() returns trigger language plpgsql as $$ begin raise exception 'test: the transaction fails at commit'; end $$`.execute(
    db,
  );
  await sql
    .raw(
      `create constraint trigger test_fail_commit after insert on webhook_events deferrable initially deferred for each row when (new.type = '${type}') execute function test_fail_commit()`,
    )
    .execute(db);
  return async () => {
    await sql`drop trigger test_fail_commit on webhook_events`.execute(db);
  };
}

/** The events recorded for a tenant, oldest first. */
async function recorded(tenantId: string) {
  return t.services.db.selectFrom('webhook_events').select(['type', 'object_key', 'data']).where('tenant_id', '=', tenantId).orderBy('seq').execute();
}

describe('commission lines settled and clawed back', () => {
  it('commission.settled per line when a run approves its statement, in the batch’s transaction; nothing when that rolls back', async () => {
    const { tenantId, key, a } = await merchant(['commission.settled']);
    rx.answer(200);
    const before = rx.got.length;
    const b = ok(await t.call('POST', '/v1/distributors', { token: key, body: { external_id: 'B', name: 'B' } })).data;
    for (const [ext, who] of [
      ['st-1', a],
      ['st-2', a],
      ['st-3', b],
    ] as const) {
      await order(key, ext, who.invite_code);
      ok(await t.call('POST', `/v1/orders/${ext}/events`, { token: key, body: { type: 'received' } }));
    }
    clock.advance(60_000);
    // The batch that settles A's and B's lines fails at its commit: no line settled, no event.
    const lift = await failCommitsRecording('commission.settled');
    try {
      const failed = await t.call('POST', '/v1/settlements/run', { token: key, body: { as_of: clock.now().toISOString() } });
      expect(failed.statusCode).toBe(500);
    } finally {
      await lift();
    }
    expect((await recorded(tenantId)).filter((e) => e.type === 'commission.settled')).toEqual([]);
    expect((await t.call('GET', '/v1/orders/st-1', { token: key })).data.commissions[0].status).toBe('available');
    // The next run finishes the stopped one: each line settled once, with its event.
    ok(await t.call('POST', '/v1/settlements/run', { token: key, body: { as_of: clock.now().toISOString() } }));
    await drain(0.05, 10_000);
    const got = rx.got.slice(before).filter((g) => g.body.type === 'commission.settled');
    expect(got).toHaveLength(3);
    const statements = (await t.call('GET', '/v1/statements', { token: key })).data.items as JsonBody[];
    expect(statements.map((x) => x.status)).toEqual(['approved', 'approved']);
    for (const ext of ['st-1', 'st-2', 'st-3']) {
      const o = (await t.call('GET', `/v1/orders/${ext}`, { token: key })).data;
      const line = o.commissions[0];
      expect(line.status).toBe('settled');
      const of = got.filter((g) => (g.body.data as { order_external_id: string }).order_external_id === ext);
      expect(of.map((g) => g.body.data)).toEqual([{ ...line, order_id: o.id }]);
      expect(statements.find((x) => x.id === line.statement_id)?.distributor_id).toBe(line.beneficiary_id);
    }
  });

  it('commission.settled when a person approves a statement under review (not before); nothing when the approval rolls back', async () => {
    const { tenantId, key, a } = await merchant(['commission.settled']);
    ok(await t.call('PUT', '/v1/program', { token: key, body: { review_threshold_fen: 0 } }));
    rx.answer(200);
    const before = rx.got.length;
    await order(key, 'sr-1', a.invite_code);
    ok(await t.call('POST', '/v1/orders/sr-1/events', { token: key, body: { type: 'received' } }));
    clock.advance(60_000);
    const st = ok(await t.call('POST', '/v1/settlements/run', { token: key, body: { as_of: clock.now().toISOString() } })).data.statements[0];
    expect(st.status).toBe('pending_review');
    expect(await recorded(tenantId)).toEqual([]);
    const lift = await failCommitsRecording('commission.settled');
    try {
      expect((await t.call('POST', `/v1/statements/${st.id}/approve`, { token: key })).statusCode).toBe(500);
    } finally {
      await lift();
    }
    expect(await recorded(tenantId)).toEqual([]);
    expect((await t.call('GET', `/v1/statements/${st.id}`, { token: key })).data.status).toBe('pending_review');
    ok(await t.call('POST', `/v1/statements/${st.id}/approve`, { token: key }));
    ok(await t.call('POST', `/v1/statements/${st.id}/approve`, { token: key })); // approved already: nothing again
    await drain(0.05, 10_000);
    const got = rx.got.slice(before).filter((g) => g.body.type === 'commission.settled');
    const o = (await t.call('GET', '/v1/orders/sr-1', { token: key })).data;
    expect(got.map((g) => g.body.data)).toEqual([{ ...o.commissions[0], order_id: o.id }]);
    expect(got[0]!.body.data).toMatchObject({ status: 'settled', statement_id: st.id, amount_fen: 1000 });
  });

  it('commission.clawed_back per clawback line a refund after settlement writes, after the order.refunded; nothing when it rolls back', async () => {
    const { tenantId, key, a } = await merchant(['order.refunded', 'commission.clawed_back']);
    rx.answer(200);
    const before = rx.got.length;
    await order(key, 'cb-1', a.invite_code, 10000);
    ok(await t.call('POST', '/v1/orders/cb-1/events', { token: key, body: { type: 'received' } }));
    clock.advance(60_000);
    ok(await t.call('POST', '/v1/settlements/run', { token: key, body: { as_of: clock.now().toISOString() } }));
    const lift = await failCommitsRecording('commission.clawed_back');
    try {
      const r = await t.call('POST', '/v1/orders/cb-1/events', { token: key, body: { type: 'refunded', refund_fen: 4000 } });
      expect(r.statusCode).toBeGreaterThanOrEqual(500);
    } finally {
      await lift();
    }
    expect(await recorded(tenantId)).toEqual([]);
    expect((await t.call('GET', '/v1/orders/cb-1', { token: key })).data.commissions).toHaveLength(1);
    ok(await t.call('POST', '/v1/orders/cb-1/events', { token: key, body: { type: 'refunded', refund_fen: 4000 } }));
    ok(await t.call('POST', '/v1/orders/cb-1/events', { token: key, body: { type: 'refunded', refund_fen: 1000 } }));
    await drain(0.05, 10_000);
    const got = rx.got.slice(before);
    expect(got.map((g) => g.body.type)).toEqual(['order.refunded', 'commission.clawed_back', 'order.refunded', 'commission.clawed_back']);
    const o = (await t.call('GET', '/v1/orders/cb-1', { token: key })).data;
    const clawbacks = (o.commissions as JsonBody[]).filter((c) => c.kind === 'clawback');
    expect(clawbacks.map((c) => c.amount_fen)).toEqual([-400, -100]);
    expect(got.filter((g) => g.body.type === 'commission.clawed_back').map((g) => g.body.data)).toEqual(clawbacks.map((c) => ({ ...c, order_id: o.id })));
    expect(clawbacks[0]).toMatchObject({ status: 'settled', clawback_of: o.commissions[0].id, beneficiary_id: a.id, sku: 'S' });
  });

  it('commission.adjusted per adjustment line the month-end tier true-up writes, as the order shows the line', async () => {
    const { tenantId, key, a } = await merchant(['commission.adjusted']);
    ok(await t.call('PUT', '/v1/program', { token: key, body: { levels: 0, tier_true_up: true } }));
    ok(
      await t.call('PUT', '/v1/grades/default', {
        token: key,
        body: {
          name: '普通',
          rank: 0,
          sales_bp: 0,
          override_bp: [],
          tiers: [
            { min_monthly_sales_fen: 0, sales_bp: 500 },
            { min_monthly_sales_fen: 15_000, sales_bp: 800 },
          ],
        },
      }),
    );
    rx.answer(200);
    const before = rx.got.length;
    await order(key, 'tu-1', a.invite_code, 10000);
    await order(key, 'tu-2', a.invite_code, 10000);
    const now = clock.now();
    const nextMonth = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1, 0, 0));
    // Both orders were paid at 5% below the bracket; the month ended at 8%: one adjustment each.
    expect((await t.services.commissions.trueUpDue(tenantId, nextMonth)).lines).toBe(2);
    await drain(0.05, 10_000);
    const got = rx.got.slice(before);
    const want: JsonBody[] = [];
    for (const ext of ['tu-1', 'tu-2']) {
      const o = (await t.call('GET', `/v1/orders/${ext}`, { token: key })).data;
      const adjustments = (o.commissions as JsonBody[]).filter((c) => c.kind === 'adjustment');
      expect(adjustments).toHaveLength(1);
      expect(adjustments[0]).toMatchObject({ amount_fen: 300, rate_bp: 800, adjusts: o.commissions[0].id, beneficiary_id: a.id, sku: 'S' });
      want.push({ ...adjustments[0], order_id: o.id });
    }
    expect(got.map((g) => g.body.type)).toEqual(['commission.adjusted', 'commission.adjusted']);
    expect(got.map((g) => g.body.data).sort((x, y) => String(x.order_external_id).localeCompare(String(y.order_external_id)))).toEqual(want);
  });
});

describe('agents', () => {
  it('agent.appointed, suspended, reinstated, ended; purchase_order.created and paid; stock_return.created — each its object as GET answers it', async () => {
    const types = [
      'agent.appointed',
      'agent.suspended',
      'agent.reinstated',
      'agent.ended',
      'purchase_order.created',
      'purchase_order.paid',
      'stock_return.created',
    ];
    const { tenantId, key, a } = await merchant(types);
    rx.answer(200);
    const before = rx.got.length;
    ok(await t.call('PUT', '/v1/agent-program', { token: key, body: { enabled: true, territory_bp: { province: 100, city: 0, district: 0 } } }));
    ok(await t.call('PUT', '/v1/agent-prices/tea', { token: key, body: { retail_fen: 10000, province_fen: 5000, city_fen: 6000, district_fen: 7000 } }));
    // An appointment that fails at its commit: no agent, no event.
    const lift = await failCommitsRecording('agent.appointed');
    try {
      const r = await t.call('POST', '/v1/agents', { token: key, body: { distributor_id: a.id, rank: 'province', region_code: '110000' } });
      expect(r.statusCode).toBe(500);
    } finally {
      await lift();
    }
    expect(await recorded(tenantId)).toEqual([]);
    expect((await t.call('GET', '/v1/agents', { token: key })).data.items).toEqual([]);
    const agent = ok(await t.call('POST', '/v1/agents', { token: key, body: { distributor_id: a.id, rank: 'province', region_code: '110000' } })).data;
    // A refused one (the territory is taken) records nothing either.
    expect((await t.call('POST', '/v1/agents', { token: key, body: { distributor_id: a.id, rank: 'province', region_code: '110000' } })).statusCode).toBe(409);
    const po = ok(
      await t.call('POST', '/v1/purchase-orders', {
        token: key,
        headers: { 'idempotency-key': 'po-1' },
        body: { agent_id: agent.id, items: [{ sku: 'tea', quantity: 4 }] },
      }),
    ).data;
    // The same key again answers the first answer and records nothing.
    ok(
      await t.call('POST', '/v1/purchase-orders', {
        token: key,
        headers: { 'idempotency-key': 'po-1' },
        body: { agent_id: agent.id, items: [{ sku: 'tea', quantity: 4 }] },
      }),
    );
    ok(await t.call('POST', `/v1/purchase-orders/${po.id}/pay`, { token: key, body: { reference: 'BANK-9' } }));
    const ret = ok(await t.call('POST', `/v1/agents/${agent.id}/stock-returns`, { token: key, body: { items: [{ sku: 'tea', quantity: 1 }] } })).data;
    ok(await t.call('POST', `/v1/agents/${agent.id}/suspend`, { token: key, body: { reason: '跨区' } }));
    ok(await t.call('POST', `/v1/agents/${agent.id}/reinstate`, { token: key, body: { reason: '整改' } }));
    const b = ok(await t.call('POST', '/v1/distributors', { token: key, body: { external_id: 'B', name: 'B' } })).data;
    const successor = ok(await t.call('POST', `/v1/agents/${agent.id}/transfer`, { token: key, body: { distributor_id: b.id, reason: '调整' } })).data;
    await drain(0.05, 10_000);
    const got = rx.got.slice(before);
    expect(got.map((g) => g.body.type).sort()).toEqual(
      [
        'agent.appointed',
        'purchase_order.created',
        'purchase_order.paid',
        'stock_return.created',
        'agent.suspended',
        'agent.reinstated',
        'agent.ended',
        'agent.appointed',
      ].sort(),
    );
    // Of one object, in the order they happened (objects among themselves keep no order).
    const of = (id: string) => got.filter((g) => (g.body.data as { id: string }).id === id).map((g) => g.body.type);
    expect(of(agent.id)).toEqual(['agent.appointed', 'agent.suspended', 'agent.reinstated', 'agent.ended']);
    expect(of(po.id)).toEqual(['purchase_order.created', 'purchase_order.paid']);
    const data = (type: string) => got.filter((g) => g.body.type === type).map((g) => g.body.data);
    const now = (await t.call('GET', `/v1/agents/${agent.id}`, { token: key })).data;
    expect(data('agent.appointed')).toEqual([
      { ...now, status: 'active', status_reason: null },
      (await t.call('GET', `/v1/agents/${successor.id}`, { token: key })).data,
    ]);
    expect(data('agent.suspended')).toEqual([{ ...now, status: 'suspended', status_reason: '跨区' }]);
    expect(data('agent.reinstated')).toEqual([{ ...now, status: 'active', status_reason: '整改' }]);
    expect(data('agent.ended')).toEqual([now]);
    expect(now).toMatchObject({ status: 'ended', status_reason: '调整' });
    expect(data('purchase_order.created')).toEqual([po]);
    expect(data('purchase_order.paid')).toEqual([(await t.call('GET', `/v1/purchase-orders/${po.id}`, { token: key })).data]);
    expect(data('purchase_order.paid')[0]).toMatchObject({ status: 'paid', reference: 'BANK-9', amount_fen: 20000 });
    expect(data('stock_return.created')).toEqual([ret]);
    expect(ret).toMatchObject({ agent_id: agent.id, amount_fen: 5000 });
  });
});

describe('agent applications', () => {
  it('agent_application.submitted as GET answers the application, then agent.appointed on approval; nothing for a refused one', async () => {
    const { tenantId, key, a } = await merchant(['agent_application.submitted', 'agent.appointed']);
    rx.answer(200);
    const before = rx.got.length;
    ok(await t.call('PUT', '/v1/agent-program', { token: key, body: { enabled: true } }));
    const secret = ok(await t.call('POST', '/v1/portal/signing-secret', { token: key })).data.secret as string;
    const session = await portalSession(t, tenantId, secret, 'A');
    const app = ok(
      await t.call('POST', '/v1/agent-applications', { token: session, body: { rank: 'district', region_code: '110105', note: '申请', document_ids: [] } }),
    ).data;
    // A second open application is refused and records nothing.
    expect(
      (await t.call('POST', '/v1/agent-applications', { token: session, body: { rank: 'district', region_code: '110108', document_ids: [] } })).statusCode,
    ).toBe(409);
    const approved = ok(await t.call('POST', `/v1/agent-applications/${app.id}/approve`, { token: key })).data;
    await drain(0.05, 10_000);
    const got = rx.got.slice(before);
    expect(got.map((g) => g.body.type)).toEqual(['agent_application.submitted', 'agent.appointed']);
    expect(got[0]!.body.data).toEqual({
      ...ok(await t.call('GET', `/v1/agent-applications/${app.id}`, { token: key })).data,
      status: 'pending',
      agent_id: null,
      reviewed_at: null,
    });
    expect(got[0]!.body.data).toMatchObject({ distributor_id: a.id, region_full_name: '北京市朝阳区' });
    expect(got[1]!.body.data).toEqual(ok(await t.call('GET', `/v1/agents/${approved.agent_id}`, { token: key })).data);
  });
});

describe('refused targets (SSRF)', () => {
  let guarded: TestServer;
  const hosts = new Map<string, string[]>([
    ['public.example', ['93.184.216.34']],
    ['localhost', ['127.0.0.1', '::1']],
    ['internal.example', ['10.1.2.3']],
    ['mixed.example', ['93.184.216.34', '192.168.1.1']],
    ['mapped.example', ['::ffff:127.0.0.1']],
    ['metadata.example', ['169.254.169.254']],
    ['v6local.example', ['fd00::1']],
    ['rebind.example', ['93.184.216.34']],
  ]);
  beforeAll(async () => {
    guarded = await startTestServer({
      clock,
      overrides: {
        resolveHost: async (host) => {
          const a = hosts.get(host);
          if (!a) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
          return a.map((address) => ({ address, family: address.includes(':') ? (6 as const) : (4 as const) }));
        },
      },
    });
  });
  afterAll(async () => {
    await guarded?.close();
  });

  it('refuses loopback, private, link-local, IPv6-mapped and names resolving to them; accepts a public host', async () => {
    const { key } = await guarded.tenant('守门');
    const refused = [
      'http://127.0.0.1/hook',
      'http://localhost/hook',
      'http://[::1]/hook',
      'http://10.0.0.8/hook',
      'http://172.20.1.1/hook',
      'http://192.168.0.10/hook',
      'http://169.254.169.254/latest/meta-data',
      'http://[fe80::1]/hook',
      'http://[::ffff:127.0.0.1]/hook',
      'http://[::ffff:a00:1]/hook',
      'http://0.0.0.0/hook',
      'http://internal.example/hook',
      'http://mixed.example/hook',
      'http://mapped.example/hook',
      'http://metadata.example/hook',
      'http://v6local.example/hook',
      'https://user:pass@public.example/hook',
      'file:///etc/passwd',
    ];
    for (const url of refused) {
      const r = await guarded.call('POST', '/v1/webhook-endpoints', { token: key, body: { url, events: ['order.credited'] } });
      expect(r.statusCode, url).toBe(400);
      expect(r.data.error.code).toBe('invalid_request');
    }
    expect((await guarded.call('GET', '/v1/webhook-endpoints', { token: key })).data.items).toEqual([]);
    const okay = await guarded.call('POST', '/v1/webhook-endpoints', { token: key, body: { url: 'https://public.example/hook', events: ['order.credited'] } });
    expect(okay.statusCode).toBe(201);
  });

  it('checks again at delivery: a name that now resolves to loopback (DNS rebinding) gets nothing', async () => {
    const { key } = await guarded.tenant('重绑');
    ok(await guarded.call('PUT', '/v1/program', { token: key, body: { levels: 1 } }));
    const a = ok(await guarded.call('POST', '/v1/distributors', { token: key, body: { external_id: 'A', name: 'A' } })).data;
    const ep = await guarded.call('POST', '/v1/webhook-endpoints', {
      token: key,
      body: { url: `http://rebind.example:${rx.port}/hooks`, events: ['order.credited'] },
    });
    expect(ep.statusCode).toBe(201);
    hosts.set('rebind.example', ['127.0.0.1']);
    rx.answer(200);
    const before = rx.got.length;
    ok(
      await guarded.call('POST', '/v1/orders', {
        token: key,
        body: {
          external_id: 'rb-1',
          buyer_external_id: 'b',
          invite_code: a.invite_code,
          items: [{ sku: 'S', quantity: 1, unit_price_fen: 100, paid_fen: 100 }],
        },
      }),
    );
    await guarded.webhookWorker.runOnce();
    expect(rx.got.length).toBe(before);
    const log = (await guarded.call('GET', `/v1/webhook-endpoints/${ep.data.id}/deliveries`, { token: key })).data.items;
    expect(log[0]).toMatchObject({ status: 'failed', http_status: null });
    expect(log[0].error).toMatch(/127\.0\.0\.1.*loopback/);
  });
});

describe('payload schemas in the OpenAPI document', () => {
  // Last in the file on purpose: it checks every event the tests above made the server send.
  it('has a versioned schema for every event type, and every payload sent by the tests above validates against its schema', async () => {
    const doc = (await t.call('GET', '/openapi.json')).data as {
      openapi: string;
      webhooks: Record<string, { post: { 'x-payload-version': string; requestBody: { content: { 'application/json': { schema: object } } } } }>;
    };
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.webhooks).sort()).toEqual([...WEBHOOK_EVENT_TYPES, TEST_EVENT_TYPE].sort());
    for (const op of Object.values(doc.webhooks)) expect(op.post['x-payload-version']).toBe(WEBHOOK_PAYLOAD_VERSION);

    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFenxiaoFormats(ajv as never);
    const validators = new Map(Object.entries(doc.webhooks).map(([type, op]) => [type, ajv.compile(op.post.requestBody.content['application/json'].schema)]));
    const seen = new Set<string>();
    const failures: string[] = [];
    for (const g of rx.got) {
      seen.add(g.body.type);
      const validate = validators.get(g.body.type);
      if (!validate) {
        failures.push(`${g.body.type}: no schema`);
        continue;
      }
      if (!validate(JSON.parse(g.raw))) failures.push(`${g.body.type}: ${ajv.errorsText(validate.errors)}`);
    }
    expect([...new Set(failures)]).toEqual([]);
    // Every type the server can emit was emitted above, so each schema was checked against a real payload.
    expect([...seen].sort()).toEqual([...WEBHOOK_EVENT_TYPES, TEST_EVENT_TYPE].sort());

    // The schemas are not vacuous: a payload missing a field, or with one too many, is refused.
    const credited = rx.got.find((g) => g.body.type === 'order.credited')!;
    const body = JSON.parse(credited.raw) as { data: Record<string, unknown> };
    const validate = validators.get('order.credited')!;
    expect(validate({ ...body, data: { ...body.data, paid_fen: undefined } })).toBe(false);
    expect(validate({ ...body, data: { ...body.data, surprise: 1 } })).toBe(false);
    expect(validate({ ...body, type: 'order.shipped' })).toBe(false);
  });
});
