import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.ts';
import { ManualClock } from '../../src/core/context.ts';
import { createPayoutChannels } from '../../src/adapters/payout/index.ts';
import { generateRsaKeyPair } from '../support/providers/pki.ts';
import { WechatPaySimulator, type WechatFault, type WechatOutcome } from '../support/providers/wechat-server.ts';
import { AlipaySimulator } from '../support/providers/alipay-server.ts';
import { verifyLedger } from '../../src/modules/ledger/verify.ts';

/**
 * Withdrawals paid through WeChat Pay and Alipay, against local servers that play the providers
 * by their published specifications (test/support/providers). Fenxiao's adapters do real HTTP,
 * real signing, verification and decryption; the worker is driven by hand so each step is seen.
 */

const MCH_ID = '1900000109';
const WX_APP = 'wxd678efh567hg6787';
const SERIAL = '5157F09EFDC096DE15EBE81A47057A7232F1B8E1';
const APIV3 = 'a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6';
const ALI_APP = '2021000000000001';
const merchant = generateRsaKeyPair();
const aliKey = generateRsaKeyPair();

let wx: WechatPaySimulator;
let ali: AlipaySimulator;
let t: TestServer;
let clock: ManualClock;

beforeAll(async () => {
  wx = await WechatPaySimulator.start({ mchId: MCH_ID, appId: WX_APP, merchantPublicKeyPem: merchant.publicKeyPem, merchantSerialNo: SERIAL, apiV3Key: APIV3 });
  ali = await AlipaySimulator.start({ appId: ALI_APP });
  const channels = createPayoutChannels({
    wechat: {
      mchId: MCH_ID,
      appId: WX_APP,
      merchantPrivateKey: merchant.privateKeyPem,
      merchantSerialNo: SERIAL,
      platformPublicKeys: [{ serial: wx.platformPublicKeyId, publicKey: wx.platformPublicKeyPem }],
      apiV3Key: APIV3,
      transferSceneId: '1005',
      transferSceneReportInfos: [
        { infoType: '岗位类型', infoContent: '分销员' },
        { infoType: '报酬说明', infoContent: '分销佣金' },
      ],
      notifyUrl: 'https://fenxiao.test/v1/payouts/callbacks/wechat',
      baseUrl: wx.origin,
      timeoutMs: 1500,
    },
    alipay: {
      appId: ALI_APP,
      privateKey: aliKey.privateKeyPem,
      appCert: ali.issueAppCert(aliKey.privateKeyPem),
      alipayPublicCert: ali.alipayPublicCertPem,
      alipayRootCert: ali.rootCertBundlePem,
      gateway: ali.gatewayUrl,
      timeoutMs: 1500,
    },
  });
  clock = new ManualClock(new Date());
  t = await startTestServer({ clock, overrides: { payoutChannels: channels, submitPayoutsInline: false } });
});

afterAll(async () => {
  await t?.close();
  await wx?.close();
  await ali?.close();
});

/** A distributor with `fen` withdrawable and a WeChat and an Alipay payout account. */
async function funded(fen: number) {
  const { id: tenantId, key } = await t.tenant();
  await t.call('PUT', '/v1/program', {
    token: key,
    body: { levels: 1, freeze_days: 0, review_threshold_fen: 100_000_000, withdrawal: { auto_approve_max_fen: 100_000_000, min_fen: 1 } },
  });
  await t.call('PUT', '/v1/grades/default', { token: key, body: { name: 'g', rank: 0, sales_bp: 10000, override_bp: [] } });
  const d = (await t.call('POST', '/v1/distributors', { token: key, body: { external_id: 'D', name: '张三' } })).data;
  await t.call('POST', '/v1/bindings', { token: key, body: { customer_external_id: 'buyer', invite_code: d.invite_code } });
  await t.call('POST', '/v1/orders', {
    token: key,
    body: { external_id: 'o', buyer_external_id: 'buyer', items: [{ sku: 's', quantity: 1, unit_price_fen: fen, paid_fen: fen }] },
  });
  await t.call('POST', '/v1/orders/o/events', { token: key, body: { type: 'received', at: new Date(clock.now().getTime() - 1000).toISOString() } });
  await t.call('POST', '/v1/settlements/run', { token: key, body: { as_of: clock.now().toISOString() } });
  const openid = `o-${d.id}`;
  expect(
    (await t.call('POST', `/v1/distributors/${d.id}/payout-accounts`, { token: key, body: { channel: 'wechat', openid, user_name: '张三' } })).statusCode,
  ).toBe(201);
  expect(
    (
      await t.call('POST', `/v1/distributors/${d.id}/payout-accounts`, {
        token: key,
        body: { channel: 'alipay', identity: '2088123412341234', identity_type: 'ALIPAY_USER_ID', name: '张三' },
      })
    ).statusCode,
  ).toBe(201);
  const withdraw = async (amount: number, channel: 'wechat' | 'alipay' = 'wechat') => {
    const res = await t.call('POST', '/v1/withdrawals', { token: key, body: { distributor_id: d.id, amount_fen: amount, channel } });
    expect(res.statusCode).toBe(201);
    return res.data as { id: string; status: string; payout: { id: string; out_no: string; state: string } };
  };
  const get = async (id: string) => (await t.call('GET', `/v1/withdrawals/${id}`, { token: key })).data;
  const balance = async () => (await t.call('GET', `/v1/distributors/${d.id}/balance`, { token: key })).data;
  const verify = async () => (await verifyLedger(t.database.db, tenantId)).breaks;
  return { tenantId, key, d, openid, withdraw, get, balance, verify };
}

/** Lets time pass and runs the payout worker until nothing is due (bounded). */
async function drain(rounds = 8) {
  for (let i = 0; i < rounds; i++) {
    clock.advance(3_600_000);
    if ((await t.services.withdrawals.workDue(500)) === 0) break;
  }
}

describe('WeChat Pay merchant transfer', () => {
  it('success: paid once, money to withdrawn, fee kept', async () => {
    const f = await funded(100_000);
    wx.behave('*', { outcome: 'succeed' });
    const w = await f.withdraw(30_000);
    expect(w).toMatchObject({ status: 'approved', payout: { state: 'created' } });
    expect(await t.services.withdrawals.work(w.payout.id)).toBe('succeeded');
    expect(await f.get(w.id)).toMatchObject({ status: 'paid', payout: { state: 'succeeded' } });
    expect(wx.createdCount(w.payout.out_no)).toBe(1);
    expect(wx.paidToFen(f.openid)).toBe(30_000);
    expect(await f.balance()).toMatchObject({ withdrawable_fen: 70_000, withdrawing_fen: 0, withdrawn_fen: 30_000 });
    expect(await f.verify()).toEqual([]);
  });

  it('failure: the money goes back to withdrawable', async () => {
    const f = await funded(100_000);
    wx.behave('*', { outcome: 'fail', failReason: 'ACCOUNT_FROZEN' });
    const w = await f.withdraw(30_000);
    expect(await t.services.withdrawals.work(w.payout.id)).toBe('failed');
    expect(await f.get(w.id)).toMatchObject({ status: 'failed', payout: { state: 'failed', fail_code: 'ACCOUNT_FROZEN' } });
    expect(await f.balance()).toMatchObject({ withdrawable_fen: 100_000, withdrawing_fen: 0, withdrawn_fen: 0 });
    expect(await f.verify()).toEqual([]);
  });

  it('a timeout whose query then finds success is paid once', async () => {
    const f = await funded(100_000);
    wx.behave('*', { outcome: 'succeed', fault: 'timeout' });
    const w = await f.withdraw(20_000);
    expect(await t.services.withdrawals.work(w.payout.id)).toBe('unknown');
    expect(await f.balance()).toMatchObject({ withdrawable_fen: 80_000, withdrawing_fen: 20_000, withdrawn_fen: 0 });
    wx.behave('*', {});
    await drain();
    expect(await f.get(w.id)).toMatchObject({ status: 'paid' });
    expect(wx.createdCount(w.payout.out_no)).toBe(1);
    expect(wx.createRequests.get(w.payout.out_no)).toBe(1);
    expect(await f.verify()).toEqual([]);
  });

  it('an unfamiliar code whose query finds nothing is resent identically with the same out number', async () => {
    const f = await funded(100_000);
    wx.behave('*', { outcome: 'succeed', fault: 'unfamiliar_code' });
    const w = await f.withdraw(10_000);
    expect(await t.services.withdrawals.work(w.payout.id)).toBe('unknown');
    expect(wx.createdCount(w.payout.out_no)).toBe(0);
    wx.behave('*', { outcome: 'succeed' });
    await drain();
    expect(await f.get(w.id)).toMatchObject({ status: 'paid', payout: { out_no: w.payout.out_no } });
    expect(wx.createRequests.get(w.payout.out_no)).toBe(2);
    expect(wx.createdCount(w.payout.out_no)).toBe(1);
    expect(await f.verify()).toEqual([]);
  });

  it('waits for the payee to confirm: package_info for the portal, then the callback settles it; duplicates do nothing', async () => {
    const f = await funded(100_000);
    wx.behave('*', { outcome: 'wait_user_confirm' });
    const w = await f.withdraw(10_000);
    expect(await t.services.withdrawals.work(w.payout.id)).toBe('wait_user_confirm');
    const waiting = await f.get(w.id);
    expect(waiting.payout.package_info).toEqual(expect.any(String));
    await wx.setState(w.payout.out_no, 'SUCCESS');
    const cb = wx.buildCallback(w.payout.out_no);
    for (let i = 0; i < 3; i++) {
      const res = await t.app.inject({
        method: 'POST',
        url: '/v1/payouts/callbacks/wechat',
        headers: { ...cb.headers, 'content-type': 'application/json' },
        payload: cb.body,
      });
      expect(res.statusCode).toBe(200);
      expect(JSON.parse(res.body)).toEqual({ code: 'SUCCESS', message: '成功' });
    }
    expect(await f.get(w.id)).toMatchObject({ status: 'paid' });
    const journals = await t.database.db.selectFrom('journal_entries').select('kind').where('ref_id', '=', w.payout.id).execute();
    expect(journals.map((j) => j.kind).sort()).toEqual(['payout_submit', 'payout_success']);
    expect(await f.balance()).toMatchObject({ withdrawn_fen: 10_000 });
    expect(await f.verify()).toEqual([]);
  });

  it('a transfer the payee never confirms is cancelled by finance: the money goes back once WeChat confirms the cancel', async () => {
    const f = await funded(100_000);
    wx.behave('*', { outcome: 'wait_user_confirm' });
    const w = await f.withdraw(20_000);
    expect(await t.services.withdrawals.work(w.payout.id)).toBe('wait_user_confirm');
    const res = await t.call('POST', `/v1/withdrawals/${w.id}/cancel`, { token: f.key, body: { reason: 'the payee did not confirm within a week' } });
    expect(res.statusCode).toBe(200);
    expect(res.data).toMatchObject({ status: 'failed', payout: { state: 'cancelled' } });
    expect(wx.bills.get(w.payout.out_no)?.state).toBe('CANCELLED');
    expect(wx.paidToFen(f.openid)).toBe(0);
    expect(await f.balance()).toMatchObject({ withdrawable_fen: 100_000, withdrawing_fen: 0, withdrawn_fen: 0 });
    // Nothing left to cancel; a paid one cannot be cancelled either.
    expect((await t.call('POST', `/v1/withdrawals/${w.id}/cancel`, { token: f.key, body: { reason: 'again' } })).statusCode).toBe(409);
    wx.behave('*', { outcome: 'succeed' });
    const paid = await f.withdraw(1_000);
    expect(await t.services.withdrawals.work(paid.payout.id)).toBe('succeeded');
    expect((await t.call('POST', `/v1/withdrawals/${paid.id}/cancel`, { token: f.key, body: { reason: 'too late' } })).statusCode).toBe(409);
    const audit = (await t.call('GET', `/v1/audit-log?action=payout.cancel&target_id=${w.id}`, { token: f.key })).data.items;
    expect(audit).toHaveLength(1);
    expect(audit[0].reason).toBe('the payee did not confirm within a week');
    expect(await f.verify()).toEqual([]);
  });

  it('refuses forged callbacks: wrong signer, tampered ciphertext, stale timestamp, unknown serial, wrong amount', async () => {
    const f = await funded(100_000);
    wx.behave('*', { outcome: 'processing' });
    const w = await f.withdraw(10_000);
    await t.services.withdrawals.work(w.payout.id);
    await wx.setState(w.payout.out_no, 'SUCCESS');
    const stranger = generateRsaKeyPair();
    const { createPrivateKey } = await import('node:crypto');
    const forgeries = [
      { signWith: createPrivateKey(stranger.privateKeyPem) },
      { tamperCiphertext: true },
      { timestamp: Math.floor(Date.now() / 1000) - 3600 },
      { serial: 'PUB_KEY_ID_UNKNOWN' },
      { apiV3Key: 'Z'.repeat(32) },
    ];
    for (const forgery of forgeries) {
      const cb = wx.buildCallback(w.payout.out_no, forgery);
      const res = await t.app.inject({
        method: 'POST',
        url: '/v1/payouts/callbacks/wechat',
        headers: { ...cb.headers, 'content-type': 'application/json' },
        payload: cb.body,
      });
      expect(res.statusCode, JSON.stringify(Object.keys(forgery))).toBe(401);
    }
    const wrongAmount = wx.buildCallback(w.payout.out_no, { payload: { transfer_amount: 999_999 } });
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/payouts/callbacks/wechat',
      headers: { ...wrongAmount.headers, 'content-type': 'application/json' },
      payload: wrongAmount.body,
    });
    expect(res.statusCode).toBe(400);
    // A body re-serialised after signing fails the raw-byte check.
    const cb = wx.buildCallback(w.payout.out_no);
    const reserialised = Buffer.from(JSON.stringify(JSON.parse(cb.body.toString()), null, 1));
    expect(
      (
        await t.app.inject({
          method: 'POST',
          url: '/v1/payouts/callbacks/wechat',
          headers: { ...cb.headers, 'content-type': 'application/json' },
          payload: reserialised,
        })
      ).statusCode,
    ).toBe(401);
    expect(await f.get(w.id)).toMatchObject({ status: 'approved', payout: { state: 'processing' } });
    expect(await f.verify()).toEqual([]);
  });

  it('100 withdrawals under random faults: each paid exactly once or returned exactly once', async () => {
    const f = await funded(10_000_000);
    const faults: WechatFault[] = ['none', 'timeout', 'lost_reply', 'http_500', 'system_error', 'frequency_limited', 'unfamiliar_code', 'bad_signature'];
    const outcomes: WechatOutcome[] = ['succeed', 'succeed', 'succeed', 'fail', 'processing', 'accepted'];
    let seed = 20261125;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const made: { id: string; payoutId: string; outNo: string; amount: number }[] = [];
    for (let i = 0; i < 100; i++) {
      const amount = 1000 + rand(5000);
      wx.behave('*', { outcome: outcomes[rand(outcomes.length)]!, fault: faults[rand(faults.length)]!, failReason: 'PAYEE_ACCOUNT_ABNORMAL' });
      const w = await f.withdraw(amount);
      await t.services.withdrawals.work(w.payout.id);
      made.push({ id: w.id, payoutId: w.payout.id, outNo: w.payout.out_no, amount });
    }
    // Faults clear; bills still processing finish one way or the other.
    wx.behave('*', { outcome: 'succeed' });
    for (const m of made) {
      const bill = wx.bills.get(m.outNo);
      if (bill && !['SUCCESS', 'FAIL', 'CANCELLED'].includes(bill.state))
        await wx.setState(m.outNo, rand(2) === 0 ? 'SUCCESS' : 'FAIL', 'PAYEE_ACCOUNT_ABNORMAL');
    }
    await drain(12);
    let paid = 0;
    let returned = 0;
    let paidCount = 0;
    for (const m of made) {
      const w = await f.get(m.id);
      expect(['paid', 'failed']).toContain(w.status);
      expect(wx.createdCount(m.outNo)).toBeLessThanOrEqual(1);
      if (w.status === 'paid') {
        paid += m.amount;
        paidCount += 1;
        expect(wx.bills.get(m.outNo)?.state).toBe('SUCCESS');
      } else {
        returned += m.amount;
        expect(wx.bills.get(m.outNo)?.state ?? 'none').not.toBe('SUCCESS');
      }
      const finals = await t.database.db
        .selectFrom('journal_entries')
        .select('kind')
        .where('ref_id', '=', m.payoutId)
        .where('kind', 'in', ['payout_success', 'payout_fail'])
        .execute();
      expect(finals).toHaveLength(1);
    }
    expect(paid + returned).toBe(made.reduce((s, m) => s + m.amount, 0));
    expect(wx.paidToFen(f.openid)).toBe(paid);
    const bal = await f.balance();
    expect(bal).toMatchObject({ withdrawn_fen: paid, withdrawing_fen: 0, withdrawable_fen: 10_000_000 - paid });
    expect(await f.verify()).toEqual([]);
    // Reconciliation of the whole history is clean and its totals are what was paid and returned.
    const rec = (await t.call('GET', '/v1/reconciliation?limit=1000', { token: f.key })).data;
    expect(rec.mismatches).toEqual([]);
    expect(rec.ok).toBe(true);
    expect(rec.totals.overall.paid).toMatchObject({ count: paidCount, amount_fen: paid });
    expect(rec.totals.overall.failed.count).toBe(made.length - paidCount);
    expect(rec.totals.overall.failed.amount_fen).toBe(returned);
    expect(rec.totals.overall.in_flight.count).toBe(0);
    expect(rec.ledger).toMatchObject({ payout_clearing_fen: 0, in_flight_fen: 0 });
    expect(rec.items.every((i: { mismatches: string[]; clearing_fen: number }) => i.mismatches.length === 0 && i.clearing_fen === 0)).toBe(true);
  });
});

describe('Alipay single transfer', () => {
  it('success and failure through the official SDK in certificate mode', async () => {
    const f = await funded(100_000);
    ali.behave('*', { outcome: 'succeed' });
    const ok = await f.withdraw(12_345, 'alipay');
    expect(await t.services.withdrawals.work(ok.payout.id)).toBe('succeeded');
    expect(ali.createdCount(ok.payout.out_no)).toBe(1);
    ali.behave('*', { outcome: 'fail' });
    const bad = await f.withdraw(10_000, 'alipay');
    expect(await t.services.withdrawals.work(bad.payout.id)).toBe('failed');
    expect(await f.balance()).toMatchObject({ withdrawn_fen: 12_345, withdrawable_fen: 100_000 - 12_345, withdrawing_fen: 0 });
    expect(await f.verify()).toEqual([]);
  });

  it('a timeout is queried, and a verified notification settles what is processing', async () => {
    const f = await funded(100_000);
    ali.behave('*', { outcome: 'processing' });
    const w = await f.withdraw(5_000, 'alipay');
    expect(await t.services.withdrawals.work(w.payout.id)).toBe('processing');
    ali.setStatus(w.payout.out_no, 'SUCCESS');
    const body = ali.buildNotify(w.payout.out_no);
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/payouts/callbacks/alipay',
      headers: { 'content-type': 'application/x-www-form-urlencoded;charset=utf-8' },
      payload: body,
    });
    expect(res.statusCode).toBe(200);
    expect(res.body).toBe('success');
    expect(await f.get(w.id)).toMatchObject({ status: 'paid' });
    const { createPrivateKey } = await import('node:crypto');
    const forged = ali.buildNotify(w.payout.out_no, { signWith: createPrivateKey(generateRsaKeyPair().privateKeyPem) });
    expect(
      (
        await t.app.inject({
          method: 'POST',
          url: '/v1/payouts/callbacks/alipay',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          payload: forged,
        })
      ).statusCode,
    ).toBe(401);
    expect(await f.verify()).toEqual([]);
  });
});
