/**
 * The WeChat-safe profile in Chromium: switched on from the console's program page (refused
 * inline while levels are above 1, saved with levels 1), then the distributor portal on a phone
 * speaks of referrals, never of a team, levels or downlines.
 */
import { SignJWT } from 'jose';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WECHAT_FORBIDDEN_WORDS } from '../../src/modules/compliance/rules.ts';
import { consoleLogin, launch, screenshot, startLiveServer, type Browser, type LiveServer } from './harness.ts';

let t: LiveServer;
let desk: Browser;
let phone: Browser;
let tenant: { id: string; key: string };
const OWNER = { email: 'owner@wechat-safe.test', password: 'owner-password-12' };

async function api(method: string, url: string, body?: unknown) {
  const res = await t.call(method, url, { token: tenant.key, body });
  expect(res.statusCode, `${method} ${url}: ${res.body}`).toBeLessThan(300);
  return res.data;
}

function forbiddenOn(text: string) {
  return WECHAT_FORBIDDEN_WORDS.filter((w) => text.includes(w));
}

async function portalAs(page: Page, sub: string, secret: string) {
  const now = Math.floor(Date.now() / 1000);
  const token = await new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setIssuedAt(now)
    .setExpirationTime(now + 300)
    .setJti(`wechat-safe-${sub}-${now}-${Math.random().toString(36).slice(2)}`)
    .sign(new TextEncoder().encode(secret));
  await page.goto(`${t.base}/portal/?token=${encodeURIComponent(token)}&tenant=${tenant.id}`);
}

beforeAll(async () => {
  t = await startLiveServer();
  tenant = await t.tenant('微信合规测试商城');
  await api('POST', '/v1/admin-users', { ...OWNER, role: 'owner', name: '店主' });
  const a = await api('POST', '/v1/distributors', { external_id: 'A', name: '阿明' });
  const b = await api('POST', '/v1/distributors', { external_id: 'B', name: '小白', referrer_code: a.invite_code });
  await api('POST', '/v1/distributors', { external_id: 'C', name: '小陈', referrer_code: b.invite_code });
  desk = await launch();
  phone = await launch({ mobile: true });
  await consoleLogin(desk.page, t.base, tenant.id, OWNER.email, OWNER.password);
});

afterAll(async () => {
  await phone?.close();
  await desk?.close();
  await t?.close();
});

describe('the WeChat-safe profile', () => {
  it('is switched on from the program page: refused while levels are 2, saved with levels 1', async () => {
    const { page } = desk;
    await page
      .getByRole('menuitem')
      .filter({ hasText: /^方案设置$/ })
      .click();
    await page.getByRole('heading', { name: '分销方案' }).waitFor();
    await expect(page.getByTestId('profile-note').textContent()).resolves.toContain('多级分销');
    await page.getByRole('radio', { name: '微信合规（小程序、公众号内经营）' }).check();
    await page.getByRole('button', { name: '保存' }).click();
    const explain = page.locator('.ant-form-item-has-error').filter({ has: page.getByLabel('分佣层级') });
    await explain.getByText(/微信内经营：不做多级分销/).waitFor();
    expect((await api('GET', '/v1/program')).profile).toBe('standard');

    await page.getByLabel('分佣层级').fill('1');
    await page.getByRole('button', { name: '保存' }).click();
    await page.getByText('已保存').first().waitFor();
    await expect(explain.count()).resolves.toBe(0);
    expect(await api('GET', '/v1/program')).toMatchObject({ profile: 'wechat_safe', levels: 1 });
    await screenshot(page, 'admin-program-wechat-safe');
  });

  it('makes the portal speak of referrals: no team, levels or downlines on home and the referrals tab', async () => {
    const { secret } = await api('POST', '/v1/portal/signing-secret');
    const { page } = phone;
    await portalAs(page, 'A', secret);
    await page.getByTestId('team-counts').waitFor();
    await page.getByText('我的推荐').first().waitFor();
    await expect(page.getByTestId('team-counts').textContent()).resolves.toBe('我推荐的好友 1 人');
    const home = (await page.textContent('body')) ?? '';
    expect(forbiddenOn(home)).toEqual([]);
    await screenshot(page, 'portal-home-wechat-safe');

    await page.getByText('查看推荐').click();
    await page.getByText('小白').waitFor();
    await page.getByText('我推荐的好友 (1)').waitFor();
    expect(forbiddenOn((await page.textContent('body')) ?? '')).toEqual([]);

    // Standard again: the same page speaks of the team (the check above can fail).
    await api('PUT', '/v1/program', { profile: 'standard' });
    await page.reload();
    await page.getByText('三级 (0)').waitFor();
    expect(forbiddenOn((await page.textContent('body')) ?? '')).not.toEqual([]);
  });
});
