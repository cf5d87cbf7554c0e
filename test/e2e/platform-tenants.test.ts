/** GET /v1/tenants: the platform operator's list of tenants (issue 16, item 15), root token only. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT_TOKEN, startTestServer, type TestServer } from '../support/server.ts';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.close();
});

describe('platform tenant list', () => {
  it('lists every tenant with its status, oldest first, to the root token only', async () => {
    const first = await t.tenant('第一家');
    const second = await t.tenant('第二家');
    expect((await t.call('POST', `/v1/tenants/${first.id}/suspend`, { token: ROOT_TOKEN, body: { reason: 'unpaid' } })).statusCode).toBe(200);
    const res = await t.call('GET', '/v1/tenants', { token: ROOT_TOKEN });
    expect(res.statusCode, res.body).toBe(200);
    const items = res.data.items as { id: string; name: string; status: string; created_at: string }[];
    const ids = items.map((x) => x.id);
    expect(ids.indexOf(first.id)).toBeLessThan(ids.indexOf(second.id));
    expect(items.find((x) => x.id === first.id)).toMatchObject({ name: '第一家', status: 'suspended' });
    expect(items.find((x) => x.id === second.id)).toMatchObject({ name: '第二家', status: 'active' });
    expect(res.data.next_cursor).toBeNull();
    // A tenant's own key, or none, does not see other tenants.
    expect((await t.call('GET', '/v1/tenants', { token: second.key })).statusCode).toBe(401);
    expect((await t.call('GET', '/v1/tenants')).statusCode).toBe(401);
    expect((await t.call('GET', '/v1/tenants?x=1', { token: ROOT_TOKEN })).statusCode).toBe(400);
  });
});
