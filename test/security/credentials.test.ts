/**
 * Credentials that say what they may do (issue 14, item 17): API keys carry a scope — full, read
 * or orders — checked with every route's permission; a portal login token's `sub` and `jti` must
 * be strings.
 */
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.ts';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.close();
});

const order = (id: string) => ({ external_id: id, buyer_external_id: `buyer-${id}`, items: [{ sku: 'S', quantity: 1, unit_price_fen: 1000, paid_fen: 1000 }] });

describe('API key scopes', () => {
  it('a read-only key reads and writes nothing; an orders key sends orders and their events and nothing else; the first key is full', async () => {
    const { key } = await t.tenant('Scopes');
    const made = async (scope?: string) => {
      const res = await t.call('POST', '/v1/api-keys', { token: key, body: { name: `k-${scope ?? 'default'}`, ...(scope ? { scope } : {}) } });
      expect(res.statusCode, res.body).toBe(201);
      return res.data as { id: string; scope: string; api_key: string };
    };
    const read = await made('read');
    const orders = await made('orders');
    const plain = await made();
    expect([read.scope, orders.scope, plain.scope]).toEqual(['read', 'orders', 'full']);
    expect((await t.call('POST', '/v1/api-keys', { token: key, body: { name: 'x', scope: 'admin' } })).statusCode).toBe(400);

    // Read-only: reads, and is refused every write (403), nothing written.
    expect((await t.call('GET', '/v1/program', { token: read.api_key })).statusCode).toBe(200);
    expect((await t.call('GET', '/v1/distributors', { token: read.api_key })).statusCode).toBe(200);
    expect((await t.call('POST', '/v1/orders', { token: read.api_key, body: order('r-1') })).statusCode).toBe(403);
    expect((await t.call('PUT', '/v1/program', { token: read.api_key, body: { levels: 1 } })).statusCode).toBe(403);
    expect((await t.call('POST', '/v1/distributors', { token: read.api_key, body: { external_id: 'x', name: 'X' } })).statusCode).toBe(403);
    expect((await t.call('POST', '/v1/api-keys', { token: read.api_key, body: { name: 'escalate' } })).statusCode).toBe(403);
    expect((await t.call('GET', '/v1/api-keys', { token: read.api_key })).statusCode).toBe(403);

    // Orders-only: orders and their events; not the distributors, the program, money or keys.
    const o = await t.call('POST', '/v1/orders', { token: orders.api_key, body: order('o-1') });
    expect(o.statusCode, o.body).toBe(201);
    expect((await t.call('POST', '/v1/orders/o-1/events', { token: orders.api_key, body: { type: 'shipped' } })).statusCode).toBe(200);
    expect((await t.call('GET', '/v1/distributors', { token: orders.api_key })).statusCode).toBe(403);
    expect((await t.call('GET', '/v1/program', { token: orders.api_key })).statusCode).toBe(403);
    expect((await t.call('PUT', '/v1/program', { token: orders.api_key, body: { levels: 1 } })).statusCode).toBe(403);
    expect((await t.call('POST', '/v1/settlements/run', { token: orders.api_key, body: { as_of: t.clock.now().toISOString() } })).statusCode).toBe(403);
    expect((await t.call('POST', '/v1/api-keys', { token: orders.api_key, body: { name: 'escalate', scope: 'full' } })).statusCode).toBe(403);

    // The tenant's first key (POST /v1/tenants) and a key made without a scope act in full.
    for (const k of [key, plain.api_key]) {
      expect((await t.call('PUT', '/v1/program', { token: k, body: { freeze_days: 3 } })).statusCode).toBe(200);
      expect((await t.call('GET', '/v1/api-keys', { token: k })).statusCode).toBe(200);
    }

    // Listed with their scopes; a rotation keeps the scope.
    const list = await t.call('GET', '/v1/api-keys', { token: key });
    const scopes = Object.fromEntries((list.data.items as { name: string; scope: string }[]).map((k) => [k.name, k.scope]));
    expect(scopes).toEqual({ default: 'full', 'k-read': 'read', 'k-orders': 'orders', 'k-default': 'full' });
    const rotated = await t.call('POST', `/v1/api-keys/${read.id}/rotate`, { token: key });
    expect(rotated.data.scope).toBe('read');
    expect((await t.call('POST', '/v1/orders', { token: rotated.data.api_key, body: order('r-2') })).statusCode).toBe(403);
  });
});

describe('portal login token claims', () => {
  it('refuses a token whose sub or jti is not a string, even when its value names a distributor', async () => {
    const { id: tenantId, key } = await t.tenant('Claims');
    expect((await t.call('POST', '/v1/distributors', { token: key, body: { external_id: '12345', name: 'Numeric' } })).statusCode).toBe(201);
    const secret = new TextEncoder().encode((await t.call('POST', '/v1/portal/signing-secret', { token: key })).data.secret as string);
    const iat = Math.floor(t.clock.now().getTime() / 1000);
    const sign = (claims: Record<string, unknown>) => new SignJWT({ iat, exp: iat + 300, ...claims }).setProtectedHeader({ alg: 'HS256' }).sign(secret);
    const login = async (claims: Record<string, unknown>) =>
      t.call('POST', '/v1/portal/token-login', { body: { tenant_id: tenantId, token: await sign(claims) } });

    for (const claims of [
      { sub: 12345, jti: 'jti-numeric-sub' },
      { sub: '12345', jti: 123456789 },
      { sub: ['12345'], jti: 'jti-array-sub' },
      { sub: { id: '12345' }, jti: 'jti-object-sub' },
    ]) {
      const res = await login(claims);
      expect(res.statusCode, `${JSON.stringify(claims)} → ${res.body}`).toBe(401);
      expect(res.data.error.code).toBe('unauthorized');
    }
    expect((await login({ sub: '12345', jti: 'jti-string-ok' })).statusCode).toBe(200);
  });
});
