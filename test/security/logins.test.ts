/**
 * Logins: failed attempts are throttled per client address across every account (credential
 * stuffing), on top of each account's own lockout; behind a proxy the client's address is the
 * one X-Forwarded-For names, and only when FENXIAO_TRUST_PROXY says so.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ManualClock } from '../../src/app/context.ts';
import { LOGIN_FAILURE_LIMITS } from '../../src/modules/admin/throttle.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

let t: TestServer;
let proxied: TestServer;
beforeAll(async () => {
  t = await startTestServer();
  proxied = await startTestServer({ env: { FENXIAO_TRUST_PROXY: '127.0.0.1' } });
});
afterAll(async () => {
  await t?.close();
  await proxied?.close();
});

async function login(s: TestServer, body: Record<string, string>, from: { ip?: string; forwarded?: string }, path = '/v1/auth/login') {
  const res = await s.app.inject({
    method: 'POST', url: path, payload: body,
    headers: { 'content-type': 'application/json', ...(from.forwarded ? { 'x-forwarded-for': from.forwarded } : {}) },
    ...(from.ip ? { remoteAddress: from.ip } : {}),
  });
  return { status: res.statusCode, body: JSON.parse(res.body) as { token?: string; error?: { code: string } }, retryAfter: res.headers['retry-after'] };
}

async function consoleTenant(s: TestServer) {
  const tenant = await s.tenant();
  const email = `owner-${tenant.id}@example.com`;
  const password = 'owner-password-0123456789';
  expect((await s.call('POST', '/v1/admin-users', { token: tenant.key, body: { email, password, role: 'owner' } })).statusCode).toBe(201);
  return { ...tenant, email, password };
}

describe('console login throttling per address', () => {
  it('refuses an address after 20 failures across different accounts, even with the right password, while other addresses log in; the window slides on', async () => {
    const { id, email, password } = await consoleTenant(t);
    const attacker = '203.0.113.7';
    const { limit } = LOGIN_FAILURE_LIMITS.console;
    for (let i = 0; i < limit; i++) {
      // A different account each time: no account reaches its own lockout of five.
      const r = await login(t, { tenant_id: id, email: `guess-${i}@example.com`, password: `wrong-${i}` }, { ip: attacker });
      expect(r.status, `attempt ${i}`).toBe(401);
    }
    const refused = await login(t, { tenant_id: id, email, password }, { ip: attacker });
    expect(refused.status).toBe(429);
    expect(refused.body.error?.code).toBe('rate_limited');
    expect(Number(refused.retryAfter)).toBeGreaterThan(0);
    expect(Number(refused.retryAfter)).toBeLessThanOrEqual(15 * 60);
    // Someone else, elsewhere, is not affected; nor is the account (it was never the target).
    expect((await login(t, { tenant_id: id, email, password }, { ip: '198.51.100.20' })).status).toBe(200);
    (t.clock as ManualClock).advance(15 * 60_000 + 1000);
    expect((await login(t, { tenant_id: id, email, password }, { ip: attacker })).status).toBe(200);
  });

  it('does not count successful logins: an office logging in all day is never slowed down', async () => {
    const { id, email, password } = await consoleTenant(t);
    for (let i = 0; i < LOGIN_FAILURE_LIMITS.console.limit + 5; i++) {
      expect((await login(t, { tenant_id: id, email, password }, { ip: '192.0.2.50' })).status).toBe(200);
    }
  });

  it('still locks one account after five wrong passwords, whatever the addresses', async () => {
    const { id, email, password } = await consoleTenant(t);
    for (let i = 0; i < 5; i++) expect((await login(t, { tenant_id: id, email, password: 'not-the-password' }, { ip: `192.0.2.${100 + i}` })).status).toBe(401);
    const locked = await login(t, { tenant_id: id, email, password }, { ip: '192.0.2.200' });
    expect(locked.status).toBe(429);
    expect(locked.body.error?.code).toBe('rate_limited');
  });
});

describe('portal login throttling per address', () => {
  it('refuses an address after 50 failures across phones, while other addresses log in', async () => {
    const tenant = await t.tenant();
    const applied = await t.call('POST', '/v1/portal/apply', { body: { tenant_id: tenant.id, name: '王', phone: '13700000001', password: 'portal-password-01', consent: true } });
    expect(applied.statusCode, applied.body).toBe(201);
    const attacker = '203.0.113.9';
    for (let i = 0; i < LOGIN_FAILURE_LIMITS.portal.limit; i++) {
      const r = await login(t, { tenant_id: tenant.id, phone: `1360000${String(i).padStart(4, '0')}`, password: 'guess-guess' }, { ip: attacker }, '/v1/portal/login');
      expect(r.status, `attempt ${i}`).toBe(401);
    }
    const right = { tenant_id: tenant.id, phone: '13700000001', password: 'portal-password-01' };
    const refused = await login(t, right, { ip: attacker }, '/v1/portal/login');
    expect(refused.status).toBe(429);
    expect(refused.body.error?.code).toBe('rate_limited');
    expect(refused.retryAfter).toBeDefined();
    expect((await login(t, right, { ip: '198.51.100.21' }, '/v1/portal/login')).status).toBe(200);
  });
});

describe('the client address behind a proxy', () => {
  it('ignores X-Forwarded-For unless FENXIAO_TRUST_PROXY trusts the proxy: a forged header cannot dodge the throttle', async () => {
    const { id, email, password } = await consoleTenant(t);
    const { limit } = LOGIN_FAILURE_LIMITS.console;
    for (let i = 0; i < limit; i++) {
      await login(t, { tenant_id: id, email: `x-${i}@example.com`, password: 'x' }, { ip: '203.0.113.66', forwarded: `10.9.${i}.1` });
    }
    expect((await login(t, { tenant_id: id, email, password }, { ip: '203.0.113.66', forwarded: '10.9.99.1' })).status).toBe(429);
  });

  it('counts the forwarded client address when the proxy is trusted, so one client behind it does not shut out the others', async () => {
    const { id, email, password } = await consoleTenant(proxied);
    const { limit } = LOGIN_FAILURE_LIMITS.console;
    for (let i = 0; i < limit; i++) {
      await login(proxied, { tenant_id: id, email: `y-${i}@example.com`, password: 'y' }, { ip: '127.0.0.1', forwarded: '203.0.113.77' });
    }
    expect((await login(proxied, { tenant_id: id, email, password }, { ip: '127.0.0.1', forwarded: '203.0.113.77' })).status).toBe(429);
    expect((await login(proxied, { tenant_id: id, email, password }, { ip: '127.0.0.1', forwarded: '203.0.113.78' })).status).toBe(200);
  });
});
