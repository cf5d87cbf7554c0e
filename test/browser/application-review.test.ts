/**
 * Automatic application review in the console (issue 17, item 5): the owner turns the review on
 * in the program page and picks its checks (in Chinese, and the section reads in English); an
 * application that fails a check waits for a person, and its page shows each check and why.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consoleLogin, launch, screenshot, startLiveServer, type Browser, type LiveServer } from './harness.ts';

let t: LiveServer;
let desk: Browser;
let tenant: { id: string; key: string };
const OWNER = { email: 'owner@review.test', password: 'owner-password-1' };

beforeAll(async () => {
  t = await startLiveServer();
  tenant = await t.tenant('自动审核测试商城');
  expect((await t.call('POST', '/v1/admin-users', { token: tenant.key, body: { ...OWNER, role: 'owner', name: '老板' } })).statusCode).toBe(201);
  desk = await launch();
});

afterAll(async () => {
  await desk?.close();
  await t?.close();
});

describe('automatic application review in the console', () => {
  it('sets the review rules on the program page and saves them', async () => {
    const { page } = desk;
    await consoleLogin(page, t.base, tenant.id, OWNER.email, OWNER.password);
    await page
      .getByRole('menuitem')
      .filter({ hasText: /^方案设置$/ })
      .click();
    await page.getByRole('heading', { name: '分销方案' }).waitFor();
    const section = page.getByTestId('application-review');
    await section.getByText('自动审核申请').waitFor();
    await page.getByRole('radio', { name: '审核', exact: true }).check();
    await section.getByRole('switch').click();
    await section.getByRole('checkbox', { name: '身份证号已填写且通过校验' }).check();
    await section.getByRole('checkbox', { name: '手机号、身份证号未被其他分销员使用' }).uncheck();
    await section.getByRole('radio', { name: '转人工审核' }).check();
    await page.getByRole('button', { name: '保存' }).click();
    await page.getByText('已保存').first().waitFor();
    await screenshot(page, 'admin-program-application-review');

    const program = (await t.call('GET', '/v1/program', { token: tenant.key })).data;
    expect(program.admission).toBe('review');
    expect(program.application_review).toEqual({
      enabled: true,
      phone_verified: true,
      uscc_for_companies: true,
      id_number: true,
      no_shared_identity: false,
      on_failure: 'refer',
    });

    // The page shows what is stored after a reload.
    await page.reload();
    await page.getByRole('heading', { name: '分销方案' }).waitFor();
    expect(await page.getByTestId('application-review').getByRole('switch').getAttribute('aria-checked')).toBe('true');
    expect(await page.getByTestId('application-review').getByRole('checkbox', { name: '身份证号已填写且通过校验' }).isChecked()).toBe(true);

    // In English, the section names the same settings.
    await page.getByTestId('lang-switch').click();
    await page.getByRole('heading', { name: 'Program' }).waitFor();
    const en = page.getByTestId('application-review');
    await en.getByText('Automatic application review').waitFor();
    await en.getByRole('checkbox', { name: 'Resident ID number given and valid' }).waitFor();
    await en.getByRole('radio', { name: 'Send to a person' }).waitFor();
    await page.getByTestId('lang-switch').click();
    await page.getByRole('heading', { name: '分销方案' }).waitFor();
  });

  it("shows an application's decision, each check and why, on the distributor's page", async () => {
    const { page } = desk;
    const res = await t.call('POST', '/v1/applications', {
      token: tenant.key,
      body: {
        external_id: 'applicant-1',
        name: '申请人甲',
        phone: '13912345678',
        consent: true,
        profile: { company: '某某贸易有限公司', licence_no: '91440300708461136A' },
      },
    });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.data.status).toBe('pending');
    await page.goto(`${t.base}/admin/distributors/${res.data.id}`);
    const review = page.getByTestId('application-review');
    await review
      .getByTestId('review-outcome')
      .getByText(/转人工审核/)
      .waitFor();
    await review.getByTestId('review-check-phone_verified').getByText('手机号未通过短信验证码验证').waitFor();
    await review.getByTestId('review-check-uscc').getByText('统一社会信用代码校验码不正确').waitFor();
    await review.getByTestId('review-check-id_number').getByText('未填写身份证号').waitFor();
    expect(await review.getByTestId('review-check-uscc').getByText('未通过').count()).toBe(1);
    await screenshot(page, 'admin-distributor-application-review');
  });
});
