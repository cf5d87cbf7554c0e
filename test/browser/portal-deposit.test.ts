/**
 * The admission deposit on the portal's home (issue 17): the distributor sees what the program
 * asks, what it paid, what the merchant holds, what is being refunded and what was refunded, as
 * GET /v1/me/deposit answers, and the refund's status in words, in Chinese and in English; a
 * refund whose WeChat transfer waits for the payee offers WeChat's confirmation inside WeChat (and
 * says to open the page in WeChat elsewhere); a distributor without a deposit sees no card.
 */
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectNoCriticalA11yViolations, launch, screenshot, startLiveServer, type Browser, type LiveServer } from './harness.ts';

let t: LiveServer;
let b: Browser;
let tenant: { id: string; key: string };
let secret: string;
let finance: string;
let checker: string;
const FINANCE = { email: 'finance@portal-deposit.test', password: 'finance-password-1' };

async function api(method: string, url: string, body?: unknown, token = tenant.key, headers?: Record<string, string>) {
  const res = await t.call(method, url, { token, body, ...(headers ? { headers } : {}) });
  expect(res.statusCode, `${method} ${url}: ${res.body}`).toBeLessThan(300);
  return res.data;
}

async function signIn(sub: string, page = b.page) {
  const now = Math.floor(Date.now() / 1000);
  const token = await new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setIssuedAt(now)
    .setExpirationTime(now + 300)
    .setJti(`deposit-${sub}-${now}-${Math.random().toString(36).slice(2)}`)
    .sign(new TextEncoder().encode(secret));
  await page.goto(`${t.base}/portal/?token=${encodeURIComponent(token)}&tenant=${tenant.id}`);
}

beforeAll(async () => {
  t = await startLiveServer();
  tenant = await t.tenant('保证金门户测试商城');
  await api('PUT', '/v1/program', { admission: 'open', admission_conditions: { deposit_fen: 50000 } });
  await api('POST', '/v1/admin-users', { ...FINANCE, role: 'finance', name: '财务' });
  const login = await t.call('POST', '/v1/auth/login', { body: { tenant_id: tenant.id, ...FINANCE } });
  expect(login.statusCode, login.body).toBe(200);
  finance = login.data.token;
  // A refund is asked for by one finance user and approved by another.
  const CHECKER = { email: 'checker@portal-deposit.test', password: 'checker-password-1' };
  await api('POST', '/v1/admin-users', { ...CHECKER, role: 'finance', name: '复核' });
  checker = (await t.call('POST', '/v1/auth/login', { body: { tenant_id: tenant.id, ...CHECKER } })).data.token;
  secret = (await api('POST', '/v1/portal/signing-secret')).secret;
  b = await launch({ mobile: true });
});

afterAll(async () => {
  await b?.close();
  await t?.close();
});

describe('the deposit card in the portal', () => {
  it('shows what is asked, paid, held and refunded, as the API answers', async () => {
    const { page } = b;
    const d = await api('POST', '/v1/distributors', { external_id: 'dep-p1', name: '保证金乙' });
    await api('POST', `/v1/distributors/${d.id}/deposit`, { amount_fen: 20000, reference: 'BANK-7' }, finance, { 'idempotency-key': 'dep-p1-a' });
    await signIn('dep-p1');
    await page.getByTestId('me-name').filter({ hasText: '保证金乙' }).waitFor();
    const card = page.getByTestId('deposit');
    await card.getByText('保证金', { exact: true }).waitFor();
    await expect(card.getByTestId('deposit-state').textContent()).resolves.toBe('已缴部分：还需缴纳 ¥300.00');
    const shown = async (k: string) => Number(await card.getByTestId(`deposit-${k}`).getAttribute('data-value'));
    const mine = await api('GET', `/v1/distributors/${d.id}/deposit`);
    for (const [k, f] of [
      ['required', 'required_fen'],
      ['paid', 'paid_fen'],
      ['held', 'held_fen'],
      ['refunded', 'refunded_fen'],
    ] as const)
      expect(await shown(k), k).toBe(mine[f]);
    await expect(card.getByTestId('deposit-held').textContent()).resolves.toBe('¥200.00');
    await card.getByText('由商户代为保管，不是佣金', { exact: false }).waitFor();
    expect(await card.getByTestId('deposit-more').count()).toBe(0);
    await screenshot(page, 'portal-deposit');
    await expectNoCriticalA11yViolations(page, 'portal-deposit');

    // In English.
    await page.getByTestId('lang-switch').click();
    await card.getByText('Deposit', { exact: true }).waitFor();
    await expect(card.getByTestId('deposit-state').textContent()).resolves.toBe('Partly paid: ¥300.00 still due');
    await card.getByText('Held by the merchant').waitFor();
    await page.getByTestId('lang-switch').click();
    await card.getByText('保证金', { exact: true }).waitFor();

    // Nothing on its way back yet: no such row, no refund.
    expect(await card.getByTestId('deposit-refunding').count()).toBe(0);
    expect(await card.getByTestId('deposit-refund').count()).toBe(0);

    // The distributor left before admission: the refund is asked for, waiting for a second person.
    const refund = await api('POST', `/v1/distributors/${d.id}/deposit/refund`, { reason: '未完成入驻（内部备注）', channel: 'manual' }, finance);
    await page.reload();
    await card.getByText('退还中', { exact: true }).waitFor();
    expect(await shown('refunding')).toBe(20000);
    expect(await shown('held')).toBe(0);
    const status = card.getByTestId('deposit-refund-status');
    await expect(status.textContent()).resolves.toBe('待审核');
    expect(await card.getByTestId('deposit-refund').getAttribute('data-refund-id')).toBe(refund.id);
    await expect(card.getByTestId('deposit-refund-amount').textContent()).resolves.toBe('¥200.00');
    // The merchant's own note is not the distributor's to read.
    expect(await card.textContent()).not.toContain('内部备注');
    await screenshot(page, 'portal-deposit-refunding');
    await page.getByTestId('lang-switch').click();
    await card.getByText('Being refunded', { exact: true }).waitFor();
    await expect(status.textContent()).resolves.toBe('Awaiting approval');
    await page.getByTestId('lang-switch').click();

    // Approved: being paid.
    await api('POST', `/v1/deposit-refunds/${refund.id}/approve`, undefined, checker);
    await page.reload();
    await expect(status.textContent()).resolves.toBe('打款中');
    await page.getByTestId('lang-switch').click();
    await expect(status.textContent()).resolves.toBe('Being paid');
    await page.getByTestId('lang-switch').click();

    // Paid: refunded in full, nothing on its way any more.
    await api('POST', `/v1/deposit-refunds/${refund.id}/complete`, { reference: 'BANK-RET-1' }, checker);
    await page.reload();
    await expect(card.getByTestId('deposit-state').textContent()).resolves.toBe('已全额退还');
    await expect(status.textContent()).resolves.toBe('已退还');
    expect(await shown('refunded')).toBe(20000);
    expect(await shown('held')).toBe(0);
    expect(await card.getByTestId('deposit-refunding').count()).toBe(0);
    expect(b.pageErrors).toEqual([]);
  });

  it('words every status of a refund, and asks to confirm a WeChat transfer waiting for the payee in WeChat', async () => {
    const { page } = b;
    let refund: Record<string, unknown> = {};
    await page.route('**/v1/me/deposit', async (route) => {
      const res = await route.fetch();
      const body = await res.json();
      await route.fulfill({ response: res, json: { ...body, refund: { ...body.refund, ...refund } } });
    });
    const status = page.getByTestId('deposit-refund-status');
    for (const [s, zh, en] of [
      ['failed', '失败（保证金已退回由商户持有）', 'Failed (the deposit is held again)'],
      ['rejected', '已驳回', 'Rejected'],
    ] as const) {
      refund = { status: s };
      await page.reload();
      await expect(status.textContent()).resolves.toBe(zh);
      await page.getByTestId('lang-switch').click();
      await expect(status.textContent()).resolves.toBe(en);
      await page.getByTestId('lang-switch').click();
    }
    // A WeChat transfer waiting for the payee, outside WeChat: what to do, and no button that cannot work here.
    refund = { status: 'approved', channel: 'wechat', awaiting_confirmation: true };
    await page.reload();
    const waiting = page.getByTestId('deposit-refund-waiting');
    await waiting.getByText('需要你在微信中确认收款后才会到账', { exact: false }).waitFor();
    await waiting.getByText('请在微信中打开本页', { exact: false }).waitFor();
    expect(await page.getByTestId('deposit-refund-confirm').count()).toBe(0);
    await page.getByTestId('lang-switch').click();
    await waiting.getByText('Open this page in WeChat', { exact: false }).waitFor();
    await page.getByTestId('lang-switch').click();
    await page.unroute('**/v1/me/deposit');
    expect(b.pageErrors).toEqual([]);
  });

  it("inside WeChat, 确认收款 opens WeChat's transfer confirmation with the refund's package", async () => {
    const wechat = await launch({
      mobile: true,
      userAgent:
        'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.47(0x18002f2c) NetType/WIFI Language/zh_CN',
    });
    try {
      // What WeChat's client provides (jweixin's wx and the native bridge), recording the calls.
      await wechat.context.addInitScript(() => {
        const w = globalThis as unknown as Record<string, unknown> & { __invokes: unknown[] };
        w.__invokes = [];
        w.wx = { config() {}, ready: (fn: () => void) => setTimeout(fn, 0), error() {} };
        w.WeixinJSBridge = {
          invoke(name: string, args: Record<string, string>, cb: (res: { err_msg: string }) => void) {
            w.__invokes.push({ name, args });
            setTimeout(() => cb({ err_msg: `${name}:ok` }), 0);
          },
        };
      });
      const { page } = wechat;
      const asked: string[] = [];
      await page.route('**/v1/me/deposit', async (route) => {
        const res = await route.fetch();
        const body = await res.json();
        await route.fulfill({
          response: res,
          json: { ...body, refund: { ...body.refund, status: 'approved', channel: 'wechat', awaiting_confirmation: true } },
        });
      });
      // This tenant has no WeChat Pay here: the server's answers (tested in test/e2e/deposits.test.ts) are stood in for.
      await page.route('**/v1/me/deposit-refunds/*/wechat-confirmation', async (route) => {
        asked.push(new URL(route.request().url()).pathname);
        await route.fulfill({ json: { mch_id: '1900000109', app_id: 'wxd678efh567hg6787', package: 'ABBQO+oYAAABAAAAAAAk+pkAAAAA' } });
      });
      await page.route('**/v1/me/wechat/js-config', (route) =>
        route.fulfill({ json: { app_id: 'wxd678efh567hg6787', timestamp: 1, nonce_str: 'n', signature: 's', url: route.request().url() } }),
      );
      await signIn('dep-p1', page);
      await page.getByTestId('me-name').filter({ hasText: '保证金乙' }).waitFor();
      const refundId = await page.getByTestId('deposit-refund').getAttribute('data-refund-id');
      await page.getByTestId('deposit-refund-confirm').getByText('确认收款').click();
      await page.getByText('已在微信中确认', { exact: false }).waitFor();
      expect(asked).toEqual([`/v1/me/deposit-refunds/${refundId}/wechat-confirmation`]);
      expect(await page.evaluate(() => (globalThis as unknown as { __invokes: unknown[] }).__invokes)).toEqual([
        { name: 'requestMerchantTransfer', args: { mchId: '1900000109', appId: 'wxd678efh567hg6787', package: 'ABBQO+oYAAABAAAAAAAk+pkAAAAA' } },
      ]);
      expect(wechat.pageErrors).toEqual([]);
    } finally {
      await wechat.close();
    }
  });

  it('shows no card to a distributor of a program without a deposit', async () => {
    const { page } = b;
    await api('PUT', '/v1/program', { admission_conditions: { deposit_fen: 0 } });
    await api('POST', '/v1/distributors', { external_id: 'dep-p2', name: '无保证金' });
    // Signed out first: a link for another distributor while signed in asks before switching.
    await page.getByRole('button', { name: '退出' }).click();
    await page.waitForURL(/\/portal\/login$/);
    const answered = page.waitForResponse((r) => r.url().endsWith('/v1/me/deposit'));
    await signIn('dep-p2');
    await page.getByTestId('me-name').filter({ hasText: '无保证金' }).waitFor();
    expect((await (await answered).json()).required_fen).toBe(0);
    expect(await page.getByTestId('deposit').count()).toBe(0);
  });
});
