import fs from 'node:fs';
import { createHmac } from 'node:crypto';
import { SignJWT } from 'jose';
import type { Page, Request } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consoleLogin, dismissDialog, expectNoCriticalA11yViolations, launch, screenshot, startLiveServer, type Browser, type LiveServer } from './harness.ts';

/**
 * The money pages end to end: an owner sets up the program, grades with tiers and a SKU rule,
 * approves an application; the merchant's system sends an order; the distributor sees the
 * commission on a phone and opens its explanation; the owner runs settlement, approves one
 * statement and rejects another into hold, releases a held line; the distributor asks for
 * withdrawals (a bank card added on the phone, and by hand); the owner approves them, downloads
 * the bank batch file, fails the bank payout and completes the manual one; the ledger verifies;
 * a refund after settlement leaves the distributor's withdrawable balance negative, shown as such.
 */

const HOSTILE = '<img src=x onerror=alert(1)>';
const OWNER = { email: 'owner@example.com', password: 'owner-password-1' };
const FINANCE = { email: 'finance@example.com', password: 'finance-password-1' };
const OPERATOR = { email: 'operator@example.com', password: 'operator-password-1' };

let t: LiveServer;
let desk: Browser;
let phone: Browser;
let tenant: { id: string; key: string };
let secret: string;
let upline: { id: string; invite_code: string };
let wang: { id: string; invite_code: string };
const ORDER = 'SO-20260301-0001';
const TRACKING = 'YT9876543210';

async function api(method: string, url: string, body?: unknown) {
  const res = await t.call(method, url, { token: tenant.key, body });
  expect(res.statusCode, `${method} ${url}: ${res.body}`).toBeLessThan(300);
  return res.data;
}

async function mint(sub: string) {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setIssuedAt(now)
    .setExpirationTime(now + 300)
    .setJti(`money-${sub}-${Math.random().toString(36).slice(2)}`)
    .sign(new TextEncoder().encode(secret));
}

/** A value for <input type="datetime-local"> in this machine's zone (the browser's too). */
function localInput(d: Date) {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

/** Fen as the pages show yuan: 103000 → "¥1,030.00". */
function formatYuanLike(fen: number) {
  const sign = fen < 0 ? '-' : '';
  const abs = Math.abs(fen);
  return `${sign}¥${String(Math.floor(abs / 100)).replace(/\B(?=(\d{3})+(?!\d))/g, ',')}.${String(abs % 100).padStart(2, '0')}`;
}

function menu(page: Page, label: string) {
  return page.getByRole('menuitem').filter({ hasText: new RegExp(`^${label}$`) });
}

async function login(user: { email: string; password: string }) {
  await consoleLogin(desk.page, t.base, tenant.id, user.email, user.password);
}

/** Confirms the open Popconfirm. */
async function confirmPop(page: Page) {
  await page.locator('.ant-popover:visible').getByRole('button', { name: '确定' }).click();
}

async function pickDistributor(page: Page, label: string, search: string, option: string) {
  const box = page.getByRole('combobox', { name: label });
  await box.click();
  await box.fill(search);
  await page.locator('.ant-select-item-option').filter({ hasText: option }).first().click();
}

async function expectNoInjection(page: Page, b: Browser) {
  expect(await page.locator('img[src="x"]').count()).toBe(0);
  expect(b.dialogs).toEqual([]);
}

beforeAll(async () => {
  t = await startLiveServer();
  tenant = await t.tenant('资金测试商城');
  secret = (await t.call('POST', '/v1/portal/signing-secret', { token: tenant.key })).data.secret;
  for (const [u, role, name] of [
    [OWNER, 'owner', '老板'],
    [FINANCE, 'finance', '财务小张'],
    [OPERATOR, 'operator', '运营小王'],
  ] as const) {
    expect((await t.call('POST', '/v1/admin-users', { token: tenant.key, body: { ...u, role, name } })).statusCode).toBe(201);
  }
  // The upline exists before the program asks for review: a hostile name, active.
  upline = await api('POST', '/v1/distributors', { external_id: 'upline', name: HOSTILE });
  desk = await launch();
  phone = await launch({ mobile: true });
});

afterAll(async () => {
  await desk?.close();
  await phone?.close();
  await t?.close();
});

describe('money pages: console and portal', () => {
  it('an owner sets up the program: review, freeze days, review threshold, withdrawal fee', async () => {
    const { page } = desk;
    await login(OWNER);
    const entries = await page.getByRole('menuitem').allTextContents();
    expect(entries).toEqual([
      '经营概览',
      '分销员',
      '申请审核',
      '订单与佣金',
      '区域代理',
      '结算',
      '提现',
      '方案设置',
      '等级',
      '佣金规则',
      '规则发布',
      '对账',
      '账本核对',
      '客户绑定',
      '风控事件',
      '风控规则',
      '合规报告',
      '审计日志',
      '管理员与角色',
      'API 密钥',
      'Webhook 推送',
      '分销员门户',
    ]);
    await menu(page, '方案设置').click();
    await page.getByRole('heading', { name: '分销方案' }).waitFor();
    await page.getByRole('radio', { name: '审核', exact: true }).check();
    await page.getByLabel('冻结天数（退货期）').fill('1');
    await page.getByLabel('结算人工审核阈值').fill('50');
    await page.getByLabel('提现手续费率').fill('1');
    await page.getByLabel('每笔固定手续费').fill('1');
    await page.getByRole('button', { name: '保存' }).click();
    await page.getByText('已保存').waitFor();
    const program = await api('GET', '/v1/program');
    expect(program).toMatchObject({
      admission: 'review',
      freeze_days: 1,
      review_threshold_fen: 5000,
      withdrawal: { fee_bp: 100, fixed_fee_fen: 100, min_fen: 100 },
    });
    await screenshot(page, 'money-program');
  });

  it('gives the default grade rates, a tier and an upgrade rule', async () => {
    const { page } = desk;
    await menu(page, '等级').click();
    await page.getByTestId('grades-table').getByRole('row').filter({ hasText: 'default' }).getByRole('button', { name: '编辑' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('销售佣金率', { exact: true }).fill('10');
    await dialog.getByLabel('1 级佣金率', { exact: true }).fill('5');
    await dialog.getByTestId('tier-add').click();
    await dialog.getByLabel('第 1 档 本月销售额达到').fill('10000');
    await dialog.getByLabel('第 1 档 销售佣金率').fill('12');
    await screenshot(page, 'money-grade-form');
    await dialog.getByRole('button', { name: '保存' }).click();
    await page.getByTestId('grades-table').getByText('≥ ¥10,000.00 · L0 12.00%').waitFor();

    // A second grade that distributors reach by their own sales.
    await page.getByTestId('grade-create').click();
    await dialog.getByLabel('代码').fill('gold');
    await dialog.getByLabel('名称').fill('金牌');
    await dialog.getByLabel('销售佣金率', { exact: true }).fill('15');
    await dialog.getByLabel('启用自动升级').click();
    await dialog.getByLabel('升级门槛').fill('50000');
    await dialog.getByRole('button', { name: '保存' }).click();
    await page.getByTestId('grades-table').getByText('累计销售额（已支付，扣除退款） 达到 ¥50,000.00').waitFor();
    expect(await api('GET', '/v1/grades/default')).toMatchObject({
      sales_bp: 1000,
      override_bp: [500, 0, 0],
      tiers: [{ min_monthly_sales_fen: 1000000, sales_bp: 1200 }],
    });
    expect(await api('GET', '/v1/grades/gold')).toMatchObject({ sales_bp: 1500, upgrade: { metric: 'sales_fen', min_fen: 5000000 } });
    await screenshot(page, 'money-grades');
    await expectNoCriticalA11yViolations(page, 'money-grades');
  });

  it('sets a SKU override (fixed per unit) and shows rule versions with their snapshots', async () => {
    const { page } = desk;
    await menu(page, '佣金规则').click();
    await page.getByRole('heading', { name: '佣金规则' }).waitFor();
    await page.getByTestId('sku-create').click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('SKU').fill('SKU-FIXED');
    await dialog.getByRole('combobox', { name: '销售者本人 计算方式' }).click();
    await page.locator('.ant-select-item-option').filter({ hasText: '每件固定金额' }).click();
    await dialog.getByLabel('销售者本人 每件固定金额').fill('3');
    await dialog.getByRole('button', { name: '保存' }).click();
    await page.getByText(/已保存，生成规则第 \d+ 版/).waitFor();
    await page.getByTestId('sku-table').getByRole('cell', { name: '¥3.00 元/件' }).waitFor();
    expect((await api('GET', '/v1/sku-rules')).items).toEqual([expect.objectContaining({ sku: 'SKU-FIXED', rates: { 0: { kind: 'fixed', fen: 300 } } })]);

    const versions = (await api('GET', '/v1/rule-versions')).items as { version: number }[];
    const latest = versions[0]!.version;
    await page.getByTestId(`version-${latest}`).click();
    const snapshot = page.getByTestId('snapshot-view');
    await snapshot.getByRole('cell', { name: 'SKU-FIXED' }).waitFor();
    await snapshot.getByText('≥ ¥10,000.00 · L0 12.00%').waitFor();
    await screenshot(page, 'money-rule-snapshot');
    await expectNoCriticalA11yViolations(page, 'money-rule-snapshot');
    await dismissDialog(page);
    await screenshot(page, 'money-rules');
  });

  it('approves an application', async () => {
    const { page } = desk;
    wang = await api('POST', '/v1/applications', {
      external_id: 'wang',
      name: '王小明',
      phone: '13912345678',
      referrer_code: upline.invite_code,
      consent: true,
    });
    expect(wang).toMatchObject({ status: 'pending' });
    await menu(page, '申请审核').click();
    await page.getByTestId('distributors-table').getByRole('row').filter({ hasText: '王小明' }).getByRole('link', { name: '查看资料' }).click();
    await page.getByTestId('approve').click();
    await page.getByText('已通过').first().waitFor();
    expect((await api('GET', `/v1/distributors/${wang.id}`)).status).toBe('active');
  });

  it('the distributor sees the commission of a new order on the phone and opens its explanation', async () => {
    // The merchant's shop sends the order: 2 × 500 yuan, and 3 units of the fixed-rate SKU.
    await api('POST', '/v1/bindings', { customer_external_id: 'buyer-1', invite_code: wang.invite_code });
    const order = await api('POST', '/v1/orders', {
      external_id: ORDER,
      buyer_external_id: 'buyer-1',
      shipping_fen: 1200,
      items: [
        { sku: 'SKU-1', quantity: 2, unit_price_fen: 50000, paid_fen: 100000 },
        { sku: 'SKU-FIXED', quantity: 3, unit_price_fen: 1000, paid_fen: 3000 },
      ],
    });
    const lines = order.commissions as { beneficiary_id: string; amount_fen: number }[];
    expect(
      lines
        .filter((l) => l.beneficiary_id === wang.id)
        .map((l) => l.amount_fen)
        .sort(),
    ).toEqual([10000, 900]);
    // The carrier's signed push (generic format) ships it: the line shows where the goods are.
    await api('PUT', `/v1/orders/${ORDER}/tracking`, { carrier: 'yuantong', tracking_number: TRACKING });
    const logisticsSecret = (await api('POST', '/v1/logistics/secret')).secret as string;
    const push = JSON.stringify({ event_id: 'money-ship', tracking_number: TRACKING, status: 'shipped' });
    const ts = Math.floor(Date.now() / 1000);
    const pushed = await t.call('POST', `/v1/logistics/${tenant.id}/generic`, {
      rawBody: push,
      headers: {
        'x-fenxiao-timestamp': String(ts),
        'x-fenxiao-signature': `v1=${createHmac('sha256', logisticsSecret).update(`${ts}.${push}`).digest('hex')}`,
      },
    });
    expect(pushed.data, pushed.body).toMatchObject({ outcome: 'applied', order_external_id: ORDER });

    const { page } = phone;
    await page.goto(`${t.base}/portal/?token=${encodeURIComponent(await mint('wang'))}&tenant=${tenant.id}`);
    await page.getByTestId('me-name').filter({ hasText: '王小明' }).waitFor();
    await page
      .getByRole('tab', { name: '收益' })
      .or(page.getByText('收益', { exact: true }))
      .first()
      .click();
    await page.waitForURL(/\/portal\/earnings$/);
    await expect.poll(() => page.getByTestId('balance-pending').getAttribute('data-fen')).toBe('10900');
    await expect(page.getByTestId('balance-withdrawable').textContent()).resolves.toBe('¥0.00');
    const lineList = page.getByTestId('commission-lines');
    await lineList.getByText(`订单 ${ORDER} · 销售佣金`).first().waitFor();
    // Each line of the order says it shipped, with the carrier and the tracking number.
    await expect.poll(() => lineList.getByText(`已发货 · 圆通速递 ${TRACKING}`, { exact: true }).count()).toBe(2);
    await screenshot(page, 'portal-earnings');
    await expectNoCriticalA11yViolations(page, 'portal-earnings');

    await lineList.locator('.adm-list-item').filter({ hasText: '¥100.00' }).click();
    await page.waitForURL(/\/portal\/earnings\/commissions\//);
    const explanation = page.getByTestId('commission-explanation');
    await expect(explanation.getByTestId('explain-amount').textContent()).resolves.toBe('¥100.00');
    await expect(explanation.getByTestId('explain-why').textContent()).resolves.toBe(`订单 ${ORDER} 是你卖出的，这是你的销售佣金。`);
    await expect(explanation.getByTestId('explain-formula').textContent()).resolves.toBe('¥1,000.00 × 10.00% = ¥100.00（不足一分的部分舍去）');
    await explanation.getByText('商品实付 ¥1,000.00，减去退款 ¥0.00，计佣金额 ¥1,000.00（不含运费和税费）').waitFor();
    await explanation.getByText('你的等级比例', { exact: false }).waitFor();
    await expect.poll(() => explanation.getByTestId('explain-logistics').textContent()).toBe(`已发货 · 圆通速递 ${TRACKING}`);
    // The chain is data: the upline's hostile name is shown as text.
    await explanation.getByText(HOSTILE, { exact: true }).waitFor();
    await expectNoInjection(page, phone);
    await screenshot(page, 'portal-commission-explanation');
    await expectNoCriticalA11yViolations(page, 'portal-commission-explanation');
  });

  it("shows the order with items, chain, timeline and each line's explanation in the console", async () => {
    const { page } = desk;
    await menu(page, '订单与佣金').click();
    await page.getByRole('heading', { name: '订单与佣金' }).waitFor();
    await pickDistributor(page, '销售分销员', '王小明', '王小明');
    await page.getByTestId('orders-apply').click();
    const table = page.getByTestId('orders-table');
    await table.getByRole('link', { name: ORDER }).waitFor();
    await table.getByRole('cell', { name: '¥1,030.00' }).waitFor();
    await screenshot(page, 'money-orders');
    await expectNoCriticalA11yViolations(page, 'money-orders');

    await table.getByRole('link', { name: ORDER }).click();
    await page.getByTestId('order-title').filter({ hasText: ORDER }).waitFor();
    await page.getByTestId('order-items').getByRole('cell', { name: 'SKU-FIXED' }).waitFor();
    await page.getByTestId('order-chain').getByRole('link', { name: HOSTILE, exact: true }).waitFor();
    await page.getByTestId('order-timeline').getByText('已支付').waitFor();
    const commissions = page.getByTestId('order-commissions');
    await commissions.getByRole('cell', { name: '¥3.00 × 3' }).waitFor();
    await expectNoInjection(page, desk);
    await screenshot(page, 'money-order-detail');
    await expectNoCriticalA11yViolations(page, 'money-order-detail');

    // The upline's override on the 1,000 yuan line: 5% from its grade.
    await commissions.getByRole('row').filter({ hasText: '¥50.00' }).getByRole('button', { name: '计算说明' }).click();
    const drawer = page.getByTestId('commission-explanation');
    await expect(drawer.getByTestId('explain-summary').textContent()).resolves.toBe(`${HOSTILE} 从订单 ${ORDER} 获得 ¥50.00`);
    await expect(drawer.getByTestId('explain-formula').textContent()).resolves.toContain('¥1,000.00 × 5.00% = ¥50.00（向下取整到分）');
    await drawer.getByText('上级佣金：受益人是销售者的第 1 级上级。').waitFor();
    await drawer.getByText('来源：等级比例', { exact: false }).waitFor();
    await drawer.getByTestId('explain-postings').getByText('下单计提').waitFor();
    await expectNoInjection(page, desk);
    await screenshot(page, 'money-commission-explanation');
    await expectNoCriticalA11yViolations(page, 'money-commission-explanation');
    await dismissDialog(page);
  });

  it('runs settlement with an as-of time, approves one statement and rejects the other into hold', async () => {
    // Shipped already, by the carrier's push above.
    await api('POST', `/v1/orders/${ORDER}/events`, { type: 'received' });
    const { page } = desk;
    await menu(page, '结算').click();
    await page.getByRole('tab', { name: '运行结算' }).click();
    // Freeze days are 1: a cut-off two days ahead takes the order received now.
    await page.getByLabel('截止时间').fill(localInput(new Date(Date.now() + 2 * 86400_000)));
    await page.getByTestId('settlement-run').click();
    await confirmPop(page);
    // The run goes to the background; the page shows its progress until the statements come.
    await page.getByTestId('settlement-progress').getByText('正在结算').waitFor();
    const result = page.getByTestId('settlement-result');
    await expect.poll(() => result.getByTestId('settlement-total').getAttribute('data-fen')).toBe('16050');
    await result.getByText(HOSTILE, { exact: true }).waitFor();
    await screenshot(page, 'money-settlement-run');

    await page.getByRole('tab', { name: '结算单审核' }).click();
    const statements = page.getByTestId('statements-table');
    const wangRow = statements.getByRole('row').filter({ hasText: '王小明' });
    await wangRow.getByText('待审核').waitFor();
    const [wangStatement] = (await api('GET', `/v1/statements?distributor_id=${wang.id}`)).items as { id: string }[];
    await wangRow.getByRole('button', { name: /展开|Expand/ }).click();
    await page.getByTestId(`statement-lines-${wangStatement!.id}`).getByRole('cell', { name: '¥100.00' }).waitFor();
    await screenshot(page, 'money-statements');
    await expectNoCriticalA11yViolations(page, 'money-statements');
    await page.getByTestId(`approve-${wangStatement!.id}`).click();
    await confirmPop(page);
    await page.getByText('已通过，¥109.00 已转入可提现').waitFor();
    expect(await api('GET', `/v1/distributors/${wang.id}/balance`)).toMatchObject({ available_fen: 0, withdrawable_fen: 10900 });

    const [uplineStatement] = (await api('GET', `/v1/statements?distributor_id=${upline.id}`)).items as { id: string }[];
    await page.getByTestId(`reject-${uplineStatement!.id}`).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByRole('radio', { name: '暂扣（解除前不再结算）' }).check();
    await dialog.getByLabel('原因').fill('<b>核实</b>买家身份');
    await dialog.getByRole('button', { name: '确定' }).click();
    await page.locator('.ant-message').getByText('已驳回').last().waitFor();
    expect(await api('GET', `/v1/statements/${uplineStatement!.id}`)).toMatchObject({ status: 'rejected', review_reason: '<b>核实</b>买家身份' });

    await page.getByRole('tab', { name: '暂扣的佣金' }).click();
    const held = page.getByTestId('held-table');
    await held.getByRole('row').filter({ hasText: '¥50.00' }).waitFor();
    await held.getByRole('row').filter({ hasText: '¥1.50' }).waitFor();
    await held.getByText(HOSTILE, { exact: true }).first().waitFor();
    await screenshot(page, 'money-held-lines');
    await expectNoCriticalA11yViolations(page, 'money-held-lines');
    await held.getByRole('row').filter({ hasText: '¥50.00' }).getByRole('button', { name: '解除暂扣' }).click();
    await page.getByRole('dialog').getByLabel('原因').fill('买家已核实');
    await page.getByRole('dialog').getByRole('button', { name: '确定' }).click();
    await page.getByText('已解除暂扣，下次结算将包含').waitFor();
    await expect.poll(async () => held.getByRole('row').filter({ hasText: '¥' }).count()).toBe(1);
    const uplineLines = (await api('GET', `/v1/distributors/${upline.id}/commissions`)).items as { amount_fen: number; held: boolean }[];
    expect(uplineLines.map((l) => [l.amount_fen, l.held]).sort()).toEqual([
      [150, true],
      [5000, false],
    ]);
    await expectNoInjection(page, desk);
    expect(await page.locator('b').filter({ hasText: '核实' }).count()).toBe(0);
  });

  it('the distributor adds a bank card and asks for withdrawals, each with its own Idempotency-Key', async () => {
    const { page } = phone;
    const keys: string[] = [];
    const watch = (r: Request) => {
      if (r.method() === 'POST' && r.url().endsWith('/v1/withdrawals')) keys.push(r.headers()['idempotency-key'] ?? '');
    };
    page.on('request', watch);
    await page.goto(`${t.base}/portal/earnings`);
    await expect(page.getByTestId('balance-withdrawable').textContent()).resolves.toBe('¥109.00');
    await page.getByTestId('go-withdraw').click();
    await page.waitForURL(/\/portal\/withdraw$/);
    await expect(page.getByTestId('withdraw-rules').textContent()).resolves.toContain('最低提现 ¥1.00，手续费 1.00% + 每笔 ¥1.00。');

    await page
      .getByTestId('channel')
      .getByRole('option', { name: /^银行卡/ })
      .click();
    await page.getByText('还没有该渠道的收款账户，请先添加').waitFor();
    await page.getByTestId('add-account-open').click();
    const sheet = page.getByTestId('add-account');
    await sheet.getByLabel('开户名').fill('王小明');
    await sheet.getByLabel('银行卡号').fill('6222 0210 0112 3456 789');
    await sheet.getByLabel('开户银行').fill('工商银行');
    await screenshot(page, 'portal-add-account');
    await sheet.getByTestId('account-save').click();
    const display = page.getByTestId('accounts').getByTestId('account-display');
    await display.waitFor();
    const masked = await display.textContent();
    expect(masked).not.toContain('6222021001123456789');
    expect(masked).toContain('6789');

    await page.getByTestId('amount').locator('input').fill('200');
    await expect(page.getByTestId('amount-problem').textContent()).resolves.toBe('最多可提 ¥109.00');
    await page.getByTestId('amount').locator('input').fill('100');
    await expect(page.getByTestId('fee').textContent()).resolves.toBe('¥2.00');
    await expect(page.getByTestId('net').textContent()).resolves.toBe('¥98.00');
    await screenshot(page, 'portal-withdraw');
    await expectNoCriticalA11yViolations(page, 'portal-withdraw');
    await page.getByTestId('withdraw-submit').click();
    await page.getByRole('dialog').getByText('提现 ¥100.00，手续费 ¥2.00，实际到账 ¥98.00。确定提交吗？').waitFor();
    await page.getByRole('dialog').getByRole('button', { name: '确认提现' }).click();
    await page.waitForURL(/\/portal\/withdraw\/wd_/);
    await page.getByTestId('withdrawal-status').getByText('审核中').waitFor();
    await screenshot(page, 'portal-withdrawal-detail');

    // A second one, by hand: a new form, a new key.
    await page.goto(`${t.base}/portal/withdraw`);
    await page
      .getByTestId('channel')
      .getByRole('option', { name: /^人工打款/ })
      .click();
    await page.getByTestId('amount').locator('input').fill('5');
    await expect(page.getByTestId('fee').textContent()).resolves.toBe('¥1.05');
    await page.getByTestId('withdraw-submit').click();
    await page.getByRole('dialog').getByRole('button', { name: '确认提现' }).click();
    await page.waitForURL(/\/portal\/withdraw\/wd_/);
    page.off('request', watch);
    expect(keys).toHaveLength(2);
    for (const k of keys) expect(k).toMatch(/^wd-[0-9a-f]{32}$/);
    expect(new Set(keys).size).toBe(2);

    await page.getByRole('button', { name: '返回' }).or(page.locator('.adm-nav-bar-back')).first().click();
    await page.waitForURL(/\/portal\/withdraw\/history$/);
    const history = page.getByTestId('withdrawal-history');
    await history.getByText('到账 ¥98.00').waitFor();
    await history.getByText('到账 ¥3.95').waitFor();
    expect(await history.getByText('审核中').count()).toBe(2);
    await screenshot(page, 'portal-withdrawal-history');
    await expectNoCriticalA11yViolations(page, 'portal-withdrawal-history');
    expect(await api('GET', `/v1/distributors/${wang.id}/balance`)).toMatchObject({ withdrawable_fen: 400, withdrawing_fen: 10500 });
  });

  it('finance sees the bank batch file; an operator does not', async () => {
    const { page } = desk;
    await login(OPERATOR);
    await menu(page, '提现').click();
    await page.getByTestId('withdrawals-table').getByText('王小明').first().waitFor();
    await expect(page.getByTestId('bank-file').count()).resolves.toBe(0);
    await expect(page.getByRole('button', { name: '批准' }).count()).resolves.toBe(0);
    await login(FINANCE);
    await menu(page, '提现').click();
    await page.getByTestId('bank-file').waitFor();
  });

  it('approves both withdrawals, fails the bank payout from the batch file, completes the manual one', async () => {
    const { page } = desk;
    const list = (await api('GET', `/v1/withdrawals?distributor_id=${wang.id}`)).items as { id: string; channel: string }[];
    const bank = list.find((w) => w.channel === 'bank')!;
    const manual = list.find((w) => w.channel === 'manual')!;
    await page.getByTestId('wd-status-filter').click();
    await page.locator('.ant-select-item-option').filter({ hasText: '待审核' }).click();
    const table = page.getByTestId('withdrawals-table');
    await table.getByRole('row').filter({ hasText: '¥100.00' }).waitFor();
    await screenshot(page, 'money-withdrawals');
    await expectNoCriticalA11yViolations(page, 'money-withdrawals');

    for (const w of [bank, manual]) {
      await page.getByTestId(`wd-approve-${w.id}`).click();
      await confirmPop(page);
      await page.locator('.ant-message').getByText('已批准').last().waitFor();
      await expect.poll(async () => (await api('GET', `/v1/withdrawals/${w.id}`)).status).toBe('approved');
    }

    // The bank payout waits in the batch file, with the full card number (finance only).
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('bank-file').click()]);
    expect(download.suggestedFilename()).toBe('fenxiao-bank-batch.csv');
    const csv = fs.readFileSync(await download.path(), 'utf8');
    expect(csv).toContain('6222021001123456789');
    expect(csv).toContain(',王小明,6222021001123456789,工商银行,,98.00,');

    await page.getByTestId('wd-status-filter').click();
    await page.locator('.ant-select-item-option').filter({ hasText: '已批准' }).click();
    await table.getByRole('button', { name: bank.id }).click();
    const detail = page.getByTestId('withdrawal-detail');
    await detail.getByTestId('payout-status').getByText('已提交').waitFor();
    await detail.getByText('工商银行', { exact: false }).waitFor();
    await screenshot(page, 'money-withdrawal-detail');
    await expectNoCriticalA11yViolations(page, 'money-withdrawal-detail');
    await detail.getByTestId(`wd-fail-${bank.id}`).click();
    await page.getByRole('dialog').filter({ hasText: '登记打款失败' }).getByLabel('失败原因').fill('户名与卡号不符');
    await page.getByRole('dialog').filter({ hasText: '登记打款失败' }).getByRole('button', { name: '确定' }).click();
    await page.getByText('已登记失败，金额已退回').waitFor();
    await dismissDialog(page);

    await page.getByTestId(`wd-complete-${manual.id}`).click();
    await page.getByRole('dialog').getByLabel('打款凭证号').fill('CMB-2026-0042');
    await page.getByRole('dialog').getByRole('button', { name: '确定' }).click();
    await page.getByText('已登记为已打款').waitFor();
    expect(await api('GET', `/v1/withdrawals/${manual.id}`)).toMatchObject({ status: 'paid', reference: 'CMB-2026-0042', payout: { state: 'succeeded' } });
    expect(await api('GET', `/v1/withdrawals/${bank.id}`)).toMatchObject({ status: 'failed', status_reason: '户名与卡号不符' });
    // The bank payout's 100 yuan came back; withdrawn is what reached the payee (the fee stays with the merchant).
    expect(await api('GET', `/v1/distributors/${wang.id}/balance`)).toEqual({
      pending_fen: 0,
      available_fen: 0,
      withdrawable_fen: 10400,
      withdrawing_fen: 0,
      withdrawn_fen: 395,
    });
  });

  it('the distributor sees one paid and one returned withdrawal', async () => {
    const { page } = phone;
    await page.goto(`${t.base}/portal/withdraw/history`);
    const history = page.getByTestId('withdrawal-history');
    await history.getByText('已到账').waitFor();
    await history.getByText('打款失败，已退回').waitFor();
    await history.getByText('到账 ¥98.00').click();
    await page.getByTestId('withdrawal-returned').getByText('户名与卡号不符', { exact: false }).waitFor();
    await screenshot(page, 'portal-withdrawal-failed');
  });

  it("shows the last ledger verification at once, runs new ones in the background, and looks up a withdrawal's journal entries", async () => {
    const { page } = desk;
    // Never verified: opening the page checks nothing and says so.
    await menu(page, '账本核对').click();
    await page.getByTestId('ledger-never').waitFor();
    expect((await api('GET', '/v1/ledger/verifications/last')).last).toBeNull();
    // A verification runs as a background job; the first one is a full pass and sets the checkpoint.
    await page.getByTestId('ledger-verify').click();
    await page.getByTestId('ledger-ok').waitFor();
    const first = await api('GET', '/v1/ledger/verifications/last');
    expect(first.last).toMatchObject({ ok: true, mode: 'full', breaks: [] });
    expect(first.job).toMatchObject({ status: 'done' });
    await expect(page.getByTestId('ledger-checkpoint').textContent()).resolves.toContain(`#${first.checkpoint.posting_id}`);
    // Opened again, the page shows that result without running another.
    await menu(page, '提现').click();
    await menu(page, '账本核对').click();
    await page.getByTestId('ledger-ok').waitFor();
    await page.getByTestId('ledger-last').getByText('全量校验').waitFor();
    expect((await api('GET', '/v1/ledger/verifications/last')).last.finished_at).toBe(first.last.finished_at);
    // The next one checks what was written since the checkpoint.
    await page.getByTestId('ledger-verify').click();
    await page.getByTestId('ledger-last').getByText('增量校验').waitFor();
    expect((await api('GET', '/v1/ledger/verifications/last')).last).toMatchObject({
      ok: true,
      mode: 'incremental',
      since_posting_id: first.checkpoint.posting_id,
    });
    const manual = ((await api('GET', `/v1/withdrawals?distributor_id=${wang.id}&channel=manual`)).items as { id: string }[])[0]!;
    await page.getByTestId('journal-search').locator('input').fill(manual.id);
    await page.getByTestId('journal-search').locator('input').press('Enter');
    const entries = page.getByTestId('journal-entries');
    await entries.getByText('申请提现').waitFor();
    await screenshot(page, 'money-ledger');
    await expectNoCriticalA11yViolations(page, 'money-ledger');
  });

  it('reconciles the withdrawals against the ledger and exports the report and the withdrawals', async () => {
    const { page } = desk;
    await menu(page, '对账').click();
    await page.getByRole('heading', { name: '对账' }).waitFor();
    await page.getByTestId('recon-run').click();
    await page.getByTestId('recon-ok').waitFor();
    const report = await api('GET', '/v1/reconciliation');
    expect(report.ok).toBe(true);
    await expect(page.getByTestId('recon-clearing').getAttribute('data-fen')).resolves.toBe(String(report.ledger.payout_clearing_fen));
    const items = page.getByTestId('recon-items');
    for (const item of report.items as { withdrawal_id: string }[]) await items.getByRole('link', { name: item.withdrawal_id }).waitFor();
    await page.getByTestId('recon-totals').getByText('1 笔 · ¥5.00').first().waitFor();
    await screenshot(page, 'money-reconciliation');
    await expectNoCriticalA11yViolations(page, 'money-reconciliation');

    await page.getByTestId('export-recon').hover();
    const [xlsx] = await Promise.all([page.waitForEvent('download'), page.getByRole('menuitem', { name: 'Excel（.xlsx）' }).click()]);
    expect(xlsx.suggestedFilename()).toMatch(/\.xlsx$/);
    expect(
      fs
        .readFileSync(await xlsx.path())
        .subarray(0, 2)
        .toString('latin1'),
    ).toBe('PK');

    await menu(page, '提现').click();
    await page.getByTestId('export-withdrawals').hover();
    const [csv] = await Promise.all([page.waitForEvent('download'), page.getByRole('menuitem', { name: 'CSV（.csv）' }).click()]);
    expect(csv.suggestedFilename()).toMatch(/\.csv$/);
    const text = fs.readFileSync(await csv.path(), 'utf8');
    for (const item of report.items as { withdrawal_id: string }[]) expect(text).toContain(item.withdrawal_id);
    await screenshot(page, 'money-withdrawals-export');
  });

  it("shows the dashboard with the analytics API's own figures: KPIs, the trend, breakdowns and the top 10", async () => {
    const { page } = desk;
    await menu(page, '经营概览').click();
    await page.getByRole('heading', { name: '经营概览' }).waitFor();
    const kpis = await api('GET', '/v1/analytics/kpis');
    expect(kpis.orders).toBe(1);
    const kpi = (name: string) => page.getByTestId(`kpi-${name}`);
    for (const name of [
      'sales_fen',
      'orders',
      'commission_fen',
      'distributors',
      'new_distributors',
      'active_distributors',
      'settled_fen',
      'withdrawn_fen',
    ] as const) {
      await expect.poll(() => kpi(name).getAttribute('data-value')).toBe(String(kpis[name]));
    }
    await expect(kpi('sales_fen').textContent()).resolves.toContain('¥1,030.00');
    for (const name of ['pending_fen', 'available_fen', 'withdrawable_fen', 'withdrawing_fen', 'withdrawn_fen', 'commission_expense_fen'] as const) {
      await expect(kpi(`balance-${name}`).getAttribute('data-value')).resolves.toBe(String(kpis.balances[name]));
    }
    const series = await api('GET', '/v1/analytics/timeseries?metric=sales_fen&interval=day');
    await expect.poll(() => page.getByTestId('series-total').getAttribute('data-value')).toBe(String(series.total));
    expect(series.total).toBe(kpis.sales_fen);
    await page.getByTestId('series-chart').locator('canvas').waitFor();
    await page.getByTestId('series-interval').getByText('按月').click();
    const monthly = await api('GET', '/v1/analytics/timeseries?metric=sales_fen&interval=month');
    await expect.poll(() => page.getByTestId('series-chart').getAttribute('aria-label')).toContain(`${monthly.points.length} 个时段`);
    const top = await api('GET', '/v1/analytics/top?metric=sales&limit=10');
    const topRows = page.getByTestId('top-table').locator('tbody tr');
    await expect.poll(() => topRows.count()).toBe(top.items.length);
    await topRows.first().getByRole('link', { name: top.items[0].name }).waitFor();
    const byGrade = await api('GET', '/v1/analytics/breakdown?by=grade');
    await page.getByTestId('breakdown-grade').getByText(formatYuanLike(byGrade.totals.sales_fen)).first().waitFor();
    await page.getByTestId('breakdown-region').waitFor();
    await screenshot(page, 'money-dashboard');
    await expectNoCriticalA11yViolations(page, 'money-dashboard');

    // A distributor's funnel on its page.
    await page.goto(`${t.base}/admin/distributors/${wang.id}`);
    const funnel = await api('GET', `/v1/analytics/funnel?distributor_id=${wang.id}`);
    await page.getByTestId('funnel').getByText(String(funnel.orders), { exact: true }).first().waitFor();
  });

  it('simulates a rule change on the orders so far: the page shows what the API computes', async () => {
    const { page } = desk;
    await menu(page, '佣金规则').click();
    await page.getByRole('heading', { name: '佣金规则' }).waitFor();
    const sim = page.getByTestId('rule-simulator');
    const day = (ms: number) => new Date(ms + 8 * 3_600_000).toISOString().slice(0, 10);
    const from = day(t.clock.now().getTime() - 60 * 86_400_000);
    const to = day(t.clock.now().getTime() + 86_400_000);
    await sim.getByLabel('从').fill(from);
    await sim.getByLabel('到（不含）').fill(to);
    await sim.getByLabel('等级').click();
    await page.locator('.ant-select-item-option').filter({ hasText: '(default)' }).click();
    await sim.getByLabel('1 级佣金', { exact: true }).fill('8');
    await sim.getByRole('button', { name: '模拟' }).click();
    await sim.getByTestId('simulation').waitFor();
    const grade = await api('GET', '/v1/grades/default');
    const expected = await api('POST', '/v1/rules/simulate', {
      from,
      to,
      changes: { grades: { default: { override_bp: [800, ...grade.override_bp.slice(1)] } } },
    });
    expect(expected.orders).toBeGreaterThan(0);
    expect(expected.delta_fen).not.toBe(0);
    await expect(sim.getByTestId('sim-delta').getAttribute('data-value')).resolves.toBe(String(expected.delta_fen));
    await sim.getByTestId('sim-chart').locator('canvas').waitFor();
    await expect(sim.getByTestId('sim-top').locator('tbody tr').count()).resolves.toBe(expected.top_changes.length);
    await screenshot(page, 'money-rule-simulator');
    // Nothing changed: the grade is as it was.
    expect((await api('GET', '/v1/grades/default')).override_bp).toEqual(grade.override_bp);
  });

  it('a refund after settlement leaves the withdrawable balance negative, shown as a debt', async () => {
    await api('POST', `/v1/orders/${ORDER}/events`, { type: 'refunded', refund_fen: 103000 });
    expect((await api('GET', `/v1/distributors/${wang.id}/balance`)).withdrawable_fen).toBe(-500);
    const { page } = phone;
    await page.goto(`${t.base}/portal/earnings`);
    await expect(page.getByTestId('balance-withdrawable').textContent()).resolves.toBe('-¥5.00');
    await page.getByTestId('balance-debt').getByText('目前欠 ¥5.00', { exact: false }).waitFor();
    expect(await page.evaluate("getComputedStyle(document.querySelector('[data-testid=balance-withdrawable]')).color")).toBe('rgb(196, 29, 29)');
    await expect(page.getByTestId('go-withdraw').isDisabled()).resolves.toBe(true);
    await page.getByTestId('commission-lines').getByText(`订单 ${ORDER} · 退款追回`).first().waitFor();
    await screenshot(page, 'portal-earnings-debt');

    const { page: console } = desk;
    await console.goto(`${t.base}/admin/distributors/${wang.id}`);
    await console.getByTestId('balance').getByText('-¥5.00').waitFor();
    await console.getByText('可提现余额为负：欠 ¥5.00', { exact: false }).waitFor();
    await screenshot(console, 'money-distributor-balance');
    await console.goto(`${t.base}/admin/orders/${ORDER}`);
    await console.getByTestId('order-timeline').getByText('结算后退款，追回佣金').first().waitFor();
    await screenshot(console, 'money-order-refunded');
    await console.goto(`${t.base}/admin/ledger`);
    await console.getByTestId('ledger-ok').waitFor();
    expect(desk.pageErrors).toEqual([]);
    expect(phone.pageErrors).toEqual([]);
    expect(desk.dialogs).toEqual([]);
    expect(phone.dialogs).toEqual([]);
  });

  it('reads the money pages in English', async () => {
    const { page } = desk;
    await page.getByTestId('lang-switch').click();
    await menu(page, 'Settlement').click();
    await page.getByRole('heading', { name: 'Settlement' }).waitFor();
    await page.getByRole('tab', { name: 'Statements' }).waitFor();
    await menu(page, 'Orders').click();
    await page.getByRole('heading', { name: 'Orders and commissions' }).waitFor();
    await screenshot(page, 'money-orders-english');
    await page.getByTestId('lang-switch').click();
    await menu(page, '订单与佣金').waitFor();
  });
});
