import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../../test/support/server.ts';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.close();
});

async function session(tenant: { id: string; key: string }, externalId: string): Promise<string> {
  const secret = (await t.call('POST', '/v1/portal/signing-secret', { token: tenant.key })).data.secret as string;
  const now = Math.floor(t.clock.now().getTime() / 1000);
  const jwt = await new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(externalId)
    .setIssuedAt(now)
    .setExpirationTime(now + 300)
    .setJti(`rules-${externalId}-${Math.random().toString(36).slice(2)}`)
    .sign(new TextEncoder().encode(secret));
  const res = await t.call('POST', '/v1/portal/token-login', { body: { tenant_id: tenant.id, token: jwt } });
  expect(res.statusCode, res.body).toBe(200);
  return res.data.token;
}

describe('GET /v1/me/withdrawal-rules', () => {
  it("answers the program's withdrawal settings and the configured channels to the distributor", async () => {
    const tenant = await t.tenant();
    await t.call('PUT', '/v1/program', {
      token: tenant.key,
      body: { withdrawal: { min_fen: 500, fee_bp: 60, fixed_fee_fen: 100, daily_count_limit: 3, daily_amount_limit_fen: 500000 } },
    });
    await t.call('POST', '/v1/distributors', { token: tenant.key, body: { external_id: 'd-1', name: 'One' } });
    const res = await t.call('GET', '/v1/me/withdrawal-rules', { token: await session(tenant, 'd-1') });
    expect(res.statusCode).toBe(200);
    expect(res.data).toEqual({
      min_fen: 500,
      fee_bp: 60,
      fixed_fee_fen: 100,
      fee_formula: expect.stringContaining('floor'),
      daily_count_limit: 3,
      daily_amount_limit_fen: 500000,
      channels: ['manual', 'bank'],
    });
  });

  it('is for distributor sessions only', async () => {
    const tenant = await t.tenant();
    expect((await t.call('GET', '/v1/me/withdrawal-rules')).statusCode).toBe(401);
    expect((await t.call('GET', '/v1/me/withdrawal-rules', { token: tenant.key })).statusCode).toBe(403);
  });
});
