/**
 * Signing in without the tenant id, in a real browser (issue 16 item 3), and the API's error
 * messages shown in the page's language (item 8): the console by an email alone or by the
 * merchant's short name from its URL, the portal by the slug in its link.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT_TOKEN } from '../support/server.ts';
import { applyInPortal } from '../support/portal.ts';
import { launch, screenshot, startLiveServer, type Browser, type LiveServer } from './harness.ts';

// PostgreSQL runs share one database per run: this file's slug and emails are its own.
const RUN = Math.random().toString(36).slice(2, 8);
const SLUG = `acme-${RUN}`;
const SHARED = `shared@shops-${RUN}.test`;
const BOSS = `boss@acme-${RUN}.test`;

let t: LiveServer;
let b: Browser;
let acme: { id: string; slug: string; api_key: string };

beforeAll(async () => {
  t = await startLiveServer();
  const made = await t.call('POST', '/v1/tenants', { token: ROOT_TOKEN, body: { name: '阿克米商城', slug: SLUG } });
  expect(made.statusCode).toBe(201);
  acme = made.data;
  const other = await t.tenant('别家商城');
  for (const [key, email, password] of [
    [acme.api_key, BOSS, 'acme-boss-pass-1'],
    [acme.api_key, SHARED, 'shared-pass-1'],
    [other.key, SHARED, 'shared-pass-1'],
  ] as const) {
    const res = await t.call('POST', '/v1/admin-users', { token: key, body: { email, password, role: 'owner' } });
    expect(res.statusCode, res.body).toBe(201);
  }
  const applied = await applyInPortal(t, { tenant_id: acme.id, name: '赵六', phone: '13700001111', password: 'portal-pass-9', consent: true });
  expect(applied.statusCode, applied.body).toBe(201);
  b = await launch();
});

afterAll(async () => {
  await b?.close();
  await t?.close();
});

describe('console sign-in without the tenant id', () => {
  it('signs in by an email alone, and shows the API error in Chinese, then in English', async () => {
    const { page } = b;
    await page.goto(`${t.base}/admin/login`);
    await page.evaluate(() => {
      sessionStorage.clear();
      localStorage.clear();
    });
    await page.goto(`${t.base}/admin/login`);
    await page.getByLabel('邮箱').fill(BOSS);
    await page.getByLabel('密码').fill('wrong-password');
    await page.getByRole('button', { name: '登录' }).click();
    await expect(page.getByTestId('login-error').textContent()).resolves.toContain('邮箱或密码错误');

    await page.getByTestId('lang-switch').click();
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByTestId('login-error').getByText('wrong email or password').waitFor();
    await page.getByTestId('lang-switch').click();

    await page.getByLabel('密码').fill('acme-boss-pass-1');
    await page.getByRole('button', { name: '登录' }).click();
    await page.getByRole('heading', { name: '经营概览' }).waitFor();
    await screenshot(page, 'sign-in-email-only');
  });

  it("shows the merchant's short name in the login address, and asks for it when an email is in two merchants", async () => {
    const { page } = b;
    await page.evaluate(() => sessionStorage.clear());
    await page.goto(`${t.base}/admin/login`);
    // Remembered from the last sign-in: the address names the merchant.
    await page.waitForURL(new RegExp(`/admin/login\\?merchant=${SLUG}$`));
    await page.getByLabel('商户编号或简称').clear();
    await page.getByLabel('邮箱').fill(SHARED);
    await page.getByLabel('密码').fill('shared-pass-1');
    await page.getByRole('button', { name: '登录' }).click();
    await expect(page.getByTestId('login-error').textContent()).resolves.toContain('多个商户');

    await page.evaluate(() => localStorage.clear());
    await page.goto(`${t.base}/admin/login?merchant=${SLUG}`);
    await expect(page.getByLabel('商户编号或简称').inputValue()).resolves.toBe(SLUG);
    await page.getByLabel('邮箱').fill(SHARED);
    await page.getByLabel('密码').fill('shared-pass-1');
    await page.getByRole('button', { name: '登录' }).click();
    await page.getByRole('heading', { name: '经营概览' }).waitFor();
    const me = await page.evaluate(() => sessionStorage.getItem('fenxiao.admin.session') ?? JSON.stringify(sessionStorage));
    expect(me).toContain(acme.id);
  });
});

describe('portal sign-in by the merchant slug', () => {
  it('finds the merchant from ?tenant=<slug> and signs in by phone and password', async () => {
    const phone = await launch({ mobile: true });
    try {
      const { page } = phone;
      await page.goto(`${t.base}/portal/login?tenant=${SLUG}`);
      await page.getByLabel('手机号').fill('13700001111');
      await page.getByLabel('密码').fill('wrong-pass-0');
      await page.getByRole('button', { name: '登录' }).click();
      await expect(page.getByTestId('login-error').textContent()).resolves.toContain('手机号或密码错误');
      await page.getByLabel('密码').fill('portal-pass-9');
      await page.getByRole('button', { name: '登录' }).click();
      await page.getByText('赵六').first().waitFor();
      await screenshot(page, 'portal-sign-in-slug');
    } finally {
      await phone.close();
    }
  });
});
