import { createHash, randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ManualClock } from '../../src/core/context.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { WechatMpSimulator } from '../support/providers/wechat-mp-server.ts';

/**
 * WeChat 网页授权 sign-in and linking, the JS-SDK signature with its shared ticket cache, against
 * the local simulator of WeChat's endpoints (test/support/providers/wechat-mp-server.ts).
 */

const APP_ID = 'wx1234567890abcdef';
const APP_SECRET = 'a'.repeat(16) + 'B'.repeat(8) + '01234567';
const MASTER_KEY = randomBytes(32).toString('base64');

let sim: WechatMpSimulator;
let t: TestServer;
let tenant: { id: string; key: string; secret: string };

const clock = () => t.clock as ManualClock;
const env = () => ({ FENXIAO_WECHAT_OAUTH_BASE_URL: sim.origin, FENXIAO_WECHAT_API_BASE_URL: sim.origin, FENXIAO_MASTER_KEY: MASTER_KEY });

async function ok(method: string, url: string, opts: { token?: string; body?: unknown; headers?: Record<string, string> } = {}) {
  const res = await t.call(method, url, opts);
  expect(res.statusCode, `${method} ${url}: ${res.body}`).toBeLessThan(300);
  return res;
}

async function newTenant(name: string) {
  const tn = await t.tenant(name);
  const secret = (await ok('POST', '/v1/portal/signing-secret', { token: tn.key })).data.secret as string;
  return { ...tn, secret };
}

async function distributorSession(tn: { id: string; key: string; secret: string }, externalId: string) {
  const d = (await ok('POST', '/v1/distributors', { token: tn.key, body: { external_id: externalId, name: `分销员 ${externalId}` } })).data as { id: string };
  const now = Math.floor(clock().now().getTime() / 1000);
  const jwt = await new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(externalId)
    .setIssuedAt(now)
    .setExpirationTime(now + 300)
    .setJti(`jti-${randomBytes(8).toString('hex')}`)
    .sign(new TextEncoder().encode(tn.secret));
  const s = await ok('POST', '/v1/portal/token-login', { body: { tenant_id: tn.id, token: jwt } });
  return { id: d.id, token: s.data.token as string };
}

function cookieOf(res: { headers: Record<string, unknown> }): string {
  const raw = res.headers['set-cookie'];
  const line = Array.isArray(raw) ? String(raw[0]) : String(raw);
  expect(line).toMatch(/^fenxiao_wx_oauth=[A-Za-z0-9_-]+; Path=\/v1\/; Max-Age=600; HttpOnly; SameSite=Lax$/);
  return line.split(';')[0]!;
}

/** The browser at WeChat: the authorize page consents and redirects back with code and state. */
async function visitWechat(url: string): Promise<{ code: string; state: string }> {
  const res = await fetch(url, { redirect: 'manual' });
  expect(res.status, await res.clone().text()).toBe(302);
  const back = new URL(res.headers.get('location')!);
  expect(`${back.origin}${back.pathname}`).toBe('http://fenxiao.test/portal/wechat/callback');
  return { code: back.searchParams.get('code')!, state: back.searchParams.get('state')! };
}

async function startLogin(tn: { id: string }, scope?: 'snsapi_base' | 'snsapi_userinfo') {
  const res = await ok('POST', '/v1/portal/wechat/authorize', { body: { tenant_id: tn.id, ...(scope ? { scope } : {}), return_to: '/withdraw' } });
  return { cookie: cookieOf(res), url: res.data.url as string, state: res.data.state as string };
}

async function startLink(token: string) {
  const res = await ok('POST', '/v1/me/wechat/authorize', { token, body: {} });
  return { cookie: cookieOf(res), url: res.data.url as string, state: res.data.state as string };
}

beforeAll(async () => {
  sim = await WechatMpSimulator.start({ appId: APP_ID, appSecret: APP_SECRET, oauthDomain: 'fenxiao.test', now: () => t.clock.now().getTime() });
  t = await startTestServer({ env: env() });
  tenant = await newTenant('微信商城');
});

afterAll(async () => {
  await t?.close();
  await sim?.close();
});

describe('WeChat settings', () => {
  it('keeps the app secret encrypted and never answers it', async () => {
    const before = await ok('GET', '/v1/wechat/settings', { token: tenant.key });
    expect(before.data).toMatchObject({
      configured: false,
      app_id: null,
      callback_url: 'http://fenxiao.test/portal/wechat/callback',
      js_safe_domain: 'fenxiao.test',
    });
    // Not set up: the portal cannot start a sign-in.
    expect((await t.call('POST', '/v1/portal/wechat/authorize', { body: { tenant_id: tenant.id } })).statusCode).toBe(409);

    for (const body of [
      { app_id: 'not-an-app-id', app_secret: APP_SECRET },
      { app_id: APP_ID, app_secret: 'short' },
      { app_id: APP_ID, app_secret: APP_SECRET, extra: 1 },
      { app_secret: APP_SECRET },
    ]) {
      const res = await t.call('PUT', '/v1/wechat/settings', { token: tenant.key, body });
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      expect(res.data.error.code).toBe('invalid_request');
    }
    expect((await ok('GET', '/v1/wechat/settings', { token: tenant.key })).data.configured).toBe(false);

    const put = await ok('PUT', '/v1/wechat/settings', { token: tenant.key, body: { app_id: APP_ID, app_secret: APP_SECRET } });
    expect(put.data).toMatchObject({ configured: true, app_id: APP_ID, app_secret_configured: true, payout_app_id: null, payout_app_id_matches: null });
    expect(put.body).not.toContain(APP_SECRET);
    expect((await ok('GET', '/v1/wechat/settings', { token: tenant.key })).body).not.toContain(APP_SECRET);
    const row = await t.database.db.selectFrom('wechat_settings').selectAll().where('tenant_id', '=', tenant.id).executeTakeFirstOrThrow();
    expect(row.app_secret_enc).not.toContain(APP_SECRET);
    // The same app id without a secret keeps it; another app id needs its own.
    await ok('PUT', '/v1/wechat/settings', { token: tenant.key, body: { app_id: APP_ID } });
    expect((await ok('GET', '/v1/wechat/settings', { token: tenant.key })).data.app_secret_configured).toBe(true);
    expect((await t.call('PUT', '/v1/wechat/settings', { token: tenant.key, body: { app_id: 'wxffffffffffffffff' } })).statusCode).toBe(400);
    // Another tenant has its own (none).
    const other = await t.tenant('另一个商户');
    expect((await ok('GET', '/v1/wechat/settings', { token: other.key })).data.configured).toBe(false);
    // The audit log names the change, not the secret.
    const audit = await ok('GET', '/v1/audit-log?action=wechat.settings.put', { token: tenant.key });
    expect(audit.body).toContain('wechat.settings.put');
    expect(audit.body).not.toContain(APP_SECRET);
  });
});

describe('signing in and linking with WeChat (网页授权)', () => {
  it('sends the browser to WeChat with the documented parameters and a one-time state bound to it', async () => {
    const start = await startLogin(tenant);
    const url = new URL(start.url);
    expect(`${url.origin}${url.pathname}`).toBe(`${sim.origin}/connect/oauth2/authorize`);
    expect(url.hash).toBe('#wechat_redirect');
    expect([...url.searchParams.keys()]).toEqual(['appid', 'redirect_uri', 'response_type', 'scope', 'state']);
    expect(Object.fromEntries(url.searchParams)).toEqual({
      appid: APP_ID,
      redirect_uri: 'http://fenxiao.test/portal/wechat/callback',
      response_type: 'code',
      scope: 'snsapi_base',
      state: start.state,
    });
    expect(start.state).toMatch(/^[0-9a-f]{64}$/);
    // Only a hash of the state is kept.
    const rows = await t.database.db.selectFrom('wechat_oauth_states').select('id').where('tenant_id', '=', tenant.id).execute();
    expect(rows.map((r) => r.id)).toContain(createHash('sha256').update(start.state).digest('hex'));
    expect(rows.map((r) => r.id)).not.toContain(start.state);
    // An unknown tenant: 404.
    expect((await t.call('POST', '/v1/portal/wechat/authorize', { body: { tenant_id: 'tnt_nope' } })).statusCode).toBe(404);
    expect((await t.call('POST', '/v1/portal/wechat/authorize', { body: { tenant_id: tenant.id, scope: 'snsapi_login' } })).statusCode).toBe(400);
  });

  it('says an unknown WeChat user is not linked; linking makes the openid sign in and its WeChat payout account', async () => {
    sim.user = { openid: 'oLinkUser00000000000000000001', nickname: '小王' };
    // Unknown openid.
    const first = await startLogin(tenant);
    const back = await visitWechat(first.url);
    expect(back.state).toBe(first.state);
    const unknown = await ok('POST', '/v1/portal/wechat/login', { body: { tenant_id: tenant.id, ...back }, headers: { cookie: first.cookie } });
    expect(unknown.data).toMatchObject({ result: 'not_linked', return_to: '/withdraw' });
    expect(unknown.body).not.toContain('fxs_');

    // The distributor signs in otherwise, then links its WeChat (snsapi_userinfo by default).
    const d = await distributorSession(tenant, 'wx-link-1');
    expect((await ok('GET', '/v1/me/wechat', { token: d.token })).data).toMatchObject({ configured: true, linked: false });
    const link = await startLink(d.token);
    expect(new URL(link.url).searchParams.get('scope')).toBe('snsapi_userinfo');
    const linked = await ok('POST', '/v1/me/wechat/link', { token: d.token, body: await visitWechat(link.url), headers: { cookie: link.cookie } });
    expect(linked.data).toMatchObject({ linked: true, app_id: APP_ID, nickname: '小王', openid_masked: 'oLin*********************0001' });
    expect(linked.body).not.toContain(sim.user.openid);
    expect(sim.count('/sns/userinfo')).toBe(1);

    // The openid is the distributor's WeChat payout account now: confirmed, the default, masked.
    const accounts = (await ok('GET', `/v1/distributors/${d.id}/payout-accounts`, { token: tenant.key })).data as {
      items: Array<{ id: string; channel: string; confirmed: boolean; is_default: boolean; display: string }>;
    };
    expect(accounts.items).toHaveLength(1);
    expect(accounts.items[0]).toMatchObject({ id: linked.data.payout_account_id, channel: 'wechat', confirmed: true, is_default: true });
    expect(JSON.stringify(accounts)).not.toContain(sim.user.openid);
    // Encrypted at rest, both the link and the payout account.
    const { rows } = await sql<{ text: string }>`select concat_ws(' ', i.openid_enc, i.nickname_enc, i.openid_bidx, p.details_enc) as text
      from wechat_identities i join payout_accounts p on p.distributor_id = i.distributor_id where i.distributor_id = ${d.id}`.execute(t.database.db);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.text).not.toContain(sim.user.openid);
    expect(rows[0]!.text).not.toContain('小王');
    // The payout path reads the openid back.
    const decrypted = await t.services.payoutAccounts.decrypt(t.database.db, linked.data.payout_account_id as string);
    expect(decrypted).toEqual({ channel: 'wechat', openid: sim.user.openid, userName: undefined });

    // Linking again (same WeChat) adds nothing.
    const again = await startLink(d.token);
    await ok('POST', '/v1/me/wechat/link', { token: d.token, body: await visitWechat(again.url), headers: { cookie: again.cookie } });
    expect(((await ok('GET', `/v1/distributors/${d.id}/payout-accounts`, { token: tenant.key })).data.items as unknown[]).length).toBe(1);

    // Now WeChat signs the distributor in, silently (snsapi_base).
    const second = await startLogin(tenant);
    const signedIn = await ok('POST', '/v1/portal/wechat/login', {
      body: { tenant_id: tenant.id, ...(await visitWechat(second.url)) },
      headers: { cookie: second.cookie },
    });
    expect(signedIn.data).toMatchObject({ result: 'signed_in', return_to: '/withdraw', session: { tenant_id: tenant.id, distributor_id: d.id } });
    const me = await ok('GET', '/v1/me', { token: signedIn.data.session.token as string });
    expect(me.data.external_id).toBe('wx-link-1');
    expect(sim.count('/sns/userinfo')).toBe(2);

    // Another distributor cannot take the same WeChat.
    const e = await distributorSession(tenant, 'wx-link-2');
    const steal = await startLink(e.token);
    const taken = await t.call('POST', '/v1/me/wechat/link', { token: e.token, body: await visitWechat(steal.url), headers: { cookie: steal.cookie } });
    expect(taken.statusCode).toBe(409);
    expect(taken.data.error.code).toBe('conflict');
    expect(((await ok('GET', `/v1/distributors/${e.id}/payout-accounts`, { token: tenant.key })).data.items as unknown[]).length).toBe(0);
  });

  it('refuses a state that is reused, from another browser, another tenant, another purpose or another session', async () => {
    sim.user = { openid: 'oStateUser0000000000000000001', nickname: '小李' };
    const start = await startLogin(tenant);
    const back = await visitWechat(start.url);
    // No cookie (a code planted in someone else's browser), a wrong one.
    for (const headers of [{}, { cookie: `fenxiao_wx_oauth=${randomBytes(24).toString('base64url')}` }] as Array<Record<string, string>>) {
      const res = await t.call('POST', '/v1/portal/wechat/login', { body: { tenant_id: tenant.id, ...back }, headers });
      expect(res.statusCode).toBe(401);
    }
    // The state was used by the first attempt: the right browser is refused as well, and WeChat was never asked.
    const used = await t.call('POST', '/v1/portal/wechat/login', { body: { tenant_id: tenant.id, ...back }, headers: { cookie: start.cookie } });
    expect(used.statusCode).toBe(401);
    expect(sim.codes.get(back.code)?.used).toBe(false);

    // A state made up, or of another tenant.
    const other = await newTenant('别家商户');
    await ok('PUT', '/v1/wechat/settings', { token: other.key, body: { app_id: APP_ID, app_secret: APP_SECRET } });
    const fresh = await startLogin(tenant);
    const freshBack = await visitWechat(fresh.url);
    const cross = await t.call('POST', '/v1/portal/wechat/login', { body: { tenant_id: other.id, ...freshBack }, headers: { cookie: fresh.cookie } });
    expect(cross.statusCode).toBe(401);
    const madeUp = await t.call('POST', '/v1/portal/wechat/login', {
      body: { tenant_id: tenant.id, code: freshBack.code, state: randomBytes(32).toString('hex') },
      headers: { cookie: fresh.cookie },
    });
    expect(madeUp.statusCode).toBe(401);
    // Malformed: 400.
    expect((await t.call('POST', '/v1/portal/wechat/login', { body: { tenant_id: tenant.id, code: 'x', state: 'abc' } })).statusCode).toBe(400);

    // A link round trip cannot be finished as a login, nor by another distributor's session.
    const d = await distributorSession(tenant, 'wx-state-1');
    const e = await distributorSession(tenant, 'wx-state-2');
    const link = await startLink(d.token);
    const linkBack = await visitWechat(link.url);
    expect(
      (await t.call('POST', '/v1/portal/wechat/login', { body: { tenant_id: tenant.id, ...linkBack }, headers: { cookie: link.cookie } })).statusCode,
    ).toBe(401);
    const link2 = await startLink(d.token);
    const link2Back = await visitWechat(link2.url);
    expect((await t.call('POST', '/v1/me/wechat/link', { token: e.token, body: link2Back, headers: { cookie: link2.cookie } })).statusCode).toBe(401);
    expect((await ok('GET', '/v1/me/wechat', { token: e.token })).data.linked).toBe(false);
    // Expired: ten minutes.
    const late = await startLogin(tenant);
    const lateBack = await visitWechat(late.url);
    clock().advance(10 * 60_000 + 1000);
    expect(
      (await t.call('POST', '/v1/portal/wechat/login', { body: { tenant_id: tenant.id, ...lateBack }, headers: { cookie: late.cookie } })).statusCode,
    ).toBe(401);
  });

  it("answers WeChat's refusals by their codes: a bad or used code is a 400, a bad secret a 503, a snapshot openid a 409", async () => {
    sim.user = { openid: 'oCodeUser00000000000000000001', nickname: '小张' };
    // 40029 invalid code.
    let s = await startLogin(tenant);
    await visitWechat(s.url);
    let res = await t.call('POST', '/v1/portal/wechat/login', {
      body: { tenant_id: tenant.id, code: 'no-such-code', state: s.state },
      headers: { cookie: s.cookie },
    });
    expect(res.statusCode).toBe(400);
    expect(res.data.error.message).toContain('40029');
    // 40163 code been used.
    s = await startLogin(tenant);
    const back = await visitWechat(s.url);
    await ok('POST', '/v1/portal/wechat/login', { body: { tenant_id: tenant.id, ...back }, headers: { cookie: s.cookie } });
    const s2 = await startLogin(tenant);
    await visitWechat(s2.url);
    res = await t.call('POST', '/v1/portal/wechat/login', { body: { tenant_id: tenant.id, code: back.code, state: s2.state }, headers: { cookie: s2.cookie } });
    expect(res.statusCode).toBe(400);
    expect(res.data.error.message).toContain('40163');
    // 42003 code expired (five minutes at WeChat).
    s = await startLogin(tenant);
    const slow = await visitWechat(s.url);
    clock().advance(5 * 60_000 + 1000);
    res = await t.call('POST', '/v1/portal/wechat/login', { body: { tenant_id: tenant.id, ...slow }, headers: { cookie: s.cookie } });
    expect(res.statusCode).toBe(400);
    expect(res.data.error.message).toContain('42003');
    // 快照页: a virtual openid is never linked or signed in.
    sim.user = { openid: 'oSnapshot00000000000000000001', nickname: '', snapshot: true };
    s = await startLogin(tenant);
    res = await t.call('POST', '/v1/portal/wechat/login', { body: { tenant_id: tenant.id, ...(await visitWechat(s.url)) }, headers: { cookie: s.cookie } });
    expect(res.statusCode).toBe(409);
    // 40125 invalid appsecret: the merchant's settings are wrong, not the user.
    const wrong = await newTenant('配错密钥的商户');
    await ok('PUT', '/v1/wechat/settings', { token: wrong.key, body: { app_id: APP_ID, app_secret: 'Z'.repeat(32) } });
    s = await startLogin(wrong);
    res = await t.call('POST', '/v1/portal/wechat/login', { body: { tenant_id: wrong.id, ...(await visitWechat(s.url)) }, headers: { cookie: s.cookie } });
    expect(res.statusCode).toBe(503);
    expect(res.data.error.code).toBe('service_unavailable');
    expect(res.body).not.toContain('Z'.repeat(32));
  });

  it('erasing a distributor removes its WeChat link', async () => {
    sim.user = { openid: 'oEraseUser0000000000000000001', nickname: '小赵' };
    const d = await distributorSession(tenant, 'wx-erase');
    const link = await startLink(d.token);
    await ok('POST', '/v1/me/wechat/link', { token: d.token, body: await visitWechat(link.url), headers: { cookie: link.cookie } });
    await ok('POST', `/v1/distributors/${d.id}/erase`, { token: tenant.key, body: { reason: '本人申请注销' } });
    const left = await t.database.db.selectFrom('wechat_identities').select('id').where('distributor_id', '=', d.id).execute();
    expect(left).toEqual([]);
    const s = await startLogin(tenant);
    const res = await ok('POST', '/v1/portal/wechat/login', { body: { tenant_id: tenant.id, ...(await visitWechat(s.url)) }, headers: { cookie: s.cookie } });
    expect(res.data.result).toBe('not_linked');
  });
});

describe('JS-SDK signature', () => {
  beforeAll(async () => {
    await ok('PUT', '/v1/wechat/settings', { token: tenant.key, body: { app_id: APP_ID, app_secret: APP_SECRET } });
  });
  const sha1 = (s: string) => createHash('sha1').update(s).digest('hex');

  it('signs the page with the jsapi_ticket, fetched once and shared by every process until shortly before it expires', async () => {
    const d = await distributorSession(tenant, 'wx-js-1');
    const tokensBefore = sim.count('/cgi-bin/token');
    const ticketsBefore = sim.count('/cgi-bin/ticket/getticket');
    const page = 'http://fenxiao.test/portal/?tenant=' + tenant.id + '#/invite';
    const cfg = (await ok('POST', '/v1/me/wechat/js-config', { token: d.token, body: { url: page } })).data as {
      app_id: string;
      timestamp: number;
      nonce_str: string;
      signature: string;
      url: string;
    };
    expect(cfg.app_id).toBe(APP_ID);
    expect(cfg.url).toBe(`http://fenxiao.test/portal/?tenant=${tenant.id}`);
    expect(cfg.timestamp).toBe(Math.floor(clock().now().getTime() / 1000));
    expect(cfg.nonce_str).toMatch(/^[A-Za-z0-9]{16}$/);
    const ticket = sim.currentTicket()!;
    expect(cfg.signature).toBe(sha1(`jsapi_ticket=${ticket}&noncestr=${cfg.nonce_str}&timestamp=${cfg.timestamp}&url=${cfg.url}`));
    expect(sim.count('/cgi-bin/token') - tokensBefore).toBe(1);
    expect(sim.count('/cgi-bin/ticket/getticket') - ticketsBefore).toBe(1);
    // The token went to WeChat with the secret; the cache holds both encrypted.
    const cachedRows = await t.database.db.selectFrom('wechat_api_tokens').selectAll().where('tenant_id', '=', tenant.id).execute();
    expect(cachedRows.map((r) => r.kind).sort()).toEqual(['access_token', 'jsapi_ticket']);
    expect(JSON.stringify(cachedRows)).not.toContain(ticket);

    // Many pages at once, and a second server process on the same database: no new fetch.
    await Promise.all(Array.from({ length: 5 }, () => ok('POST', '/v1/me/wechat/js-config', { token: d.token, body: { url: page } })));
    const t2 = await startTestServer({ env: env(), database: t.database, clock: t.clock });
    try {
      const res = await t2.call('POST', '/v1/me/wechat/js-config', { token: d.token, body: { url: 'http://fenxiao.test/portal/withdraw' } });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.data.signature).toBe(
        sha1(`jsapi_ticket=${ticket}&noncestr=${res.data.nonce_str}&timestamp=${res.data.timestamp}&url=http://fenxiao.test/portal/withdraw`),
      );
    } finally {
      await t2.close();
    }
    expect(sim.count('/cgi-bin/token') - tokensBefore).toBe(1);
    expect(sim.count('/cgi-bin/ticket/getticket') - ticketsBefore).toBe(1);

    // Still fresh 6 minutes before expiry; replaced within the last 5.
    clock().advance((7200 - 360) * 1000);
    await ok('POST', '/v1/me/wechat/js-config', { token: d.token, body: { url: page } });
    expect(sim.count('/cgi-bin/ticket/getticket') - ticketsBefore).toBe(1);
    clock().advance(120 * 1000);
    const renewed = (await ok('POST', '/v1/me/wechat/js-config', { token: d.token, body: { url: page } })).data;
    expect(sim.count('/cgi-bin/token') - tokensBefore).toBe(2);
    expect(sim.count('/cgi-bin/ticket/getticket') - ticketsBefore).toBe(2);
    const newTicket = sim.currentTicket()!;
    expect(newTicket).not.toBe(ticket);
    expect(renewed.signature).toBe(sha1(`jsapi_ticket=${newTicket}&noncestr=${renewed.nonce_str}&timestamp=${renewed.timestamp}&url=${renewed.url}`));
  });

  it('fetches a new access_token once when WeChat says the cached one is no longer valid (40001)', async () => {
    const d = await distributorSession(tenant, 'wx-js-2');
    sim.expireCredentials();
    clock().advance(7200 * 1000);
    // The cached access_token looks fresh to Fenxiao only if it was fetched later: make it so, then WeChat refuses it.
    const tokensBefore = sim.count('/cgi-bin/token');
    await ok('POST', '/v1/me/wechat/js-config', { token: d.token, body: { url: 'http://fenxiao.test/portal/' } });
    expect(sim.count('/cgi-bin/token') - tokensBefore).toBe(1);
    // The ticket expires early at WeChat's end; the access token is refused once.
    await t.database.db.deleteFrom('wechat_api_tokens').where('tenant_id', '=', tenant.id).where('kind', '=', 'jsapi_ticket').execute();
    sim.failNext.set('/cgi-bin/ticket/getticket', { errcode: 40001, errmsg: 'invalid credential, access_token is invalid or not latest' });
    const res = await ok('POST', '/v1/me/wechat/js-config', { token: d.token, body: { url: 'http://fenxiao.test/portal/' } });
    expect(sim.count('/cgi-bin/token') - tokensBefore).toBe(2);
    expect(res.data.signature).toBe(
      sha1(`jsapi_ticket=${sim.currentTicket()!}&noncestr=${res.data.nonce_str}&timestamp=${res.data.timestamp}&url=http://fenxiao.test/portal/`),
    );
  });

  it('signs only pages of this server, for a distributor, and says so when WeChat is not set up', async () => {
    const d = await distributorSession(tenant, 'wx-js-3');
    for (const url of ['https://evil.test/portal/', 'not a url', 'http://fenxiao.test.evil.test/']) {
      const res = await t.call('POST', '/v1/me/wechat/js-config', { token: d.token, body: { url } });
      expect(res.statusCode, url).toBe(400);
    }
    expect((await t.call('POST', '/v1/me/wechat/js-config', { token: d.token, body: { url: 'http://fenxiao.test/', x: 1 } })).statusCode).toBe(400);
    expect((await t.call('POST', '/v1/me/wechat/js-config', { token: tenant.key, body: { url: 'http://fenxiao.test/' } })).statusCode).toBe(403);
    expect((await t.call('POST', '/v1/me/wechat/js-config', { body: { url: 'http://fenxiao.test/' } })).statusCode).toBe(401);
    const bare = await newTenant('没配微信的商户');
    const e = await distributorSession(bare, 'wx-js-4');
    expect((await t.call('POST', '/v1/me/wechat/js-config', { token: e.token, body: { url: 'http://fenxiao.test/' } })).statusCode).toBe(409);
    // The transfer confirmation is for a WeChat withdrawal waiting for its payee only.
    expect((await t.call('GET', '/v1/me/withdrawals/wd_nope/wechat-confirmation', { token: e.token })).statusCode).toBe(404);
  });
});

describe("the portal's question: is WeChat sign-in offered", () => {
  it('answers for a tenant with and without WeChat, and for an unknown one', async () => {
    await ok('PUT', '/v1/wechat/settings', { token: tenant.key, body: { app_id: APP_ID, app_secret: APP_SECRET } });
    expect((await ok('GET', `/v1/portal/wechat?tenant_id=${tenant.id}`)).data).toEqual({ enabled: true });
    const bare = await t.tenant('没有公众号');
    expect((await ok('GET', `/v1/portal/wechat?tenant_id=${bare.id}`)).data).toEqual({ enabled: false });
    expect((await ok('GET', '/v1/portal/wechat?tenant_id=tnt_unknown')).data).toEqual({ enabled: false });
    expect((await t.call('GET', '/v1/portal/wechat?tenant_id=bad-id!')).statusCode).toBe(400);
  });
});
