/**
 * The portal shows the distributor its funnel (visits → bindings → buyers, a chart), its
 * earnings, and its personal data: an .xlsx export and an erasure request that the console
 * then shows to the owner (issue 16, item 18). On a phone-sized Chromium.
 */
import fs from 'node:fs';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consoleLogin, expectNoCriticalA11yViolations, launch, screenshot, startLiveServer, type Browser, type LiveServer } from './harness.ts';

let t: LiveServer;
let phone: Browser;
let tenant: { id: string; key: string };
let secret: string;
let seller: { id: string; invite_code: string };

async function api(method: string, url: string, body?: unknown, headers?: Record<string, string>) {
  const res = await t.call(method, url, { token: tenant.key, body, ...(headers ? { headers } : {}) });
  expect(res.statusCode, `${method} ${url}: ${res.body}`).toBeLessThan(300);
  return res.data;
}

async function mintToken(sub: string): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setIssuedAt(now)
    .setExpirationTime(now + 300)
    .setJti(`insights-${sub}-${now}-${Math.random().toString(36).slice(2)}`)
    .sign(new TextEncoder().encode(secret));
}

beforeAll(async () => {
  t = await startLiveServer();
  tenant = await t.tenant('推广数据测试商城');
  secret = (await api('POST', '/v1/portal/signing-secret')).secret;
  await api('PUT', '/v1/program', { levels: 1, freeze_days: 7 });
  await api('PUT', '/v1/grades/default', { name: '普通会员', rank: 0, sales_bp: 1000, override_bp: [500] });
  seller = await api('POST', '/v1/distributors', { external_id: 'seller', name: '推广达人' });
  // Four visitors follow the invite link; three are bound; two of them buy (one twice).
  for (let i = 0; i < 4; i++) {
    const res = await t.app.inject({ method: 'GET', url: `/i/${seller.invite_code}`, headers: { 'user-agent': `visitor-${i}` } });
    expect(res.statusCode).toBe(302);
  }
  for (const c of ['b1', 'b2', 'b3']) await api('POST', '/v1/bindings', { customer_external_id: c, invite_code: seller.invite_code });
  const order = (id: string, buyer: string, fen: number) =>
    api('POST', '/v1/orders', { external_id: id, buyer_external_id: buyer, items: [{ sku: 'tea', quantity: 1, unit_price_fen: fen, paid_fen: fen }] });
  await order('o1', 'b1', 20000);
  await order('o2', 'b1', 10000);
  await order('o3', 'b2', 5000);
  phone = await launch({ mobile: true });
});

afterAll(async () => {
  await phone?.close();
  await t?.close();
});

describe('the distributor sees its numbers and its personal data', () => {
  it('shows the funnel as a chart and the earnings of the period', async () => {
    const { page } = phone;
    await page.goto(`${t.base}/portal/?token=${encodeURIComponent(await mintToken('seller'))}&tenant=${tenant.id}`);
    await page.getByTestId('me-name').waitFor();
    await page.getByTestId('home-links').getByText('推广数据').click();
    await page.getByRole('heading', { name: '推广数据', exact: true }).waitFor();
    const chart = page.getByTestId('funnel-chart');
    await chart.waitFor();
    const funnel = await t.call('GET', '/v1/analytics/funnel?distributor_id=' + seller.id, { token: tenant.key });
    expect(funnel.statusCode, funnel.body).toBe(200);
    expect(funnel.data).toMatchObject({ bindings: 3, buyers: 2, orders: 3 });
    await expect(chart.getByTestId('funnel-step-0').getAttribute('data-count')).resolves.toBe(String(funnel.data.unique_visitors));
    await expect(chart.getByTestId('funnel-step-1').getAttribute('data-count')).resolves.toBe('3');
    await expect(chart.getByTestId('funnel-step-2').getAttribute('data-count')).resolves.toBe('2');
    await chart.getByText('共 3 笔订单', { exact: false }).waitFor();
    await expect(chart.getAttribute('aria-label')).resolves.toContain('绑定 3');
    // 10% of 200 + 100 + 50 yuan.
    await expect(page.getByTestId('insights-commission').textContent()).resolves.toBe('¥35.00');
    await expect(page.getByTestId('insights-sales').textContent()).resolves.toBe('¥350.00');
    await expect(page.getByTestId('insights-orders').textContent()).resolves.toBe('3');
    await expect(page.getByTestId('insights-pending').textContent()).resolves.toBe('¥35.00');
    await page.getByTestId('daily-chart').waitFor();
    // A shorter range asks again.
    await page.getByText('7 天', { exact: true }).click();
    await page.getByTestId('insights-range').getByText('最近 7 天', { exact: false }).waitFor();
    await screenshot(page, 'portal-insights');
    await expectNoCriticalA11yViolations(page, 'portal-insights');
    expect(phone.pageErrors).toEqual([]);
  });

  it('downloads its personal data and asks for erasure, which the owner then sees', async () => {
    const { page } = phone;
    await page.getByText('返回', { exact: true }).first().click();
    await page.getByTestId('home-links').getByText('我的个人信息').click();
    await page.getByRole('heading', { name: '我的个人信息', exact: true }).waitFor();
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('privacy-export').click()]);
    expect(download.suggestedFilename()).toBe(`personal-data-${seller.id}.xlsx`);
    const file = await download.path();
    expect(fs.readFileSync(file).subarray(0, 2).toString('latin1')).toBe('PK');

    await page.getByTestId('privacy-erase').click();
    await page.locator('.adm-dialog').getByRole('button', { name: '申请注销' }).click();
    await page.getByTestId('erasure-requested').getByText('提交注销申请', { exact: false }).waitFor();
    expect(await page.getByTestId('privacy-erase').count()).toBe(0);
    await screenshot(page, 'portal-privacy');
    await expectNoCriticalA11yViolations(page, 'portal-privacy');
    const open = (await api('GET', '/v1/erasure-requests?status=open')).items;
    expect(open).toEqual([expect.objectContaining({ distributor_id: seller.id, distributor_name: '推广达人', status: 'open' })]);
    const audit = (await api('GET', `/v1/audit-log?action=distributor.erasure_request&target_id=${seller.id}`)).items;
    expect(audit).toHaveLength(1);
    // It stays asked after a reload.
    await page.reload();
    await page.getByTestId('erasure-requested').waitFor();
    expect(phone.pageErrors).toEqual([]);

    // The owner sees the request on the distributor's page.
    await api('POST', '/v1/admin-users', { email: 'owner@insights.test', password: 'owner-password-12', role: 'owner', name: '店主' });
    const desk = await launch();
    try {
      await consoleLogin(desk.page, t.base, tenant.id, 'owner@insights.test', 'owner-password-12');
      await desk.page.goto(`${t.base}/admin/distributors/${seller.id}`);
      await desk.page.getByTestId('personal-data').getByTestId('erasure-requested').getByText('在分销员门户申请注销', { exact: false }).waitFor();
      await screenshot(desk.page, 'console-erasure-requested');
      expect(desk.pageErrors).toEqual([]);
    } finally {
      await desk.close();
    }
  });
});
