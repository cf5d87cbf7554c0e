/**
 * Layout at 1440 × 900 (issue 16, item 17): the withdrawals table showed its reject button cut
 * off at the right; the audit log squeezed the menu; settlement opened on an empty list although
 * statements existed (it filtered on "pending review" while every statement had been approved
 * automatically). Measured in Chromium at the harness's desktop size.
 */
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consoleLogin, launch, screenshot, startLiveServer, type Browser, type LiveServer } from './harness.ts';

let t: LiveServer;
let desk: Browser;
let tenant: { id: string; key: string };
const OWNER = { email: 'owner@layout.test', password: 'owner-password-12' };
let withdrawalId: string;

async function api(method: string, url: string, body?: unknown) {
  const res = await t.call(method, url, { token: tenant.key, body });
  expect(res.statusCode, `${method} ${url}: ${res.body}`).toBeLessThan(300);
  return res.data;
}

async function open(page: Page, menu: string) {
  await page
    .getByRole('menuitem')
    .filter({ hasText: new RegExp(`^${menu}$`) })
    .click();
}

async function box(l: Locator) {
  const b = await l.boundingBox();
  if (!b) throw new Error('not laid out');
  return b;
}

const menuWidth = async (page: Page) => (await box(page.locator('.ant-layout-sider').first())).width;

beforeAll(async () => {
  t = await startLiveServer();
  tenant = await t.tenant('版面测试商城');
  await api('POST', '/v1/admin-users', { ...OWNER, role: 'owner', name: '店主' });
  await api('PUT', '/v1/program', { levels: 1, freeze_days: 0, review_threshold_fen: 100_000_000 });
  await api('PUT', '/v1/grades/default', { name: '普通会员', rank: 0, sales_bp: 1000, override_bp: [500] });
  // Long names and ids are what push a table wide.
  const d = await api('POST', '/v1/distributors', {
    external_id: 'layout-distributor-with-a-rather-long-external-id',
    name: '一位名字相当长的分销员（华东大区）',
  });
  await api('POST', '/v1/bindings', { customer_external_id: 'buyer-1', invite_code: d.invite_code });
  await api('POST', '/v1/orders', {
    external_id: 'order-layout-0001',
    buyer_external_id: 'buyer-1',
    items: [{ sku: 'tea', quantity: 1, unit_price_fen: 100000, paid_fen: 100000 }],
  });
  await api('POST', '/v1/orders/order-layout-0001/events', { type: 'shipped' });
  await api('POST', '/v1/orders/order-layout-0001/events', { type: 'received', at: new Date(Date.now() - 60_000).toISOString() });
  await api('POST', '/v1/settlements/run', { as_of: new Date().toISOString() });
  // The run may go to the background: wait for its statement.
  for (let i = 0; i < 300 && (await api('GET', '/v1/statements')).items.length === 0; i++) await new Promise((r) => setTimeout(r, 100));
  expect((await api('GET', '/v1/statements')).items[0].status).toBe('approved');
  const w = await t.call('POST', '/v1/withdrawals', {
    token: tenant.key,
    body: { distributor_id: d.id, amount_fen: 5000, channel: 'manual' },
    headers: { 'idempotency-key': 'layout-wd-1' },
  });
  expect(w.statusCode, w.body).toBe(201);
  withdrawalId = w.data.id;
  expect(w.data.status).toBe('pending_review');
  // Audit entries with long values in every column.
  for (let i = 0; i < 3; i++) {
    await api('PATCH', `/v1/distributors/${d.id}`, { name: `一位名字相当长的分销员（华东大区）${i}` });
    // An id with no place to break a line, as shops' user ids often are.
    const buyer = `${i}${'B'.repeat(90)}`;
    await api('POST', '/v1/bindings', { customer_external_id: buyer, invite_code: d.invite_code });
    await api('POST', `/v1/customers/${buyer}/move`, {
      distributor_id: null,
      reason: '客户来电说明情况后核对订单与聊天记录，确认解除绑定；'.repeat(8),
    });
  }
  desk = await launch();
  await consoleLogin(desk.page, t.base, tenant.id, OWNER.email, OWNER.password);
});

afterAll(async () => {
  await desk?.close();
  await t?.close();
});

describe('the console at 1440 × 900', () => {
  it('shows the withdrawal reject button inside the viewport and the table', async () => {
    const { page } = desk;
    expect(page.viewportSize()).toEqual({ width: 1440, height: 900 });
    const before = await menuWidth(page);
    await open(page, '提现');
    const reject = page.getByTestId(`wd-reject-${withdrawalId}`);
    await reject.waitFor();
    const button = await box(reject);
    const table = await box(page.getByTestId('withdrawals-table'));
    expect(button.x).toBeGreaterThanOrEqual(0);
    expect(button.x + button.width).toBeLessThanOrEqual(1440);
    expect(button.x).toBeGreaterThanOrEqual(table.x);
    expect(button.x + button.width).toBeLessThanOrEqual(table.x + table.width + 0.5);
    // Something is on top at the button's centre: the button itself, so a click reaches it.
    await reject.click({ trial: true, timeout: 2_000 });
    expect(await menuWidth(page)).toBe(before);
    await screenshot(page, 'layout-1440-withdrawals');
    expect(desk.pageErrors).toEqual([]);
  });

  it('keeps the menu its width on the audit log', async () => {
    const { page } = desk;
    await open(page, '经营概览');
    const before = await menuWidth(page);
    expect(before).toBe(220);
    await open(page, '审计日志');
    await page.getByTestId('audit-table').getByText('distributor.update').first().waitFor();
    // Every entry opened: a page several screens long, with the changes' tables inside.
    const expand = page.getByTestId('audit-table').getByRole('button', { name: /展开|Expand/ });
    for (let i = 0; i < 12 && (await expand.count()) > 0; i++) await expand.first().click();
    expect(await menuWidth(page)).toBe(before);
    // Nothing pushes the page wider than the window.
    expect((await page.evaluate('document.documentElement.scrollWidth')) as number).toBeLessThanOrEqual(1440);
    const main = await box(page.locator('main').first());
    expect(main.x).toBeGreaterThanOrEqual(before);
    expect(main.x + main.width).toBeLessThanOrEqual(1440);
    // At the foot of the page the menu is still there to use.
    await page.getByTestId('audit-table').getByText('tenant.create').scrollIntoViewIfNeeded();
    expect((await page.evaluate('window.scrollY')) as number).toBeGreaterThan(900);
    const item = await box(page.getByRole('menuitem').filter({ hasText: /^审计日志$/ }));
    expect(item.y).toBeGreaterThanOrEqual(0);
    expect(item.y + item.height).toBeLessThanOrEqual(900);
    expect(item.width).toBeGreaterThan(150);
    await screenshot(page, 'layout-1440-audit');
    expect(desk.pageErrors).toEqual([]);
  });

  it('opens settlement on the statements that exist', async () => {
    const { page } = desk;
    await open(page, '结算');
    const table = page.getByTestId('statements-table');
    await table.getByText('一位名字相当长的分销员', { exact: false }).first().waitFor();
    await table.getByText('已通过').first().waitFor();
    await screenshot(page, 'layout-1440-settlement');
    expect(desk.pageErrors).toEqual([]);
  });
});
