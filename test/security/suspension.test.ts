/**
 * Suspension ends access (issue 14, items 5 and 11). Suspending a tenant used to stop only its API
 * keys: its console sessions, new console logins, new API keys, portal sessions and portal logins
 * kept working. Suspending or rejecting a distributor left its sessions working (payout accounts,
 * uploads, a password change). Now every authentication path checks the tenant's and the
 * subject's standing, and the change ends the sessions.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT_TOKEN, startTestServer, type TestServer } from '../support/server.ts';
import { mintPortalToken } from './world.ts';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.close();
});

const OWNER_PASSWORD = 'owner-password-0123456789';
const PORTAL_PASSWORD = 'portal-password-01';

/** A tenant with an owner session, a second API key, and a distributor with a portal session and password. */
async function populated(tag: string) {
  const { id: tenantId, key } = await t.tenant(`Suspension ${tag}`);
  const email = `owner-${tag}@example.com`;
  expect((await t.call('POST', '/v1/admin-users', { token: key, body: { email, password: OWNER_PASSWORD, role: 'owner' } })).statusCode).toBe(201);
  const consoleLogin = async () => t.call('POST', '/v1/auth/login', { body: { tenant_id: tenantId, email, password: OWNER_PASSWORD } });
  const owner = (await consoleLogin()).data.token as string;
  const second = (await t.call('POST', '/v1/api-keys', { token: key, body: { name: 'second' } })).data.api_key as string;
  const phone = `1370000${tag.padStart(4, '0')}`;
  const d = await t.call('POST', '/v1/distributors', { token: key, body: { external_id: `d-${tag}`, name: 'D', phone } });
  expect(d.statusCode).toBe(201);
  const secret = (await t.call('POST', '/v1/portal/signing-secret', { token: key })).data.secret as string;
  const tokenLogin = async () =>
    t.call('POST', '/v1/portal/token-login', { body: { tenant_id: tenantId, token: await mintPortalToken(secret, `d-${tag}`, t.clock.now().getTime()) } });
  const portal = (await tokenLogin()).data.token as string;
  expect((await t.call('POST', '/v1/portal/password', { token: portal, body: { password: PORTAL_PASSWORD } })).statusCode).toBe(200);
  const portalLogin = async () => t.call('POST', '/v1/portal/login', { body: { tenant_id: tenantId, phone, password: PORTAL_PASSWORD } });
  return { tenantId, key, second, owner, consoleLogin, portal, tokenLogin, portalLogin, distributorId: d.data.id as string };
}

describe('a suspended tenant (issue 14, item 5)', () => {
  it('loses every way in: keys, console and portal sessions (ended), logins, token logins, new keys; reactivation lets new logins in', async () => {
    const w = await populated('1');
    const portalNow = (await w.portalLogin()).data.token as string;
    expect((await t.call('GET', '/v1/tenant', { token: w.owner })).statusCode).toBe(200);

    // Only the platform operator suspends; a reason is required.
    expect((await t.call('POST', `/v1/tenants/${w.tenantId}/suspend`, { token: w.key, body: { reason: 'x' } })).statusCode).toBe(401);
    expect((await t.call('POST', `/v1/tenants/${w.tenantId}/suspend`, { token: ROOT_TOKEN, body: {} })).statusCode).toBe(400);
    const suspended = await t.call('POST', `/v1/tenants/${w.tenantId}/suspend`, { token: ROOT_TOKEN, body: { reason: 'unpaid invoices' } });
    expect(suspended.statusCode, suspended.body).toBe(200);
    expect(suspended.data.status).toBe('suspended');
    expect((await t.call('POST', `/v1/tenants/${w.tenantId}/suspend`, { token: ROOT_TOKEN, body: { reason: 'again' } })).statusCode).toBe(409);

    for (const token of [w.key, w.second, w.owner]) expect((await t.call('GET', '/v1/tenant', { token })).statusCode).toBe(401);
    for (const token of [w.portal, portalNow]) expect((await t.call('GET', '/v1/me', { token })).statusCode).toBe(401);
    expect((await t.call('POST', '/v1/api-keys', { token: w.owner, body: { name: 'sneaky' } })).statusCode).toBe(401);
    const login = await w.consoleLogin();
    expect(login.statusCode).toBe(401);
    expect(login.data.token).toBeUndefined();
    expect((await w.portalLogin()).statusCode).toBe(401);
    expect([401, 404]).toContain((await w.tokenLogin()).statusCode);
    // A key made by the service itself (a caller holding a principal from before) is refused too.
    await expect(
      t.services.tenants.createKey(
        { principal: { kind: 'admin', tenantId: w.tenantId, userId: 'usr_x', role: 'owner', sessionId: 'ses_x' }, requestId: null },
        'late',
      ),
    ).rejects.toMatchObject({ code: 'invalid_state' });

    // The sessions were ended, not only refused: the rows say so.
    const live = await t.database.db.selectFrom('sessions').select('id').where('tenant_id', '=', w.tenantId).where('revoked_at', 'is', null).execute();
    expect(live).toEqual([]);

    const back = await t.call('POST', `/v1/tenants/${w.tenantId}/reactivate`, { token: ROOT_TOKEN });
    expect(back.statusCode).toBe(200);
    expect(back.data.status).toBe('active');
    expect((await t.call('GET', '/v1/tenant', { token: w.key })).statusCode).toBe(200);
    // Sessions ended by the suspension stay ended; new logins work.
    expect((await t.call('GET', '/v1/tenant', { token: w.owner })).statusCode).toBe(401);
    expect((await t.call('GET', '/v1/me', { token: w.portal })).statusCode).toBe(401);
    expect((await w.consoleLogin()).statusCode).toBe(200);
    expect((await w.portalLogin()).statusCode).toBe(200);
    expect((await w.tokenLogin()).statusCode).toBe(200);

    const audit = await t.call('GET', '/v1/audit-log?target_type=tenant', { token: w.key });
    expect(audit.data.items.map((e: { action: string }) => e.action)).toEqual(expect.arrayContaining(['tenant.suspend', 'tenant.reactivate']));
  });

  it('is shut out by its status alone: a tenant marked suspended in the database, with sessions still live, gets nothing', async () => {
    const w = await populated('2');
    await t.database.db.updateTable('tenants').set({ status: 'suspended' }).where('id', '=', w.tenantId).execute();
    expect((await t.call('GET', '/v1/tenant', { token: w.owner })).statusCode).toBe(401);
    expect((await t.call('GET', '/v1/me', { token: w.portal })).statusCode).toBe(401);
    expect(
      (
        await t.call('POST', `/v1/distributors/${w.distributorId}/payout-accounts`, {
          token: w.portal,
          body: { channel: 'alipay', identity: 'a@example.com', identity_type: 'ALIPAY_LOGON_ID', name: 'D' },
        })
      ).statusCode,
    ).toBe(401);
    expect((await w.consoleLogin()).statusCode).toBe(401);
    expect((await w.portalLogin()).statusCode).toBe(401);
    expect([401, 404]).toContain((await w.tokenLogin()).statusCode);
  });
});

describe('a suspended or rejected distributor (issue 14, item 11)', () => {
  it('suspension ends its sessions: no payout account, upload or password change; no login until reactivated', async () => {
    const w = await populated('3');
    const other = (await w.portalLogin()).data.token as string;
    const s = await t.call('POST', `/v1/distributors/${w.distributorId}/suspend`, { token: w.key, body: { reason: 'fraud check' } });
    expect(s.statusCode).toBe(200);
    for (const token of [w.portal, other]) {
      expect((await t.call('GET', '/v1/me', { token })).statusCode).toBe(401);
      expect(
        (
          await t.call('POST', `/v1/distributors/${w.distributorId}/payout-accounts`, {
            token,
            body: { channel: 'alipay', identity: 'a@example.com', identity_type: 'ALIPAY_LOGON_ID', name: 'D' },
          })
        ).statusCode,
      ).toBe(401);
      expect(
        (await t.call('POST', '/v1/portal/password', { token, body: { password: 'another-password', current_password: PORTAL_PASSWORD } })).statusCode,
      ).toBe(401);
    }
    const accounts = await t.call('GET', `/v1/distributors/${w.distributorId}/payout-accounts`, { token: w.key });
    expect(accounts.data.items).toEqual([]);
    expect((await w.portalLogin()).statusCode).toBe(401);
    expect((await w.tokenLogin()).statusCode).toBe(401);

    expect((await t.call('POST', `/v1/distributors/${w.distributorId}/reactivate`, { token: w.key, body: {} })).statusCode).toBe(200);
    // The sessions it had stay ended; it signs in again.
    expect((await t.call('GET', '/v1/me', { token: w.portal })).statusCode).toBe(401);
    expect((await w.portalLogin()).statusCode).toBe(200);
  });

  it("rejection ends an applicant's session", async () => {
    const { id: tenantId, key } = await t.tenant('Rejection');
    expect((await t.call('PUT', '/v1/program', { token: key, body: { admission: 'review' } })).statusCode).toBe(200);
    const d = await t.call('POST', '/v1/applications', { token: key, body: { external_id: 'applicant', name: 'A', phone: '13700009999', consent: true } });
    expect(d.data.status).toBe('pending');
    const secret = (await t.call('POST', '/v1/portal/signing-secret', { token: key })).data.secret as string;
    const session = await t.call('POST', '/v1/portal/token-login', {
      body: { tenant_id: tenantId, token: await mintPortalToken(secret, 'applicant', t.clock.now().getTime()) },
    });
    expect(session.statusCode).toBe(200);
    expect((await t.call('GET', '/v1/me', { token: session.data.token })).data.status).toBe('pending');
    expect((await t.call('POST', `/v1/distributors/${d.data.id}/reject`, { token: key, body: { reason: 'incomplete' } })).statusCode).toBe(200);
    expect((await t.call('GET', '/v1/me', { token: session.data.token })).statusCode).toBe(401);
    expect((await t.call('POST', '/v1/portal/password', { token: session.data.token, body: { password: 'a-new-password' } })).statusCode).toBe(401);
  });
});
