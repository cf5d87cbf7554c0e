/**
 * Logins: failed attempts are throttled per client address across every account (credential
 * stuffing), on top of each account's own lockout; behind a proxy the client's address is the
 * one X-Forwarded-For names, and only when FENXIAO_TRUST_PROXY says so.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ManualClock } from '../../src/core/context.ts';
import { ACCOUNT_LOCKOUT, LOGIN_FAILURE_LIMITS } from '../../src/modules/admin/throttle.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { applyInPortal } from '../support/portal.ts';

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
    method: 'POST',
    url: path,
    payload: body,
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

  it('locks an (email, address) pair after five wrong passwords, not the account: the owner still logs in from elsewhere (issue 14, item 12)', async () => {
    const { id, email, password } = await consoleTenant(t);
    const attacker = '192.0.2.100';
    for (let i = 0; i < 5; i++) expect((await login(t, { tenant_id: id, email, password: 'not-the-password' }, { ip: attacker })).status).toBe(401);
    const locked = await login(t, { tenant_id: id, email, password }, { ip: attacker });
    expect(locked.status).toBe(429);
    expect(locked.body.error?.code).toBe('rate_limited');
    // The attacker cannot lock the owner out: from anywhere else, the owner signs in.
    expect((await login(t, { tenant_id: id, email, password }, { ip: '192.0.2.201' })).status).toBe(200);
    // Again and again: the lock never reaches beyond the attacker's own address.
    for (let i = 0; i < 20; i++) await login(t, { tenant_id: id, email, password: `guess-${i}` }, { ip: attacker });
    expect((await login(t, { tenant_id: id, email, password }, { ip: '192.0.2.202' })).status).toBe(200);
  });

  it('answers an unknown email exactly as a real one, through the lock too: nothing tells whether an account exists (issue 14, item 12)', async () => {
    const { id, email } = await consoleTenant(t);
    const answers = async (who: string, ip: string) => {
      const out: string[] = [];
      for (let i = 0; i < 7; i++) {
        const r = await login(t, { tenant_id: id, email: who, password: `wrong-${i}` }, { ip });
        out.push(`${r.status} ${r.body.error?.code} ${r.body.error && 'message' in r.body.error ? (r.body.error as { message: string }).message : ''}`);
      }
      return out;
    };
    const real = await answers(email, '192.0.2.150');
    const unknown = await answers(`nobody-${id}@example.com`, '192.0.2.151');
    expect(real).toEqual(unknown);
    expect(real.slice(0, 5).every((a) => a.startsWith('401 unauthorized'))).toBe(true);
    expect(real.slice(5).every((a) => a.startsWith('429 rate_limited'))).toBe(true);
  });

  it('counts each guess before its password is checked: a burst of concurrent failures gets exactly the limits checked (issue 14, item 2)', async () => {
    const { id, email, password } = await consoleTenant(t);
    const { limit } = LOGIN_FAILURE_LIMITS.console;
    // 150 at once from one address, each for another account: only 20 passwords are checked.
    const burst = await Promise.all(
      Array.from({ length: 150 }, (_, i) => login(t, { tenant_id: id, email: `stuff-${i}@example.com`, password: 'wrong-password' }, { ip: '198.51.100.60' })),
    );
    expect(burst.filter((r) => r.status === 401)).toHaveLength(limit);
    expect(burst.filter((r) => r.status === 429)).toHaveLength(150 - limit);
    // 40 at once at one account from one address, the right password among them: five checked
    // at most, and the account is then locked for that address (the right password included).
    const guesses = Array.from({ length: 40 }, (_, i) => (i === 20 ? password : `wrong-${i}`));
    const onAccount = await Promise.all(guesses.map((pw) => login(t, { tenant_id: id, email, password: pw }, { ip: '198.51.100.61' })));
    const checked = onAccount.filter((r) => r.status !== 429);
    expect(checked.length).toBeLessThanOrEqual(ACCOUNT_LOCKOUT.failures);
    expect(onAccount.filter((r) => r.status === 429).length).toBeGreaterThanOrEqual(40 - ACCOUNT_LOCKOUT.failures);
    if (!onAccount.some((r) => r.status === 200)) {
      expect((await login(t, { tenant_id: id, email, password }, { ip: '198.51.100.61' })).status).toBe(429);
    }
  });
});

describe('portal login throttling per address', () => {
  it('refuses an address after 50 failures across phones, while other addresses log in', async () => {
    const tenant = await t.tenant();
    const applied = await applyInPortal(t, { tenant_id: tenant.id, name: '王', phone: '13700000001', password: 'portal-password-01', consent: true });
    expect(applied.statusCode, applied.body).toBe(201);
    const attacker = '203.0.113.9';
    for (let i = 0; i < LOGIN_FAILURE_LIMITS.portal.limit; i++) {
      const r = await login(
        t,
        { tenant_id: tenant.id, phone: `1360000${String(i).padStart(4, '0')}`, password: 'guess-guess' },
        { ip: attacker },
        '/v1/portal/login',
      );
      expect(r.status, `attempt ${i}`).toBe(401);
    }
    const right = { tenant_id: tenant.id, phone: '13700000001', password: 'portal-password-01' };
    const refused = await login(t, right, { ip: attacker }, '/v1/portal/login');
    expect(refused.status).toBe(429);
    expect(refused.body.error?.code).toBe('rate_limited');
    expect(refused.retryAfter).toBeDefined();
    expect((await login(t, right, { ip: '198.51.100.21' }, '/v1/portal/login')).status).toBe(200);
  });

  it('counts concurrent guesses before checking, and locks a (phone, address) pair, never the account (issue 14, items 2 and 12)', async () => {
    const tenant = await t.tenant();
    const phone = '13700000002';
    const right = { tenant_id: tenant.id, phone, password: 'portal-password-02' };
    expect((await applyInPortal(t, { ...right, name: '李', consent: true })).statusCode).toBe(201);
    const onAccount = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        login(t, { ...right, password: i === 20 ? right.password : `guess-${i}-x` }, { ip: '203.0.113.31' }, '/v1/portal/login'),
      ),
    );
    expect(onAccount.filter((r) => r.status !== 429).length).toBeLessThanOrEqual(ACCOUNT_LOCKOUT.failures);
    if (!onAccount.some((r) => r.status === 200)) expect((await login(t, right, { ip: '203.0.113.31' }, '/v1/portal/login')).status).toBe(429);
    expect((await login(t, right, { ip: '203.0.113.32' }, '/v1/portal/login')).status).toBe(200);
    const burst = await Promise.all(
      Array.from({ length: 120 }, (_, i) =>
        login(t, { tenant_id: tenant.id, phone: `1350000${String(i).padStart(4, '0')}`, password: 'guess-guess' }, { ip: '203.0.113.33' }, '/v1/portal/login'),
      ),
    );
    expect(burst.filter((r) => r.status === 401)).toHaveLength(LOGIN_FAILURE_LIMITS.portal.limit);
    // An unknown phone's lock answers as a real one's.
    const unknown: number[] = [];
    const known: number[] = [];
    for (let i = 0; i < 7; i++) {
      known.push((await login(t, { ...right, password: `nope-${i}-x` }, { ip: '203.0.113.34' }, '/v1/portal/login')).status);
      unknown.push((await login(t, { ...right, phone: '13799999999', password: `nope-${i}-x` }, { ip: '203.0.113.35' }, '/v1/portal/login')).status);
    }
    expect(known).toEqual([401, 401, 401, 401, 401, 429, 429]);
    expect(unknown).toEqual(known);
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
