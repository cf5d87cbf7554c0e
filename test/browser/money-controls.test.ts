/**
 * The money controls in the console (issue 14, item 1): an operator's change to the automatic
 * withdrawal approval limit is saved as a proposal and nothing changes; finance sees it on the
 * program page, confirms it, and it is in force; finance sets a money control directly, and
 * cannot touch the other settings.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consoleLogin, expectNoCriticalA11yViolations, launch, screenshot, startLiveServer, type Browser, type LiveServer } from './harness.ts';

let t: LiveServer;
let desk: Browser;
let tenant: { id: string; key: string };
const OPERATOR = { email: 'operator@controls.test', password: 'operator-password-1' };
const FINANCE = { email: 'finance@controls.test', password: 'finance-password-1' };

async function api(method: string, url: string, body?: unknown) {
  const res = await t.call(method, url, { token: tenant.key, body });
  expect(res.statusCode, `${method} ${url}: ${res.body}`).toBeLessThan(300);
  return res.data;
}

const login = (u: { email: string; password: string }) => consoleLogin(desk.page, t.base, tenant.id, u.email, u.password);
const programPage = async (page: Page) => {
  await page
    .getByRole('menuitem')
    .filter({ hasText: /^方案设置$/ })
    .click();
  await page.getByRole('heading', { name: '分销方案' }).waitFor();
};

beforeAll(async () => {
  t = await startLiveServer();
  tenant = await t.tenant('资金设置测试商城');
  await api('POST', '/v1/admin-users', { ...OPERATOR, role: 'operator', name: '运营小王' });
  await api('POST', '/v1/admin-users', { ...FINANCE, role: 'finance', name: '财务小张' });
  desk = await launch();
});

afterAll(async () => {
  await desk?.close();
  await t?.close();
});

describe('money controls in the console', () => {
  it("an operator's change to the automatic approval limit waits as a proposal", async () => {
    const { page } = desk;
    await login(OPERATOR);
    await programPage(page);
    await page.getByTestId('money-hint').waitFor();
    await page.getByLabel('自动审核上限（0 表示全部人工审核）').fill('500');
    await page.getByRole('radio', { name: '审核', exact: true }).check();
    await page.getByRole('button', { name: '保存' }).click();
    await page.getByText('等待财务或所有者确认').first().waitFor();
    const proposals = page.getByTestId('program-proposals');
    await proposals.getByText('你的提议，等待他人确认').waitFor();
    await proposals.getByText('¥500.00').waitFor();
    expect(await proposals.getByRole('button', { name: '确认生效' }).count()).toBe(0);
    // The field shows what is in force; the rest of the form was saved.
    await expect(page.getByLabel('自动审核上限（0 表示全部人工审核）').inputValue()).resolves.toBe('0.00');
    const program = await api('GET', '/v1/program');
    expect(program).toMatchObject({ admission: 'review', withdrawal: { auto_approve_max_fen: 0 } });
    await screenshot(page, 'program-proposal-operator');
    expect(desk.pageErrors).toEqual([]);
  });

  it('finance confirms it on the program page; it is then in force', async () => {
    const { page } = desk;
    await login(FINANCE);
    await programPage(page);
    const proposals = page.getByTestId('program-proposals');
    await proposals.getByText('运营小王 提议', { exact: false }).waitFor();
    await screenshot(page, 'program-proposal-finance');
    await expectNoCriticalA11yViolations(page, 'program-proposal-finance');
    await proposals.getByRole('button', { name: '确认生效' }).click();
    await page.locator('.ant-popover:visible').getByRole('button', { name: '确定' }).click();
    await page.getByText('已确认，新设置已生效').waitFor();
    await page.getByTestId('program-proposals').waitFor({ state: 'detached' });
    await expect(page.getByLabel('自动审核上限（0 表示全部人工审核）').inputValue()).resolves.toBe('500.00');
    expect((await api('GET', '/v1/program')).withdrawal.auto_approve_max_fen).toBe(50_000);
    const entries = (await api('GET', '/v1/audit-log?action=program.proposal_confirm')).items;
    expect(entries).toHaveLength(1);
    expect(desk.pageErrors).toEqual([]);
  });

  it('finance sets a money control directly; the other settings stay read-only for it', async () => {
    const { page } = desk;
    await expect(page.getByRole('radio', { name: '审核', exact: true }).isDisabled()).resolves.toBe(true);
    await page.getByLabel('冻结天数（退货期）').fill('3');
    await page.getByRole('button', { name: '保存' }).click();
    await page.getByText('已保存').first().waitFor();
    expect(await api('GET', '/v1/program')).toMatchObject({ freeze_days: 3, admission: 'review', withdrawal: { auto_approve_max_fen: 50_000 } });
    expect(desk.pageErrors).toEqual([]);
  });
});
