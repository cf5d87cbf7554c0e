/**
 * Names, not codes (issue 16, item 9): grades by the merchant's names in the console and the
 * portal, an automatic upgrade's reason and an order's attribution as sentences, in Chinese
 * and in English.
 */
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consoleLogin, launch, screenshot, startLiveServer, type Browser, type LiveServer } from './harness.ts';

let t: LiveServer;
let desk: Browser;
let tenant: { id: string; key: string };
let seller: { id: string; invite_code: string };
const OWNER = { email: 'owner@names.test', password: 'owner-password-12' };

async function api(method: string, url: string, body?: unknown) {
  const res = await t.call(method, url, { token: tenant.key, body });
  expect(res.statusCode, `${method} ${url}: ${res.body}`).toBeLessThan(300);
  return res.data;
}

beforeAll(async () => {
  t = await startLiveServer();
  tenant = await t.tenant('名称测试商城');
  await api('POST', '/v1/admin-users', { ...OWNER, role: 'owner', name: '店主' });
  await api('PUT', '/v1/program', { levels: 1 });
  await api('PUT', '/v1/grades/default', { name: '普通会员', rank: 0, sales_bp: 500, override_bp: [500] });
  await api('PUT', '/v1/grades/gold', { name: '金牌会员', rank: 1, sales_bp: 1000, override_bp: [500], upgrade: { metric: 'sales_fen', min_fen: 100_000 } });
  seller = await api('POST', '/v1/distributors', { external_id: 'seller', name: '升级的分销员' });
  await api('POST', '/v1/bindings', { customer_external_id: 'buyer-1', invite_code: seller.invite_code });
  // 1,200 yuan of sales crosses the 1,000 yuan condition: upgraded to gold by the order path.
  await api('POST', '/v1/orders', {
    external_id: 'names-order-1',
    buyer_external_id: 'buyer-1',
    items: [{ sku: 'tea', quantity: 1, unit_price_fen: 120_000, paid_fen: 120_000 }],
  });
  expect((await api('GET', `/v1/distributors/${seller.id}`)).grade).toBe('gold');
  desk = await launch();
});

afterAll(async () => {
  await desk?.close();
  await t?.close();
});

describe('names, not codes', () => {
  it('the console shows grade names, the upgrade reason and the attribution in words', async () => {
    const { page } = desk;
    await consoleLogin(page, t.base, tenant.id, OWNER.email, OWNER.password);
    await page.goto(`${t.base}/admin/distributors`);
    const row = page.getByTestId('distributors-table').getByRole('row').filter({ hasText: '升级的分销员' });
    await row.getByText('金牌会员').waitFor();
    expect(await row.getByText('gold', { exact: true }).count()).toBe(0);

    await row.getByRole('link', { name: '升级的分销员' }).click();
    await page.getByRole('tab', { name: '等级变化' }).click();
    await page.getByText('自动升级：销售额 ¥1,200.00 达到该等级的升级条件 ¥1,000.00').waitFor();
    await screenshot(page, 'names-grade-history');

    await page.goto(`${t.base}/admin/orders/names-order-1`);
    const attribution = page.getByTestId('attribution').first();
    await attribution.getByText('买家已绑定分销员，订单归绑定的分销员').waitFor();
    await page.getByTestId('lang-switch').click();
    await attribution.getByText('The buyer is bound to a distributor, who is credited with the order').waitFor();
    await page.goto(`${t.base}/admin/distributors`);
    await page.getByTestId('distributors-table').getByText('金牌会员').waitFor();
    await page.getByTestId('lang-switch').click();
    expect(desk.pageErrors).toEqual([]);
  });

  it('the portal shows its own grade by name', async () => {
    const secret = (await api('POST', '/v1/portal/signing-secret')).secret as string;
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('seller')
      .setIssuedAt(now)
      .setExpirationTime(now + 300)
      .setJti(`names-${now}`)
      .sign(new TextEncoder().encode(secret));
    const phone = await launch({ mobile: true });
    try {
      await phone.page.goto(`${t.base}/portal/?token=${encodeURIComponent(token)}&tenant=${tenant.id}`);
      await phone.page.getByTestId('me-name').waitFor();
      await phone.page.getByText('金牌会员', { exact: false }).first().waitFor();
      expect(await phone.page.getByText('gold', { exact: true }).count()).toBe(0);
      await screenshot(phone.page, 'names-portal-home');
      expect(phone.pageErrors).toEqual([]);
    } finally {
      await phone.close();
    }
  });
});
