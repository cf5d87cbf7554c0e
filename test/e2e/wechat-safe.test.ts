/**
 * The WeChat-safe profile (program.profile wechat_safe): at most two levels paid from a sale
 * (levels ≤ 1), refused as compliance_violation otherwise (and switching it on while levels are
 * above 1); the compliance report states and checks the profile; the portal (GET /v1/me) and the
 * posters use wording without 下线, 团队, levels … (the portal's own wording is in the browser test).
 */
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forbiddenWordsIn, WECHAT_FORBIDDEN_WORDS } from '../../src/modules/compliance/rules.ts';
import { POSTER_TEXT, posterSvg } from '../../src/modules/portal/poster.ts';
import { messages } from '../../web/portal/src/messages.ts';
import { wechatSafeEn, wechatSafeZh } from '../../web/portal/src/messages-wechat-safe.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.close();
});

describe('the profile on the program', () => {
  it('cannot be switched on while levels are above 1, and keeps levels at most 1 once on', async () => {
    const { key } = await t.tenant();
    expect((await t.call('GET', '/v1/program', { token: key })).data).toMatchObject({ levels: 2, profile: 'standard' });
    const refused = await t.call('PUT', '/v1/program', { token: key, body: { profile: 'wechat_safe' }, headers: { 'accept-language': 'zh-CN' } });
    expect(refused.statusCode).toBe(422);
    expect(refused.data.error.code).toBe('compliance_violation');
    expect(refused.data.error.message).toContain('多级分销');
    expect((await t.call('GET', '/v1/program', { token: key })).data.profile).toBe('standard');

    // Both at once is fine: the patch is checked whole.
    const on = await t.call('PUT', '/v1/program', { token: key, body: { profile: 'wechat_safe', levels: 1 } });
    expect(on.statusCode).toBe(200);
    expect(on.data).toMatchObject({ profile: 'wechat_safe', levels: 1 });
    const up = await t.call('PUT', '/v1/program', { token: key, body: { levels: 2 }, headers: { 'accept-language': 'en' } });
    expect(up.statusCode).toBe(422);
    expect(up.data.error).toMatchObject({ code: 'compliance_violation' });
    expect(up.data.error.message).toContain('wechat_safe allows at most 1 level');
    // Scheduled changes and pilots obey it too.
    expect((await t.call('PUT', '/v1/program?effective_from=2030-01-01T00:00:00Z', { token: key, body: { levels: 3 } })).statusCode).toBe(422);
    const pilot = await t.call('POST', '/v1/pilots', { token: key, body: { name: 'p', cohort: { percent: 50 }, program: { levels: 2 } } });
    expect(pilot.statusCode).toBe(422);
    expect((await t.call('PUT', '/v1/program', { token: key, body: { levels: 0 } })).statusCode).toBe(200);
    // Off again, levels may go up.
    expect((await t.call('PUT', '/v1/program', { token: key, body: { profile: 'standard', levels: 3 } })).statusCode).toBe(200);
  });

  it('pays at most the seller and its direct referrer', async () => {
    const { key } = await t.tenant();
    await t.call('PUT', '/v1/program', { token: key, body: { profile: 'wechat_safe', levels: 1 } });
    await t.call('PUT', '/v1/grades/default', { token: key, body: { name: '普通', rank: 0, sales_bp: 1000, override_bp: [500, 300, 200] } });
    const mk = async (external_id: string, referrer_code?: string) =>
      (await t.call('POST', '/v1/distributors', { token: key, body: { external_id, name: external_id, ...(referrer_code ? { referrer_code } : {}) } })).data;
    const a = await mk('A');
    const b = await mk('B', a.invite_code);
    const c = await mk('C', b.invite_code);
    const order = await t.call('POST', '/v1/orders', {
      token: key,
      body: {
        external_id: 'w-1',
        buyer_external_id: 'x',
        invite_code: c.invite_code,
        items: [{ sku: 's', quantity: 1, unit_price_fen: 10000, paid_fen: 10000 }],
      },
    });
    expect(order.data.commissions.map((l: { beneficiary_id: string; level: number }) => [l.beneficiary_id, l.level])).toEqual([
      [c.id, 0],
      [b.id, 1],
    ]);
  });
});

describe('the compliance report', () => {
  it('states the profile and checks it', async () => {
    const { key } = await t.tenant();
    const standard = (await t.call('GET', '/v1/compliance/report', { token: key })).data;
    const ruleOf = (r: { rules: { rule: string }[] }) => r.rules.find((x) => x.rule === 'wechat_profile') as Record<string, unknown>;
    expect(ruleOf(standard)).toMatchObject({ status: 'compliant', setting: { profile: 'standard', levels: 2 } });
    // The rule cited as WeChat's own violation notices cite it (docs/wechat.md).
    expect(ruleOf(standard).detail).toContain('《微信小程序平台运营规范》5.行为规范-5.9多级分销经营行为');
    expect(ruleOf(standard).detail).toContain('https://developers.weixin.qq.com/miniprogram/product/');
    await t.call('PUT', '/v1/program', { token: key, body: { profile: 'wechat_safe', levels: 1 } });
    const safe = (await t.call('GET', '/v1/compliance/report', { token: key })).data;
    expect(safe.compliant).toBe(true);
    expect(ruleOf(safe)).toMatchObject({
      status: 'compliant',
      title: { zh: '微信内经营：不做多级分销（至多两级）', en: 'Inside WeChat: no multi-level distribution (at most two levels)' },
      setting: { profile: 'wechat_safe', levels: 1 },
    });
    expect(ruleOf(safe).detail).toContain('profile wechat_safe');
    expect(ruleOf(safe).detail).toContain('5.9多级分销经营行为');
  });
});

describe('the wording', () => {
  it('the portal tells the distributor the profile, and its safe messages hold no forbidden word where the standard ones do', async () => {
    const tenant = await t.tenant();
    const secret = (await t.call('POST', '/v1/portal/signing-secret', { token: tenant.key })).data.secret as string;
    await t.call('POST', '/v1/distributors', { token: tenant.key, body: { external_id: 'p-1', name: '小王' } });
    const jwt = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuedAt(Math.floor(t.clock.now().getTime() / 1000))
      .setExpirationTime(Math.floor(t.clock.now().getTime() / 1000) + 300)
      .setSubject('p-1')
      .setJti('jti-wechat-safe')
      .sign(new TextEncoder().encode(secret));
    const login = await t.call('POST', '/v1/portal/token-login', { body: { tenant_id: tenant.id, token: jwt } });
    expect(login.statusCode, login.body).toBe(200);
    const session = login.data.token as string;
    expect((await t.call('GET', '/v1/me', { token: session })).data.program_profile).toBe('standard');
    await t.call('PUT', '/v1/program', { token: tenant.key, body: { profile: 'wechat_safe', levels: 1 } });
    expect((await t.call('GET', '/v1/me', { token: session })).data.program_profile).toBe('wechat_safe');
    const poster = await t.call('GET', '/v1/me/poster.png', { token: session });
    expect(poster.statusCode).toBe(200);

    // Every portal message with a forbidden word has a safe replacement, in both languages, and none of those has one.
    const zh = messages['zh-CN'] as Record<string, string>;
    const flagged = Object.keys(zh).filter((k) => forbiddenWordsIn(zh[k]!).length > 0);
    expect(flagged.length).toBeGreaterThan(0);
    for (const k of flagged) expect(Object.keys(wechatSafeZh), k).toContain(k);
    expect(Object.keys(wechatSafeEn).sort()).toEqual(Object.keys(wechatSafeZh).sort());
    for (const text of Object.values(wechatSafeZh)) expect(forbiddenWordsIn(text!), text).toEqual([]);
    for (const text of Object.values(wechatSafeEn)) expect(text).not.toMatch(/downline|team|level|recruit/i);
    expect(WECHAT_FORBIDDEN_WORDS).toEqual(expect.arrayContaining(['下线', '拉人头']));
  });

  it('the poster recommends the shop under the safe profile, and invites to join otherwise', () => {
    const input = { distributorName: '小王', tenantName: '好物商城', inviteCode: 'K7Q2XM', inviteUrl: 'http://fenxiao.test/i/K7Q2XM', lang: 'zh-CN' as const };
    const safe = posterSvg({ ...input, wording: 'wechat_safe' });
    const standard = posterSvg(input);
    expect(standard).toContain('邀请你加入');
    expect(safe).not.toContain('加入');
    expect(safe).toContain('为你推荐');
    for (const lang of ['zh-CN', 'en'] as const) {
      const text = POSTER_TEXT.wechat_safe[lang];
      for (const s of [text.invites('好物商城'), text.code, text.scan]) {
        expect(forbiddenWordsIn(s), s).toEqual([]);
        expect(s).not.toMatch(/join|加入/i);
      }
    }
  });
});
