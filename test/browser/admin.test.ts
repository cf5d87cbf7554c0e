import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { expectNoCriticalA11yViolations, launch, screenshot, startLiveServer, type Browser, type LiveServer } from './harness.ts';

let t: LiveServer;
let b: Browser;
let tenant: { id: string; key: string };

const OPERATOR = { email: 'operator@example.com', password: 'operator-password-1' };
const AUDITOR = { email: 'auditor@example.com', password: 'auditor-password-1' };
const PNG = Buffer.from(
  '89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8cfc0f01f0005000201a1d3b7a30000000049454e44ae426082',
  'hex',
);

beforeAll(async () => {
  t = await startLiveServer();
  tenant = await t.tenant('浏览器测试商城');
  for (const [u, role] of [
    [OPERATOR, 'operator'],
    [AUDITOR, 'auditor'],
  ] as const) {
    const res = await t.call('POST', '/v1/admin-users', { token: tenant.key, body: { ...u, role, name: role === 'operator' ? '运营小王' : '审计小李' } });
    expect(res.statusCode).toBe(201);
  }
  b = await launch();
});

afterAll(async () => {
  await b?.close();
  await t?.close();
});

/** A menu entry by its label alone (the accessible name also carries the icon's). */
function menu(page: Page, label: string) {
  return page.getByRole('menuitem').filter({ hasText: new RegExp(`^${label}$`) });
}

async function login(user: { email: string; password: string }) {
  const { page } = b;
  await page.goto(`${t.base}/admin/`);
  await page.waitForURL(/\/admin\/login/);
  await page.getByLabel('商户编号').fill(tenant.id);
  await page.getByLabel('邮箱').fill(user.email);
  await page.getByLabel('密码').fill(user.password);
  await page.getByRole('button', { name: '登录' }).click();
  await page.getByRole('heading', { name: '经营概览' }).waitFor();
}

describe('admin console', () => {
  it('shows the login page in Chinese and refuses a wrong password', async () => {
    const { page } = b;
    await page.goto(`${t.base}/admin`);
    await page.waitForURL(/\/admin\/login$/);
    await page.getByRole('heading', { name: '登录管理后台' }).waitFor();
    expect(await page.evaluate('document.documentElement.lang')).toBe('zh-CN');
    await screenshot(page, 'admin-login');
    await expectNoCriticalA11yViolations(page, 'admin-login');
    await page.getByLabel('商户编号').fill(tenant.id);
    await page.getByLabel('邮箱').fill(OPERATOR.email);
    await page.getByLabel('密码').fill('not-the-password');
    await page.getByRole('button', { name: '登录' }).click();
    await expect(page.getByTestId('login-error').textContent()).resolves.toContain('邮箱或密码错误');
    expect(page.url()).toMatch(/\/admin\/login$/);
  });

  it('logs an operator in; the menu shows what an operator may do', async () => {
    const { page } = b;
    await login(OPERATOR);
    expect(await page.evaluate(() => Object.keys(sessionStorage))).toContain('fenxiao.admin.session');
    expect(await page.evaluate(() => Object.keys(localStorage).filter((k) => k.includes('session')))).toEqual([]);
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
      '账本核对',
      '客户绑定',
      '风控事件',
      '风控规则',
      '合规报告',
      '审计日志',
      '管理员与角色',
      '分销员门户',
    ]);
    await expect(page.getByTestId('signed-in-as').textContent()).resolves.toBe('运营小王（运营）');
    await screenshot(page, 'admin-dashboard-empty');
    await menu(page, '分销员').click();
    await page.getByRole('heading', { name: '分销员' }).waitFor();
    await screenshot(page, 'admin-distributors-empty');
  });

  it('sets up the program: levels 4 is refused inline as a compliance violation, 3 is saved', async () => {
    const { page } = b;
    await menu(page, '方案设置').click();
    await page.getByRole('heading', { name: '分销方案' }).waitFor();
    await expect(page.getByTestId('levels-note').textContent()).resolves.toContain('最多向上 3 级');
    await expectNoCriticalA11yViolations(page, 'admin-program');
    const levels = page.getByLabel('分佣层级');
    await levels.fill('4');
    await page.getByRole('button', { name: '保存' }).click();
    const explain = page.locator('.ant-form-item-has-error').filter({ has: page.getByLabel('分佣层级') });
    await explain.getByText('合规限制：违反合规规则：分润层级不超过三级').waitFor();
    await screenshot(page, 'admin-program-compliance');
    expect((await t.call('GET', '/v1/program', { token: tenant.key })).data.levels).toBe(2);

    await levels.fill('3');
    await page.getByRole('radio', { name: '审核', exact: true }).check();
    await page.getByLabel('冻结天数（退货期）').fill('10');
    await page.getByRole('button', { name: '保存' }).click();
    // Freeze days are a money control: an operator's change waits for finance (issue 14).
    await page.getByText('已保存；资金相关的修改已提交，等待财务或所有者确认').waitFor();
    await expect(explain.count()).resolves.toBe(0);
    const program = (await t.call('GET', '/v1/program', { token: tenant.key })).data;
    expect(program).toMatchObject({ levels: 3, admission: 'review', freeze_days: 7, review_threshold_fen: 1000000 });
    const proposals = (await t.call('GET', '/v1/program-proposals?status=pending', { token: tenant.key })).data.items;
    expect(proposals.map((p: { changes: unknown }) => p.changes)).toEqual([[{ field: 'freeze_days', from: 7, to: 10 }]]);
    await page.getByTestId('program-proposals').getByText('你的提议，等待他人确认').waitFor();
    await screenshot(page, 'admin-program');
  });

  it('creates a grade with rates in percent, stored in basis points', async () => {
    const { page } = b;
    await menu(page, '等级').click();
    await page.getByRole('heading', { name: '分销员等级' }).waitFor();
    await page.getByTestId('grade-create').click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('代码').fill('gold');
    await dialog.getByLabel('名称').fill('金牌');
    await dialog.getByLabel('销售佣金率').fill('5');
    await dialog.getByLabel('1 级佣金率').fill('10.5');
    await dialog.getByLabel('2 级佣金率').fill('2.25');
    await dialog.getByRole('button', { name: '保存' }).click();
    await page.getByTestId('grades-table').getByRole('cell', { name: '金牌' }).waitFor();
    await page.getByTestId('grades-table').getByRole('cell', { name: '10.50%' }).waitFor();
    const grade = (await t.call('GET', '/v1/grades/gold', { token: tenant.key })).data;
    expect(grade).toMatchObject({ code: 'gold', name: '金牌', sales_bp: 500, override_bp: [1050, 225, 0] });
    await screenshot(page, 'admin-grades');
    await expectNoCriticalA11yViolations(page, 'admin-grades');
  });

  it('reviews a pending application: documents, the team chart, approval', async () => {
    const { page } = b;
    const referrer = (await t.call('POST', '/v1/distributors', { token: tenant.key, body: { external_id: 'ref-1', name: '推荐人甲' } })).data;
    await t.call('POST', `/v1/distributors/${referrer.id}/approve`, { token: tenant.key });
    const app = await t.call('POST', '/v1/applications', {
      token: tenant.key,
      body: { external_id: 'app-1', name: '李四', phone: '13812345678', referrer_code: referrer.invite_code, consent: true, profile: { company: '李四贸易' } },
    });
    expect(app.statusCode).toBe(201);
    expect(app.data.status).toBe('pending');
    const boundary = '----fenxiao-browser';
    const upload = await t.app.inject({
      method: 'POST',
      url: `/v1/distributors/${app.data.id}/documents`,
      headers: { authorization: `Bearer ${tenant.key}`, 'content-type': `multipart/form-data; boundary=${boundary}` },
      payload: Buffer.concat([
        Buffer.from(
          `--${boundary}\r\nContent-Disposition: form-data; name="kind"\r\n\r\nlicence\r\n--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="营业执照.png"\r\nContent-Type: image/png\r\n\r\n`,
        ),
        PNG,
        Buffer.from(`\r\n--${boundary}--\r\n`),
      ]),
    });
    expect(upload.statusCode).toBe(201);

    await menu(page, '申请审核').click();
    await page.getByRole('heading', { name: '申请审核' }).waitFor();
    const row = page.getByTestId('distributors-table').getByRole('row').filter({ hasText: '李四' });
    await row.waitFor();
    await screenshot(page, 'admin-applications');
    await row.getByRole('link', { name: '查看资料' }).click();

    await page.getByTestId('distributor-name').filter({ hasText: '李四' }).waitFor();
    await page.getByText('待审核').first().waitFor();
    const docs = page.getByTestId('documents-table');
    await docs.getByRole('cell', { name: '营业执照.png' }).waitFor();
    await docs.getByRole('cell', { name: 'licence' }).waitFor();
    await page.getByRole('link', { name: '推荐人甲' }).waitFor();
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId(`download-${upload.json().id}`).click()]);
    expect(download.suggestedFilename()).toBe('营业执照.png');
    expect(Buffer.compare(fs.readFileSync(await download.path()), PNG)).toBe(0);
    await expectNoCriticalA11yViolations(page, 'admin-distributor-detail');
    await screenshot(page, 'admin-distributor-detail-pending');

    await page.getByTestId('approve').click();
    await page.getByText('已通过').waitFor();
    await page.locator('.ant-tag').filter({ hasText: '正常' }).first().waitFor();
    expect((await t.call('GET', `/v1/distributors/${app.data.id}`, { token: tenant.key })).data.status).toBe('active');

    // The referrer's page: the chart and the lazily loaded tree show the new team member.
    await page.getByRole('link', { name: '推荐人甲' }).click();
    await page.getByTestId('distributor-name').filter({ hasText: '推荐人甲' }).waitFor();
    await page.getByTestId('team-chart').locator('canvas').waitFor();
    await expect(page.getByTestId('team-chart').getAttribute('aria-label')).resolves.toContain('直属 1');
    await page.getByTestId('team-tree').getByRole('link', { name: '李四' }).waitFor();
    await screenshot(page, 'admin-distributor-detail');
    await expectNoCriticalA11yViolations(page, 'admin-distributor-detail-team');
  });

  it('lists and filters distributors', async () => {
    const { page } = b;
    await menu(page, '分销员').click();
    const table = page.getByTestId('distributors-table');
    await table.getByRole('link', { name: '李四' }).waitFor();
    await table.getByRole('link', { name: '推荐人甲' }).waitFor();
    await page.getByRole('searchbox', { name: '姓名、手机号、邀请码或外部编号' }).fill('13812345678');
    await page.getByRole('searchbox', { name: '姓名、手机号、邀请码或外部编号' }).press('Enter');
    await expect.poll(async () => table.getByRole('link').allTextContents()).toEqual(['李四']);
    await screenshot(page, 'admin-distributors');
    await expectNoCriticalA11yViolations(page, 'admin-distributors');
  });

  it('changes a grade and moves a relation, each with a reason', async () => {
    const { page } = b;
    await page.getByTestId('distributors-table').getByRole('link', { name: '李四' }).click();
    await page.getByTestId('distributor-name').filter({ hasText: '李四' }).waitFor();
    const id = new URL(page.url()).pathname.split('/').pop()!;

    await page.getByRole('button', { name: '调整等级' }).click();
    let dialog = page.getByRole('dialog');
    await dialog.getByRole('combobox').click();
    await page.locator('.ant-select-item-option').filter({ hasText: '金牌 (gold)' }).click();
    await dialog.getByLabel('原因').fill('业绩达标');
    await dialog.getByRole('button', { name: '确定' }).click();
    await page.getByText('等级已调整').waitFor();
    expect((await t.call('GET', `/v1/distributors/${id}`, { token: tenant.key })).data.grade).toBe('gold');

    await page.getByRole('button', { name: '迁移关系' }).click();
    dialog = page.getByRole('dialog');
    await dialog.getByText('已支付的订单保留原有链路').waitFor();
    await dialog.getByRole('button', { name: '确定' }).click();
    await dialog.getByText('请填写原因').waitFor();
    await dialog.getByRole('combobox').click();
    await page.locator('.ant-select-item-option').filter({ hasText: '无推荐人（成为顶级）' }).click();
    await dialog.getByLabel('原因').fill('推荐人离职，转为直营');
    await dialog.getByRole('button', { name: '确定' }).click();
    await page.getByText('关系已迁移').waitFor();
    await page.getByText('没有上级（顶级分销员）').waitFor();
    expect((await t.call('GET', `/v1/distributors/${id}`, { token: tenant.key })).data.referrer_id).toBeNull();
    const audit = (await t.call('GET', `/v1/audit-log?target_id=${id}`, { token: tenant.key })).data.items;
    expect(audit.slice(0, 2).map((e: { action: string; reason: string }) => [e.action, e.reason])).toEqual([
      ['distributor.move', '推荐人离职，转为直营'],
      ['distributor.update', '业绩达标'],
    ]);
  });

  it('shows the audit log with the before/after of a change', async () => {
    const { page } = b;
    await menu(page, '审计日志').click();
    const row = page.getByTestId('audit-table').getByRole('row').filter({ hasText: 'distributor.approve' }).filter({ hasText: 'admin:' });
    await row.waitFor();
    await row.getByRole('button', { name: /展开|Expand/ }).click();
    const diff = page.getByTestId('audit-diff').first();
    await diff.getByText('status', { exact: true }).waitFor();
    await diff.getByText('"pending"').waitFor();
    await diff.getByText('"active"').waitFor();
    await screenshot(page, 'admin-audit-log');
    await expectNoCriticalA11yViolations(page, 'admin-audit-log');
  });

  it('shows admin users, risk events and portal settings', async () => {
    const { page } = b;
    await menu(page, '管理员与角色').click();
    await page.getByTestId('users-table').getByRole('cell', { name: AUDITOR.email }).waitFor();
    await screenshot(page, 'admin-users');
    await menu(page, '风控事件').click();
    await page.getByTestId('risk-table').waitFor();
    await screenshot(page, 'admin-risk-events');
    await menu(page, '分销员门户').click();
    await page.getByRole('heading', { name: '分销员门户' }).waitFor();
    await page.getByText('海报背景').first().waitFor();
    // An operator may change the poster but not the signing secret (keys:write).
    await expect(page.getByText('登录令牌签名密钥').count()).resolves.toBe(0);
    await screenshot(page, 'admin-portal-settings');
  });

  it('switches to English and remembers it', async () => {
    const { page } = b;
    await page.getByTestId('lang-switch').click();
    await menu(page, 'Distributors').waitFor();
    expect(await page.evaluate(() => localStorage.getItem('fenxiao.lang'))).toBe('en');
    await page.reload();
    await menu(page, 'Program').click();
    await page.getByRole('heading', { name: 'Program' }).waitFor();
    await page.getByText('Compliance: commission reaches at most 3 levels').waitFor();
    expect(await page.evaluate('document.documentElement.lang')).toBe('en');
    await screenshot(page, 'admin-program-english');
    await page.getByTestId('lang-switch').click();
    await menu(page, '方案设置').waitFor();
  });

  it('sends an expired session back to login', async () => {
    const { page } = b;
    const token = await page.evaluate(() => JSON.parse(sessionStorage.getItem('fenxiao.admin.session')!).token as string);
    expect((await t.call('POST', '/v1/auth/logout', { token })).statusCode).toBe(204);
    await menu(page, '分销员').click();
    await page.waitForURL(/\/admin\/login$/);
    await page.getByTestId('login-expired').waitFor();
    expect(await page.evaluate(() => sessionStorage.getItem('fenxiao.admin.session'))).toBeNull();
  });

  it("lets an owner make an orders-only API key, and shows each key's scope (issue 14, item 17)", async () => {
    const { page } = b;
    const owner = { email: 'owner@example.com', password: 'owner-password-1' };
    expect((await t.call('POST', '/v1/admin-users', { token: tenant.key, body: { ...owner, role: 'owner' } })).statusCode).toBe(201);
    await login(owner);
    await menu(page, 'API 密钥').click();
    await page.getByRole('heading', { name: 'API 密钥' }).waitFor();
    // The tenant's first key acts in full.
    await page.getByTestId('keys-table').getByText('全部（同所有者）').waitFor();
    await page.getByTestId('key-create').click();
    await page.getByLabel('名称').fill('商城订单');
    await page.getByText('只能创建订单和推送订单事件').waitFor();
    await page.getByRole('button', { name: '新建', exact: true }).click();
    const key = (await page.getByTestId('api-key').textContent())!.trim();
    expect(key).toMatch(/^fxk_/);
    await page.getByRole('button', { name: '确定' }).click();
    await page.getByTestId('keys-table').getByText('仅订单').waitFor();
    await screenshot(page, 'admin-api-keys');
    await expectNoCriticalA11yViolations(page, 'admin-api-keys');
    // What the page said is what the key does.
    const order = { external_id: 'browser-key-1', buyer_external_id: 'buyer-key', items: [{ sku: 'S', quantity: 1, unit_price_fen: 100, paid_fen: 100 }] };
    expect((await t.call('POST', '/v1/orders', { token: key, body: order })).statusCode).toBe(201);
    expect((await t.call('GET', '/v1/distributors', { token: key })).statusCode).toBe(403);
    const listed = await t.call('GET', '/v1/api-keys', { token: tenant.key });
    expect(listed.data.items.find((k: { name: string }) => k.name === '商城订单')).toMatchObject({ scope: 'orders' });
    // Signed out again, for the next test's login.
    await page.evaluate(() => sessionStorage.removeItem('fenxiao.admin.session'));
  });

  it('gives an auditor a read-only console', async () => {
    const { page } = b;
    await login(AUDITOR);
    const entries = await page.getByRole('menuitem').allTextContents();
    expect(entries).toEqual([
      '经营概览',
      '分销员',
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
    ]);
    await menu(page, '方案设置').click();
    await page.getByRole('heading', { name: '分销方案' }).waitFor();
    await page.getByText('当前角色只读').waitFor();
    await expect(page.getByRole('button', { name: '保存' }).count()).resolves.toBe(0);
    await expect(page.getByLabel('分佣层级').isDisabled()).resolves.toBe(true);
    await menu(page, '分销员').click();
    await page.getByTestId('distributors-table').getByRole('link', { name: '李四' }).click();
    await page.getByTestId('distributor-name').filter({ hasText: '李四' }).waitFor();
    await expect(page.getByRole('button', { name: '暂停' }).count()).resolves.toBe(0);
    await expect(page.getByRole('button', { name: '迁移关系' }).count()).resolves.toBe(0);
    expect(b.pageErrors).toEqual([]);
    expect(b.dialogs).toEqual([]);
  });
});
