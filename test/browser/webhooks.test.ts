/**
 * The console's webhooks page (issue 12) in Chromium: an owner adds an endpoint (the secret shown
 * once), sends a test that a local receiver gets signed, sees the attempt in the deliveries, and
 * sends it again; the API keys page is covered in admin.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consoleLogin, expectNoCriticalA11yViolations, launch, screenshot, startLiveServer, type Browser, type LiveServer } from './harness.ts';
import { startReceiver, verifyFenxiaoSignature, type Receiver } from '../support/receiver.ts';

let t: LiveServer;
let b: Browser;
let rx: Receiver;
let tenant: { id: string; key: string };
const OWNER = { email: 'owner@example.com', password: 'owner-password-1' };

beforeAll(async () => {
  rx = await startReceiver();
  t = await startLiveServer({ env: { FENXIAO_WEBHOOKS_ALLOW_PRIVATE: '1', FENXIAO_WEBHOOKS_POLL_MS: '300' } });
  await t.startWebhooks();
  tenant = await t.tenant('推送测试商城');
  expect((await t.call('POST', '/v1/admin-users', { token: tenant.key, body: { ...OWNER, role: 'owner' } })).statusCode).toBe(201);
  b = await launch();
});

afterAll(async () => {
  await b?.close();
  await t?.close();
  await rx?.close();
});

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 20_000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('webhooks page', () => {
  it('adds an endpoint, shows its secret once, sends a test, lists the attempt and replays it', async () => {
    const { page } = b;
    await consoleLogin(page, t.base, tenant.id, OWNER.email, OWNER.password);
    await page
      .getByRole('menuitem')
      .filter({ hasText: /^Webhook 推送$/ })
      .click();
    await page.getByRole('heading', { name: 'Webhook 推送' }).waitFor();
    await page.getByTestId('webhook-create').click();
    await page.getByLabel('地址（URL）').fill(rx.url);
    await page.getByLabel('withdrawal.paid').check();
    await page.getByRole('button', { name: '新建', exact: true }).click();
    const secret = (await page.getByTestId('webhook-secret').textContent())!.trim();
    expect(secret).toMatch(/^whsec_/);
    await page.getByRole('button', { name: '确定' }).click();
    await page.getByTestId('webhooks-table').getByText(rx.url).waitFor();
    await page.getByTestId('webhooks-table').getByText('withdrawal.paid').waitFor();
    const listed = (await t.call('GET', '/v1/webhook-endpoints', { token: tenant.key })).data.items;
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatchObject({ url: rx.url, events: ['order.credited', 'withdrawal.paid'], secret_hint: secret.slice(-4) });
    await screenshot(page, 'admin-webhooks');
    await expectNoCriticalA11yViolations(page, 'admin-webhooks');

    // A test send reaches the receiver, signed with the secret the page showed.
    await page.getByRole('button', { name: '测试推送' }).click();
    await until('the test event', () => rx.got.some((g) => g.body.type === 'webhook.test'));
    const test = rx.got.find((g) => g.body.type === 'webhook.test')!;
    expect(verifyFenxiaoSignature(test.headers['fenxiao-signature'] as string, test.raw, secret)).toBe(true);

    // The deliveries drawer lists the attempt; replaying sends the same event id again.
    await page.getByRole('button', { name: '推送记录' }).click();
    const attempts = page.getByTestId('webhook-attempts');
    await attempts.getByText('webhook.test').waitFor();
    await attempts.getByText('成功').waitFor();
    await attempts.getByText('已送达').waitFor();
    await screenshot(page, 'admin-webhook-deliveries');
    await attempts.getByRole('button', { name: '重新推送' }).click();
    await until('the replay', () => rx.got.filter((g) => g.body.id === test.body.id).length === 2);
  });
});
