import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPayoutChannels } from '../../src/adapters/payout/index.ts';
import { generateRsaKeyPair } from '../support/providers/pki.ts';
import { WechatPaySimulator } from '../support/providers/wechat-server.ts';
import { consoleLogin, expectNoCriticalA11yViolations, launch, screenshot, startLiveServer, type Browser, type LiveServer } from './harness.ts';

/**
 * A WeChat Pay merchant transfer that waits for the payee (WAIT_USER_CONFIRM), against the local
 * WeChat Pay simulator: the portal shows what the distributor must do in WeChat and the package
 * for wx.requestMerchantTransfer, and does not pretend the transfer was confirmed; only WeChat
 * Pay's signed callback makes it paid.
 */

const MCH_ID = '1900000109';
const WX_APP = 'wxd678efh567hg6787';
const SERIAL = '5157F09EFDC096DE15EBE81A47057A7232F1B8E1';
const APIV3 = 'a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6';
const merchant = generateRsaKeyPair();

let wx: WechatPaySimulator;
let t: LiveServer;
let b: Browser;
let tenant: { id: string; key: string };
let secret: string;
let d: { id: string; invite_code: string };

async function api(method: string, url: string, body?: unknown) {
  const res = await t.call(method, url, { token: tenant.key, body });
  expect(res.statusCode, `${method} ${url}: ${res.body}`).toBeLessThan(300);
  return res.data;
}

beforeAll(async () => {
  wx = await WechatPaySimulator.start({ mchId: MCH_ID, appId: WX_APP, merchantPublicKeyPem: merchant.publicKeyPem, merchantSerialNo: SERIAL, apiV3Key: APIV3 });
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
      timeoutMs: 3000,
    },
  });
  t = await startLiveServer({ overrides: { payoutChannels: channels } });
  tenant = await t.tenant('微信打款商城');
  secret = (await t.call('POST', '/v1/portal/signing-secret', { token: tenant.key })).data.secret;
  await api('PUT', '/v1/program', {
    levels: 1,
    freeze_days: 0,
    review_threshold_fen: 100_000_000,
    withdrawal: { auto_approve_max_fen: 100_000_000, min_fen: 100 },
  });
  await api('PUT', '/v1/grades/default', { name: '默认', rank: 0, sales_bp: 1000, override_bp: [] });
  d = await api('POST', '/v1/distributors', { external_id: 'wx-d', name: '张三' });
  await api('POST', '/v1/bindings', { customer_external_id: 'buyer', invite_code: d.invite_code });
  await api('POST', '/v1/orders', {
    external_id: 'wx-o',
    buyer_external_id: 'buyer',
    items: [{ sku: 's', quantity: 1, unit_price_fen: 200_000, paid_fen: 200_000 }],
  });
  await api('POST', '/v1/orders/wx-o/events', { type: 'received' });
  await api('POST', '/v1/settlements/run', { as_of: new Date(Date.now() + 1000).toISOString() });
  expect((await api('GET', `/v1/distributors/${d.id}/balance`)).withdrawable_fen).toBe(20_000);
  b = await launch({ mobile: true });
});

afterAll(async () => {
  await b?.close();
  await t?.close();
  await wx?.close();
});

describe('a WeChat payout waiting for the payee, on the phone', () => {
  it("shows the package and what to do in WeChat, and becomes paid only on WeChat Pay's callback", async () => {
    wx.behave('*', { outcome: 'wait_user_confirm' });
    const { page } = b;
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('wx-d')
      .setIssuedAt(now)
      .setExpirationTime(now + 300)
      .setJti(`wx-${now}-${Math.random().toString(36).slice(2)}`)
      .sign(new TextEncoder().encode(secret));
    await page.goto(`${t.base}/portal/?token=${encodeURIComponent(token)}&tenant=${tenant.id}`);
    await page.getByTestId('me-name').waitFor();
    await page.goto(`${t.base}/portal/withdraw`);
    await page
      .getByTestId('channel')
      .getByRole('option', { name: /^微信零钱/ })
      .click();
    await page.getByTestId('add-account-open').click();
    await page.getByTestId('add-account').getByText('OpenID 是你在商户公众号或小程序里的微信身份编号', { exact: false }).waitFor();
    await page.getByTestId('add-account').getByLabel('OpenID').fill('oUpF8uMuAJO_M2pxb1Q9zNjWeS6o');
    await page.getByTestId('account-save').click();
    const display = await page.getByTestId('accounts').getByTestId('account-display').textContent();
    expect(display).not.toContain('oUpF8uMuAJO_M2pxb1Q9zNjWeS6o');

    await page.getByTestId('amount').locator('input').fill('100');
    await page.getByTestId('withdraw-submit').click();
    await page.getByRole('dialog').getByRole('button', { name: '确认提现' }).click();
    await page.waitForURL(/\/portal\/withdraw\/wd_/);
    const id = new URL(page.url()).pathname.split('/').pop()!;

    // The worker hands the transfer to WeChat Pay at once; WeChat answers WAIT_USER_CONFIRM.
    await expect.poll(async () => (await api('GET', `/v1/withdrawals/${id}`)).payout?.state, { timeout: 15_000 }).toBe('wait_user_confirm');
    const packageInfo = (await api('GET', `/v1/withdrawals/${id}`)).payout.package_info as string;
    expect(packageInfo).toEqual(expect.any(String));
    await page.reload();
    const card = page.getByTestId('wechat-confirm');
    await card.getByText('请在微信中确认收款').waitFor();
    await expect(card.getByTestId('package-info').textContent()).resolves.toBe(packageInfo);
    await card.getByText('wx.requestMerchantTransfer', { exact: false }).waitFor();
    // Nothing is confirmed here: the withdrawal is still being paid.
    await page.getByTestId('withdrawal-status').getByText('打款中').waitFor();
    await screenshot(page, 'portal-wechat-confirm');
    await expectNoCriticalA11yViolations(page, 'portal-wechat-confirm');

    // The payee confirms in WeChat; WeChat Pay's signed callback settles it.
    const { out_no: outNo } = (await api('GET', `/v1/withdrawals/${id}`)).payout as { out_no: string };
    await wx.setState(outNo, 'SUCCESS');
    const cb = wx.buildCallback(outNo);
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/payouts/callbacks/wechat',
      headers: { ...cb.headers, 'content-type': 'application/json' },
      payload: cb.body,
    });
    expect(res.statusCode).toBe(200);
    await page.reload();
    await page.getByTestId('withdrawal-status').getByText('已到账').waitFor();
    expect(await page.getByTestId('wechat-confirm').count()).toBe(0);
    await screenshot(page, 'portal-wechat-paid');
    expect(b.pageErrors).toEqual([]);
    expect(b.dialogs).toEqual([]);
  });

  it('finance cancels in the console a transfer the payee never confirmed; the money goes back', async () => {
    wx.behave('*', { outcome: 'wait_user_confirm' });
    const before = (await api('GET', `/v1/distributors/${d.id}/balance`)).withdrawable_fen as number;
    const w = await api('POST', '/v1/withdrawals', { distributor_id: d.id, amount_fen: 5_000, channel: 'wechat' });
    await expect.poll(async () => (await api('GET', `/v1/withdrawals/${w.id}`)).payout?.state, { timeout: 15_000 }).toBe('wait_user_confirm');
    await api('POST', '/v1/admin-users', { email: 'finance@wx.test', password: 'finance-password-1', role: 'finance' });
    const desk = await launch();
    try {
      const { page } = desk;
      await consoleLogin(page, t.base, tenant.id, 'finance@wx.test', 'finance-password-1');
      await page
        .getByRole('menuitem')
        .filter({ hasText: /^提现$/ })
        .click();
      await page.getByTestId(`wd-cancel-${w.id}`).click();
      const dialog = page.getByRole('dialog');
      await dialog.getByLabel('原因').fill('收款人一周未确认');
      await screenshot(page, 'admin-wechat-cancel');
      await dialog.getByRole('button', { name: /确\s*定|确认|提交/ }).click();
      await expect.poll(async () => (await api('GET', `/v1/withdrawals/${w.id}`)).status).toBe('failed');
      expect((await api('GET', `/v1/withdrawals/${w.id}`)).payout.state).toBe('cancelled');
      expect((await api('GET', `/v1/distributors/${d.id}/balance`)).withdrawable_fen).toBe(before);
      await page.getByTestId(`wd-cancel-${w.id}`).waitFor({ state: 'detached' });
      expect(desk.pageErrors).toEqual([]);
    } finally {
      await desk.close();
    }
  });
});
