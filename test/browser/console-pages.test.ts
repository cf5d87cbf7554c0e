/**
 * The console pages for what the API already did (issue 16, item 15), driven in Chromium: the
 * risk rules saved from their page; risk review (release, dismiss, confirm fraud, then lift the
 * distributor's hold); a customer's binding looked up, moved with a reason and its history; the
 * compliance report; the audit chain verified, then checked against a head it no longer has; and
 * the platform operator's tenants (create, suspend, reactivate) with the root token.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT_TOKEN } from '../support/server.ts';
import { consoleLogin, dismissDialog, expectNoCriticalA11yViolations, launch, screenshot, startLiveServer, type Browser, type LiveServer } from './harness.ts';

let t: LiveServer;
let desk: Browser;
let tenant: { id: string; key: string };
const OWNER = { email: 'owner@console-pages.test', password: 'owner-password-12' };
let a: { id: string; invite_code: string };
let b: { id: string; invite_code: string };
let c: { id: string; invite_code: string };

async function api(method: string, url: string, body?: unknown, token = tenant.key) {
  const res = await t.call(method, url, { token, body });
  expect(res.statusCode, `${method} ${url}: ${res.body}`).toBeLessThan(300);
  return res.data;
}

async function open(page: Page, menu: string, heading: string) {
  await page
    .getByRole('menuitem')
    .filter({ hasText: new RegExp(`^${menu}$`) })
    .click();
  await page.getByRole('heading', { name: heading, exact: true }).waitFor();
}

const order = (id: string, buyer: string, extra: Record<string, unknown> = {}) =>
  api('POST', '/v1/orders', {
    external_id: id,
    buyer_external_id: buyer,
    items: [{ sku: 'tea', quantity: 1, unit_price_fen: 10000, paid_fen: 10000 }],
    ...extra,
  });

beforeAll(async () => {
  t = await startLiveServer();
  tenant = await t.tenant('控制台页面测试商城');
  await api('POST', '/v1/admin-users', { ...OWNER, role: 'owner', name: '店主' });
  await api('PUT', '/v1/program', { levels: 1, freeze_days: 0, review_threshold_fen: 100_000_000 });
  await api('PUT', '/v1/grades/default', { name: '普通会员', rank: 0, sales_bp: 500, override_bp: [1000] });
  a = await api('POST', '/v1/distributors', { external_id: 'A', name: '上级阿明' });
  b = await api('POST', '/v1/distributors', { external_id: 'B', name: '分销员小白', referrer_code: a.invite_code });
  c = await api('POST', '/v1/distributors', { external_id: 'C', name: '分销员小陈', referrer_code: a.invite_code });
  for (const x of ['c1', 'c2', 'c3']) await api('POST', '/v1/bindings', { customer_external_id: x, invite_code: b.invite_code });
  for (const x of ['c4', 'c5']) await api('POST', '/v1/bindings', { customer_external_id: x, invite_code: c.invite_code });
  desk = await launch();
  await consoleLogin(desk.page, t.base, tenant.id, OWNER.email, OWNER.password);
});

afterAll(async () => {
  await desk?.close();
  await t?.close();
});

describe('risk rules and risk review', () => {
  it('saves the risk rules from their page', async () => {
    const { page } = desk;
    await open(page, '风控规则', '风控规则');
    const ip = page.locator('.ant-card').filter({ hasText: '同一买家 IP 的订单数' });
    await ip.getByLabel('上限（0 表示关闭）').fill('1');
    await ip.getByRole('radio', { name: '冻结' }).check();
    const refund = page.locator('.ant-card').filter({ hasText: '退款率' });
    await refund.getByLabel('退款率阈值（%，0 表示关闭）').fill('50');
    await refund.getByLabel('最少订单数').fill('2');
    await refund.getByRole('radio', { name: '冻结' }).check();
    await page.getByRole('button', { name: '保存' }).click();
    await page.getByText('已保存').first().waitFor();
    const program = await api('GET', '/v1/program');
    expect(program.risk.order_ip).toMatchObject({ limit: 1, effect: 'hold' });
    expect(program.risk.refund_rate).toMatchObject({ threshold_bp: 5000, min_orders: 2, effect: 'hold' });
    // Nothing else of the program moved.
    expect(program).toMatchObject({ levels: 1, freeze_days: 0 });
    await screenshot(page, 'console-risk-rules');
    expect(desk.pageErrors).toEqual([]);
  });

  it('releases one held event and dismisses another, each with a note', async () => {
    const { page } = desk;
    // Two orders from one IP over a limit of one: each over the limit is an event holding its lines.
    await order('ip-1', 'c1', { client_ip: '203.0.113.7' });
    await order('ip-2', 'c2', { client_ip: '203.0.113.7' });
    await order('ip-3', 'c3', { client_ip: '203.0.113.7' });
    const events = (await api('GET', '/v1/risk-events?kind=order_ip_limit')).items as { id: string }[];
    expect(events.length).toBeGreaterThanOrEqual(2);
    const [newest, older] = events as [{ id: string }, { id: string }];

    await open(page, '风控事件', '风控事件');
    const table = page.getByTestId('risk-table');
    await table.getByText('同一 IP 下单过多').first().waitFor();
    await screenshot(page, 'console-risk-events');
    await table.getByRole('row').filter({ hasText: '待处理' }).first().getByRole('button', { name: '审核' }).click();
    const drawer = page.getByTestId('risk-review');
    await drawer.getByTestId('risk-lines').getByText('分销员小白').first().waitFor();
    // Without a note nothing is decided.
    await drawer.getByRole('button', { name: '放行' }).click();
    await page.getByText('请填写审核说明').waitFor();
    await drawer.getByLabel('审核说明').fill('同一办公室网络，核实无误');
    await drawer.getByRole('button', { name: '放行' }).click();
    await page.getByText('已放行，', { exact: false }).first().waitFor();
    await drawer.getByTestId('risk-review-status').getByText('已放行').waitFor();
    const released = await api('GET', `/v1/risk-events/${newest.id}`);
    expect(released).toMatchObject({ status: 'released', review_note: '同一办公室网络，核实无误' });
    expect(released.lines.every((l: { held: boolean }) => !l.held)).toBe(true);
    await dismissDialog(page);

    await table.getByRole('row').filter({ hasText: '待处理' }).first().getByRole('button', { name: '审核' }).click();
    await drawer.getByLabel('审核说明').fill('误报');
    await drawer.getByRole('button', { name: '驳回标记' }).click();
    await drawer.getByTestId('risk-review-status').getByText('已忽略').waitFor();
    expect((await api('GET', `/v1/risk-events/${older.id}`)).status).toBe('dismissed');
    await dismissDialog(page);
    expect(desk.pageErrors).toEqual([]);
  });

  it('confirms fraud on a distributor, then lifts its hold', async () => {
    const { page } = desk;
    await order('r-1', 'c4');
    await order('r-2', 'c5');
    await api('POST', '/v1/orders/r-1/events', { type: 'refunded', refund_fen: 10000 });
    const [ev] = (await api('GET', '/v1/risk-events?kind=refund_rate')).items as { id: string }[];
    expect(ev).toBeDefined();

    await page.getByRole('combobox', { name: '状态' }).click();
    await page.locator('.ant-select-item-option').filter({ hasText: '待处理' }).click();
    const row = page.getByTestId('risk-table').getByRole('row').filter({ hasText: '退款率过高' });
    await row.getByText('分销员小陈').waitFor();
    await row.getByRole('button', { name: '审核' }).click();
    const drawer = page.getByTestId('risk-review');
    await drawer.getByLabel('审核说明').fill('退货是刷单');
    await drawer.getByRole('button', { name: '确认作弊' }).click();
    await drawer.getByTestId('risk-review-status').getByText('已确认').waitFor();
    await screenshot(page, 'console-risk-confirmed');
    const lines = (await api('GET', '/v1/orders/r-2')).commissions as { beneficiary_id: string; status: string }[];
    expect(lines.find((l) => l.beneficiary_id === c.id)?.status).toBe('reversed');

    await drawer.getByRole('button', { name: '解除分销员风控冻结' }).click();
    const dialog = page.locator('.ant-modal-wrap:visible');
    await dialog.getByLabel('审核说明').fill('已与商家核实处理完毕');
    await dialog.getByRole('button', { name: '确定' }).click();
    await page.getByText('已解除冻结', { exact: false }).first().waitFor();
    const audit = (await api('GET', `/v1/audit-log?action=distributor.risk_hold_lift&target_id=${c.id}`)).items;
    expect(audit).toHaveLength(1);
    expect(audit[0].reason).toBe('已与商家核实处理完毕');
    await dismissDialog(page);
    expect(desk.pageErrors).toEqual([]);
  });
});

describe('customer bindings', () => {
  it('looks a customer up, moves it with a reason, and shows the history', async () => {
    const { page } = desk;
    await open(page, '客户绑定', '客户绑定');
    await page.getByLabel('客户编号（商城用户 ID）').fill('nobody');
    await page.getByRole('button', { name: '查询' }).click();
    await page.getByTestId('customer-error').getByText('没有这个客户').waitFor();

    await page.getByLabel('客户编号（商城用户 ID）').fill('c1');
    await page.getByRole('button', { name: '查询' }).click();
    const card = page.getByTestId('customer-binding');
    await card.getByTestId('customer-bound-to').getByText('分销员小白').waitFor();
    await card.getByText('邀请码').first().waitFor();

    await card.getByRole('button', { name: '改绑' }).click();
    const dialog = page.locator('.ant-modal-wrap:visible');
    await dialog.getByRole('combobox', { name: '新的分销员（按姓名或邀请码搜索；留空则解除绑定）' }).fill('阿明');
    await page.locator('.ant-select-item-option').filter({ hasText: '上级阿明' }).click();
    await dialog.getByLabel('原因').fill('客户本人要求改由阿明服务');
    await dialog.getByRole('button', { name: '确定' }).click();
    await page.getByText('已改绑').first().waitFor();
    await card.getByTestId('customer-bound-to').getByText('上级阿明').waitFor();
    const history = card.getByTestId('customer-history');
    const moved = history.getByRole('row').filter({ hasText: '人工改绑' });
    await moved.getByText('客户本人要求改由阿明服务').waitFor();
    await moved.getByText('管理员').first().waitFor();
    await screenshot(page, 'console-customer-moved');
    await expectNoCriticalA11yViolations(page, 'console-customer-moved');

    const customer = await api('GET', '/v1/customers/c1');
    expect(customer.distributor_id).toBe(a.id);
    expect(customer.history.at(-1) ?? customer.history[0]).toBeDefined();
    expect(customer.history.some((e: { kind: string; reason: string | null }) => e.kind === 'move' && e.reason === '客户本人要求改由阿明服务')).toBe(true);
    expect(desk.pageErrors).toEqual([]);
  });
});

describe('compliance report and audit chain', () => {
  it('states each rule of the program', async () => {
    const { page } = desk;
    await open(page, '合规报告', '合规报告');
    await page.getByTestId('compliance-overall').getByText('全部合规').waitFor();
    const rules = page.getByTestId('compliance-rules');
    await rules.getByRole('row').filter({ hasText: '分润层级不超过三级' }).getByText('合规').waitFor();
    await rules.getByText('不得按发展人员计酬（拉人头）').waitFor();
    await screenshot(page, 'console-compliance');
    expect(desk.pageErrors).toEqual([]);
  });

  it('verifies the audit chain, and with a head it no longer holds reports the rewrite', async () => {
    const { page } = desk;
    await open(page, '审计日志', '审计日志');
    const card = page.getByTestId('audit-verify');
    await card.getByRole('button', { name: '校验' }).click();
    await card.getByTestId('audit-verify-result').getByText('完好：', { exact: false }).waitFor();
    const head = (await card.getByTestId('audit-verify-head').first().innerText()).trim();
    expect(head).toMatch(/^\d+:[0-9a-f]{64}$/);
    const seq = head.split(':')[0]!;
    // The kept head verifies.
    await card.getByLabel('之前保存的链头（每行一个，格式 序号:哈希）').fill(head);
    await card.getByRole('button', { name: '校验' }).click();
    await card.getByTestId('audit-verify-result').getByText('完好：', { exact: false }).waitFor();
    // A head whose hash is not the chain's any more: the chain was rewritten.
    await card.getByLabel('之前保存的链头（每行一个，格式 序号:哈希）').fill(`${seq}:${'0'.repeat(64)}`);
    await card.getByRole('button', { name: '校验' }).click();
    await card.getByTestId('audit-verify-result').getByText('发现 1 处问题', { exact: false }).waitFor();
    await card.getByTestId('audit-verify-breaks').getByText('rewritten', { exact: false }).waitFor();
    // Bad input is refused before it is sent.
    await card.getByLabel('之前保存的链头（每行一个，格式 序号:哈希）').fill('not-a-head');
    await card.getByRole('button', { name: '校验' }).click();
    await card.getByText('链头格式应为', { exact: false }).waitFor();
    await screenshot(page, 'console-audit-verify');
    expect(desk.pageErrors).toEqual([]);
  });
});

describe('platform tenants', () => {
  it('the root operator creates, suspends and reactivates a tenant', async () => {
    const { page } = desk;
    await page.goto(`${t.base}/admin/platform`);
    await page.getByRole('heading', { name: '平台商户管理' }).waitFor();
    await page.getByLabel('平台根令牌').fill('wrong-token-000000000');
    await page.getByRole('button', { name: '进入' }).click();
    // A wrong token is refused and forgotten.
    await page.getByLabel('平台根令牌').waitFor();
    await page.getByLabel('平台根令牌').fill(ROOT_TOKEN);
    await page.getByRole('button', { name: '进入' }).click();
    const table = page.getByTestId('platform-tenants');
    await table.getByText('控制台页面测试商城').waitFor();

    await page.getByLabel('商户名称').fill('新开的茶叶店');
    await page.getByRole('button', { name: '新建' }).click();
    const created = page.getByTestId('platform-created');
    const key = (await created.getByTestId('platform-api-key').innerText()).trim();
    expect(key).toMatch(/^fxk_/);
    const row = table.getByRole('row').filter({ hasText: '新开的茶叶店' });
    await row.getByText('正常').waitFor();
    const newTenant = (await api('GET', '/v1/tenant', undefined, key)) as { id: string; name: string };
    expect(newTenant.name).toBe('新开的茶叶店');

    await row.getByRole('button', { name: '暂停' }).click();
    const dialog = page.locator('.ant-modal-wrap:visible');
    await dialog.getByLabel('原因').fill('合同到期未续');
    await dialog.getByRole('button', { name: '暂停' }).click();
    await row.getByText('已暂停').first().waitFor();
    expect((await t.call('GET', '/v1/tenant', { token: key })).statusCode).toBe(401);
    await screenshot(page, 'console-platform');

    await row.getByRole('button', { name: '恢复' }).click();
    await page.locator('.ant-popover:visible').getByRole('button', { name: '确定' }).click();
    await row.getByText('正常').waitFor();
    const listed = (await api('GET', '/v1/tenants', undefined, ROOT_TOKEN)).items as { id: string; status: string }[];
    expect(listed.find((x) => x.id === newTenant.id)?.status).toBe('active');
    expect(desk.pageErrors).toEqual([]);
  });
});
