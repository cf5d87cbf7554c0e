/**
 * The rule simulator's binding policy fields (issue 17, item 1): the console sends a proposed
 * binding policy as `changes.binding` with the API's own field names, and shows the orders that
 * would change seller, their commissions and a chart of the orders with and without a seller,
 * as the API computes them; in Chinese and in English.
 */
import type { Page, Request } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consoleLogin, expectNoCriticalA11yViolations, launch, screenshot, startLiveServer, type Browser, type LiveServer } from './harness.ts';

let t: LiveServer;
let desk: Browser;
let tenant: { id: string; key: string };
const OWNER = { email: 'owner@binding-sim.test', password: 'owner-password-12' };

async function api(method: string, url: string, body?: unknown) {
  const res = await t.call(method, url, { token: tenant.key, body });
  expect(res.statusCode, `${method} ${url}: ${res.body}`).toBeLessThan(300);
  return res.data;
}

const menu = (page: Page, name: string) => page.getByRole('menuitem').filter({ hasText: new RegExp(`^${name}$`) });
const day = (ms: number) => new Date(ms + 8 * 3_600_000).toISOString().slice(0, 10);

beforeAll(async () => {
  t = await startLiveServer();
  tenant = await t.tenant('绑定模拟测试商城');
  await api('POST', '/v1/admin-users', { ...OWNER, role: 'owner', name: '店主' });
  await api('PUT', '/v1/program', { levels: 0 });
  await api('PUT', '/v1/grades/default', { name: '默认', rank: 0, sales_bp: 1000, override_bp: [] });
  const A = await api('POST', '/v1/distributors', { external_id: 'sim-a', name: '甲店' });
  const B = await api('POST', '/v1/distributors', { external_id: 'sim-b', name: '乙店' });
  // x is bound to A; x then orders with B's code: under today's permanent policy A keeps x.
  await api('POST', '/v1/bindings', { customer_external_id: 'x', invite_code: A.invite_code });
  const o = await api('POST', '/v1/orders', {
    external_id: 'sim-o1',
    buyer_external_id: 'x',
    invite_code: B.invite_code,
    items: [{ sku: 's', quantity: 1, unit_price_fen: 10_000, paid_fen: 10_000 }],
  });
  expect(o.seller_id).toBe(A.id);
  desk = await launch();
});

afterAll(async () => {
  await desk?.close();
  await t?.close();
});

/** Picks an option of an antd select (rendered in a popup). */
async function choose(page: Page, testId: string, label: string) {
  await page.getByTestId(testId).click();
  await page.locator('.ant-select-dropdown:visible').getByTitle(label, { exact: true }).click();
}

async function simulate(page: Page): Promise<Record<string, unknown>> {
  const sim = page.getByTestId('rule-simulator');
  const sent = page.waitForRequest((r: Request) => r.url().endsWith('/v1/rules/simulate') && r.method() === 'POST');
  const answered = page.waitForResponse((r) => r.url().endsWith('/v1/rules/simulate'));
  // Not anchored at the start: antd's loading icon (role img, "loading") can linger in the
  // button's name after a run while its leave animation has not ended.
  await sim.getByRole('button', { name: /(模拟|Simulate)$/ }).click();
  const body = (await sent).postDataJSON() as Record<string, unknown>;
  expect((await answered).status()).toBe(200);
  await sim.getByTestId('sim-binding').waitFor();
  return body;
}

describe('the rule simulator under a proposed binding policy', () => {
  it('sends the binding fields and shows the orders that would change seller', async () => {
    const { page } = desk;
    await consoleLogin(page, t.base, tenant.id, OWNER.email, OWNER.password);
    await menu(page, '佣金规则').click();
    await page.getByRole('heading', { name: '佣金规则' }).waitFor();
    const sim = page.getByTestId('rule-simulator');
    const from = day(Date.now() - 2 * 86_400_000);
    const to = day(Date.now() + 2 * 86_400_000);
    await sim.getByLabel('从').fill(from);
    await sim.getByLabel('到（不含）').fill(to);
    await sim.getByText('绑定规则（留空为不变）').waitFor();
    await choose(page, 'sim-binding-mode', '覆盖（最新邀请生效）');
    await sim.getByLabel('无订单多少天后可换绑').fill('15');
    await sim.getByLabel('抢客保护期').fill('0');
    await sim.getByLabel('绑定有效期').fill('30');
    await choose(page, 'sim-binding-validity-from', '自最后一次下单');

    const body = await simulate(page);
    const binding = { mode: 'override', rebind_after_days: 15, protection_days: 0, validity_days: 30, validity_from: 'last_order' };
    expect(body).toEqual({ from, to, changes: { binding } });

    // The page shows what the API computes for the same request: override gives x's order to B.
    const expected = await api('POST', '/v1/rules/simulate', { from, to, changes: { binding } });
    expect(expected.binding).toMatchObject({ orders_moved: 1, moved_paid_fen: 10_000, moved_current_fen: 1000, moved_proposed_fen: 1000 });
    const shift = sim.getByTestId('sim-binding');
    await expect(shift.getByTestId('sim-orders-moved').getAttribute('data-value')).resolves.toBe('1');
    await expect(shift.getByTestId('sim-moved-paid').getAttribute('data-value')).resolves.toBe(String(expected.binding.moved_paid_fen));
    await expect(shift.getByTestId('sim-moved-commission').getAttribute('data-proposed')).resolves.toBe(String(expected.binding.moved_proposed_fen));
    await expect(shift.getByTestId('sim-without-seller').getAttribute('data-proposed')).resolves.toBe(String(expected.binding.orders_without_seller_proposed));
    await expect(shift.getByTestId('sim-binding-policies').textContent()).resolves.toContain(
      '拟议绑定规则：覆盖（最新邀请生效） · 有效期 30 天（自最后一次下单）',
    );
    await shift.getByTestId('sim-binding-chart').locator('canvas').waitFor();
    // The sellers' commissions move from A to B.
    await expect(sim.getByTestId('sim-top').locator('tbody tr').count()).resolves.toBe(2);
    await screenshot(page, 'rule-simulator-binding');
    await expectNoCriticalA11yViolations(page, 'rule-simulator-binding');

    // A protection window of 7 days holds x for A: nothing moves.
    await sim.getByLabel('抢客保护期').fill('7');
    const protectedBody = await simulate(page);
    expect((protectedBody.changes as { binding: Record<string, unknown> }).binding).toMatchObject({ mode: 'override', protection_days: 7 });
    await expect(sim.getByTestId('sim-orders-moved').getAttribute('data-value')).resolves.toBe('0');
    // Nothing was written: the program's policy is as it was.
    expect((await api('GET', '/v1/program')).binding).toMatchObject({ mode: 'permanent', protection_days: 0, validity_days: 0 });
    expect(desk.pageErrors).toEqual([]);
  });

  it('in English, and the binding fields left blank send no binding', async () => {
    const { page } = desk;
    await page.getByTestId('lang-switch').click();
    const sim = page.getByTestId('rule-simulator');
    await sim.getByText('Binding policy (blank: unchanged)').waitFor();
    await sim.getByTestId('sim-binding').getByText('Binding changes').waitFor();
    await sim.getByText('Orders changing seller').waitFor();
    // Only the levels changed: no binding in the request, and no binding changes shown.
    await sim.getByTestId('sim-binding-mode').locator('.ant-select-clear').click({ force: true });
    for (const label of ['Days without an order before rebinding', 'Protection window', 'Validity window']) await sim.getByLabel(label).fill('');
    await sim.getByTestId('sim-binding-validity-from').locator('.ant-select-clear').click({ force: true });
    await sim.getByLabel('Levels').click();
    await page.locator('.ant-select-dropdown:visible').getByTitle('1', { exact: true }).click();
    const sent = page.waitForRequest((r: Request) => r.url().endsWith('/v1/rules/simulate'));
    const answered = page.waitForResponse((r) => r.url().endsWith('/v1/rules/simulate'));
    await sim.getByRole('button', { name: 'Simulate' }).click();
    expect(((await sent).postDataJSON() as { changes: Record<string, unknown> }).changes).toEqual({ levels: 1 });
    expect((await answered).status()).toBe(200);
    await sim.getByTestId('sim-delta').waitFor();
    await expect(sim.getByTestId('sim-binding').count()).resolves.toBe(0);
    await page.getByTestId('lang-switch').click();
    expect(desk.pageErrors).toEqual([]);
  });
});
