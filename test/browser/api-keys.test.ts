/**
 * The console's API keys page (issue 12) in Chromium: an owner makes a key and sees it once, the
 * key works and its last use shows, then the owner revokes it and the API refuses it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consoleLogin, launch, screenshot, startLiveServer, type Browser, type LiveServer } from './harness.ts';

let t: LiveServer;
let b: Browser;
let tenant: { id: string; key: string };
const OWNER = { email: 'keys-owner@example.com', password: 'owner-password-1' };

beforeAll(async () => {
  t = await startLiveServer();
  tenant = await t.tenant('密钥测试商城');
  expect((await t.call('POST', '/v1/admin-users', { token: tenant.key, body: { ...OWNER, role: 'owner' } })).statusCode).toBe(201);
  b = await launch();
});

afterAll(async () => {
  await b?.close();
  await t?.close();
});

describe('API keys page', () => {
  it('makes a key shown once, shows its last use, revokes it, and the API then refuses it', async () => {
    const { page } = b;
    await consoleLogin(page, t.base, tenant.id, OWNER.email, OWNER.password);
    await page
      .getByRole('menuitem')
      .filter({ hasText: /^API 密钥$/ })
      .click();
    await page.getByRole('heading', { name: 'API 密钥' }).waitFor();
    await page.getByTestId('key-create').click();
    await page.getByLabel('名称').fill('ERP 对接');
    await page.getByRole('button', { name: '新建', exact: true }).click();
    const dialog = page.getByRole('dialog').filter({ has: page.getByTestId('api-key') });
    await dialog.getByText('只显示这一次').waitFor();
    const key = (await page.getByTestId('api-key').textContent())!.trim();
    expect(key).toMatch(/^fxk_/);
    await screenshot(page, 'admin-api-key-shown');
    await dialog.getByRole('button', { name: '确定' }).click();
    await dialog.waitFor({ state: 'hidden' });

    // Once closed, the key is nowhere on the page, nor in what the API lists.
    const row = page.getByTestId('keys-table').getByRole('row').filter({ hasText: 'ERP 对接' });
    await row.waitFor();
    await row.getByText('从未').waitFor();
    expect(await page.content()).not.toContain(key);
    const listed = await t.call('GET', '/v1/api-keys', { token: tenant.key });
    expect(listed.body).not.toContain(key);

    // The key works (orders only), and the page shows its last use after a reload.
    const order = { external_id: 'keys-page-1', buyer_external_id: 'buyer-keys', items: [{ sku: 'S', quantity: 1, unit_price_fen: 100, paid_fen: 100 }] };
    expect((await t.call('POST', '/v1/orders', { token: key, body: order })).statusCode).toBe(201);
    await page.reload();
    await row.waitFor();
    expect(await row.getByText('从未').count()).toBe(0);

    // Revoked: the row says so, and the API answers 401 to the key.
    await row.getByRole('button', { name: '吊销' }).click();
    await page.getByRole('dialog').getByRole('button', { name: '确定' }).click();
    await row.getByText('已吊销').waitFor();
    expect(await row.getByRole('button', { name: '吊销' }).count()).toBe(0);
    await screenshot(page, 'admin-api-key-revoked');
    const refused = await t.call('GET', '/v1/orders/keys-page-1', { token: key });
    expect(refused.statusCode).toBe(401);
    expect(refused.data.error.code).toBe('unauthorized');
    // The tenant's own key still works: only the revoked one is refused.
    expect((await t.call('GET', '/v1/orders/keys-page-1', { token: tenant.key })).statusCode).toBe(200);
  });
});
