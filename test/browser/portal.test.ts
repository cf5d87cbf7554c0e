import fs from 'node:fs';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectNoCriticalA11yViolations, launch, screenshot, startLiveServer, type Browser, type LiveServer } from './harness.ts';
import { lastCode } from '../support/portal.ts';

let t: LiveServer;
let b: Browser;
let tenant: { id: string; key: string };
let secret: string;
let alice: { id: string; invite_code: string };

const PHONE = '13912345678';
const PASSWORD = 'portal-pass-1';

async function mintToken(sub: string): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setIssuedAt(now)
    .setExpirationTime(now + 300)
    .setJti(`browser-${sub}-${now}-${Math.random().toString(36).slice(2)}`)
    .sign(new TextEncoder().encode(secret));
}

beforeAll(async () => {
  t = await startLiveServer();
  tenant = await t.tenant('手机端测试商城');
  secret = (await t.call('POST', '/v1/portal/signing-secret', { token: tenant.key })).data.secret;
  alice = (await t.call('POST', '/v1/distributors', { token: tenant.key, body: { external_id: 'alice', name: 'Alice 张' } })).data;
  b = await launch({ mobile: true });
});

afterAll(async () => {
  await b?.close();
  await t?.close();
});

describe('distributor portal on a phone', () => {
  it('applies through an invite link and lands on its home with link, QR code and poster', async () => {
    const { page } = b;
    await page.goto(`${t.base}/i/${alice.invite_code}`);
    await page.waitForURL(/\/portal\/apply\?/);
    const url = new URL(page.url());
    expect(url.searchParams.get('invite_code')).toBe(alice.invite_code);
    expect(url.searchParams.get('tenant')).toBe(tenant.id);
    await page.getByRole('heading', { name: '申请成为分销员' }).waitFor();
    await expect(page.getByTestId('invited-by').textContent()).resolves.toContain(alice.invite_code);
    expect(await page.evaluate('window.innerWidth')).toBe(390);
    await screenshot(page, 'portal-apply');
    await expectNoCriticalA11yViolations(page, 'portal-apply');

    await page.getByLabel('姓名').fill('王小明');
    await page.getByLabel('手机号').fill(PHONE);
    await page.getByLabel('设置登录密码').fill(PASSWORD);
    await page.getByRole('button', { name: '提交申请' }).click();
    await page.getByText('请先阅读并同意个人信息处理').waitFor();
    await page.getByTestId('consent').click();
    await page.getByRole('button', { name: '提交申请' }).click();

    // The code texted to the phone (the test server's outbox), and nothing made before it.
    await page.getByRole('heading', { name: '输入短信验证码' }).waitFor();
    await expect(page.getByTestId('code-sent').textContent()).resolves.toContain('139****5678');
    expect((await t.call('GET', '/v1/distributors?q=王小明', { token: tenant.key })).data.items).toHaveLength(0);
    await screenshot(page, 'portal-apply-code');
    await expectNoCriticalA11yViolations(page, 'portal-apply-code');
    await page.getByLabel('验证码').fill('000000' === lastCode(t, PHONE) ? '111111' : '000000');
    await page.getByRole('button', { name: '确认并完成申请' }).click();
    await expect(page.getByTestId('apply-error').textContent()).resolves.toContain('验证码错误');
    await page.getByLabel('验证码').fill(lastCode(t, PHONE)!);
    await page.getByRole('button', { name: '确认并完成申请' }).click();

    await page.getByTestId('me-name').filter({ hasText: '你好，王小明' }).waitFor();
    expect(new URL(page.url()).pathname).toMatch(/^\/portal\/?$/);
    const me = await t.call('GET', '/v1/distributors?q=王小明', { token: tenant.key });
    expect(me.data.items).toHaveLength(1);
    expect(me.data.items[0]).toMatchObject({ referrer_id: alice.id, source: 'application', status: 'active', phone: '139****5678' });
    const code = me.data.items[0].invite_code as string;
    await expect(page.getByTestId('invite-code').textContent()).resolves.toBe(code);
    await expect(page.getByTestId('invite-url').textContent()).resolves.toBe(`${t.base}/i/${code}`);
    const qr = page.getByTestId('invite-qr');
    await expect.poll(() => qr.evaluate((img: { complete: boolean; naturalWidth: number }) => img.complete && img.naturalWidth)).toBe(400);
    await screenshot(page, 'portal-home');
    await expectNoCriticalA11yViolations(page, 'portal-home');

    // Documents for the reviewer, uploaded from the phone.
    const licence = Buffer.from(
      '89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8cfc0f01f0005000201a1d3b7a30000000049454e44ae426082',
      'hex',
    );
    await page.getByTestId('document-file').setInputFiles({ name: '营业执照.png', mimeType: 'image/png', buffer: licence });
    await page.getByTestId('documents').getByText('营业执照.png').waitFor();
    const docs = await t.call('GET', `/v1/distributors/${me.data.items[0].id}/documents`, { token: tenant.key });
    expect(docs.data.items).toMatchObject([{ kind: 'licence', filename: '营业执照.png', content_type: 'image/png', size_bytes: licence.length }]);

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('poster-download').click()]);
    expect(download.suggestedFilename()).toBe(`invite-poster-${code}.png`);
    const png = fs.readFileSync(await download.path());
    expect(png.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([750, 1334]);
    expect(png.length).toBeGreaterThan(20_000);
    fs.writeFileSync('.test-artifacts/screenshots/portal-poster.png', png);
  });

  it('signs out and back in with phone and password', async () => {
    const { page } = b;
    await page.getByRole('button', { name: '退出' }).click();
    await page.waitForURL(/\/portal\/login$/);
    await page.getByRole('heading', { name: '登录' }).waitFor();
    await screenshot(page, 'portal-login');
    await expectNoCriticalA11yViolations(page, 'portal-login');
    await page.getByLabel('手机号').fill(PHONE);
    await page.getByLabel('密码').fill('wrong-password');
    await page.getByRole('button', { name: '登录' }).click();
    await expect(page.getByTestId('login-error').textContent()).resolves.toContain('手机号或密码错误');
    await page.getByLabel('密码').fill(PASSWORD);
    await page.getByRole('button', { name: '登录' }).click();
    await page.getByTestId('me-name').filter({ hasText: '王小明' }).waitFor();
    await page.getByRole('button', { name: '退出' }).click();
    await page.waitForURL(/\/portal\/login$/);
  });

  it("logs in with the merchant's signed token, drops it from the address, and shows the team", async () => {
    const { page } = b;
    const token = await mintToken('alice');
    await page.goto(`${t.base}/portal/?token=${encodeURIComponent(token)}&tenant=${tenant.id}`);
    await page.getByTestId('me-name').filter({ hasText: 'Alice 张' }).waitFor();
    expect(page.url()).not.toContain('token=');
    await expect(page.getByTestId('team-counts').textContent()).resolves.toBe('直属 1 人 · 二级 0 人 · 三级 0 人');
    await page.getByText('我的团队').last().click();
    await page.waitForURL(/\/portal\/team$/);
    await page.getByTestId('team-level-1').getByText('王小明').waitFor();
    await screenshot(page, 'portal-team');
    await expectNoCriticalA11yViolations(page, 'portal-team');

    // The same distributor's link while signed in keeps the session, without asking.
    await page.goto(`${t.base}/portal/?token=${encodeURIComponent(await mintToken('alice'))}&tenant=${tenant.id}`);
    await page.getByTestId('me-name').filter({ hasText: 'Alice 张' }).waitFor();
    expect(await page.getByTestId('link-switch').count()).toBe(0);
    // Signed out, the same token again is a replay.
    await page.evaluate(() => localStorage.removeItem('fenxiao.portal.session'));
    await page.goto(`${t.base}/portal/?token=${encodeURIComponent(token)}&tenant=${tenant.id}`);
    await page.getByText(/^登录链接无效或已过期：.*该登录令牌已被使用/).waitFor();
  });

  it("asks before a sign-in link replaces another distributor's session (issue 14, item 17)", async () => {
    const { page } = b;
    expect((await t.call('POST', '/v1/distributors', { token: tenant.key, body: { external_id: 'bob', name: 'Bob 李' } })).statusCode).toBe(201);
    await page.goto(`${t.base}/portal/?token=${encodeURIComponent(await mintToken('alice'))}&tenant=${tenant.id}`);
    await page.getByTestId('me-name').filter({ hasText: 'Alice 张' }).waitFor();
    const aliceSession = JSON.parse((await page.evaluate(() => localStorage.getItem('fenxiao.portal.session')))!) as { token: string };

    // A link for someone else: asked, and staying keeps Alice (the link is not used).
    const forBob = await mintToken('bob');
    await page.goto(`${t.base}/portal/?token=${encodeURIComponent(forBob)}&tenant=${tenant.id}`);
    await page.getByTestId('link-switch').waitFor();
    expect(page.url()).not.toContain('token=');
    await expect(page.getByTestId('link-current').textContent()).resolves.toContain('Alice 张');
    await screenshot(page, 'portal-link-switch');
    await expectNoCriticalA11yViolations(page, 'portal-link-switch');
    await page.getByTestId('link-switch-stay').click();
    await page.getByTestId('me-name').filter({ hasText: 'Alice 张' }).waitFor();
    expect((await t.call('GET', '/v1/me', { token: aliceSession.token })).statusCode).toBe(200);

    // Asked again, and switching signs Alice out (her session ends) and Bob in.
    await page.goto(`${t.base}/portal/?token=${encodeURIComponent(await mintToken('bob'))}&tenant=${tenant.id}`);
    await page.getByTestId('link-switch-confirm').click();
    await page.getByTestId('me-name').filter({ hasText: 'Bob 李' }).waitFor();
    expect((await t.call('GET', '/v1/me', { token: aliceSession.token })).statusCode).toBe(401);
  });

  it('switches to English', async () => {
    const { page } = b;
    await page.evaluate(() => localStorage.removeItem('fenxiao.portal.session'));
    await page.goto(`${t.base}/portal/login`);
    await page.getByTestId('lang-switch').click();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    await page.getByText('Not a distributor yet?').waitFor();
    expect(await page.evaluate('document.documentElement.lang')).toBe('en');
    await screenshot(page, 'portal-login-english');
    await page.getByTestId('lang-switch').click();
    await page.getByRole('button', { name: '登录' }).waitFor();
    expect(b.pageErrors).toEqual([]);
    expect(b.dialogs).toEqual([]);
  });
});
