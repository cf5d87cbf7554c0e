/**
 * A distributor asks for erasure from the portal (issue 16, item 18): the request waits for the
 * merchant (one open at a time, audited), the console lists it, and the owner's erasure closes
 * it in the same transaction.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.ts';
import { mintPortalToken } from '../security/world.ts';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.close();
});

async function world(tag: string) {
  const { id: tenantId, key } = await t.tenant(`Erasure ${tag}`);
  const d = await t.call('POST', '/v1/distributors', { token: key, body: { external_id: `d-${tag}`, name: `申请注销的人${tag}` } });
  expect(d.statusCode, d.body).toBe(201);
  const secret = (await t.call('POST', '/v1/portal/signing-secret', { token: key })).data.secret as string;
  const login = await t.call('POST', '/v1/portal/token-login', {
    body: { tenant_id: tenantId, token: await mintPortalToken(secret, `d-${tag}`, t.clock.now().getTime()) },
  });
  expect(login.statusCode, login.body).toBe(200);
  return { key, id: d.data.id as string, portal: login.data.token as string };
}

describe('erasure requests', () => {
  it('one open request per person, audited, listed for the merchant, closed by the erasure', async () => {
    const w = await world('1');
    const other = await world('2');
    expect((await t.call('GET', '/v1/me/erasure-request', { token: w.portal })).data).toEqual({ request: null });
    // Bad input changes nothing.
    expect((await t.call('POST', '/v1/me/erasure-request', { token: w.portal, body: { reason: 'x' } })).statusCode).toBe(400);
    expect((await t.call('GET', '/v1/erasure-requests', { token: w.key })).data.items).toEqual([]);

    const first = await t.call('POST', '/v1/me/erasure-request', { token: w.portal, body: {} });
    expect(first.statusCode, first.body).toBe(200);
    expect(first.data).toMatchObject({ status: 'open', resolved_at: null });
    expect(first.data.id).toMatch(/^era_/);
    const [again, together] = await Promise.all([
      t.call('POST', '/v1/me/erasure-request', { token: w.portal }),
      t.call('POST', '/v1/me/erasure-request', { token: w.portal, body: {} }),
    ]);
    expect([again.data.id, together.data.id]).toEqual([first.data.id, first.data.id]);
    expect((await t.call('GET', '/v1/me/erasure-request', { token: w.portal })).data.request).toEqual(first.data);
    const audit = (await t.call('GET', `/v1/audit-log?action=distributor.erasure_request&target_id=${w.id}`, { token: w.key })).data.items;
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ actor_type: 'distributor', actor_id: w.id });

    const listed = (await t.call('GET', '/v1/erasure-requests?status=open', { token: w.key })).data.items;
    expect(listed).toEqual([{ ...first.data, distributor_id: w.id, distributor_name: '申请注销的人1' }]);
    expect((await t.call('GET', `/v1/erasure-requests?distributor_id=${w.id}`, { token: w.key })).data.items).toHaveLength(1);
    expect((await t.call('GET', `/v1/erasure-requests?distributor_id=${other.id}`, { token: w.key })).data.items).toEqual([]);
    // Another tenant sees none of it; its own distributor cannot read the console's list.
    expect((await t.call('GET', '/v1/erasure-requests', { token: other.key })).data.items).toEqual([]);
    expect((await t.call('GET', '/v1/erasure-requests', { token: w.portal })).statusCode).toBe(403);
    expect((await t.call('GET', '/v1/erasure-requests?status=closed', { token: w.key })).statusCode).toBe(400);

    const erased = await t.call('POST', `/v1/distributors/${w.id}/erase`, { token: w.key, body: { reason: '本人在门户申请注销' } });
    expect(erased.statusCode, erased.body).toBe(200);
    const done = (await t.call('GET', '/v1/erasure-requests?status=done', { token: w.key })).data.items;
    expect(done).toHaveLength(1);
    expect(done[0]).toMatchObject({ id: first.data.id, status: 'done' });
    expect(done[0].resolved_at).not.toBeNull();
    expect((await t.call('GET', '/v1/erasure-requests?status=open', { token: w.key })).data.items).toEqual([]);
    // The erasure ended the person's sessions.
    expect((await t.call('POST', '/v1/me/erasure-request', { token: w.portal })).statusCode).toBe(401);
  });
});
