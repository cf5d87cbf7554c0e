/**
 * The releases page (issue 11): an operator schedules a grade change and cancels it, starts a
 * pilot on one distributor, reads its report against control once orders came in, and promotes
 * it; the version history then says in words what changed.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consoleLogin, expectNoCriticalA11yViolations, launch, screenshot, startLiveServer, type Browser, type LiveServer } from './harness.ts';

let t: LiveServer;
let desk: Browser;
let tenant: { id: string; key: string };
const OPERATOR = { email: 'operator@releases.test', password: 'operator-password-1' };

async function api(method: string, url: string, body?: unknown) {
  const res = await t.call(method, url, { token: tenant.key, body });
  expect(res.statusCode, `${method} ${url}: ${res.body}`).toBeLessThan(300);
  return res.data;
}

async function releasesPage(page: Page) {
  await page
    .getByRole('menuitem')
    .filter({ hasText: /^规则发布$/ })
    .click();
  await page.getByRole('heading', { name: '规则发布：定时生效、补录与灰度' }).waitFor();
}

async function pickGrade(page: Page, form: string, name: string) {
  await page.locator(`#${form}_code`).click();
  await page.locator('.ant-select-dropdown:visible').getByTitle(name).click();
}

beforeAll(async () => {
  t = await startLiveServer();
  tenant = await t.tenant('规则发布测试商城');
  await api('POST', '/v1/admin-users', { ...OPERATOR, role: 'operator', name: '运营小王' });
  desk = await launch();
});

afterAll(async () => {
  await desk?.close();
  await t?.close();
});

describe('releases page', () => {
  it('schedules a change and cancels it, pilots a rate on one distributor, reads the report, promotes it', async () => {
    await api('PUT', '/v1/grades/default', { name: '普通', rank: 0, sales_bp: 0, override_bp: [1000, 500] });
    const a = await api('POST', '/v1/distributors', { external_id: 'A', name: '甲' });
    const b = await api('POST', '/v1/distributors', { external_id: 'B', name: '乙', referrer_code: a.invite_code });
    await api('POST', '/v1/bindings', { customer_external_id: 'buyer-a', invite_code: a.invite_code });
    await api('POST', '/v1/bindings', { customer_external_id: 'buyer-b', invite_code: b.invite_code });

    const { page } = desk;
    await consoleLogin(page, t.base, tenant.id, OPERATOR.email, OPERATOR.password);
    await releasesPage(page);
    await page.getByTestId('current-levels').getByText('分佣层级：2').waitFor();

    // Schedule: level 1 at 20 % from 2030.
    const schedule = page.getByTestId('schedule-form');
    await pickGrade(page, 'schedule', '普通');
    await schedule.getByLabel('销售佣金').fill('1');
    await schedule.getByLabel('1 级佣金').fill('20');
    await schedule.getByLabel('生效时间').fill('2030-01-01T10:00');
    await schedule.getByRole('button', { name: '提交变更' }).click();
    await page.getByText('已记录', { exact: false }).first().waitFor();
    const scheduled = page.getByTestId('scheduled-changes');
    await scheduled.getByText('20.00%', { exact: false }).waitFor();
    expect((await api('GET', '/v1/rule-changes?scheduled=true')).items).toHaveLength(1);
    expect((await api('GET', '/v1/grades/default')).override_bp).toEqual([1000, 500]);
    await screenshot(page, 'releases-scheduled');

    // Cancel it, with confirmation.
    await scheduled.getByRole('button', { name: '取消' }).click();
    await page.locator('.ant-popover:visible').getByRole('button', { name: '取消' }).last().click();
    await page.getByText('已取消').first().waitFor();
    await scheduled.getByText('没有待生效的变更').waitFor();
    expect((await api('GET', '/v1/rule-changes?scheduled=true')).items).toEqual([]);

    // A pilot: B earns 3 % on its own sales.
    const pilotForm = page.getByTestId('pilot-form');
    await pilotForm.getByLabel('名称').fill('乙试行3%');
    await pilotForm.getByLabel('分销员 ID（逗号分隔）').fill(b.id);
    await pickGrade(page, 'pilot', '普通');
    await pilotForm.getByLabel('销售佣金').fill('3');
    await pilotForm.getByLabel('1 级佣金').fill('10');
    await pilotForm.getByLabel('2 级佣金').fill('5');
    await pilotForm.getByRole('button', { name: '开始灰度' }).click();
    await page.getByText('灰度已开始').first().waitFor();
    const pilot = (await api('GET', '/v1/pilots')).items[0];
    expect(pilot).toMatchObject({ name: '乙试行3%', status: 'running', cohort: { distributor_ids: [b.id] } });

    // Orders: B's is piloted, A's is control.
    const order = (id: string, buyer: string, fen: number) =>
      api('POST', '/v1/orders', { external_id: id, buyer_external_id: buyer, items: [{ sku: 'tea', quantity: 1, unit_price_fen: fen, paid_fen: fen }] });
    const piloted = await order('o-b', 'buyer-b', 10000);
    expect(piloted.commissions.map((l: { pilot_id?: string }) => l.pilot_id)).toEqual([pilot.id, pilot.id]);
    await order('o-a', 'buyer-a', 20000);

    await page.reload();
    await page.getByRole('heading', { name: '规则发布：定时生效、补录与灰度' }).waitFor();
    const report = page.getByTestId(`pilot-report-${pilot.id as string}`);
    const pilotRow = report.getByRole('row').filter({ hasText: '灰度组' });
    await pilotRow.getByText('¥100.00').first().waitFor();
    // B 3 % = ¥3.00, A 10 % = ¥10.00: ¥13.00 of commission on ¥100.00.
    await pilotRow.getByText('¥13.00').waitFor();
    await pilotRow.getByText('13.00%').waitFor();
    const controlRow = report.getByRole('row').filter({ hasText: '对照组' });
    await controlRow.getByText('¥200.00').first().waitFor();
    await report.getByRole('img').waitFor();
    await screenshot(page, 'releases-pilot-report');
    await expectNoCriticalA11yViolations(page, 'releases-pilot-report');

    // Promote, with confirmation.
    await report.getByRole('button', { name: '全量推广' }).click();
    await page.locator('.ant-popover:visible').getByRole('button', { name: '全量推广' }).click();
    await page.getByText('已推广为新版本').first().waitFor();
    expect((await api('GET', `/v1/pilots/${pilot.id as string}`)).status).toBe('promoted');
    expect((await api('GET', '/v1/grades/default')).sales_bp).toBe(300);
    await page.getByTestId('version-history').getByText('等级 default 销售佣金 0.00% → 3.00%').first().waitFor();
    await page.getByTestId('current-grades').getByText('3.00%').waitFor();
    await screenshot(page, 'releases-promoted');
    expect(desk.pageErrors).toEqual([]);
  });

  it('pilots a fixed amount per unit: the cohort gets the fixed line, the rest the percentage; promoted, the history says so', async () => {
    // The tenant of the first test: A and B, the grade at 3 % / 10 % / 5 % since its promotion.
    const { page } = desk;
    const a = (await api('GET', '/v1/distributors?q=A')).items.find((d: { external_id: string }) => d.external_id === 'A');
    await page.reload();
    await page.getByRole('heading', { name: '规则发布：定时生效、补录与灰度' }).waitFor();
    const pilotForm = page.getByTestId('pilot-form');
    await pilotForm.getByLabel('名称').fill('甲每件2元');
    await pilotForm.getByLabel('分销员 ID（逗号分隔）').fill(a.id);
    await pickGrade(page, 'pilot', '普通');
    await pilotForm.getByLabel('销售佣金').fill('3');
    await pilotForm.getByLabel('1 级佣金').fill('10');
    await pilotForm.getByLabel('2 级佣金').fill('5');
    await pilotForm.getByText('填写后替换该等级的固定金额', { exact: false }).waitFor();
    await pilotForm.getByLabel('销售固定佣金').fill('2');
    await pilotForm.getByRole('button', { name: '开始灰度' }).click();
    await page.getByText('灰度已开始').first().waitFor();
    const pilot = (await api('GET', '/v1/pilots')).items[0];
    expect(pilot).toMatchObject({
      name: '甲每件2元',
      status: 'running',
      grades: { default: { sales_bp: 300, override_bp: [1000, 500, 0], sales_fixed_fen: 200, override_fixed_fen: [], fixed_per: 'unit' } },
    });

    // A sells 3 units: ¥2.00 × 3 for A, in the pilot; B's sale (control) pays B 3 %.
    const order = (id: string, buyer: string) =>
      api('POST', '/v1/orders', { external_id: id, buyer_external_id: buyer, items: [{ sku: 'tea', quantity: 3, unit_price_fen: 10000, paid_fen: 30000 }] });
    const inPilot = await order('f-a', 'buyer-a');
    expect(inPilot.commissions).toMatchObject([{ amount_fen: 600, rate_kind: 'fixed', fixed_fen: 200, units: 3, pilot_id: pilot.id }]);
    const control = await order('f-b', 'buyer-b');
    expect(control.commissions.map((l: { amount_fen: number; rate_kind: string }) => [l.amount_fen, l.rate_kind])).toEqual([
      [900, 'percent'],
      [3000, 'percent'],
    ]);

    await page.reload();
    const report = page.getByTestId(`pilot-report-${pilot.id as string}`);
    await report.getByRole('row').filter({ hasText: '灰度组' }).getByText('¥6.00').first().waitFor();
    await report.getByRole('button', { name: '全量推广' }).click();
    await page.locator('.ant-popover:visible').getByRole('button', { name: '全量推广' }).click();
    await page.getByText('已推广为新版本').first().waitFor();
    expect((await api('GET', '/v1/grades/default')).sales_fixed_fen).toBe(200);
    await page.getByTestId('version-history').getByText('等级 default 固定金额 — → L0 ¥2.00 (按件)').first().waitFor();
    await screenshot(page, 'releases-pilot-fixed');
    expect(desk.pageErrors).toEqual([]);
  });
});
