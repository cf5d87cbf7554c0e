import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consoleLogin, expectNoCriticalA11yViolations, launch, screenshot, startLiveServer, type Browser, type LiveServer } from './harness.ts';

/**
 * Fixed-amount rates in the console (issue 17, item 2): a grade's fixed amounts per order and a
 * tier's, edited on the grades page in Chinese; the program's default fixed amounts per unit on
 * the program page in English; an order then pays what the pages set.
 */

const OWNER = { email: 'owner@example.com', password: 'owner-password-1' };
let t: LiveServer;
let desk: Browser;
let tenant: { id: string; key: string };

async function api(method: string, url: string, body?: unknown) {
  const res = await t.call(method, url, { token: tenant.key, body });
  expect(res.statusCode, `${method} ${url}: ${res.body}`).toBeLessThan(300);
  return res.data;
}

function menu(page: Page, label: string) {
  return page.getByRole('menuitem').filter({ hasText: new RegExp(`^${label}$`) });
}

async function choose(page: Page, label: string, option: string) {
  await page.getByRole('combobox', { name: label }).click();
  await page
    .locator('.ant-select-item-option:visible')
    .filter({ hasText: new RegExp(`^${option}$`) })
    .click();
}

beforeAll(async () => {
  t = await startLiveServer();
  tenant = await t.tenant('固定佣金商城');
  expect((await t.call('POST', '/v1/admin-users', { token: tenant.key, body: { ...OWNER, role: 'owner', name: '老板' } })).statusCode).toBe(201);
  desk = await launch();
  await consoleLogin(desk.page, t.base, tenant.id, OWNER.email, OWNER.password);
});

afterAll(async () => {
  await desk?.close();
  await t?.close();
});

describe('fixed-amount rates in the console', () => {
  it('a grade gets fixed amounts per order and a tier a fixed amount, in Chinese; an order pays them', async () => {
    const { page } = desk;
    await menu(page, '等级').click();
    await page.getByTestId('grades-table').getByRole('row').filter({ hasText: 'default' }).getByRole('button', { name: '编辑' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByText('固定金额', { exact: true }).waitFor();
    await choose(page, '计算方式', '按单');
    await dialog.getByLabel('销售固定佣金', { exact: true }).fill('10');
    await dialog.getByLabel('1 级固定佣金', { exact: true }).fill('3');
    await dialog.getByTestId('tier-add').click();
    await dialog.getByLabel('第 1 档 本月销售额达到').fill('5000');
    await dialog.getByLabel('第 1 档 销售固定佣金').fill('2');
    await screenshot(page, 'fixed-rates-grade-form');
    await dialog.getByRole('button', { name: '保存' }).click();
    const table = page.getByTestId('grades-table');
    await table.getByText('L0 ¥10.00 · L1 ¥3.00 按单').waitFor();
    await table.getByText('≥ ¥5,000.00 · L0 ¥2.00').waitFor();
    const grade = await api('GET', '/v1/grades/default');
    expect(grade).toMatchObject({
      sales_fixed_fen: 1000,
      override_fixed_fen: [300],
      fixed_per: 'order',
      tiers: [{ min_monthly_sales_fen: 500000, sales_fixed_fen: 200, fixed_per: 'order' }],
    });
    // Reopened, the form shows what is stored.
    await table.getByRole('row').filter({ hasText: 'default' }).getByRole('button', { name: '编辑' }).click();
    await expect.poll(() => dialog.getByLabel('销售固定佣金', { exact: true }).inputValue()).toBe('10.00');
    expect(await dialog.getByLabel('1 级固定佣金', { exact: true }).inputValue()).toBe('3.00');
    await dialog.getByRole('button', { name: '取消' }).click();
    await expectNoCriticalA11yViolations(page, 'fixed-rates-grades');

    // An order of two lines (3 units and 1): the seller's 10 yuan split 7.50 / 2.50, the upline's 3 yuan 2.25 / 0.75.
    const up = await api('POST', '/v1/distributors', { external_id: 'up', name: '上级' });
    const seller = await api('POST', '/v1/distributors', { external_id: 'seller', name: '卖家', referrer_code: up.invite_code });
    await api('POST', '/v1/bindings', { customer_external_id: 'buyer', invite_code: seller.invite_code });
    const order = await api('POST', '/v1/orders', {
      external_id: 'o-1',
      buyer_external_id: 'buyer',
      items: [
        { sku: 'kit', quantity: 3, unit_price_fen: 10000, paid_fen: 30000 },
        { sku: 'cup', quantity: 1, unit_price_fen: 5000, paid_fen: 5000 },
      ],
    });
    expect(order.commissions.map((l: { beneficiary_id: string; amount_fen: number }) => [l.beneficiary_id, l.amount_fen])).toEqual([
      [seller.id, 750],
      [seller.id, 250],
      [up.id, 225],
      [up.id, 75],
    ]);
  });

  it("the program's default fixed amounts, in English", async () => {
    const { page } = desk;
    await page.getByTestId('lang-switch').click();
    await menu(page, 'Program').click();
    await page.getByRole('heading', { name: 'Program' }).waitFor();
    await page
      .getByText('Used where a grade has neither a rate nor a fixed amount for a level; a level with a fixed amount here pays it instead of the default rate.')
      .waitFor();
    await choose(page, 'Counted', 'per unit');
    await page.getByLabel('Default level 2 fixed commission').fill('1.5');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Saved').first().waitFor();
    expect((await api('GET', '/v1/program')).default_rates).toMatchObject({ sales_fixed_fen: null, override_fixed_fen: [null, 150], fixed_per: 'unit' });
    await page.reload();
    await page.getByRole('heading', { name: 'Program' }).waitFor();
    await expect.poll(() => page.getByLabel('Default level 2 fixed commission').inputValue()).toBe('1.50');
    await screenshot(page, 'fixed-rates-program-english');
    await expectNoCriticalA11yViolations(page, 'fixed-rates-program');

    // The default's level-2 amount pays per unit where the grade has no level-2 rate.
    await api('PUT', '/v1/program', { levels: 2 });
    await api('PUT', '/v1/grades/default', { name: '普通', rank: 0, sales_bp: 0, override_bp: [0], sales_fixed_fen: null, override_fixed_fen: [null] });
    const top = await api('POST', '/v1/distributors', { external_id: 'top', name: '顶层' });
    const mid = await api('POST', '/v1/distributors', { external_id: 'mid', name: '中间', referrer_code: top.invite_code });
    const low = await api('POST', '/v1/distributors', { external_id: 'low', name: '下层', referrer_code: mid.invite_code });
    await api('POST', '/v1/bindings', { customer_external_id: 'buyer-2', invite_code: low.invite_code });
    const order = await api('POST', '/v1/orders', {
      external_id: 'o-2',
      buyer_external_id: 'buyer-2',
      items: [{ sku: 'kit', quantity: 4, unit_price_fen: 10000, paid_fen: 40000 }],
    });
    expect(order.commissions.map((l: { beneficiary_id: string; level: number; amount_fen: number }) => [l.beneficiary_id, l.level, l.amount_fen])).toEqual([
      [top.id, 2, 600],
    ]);
    await page.getByTestId('lang-switch').click();
  });
});
