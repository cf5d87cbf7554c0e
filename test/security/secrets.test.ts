/**
 * Secrets never reach a log line. A run with a populated tenant, every operation of the OpenAPI
 * document called as the API key and as an owner (with credentials in the places people wrongly
 * put them too: query strings, bodies), failed logins, forged tokens, and WeChat Pay payouts that
 * succeed, fail, time out and receive forged callbacks; then every line the server logged is
 * searched for each API key, session token, password, the root token, the master key, the portal
 * signing secret and the login tokens it signed, webhook secrets, and the payout private key and
 * API v3 key.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/context.ts';
import { createPayoutChannels } from '../../src/adapters/payout/index.ts';
import { WechatPaySimulator } from '../support/providers/wechat-server.ts';
import { ROOT_TOKEN, startTestServer, type TestServer } from '../support/server.ts';
import { operationsOf, type OpenApiDoc } from './openapi.ts';
import { hintsFor, pathValues, requestFor, send } from './walk.ts';
import { buildWorld, mintPortalToken, type World } from './world.ts';

const MASTER_KEY = randomBytes(32).toString('base64');
const APIV3 = `v3${randomBytes(15).toString('hex')}`;
const merchant = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  publicKeyEncoding: { type: 'spki', format: 'pem' },
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
});

let wx: WechatPaySimulator;
let t: TestServer;
let w: World;
const secrets: { what: string; value: string }[] = [];
const remember = (what: string, value: string | undefined) => {
  if (value && value.length >= 8) secrets.push({ what, value });
};

beforeAll(async () => {
  wx = await WechatPaySimulator.start({
    mchId: '1900000109',
    appId: 'wxd678efh567hg6787',
    merchantPublicKeyPem: merchant.publicKey,
    merchantSerialNo: 'SERIAL0001',
    apiV3Key: APIV3,
  });
  // Real time: the provider checks the signed requests' timestamps.
  const clock = new ManualClock(new Date());
  const payoutChannels = createPayoutChannels(
    {
      wechat: {
        mchId: '1900000109',
        appId: 'wxd678efh567hg6787',
        merchantPrivateKey: merchant.privateKey,
        merchantSerialNo: 'SERIAL0001',
        platformPublicKeys: [{ serial: wx.platformPublicKeyId, publicKey: wx.platformPublicKeyPem }],
        apiV3Key: APIV3,
        transferSceneId: '1005',
        transferSceneReportInfos: [{ infoType: '岗位类型', infoContent: '分销员' }],
        notifyUrl: 'https://fenxiao.test/v1/payouts/callbacks/wechat',
        baseUrl: wx.origin,
        timeoutMs: 1000,
      },
    },
    { clock },
  );
  t = await startTestServer({ clock, env: { FENXIAO_MASTER_KEY: MASTER_KEY, LOG_LEVEL: 'debug' }, overrides: { payoutChannels, submitPayoutsInline: false } });
  w = await buildWorld(t, 'sx');
}, 300_000);
afterAll(async () => {
  await t?.close();
  await wx?.close();
});

describe('secrets in logs', () => {
  it('a full run logs no key, token, password or key material', async () => {
    remember('root token', ROOT_TOKEN);
    remember('master key', MASTER_KEY);
    remember('WeChat Pay API v3 key', APIV3);
    // A line from the middle of the private key's PEM: any part of it in a log is a leak.
    const pemLines = merchant.privateKey.split('\n').filter((l) => l.length > 40);
    remember('payout private key', pemLines[Math.floor(pemLines.length / 2)]);
    for (const s of w.secrets) remember('world secret', s);
    remember('portal signing secret', w.signingSecret);
    for (const role of Object.keys(w.passwords) as (keyof World['passwords'])[]) remember(`${role} password`, w.passwords[role]);

    // Every operation, as the key and as an owner, with valid requests.
    const doc = (await t.call('GET', '/openapi.json')).data as OpenApiDoc;
    for (const op of operationsOf(doc).filter((o) => !o.path.endsWith('/erase') && o.path !== '/v1/auth/logout')) {
      const { values } = await pathValues(t, w, op);
      const path = Object.fromEntries(op.pathParams.map((p) => [p.name, values[p.name] ?? 'x']));
      for (const token of [w.key, w.sessions.owner]) {
        const { body, query } = requestFor(
          doc,
          op,
          hintsFor(w, () => t.clock.now()),
        );
        const sent = await send(t, op, { token, path, body, query });
        for (const k of ['api_key', 'secret', 'token', 'password', 'signing_secret']) {
          const m = sent.res.body.match(new RegExp(`"${k}":"([^"]{8,})"`));
          if (m) remember(`${op.label} answer ${k}`, m[1]);
        }
      }
    }

    // Credentials where they do not belong, failing logins, forged tokens.
    await t.call('GET', `/v1/program?api_key=${encodeURIComponent(w.key)}&token=${encodeURIComponent(w.sessions.auditor)}`);
    await t.call('POST', '/v1/auth/login', { body: { tenant_id: w.tenantId, email: w.emails.owner, password: `${w.passwords.owner}-wrong` } });
    remember('wrong password', `${w.passwords.owner}-wrong`);
    await t.call('POST', '/v1/auth/login', { body: { tenant_id: w.tenantId, email: w.emails.owner, password: w.passwords.owner, extra: w.key } });
    await t.call('POST', '/v1/portal/login', { body: { tenant_id: w.tenantId, phone: '13800000001', password: 'portal-guess-123' } });
    remember('portal password guess', 'portal-guess-123');
    const jwt = await mintPortalToken(w.signingSecret, w.distributors.C.external_id, t.clock.now().getTime());
    remember('portal login token', jwt);
    await t.call('POST', '/v1/portal/token-login', { body: { tenant_id: w.tenantId, token: jwt } });
    await t.call('POST', '/v1/portal/token-login', { body: { tenant_id: w.tenantId, token: jwt } });
    const forged = await mintPortalToken(`${w.signingSecret}x`, w.distributors.C.external_id, t.clock.now().getTime());
    await t.call('POST', '/v1/portal/token-login', { body: { tenant_id: w.tenantId, token: forged } });
    remember('forged login token', forged);
    const portalPassword = 'portal-password-secret-77';
    await t.call('POST', '/v1/portal/password', { token: w.portal.C, body: { password: portalPassword } });
    remember('portal password', portalPassword);
    await t.call('POST', '/v1/portal/login', { body: { tenant_id: w.tenantId, phone: '13800000003', password: portalPassword } });
    const rotated = await t.call('POST', `/v1/api-keys`, { token: w.key, body: { name: 'rotating' } });
    remember('new api key', rotated.data.api_key);
    const again = await t.call('POST', `/v1/api-keys/${rotated.data.id}/rotate`, { token: w.key });
    remember('rotated api key', again.data.api_key);
    await t.call('GET', '/v1/tenant', { token: rotated.data.api_key });

    // WeChat Pay payouts: success, failure, timeout and a forged callback.
    const program = await t.call('PUT', '/v1/program', { token: w.key, body: { withdrawal: { auto_approve_max_fen: 100_000, min_fen: 1 } } });
    expect(program.statusCode).toBe(200);
    const C = w.distributors.C;
    expect(
      (await t.call('POST', `/v1/distributors/${C.id}/payout-accounts`, { token: w.key, body: { channel: 'wechat', openid: `o-${C.id}`, user_name: 'C' } }))
        .statusCode,
    ).toBe(201);
    for (const behaviour of [{ outcome: 'succeed' }, { outcome: 'fail', failReason: 'ACCOUNT_FROZEN' }, { outcome: 'succeed', fault: 'timeout' }] as const) {
      wx.behave('*', behaviour);
      const wd = await t.call('POST', '/v1/withdrawals', { token: w.key, body: { distributor_id: C.id, amount_fen: 100, channel: 'wechat' } });
      if (wd.statusCode === 201 && wd.data.payout) await t.services.withdrawals.work(wd.data.payout.id);
    }
    wx.behave('*', {});
    expect(wx.paidToFen(`o-${C.id}`), 'a payout went through WeChat Pay').toBeGreaterThan(0);
    await t.app.inject({
      method: 'POST',
      url: '/v1/payouts/callbacks/wechat',
      headers: {
        'content-type': 'application/json',
        'wechatpay-signature': 'forged',
        'wechatpay-serial': 'x',
        'wechatpay-timestamp': '1',
        'wechatpay-nonce': 'n',
      },
      payload: JSON.stringify({ resource: { ciphertext: 'x' } }),
    });

    expect(t.logLines.length).toBeGreaterThan(500);
    const leaks: string[] = [];
    for (const { what, value } of secrets) {
      const variants = [value, JSON.stringify(value).slice(1, -1), encodeURIComponent(value)];
      const line = t.logLines.find((l) => variants.some((v) => l.includes(v)));
      if (line) leaks.push(`${what} (${value.slice(0, 12)}…) in: ${line.slice(0, 300)}`);
    }
    expect(secrets.length).toBeGreaterThan(20);
    expect(leaks).toEqual([]);
  });
});
