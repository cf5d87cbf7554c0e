import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SignJWT, UnsecuredJWT } from 'jose';
import QRCode from 'qrcode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ManualClock } from '../../src/core/context.ts';
import { createHttp } from '../../src/app/http.ts';
import { registerWeb } from '../../src/app/web.ts';
import { fitText, posterSvg, sniffImage, xmlText } from '../../src/modules/portal/poster.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { applyInPortal } from '../support/portal.ts';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.close();
});

const clock = () => t.clock as ManualClock;
const nowSeconds = () => Math.floor(clock().now().getTime() / 1000);

async function mint(secret: string, claims: { sub?: string; jti?: string | null; iat?: number; exp?: number; alg?: string }) {
  const iat = claims.iat ?? nowSeconds();
  let jwt = new SignJWT({})
    .setProtectedHeader({ alg: claims.alg ?? 'HS256' })
    .setIssuedAt(iat)
    .setExpirationTime(claims.exp ?? iat + 300);
  if (claims.sub !== undefined) jwt = jwt.setSubject(claims.sub);
  if (claims.jti !== null) jwt = jwt.setJti(claims.jti ?? `jti-${Math.random().toString(36).slice(2)}-${Date.now()}`);
  return jwt.sign(new TextEncoder().encode(secret));
}

async function tenantWithSecret(name = 'Portal merchant') {
  const tenant = await t.tenant(name);
  const res = await t.call('POST', '/v1/portal/signing-secret', { token: tenant.key });
  expect(res.statusCode).toBe(201);
  return { ...tenant, secret: res.data.secret as string };
}

async function distributor(key: string, body: Record<string, unknown>) {
  const res = await t.call('POST', '/v1/distributors', { token: key, body });
  expect(res.statusCode, res.body).toBe(201);
  return res.data as { id: string; invite_code: string; external_id: string; name: string };
}

async function tokenSession(tenant: { id: string; secret: string }, externalId: string): Promise<string> {
  const res = await t.call('POST', '/v1/portal/token-login', { body: { tenant_id: tenant.id, token: await mint(tenant.secret, { sub: externalId }) } });
  expect(res.statusCode, res.body).toBe(200);
  return res.data.token;
}

function pngSize(buf: Buffer) {
  expect(buf.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
  expect(buf.subarray(12, 16).toString('latin1')).toBe('IHDR');
  return { width: buf.readUInt32BE(16), height: buf.readUInt32BE(20) };
}

describe('portal signing secret', () => {
  it('is created by the tenant, shown once, stored encrypted, and rotation retires the old one', async () => {
    const tenant = await t.tenant();
    expect((await t.call('POST', '/v1/portal/signing-secret')).statusCode).toBe(401);
    const before = await t.call('GET', '/v1/portal/settings', { token: tenant.key });
    expect(before.data).toEqual({
      signing_secret: { configured: false, created_at: null },
      poster_background: { configured: false, content_type: null, updated_at: null },
    });
    const first = await t.call('POST', '/v1/portal/signing-secret', { token: tenant.key });
    expect(first.statusCode).toBe(201);
    expect(first.data.secret).toMatch(/^fxp_[A-Za-z0-9_-]{40,}$/);
    const row = await t.database.db.selectFrom('portal_settings').selectAll().where('tenant_id', '=', tenant.id).executeTakeFirstOrThrow();
    expect(row.signing_secret_enc).not.toContain(first.data.secret.slice(4));
    expect(row.signing_secret_enc).toMatch(/^v1\./);
    expect((await t.call('GET', '/v1/portal/settings', { token: tenant.key })).data.signing_secret.configured).toBe(true);

    await distributor(tenant.key, { external_id: 'rot-1', name: 'R' });
    const oldToken = await mint(first.data.secret, { sub: 'rot-1' });
    const second = await t.call('POST', '/v1/portal/signing-secret', { token: tenant.key });
    expect(second.data.secret).not.toBe(first.data.secret);
    expect((await t.call('POST', '/v1/portal/token-login', { body: { tenant_id: tenant.id, token: oldToken } })).statusCode).toBe(401);
    const fresh = await mint(second.data.secret, { sub: 'rot-1' });
    expect((await t.call('POST', '/v1/portal/token-login', { body: { tenant_id: tenant.id, token: fresh } })).statusCode).toBe(200);
    const audit = await t.call('GET', '/v1/audit-log?target_type=portal', { token: tenant.key });
    expect(audit.data.items.map((e: { action: string }) => e.action)).toEqual(['portal.signing_secret.rotate', 'portal.signing_secret.create']);
    expect(JSON.stringify(audit.data)).not.toContain(second.data.secret);
  });

  it('needs keys:write: an operator may not rotate it', async () => {
    const tenant = await t.tenant();
    await t.call('POST', '/v1/admin-users', { token: tenant.key, body: { email: 'op@example.com', password: 'operator-password-1', role: 'operator' } });
    const login = await t.call('POST', '/v1/auth/login', { body: { tenant_id: tenant.id, email: 'op@example.com', password: 'operator-password-1' } });
    expect(login.statusCode).toBe(200);
    const res = await t.call('POST', '/v1/portal/signing-secret', { token: login.data.token });
    expect(res.statusCode).toBe(403);
    expect((await t.call('GET', '/v1/portal/settings', { token: login.data.token })).statusCode).toBe(200);
  });
});

describe('portal token login', () => {
  it('logs in with a fresh token and /v1/me answers the distributor itself', async () => {
    const tenant = await tenantWithSecret('Token 商城');
    const d = await distributor(tenant.key, { external_id: 'tok-a', name: '王小明', phone: '13800138000' });
    const res = await t.call('POST', '/v1/portal/token-login', { body: { tenant_id: tenant.id, token: await mint(tenant.secret, { sub: 'tok-a' }) } });
    expect(res.statusCode).toBe(200);
    expect(res.data).toEqual({ token: expect.stringMatching(/^fxs_/), expires_at: expect.any(String), tenant_id: tenant.id, distributor_id: d.id });
    const me = await t.call('GET', '/v1/me', { token: res.data.token });
    expect(me.statusCode).toBe(200);
    expect(me.data).toMatchObject({
      id: d.id,
      external_id: 'tok-a',
      name: '王小明',
      phone: '138****8000',
      has_password: false,
      tenant_name: 'Token 商城',
      status: 'active',
    });
  });

  it('refuses a replayed token: each jti logs in once', async () => {
    const tenant = await tenantWithSecret();
    await distributor(tenant.key, { external_id: 'tok-r', name: 'R' });
    const token = await mint(tenant.secret, { sub: 'tok-r', jti: 'one-time-jti-0001' });
    expect((await t.call('POST', '/v1/portal/token-login', { body: { tenant_id: tenant.id, token } })).statusCode).toBe(200);
    const again = await t.call('POST', '/v1/portal/token-login', { body: { tenant_id: tenant.id, token } });
    expect(again.statusCode).toBe(401);
    expect(again.data.error).toEqual({ code: 'unauthorized', message: 'this login token was already used' });
    // Another token with the same jti is a replay too.
    const sameJti = await mint(tenant.secret, { sub: 'tok-r', jti: 'one-time-jti-0001', iat: nowSeconds() - 5 });
    expect((await t.call('POST', '/v1/portal/token-login', { body: { tenant_id: tenant.id, token: sameJti } })).statusCode).toBe(401);
  });

  it('refuses expired, long-lived, future, forged and incomplete tokens', async () => {
    const tenant = await tenantWithSecret();
    const other = await tenantWithSecret();
    await distributor(tenant.key, { external_id: 'tok-x', name: 'X' });
    const now = nowSeconds();
    const cases: [string, string, RegExp][] = [
      ['expired', await mint(tenant.secret, { sub: 'tok-x', iat: now - 900, exp: now - 60 }), /expired/],
      ['lives too long', await mint(tenant.secret, { sub: 'tok-x', iat: now, exp: now + 3600 }), /invalid login token/],
      ['issued in the future', await mint(tenant.secret, { sub: 'tok-x', iat: now + 600, exp: now + 700 }), /invalid login token/],
      ['issued too long ago', await mint(tenant.secret, { sub: 'tok-x', iat: now - 1200, exp: now + 60 }), /expired|invalid/],
      ["signed with another tenant's secret", await mint(other.secret, { sub: 'tok-x' }), /invalid login token/],
      ['signed with a guessed secret', await mint('fxp_not-the-secret-at-all-0123456789abcdef', { sub: 'tok-x' }), /invalid login token/],
      ['HS512', await mint(tenant.secret + tenant.secret, { sub: 'tok-x', alg: 'HS512' }), /invalid login token/],
      ['no jti', await mint(tenant.secret, { sub: 'tok-x', jti: null }), /jti/],
      ['no sub', await mint(tenant.secret, {}), /sub/],
      ['short jti', await mint(tenant.secret, { sub: 'tok-x', jti: 'abc' }), /jti/],
      ['unknown distributor', await mint(tenant.secret, { sub: 'nobody' }), /external_id/],
      [
        'alg none',
        new UnsecuredJWT({ sub: 'tok-x', jti: 'unsigned-jti-000' })
          .setIssuedAt(now)
          .setExpirationTime(now + 60)
          .encode(),
        /invalid login token/,
      ],
      ['garbage', 'not.a.jwt-at-all-really', /invalid login token/],
    ];
    // A valid token with its payload swapped for another subject's.
    const good = await mint(tenant.secret, { sub: 'tok-x' });
    const [h, , sig] = good.split('.');
    const payload = Buffer.from(JSON.stringify({ sub: 'someone-else', iat: now, exp: now + 60, jti: 'tampered-jti-0001' })).toString('base64url');
    cases.push(['tampered payload', `${h}.${payload}.${sig}`, /invalid login token/]);
    for (const [label, token, message] of cases) {
      const res = await t.call('POST', '/v1/portal/token-login', { body: { tenant_id: tenant.id, token } });
      expect(res.statusCode, label).toBe(401);
      expect(res.data.error.code, label).toBe('unauthorized');
      expect(res.data.error.message, label).toMatch(message);
    }
    expect(await t.database.db.selectFrom('portal_token_uses').selectAll().where('tenant_id', '=', tenant.id).execute()).toEqual([]);
    // The good one still works: nothing above used it up.
    expect((await t.call('POST', '/v1/portal/token-login', { body: { tenant_id: tenant.id, token: good } })).statusCode).toBe(200);
  });

  it('answers 401 when token login is not set up, 404 for an unknown tenant, 400 for bad bodies', async () => {
    const plain = await t.tenant();
    await distributor(plain.key, { external_id: 'ns', name: 'N' });
    const res = await t.call('POST', '/v1/portal/token-login', { body: { tenant_id: plain.id, token: await mint('whatever-secret-value-xx', { sub: 'ns' }) } });
    expect(res.statusCode).toBe(401);
    expect(res.data.error.message).toMatch(/not set up/);
    expect((await t.call('POST', '/v1/portal/token-login', { body: { tenant_id: 'tnt_NOPE', token: 'x'.repeat(20) } })).statusCode).toBe(404);
    for (const body of [
      { tenant_id: plain.id },
      { tenant_id: plain.id, token: 'x'.repeat(20), extra: 1 },
      { tenant_id: 5, token: 'x'.repeat(20) },
      { tenant_id: 'a b', token: 'x'.repeat(20) },
    ]) {
      const bad = await t.call('POST', '/v1/portal/token-login', { body });
      expect(bad.statusCode, JSON.stringify(body)).toBe(400);
      expect(bad.data.error.code).toBe('invalid_request');
    }
  });

  it('a token of one tenant does not log in at another', async () => {
    const one = await tenantWithSecret();
    const two = await tenantWithSecret();
    await distributor(one.key, { external_id: 'shared-id', name: 'One' });
    await distributor(two.key, { external_id: 'shared-id', name: 'Two' });
    const token = await mint(one.secret, { sub: 'shared-id' });
    expect((await t.call('POST', '/v1/portal/token-login', { body: { tenant_id: two.id, token } })).statusCode).toBe(401);
    const ok = await t.call('POST', '/v1/portal/token-login', { body: { tenant_id: one.id, token } });
    expect((await t.call('GET', '/v1/me', { token: ok.data.token })).data.name).toBe('One');
  });
});

describe('portal password login', () => {
  it('sets a password in a session, logs in by phone, and locks after five failures', async () => {
    const tenant = await tenantWithSecret();
    const d = await distributor(tenant.key, { external_id: 'pw-1', name: 'P', phone: '139 0000 1111' });
    const session = await tokenSession(tenant, 'pw-1');
    const short = await t.call('POST', '/v1/portal/password', { token: session, body: { password: 'short' } });
    expect(short.statusCode).toBe(400);
    const set = await t.call('POST', '/v1/portal/password', { token: session, body: { password: 'correct horse' } });
    expect(set.statusCode).toBe(200);
    expect((await t.call('GET', '/v1/me', { token: session })).data.has_password).toBe(true);
    const cred = await t.database.db.selectFrom('portal_credentials').selectAll().where('distributor_id', '=', d.id).executeTakeFirstOrThrow();
    expect(cred.password_hash).toMatch(/^scrypt\$/);

    const login = await t.call('POST', '/v1/portal/login', { body: { tenant_id: tenant.id, phone: '13900001111', password: 'correct horse' } });
    expect(login.statusCode).toBe(200);
    expect(login.data.distributor_id).toBe(d.id);
    expect((await t.call('GET', '/v1/me', { token: login.data.token })).data.id).toBe(d.id);

    const unknown = await t.call('POST', '/v1/portal/login', { body: { tenant_id: tenant.id, phone: '13900009999', password: 'correct horse' } });
    expect(unknown.statusCode).toBe(401);
    for (let i = 0; i < 5; i++) {
      const wrong = await t.call('POST', '/v1/portal/login', { body: { tenant_id: tenant.id, phone: '13900001111', password: `wrong ${i}` } });
      expect(wrong.statusCode).toBe(401);
      expect(wrong.data.error.message).toBe('wrong phone or password');
    }
    const locked = await t.call('POST', '/v1/portal/login', { body: { tenant_id: tenant.id, phone: '13900001111', password: 'correct horse' } });
    expect(locked.statusCode).toBe(429);
    expect(locked.data.error.code).toBe('rate_limited');
    clock().advance(16 * 60_000);
    const after = await t.call('POST', '/v1/portal/login', { body: { tenant_id: tenant.id, phone: '13900001111', password: 'correct horse' } });
    expect(after.statusCode).toBe(200);
  });

  it('changing the password needs the current one and ends the other sessions', async () => {
    const tenant = await tenantWithSecret();
    await distributor(tenant.key, { external_id: 'pw-2', name: 'Q', phone: '13900002222' });
    const first = await tokenSession(tenant, 'pw-2');
    await t.call('POST', '/v1/portal/password', { token: first, body: { password: 'first password' } });
    const second = (await t.call('POST', '/v1/portal/login', { body: { tenant_id: tenant.id, phone: '13900002222', password: 'first password' } })).data.token;
    expect((await t.call('POST', '/v1/portal/password', { token: second, body: { password: 'second password' } })).statusCode).toBe(400);
    expect(
      (await t.call('POST', '/v1/portal/password', { token: second, body: { password: 'second password', current_password: 'nope nope' } })).statusCode,
    ).toBe(403);
    const changed = await t.call('POST', '/v1/portal/password', { token: second, body: { password: 'second password', current_password: 'first password' } });
    expect(changed.statusCode).toBe(200);
    expect((await t.call('GET', '/v1/me', { token: first })).statusCode).toBe(401);
    expect((await t.call('GET', '/v1/me', { token: second })).statusCode).toBe(200);
    expect((await t.call('POST', '/v1/portal/login', { body: { tenant_id: tenant.id, phone: '13900002222', password: 'first password' } })).statusCode).toBe(
      401,
    );
    expect((await t.call('POST', '/v1/portal/login', { body: { tenant_id: tenant.id, phone: '13900002222', password: 'second password' } })).statusCode).toBe(
      200,
    );
  });

  it('needs a phone to set a password; the same phone in another tenant is another account', async () => {
    const tenant = await tenantWithSecret();
    await distributor(tenant.key, { external_id: 'nophone', name: 'N' });
    const s = await tokenSession(tenant, 'nophone');
    const res = await t.call('POST', '/v1/portal/password', { token: s, body: { password: 'some password' } });
    expect(res.statusCode).toBe(409);
    expect(res.data.error.code).toBe('invalid_state');

    const other = await tenantWithSecret();
    await distributor(tenant.key, { external_id: 'ph-a', name: 'A', phone: '13700003333' });
    await t.call('POST', '/v1/portal/password', { token: await tokenSession(tenant, 'ph-a'), body: { password: 'tenant one pw' } });
    await distributor(other.key, { external_id: 'ph-b', name: 'B', phone: '13700003333' });
    expect((await t.call('POST', '/v1/portal/login', { body: { tenant_id: other.id, phone: '13700003333', password: 'tenant one pw' } })).statusCode).toBe(401);
    expect((await t.call('POST', '/v1/portal/login', { body: { tenant_id: tenant.id, phone: '13700003333', password: 'tenant one pw' } })).statusCode).toBe(
      200,
    );
  });
});

describe('/v1/me isolation', () => {
  it('a distributor session sees only its own data, in its own tenant', async () => {
    const one = await tenantWithSecret();
    const two = await tenantWithSecret();
    const a = await distributor(one.key, { external_id: 'iso-a', name: 'A' });
    const b = await distributor(one.key, { external_id: 'iso-b', name: 'B', referrer_code: a.invite_code });
    const c = await distributor(one.key, { external_id: 'iso-c', name: 'C', referrer_code: b.invite_code });
    const x = await distributor(two.key, { external_id: 'iso-x', name: 'X' });
    const sa = await tokenSession(one, 'iso-a');
    const sb = await tokenSession(one, 'iso-b');
    const sx = await tokenSession(two, 'iso-x');

    expect((await t.call('GET', '/v1/me', { token: sa })).data.id).toBe(a.id);
    expect((await t.call('GET', '/v1/me', { token: sb })).data.id).toBe(b.id);
    expect((await t.call('GET', '/v1/me', { token: sx })).data.id).toBe(x.id);

    expect((await t.call('GET', '/v1/me/team', { token: sa })).data).toEqual({ direct: 1, level2: 1, level3: 0, total: 2 });
    expect((await t.call('GET', '/v1/me/team', { token: sb })).data).toEqual({ direct: 1, level2: 0, level3: 0, total: 1 });
    expect((await t.call('GET', '/v1/me/team', { token: sx })).data).toEqual({ direct: 0, level2: 0, level3: 0, total: 0 });
    const l1 = await t.call('GET', '/v1/me/downline?level=1', { token: sa });
    expect(l1.data.items).toEqual([{ id: b.id, name: 'B', level: 1, grade: 'default', grade_name: 'default', status: 'active', joined_at: expect.any(String) }]);
    expect((await t.call('GET', '/v1/me/downline?level=2', { token: sa })).data.items.map((m: { id: string }) => m.id)).toEqual([c.id]);
    expect((await t.call('GET', '/v1/me/downline?level=1', { token: sb })).data.items.map((m: { id: string }) => m.id)).toEqual([c.id]);
    expect((await t.call('GET', '/v1/me/downline?level=4', { token: sa })).statusCode).toBe(400);
    expect((await t.call('GET', `/v1/me/downline?level=1&distributor_id=${x.id}`, { token: sa })).statusCode).toBe(400);

    // Another distributor's objects do not exist for this session.
    for (const url of [`/v1/distributors/${b.id}/qrcode`, `/v1/distributors/${x.id}/qrcode`, `/v1/distributors/${b.id}/documents`]) {
      const res = await t.call('GET', url, { token: sa });
      expect(res.statusCode, url).toBe(404);
    }
    expect((await t.call('GET', `/v1/distributors/${a.id}/qrcode`, { token: sa })).statusCode).toBe(200);
    // Console routes are not for distributors, and /v1/me is not for the console.
    for (const url of ['/v1/distributors', `/v1/distributors/${a.id}`, '/v1/program', '/v1/audit-log']) {
      expect((await t.call('GET', url, { token: sa })).statusCode, url).toBe(403);
    }
    expect((await t.call('GET', '/v1/me', { token: one.key })).statusCode).toBe(403);
    expect((await t.call('GET', '/v1/me')).statusCode).toBe(401);

    const invite = await t.call('GET', '/v1/me/invite', { token: sa });
    expect(invite.data).toEqual({
      invite_code: a.invite_code,
      invite_url: `http://fenxiao.test/i/${a.invite_code}`,
      qr_data_url: expect.stringMatching(/^data:image\/png;base64,/),
      qrcode_url: `/v1/distributors/${a.id}/qrcode`,
      poster_url: '/v1/me/poster.png',
      usable: true,
    });
    const qr = Buffer.from(invite.data.qr_data_url.split(',')[1], 'base64');
    expect(pngSize(qr).width).toBe(400);

    // Logging out ends the session.
    expect((await t.call('POST', '/v1/auth/logout', { token: sb })).statusCode).toBe(204);
    expect((await t.call('GET', '/v1/me', { token: sb })).statusCode).toBe(401);
  });
});

describe('invite poster', () => {
  it("is a 750×1334 PNG with the name, escaped, and the merchant's background when uploaded", async () => {
    const tenant = await tenantWithSecret('Poster & Co <商城>');
    await distributor(tenant.key, { external_id: 'poster-1', name: '<img src=x onerror=alert(1)> & 王\u0001小明 ]]>' });
    const s = await tokenSession(tenant, 'poster-1');
    const res = await t.app.inject({ method: 'GET', url: '/v1/me/poster.png', headers: { authorization: `Bearer ${s}` } });
    expect(res.statusCode, res.body.slice(0, 200)).toBe(200);
    expect(res.headers['content-type']).toBe('image/png');
    expect(pngSize(res.rawPayload)).toEqual({ width: 750, height: 1334 });
    expect(res.rawPayload.length).toBeGreaterThan(20_000);
    expect(res.rawPayload.length).toBeLessThan(3_000_000);

    const english = await t.app.inject({ method: 'GET', url: '/v1/me/poster.png?lang=en', headers: { authorization: `Bearer ${s}` } });
    expect(english.statusCode).toBe(200);
    expect(Buffer.compare(english.rawPayload, res.rawPayload)).not.toBe(0);

    // A background: a PNG as the raw body; a text file is refused by its bytes.
    const bg = await QRCode.toBuffer('background', { width: 750, color: { dark: '#225588', light: '#ffeecc' } });
    const bad = await t.app.inject({
      method: 'PUT',
      url: '/v1/portal/poster-background',
      headers: { authorization: `Bearer ${tenant.key}`, 'content-type': 'image/png' },
      payload: Buffer.from('not a png at all'),
    });
    expect(bad.statusCode).toBe(415);
    const put = await t.app.inject({
      method: 'PUT',
      url: '/v1/portal/poster-background',
      headers: { authorization: `Bearer ${tenant.key}`, 'content-type': 'image/png' },
      payload: bg,
    });
    expect(put.statusCode, put.body).toBe(200);
    expect(JSON.parse(put.body).poster_background).toMatchObject({ configured: true, content_type: 'image/png' });
    const got = await t.app.inject({ method: 'GET', url: '/v1/portal/poster-background', headers: { authorization: `Bearer ${tenant.key}` } });
    expect(Buffer.compare(got.rawPayload, bg)).toBe(0);
    const withBg = await t.app.inject({ method: 'GET', url: '/v1/me/poster.png', headers: { authorization: `Bearer ${s}` } });
    expect(withBg.statusCode).toBe(200);
    expect(pngSize(withBg.rawPayload)).toEqual({ width: 750, height: 1334 });
    expect(Buffer.compare(withBg.rawPayload, res.rawPayload)).not.toBe(0);

    // Multipart works too, and replaces the stored file; DELETE goes back to the built-in design.
    const boundary = '----fenxiao-bg';
    const body = Buffer.concat([
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="bg.png"\r\nContent-Type: image/png\r\n\r\n`),
      bg,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    const multi = await t.app.inject({
      method: 'PUT',
      url: '/v1/portal/poster-background',
      headers: { authorization: `Bearer ${tenant.key}`, 'content-type': `multipart/form-data; boundary=${boundary}` },
      payload: body,
    });
    expect(multi.statusCode, multi.body).toBe(200);
    const files = fs.readdirSync(path.join(t.dataDir, 'files', tenant.id, 'portal'));
    expect(files).toHaveLength(1);
    const del = await t.call('DELETE', '/v1/portal/poster-background', { token: tenant.key });
    expect(del.data.poster_background.configured).toBe(false);
    expect(fs.readdirSync(path.join(t.dataDir, 'files', tenant.id, 'portal'))).toHaveLength(0);
    const back = await t.app.inject({ method: 'GET', url: '/v1/me/poster.png', headers: { authorization: `Bearer ${s}` } });
    expect(Buffer.compare(back.rawPayload, res.rawPayload)).toBe(0);
  });

  it('waits until the distributor is active; a distributor session cannot upload a background', async () => {
    const tenant = await tenantWithSecret();
    await t.call('PUT', '/v1/program', { token: tenant.key, body: { admission: 'review' } });
    await distributor(tenant.key, { external_id: 'pending-1', name: 'Pending' });
    const s = await tokenSession(tenant, 'pending-1');
    const poster = await t.call('GET', '/v1/me/poster.png', { token: s });
    expect(poster.statusCode).toBe(409);
    expect((await t.call('GET', '/v1/me/invite', { token: s })).data.usable).toBe(false);
    const up = await t.app.inject({
      method: 'PUT',
      url: '/v1/portal/poster-background',
      headers: { authorization: `Bearer ${s}`, 'content-type': 'image/png' },
      payload: Buffer.alloc(10),
    });
    expect(up.statusCode).toBe(403);
  });

  it('builds its SVG from escaped text only', () => {
    expect(xmlText('<a href="x">&\'\u0001\uFFFE')).toBe('&lt;a href=&quot;x&quot;&gt;&amp;&apos;');
    expect(fitText('王小明', 13)).toBe('王小明');
    expect(fitText('一二三四五六七八九十一二三四五', 13)).toBe('一二三四五六七八九十一二…');
    expect(fitText('x'.repeat(40), 13)).toBe('x'.repeat(20) + '…');
    const svg = posterSvg({
      distributorName: '<script>x</script>',
      tenantName: 'A & B',
      inviteCode: 'ABCD2345',
      inviteUrl: 'http://x/i/ABCD2345',
      lang: 'zh-CN',
    });
    expect(svg).not.toContain('<script>');
    expect(svg).toContain('&lt;script&gt;x&lt;/script&gt;');
    expect(svg).toContain('A &amp; B');
    expect(svg).toContain('邀请码 ABCD2345');
    expect(sniffImage(Buffer.from('GIF89a....'))).toBeNull();
  });

  it('reads the size of JPEG and PNG backgrounds from their bytes', async () => {
    const png = await QRCode.toBuffer('x', { width: 300 });
    expect(sniffImage(png)).toEqual({ contentType: 'image/png', width: 300, height: 300 });
    // A minimal JPEG header: SOI, APP0 (JFIF), SOF0 with height 20 and width 30.
    const jpeg = Buffer.from('ffd8ffe000104a46494600010100000100010000ffc0000b080014001e01012200', 'hex');
    expect(sniffImage(jpeg)).toEqual({ contentType: 'image/jpeg', width: 30, height: 20 });
  });
});

describe('portal application', () => {
  it('applies with an invite code, logs in, and the phone logs in afterwards', async () => {
    const tenant = await t.tenant('Apply 商城');
    const a = await distributor(tenant.key, { external_id: 'ap-ref', name: 'Referrer' });
    const res = await applyInPortal(t, {
      tenant_id: tenant.id,
      name: '新人',
      phone: '13600004444',
      password: 'apply password',
      referrer_code: a.invite_code.toLowerCase(),
      profile: { wechat: 'newbie' },
      consent: true,
    });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.data).toMatchObject({ token: expect.stringMatching(/^fxs_/), tenant_id: tenant.id, status: 'active' });
    const me = await t.call('GET', '/v1/me', { token: res.data.token });
    expect(me.data).toMatchObject({
      name: '新人',
      referrer_id: a.id,
      phone: '136****4444',
      source: 'application',
      has_password: true,
      tenant_name: 'Apply 商城',
    });
    expect(me.data.external_id).toMatch(/^portal-/);
    const admin = await t.call('GET', `/v1/distributors/${me.data.id}`, { token: tenant.key });
    expect(admin.data.referrer_id).toBe(a.id);
    const login = await t.call('POST', '/v1/portal/login', { body: { tenant_id: tenant.id, phone: '13600004444', password: 'apply password' } });
    expect(login.statusCode).toBe(200);
    expect(login.data.distributor_id).toBe(me.data.id);
    // The referrer sees the newcomer in its team.
    const sa = await t.call('GET', '/v1/distributors', { token: tenant.key });
    expect(sa.data.items).toHaveLength(2);

    // The same phone again: a code is texted as for any phone, and its holder is told to log in.
    const again = await applyInPortal(t, { tenant_id: tenant.id, name: 'Dup', phone: '136 0000 4444', password: 'apply password', consent: true });
    expect(again.statusCode).toBe(409);
    // The form takes no merchant user id (test/security/portal-apply.test.ts).
    const withId = await t.call('POST', '/v1/portal/apply', {
      body: { tenant_id: tenant.id, external_id: 'merchant-user-9', name: 'Known', phone: '13600005555', password: 'apply password', consent: true },
    });
    expect(withId.statusCode).toBe(400);
  });

  it('under review admission the applicant is pending, and a person approves it', async () => {
    const tenant = await t.tenant();
    await t.call('PUT', '/v1/program', { token: tenant.key, body: { admission: 'review' } });
    const res = await applyInPortal(t, { tenant_id: tenant.id, name: 'Wait', phone: '13600006666', password: 'apply password', consent: true });
    expect(res.data.status).toBe('pending');
    const pending = await t.call('GET', '/v1/distributors?status=pending', { token: tenant.key });
    expect(pending.data.items.map((d: { id: string }) => d.id)).toEqual([res.data.distributor_id]);
    expect((await t.call('POST', `/v1/distributors/${res.data.distributor_id}/approve`, { token: tenant.key })).data.status).toBe('active');
    expect((await t.call('GET', '/v1/me', { token: res.data.token })).data.status).toBe('active');
  });

  it('refuses bad applications and changes nothing', async () => {
    const tenant = await t.tenant();
    const base = { tenant_id: tenant.id, name: 'Bad', phone: '13600007777', password: 'apply password', consent: true };
    for (const body of [
      { ...base, consent: false },
      { ...base, consent: undefined },
      { ...base, extra: 1 },
      { ...base, phone: 'call me' },
      { ...base, password: 'short' },
      { ...base, name: '' },
      { ...base, profile: { colour: 'red' } },
      { ...base, external_id: '' },
    ]) {
      const res = await t.call('POST', '/v1/portal/apply', { body });
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
    }
    expect((await t.call('POST', '/v1/portal/apply', { body: { ...base, referrer_code: 'NOSUCH22' } })).statusCode).toBe(400);
    expect((await t.call('POST', '/v1/portal/apply', { body: { ...base, tenant_id: 'tnt_UNKNOWN' } })).statusCode).toBe(404);
    expect((await t.call('GET', '/v1/distributors', { token: tenant.key })).data.items).toEqual([]);
  });

  it("counts the caller's IP against the registration limit", async () => {
    const tenant = await t.tenant();
    await t.call('PUT', '/v1/program', { token: tenant.key, body: { anti_cheat: { registration: { per_ip: { limit: 2, window_seconds: 3600 } } } } });
    // Counted when the distributor is made (the code's step), from the address that applied.
    const apply = (i: number, ip: string) =>
      applyInPortal(t, { tenant_id: tenant.id, name: `IP ${i}`, phone: `1350000000${i}`, password: 'apply password', consent: true }, { ip });
    expect((await apply(1, '203.0.113.7')).statusCode).toBe(201);
    expect((await apply(2, '203.0.113.7')).statusCode).toBe(201);
    const third = await apply(3, '203.0.113.7');
    expect(third.statusCode).toBe(429);
    expect((await apply(4, '198.51.100.1')).statusCode).toBe(201);
    const risk = await t.call('GET', '/v1/risk-events', { token: tenant.key });
    expect(risk.data.items[0]).toMatchObject({ kind: 'registration_ip_limit', subject_id: '203.0.113.7' });
  });
});

describe('web serving', () => {
  it('serves each app with SPA fallback, long cache for hashed assets, and a clear page when not built', async () => {
    const dist = fs.mkdtempSync(path.join(os.tmpdir(), 'fenxiao-web-'));
    fs.mkdirSync(path.join(dist, 'admin', 'assets'), { recursive: true });
    fs.writeFileSync(path.join(dist, 'admin', 'index.html'), '<!doctype html><title>admin</title>');
    fs.writeFileSync(path.join(dist, 'admin', 'assets', 'index-abc123.js'), 'console.log(1)');
    const app = createHttp({ logLevel: 'silent', bodyLimit: 1024 * 1024, authenticator: { authenticate: async () => null } });
    registerWeb(app, dist);
    await app.ready();
    try {
      const redirect = await app.inject({ method: 'GET', url: '/admin' });
      expect(redirect.statusCode).toBe(302);
      expect(redirect.headers.location).toBe('/admin/');
      for (const url of ['/admin/', '/admin/distributors/dst_123', '/admin/login?next=%2Fadmin%2F']) {
        const res = await app.inject({ method: 'GET', url });
        expect(res.statusCode, url).toBe(200);
        expect(res.body).toContain('<title>admin</title>');
        expect(res.headers['cache-control']).toBe('no-cache');
        expect(res.headers['content-security-policy']).toContain("script-src 'self'");
      }
      const asset = await app.inject({ method: 'GET', url: '/admin/assets/index-abc123.js' });
      expect(asset.statusCode).toBe(200);
      expect(asset.headers['cache-control']).toBe('public, max-age=31536000, immutable');
      expect(asset.headers['content-type']).toContain('javascript');
      expect((await app.inject({ method: 'GET', url: '/admin/assets/missing-1.js' })).statusCode).toBe(404);
      expect((await app.inject({ method: 'GET', url: '/admin/..%2F..%2Fetc%2Fpasswd' })).statusCode).toBe(404);
      expect((await app.inject({ method: 'GET', url: '/admin/../portal/index.html' })).statusCode).not.toBe(200);
      const missing = await app.inject({ method: 'GET', url: '/portal/' });
      expect(missing.statusCode).toBe(503);
      expect(missing.headers['content-type']).toContain('text/html');
      expect(missing.body).toContain('npm run build:web');
    } finally {
      await app.close();
      fs.rmSync(dist, { recursive: true, force: true });
    }
  });
});
