/**
 * The month-end tier true-up switch on the console's program page (issue 17, item 2): explained
 * in Chinese and in English, saved, and read back after a reload.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consoleLogin, launch, startLiveServer, type Browser, type LiveServer } from './harness.ts';

let t: LiveServer;
let desk: Browser;
let tenant: { id: string; key: string };
const OWNER = { email: 'owner@trueup.test', password: 'owner-password-12' };

async function api(method: string, url: string, body?: unknown) {
  const res = await t.call(method, url, { token: tenant.key, body });
  expect(res.statusCode, `${method} ${url}: ${res.body}`).toBeLessThan(300);
  return res.data;
}

const menu = (page: Page, name: string) => page.getByRole('menuitem').filter({ hasText: new RegExp(`^${name}$`) });

beforeAll(async () => {
  t = await startLiveServer();
  tenant = await t.tenant('阶梯补差测试商城');
  await api('POST', '/v1/admin-users', { ...OWNER, role: 'owner', name: '店主' });
  desk = await launch();
});

afterAll(async () => {
  await desk?.close();
  await t?.close();
});

describe('month-end tier true-up on the program page', () => {
  it('is explained, saved and read back; in English too', async () => {
    const { page } = desk;
    await consoleLogin(page, t.base, tenant.id, OWNER.email, OWNER.password);
    await menu(page, '方案设置').click();
    await page.getByRole('heading', { name: '分销方案' }).waitFor();
    await page.getByText('补差只增不减', { exact: false }).waitFor();
    const toggle = page.getByTestId('tier-true-up');
    expect(await toggle.getAttribute('aria-checked')).toBe('false');
    await toggle.click();
    await page.getByRole('button', { name: '保存' }).click();
    await page.getByText('已保存').first().waitFor();
    expect((await api('GET', '/v1/program')).tier_true_up).toBe(true);
    await page.reload();
    await page.getByRole('heading', { name: '分销方案' }).waitFor();
    expect(await page.getByTestId('tier-true-up').getAttribute('aria-checked')).toBe('true');
    await page.getByTestId('lang-switch').click();
    await menu(page, 'Program').click();
    await page.getByText('Month-end tier true-up', { exact: true }).waitFor();
    await page.getByText('a true-up only raises', { exact: false }).waitFor();
    expect(desk.pageErrors).toEqual([]);
  });
});
