import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.ts';
import {
  SHOPIFY_CUSTOMER_ID,
  SHOPIFY_ORDER_ID,
  genericSignature,
  postWebhook,
  sendGeneric,
  sendShopify,
  sendWoo,
  shopifyAmountRefund,
  shopifyExpectedOrder,
  shopifyFulfilled,
  shopifyLineRefund,
  shopifyPaidOrder,
  shopifySignature,
  wooExpectedOrder,
  wooOrder,
  wooSignature,
} from '../support/webhooks.ts';
import { verifyLedger } from '../../src/modules/ledger/verify.ts';
import { ManualClock } from '../../src/core/context.ts';
import type { JsonBody } from '../support/json.ts';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.close();
});

interface Merchant {
  tenantId: string;
  key: string;
  a: { id: string; invite_code: string };
  b: { id: string; invite_code: string };
  names: Map<string, string>;
}

/**
 * A merchant with two levels (B sells at 10%, A above it earns 5%), a fixed 2 yuan per mug for
 * the seller, and A ← B. Two of these answer the same order by webhook and by the API.
 */
async function merchant(): Promise<Merchant> {
  const { id: tenantId, key } = await t.tenant('网店');
  const ok = (r: { statusCode: number; body: string }) => {
    if (r.statusCode >= 300) throw new Error(`${r.statusCode} ${r.body}`);
  };
  ok(await t.call('PUT', '/v1/program', { token: key, body: { levels: 2, freeze_days: 0 } }));
  ok(await t.call('PUT', '/v1/grades/default', { token: key, body: { name: '普通', rank: 0, sales_bp: 1000, override_bp: [500] } }));
  ok(await t.call('PUT', '/v1/sku-rules/MUG-01', { token: key, body: { rates: { '0': { kind: 'fixed', fen: 200 } } } }));
  const a = (await t.call('POST', '/v1/distributors', { token: key, body: { external_id: 'A', name: 'A' } })).data;
  const b = (await t.call('POST', '/v1/distributors', { token: key, body: { external_id: 'B', name: 'B', referrer_code: a.invite_code } })).data;
  return {
    tenantId,
    key,
    a,
    b,
    names: new Map([
      [a.id, 'A'],
      [b.id, 'B'],
    ]),
  };
}

async function secret(m: Merchant, format: string, given?: string): Promise<string> {
  const r = await t.call('POST', '/v1/webhooks/secret', { token: m.key, body: { format, ...(given ? { secret: given } : {}) } });
  expect(r.statusCode).toBe(201);
  return r.data.secret;
}

/** Commission lines as a comparable summary: who (by external id), level, base, rate, amount, status. */
async function lines(m: Merchant, externalId: string) {
  const o = (await t.call('GET', `/v1/orders/${encodeURIComponent(externalId)}`, { token: m.key })).data;
  return {
    status: o.status,
    paid_fen: o.paid_fen,
    refunded_fen: o.refunded_fen,
    shipping_fen: o.shipping_fen,
    tax_fen: o.tax_fen,
    items: o.items.map((i: JsonBody) => [i.sku, i.quantity, i.unit_price_fen, i.paid_fen, i.refunded_fen, i.refunded_quantity]),
    commissions: o.commissions
      .map((c: JsonBody) => [m.names.get(c.beneficiary_id), c.sku, c.level, c.base_fen, c.rate_kind, c.rate_bp, c.fixed_fen, c.amount_fen, c.status])
      .sort(),
  };
}

async function countOrders(m: Merchant): Promise<number> {
  return (await t.call('GET', '/v1/orders?limit=500', { token: m.key })).data.items.length;
}

async function deliveries(m: Merchant) {
  return (await t.call('GET', '/v1/webhooks/deliveries?limit=500', { token: m.key })).data.items as JsonBody[];
}

describe('signing secrets', () => {
  it('are shown once, kept encrypted, masked in the settings, and rotate with a grace period', async () => {
    const m = await merchant();
    const before = await t.call('GET', '/v1/webhooks/settings', { token: m.key });
    expect(before.data.formats.map((f: JsonBody) => [f.format, f.configured])).toEqual([
      ['generic', false],
      ['shopify', false],
      ['woocommerce', false],
    ]);
    const first = await secret(m, 'generic');
    expect(first).toMatch(/^fxw_[A-Za-z0-9_-]{43}$/);
    const settings = await t.call('GET', '/v1/webhooks/settings', { token: m.key });
    expect(settings.body).not.toContain(first);
    expect(settings.data.formats[0]).toMatchObject({
      format: 'generic',
      configured: true,
      secret_hint: `…${first.slice(-4)}`,
      endpoint: `http://fenxiao.test/v1/webhooks/${m.tenantId}/orders/generic`,
    });
    const row = await t.database.db.selectFrom('webhook_secrets').selectAll().where('tenant_id', '=', m.tenantId).executeTakeFirstOrThrow();
    expect(row.secret_enc).not.toContain(first);
    expect(row.secret_enc).toMatch(/^v1\./);

    const order = {
      type: 'order',
      body: { external_id: 'g-rot', buyer_external_id: 'u1', items: [{ sku: 's', quantity: 1, unit_price_fen: 100, paid_fen: 100 }] },
    };
    const second = await secret(m, 'generic');
    // The previous secret still verifies for a day; the new one does at once.
    expect((await sendGeneric(t, m.tenantId, first, order)).statusCode).toBe(200);
    expect((await sendGeneric(t, m.tenantId, second, { ...order, body: { ...order.body, external_id: 'g-rot-2' } })).statusCode).toBe(200);
    const third = await t.call('POST', '/v1/webhooks/secret', { token: m.key, body: { format: 'generic', revoke_previous: true } });
    expect(third.data.previous_valid_until).toBeNull();
    expect((await sendGeneric(t, m.tenantId, second, { ...order, body: { ...order.body, external_id: 'g-rot-3' } })).statusCode).toBe(401);
    expect((await sendGeneric(t, m.tenantId, third.data.secret, { ...order, body: { ...order.body, external_id: 'g-rot-3' } })).statusCode).toBe(200);
  });

  it('need keys:write, and the settings need a tenant credential', async () => {
    const m = await merchant();
    expect((await t.call('GET', '/v1/webhooks/settings')).statusCode).toBe(401);
    expect((await t.call('POST', '/v1/webhooks/secret', { body: { format: 'generic' } })).statusCode).toBe(401);
    expect((await t.call('POST', '/v1/webhooks/secret', { token: m.key, body: { format: 'ftp' } })).statusCode).toBe(400);
    expect((await t.call('POST', '/v1/webhooks/secret', { token: m.key, body: { format: 'shopify', secret: 'short' } })).statusCode).toBe(400);
  });
});

describe('generic webhook', () => {
  it('an order signed over "<timestamp>.<raw body>" is recorded exactly as POST /v1/orders records it', async () => {
    const hook = await merchant();
    const api = await merchant();
    const s = await secret(hook, 'generic');
    const body = {
      external_id: 'g-1',
      buyer_external_id: 'buyer-1',
      invite_code: hook.b.invite_code,
      items: [
        { sku: 'TEE', quantity: 2, unit_price_fen: 9900, paid_fen: 17999 },
        { sku: 'MUG-01', quantity: 3, unit_price_fen: 1990, paid_fen: 5970 },
      ],
      shipping_fen: 800,
    };
    const res = await sendGeneric(t, hook.tenantId, s, { type: 'order', body });
    expect(res.statusCode).toBe(200);
    expect(res.data).toEqual({
      delivery_id: expect.stringMatching(/^sig:[0-9a-f]{40}$/),
      outcome: 'applied',
      topic: 'order',
      order_external_id: 'g-1',
      message: null,
    });
    expect((await t.call('POST', '/v1/orders', { token: api.key, body: { ...body, invite_code: api.b.invite_code } })).statusCode).toBe(201);
    const got = await lines(hook, 'g-1');
    expect(got).toEqual(await lines(api, 'g-1'));
    // 10% of 179.99 floors to 17.99; 2 yuan × 3 mugs; A's 5% of each line.
    expect(got.commissions).toEqual([
      ['A', 'MUG-01', 1, 5970, 'percent', 500, 0, 298, 'pending'],
      ['A', 'TEE', 1, 17999, 'percent', 500, 0, 899, 'pending'],
      ['B', 'MUG-01', 0, 5970, 'fixed', 0, 200, 600, 'pending'],
      ['B', 'TEE', 0, 17999, 'percent', 1000, 0, 1799, 'pending'],
    ]);

    // An event, with its idempotency key; the same key again is answered, not applied again.
    const refund = { type: 'event', order_external_id: 'g-1', idempotency_key: 'rf-1', body: { type: 'refunded', refund_fen: 5000 } };
    expect((await sendGeneric(t, hook.tenantId, s, refund, { deliveryId: 'd-rf-1' })).data.outcome).toBe('applied');
    expect((await sendGeneric(t, hook.tenantId, s, refund, { deliveryId: 'd-rf-1-again' })).data.outcome).toBe('duplicate');
    expect((await t.call('GET', '/v1/orders/g-1', { token: hook.key })).data.refunded_fen).toBe(5000);
    expect((await verifyLedger(t.database.db, hook.tenantId)).breaks).toEqual([]);
  });

  it('tampered body, wrong secret, stale or future timestamp, missing headers: 401, and nothing is stored', async () => {
    const m = await merchant();
    const s = await secret(m, 'generic');
    const body = JSON.stringify({
      type: 'order',
      body: { external_id: 'g-bad', buyer_external_id: 'u', items: [{ sku: 's', quantity: 1, unit_price_fen: 100, paid_fen: 100 }] },
    });
    const now = Math.floor(t.clock.now().getTime() / 1000);
    const cases: [string, Record<string, string>, string][] = [
      [
        'tampered body',
        { 'x-fenxiao-timestamp': String(now), 'x-fenxiao-signature': genericSignature(s, now, body) },
        body.replace('"paid_fen":100', '"paid_fen":900'),
      ],
      ['wrong secret', { 'x-fenxiao-timestamp': String(now), 'x-fenxiao-signature': genericSignature(`${s}x`, now, body) }, body],
      ['stale timestamp', { 'x-fenxiao-timestamp': String(now - 301), 'x-fenxiao-signature': genericSignature(s, now - 301, body) }, body],
      ['future timestamp', { 'x-fenxiao-timestamp': String(now + 301), 'x-fenxiao-signature': genericSignature(s, now + 301, body) }, body],
      ['timestamp not the signed one', { 'x-fenxiao-timestamp': String(now - 1), 'x-fenxiao-signature': genericSignature(s, now, body) }, body],
      ['no signature', { 'x-fenxiao-timestamp': String(now) }, body],
      ['no timestamp', { 'x-fenxiao-signature': genericSignature(s, now, body) }, body],
      ['a bearer token instead', { authorization: `Bearer ${m.key}` }, body],
      ['signed for another format', { 'x-shopify-hmac-sha256': shopifySignature(s, body) }, body],
    ];
    for (const [what, headers, payload] of cases) {
      const res = await postWebhook(t, m.tenantId, 'generic', payload, headers);
      expect([what, res.statusCode, res.data]).toEqual([what, 401, { error: { code: 'unauthorized', message: 'invalid webhook signature' } }]);
    }
    // Inside the tolerance it is accepted.
    const ok = await postWebhook(t, m.tenantId, 'generic', body, {
      'x-fenxiao-timestamp': String(now - 299),
      'x-fenxiao-signature': genericSignature(s, now - 299, body),
    });
    expect(ok.statusCode).toBe(200);
    expect(await countOrders(m)).toBe(1);
    expect((await deliveries(m)).length).toBe(1);
  });

  it('an unknown tenant, or a format without a secret, answers the same 401', async () => {
    const m = await merchant();
    const s = await secret(m, 'generic');
    const body = { type: 'order', body: { external_id: 'x', buyer_external_id: 'u', items: [{ sku: 's', quantity: 1, unit_price_fen: 1, paid_fen: 1 }] } };
    expect((await sendGeneric(t, 'tnt_NOPE', s, body)).data).toEqual({ error: { code: 'unauthorized', message: 'invalid webhook signature' } });
    expect((await sendShopify(t, m.tenantId, s, 'orders/paid', shopifyPaidOrder(), 'w-1')).statusCode).toBe(401);
    expect(await countOrders(m)).toBe(0);
  });

  it('the same signed request again is a replay: answered from the record, applied once', async () => {
    const m = await merchant();
    const s = await secret(m, 'generic');
    const body = JSON.stringify({
      type: 'order',
      body: { external_id: 'g-replay', buyer_external_id: 'u', items: [{ sku: 's', quantity: 1, unit_price_fen: 100, paid_fen: 100 }] },
    });
    const now = Math.floor(t.clock.now().getTime() / 1000);
    const headers = { 'x-fenxiao-timestamp': String(now), 'x-fenxiao-signature': genericSignature(s, now, body) };
    const first = await postWebhook(t, m.tenantId, 'generic', body, headers);
    const again = await Promise.all([1, 2, 3].map(() => postWebhook(t, m.tenantId, 'generic', body, headers)));
    expect(first.data.outcome).toBe('applied');
    expect(again.map((r) => [r.statusCode, r.data.outcome, r.data.delivery_id])).toEqual([1, 2, 3].map(() => [200, 'duplicate', first.data.delivery_id]));
    expect(await countOrders(m)).toBe(1);
    const [row] = await deliveries(m);
    expect(row).toMatchObject({ outcome: 'applied', attempts: 4, order_external_id: 'g-replay', topic: 'order', has_payload: true });
  });

  it('a payload that cannot be mapped is a 400 with the reason; nothing is stored but the delivery record', async () => {
    const m = await merchant();
    const s = await secret(m, 'generic');
    const cases: [unknown, string][] = [
      [
        { type: 'order', body: { external_id: 'g', buyer_external_id: 'u', items: [{ sku: 's', quantity: 0, unit_price_fen: 1, paid_fen: 1 }] } },
        'body/body/items/0/quantity must be >= 1',
      ],
      [
        { type: 'order', body: { external_id: 'g', buyer_external_id: 'u', items: [{ sku: 's', quantity: 1, unit_price_fen: 1, paid_fen: -1 }] } },
        'body/body/items/0/paid_fen must be >= 0',
      ],
      [{ type: 'order', body: { external_id: 'g', buyer_external_id: 'u', items: [] } }, 'body/body/items must NOT have fewer than 1 items'],
      [{ type: 'pay' }, 'body/type must be "order" or "event"'],
      ['[1,2', 'the body is not valid JSON'],
    ];
    for (const [payload, reason] of cases) {
      const body = typeof payload === 'string' ? payload : JSON.stringify(payload);
      const now = Math.floor(t.clock.now().getTime() / 1000);
      const res = await postWebhook(t, m.tenantId, 'generic', body, {
        'x-fenxiao-timestamp': String(now),
        'x-fenxiao-signature': genericSignature(s, now, body),
      });
      expect([res.statusCode, res.data]).toEqual([400, { error: { code: 'invalid_request', message: reason } }]);
    }
    expect(await countOrders(m)).toBe(0);
    expect((await deliveries(m)).map((d) => d.outcome)).toEqual(['rejected', 'rejected', 'rejected', 'rejected', 'rejected']);
  });

  it('the body is read as bytes whatever the content type says (curl -d sends form-urlencoded), or with none', async () => {
    const m = await merchant();
    const s = await secret(m, 'generic');
    for (const [i, type] of [
      [1, 'application/x-www-form-urlencoded'],
      [2, 'text/plain; charset=utf-8'],
      [3, undefined],
    ] as const) {
      const body = JSON.stringify({
        type: 'order',
        body: { external_id: `ct-${i}`, buyer_external_id: 'u', items: [{ sku: 's', quantity: 1, unit_price_fen: 100, paid_fen: 100 }] },
      });
      const ts = Math.floor(t.clock.now().getTime() / 1000);
      const res = await t.app.inject({
        method: 'POST',
        url: `/v1/webhooks/${m.tenantId}/orders/generic`,
        payload: body,
        headers: { 'x-fenxiao-timestamp': String(ts), 'x-fenxiao-signature': genericSignature(s, ts, body), ...(type ? { 'content-type': type } : {}) },
      });
      expect([type, res.statusCode, JSON.parse(res.body).outcome]).toEqual([type, 200, 'applied']);
    }
    expect(await countOrders(m)).toBe(3);
  });

  it('an event for an order not known is a 404, as the API answers', async () => {
    const m = await merchant();
    const s = await secret(m, 'generic');
    const res = await sendGeneric(t, m.tenantId, s, { type: 'event', order_external_id: 'nope', body: { type: 'shipped' } });
    expect([res.statusCode, res.data.error.code]).toEqual([404, 'not_found']);
  });
});

describe('Shopify webhooks', () => {
  it('orders/paid, a line refund, fulfilment: the same order and commissions as through the API', async () => {
    const hook = await merchant();
    const api = await merchant();
    const s = await secret(hook, 'shopify', 'shpss_0123456789abcdef0123456789abcdef');
    const paid = await sendShopify(t, hook.tenantId, s, 'orders/paid', shopifyPaidOrder({ inviteCode: hook.b.invite_code }), 'wh-paid-1');
    expect([paid.statusCode, paid.data.outcome, paid.data.order_external_id]).toEqual([200, 'applied', SHOPIFY_ORDER_ID]);
    expect(
      (await t.call('POST', '/v1/orders', { token: api.key, body: shopifyExpectedOrder(SHOPIFY_ORDER_ID, SHOPIFY_CUSTOMER_ID, api.b.invite_code) })).statusCode,
    ).toBe(201);
    const got = await lines(hook, SHOPIFY_ORDER_ID);
    expect(got).toEqual(await lines(api, SHOPIFY_ORDER_ID));
    expect(got.items).toEqual([
      ['TEE-RED-M', 2, 19900, 35820, 0, 0],
      ['variant:44444', 1, 5990, 5391, 0, 0],
      ['MUG-01', 3, 1990, 5970, 0, 0],
    ]);
    expect([got.paid_fen, got.shipping_fen, got.tax_fen]).toEqual([47181, 1500, 2774]);
    expect(got.commissions).toEqual([
      ['A', 'MUG-01', 1, 5970, 'percent', 500, 0, 298, 'pending'],
      ['A', 'TEE-RED-M', 1, 35820, 'percent', 500, 0, 1791, 'pending'],
      ['A', 'variant:44444', 1, 5391, 'percent', 500, 0, 269, 'pending'],
      ['B', 'MUG-01', 0, 5970, 'fixed', 0, 200, 600, 'pending'],
      ['B', 'TEE-RED-M', 0, 35820, 'percent', 1000, 0, 3582, 'pending'],
      ['B', 'variant:44444', 0, 5391, 'percent', 1000, 0, 539, 'pending'],
    ]);
    const buyer = await t.call('GET', `/v1/customers/${SHOPIFY_CUSTOMER_ID}`, { token: hook.key });
    expect(buyer.data.distributor_id).toBe(hook.b.id);

    // One T-shirt of two comes back: that line alone is recomputed on what remains.
    const refund = await sendShopify(t, hook.tenantId, s, 'refunds/create', shopifyLineRefund(), 'wh-refund-1');
    expect(refund.data.outcome).toBe('applied');
    await t.call('POST', `/v1/orders/${SHOPIFY_ORDER_ID}/events`, { token: api.key, body: { type: 'refunded', items: [{ sku: 'TEE-RED-M', quantity: 1 }] } });
    const refunded = await lines(hook, SHOPIFY_ORDER_ID);
    expect(refunded).toEqual(await lines(api, SHOPIFY_ORDER_ID));
    expect(refunded.refunded_fen).toBe(17910);
    expect(refunded.commissions.filter((c: JsonBody) => c[1] === 'TEE-RED-M')).toEqual([
      ['A', 'TEE-RED-M', 1, 17910, 'percent', 500, 0, 895, 'pending'],
      ['B', 'TEE-RED-M', 0, 17910, 'percent', 1000, 0, 1791, 'pending'],
    ]);

    // The same refund under another webhook id (Shopify sends one per subscription) counts once.
    expect((await sendShopify(t, hook.tenantId, s, 'refunds/create', shopifyLineRefund(), 'wh-refund-1b')).data.outcome).toBe('duplicate');
    // A goodwill refund by amount: the 5 yuan of shipping in it is not commission base.
    expect((await sendShopify(t, hook.tenantId, s, 'refunds/create', shopifyAmountRefund(), 'wh-refund-2')).data.outcome).toBe('applied');
    await t.call('POST', `/v1/orders/${SHOPIFY_ORDER_ID}/events`, { token: api.key, body: { type: 'refunded', refund_fen: 3000 } });
    expect((await lines(hook, SHOPIFY_ORDER_ID)).refunded_fen).toBe(17910 + 3000);
    expect(await lines(hook, SHOPIFY_ORDER_ID)).toEqual(await lines(api, SHOPIFY_ORDER_ID));

    const shipped = await sendShopify(t, hook.tenantId, s, 'orders/fulfilled', shopifyFulfilled(), 'wh-ful-1');
    expect(shipped.data.outcome).toBe('applied');
    const order = (await t.call('GET', `/v1/orders/${SHOPIFY_ORDER_ID}`, { token: hook.key })).data;
    expect([order.status, order.shipped_at]).toEqual(['shipped', '2026-03-01T13:00:00.000Z']);
    for (const m of [hook, api]) expect((await verifyLedger(t.database.db, m.tenantId)).breaks).toEqual([]);
  });

  it('duplicate deliveries make one order: the same webhook id, another webhook id, concurrently', async () => {
    const m = await merchant();
    const s = await secret(m, 'shopify', 'shpss_duplicates_0123456789abcdef');
    const body = shopifyPaidOrder({ orderId: '4400000000001', inviteCode: m.b.invite_code });
    const answers = await Promise.all(['w-1', 'w-1', 'w-2', 'w-3'].map((id) => sendShopify(t, m.tenantId, s, 'orders/paid', body, id)));
    expect(answers.map((a) => a.statusCode)).toEqual([200, 200, 200, 200]);
    expect(answers.filter((a) => a.data.outcome === 'applied').length).toBe(1);
    expect(await countOrders(m)).toBe(1);
    const o = await lines(m, '4400000000001');
    expect(o.commissions.length).toBe(6);
    const rows = await deliveries(m);
    expect(rows.map((r) => r.delivery_id).sort()).toEqual(['w-1', 'w-2', 'w-3']);
    expect((await verifyLedger(t.database.db, m.tenantId)).breaks).toEqual([]);
  });

  it('an event before its order waits for it (202), and is applied when the order arrives', async () => {
    const m = await merchant();
    const s = await secret(m, 'shopify', 'shpss_deferred_0123456789abcdef0');
    const early = await sendShopify(t, m.tenantId, s, 'orders/fulfilled', shopifyFulfilled('4400000000002'), 'w-ful');
    expect([early.statusCode, early.data.outcome]).toEqual([202, 'deferred']);
    expect(await countOrders(m)).toBe(0);
    await sendShopify(t, m.tenantId, s, 'orders/paid', shopifyPaidOrder({ orderId: '4400000000002' }), 'w-paid');
    const o = (await t.call('GET', '/v1/orders/4400000000002', { token: m.key })).data;
    expect(o.status).toBe('shipped');
    const rows = await deliveries(m);
    expect(rows.find((r) => r.delivery_id === 'w-ful')).toMatchObject({ outcome: 'applied', order_external_id: '4400000000002' });
  });

  it('a bad HMAC, a tampered body or the wrong secret: 401 and nothing stored', async () => {
    const m = await merchant();
    const s = await secret(m, 'shopify', 'shpss_signature_0123456789abcdef0');
    const body = shopifyPaidOrder({ orderId: '4400000000003' });
    const base = { 'x-shopify-topic': 'orders/paid', 'x-shopify-webhook-id': 'w-x' };
    for (const headers of [
      { ...base, 'x-shopify-hmac-sha256': shopifySignature(s, body.replace('"199.00"', '"1.00"')) },
      { ...base, 'x-shopify-hmac-sha256': shopifySignature('shpss_another_secret_0123456789', body) },
      { ...base, 'x-shopify-hmac-sha256': createHexInsteadOfBase64(s, body) },
      { ...base },
    ]) {
      expect((await postWebhook(t, m.tenantId, 'shopify', body, headers)).statusCode).toBe(401);
    }
    const tampered = body.replace('"quantity":2', '"quantity":20');
    expect((await postWebhook(t, m.tenantId, 'shopify', tampered, { ...base, 'x-shopify-hmac-sha256': shopifySignature(s, body) })).statusCode).toBe(401);
    expect(await countOrders(m)).toBe(0);
    expect(await deliveries(m)).toEqual([]);
  });

  it('an order that cannot be mapped is a 400 with the reason; an unused topic is 200 ignored', async () => {
    const m = await merchant();
    const s = await secret(m, 'shopify', 'shpss_mapping_0123456789abcdef012');
    const bad = await sendShopify(
      t,
      m.tenantId,
      s,
      'orders/paid',
      JSON.stringify({ id: 77, line_items: [{ id: 1, sku: 'a', quantity: 1, price: '十元' }] }),
      'w-bad',
    );
    expect([bad.statusCode, bad.data.error.message]).toEqual([400, 'line_items[0].price is not a money amount: "十元"']);
    const other = await sendShopify(t, m.tenantId, s, 'orders/updated', JSON.stringify({ id: 77 }), 'w-upd');
    expect([other.statusCode, other.data.outcome]).toEqual([200, 'ignored']);
    expect(await countOrders(m)).toBe(0);
  });
});

function createHexInsteadOfBase64(secret: string, body: string): string {
  return Buffer.from(shopifySignature(secret, body), 'base64').toString('hex');
}

describe('WooCommerce webhooks', () => {
  it('processing, a partial refund, completed: the same order and commissions as through the API', async () => {
    const hook = await merchant();
    const api = await merchant();
    const s = await secret(hook, 'woocommerce');
    const created = await sendWoo(t, hook.tenantId, s, 'order.created', wooOrder({ inviteCode: hook.b.invite_code }), '1001');
    expect([created.statusCode, created.data.outcome]).toEqual([200, 'applied']);
    expect((await t.call('POST', '/v1/orders', { token: api.key, body: wooExpectedOrder('727', '26', api.b.invite_code) })).statusCode).toBe(201);
    const got = await lines(hook, '727');
    expect(got).toEqual(await lines(api, '727'));
    expect(got.items).toEqual([
      ['TEA-GREEN-250', 2, 6000, 10800, 0, 0],
      ['product:22:23', 1, 12000, 10800, 0, 0],
    ]);
    expect(got.commissions).toEqual([
      ['A', 'TEA-GREEN-250', 1, 10800, 'percent', 500, 0, 540, 'pending'],
      ['A', 'product:22:23', 1, 10800, 'percent', 500, 0, 540, 'pending'],
      ['B', 'TEA-GREEN-250', 0, 10800, 'percent', 1000, 0, 1080, 'pending'],
      ['B', 'product:22:23', 0, 10800, 'percent', 1000, 0, 1080, 'pending'],
    ]);

    // order.updated for a note or a status change sends the whole order again: nothing new.
    expect((await sendWoo(t, hook.tenantId, s, 'order.updated', wooOrder({ inviteCode: hook.b.invite_code }), '1002')).data.outcome).toBe('duplicate');
    // A partial refund of 25 yuan, then the same order sent again with it: applied once.
    const withRefund = wooOrder({ inviteCode: hook.b.invite_code, refunds: [{ id: 901, total: '-25.00' }] });
    expect((await sendWoo(t, hook.tenantId, s, 'order.updated', withRefund, '1003')).data.outcome).toBe('applied');
    expect((await sendWoo(t, hook.tenantId, s, 'order.updated', withRefund, '1004')).data.outcome).toBe('duplicate');
    await t.call('POST', '/v1/orders/727/events', { token: api.key, body: { type: 'refunded', refund_fen: 2500 } });
    const refunded = await lines(hook, '727');
    expect(refunded).toEqual(await lines(api, '727'));
    expect(refunded.refunded_fen).toBe(2500);

    const completed = await sendWoo(
      t,
      hook.tenantId,
      s,
      'order.updated',
      wooOrder({ status: 'completed', inviteCode: hook.b.invite_code, refunds: [{ id: 901, total: '-25.00' }] }),
      '1005',
    );
    expect(completed.data.outcome).toBe('applied');
    expect((await t.call('GET', '/v1/orders/727', { token: hook.key })).data).toMatchObject({
      status: 'shipped',
      shipped_at: '2026-03-02T10:00:00.000Z',
      refunded_fen: 2500,
    });
    expect(await countOrders(hook)).toBe(1);

    // Refunded in full: what remains comes back.
    expect(
      (
        await sendWoo(
          t,
          hook.tenantId,
          s,
          'order.updated',
          wooOrder({
            status: 'refunded',
            refunds: [
              { id: 901, total: '-25.00' },
              { id: 902, total: '-213.96' },
            ],
          }),
          '1006',
        )
      ).data.outcome,
    ).toBe('applied');
    expect((await t.call('GET', '/v1/orders/727', { token: hook.key })).data).toMatchObject({ status: 'refunded', refunded_fen: 21600 });
    expect((await verifyLedger(t.database.db, hook.tenantId)).breaks).toEqual([]);
  });

  it('orders not paid yet are ignored; the ping of a new webhook is answered', async () => {
    const m = await merchant();
    const s = await secret(m, 'woocommerce');
    for (const status of ['pending', 'on-hold', 'failed', 'cancelled']) {
      const r = await sendWoo(t, m.tenantId, s, 'order.updated', wooOrder({ id: 800, status }), `p-${status}`);
      expect([status, r.statusCode, r.data.outcome]).toEqual([status, 200, 'ignored']);
    }
    expect(await countOrders(m)).toBe(0);
    const ping = await postWebhook(t, m.tenantId, 'woocommerce', 'webhook_id=12', {
      'content-type': 'application/x-www-form-urlencoded',
      'x-wc-webhook-id': '12',
    });
    expect([ping.statusCode, ping.data.outcome]).toEqual([200, 'ignored']);
  });

  it('a bad signature is 401 and stores nothing', async () => {
    const m = await merchant();
    const s = await secret(m, 'woocommerce');
    const body = JSON.stringify(wooOrder({ id: 801 }));
    const headers = { 'x-wc-webhook-topic': 'order.created', 'x-wc-webhook-delivery-id': '9' };
    expect((await postWebhook(t, m.tenantId, 'woocommerce', body, { ...headers, 'x-wc-webhook-signature': wooSignature(`${s}!`, body) })).statusCode).toBe(401);
    expect(
      (await postWebhook(t, m.tenantId, 'woocommerce', body.replace('"108.00"', '"1080.00"'), { ...headers, 'x-wc-webhook-signature': wooSignature(s, body) }))
        .statusCode,
    ).toBe(401);
    expect(await countOrders(m)).toBe(0);
    expect(await deliveries(m)).toEqual([]);
  });
});

describe('deliveries for support', () => {
  it('are listed per tenant and can be replayed; another tenant sees none of them', async () => {
    const m = await merchant();
    const other = await merchant();
    const s = await secret(m, 'shopify', 'shpss_support_0123456789abcdef012');
    await sendShopify(t, m.tenantId, s, 'orders/fulfilled', shopifyFulfilled('4400000000009'), 'w-early');
    const [row] = await deliveries(m);
    expect(row).toMatchObject({
      format: 'shopify',
      topic: 'orders/fulfilled',
      delivery_id: 'w-early',
      outcome: 'deferred',
      order_external_id: '4400000000009',
      attempts: 1,
    });
    expect(await deliveries(other)).toEqual([]);
    expect((await t.call('POST', `/v1/webhooks/deliveries/${row.id}/replay`, { token: other.key })).statusCode).toBe(404);
    // The order arrives by the API instead: a replay applies the waiting event.
    await t.call('POST', '/v1/orders', {
      token: m.key,
      body: { external_id: '4400000000009', buyer_external_id: 'u', items: [{ sku: 's', quantity: 1, unit_price_fen: 100, paid_fen: 100 }] },
    });
    const replayed = await t.call('POST', `/v1/webhooks/deliveries/${row.id}/replay`, { token: m.key });
    expect(replayed.data).toMatchObject({ outcome: 'applied', attempts: 2 });
    expect((await t.call('GET', '/v1/orders/4400000000009', { token: m.key })).data.status).toBe('shipped');
  });

  it("keep a delivery's body 30 days, then only its record", async () => {
    const clock = new ManualClock('2026-03-01T08:00:00Z');
    const s2 = await startTestServer({ clock });
    try {
      const { id: tenantId, key } = await s2.tenant('保留');
      const secretOf = (await s2.call('POST', '/v1/webhooks/secret', { token: key, body: { format: 'shopify', secret: 'shpss_retention_0123456789abcdef' } }))
        .data.secret;
      await sendShopify(s2, tenantId, secretOf, 'orders/updated', JSON.stringify({ id: 1 }), 'old');
      clock.advance(31 * 86_400_000);
      await sendShopify(s2, tenantId, secretOf, 'orders/updated', JSON.stringify({ id: 2 }), 'new');
      const rows = (await s2.call('GET', '/v1/webhooks/deliveries', { token: key })).data.items;
      expect(rows.map((r: JsonBody) => [r.delivery_id, r.has_payload])).toEqual([
        ['new', true],
        ['old', false],
      ]);
    } finally {
      await s2.close();
    }
  });
});
