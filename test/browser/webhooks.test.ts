/**
 * The console's webhooks page (issue 12) in Chromium: an owner adds an endpoint (the secret shown
 * once), sends a test that a local receiver gets signed, sees the attempt in the deliveries, and
 * sends it again; and the inbound secrets (order webhooks, tracking pushes) are made and rotated
 * there, each shown once. The API keys page is covered in api-keys.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consoleLogin, expectNoCriticalA11yViolations, launch, screenshot, startLiveServer, type Browser, type LiveServer } from './harness.ts';
import { createHmac } from 'node:crypto';
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

  it('makes and rotates the inbound secrets, each shown once, and a tracking push signed with the shown one is accepted', async () => {
    const { page } = b;
    // A fresh page: the deliveries drawer of the test before is closed.
    await page.reload();
    const table = page.getByTestId('inbound-secrets');
    await table.getByText('物流推送（通用格式 / 快递100）').waitFor();
    await table.getByText(`${t.base}/v1/logistics/${tenant.id}/kuaidi100`).waitFor();
    await expect(page.getByTestId('inbound-hint-logistics').textContent()).resolves.toBe('未设置');

    const showSecret = async (source: string) => {
      await page.getByTestId(`inbound-rotate-${source}`).click();
      await page.getByRole('dialog').getByRole('button', { name: '确定' }).click();
      const secret = (await page.getByTestId('inbound-secret').textContent())!.trim();
      // Closed with its 确定. On a loaded machine a click landing while antd still animates the
      // dialog in (the confirmation fading out beneath it) can go unheard: click again then.
      const shown = page.getByRole('dialog').filter({ has: page.getByTestId('inbound-secret') });
      for (let attempt = 1; attempt <= 3 && (await shown.count()) > 0; attempt++) {
        await shown
          .getByRole('button', { name: '确定' })
          .click({ timeout: 5_000 })
          .catch(() => {});
        await page
          .getByTestId('inbound-secret')
          .waitFor({ state: 'hidden', timeout: 5_000 })
          .catch(() => {});
      }
      await page.getByTestId('inbound-secret').waitFor({ state: 'hidden' });
      return secret;
    };
    const push = (secret: string) => {
      const raw = JSON.stringify({ event_id: `trk-${Math.random()}`, tracking_number: 'SF-NOT-AN-ORDER', status: 'signed' });
      const ts = String(Math.floor(Date.now() / 1000));
      const sig = createHmac('sha256', secret).update(`${ts}.${raw}`).digest('hex');
      return t.call('POST', `/v1/logistics/${tenant.id}/generic`, {
        headers: { 'content-type': 'application/json', 'x-fenxiao-timestamp': ts, 'x-fenxiao-signature': `v1=${sig}` },
        rawBody: raw,
      });
    };

    const first = await showSecret('logistics');
    expect(first).toMatch(/^lgs_/);
    await expect(page.getByTestId('inbound-hint-logistics').textContent()).resolves.toBe(`…${first.slice(-4)}`);
    expect(await page.content()).not.toContain(first);
    const accepted = await push(first);
    expect(accepted.statusCode, accepted.body).toBe(200);
    expect(accepted.data.outcome).toBe('ignored');
    expect((await push('lgs_not-the-secret-at-all')).statusCode).toBe(401);

    // Rotated: a new secret, the old one still verifying during its grace period.
    const second = await showSecret('logistics');
    expect(second).not.toBe(first);
    await page
      .getByTestId('inbound-hint-logistics')
      .getByText(`…${second.slice(-4)}`)
      .waitFor();
    await table.getByText(/旧密钥有效至/).waitFor();
    expect((await push(second)).statusCode).toBe(200);
    expect((await push(first)).statusCode).toBe(200);

    // An order webhook format: the secret shown is the one the settings now hold.
    const generic = await showSecret('generic');
    await expect(page.getByTestId('inbound-hint-generic').textContent()).resolves.toBe(`…${generic.slice(-4)}`);
    const settings = (await t.call('GET', '/v1/webhooks/settings', { token: tenant.key })).data;
    expect(settings.formats.find((f: { format: string }) => f.format === 'generic')).toMatchObject({ configured: true, secret_hint: `…${generic.slice(-4)}` });
    await screenshot(page, 'admin-inbound-secrets');
  });
});
