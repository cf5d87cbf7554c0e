import { createHash } from 'node:crypto';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPayoutChannels } from '../../src/adapters/payout/index.ts';
import { generateRsaKeyPair } from '../support/providers/pki.ts';
import { WechatPaySimulator } from '../support/providers/wechat-server.ts';
import { WechatMpSimulator } from '../support/providers/wechat-mp-server.ts';
import { consoleLogin, expectNoCriticalA11yViolations, launch, screenshot, startLiveServer, type Browser, type LiveServer } from './harness.ts';

/**
 * The portal in WeChat's browser (its user agent), against local simulators of WeChat's OAuth
 * and JS-SDK endpoints and of WeChat Pay. WeChat's client-side objects (the `wx` of jweixin and
 * the native WeixinJSBridge), which exist only inside WeChat, are stood in for by a recorder
 * injected into the page: the test checks what the portal hands them (wx.config's signature
 * against the simulator's ticket, the share card, requestMerchantTransfer's arguments).
 */

const WECHAT_UA =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.47(0x18002f2c) NetType/WIFI Language/zh_CN';
const APP_ID = 'wx0123456789abcdef';
const APP_SECRET = 'S'.repeat(16) + '0123456789abcdef';
const MCH_ID = '1900000109';
const SERIAL = '5157F09EFDC096DE15EBE81A47057A7232F1B8E1';
const APIV3 = 'a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6';
const merchant = generateRsaKeyPair();

let mp: WechatMpSimulator;
let pay: WechatPaySimulator;
let t: LiveServer;
let b: Browser;
let tenant: { id: string; key: string };
let secret: string;
let d: { id: string; invite_code: string; name: string };

interface Recorded {
  configs: Array<{ appId: string; timestamp: number; nonceStr: string; signature: string; jsApiList: string[] }>;
  shares: Array<{ title: string; desc: string; link: string; imgUrl: string }>;
  timeline: Array<{ title: string; link: string; imgUrl: string }>;
  invokes: Array<{ name: string; args: Record<string, string> }>;
  urls: string[];
}

async function api(method: string, url: string, body?: unknown) {
  const res = await t.call(method, url, { token: tenant.key, body });
  expect(res.statusCode, `${method} ${url}: ${res.body}`).toBeLessThan(300);
  return res.data;
}

async function loginLink(externalId: string) {
  const now = Math.floor(Date.now() / 1000);
  const token = await new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(externalId)
    .setIssuedAt(now)
    .setExpirationTime(now + 300)
    .setJti(`wx-${now}-${Math.random().toString(36).slice(2)}`)
    .sign(new TextEncoder().encode(secret));
  return `${t.base}/portal/?token=${encodeURIComponent(token)}&tenant=${tenant.id}`;
}

const recorded = async (): Promise<Recorded> => b.page.evaluate(() => (globalThis as unknown as { __wx: Recorded }).__wx);
const sha1 = (s: string) => createHash('sha1').update(s).digest('hex');

beforeAll(async () => {
  mp = await WechatMpSimulator.start({ appId: APP_ID, appSecret: APP_SECRET, oauthDomain: 'unset' });
  pay = await WechatPaySimulator.start({
    mchId: MCH_ID,
    appId: APP_ID,
    merchantPublicKeyPem: merchant.publicKeyPem,
    merchantSerialNo: SERIAL,
    apiV3Key: APIV3,
  });
  const channels = createPayoutChannels({
    wechat: {
      mchId: MCH_ID,
      appId: APP_ID,
      merchantPrivateKey: merchant.privateKeyPem,
      merchantSerialNo: SERIAL,
      platformPublicKeys: [{ serial: pay.platformPublicKeyId, publicKey: pay.platformPublicKeyPem }],
      apiV3Key: APIV3,
      transferSceneId: '1005',
      transferSceneReportInfos: [
        { infoType: '岗位类型', infoContent: '分销员' },
        { infoType: '报酬说明', infoContent: '分销佣金' },
      ],
      notifyUrl: 'https://fenxiao.test/v1/payouts/callbacks/wechat',
      baseUrl: pay.origin,
      timeoutMs: 3000,
    },
  });
  t = await startLiveServer({
    overrides: { payoutChannels: channels },
    env: { FENXIAO_WECHAT_OAUTH_BASE_URL: mp.origin, FENXIAO_WECHAT_API_BASE_URL: mp.origin },
  });
  mp.oauthDomain = new URL(t.base).host;
  tenant = await t.tenant('微信小店');
  secret = (await t.call('POST', '/v1/portal/signing-secret', { token: tenant.key })).data.secret;
  await api('PUT', '/v1/wechat/settings', { app_id: APP_ID, app_secret: APP_SECRET });
  await api('PUT', '/v1/program', {
    levels: 1,
    freeze_days: 0,
    review_threshold_fen: 100_000_000,
    withdrawal: { auto_approve_max_fen: 100_000_000, min_fen: 100 },
  });
  await api('PUT', '/v1/grades/default', { name: '默认', rank: 0, sales_bp: 1000, override_bp: [] });
  d = await api('POST', '/v1/distributors', { external_id: 'wx-browser', name: '王小明' });
  await api('POST', '/v1/bindings', { customer_external_id: 'buyer-1', invite_code: d.invite_code });
  await api('POST', '/v1/orders', {
    external_id: 'wx-b-o',
    buyer_external_id: 'buyer-1',
    items: [{ sku: 's', quantity: 1, unit_price_fen: 100_000, paid_fen: 100_000 }],
  });
  await api('POST', '/v1/orders/wx-b-o/events', { type: 'received' });
  await api('POST', '/v1/settlements/run', { as_of: new Date(Date.now() + 1000).toISOString() });

  b = await launch({ mobile: true, userAgent: WECHAT_UA });
  // What WeChat's client provides in its browser: jweixin's `wx` and the native bridge. Recorded, not faked answers.
  await b.context.addInitScript(() => {
    const w = globalThis as unknown as Record<string, unknown> & { __wx: Recorded };
    w.__wx = { configs: [], shares: [], timeline: [], invokes: [], urls: [] };
    w.wx = {
      config(c: Recorded['configs'][number]) {
        w.__wx.configs.push(c);
        w.__wx.urls.push(String((w.location as { href: string }).href).split('#')[0] ?? '');
      },
      ready(fn: () => void) {
        setTimeout(fn, 0);
      },
      error() {},
      updateAppMessageShareData(o: Recorded['shares'][number]) {
        w.__wx.shares.push(o);
      },
      updateTimelineShareData(o: Recorded['timeline'][number]) {
        w.__wx.timeline.push(o);
      },
    };
    w.WeixinJSBridge = {
      invoke(name: string, args: Record<string, string>, cb: (res: { err_msg: string }) => void) {
        w.__wx.invokes.push({ name, args });
        setTimeout(() => cb({ err_msg: `${name}:ok` }), 0);
      },
    };
  });
});

afterAll(async () => {
  await b?.close();
  await t?.close();
  await mp?.close();
  await pay?.close();
});

describe('the portal in WeChat', () => {
  it('goes to WeChat by itself, links WeChat, then signs in with it', async () => {
    const { page } = b;
    mp.user = { openid: 'oBrowserUser000000000000000001', nickname: '小明的微信' };
    // Opened in WeChat: straight to WeChat's authorisation and back; this WeChat is linked to nobody yet.
    await page.goto(`${t.base}/portal/login?tenant=${tenant.id}`);
    await page.getByTestId('wx-not-linked').waitFor();
    expect(mp.count('/connect/oauth2/authorize')).toBe(1);
    expect(mp.requests.find((r) => r.path === '/connect/oauth2/authorize')?.query.scope).toBe('snsapi_base');
    await screenshot(page, 'portal-wechat-not-linked');

    // Signed in by the merchant's link, the distributor links its WeChat from the home page.
    await page.goto(await loginLink('wx-browser'));
    await page.getByTestId('me-name').waitFor();
    await page.getByTestId('wx-card').getByText('绑定后可以用微信直接登录').waitFor();
    await page.getByTestId('wx-link').click();
    await page.getByTestId('wx-status').getByText('已绑定微信 小明的微信').waitFor();
    expect(new URL(page.url()).pathname).toMatch(/^\/portal\/?$/);
    expect(page.url()).not.toContain('code=');
    const accounts = (await api('GET', `/v1/distributors/${d.id}/payout-accounts`)).items as Array<{
      channel: string;
      confirmed: boolean;
      is_default: boolean;
    }>;
    expect(accounts).toEqual([expect.objectContaining({ channel: 'wechat', confirmed: true, is_default: true })]);
    await screenshot(page, 'portal-wechat-linked');

    // Signed out, the WeChat button signs in again (the automatic redirect happens once per tab).
    await page.getByRole('button', { name: '退出' }).click();
    await page.getByTestId('wx-login').click();
    await page.getByTestId('me-name').getByText('王小明').waitFor();
    expect(b.pageErrors).toEqual([]);
  });

  it('shares the invite as a card through the JS-SDK, signed with the jsapi_ticket', async () => {
    const { page } = b;
    await page.goto(await loginLink('wx-browser'));
    await page.getByTestId('wx-share-ready').waitFor();
    const wx = await recorded();
    const config = wx.configs.at(-1)!;
    expect(config.appId).toBe(APP_ID);
    expect(config.jsApiList).toEqual(['updateAppMessageShareData', 'updateTimelineShareData']);
    const ticket = mp.currentTicket()!;
    expect(config.signature).toBe(sha1(`jsapi_ticket=${ticket}&noncestr=${config.nonceStr}&timestamp=${config.timestamp}&url=${wx.urls.at(-1)}`));
    const share = wx.shares.at(-1)!;
    expect(share.title).toBe('王小明 邀请你加入 微信小店');
    expect(share.link).toBe(`${t.base}/i/${d.invite_code}`);
    expect(wx.timeline.at(-1)?.link).toBe(share.link);
    const icon = await fetch(share.imgUrl);
    expect(icon.status).toBe(200);
    expect(icon.headers.get('content-type')).toContain('image/png');
    expect(mp.count('/cgi-bin/token')).toBe(1);
    expect(mp.count('/cgi-bin/ticket/getticket')).toBe(1);
  });

  it('shows the poster as an image to long-press and save, never as a download', async () => {
    const { page } = b;
    const downloads: string[] = [];
    page.on('download', (dl) => downloads.push(dl.suggestedFilename()));
    await page.goto(await loginLink('wx-browser'));
    await page.getByTestId('me-name').waitFor();
    await screenshot(page, 'portal-wechat-home');
    expect(await page.getByTestId('poster-download').count()).toBe(0);
    await page.getByTestId('poster-show').click();
    const img = page.getByTestId('poster-image');
    await img.waitFor();
    await page.getByTestId('poster-hint').getByText('长按图片').waitFor();
    const { src, width, height, complete } = await img.evaluate((el: { src: string; naturalWidth: number; naturalHeight: number; complete: boolean }) => ({
      src: el.src.slice(0, 32),
      width: el.naturalWidth,
      height: el.naturalHeight,
      complete: el.complete,
    }));
    expect(src).toBe('data:image/png;base64,iVBORw0KGg');
    expect(complete).toBe(true);
    expect({ width, height }).toEqual({ width: 750, height: 1334 });
    await screenshot(page, 'portal-wechat-poster');
    await expectNoCriticalA11yViolations(page, 'portal-wechat-poster');
    await page.getByTestId('poster-close').click();
    await img.waitFor({ state: 'detached' });
    expect(downloads).toEqual([]);
    expect(b.pageErrors).toEqual([]);
  });

  it("opens WeChat's transfer confirmation for a withdrawal waiting for the payee, and waits for WeChat Pay to call it paid", async () => {
    pay.behave('*', { outcome: 'wait_user_confirm' });
    const { page } = b;
    // Paid to the openid the link captured: nobody typed it.
    const w = await api('POST', '/v1/withdrawals', { distributor_id: d.id, amount_fen: 5_000, channel: 'wechat' });
    await expect.poll(async () => (await api('GET', `/v1/withdrawals/${w.id}`)).payout?.state, { timeout: 15_000 }).toBe('wait_user_confirm');
    const payout = (await api('GET', `/v1/withdrawals/${w.id}`)).payout as { out_no: string; package_info: string };
    expect([...pay.bills.values()].find((bill) => bill.outBillNo === payout.out_no)?.openid).toBe('oBrowserUser000000000000000001');

    await page.goto(`${t.base}/portal/withdraw/${w.id}`);
    await page.getByTestId('wechat-confirm').waitFor();
    await page.getByTestId('wx-confirm').click();
    await page.getByText('已在微信中确认').waitFor();
    const wx = await recorded();
    expect(wx.invokes.at(-1)).toEqual({ name: 'requestMerchantTransfer', args: { mchId: MCH_ID, appId: APP_ID, package: payout.package_info } });
    expect(wx.configs.at(-1)?.jsApiList).toEqual(['requestMerchantTransfer']);
    // The page's "ok" is no payment: still being paid until WeChat Pay says so.
    await page.getByTestId('withdrawal-status').getByText('打款中').waitFor();
    expect((await api('GET', `/v1/withdrawals/${w.id}`)).status).not.toBe('paid');
    await screenshot(page, 'portal-wechat-transfer-confirm');

    await pay.setState(payout.out_no, 'SUCCESS');
    const cb = pay.buildCallback(payout.out_no);
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/payouts/callbacks/wechat',
      headers: { ...cb.headers, 'content-type': 'application/json' },
      payload: cb.body,
    });
    expect(res.statusCode).toBe(200);
    await page.reload();
    await page.getByTestId('withdrawal-status').getByText('已到账').waitFor();
    expect(b.pageErrors).toEqual([]);
    expect(b.dialogs).toEqual([]);
  });

  it('lets the owner set the official account in the console, showing what to enter at WeChat and never the secret', async () => {
    await api('POST', '/v1/admin-users', { email: 'owner@wx.test', password: 'owner-password-1', role: 'owner' });
    const desk = await launch();
    try {
      const { page } = desk;
      await consoleLogin(page, t.base, tenant.id, 'owner@wx.test', 'owner-password-1');
      await page.goto(`${t.base}/admin/portal`);
      const card = page.getByTestId('wechat-settings');
      await card.getByText('已启用微信登录').waitFor();
      await card.getByText(`${t.base}/portal/wechat/callback`).waitFor();
      await card.getByText(new URL(t.base).host, { exact: true }).waitFor();
      expect(await card.getByLabel('AppID').inputValue()).toBe(APP_ID);
      expect(await card.getByLabel('AppSecret').inputValue()).toBe('');
      const before = (await api('GET', '/v1/wechat/settings')).updated_at as string;
      const newSecret = 'N'.repeat(16) + 'fedcba9876543210';
      await card.getByLabel('AppSecret').fill(newSecret);
      await screenshot(page, 'admin-wechat-settings');
      await card.getByTestId('wechat-save').click();
      await page.getByText('微信公众号设置已保存').waitFor();
      await expect.poll(async () => (await api('GET', '/v1/wechat/settings')).updated_at).not.toBe(before);
      expect(await card.getByLabel('AppSecret').inputValue()).toBe('');
      expect(await page.content()).not.toContain(newSecret);
      const row = await t.database.db.selectFrom('wechat_settings').select('app_secret_enc').where('tenant_id', '=', tenant.id).executeTakeFirstOrThrow();
      expect(row.app_secret_enc).not.toContain(newSecret);
      await expectNoCriticalA11yViolations(page, 'admin-wechat-settings');
      expect(desk.pageErrors).toEqual([]);
    } finally {
      await desk.close();
    }
  });
});
