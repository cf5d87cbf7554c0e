import { SignJWT } from 'jose';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launch, screenshot, startLiveServer, type Browser, type LiveServer } from './harness.ts';

/**
 * Names are whatever a distributor typed. Each one below would run script or draw an element if
 * a page ever put it into the DOM as markup; every page must show it as the text it is.
 */
const HOSTILE = ['<img src=x onerror=alert(1)>', '<script>window.__pwned=1</script>', '"><svg onload=alert(2)>', '<b data-hostile="1">粗体</b>'];

let t: LiveServer;
let tenant: { id: string; key: string };
let secret: string;
let referrer: { id: string; name: string };
const hostile: { id: string; name: string }[] = [];

async function expectNoInjection(page: Page, b: Browser) {
  expect(await page.locator('img[src="x"]').count()).toBe(0);
  expect(await page.locator('svg[onload]').count()).toBe(0);
  expect(await page.locator('b[data-hostile]').count()).toBe(0);
  expect(await page.locator('script:not([src])').count()).toBe(0);
  expect(await page.evaluate('typeof window.__pwned')).toBe('undefined');
  expect(b.dialogs).toEqual([]);
}

async function expectNamesAsText(page: Page) {
  for (const name of HOSTILE) await page.getByText(name, { exact: true }).first().waitFor();
}

async function mint(sub: string) {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setIssuedAt(now)
    .setExpirationTime(now + 300)
    .setJti(`hostile-${sub}-${Math.random().toString(36).slice(2)}`)
    .sign(new TextEncoder().encode(secret));
}

beforeAll(async () => {
  t = await startLiveServer();
  tenant = await t.tenant('<i>商城</i>');
  secret = (await t.call('POST', '/v1/portal/signing-secret', { token: tenant.key })).data.secret;
  await t.call('POST', '/v1/admin-users', { token: tenant.key, body: { email: 'owner@example.com', password: 'owner-password-1', role: 'owner' } });
  referrer = (await t.call('POST', '/v1/distributors', { token: tenant.key, body: { external_id: 'ref', name: '上级' } })).data;
  const code = (await t.call('GET', `/v1/distributors/${referrer.id}`, { token: tenant.key })).data.invite_code;
  for (const [i, name] of HOSTILE.entries()) {
    const res = await t.call('POST', '/v1/distributors', { token: tenant.key, body: { external_id: `hostile-${i}`, name, referrer_code: code } });
    expect(res.statusCode).toBe(201);
    hostile.push(res.data);
  }
});

afterAll(async () => {
  await t?.close();
});

describe('hostile names', () => {
  it('render as text in the admin console: list, detail, team tree, audit log', async () => {
    const b = await launch();
    try {
      const { page } = b;
      await page.goto(`${t.base}/admin/login`);
      await page.getByLabel('商户编号').fill(tenant.id);
      await page.getByLabel('邮箱').fill('owner@example.com');
      await page.getByLabel('密码').fill('owner-password-1');
      await page.getByRole('button', { name: '登录' }).click();
      await page.getByRole('heading', { name: '经营概览' }).waitFor();
      await page
        .getByRole('menuitem')
        .filter({ hasText: /^分销员$/ })
        .click();
      await page.getByTestId('distributors-table').getByRole('link', { name: HOSTILE[0]! }).waitFor();
      await expectNamesAsText(page);
      await expectNoInjection(page, b);
      await screenshot(page, 'hostile-admin-distributors');

      await page.getByRole('link', { name: '上级' }).click();
      const tree = page.getByTestId('team-tree');
      for (const name of HOSTILE) await tree.getByRole('link', { name, exact: true }).waitFor();
      await expectNoInjection(page, b);

      await tree.getByRole('link', { name: HOSTILE[1]!, exact: true }).click();
      await page.getByTestId('distributor-name').filter({ hasText: HOSTILE[1]! }).waitFor();
      expect(await page.getByTestId('distributor-name').textContent()).toBe(HOSTILE[1]!);
      await expectNoInjection(page, b);
      await screenshot(page, 'hostile-admin-detail');

      // A change through the console puts the name into the audit log's before/after.
      await page.getByRole('button', { name: '暂停' }).click();
      await page.getByRole('dialog').getByLabel('原因').fill(HOSTILE[2]!);
      await page.getByRole('dialog').getByRole('button', { name: '确定' }).click();
      await page.getByText('已暂停').first().waitFor();
      await page
        .getByRole('menuitem')
        .filter({ hasText: /^审计日志$/ })
        .click();
      const row = page.getByTestId('audit-table').getByRole('row').filter({ hasText: 'distributor.suspend' });
      await row.getByText(HOSTILE[2]!, { exact: true }).waitFor();
      await row.getByRole('button', { name: /展开|Expand/ }).click();
      await page.getByTestId('audit-diff').getByText('"suspended"').waitFor();
      await expectNoInjection(page, b);
      expect(b.pageErrors).toEqual([]);
    } finally {
      await b.close();
    }
  });

  it("render as text in the portal: the team list and the distributor's own home", async () => {
    const b = await launch({ mobile: true });
    try {
      const { page } = b;
      await page.goto(`${t.base}/portal/?token=${encodeURIComponent(await mint('ref'))}&tenant=${tenant.id}`);
      await page.getByTestId('me-name').filter({ hasText: '上级' }).waitFor();
      await page.getByText('<i>商城</i>', { exact: true }).waitFor();
      await page.goto(`${t.base}/portal/team`);
      const list = page.getByTestId('team-level-1');
      for (const name of HOSTILE) await list.getByText(name, { exact: true }).waitFor();
      await expectNoInjection(page, b);
      expect(await page.locator('i').filter({ hasText: '商城' }).count()).toBe(0);
      await screenshot(page, 'hostile-portal-team');

      await page.evaluate(() => localStorage.removeItem('fenxiao.portal.session'));
      await page.goto(`${t.base}/portal/?token=${encodeURIComponent(await mint('hostile-0'))}&tenant=${tenant.id}`);
      await page.getByTestId('me-name').filter({ hasText: HOSTILE[0]! }).waitFor();
      expect(await page.getByTestId('me-name').textContent()).toBe(`你好，${HOSTILE[0]!}`);
      await expectNoInjection(page, b);
      await screenshot(page, 'hostile-portal-home');
      expect(b.pageErrors).toEqual([]);
    } finally {
      await b.close();
    }
  });
});
