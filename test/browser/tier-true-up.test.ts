/**
 * The month-end tier true-up switch on the console's program page (issue 17, item 2): explained
 * in Chinese and in English, saved, and read back after a reload; and the rule simulator's
 * true-up switch, which sends changes.tier_true_up and shows what the API replays.
 */
import type { Page, Request } from 'playwright-core';
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

  it('the rule simulator replays the true-up switched off, and shows what it adds in force and as proposed', async () => {
    const { page } = desk;
    await page.getByTestId('lang-switch').click();
    // Last month (Asia/Shanghai), whole and over: A's orders cross 1,000 yuan on the second, so the
    // true-up in force raises both to 8 %: 18.00 + 13.50.
    const today = new Date(Date.now() + 8 * 3_600_000).toISOString().slice(0, 10);
    const thisMonth = `${today.slice(0, 7)}-01`;
    const d = new Date(`${thisMonth}T00:00:00Z`);
    const lastMonth = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - 1, 1)).toISOString().slice(0, 10);
    const since = `?effective_from=${new Date(Date.parse(`${lastMonth}T00:00:00Z`) - 86_400_000).toISOString()}&reason=import`;
    for (const when of [since, '']) {
      await api('PUT', `/v1/program${when}`, { levels: 0, timezone: 'Asia/Shanghai' });
      await api('PUT', `/v1/grades/default${when}`, {
        name: '普通',
        rank: 0,
        sales_bp: 0,
        override_bp: [],
        tiers: [
          { min_monthly_sales_fen: 0, sales_bp: 500 },
          { min_monthly_sales_fen: 100_000, sales_bp: 800 },
        ],
      });
    }
    const A = await api('POST', '/v1/distributors', { external_id: 'A', name: '甲店' });
    await api('POST', '/v1/bindings', { customer_external_id: 'buyer', invite_code: A.invite_code });
    for (const [id, day, paid] of [
      ['t1', 3, 60_000],
      ['t2', 10, 45_001],
    ] as const)
      await api('POST', '/v1/orders', {
        external_id: id,
        buyer_external_id: 'buyer',
        paid_at: `${lastMonth.slice(0, 8)}${String(day).padStart(2, '0')}T04:00:00Z`,
        items: [{ sku: 'tea', quantity: 1, unit_price_fen: paid, paid_fen: paid }],
      });

    await menu(page, '佣金规则').click();
    await page.getByRole('heading', { name: '佣金规则' }).waitFor();
    const sim = page.getByTestId('rule-simulator');
    await sim.getByLabel('从').fill(lastMonth);
    await sim.getByLabel('到（不含）').fill(thisMonth);
    await sim.getByTestId('sim-true-up-switch').click();
    await page.locator('.ant-select-dropdown:visible').getByTitle('关闭', { exact: true }).click();
    const sent = page.waitForRequest((r: Request) => r.url().endsWith('/v1/rules/simulate') && r.method() === 'POST');
    const answered = page.waitForResponse((r) => r.url().endsWith('/v1/rules/simulate'));
    await sim.getByRole('button', { name: /(模拟|Simulate)$/ }).click();
    const body = (await sent).postDataJSON() as Record<string, unknown>;
    expect(body).toEqual({ from: lastMonth, to: thisMonth, changes: { tier_true_up: false } });
    expect((await answered).status()).toBe(200);

    const expected = (await api('POST', '/v1/rules/simulate', body)).true_up;
    expect(expected).toMatchObject({ months: [lastMonth.slice(0, 7)], current: true, proposed: false, current_fen: 1800 + 1350, proposed_fen: 0 });
    const figures = sim.getByTestId('sim-true-up-fen');
    await figures.waitFor();
    await expect(figures.getAttribute('data-current')).resolves.toBe(String(expected.current_fen));
    await expect(figures.getAttribute('data-proposed')).resolves.toBe('0');
    await expect(figures.getAttribute('data-delta')).resolves.toBe(String(expected.delta_fen));
    await expect(figures.textContent()).resolves.toContain('¥31.50 → ¥0.00');
    await expect(sim.getByTestId('sim-true-up-state').textContent()).resolves.toBe(`现行：开启 → 拟议：关闭 · 重放的整月：${lastMonth.slice(0, 7)}`);
    await page.getByTestId('lang-switch').click();
    await sim.getByText('Month-end true-up (tier lines raised to the bracket finally reached in the month)').waitFor();
    await expect(sim.getByTestId('sim-true-up-state').textContent()).resolves.toBe(
      `In force: On → proposed: Off · Whole months replayed: ${lastMonth.slice(0, 7)}`,
    );
    await page.getByTestId('lang-switch').click();
    expect(desk.pageErrors).toEqual([]);
  });
});
