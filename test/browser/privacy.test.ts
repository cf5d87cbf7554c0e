/**
 * A distributor's personal data in the console: masked everywhere, shown whole to an owner or
 * finance on request (audited), exported as a workbook, erased by the owner only; an auditor
 * sees none of it.
 */
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consoleLogin, dismissDialog, expectNoCriticalA11yViolations, launch, screenshot, startLiveServer, type Browser, type LiveServer } from './harness.ts';

let t: LiveServer;
let desk: Browser;
let tenant: { id: string; key: string };
let d: { id: string };

async function api(method: string, url: string, body?: unknown) {
  const res = await t.call(method, url, { token: tenant.key, body });
  expect(res.statusCode, `${method} ${url}: ${res.body}`).toBeLessThan(300);
  return res.data;
}

const login = (email: string, password: string) => consoleLogin(desk.page, t.base, tenant.id, email, password);

beforeAll(async () => {
  t = await startLiveServer();
  tenant = await t.tenant('隐私测试商城');
  for (const role of ['owner', 'finance', 'auditor']) {
    await api('POST', '/v1/admin-users', { email: `${role}@privacy.test`, password: `${role}-password-1`, role });
  }
  d = await api('POST', '/v1/distributors', {
    external_id: 'p-1',
    name: '隐私小店',
    phone: '13912344382',
    real_name: '李四',
    id_number: '11010519491231002X',
    consent: true,
  });
  await api('POST', `/v1/distributors/${d.id}/payout-accounts`, {
    channel: 'alipay',
    identity: '2088123412341234',
    identity_type: 'ALIPAY_USER_ID',
    name: '李四',
  });
  desk = await launch();
});

afterAll(async () => {
  await desk?.close();
  await t?.close();
});

describe('personal data in the console', () => {
  it('an auditor sees masked data and no way to reveal it', async () => {
    await login('auditor@privacy.test', 'auditor-password-1');
    const { page } = desk;
    await page.goto(`${t.base}/admin/distributors/${d.id}`);
    await page.getByTestId('distributor-name').waitFor();
    await page.getByText('139****4382').waitFor();
    expect(await page.getByTestId('personal-data').count()).toBe(0);
    expect(await page.content()).not.toContain('13912344382');
  });

  it('finance reveals the whole values (audited) and exports the workbook, but cannot erase', async () => {
    await login('finance@privacy.test', 'finance-password-1');
    const { page } = desk;
    await page.goto(`${t.base}/admin/distributors/${d.id}`);
    const card = page.getByTestId('personal-data');
    await card.waitFor();
    expect(await card.getByTestId('pii-erase').count()).toBe(0);
    await card.getByTestId('pii-reveal').click();
    const shown = page.getByTestId('pii-revealed');
    await shown.getByText('13912344382').waitFor();
    await shown.getByText('11010519491231002X').waitFor();
    await shown.getByText('2088123412341234', { exact: false }).waitFor();
    await screenshot(page, 'admin-pii-revealed');
    await expectNoCriticalA11yViolations(page, 'admin-pii-revealed');
    await dismissDialog(page);
    const reveals = (await api('GET', `/v1/audit-log?action=pii.reveal&target_id=${d.id}`)).items;
    expect(reveals).toHaveLength(1);
    expect(JSON.stringify(reveals)).not.toContain('13912344382');

    await shown.waitFor({ state: 'hidden' });
    const [xlsx] = await Promise.all([page.waitForEvent('download'), card.getByTestId('pii-export').click()]);
    expect(xlsx.suggestedFilename()).toMatch(/\.xlsx$/);
    expect(
      fs
        .readFileSync(await xlsx.path())
        .subarray(0, 2)
        .toString('latin1'),
    ).toBe('PK');
  });

  it('the owner erases the distributor: anonymised, status erased, the button gone', async () => {
    await login('owner@privacy.test', 'owner-password-1');
    const { page } = desk;
    await page.goto(`${t.base}/admin/distributors/${d.id}`);
    await page.getByTestId('pii-erase').click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('原因', { exact: false }).fill('本人 2026-11-25 来电申请注销');
    await screenshot(page, 'admin-pii-erase');
    await dialog.getByRole('button', { name: '注销并匿名化' }).click();
    await page.getByText('已注销').first().waitFor();
    await page.getByTestId('pii-erase').waitFor({ state: 'detached' });
    const after = await api('GET', `/v1/distributors/${d.id}`);
    expect(after.status).toBe('erased');
    expect(after.phone).toBeNull();
    expect(await page.content()).not.toContain('隐私小店');
    expect(desk.pageErrors).toEqual([]);
  });
});
