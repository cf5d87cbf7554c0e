/**
 * The binding policies on the console's program page (issue 17, item 1): each mode is explained
 * in the list it is chosen from and once chosen, in Chinese and in English; the protection and validity windows are edited and
 * saved; a lapsed binding shows in the customer's history.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consoleLogin, expectNoCriticalA11yViolations, launch, screenshot, startLiveServer, type Browser, type LiveServer } from './harness.ts';

let t: LiveServer;
let desk: Browser;
let tenant: { id: string; key: string };
const OWNER = { email: 'owner@binding.test', password: 'owner-password-12' };

async function api(method: string, url: string, body?: unknown) {
  const res = await t.call(method, url, { token: tenant.key, body });
  expect(res.statusCode, `${method} ${url}: ${res.body}`).toBeLessThan(300);
  return res.data;
}

const menu = (page: Page, name: string) => page.getByRole('menuitem').filter({ hasText: new RegExp(`^${name}$`) });

beforeAll(async () => {
  t = await startLiveServer();
  tenant = await t.tenant('绑定规则测试商城');
  await api('POST', '/v1/admin-users', { ...OWNER, role: 'owner', name: '店主' });
  desk = await launch();
});

afterAll(async () => {
  await desk?.close();
  await t?.close();
});

/** Chooses a binding mode in the select (antd renders the options in a popup). */
async function chooseMode(page: Page, label: string) {
  await page.getByTestId('binding-mode').click();
  await page.locator('.ant-select-dropdown:visible').getByTitle(label, { exact: true }).click();
}

describe('binding policies on the program page', () => {
  it('explains each mode as it is chosen, and saves override with its windows', async () => {
    const { page } = desk;
    await consoleLogin(page, t.base, tenant.id, OWNER.email, OWNER.password);
    await menu(page, '方案设置').click();
    await page.getByRole('heading', { name: '分销方案' }).waitFor();
    const help = page.getByTestId('binding-mode-help');
    await help.getByText('永久绑定：客户一经绑定', { exact: false }).waitFor();
    // Every mode is explained in the list it is chosen from.
    await page.getByTestId('binding-mode').click();
    const list = page.locator('.ant-select-dropdown:visible');
    for (const [mode, text] of [
      ['permanent', '永久绑定：客户一经绑定'],
      ['rebindable', '可换绑：客户连续若干天没有下单后'],
      ['override', '覆盖：最新的有效邀请生效'],
    ] as const)
      await list.getByTestId(`binding-mode-option-${mode}`).getByText(text, { exact: false }).waitFor();
    await screenshot(page, 'program-binding-modes-explained');
    await page.keyboard.press('Escape');
    await list.waitFor({ state: 'hidden' });
    await chooseMode(page, '可换绑');
    await help.getByText('可换绑：客户连续若干天没有下单后', { exact: false }).waitFor();
    await chooseMode(page, '覆盖（最新邀请生效）');
    await help.getByText('覆盖：最新的有效邀请生效', { exact: false }).waitFor();
    await page.getByLabel('抢客保护期').fill('7');
    await page.getByLabel('绑定有效期').fill('90');
    await page.locator('label').filter({ hasText: '自最后一次下单' }).click();
    await screenshot(page, 'program-binding-policies');
    await expectNoCriticalA11yViolations(page, 'program-binding-policies');
    await page.getByRole('button', { name: '保存' }).click();
    await page.getByText('已保存').first().waitFor();
    expect((await api('GET', '/v1/program')).binding).toEqual({
      mode: 'override',
      rebind_after_days: 30,
      bind_on: 'registration',
      protection_days: 7,
      validity_days: 90,
      validity_from: 'last_order',
    });
    // Read back as saved after a reload.
    await page.reload();
    await page.getByRole('heading', { name: '分销方案' }).waitFor();
    await expect(page.getByLabel('抢客保护期').inputValue()).resolves.toBe('7');
    await expect(page.getByLabel('绑定有效期').inputValue()).resolves.toBe('90');
    await page.getByTestId('binding-mode-help').getByText('覆盖：最新的有效邀请生效', { exact: false }).waitFor();
    expect(desk.pageErrors).toEqual([]);
  });

  it('explains the modes in English too', async () => {
    const { page } = desk;
    await page.getByTestId('lang-switch').click();
    await menu(page, 'Program').click();
    await page.getByRole('heading', { name: 'Program' }).waitFor();
    await page.getByTestId('binding-mode-help').getByText('Override: the latest valid invite wins.', { exact: false }).waitFor();
    await page.getByText('Protection window', { exact: true }).waitFor();
    await chooseMode(page, 'Permanent');
    await page.getByTestId('binding-mode-help').getByText('Permanent: once bound', { exact: false }).waitFor();
    await page.getByLabel('Validity window').fill('0');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Saved').first().waitFor();
    expect((await api('GET', '/v1/program')).binding).toMatchObject({ mode: 'permanent', protection_days: 7, validity_days: 0 });
    await screenshot(page, 'program-binding-policies-english');
    await page.getByTestId('lang-switch').click();
    await menu(page, '方案设置').waitFor();
    expect(desk.pageErrors).toEqual([]);
  });

  it("shows a lapse in the customer's binding history", async () => {
    const { page } = desk;
    await api('PUT', '/v1/program', { binding: { validity_days: 1 } });
    const d = await api('POST', '/v1/distributors', { external_id: 'shop-a', name: '甲店' });
    await api('POST', '/v1/bindings', { customer_external_id: 'buyer-9', invite_code: d.invite_code });
    // The live server runs on the real clock: the job is run as of two days on.
    expect(await t.services.referral.lapseDue(tenant.id, new Date(Date.now() + 2 * 86_400_000))).toMatchObject({ lapsed: 1 });
    await menu(page, '客户绑定').click();
    await page.getByLabel('客户编号（商城用户 ID）').fill('buyer-9');
    await page.keyboard.press('Enter');
    await page.getByTestId('customer-binding').getByText('绑定失效').waitFor();
    await screenshot(page, 'customer-binding-lapse');
    expect(desk.pageErrors).toEqual([]);
  });
});
