import { createPrivateKey } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/context.ts';
import { createPayoutChannels } from '../../src/adapters/payout/index.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { generateRsaKeyPair } from '../support/providers/pki.ts';
import { WechatPaySimulator } from '../support/providers/wechat-server.ts';
import { AlipaySimulator } from '../support/providers/alipay-server.ts';

/**
 * Purchase orders (进货单) paid online through the merchant's WeChat Pay merchant or Alipay app:
 * the channels' own payment notifications, built by the local simulators (test/support/providers)
 * with real RSA signatures and, for WeChat Pay, a real AES-256-GCM resource under the APIv3 key.
 * The server verifies them with the keys configured for payouts.
 */

const MCH_ID = '1900000109';
const WX_APP = 'wxd678efh567hg6787';
const SERIAL = '5157F09EFDC096DE15EBE81A47057A7232F1B8E1';
const APIV3 = 'a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6';
const ALI_APP = '2021000000000001';
const merchant = generateRsaKeyPair();
const aliKey = generateRsaKeyPair();
const stranger = createPrivateKey(generateRsaKeyPair().privateKeyPem);

const clock = new ManualClock(new Date());
let wx: WechatPaySimulator;
let ali: AlipaySimulator;
let t: TestServer;
/** A server with no WeChat Pay or Alipay configured. */
let bare: TestServer;

beforeAll(async () => {
  const now = () => clock.now().getTime();
  wx = await WechatPaySimulator.start({
    mchId: MCH_ID,
    appId: WX_APP,
    merchantPublicKeyPem: merchant.publicKeyPem,
    merchantSerialNo: SERIAL,
    apiV3Key: APIV3,
    now,
  });
  ali = await AlipaySimulator.start({ appId: ALI_APP, now });
  const channels = createPayoutChannels(
    {
      wechat: {
        mchId: MCH_ID,
        appId: WX_APP,
        merchantPrivateKey: merchant.privateKeyPem,
        merchantSerialNo: SERIAL,
        platformPublicKeys: [{ serial: wx.platformPublicKeyId, publicKey: wx.platformPublicKeyPem }],
        apiV3Key: APIV3,
        transferSceneId: '1005',
        transferSceneReportInfos: [],
        baseUrl: wx.origin,
      },
      alipay: {
        appId: ALI_APP,
        privateKey: aliKey.privateKeyPem,
        appCert: ali.issueAppCert(aliKey.privateKeyPem),
        alipayPublicCert: ali.alipayPublicCertPem,
        alipayRootCert: ali.rootCertBundlePem,
        gateway: ali.gatewayUrl,
      },
    },
    { clock },
  );
  t = await startTestServer({ clock, overrides: { payoutChannels: channels, submitPayoutsInline: false } });
  bare = await startTestServer({ clock });
});

afterAll(async () => {
  await t?.close();
  await bare?.close();
  await wx?.close();
  await ali?.close();
});

/** A tenant with a district agent, tea priced for it at `unitFen`, and a pending purchase order of `quantity`. */
async function pendingPurchase(unitFen: number, quantity = 3) {
  const { key, id: tenantId } = await t.tenant();
  const call = (method: string, url: string, body?: unknown, headers?: Record<string, string>) =>
    t.call(method, url, { token: key, ...(body !== undefined ? { body } : {}), ...(headers ? { headers } : {}) });
  expect((await call('PUT', '/v1/agent-program', { enabled: true })).statusCode).toBe(200);
  expect(
    (await call('PUT', '/v1/agent-prices/tea', { retail_fen: unitFen * 2, province_fen: unitFen, city_fen: unitFen, district_fen: unitFen })).statusCode,
  ).toBe(200);
  const d = (await call('POST', '/v1/distributors', { external_id: 'agent-1', name: '代理甲' })).data as { id: string };
  const agent = (await call('POST', '/v1/agents', { distributor_id: d.id, rank: 'district', region_code: '440305' })).data as { id: string };
  const po = (await call('POST', '/v1/purchase-orders', { agent_id: agent.id, items: [{ sku: 'tea', quantity }] }, { 'idempotency-key': `po-${unitFen}` }))
    .data as { id: string; amount_fen: number };
  expect(po.amount_fen).toBe(unitFen * quantity);
  const state = async () => ({
    order: (await call('GET', `/v1/purchase-orders/${po.id}`)).data as { status: string; reference: string | null },
    stock: ((await call('GET', `/v1/agents/${agent.id}/inventory`)).data.items as { sku: string; quantity: number }[]).map((i) => [i.sku, i.quantity]),
    journal: ((await call('GET', `/v1/journal-entries?ref_id=${po.id}`)).data.items as unknown[]).length,
  });
  const newPo = async (idem: string, qty = 1) =>
    (await call('POST', '/v1/purchase-orders', { agent_id: agent.id, items: [{ sku: 'tea', quantity: qty }] }, { 'idempotency-key': idem })).data as {
      id: string;
      amount_fen: number;
    };
  const verify = async () => (await call('GET', '/v1/ledger/verify')).data.breaks;
  return { tenantId, po, state, newPo, verify, call };
}

async function post(server: TestServer, url: string, headers: Record<string, string>, body: Buffer) {
  return server.app.inject({ method: 'POST', url, headers, payload: body });
}

/** The log lines this server wrote about purchase payment notifications since `from`. */
function notificationLogs(from: number) {
  return t.logLines
    .slice(from)
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l) => typeof l.msg === 'string' && l.msg.startsWith('purchase payment notification'));
}

describe('WeChat Pay payment notification (支付成功通知) for a purchase order', () => {
  it('pays the order once; a retry answers the same; forged, tampered, wrong-amount, unknown and second payments change nothing', async () => {
    const s = await pendingPurchase(7000);
    const url = `/v1/webhooks/${s.tenantId}/purchase-payments/wechat`;
    const tx = { outTradeNo: s.po.id, transactionId: '4200002345202603011234567890', totalFen: 21000 };
    const send = (n: ReturnType<WechatPaySimulator['buildPaymentNotification']>) => post(t, url, n.headers, n.body);
    const expectFail = (res: Awaited<ReturnType<typeof send>>, status: number) => {
      expect(res.statusCode).toBe(status);
      expect(JSON.parse(res.body)).toMatchObject({ code: 'FAIL', message: expect.any(String) });
    };
    const untouched = { order: expect.objectContaining({ status: 'pending_payment', reference: null }), stock: [], journal: 0 };
    const logFrom = t.logLines.length;

    // Signed by another key; signed properly but the body changed after; an unknown serial; a stale
    // timestamp; a resource encrypted under another APIv3 key; a ciphertext flipped under the tag.
    expectFail(await send(wx.buildPaymentNotification(tx, { signWith: stranger })), 401);
    const genuine = wx.buildPaymentNotification(tx);
    const envelope = JSON.parse(genuine.body.toString('utf8')) as { summary: string };
    envelope.summary = '支付成功 ';
    expectFail(await post(t, url, genuine.headers, Buffer.from(JSON.stringify(envelope))), 401);
    expectFail(await send(wx.buildPaymentNotification(tx, { serial: 'PUB_KEY_ID_0000' })), 401);
    expectFail(await send(wx.buildPaymentNotification(tx, { timestamp: Math.floor(clock.now().getTime() / 1000) - 3600 })), 401);
    expectFail(await send(wx.buildPaymentNotification(tx, { apiV3Key: 'Z'.repeat(32) })), 401);
    expectFail(await send(wx.buildPaymentNotification(tx, { tamperCiphertext: true })), 401);
    // Another merchant's payment, signed by WeChat Pay all the same.
    expectFail(await send(wx.buildPaymentNotification(tx, { payload: { mchid: '1900000999' } })), 401);
    // A transfer callback is not a payment.
    expectFail(await post(t, url, { 'content-type': 'application/json' }, Buffer.from('{}')), 401);
    // Signed and genuine, but not this order's amount, or not an order of this tenant.
    expectFail(await send(wx.buildPaymentNotification({ ...tx, totalFen: 20999 })), 400);
    expectFail(await send(wx.buildPaymentNotification({ ...tx, outTradeNo: 'apo_01JNOTHERE0000000000000000' })), 404);
    const other = await pendingPurchase(100);
    expectFail(await post(t, `/v1/webhooks/${other.tenantId}/purchase-payments/wechat`, genuine.headers, genuine.body), 404);
    expect(await s.state()).toEqual(untouched);

    // A payment that did not complete is acknowledged (so WeChat Pay stops) and pays nothing.
    expect((await send(wx.buildPaymentNotification({ ...tx, tradeState: 'PAYERROR' }))).statusCode).toBe(204);
    expect(await s.state()).toEqual(untouched);

    const paid = await send(genuine);
    expect(paid.statusCode).toBe(204);
    const after = { order: expect.objectContaining({ status: 'paid', reference: tx.transactionId }), stock: [['tea', 3]], journal: 1 };
    expect(await s.state()).toEqual(after);
    // WeChat Pay sends it again (the same bytes, or a fresh notification of the same payment).
    expect((await send(genuine)).statusCode).toBe(204);
    expect((await send(wx.buildPaymentNotification(tx))).statusCode).toBe(204);
    expect(await s.state()).toEqual(after);
    // Paid already: another payment of the same order is refused, and so is another amount.
    expectFail(await send(wx.buildPaymentNotification({ ...tx, transactionId: '4200002345202603019999999999' })), 409);
    expectFail(await send(wx.buildPaymentNotification({ ...tx, totalFen: 21001 })), 409);
    expect(await s.state()).toEqual(after);
    expect(await s.verify()).toEqual([]);

    // Each notification logged with its request id and outcome; no key material in the lines.
    const logs = notificationLogs(logFrom);
    expect(logs.filter((l) => l.msg === 'purchase payment notification accepted')).toHaveLength(3);
    expect(logs.filter((l) => l.msg === 'purchase payment notification refused')).toHaveLength(13);
    expect(logs.filter((l) => l.msg === 'purchase payment notification acknowledged: no payment in it')).toHaveLength(1);
    for (const l of logs) {
      expect(l.request_id, JSON.stringify(l)).toMatch(/^req_/);
      expect(l).toMatchObject({ channel: 'wechat' });
    }
    const text = t.logLines.slice(logFrom).join('\n');
    expect(text).not.toContain(APIV3);
    expect(text).not.toContain(genuine.headers['wechatpay-signature']);
  });

  it('concurrent deliveries of one payment pay once; of two payments, exactly one wins (races mean something on PostgreSQL)', async () => {
    const s = await pendingPurchase(500, 2);
    const url = `/v1/webhooks/${s.tenantId}/purchase-payments/wechat`;
    const tx = { outTradeNo: s.po.id, transactionId: '4200000000000000000000000001', totalFen: 1000 };
    const same = await Promise.all(Array.from({ length: 8 }, () => wx.buildPaymentNotification(tx)).map((n) => post(t, url, n.headers, n.body)));
    expect(same.map((r) => r.statusCode)).toEqual(Array(8).fill(204));
    expect(await s.state()).toEqual({ order: expect.objectContaining({ status: 'paid', reference: tx.transactionId }), stock: [['tea', 2]], journal: 1 });

    const po = await s.newPo('race-2', 2);
    const rivals = await Promise.all(
      ['4200000000000000000000000002', '4200000000000000000000000003'].map((transactionId) => {
        const n = wx.buildPaymentNotification({ outTradeNo: po.id, transactionId, totalFen: 1000 });
        return post(t, url, n.headers, n.body);
      }),
    );
    expect(rivals.map((r) => r.statusCode).sort()).toEqual([204, 409]);
    const won = ['4200000000000000000000000002', '4200000000000000000000000003'][rivals.findIndex((r) => r.statusCode === 204)];
    expect((await s.call('GET', `/v1/purchase-orders/${po.id}`)).data).toMatchObject({ status: 'paid', reference: won });
    expect(((await s.call('GET', `/v1/journal-entries?ref_id=${po.id}`)).data.items as unknown[]).length).toBe(1);
    expect(await s.verify()).toEqual([]);
  });

  it('refuses with FAIL when the deployment has no WeChat Pay merchant, and in the error shape when the framework refuses first', async () => {
    const { id } = await bare.tenant();
    const n = wx.buildPaymentNotification({ outTradeNo: 'apo_01JNOTHERE0000000000000000', transactionId: '42000', totalFen: 1 });
    const res = await post(bare, `/v1/webhooks/${id}/purchase-payments/wechat`, n.headers, n.body);
    expect(res.statusCode).toBe(404);
    expect(JSON.parse(res.body)).toMatchObject({ code: 'FAIL' });
    const malformed = await post(t, '/v1/webhooks/not%20a%20tenant/purchase-payments/wechat', n.headers, n.body);
    expect(malformed.statusCode).toBe(400);
    expect(JSON.parse(malformed.body)).toMatchObject({ error: { code: 'invalid_request' } });
  });
});

describe('Alipay asynchronous notification (异步通知) for a purchase order', () => {
  it('pays the order once; TRADE_FINISHED and retries answer success; forged, tampered, wrong-amount, unknown and second payments answer failure and change nothing', async () => {
    const s = await pendingPurchase(1999, 1);
    const url = `/v1/webhooks/${s.tenantId}/purchase-payments/alipay`;
    const form = { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' };
    const trade = { outTradeNo: s.po.id, tradeNo: '2026030122001400000000000001', totalAmount: '19.99' };
    const send = (body: Buffer) => post(t, url, form, body);
    const expectAnswer = (res: Awaited<ReturnType<typeof send>>, status: number, text: string) => {
      expect(res.statusCode).toBe(status);
      expect(res.body).toBe(text);
    };
    const untouched = { order: expect.objectContaining({ status: 'pending_payment', reference: null }), stock: [], journal: 0 };
    const logFrom = t.logLines.length;

    expectAnswer(await send(ali.buildTradeNotify(trade, { signWith: stranger })), 401, 'failure');
    // The amount changed after signing: the signature no longer holds.
    expectAnswer(await send(ali.buildTradeNotify(trade, { tamper: (p) => p.set('total_amount', '0.01') })), 401, 'failure');
    expectAnswer(await send(ali.buildTradeNotify(trade, { appId: '2021999999999999' })), 401, 'failure');
    expectAnswer(await send(ali.buildTradeNotify(trade, { signType: 'RSA' })), 401, 'failure');
    expectAnswer(await send(Buffer.from('trade_status=TRADE_SUCCESS')), 401, 'failure');
    // A transfer notification of the same app is not a trade's.
    const at = clock.now().getTime();
    ali.orders.set('wd1', {
      outBizNo: 'wd1',
      orderId: '20260301110070000006000000000001',
      payFundOrderId: '20260301110070001506000000000001',
      transAmount: '19.99',
      identity: '2088000000000001',
      identityType: 'ALIPAY_USER_ID',
      orderTitle: '佣金',
      status: 'SUCCESS',
      createdAt: at,
      updatedAt: at,
      fingerprint: 'x',
    });
    expectAnswer(await send(ali.buildNotify('wd1')), 401, 'failure');
    // Genuine, but not the order's amount ("19.9" is 1990 fen, "1999" is 199900), or no order of this tenant.
    for (const totalAmount of ['19.98', '19.9', '1999', '20']) expectAnswer(await send(ali.buildTradeNotify({ ...trade, totalAmount })), 400, 'failure');
    // Not a yuan amount at all: refused as malformed, never rounded.
    expectAnswer(await send(ali.buildTradeNotify({ ...trade, totalAmount: '19.990' })), 401, 'failure');
    expectAnswer(await send(ali.buildTradeNotify({ ...trade, outTradeNo: 'apo_01JNOTHERE0000000000000000' })), 404, 'failure');
    // Closed or waiting trades carry no money: acknowledged, nothing paid.
    expectAnswer(await send(ali.buildTradeNotify({ ...trade, tradeStatus: 'WAIT_BUYER_PAY' })), 200, 'success');
    expectAnswer(await send(ali.buildTradeNotify({ ...trade, tradeStatus: 'TRADE_CLOSED' })), 200, 'success');
    expect(await s.state()).toEqual(untouched);

    const genuine = ali.buildTradeNotify(trade);
    expectAnswer(await send(genuine), 200, 'success');
    const after = { order: expect.objectContaining({ status: 'paid', reference: trade.tradeNo }), stock: [['tea', 1]], journal: 1 };
    expect(await s.state()).toEqual(after);
    // Alipay retries, then says TRADE_FINISHED when the refund window closes: the same payment.
    expectAnswer(await send(genuine), 200, 'success');
    expectAnswer(await send(ali.buildTradeNotify({ ...trade, tradeStatus: 'TRADE_FINISHED' })), 200, 'success');
    expect(await s.state()).toEqual(after);
    expectAnswer(await send(ali.buildTradeNotify({ ...trade, tradeNo: '2026030122001400000000000002' })), 409, 'failure');
    // A closed trade of a paid order changes nothing either.
    expectAnswer(await send(ali.buildTradeNotify({ ...trade, tradeStatus: 'TRADE_CLOSED' })), 200, 'success');
    expect(await s.state()).toEqual(after);
    expect(await s.verify()).toEqual([]);

    const logs = notificationLogs(logFrom);
    expect(logs.filter((l) => l.msg === 'purchase payment notification accepted')).toHaveLength(3);
    expect(logs.filter((l) => l.msg === 'purchase payment notification refused')).toHaveLength(13);
    for (const l of logs) expect(l).toMatchObject({ channel: 'alipay', request_id: expect.stringMatching(/^req_/) });
    // One line per notification: each request's own id.
    expect(new Set(logs.map((l) => l.request_id)).size).toBe(logs.length);
  });

  it('reads total_amount as exact fen: "0.10", "19.99", "100", "0.01"', async () => {
    for (const [unitFen, totalAmount] of [
      [10, '0.10'],
      [1999, '19.99'],
      [10000, '100'],
      [1, '0.01'],
    ] as const) {
      const s = await pendingPurchase(unitFen, 1);
      const url = `/v1/webhooks/${s.tenantId}/purchase-payments/alipay`;
      const res = await post(
        t,
        url,
        { 'content-type': 'application/x-www-form-urlencoded' },
        ali.buildTradeNotify({ outTradeNo: s.po.id, tradeNo: `T${unitFen}`, totalAmount }),
      );
      expect(res.body, totalAmount).toBe('success');
      expect((await s.state()).order, totalAmount).toMatchObject({ status: 'paid', reference: `T${unitFen}` });
    }
    // One fen off either way is another amount.
    const s = await pendingPurchase(10, 1);
    for (const totalAmount of ['0.09', '0.11', '0.1', '1.0']) {
      const res = await post(
        t,
        `/v1/webhooks/${s.tenantId}/purchase-payments/alipay`,
        { 'content-type': 'application/x-www-form-urlencoded' },
        ali.buildTradeNotify({ outTradeNo: s.po.id, tradeNo: 'T', totalAmount }),
      );
      // "0.1" is 10 fen too: it pays; the rest are refused.
      expect(res.body, totalAmount).toBe(totalAmount === '0.1' ? 'success' : 'failure');
    }
    expect((await s.state()).order).toMatchObject({ status: 'paid' });
  });

  it('answers failure when the deployment has no Alipay app', async () => {
    const { id } = await bare.tenant();
    const res = await post(
      bare,
      `/v1/webhooks/${id}/purchase-payments/alipay`,
      { 'content-type': 'application/x-www-form-urlencoded' },
      ali.buildTradeNotify({ outTradeNo: 'apo_x', tradeNo: 'T', totalAmount: '1.00' }),
    );
    expect(res.statusCode).toBe(404);
    expect(res.body).toBe('failure');
  });
});
