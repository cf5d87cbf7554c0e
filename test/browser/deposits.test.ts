/**
 * Admission deposits in the console (issue 17 item 3): finance records the deposit received on a
 * pending distributor's page (open admission: it becomes active once all of it is in), and after
 * the distributor is suspended asks for the whole deposit back; a second finance user approves the
 * refund and records it paid (outside Fenxiao, by hand); the ledger holds what the page says.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consoleLogin, expectNoCriticalA11yViolations, launch, screenshot, startLiveServer, type Browser, type LiveServer } from './harness.ts';

let t: LiveServer;
let desk: Browser;
let tenant: { id: string; key: string };
const FINANCE = { email: 'finance@deposits.test', password: 'finance-password-1' };
const CHECKER = { email: 'checker@deposits.test', password: 'checker-password-1' };

async function api(method: string, url: string, body?: unknown) {
  const res = await t.call(method, url, { token: tenant.key, body });
  expect(res.statusCode, `${method} ${url}: ${res.body}`).toBeLessThan(300);
  return res.data;
}

beforeAll(async () => {
  t = await startLiveServer();
  tenant = await t.tenant('保证金测试商城');
  await api('PUT', '/v1/program', { admission: 'open', admission_conditions: { deposit_fen: 50000 } });
  await api('POST', '/v1/admin-users', { ...FINANCE, role: 'finance', name: '财务小张' });
  await api('POST', '/v1/admin-users', { ...CHECKER, role: 'finance', name: '财务小李' });
  desk = await launch();
});

afterAll(async () => {
  await desk?.close();
  await t?.close();
});

describe('admission deposits in the console', () => {
  it('finance records the deposit, the distributor becomes active, and on exit the whole deposit is refunded with a second person', async () => {
    const { page } = desk;
    const d = await api('POST', '/v1/distributors', { external_id: 'dep-b1', name: '保证金甲' });
    expect(d.status).toBe('pending');
    await consoleLogin(page, t.base, tenant.id, FINANCE.email, FINANCE.password);
    await page.goto(`${t.base}/admin/distributors/${d.id}`);
    await page.getByTestId('distributor-name').filter({ hasText: '保证金甲' }).waitFor();

    await page.getByTestId('record-deposit').click();
    const dialog = page.getByRole('dialog');
    await dialog.getByText('还需缴纳 500.00 元').waitFor();
    await dialog.getByLabel('本次收到的金额').fill('500');
    await dialog.getByRole('button', { name: /确\s*定|OK/ }).click();
    await page.getByText('保证金已登记').waitFor();
    await page.locator('.ant-tag').filter({ hasText: '正常' }).first().waitFor();
    expect(await api('GET', `/v1/distributors/${d.id}/deposit`)).toMatchObject({ status: 'active', paid_fen: 50000, held_fen: 50000 });
    // Nothing left to pay, and an active distributor's deposit is not refunded.
    expect(await page.getByTestId('record-deposit').count()).toBe(0);
    expect(await page.getByTestId('refund-deposit').count()).toBe(0);
    await expectNoCriticalA11yViolations(page, 'admin-distributor-deposit');

    await api('POST', `/v1/distributors/${d.id}/suspend`, { reason: '退出' });
    await page.reload();
    await page.getByTestId('refund-deposit').click();
    const refund = page.getByRole('dialog');
    await refund.getByText('申请退还全部持有的保证金 500.00 元', { exact: false }).waitFor();
    // The test server has no online payout channel and the distributor no payout account: paid back outside Fenxiao.
    await refund.getByTestId('refund-channel').click();
    await page.getByText('在系统外退还（人工，由另一人登记完成）').click();
    await refund.getByLabel('原因').fill('退出分销');
    await refund.getByRole('button', { name: /确\s*定|OK/ }).click();
    await page.getByText('已申请退还保证金，等待另一位财务人员批准').waitFor();
    await page.getByTestId('deposit-refund-status').filter({ hasText: '待审核' }).waitFor();
    expect(await api('GET', `/v1/distributors/${d.id}/deposit`)).toMatchObject({ held_fen: 0, refunding_fen: 50000, refund: { status: 'pending_review' } });
    // The one who asked cannot approve it.
    await page.getByTestId('approve-refund').click();
    await page
      .getByRole('button', { name: /确\s*定|OK/ })
      .last()
      .click();
    await page.getByText('申请退还保证金的用户不能批准该退还', { exact: false }).waitFor();

    // The second finance user approves and records it paid.
    await consoleLogin(page, t.base, tenant.id, CHECKER.email, CHECKER.password);
    await page.goto(`${t.base}/admin/distributors/${d.id}`);
    await page.getByTestId('approve-refund').click();
    await page
      .getByRole('button', { name: /确\s*定|OK/ })
      .last()
      .click();
    await page.getByTestId('deposit-refund-payout').filter({ hasText: '已提交' }).waitFor();
    await page.getByTestId('complete-refund').click();
    const done = page.getByRole('dialog');
    await done.getByLabel('打款凭证号').fill('BANK-RET-1');
    await done.getByRole('button', { name: /确\s*定|OK/ }).click();
    await page.getByTestId('deposit-refund-status').filter({ hasText: '已打款' }).waitFor();
    await page.getByTestId('deposit-refund-payout').filter({ hasText: '成功' }).waitFor();
    expect(await api('GET', `/v1/distributors/${d.id}/deposit`)).toMatchObject({ paid_fen: 50000, refunded_fen: 50000, refunding_fen: 0, held_fen: 0 });
    expect((await api('GET', '/v1/ledger/verify')).ok).toBe(true);
    await screenshot(page, 'admin-distributor-deposit-refunded');
  });
});
