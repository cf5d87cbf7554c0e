/**
 * The admission deposit on the portal's home (issue 17): the distributor sees what the program
 * asks, what it paid, what the merchant holds and what was refunded, as GET /v1/me/deposit
 * answers, in Chinese and in English; a field the portal does not know yet is listed rather than
 * dropped or breaking the page; a distributor without a deposit sees no card.
 */
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectNoCriticalA11yViolations, launch, screenshot, startLiveServer, type Browser, type LiveServer } from './harness.ts';

let t: LiveServer;
let b: Browser;
let tenant: { id: string; key: string };
let secret: string;
let finance: string;
const FINANCE = { email: 'finance@portal-deposit.test', password: 'finance-password-1' };

async function api(method: string, url: string, body?: unknown, token = tenant.key, headers?: Record<string, string>) {
  const res = await t.call(method, url, { token, body, ...(headers ? { headers } : {}) });
  expect(res.statusCode, `${method} ${url}: ${res.body}`).toBeLessThan(300);
  return res.data;
}

async function signIn(sub: string) {
  const now = Math.floor(Date.now() / 1000);
  const token = await new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setIssuedAt(now)
    .setExpirationTime(now + 300)
    .setJti(`deposit-${sub}-${now}-${Math.random().toString(36).slice(2)}`)
    .sign(new TextEncoder().encode(secret));
  await b.page.goto(`${t.base}/portal/?token=${encodeURIComponent(token)}&tenant=${tenant.id}`);
}

beforeAll(async () => {
  t = await startLiveServer();
  tenant = await t.tenant('保证金门户测试商城');
  await api('PUT', '/v1/program', { admission: 'open', admission_conditions: { deposit_fen: 50000 } });
  await api('POST', '/v1/admin-users', { ...FINANCE, role: 'finance', name: '财务' });
  const login = await t.call('POST', '/v1/auth/login', { body: { tenant_id: tenant.id, ...FINANCE } });
  expect(login.statusCode, login.body).toBe(200);
  finance = login.data.token;
  secret = (await api('POST', '/v1/portal/signing-secret')).secret;
  b = await launch({ mobile: true });
});

afterAll(async () => {
  await b?.close();
  await t?.close();
});

describe('the deposit card in the portal', () => {
  it('shows what is asked, paid, held and refunded, as the API answers', async () => {
    const { page } = b;
    const d = await api('POST', '/v1/distributors', { external_id: 'dep-p1', name: '保证金乙' });
    await api('POST', `/v1/distributors/${d.id}/deposit`, { amount_fen: 20000, reference: 'BANK-7' }, finance, { 'idempotency-key': 'dep-p1-a' });
    await signIn('dep-p1');
    await page.getByTestId('me-name').filter({ hasText: '保证金乙' }).waitFor();
    const card = page.getByTestId('deposit');
    await card.getByText('保证金', { exact: true }).waitFor();
    await expect(card.getByTestId('deposit-state').textContent()).resolves.toBe('已缴部分：还需缴纳 ¥300.00');
    const shown = async (k: string) => Number(await card.getByTestId(`deposit-${k}`).getAttribute('data-value'));
    const mine = await api('GET', `/v1/distributors/${d.id}/deposit`);
    for (const [k, f] of [
      ['required', 'required_fen'],
      ['paid', 'paid_fen'],
      ['held', 'held_fen'],
      ['refunded', 'refunded_fen'],
    ] as const)
      expect(await shown(k), k).toBe(mine[f]);
    await expect(card.getByTestId('deposit-held').textContent()).resolves.toBe('¥200.00');
    await card.getByText('由商户代为保管，不是佣金', { exact: false }).waitFor();
    expect(await card.getByTestId('deposit-more').count()).toBe(0);
    await screenshot(page, 'portal-deposit');
    await expectNoCriticalA11yViolations(page, 'portal-deposit');

    // In English.
    await page.getByTestId('lang-switch').click();
    await card.getByText('Deposit', { exact: true }).waitFor();
    await expect(card.getByTestId('deposit-state').textContent()).resolves.toBe('Partly paid: ¥300.00 still due');
    await card.getByText('Held by the merchant').waitFor();
    await page.getByTestId('lang-switch').click();
    await card.getByText('保证金', { exact: true }).waitFor();

    // Refunded in full (the distributor left before admission): the card says so.
    await api('POST', `/v1/distributors/${d.id}/deposit/refund`, { reason: '未完成入驻' }, finance);
    await page.reload();
    await expect(card.getByTestId('deposit-state').textContent()).resolves.toBe('已全额退还');
    expect(await shown('refunded')).toBe(20000);
    expect(await shown('held')).toBe(0);
    expect(b.pageErrors).toEqual([]);
  });

  it('lists a field it does not know yet (a refund on its way, say) instead of dropping it', async () => {
    const { page } = b;
    await page.route('**/v1/me/deposit', async (route) => {
      const res = await route.fetch();
      const body = await res.json();
      await route.fulfill({ response: res, json: { ...body, refund: { status: 'processing', amount_fen: 20000, requested_at: '2026-12-01T02:00:00Z' } } });
    });
    await page.reload();
    const more = page.getByTestId('deposit-more');
    await more.getByText('其他信息').waitFor();
    await more.getByText('refund.status').waitFor();
    await more.getByText('processing').waitFor();
    await more.getByText('¥200.00').waitFor();
    await page.unroute('**/v1/me/deposit');
    expect(b.pageErrors).toEqual([]);
  });

  it('shows no card to a distributor of a program without a deposit', async () => {
    const { page } = b;
    await api('PUT', '/v1/program', { admission_conditions: { deposit_fen: 0 } });
    await api('POST', '/v1/distributors', { external_id: 'dep-p2', name: '无保证金' });
    // Signed out first: a link for another distributor while signed in asks before switching.
    await page.getByRole('button', { name: '退出' }).click();
    await page.waitForURL(/\/portal\/login$/);
    const answered = page.waitForResponse((r) => r.url().endsWith('/v1/me/deposit'));
    await signIn('dep-p2');
    await page.getByTestId('me-name').filter({ hasText: '无保证金' }).waitFor();
    expect((await (await answered).json()).required_fen).toBe(0);
    expect(await page.getByTestId('deposit').count()).toBe(0);
  });
});
