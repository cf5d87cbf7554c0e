/**
 * What a caller learns that it should not (issue 14, item 17): a payout callback of a channel the
 * deployment does not offer answers 404, not a 500 that tells a prober it hit code; and an upline
 * reading an override line through the portal sees the buyer's external id masked (merchants use
 * phone numbers and WeChat openids as user ids, and the buyer is someone else's customer).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.ts';
import { portalSession } from './world.ts';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.close();
});

describe('payout callbacks of a channel that is not configured', () => {
  it.each(['wechat', 'alipay'])('%s: 404 not_found, whatever the body', async (channel) => {
    expect(t.services.payoutChannels.configured).not.toContain(channel);
    for (const [type, body] of [
      ['application/json', '{"id":"x","resource":{}}'],
      ['application/x-www-form-urlencoded', 'out_biz_no=WD1&sign=x'],
      ['text/plain', ''],
    ] as const) {
      const res = await t.app.inject({ method: 'POST', url: `/v1/payouts/callbacks/${channel}`, headers: { 'content-type': type }, payload: body });
      expect(res.statusCode, res.body).toBe(404);
    }
  });
});

describe('an override line read by the upline', () => {
  it("shows the downline buyer's external id masked; the seller's own line and the merchant see it whole", async () => {
    const { id: tenantId, key } = await t.tenant('Masking merchant');
    const secret = (await t.call('POST', '/v1/portal/signing-secret', { token: key })).data.secret as string;
    expect((await t.call('PUT', '/v1/program', { token: key, body: { levels: 2 } })).statusCode).toBe(200);
    expect(
      (await t.call('PUT', '/v1/grades/default', { token: key, body: { name: 'default', rank: 0, sales_bp: 1000, override_bp: [500, 200] } })).statusCode,
    ).toBe(200);
    const a = (await t.call('POST', '/v1/distributors', { token: key, body: { external_id: 'up-a', name: 'A' } })).data;
    const b = (await t.call('POST', '/v1/distributors', { token: key, body: { external_id: 'seller-b', name: 'B', referrer_code: a.invite_code } })).data;
    const buyer = '13812345678';
    expect((await t.call('POST', '/v1/bindings', { token: key, body: { customer_external_id: buyer, invite_code: b.invite_code } })).statusCode).toBe(201);
    const order = await t.call('POST', '/v1/orders', {
      token: key,
      body: { external_id: 'mask-1', buyer_external_id: buyer, items: [{ sku: 's', quantity: 1, unit_price_fen: 10000, paid_fen: 10000 }] },
    });
    expect(order.statusCode, order.body).toBe(201);
    const lineOf = (id: string) => (order.data.commissions as { id: string; beneficiary_id: string }[]).find((c) => c.beneficiary_id === id)!.id;

    const upline = await portalSession(t, tenantId, secret, 'up-a');
    const seen = await t.call('GET', `/v1/commissions/${lineOf(a.id)}`, { token: upline });
    expect(seen.statusCode, seen.body).toBe(200);
    expect(seen.body).not.toContain(buyer);
    expect(seen.data.explanation.order.buyer_external_id).toBe('138****5678');

    const seller = await portalSession(t, tenantId, secret, 'seller-b');
    expect((await t.call('GET', `/v1/commissions/${lineOf(b.id)}`, { token: seller })).data.explanation.order.buyer_external_id).toBe(buyer);
    expect((await t.call('GET', `/v1/commissions/${lineOf(a.id)}`, { token: key })).data.explanation.order.buyer_external_id).toBe(buyer);
  });
});
