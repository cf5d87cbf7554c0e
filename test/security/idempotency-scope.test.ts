/**
 * Issue 14, item 10: withdrawal Idempotency-Keys were one namespace per tenant, so a distributor
 * could occupy a key the merchant's integration would use next (its request then answered 409,
 * or another caller's withdrawal), and could tell whether a key had been used. Keys are scoped by
 * caller: each API key, console user and distributor has its own.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.ts';
import { moneyTenant, type MoneyTenant } from '../support/money.ts';

let t: TestServer;
let m: MoneyTenant;
beforeAll(async () => {
  t = await startTestServer();
  m = await moneyTenant(t);
}, 120_000);
afterAll(async () => {
  await t?.close();
});

const body = (amount: number) => ({ distributor_id: m.d.id, amount_fen: amount, channel: 'manual' });

describe('Idempotency-Key scope (issue 14, item 10)', () => {
  it('a distributor cannot occupy the key a merchant integration uses next', async () => {
    const key = { 'idempotency-key': 'payout-2026-03-01-0001' };
    const squatted = await m.call('POST', '/v1/withdrawals', m.d.portal, body(100), key);
    expect(squatted.statusCode, squatted.body).toBe(201);
    // The merchant's own request under the same key is its own, not a conflict with the distributor's.
    const merchant = await m.call('POST', '/v1/withdrawals', m.key, body(200), key);
    expect(merchant.statusCode, merchant.body).toBe(201);
    expect(merchant.data.id).not.toBe(squatted.data.id);
    expect(merchant.data.amount_fen).toBe(200);
    // And its retry still answers its first withdrawal.
    const retry = await m.call('POST', '/v1/withdrawals', m.key, body(200), key);
    expect(retry.data).toEqual(merchant.data);
  });

  it('nobody can learn whether another caller used a key, nor get its answer', async () => {
    const key = { 'idempotency-key': 'erp-4711' };
    const merchant = await m.call('POST', '/v1/withdrawals', m.key, body(300), key);
    expect(merchant.statusCode).toBe(201);
    // The same body under the same key from a distributor: a new withdrawal of its own, not the merchant's answer.
    const probe = await m.call('POST', '/v1/withdrawals', m.d.portal, body(300), key);
    expect(probe.statusCode, probe.body).toBe(201);
    expect(probe.data.id).not.toBe(merchant.data.id);
    // A different body is no 409 either: the distributor's namespace has only its own keys.
    const probe2 = await m.call('POST', '/v1/withdrawals', m.staff.finance.token, body(301), key);
    expect(probe2.statusCode, probe2.body).toBe(201);
    // A second API key of the same merchant is another caller too.
    const other = await m.call('POST', '/v1/api-keys', m.key, { name: 'second system' });
    const second = await m.call('POST', '/v1/withdrawals', other.data.api_key, body(302), key);
    expect(second.statusCode, second.body).toBe(201);
    // Each caller's own retry still finds its own answer; its own different body is still a 409.
    expect((await m.call('POST', '/v1/withdrawals', m.d.portal, body(300), key)).data).toEqual(probe.data);
    expect((await m.call('POST', '/v1/withdrawals', m.d.portal, body(999), key)).statusCode).toBe(409);
  });

  it('a key claimed before keys were scoped still answers its retry, for the caller that made it only', async () => {
    const key = { 'idempotency-key': 'before-the-upgrade' };
    const first = await m.call('POST', '/v1/withdrawals', m.key, body(400), key);
    expect(first.statusCode).toBe(201);
    // As the row was stored before the upgrade: one namespace for the tenant.
    await sql`update idempotency_keys set scope = 'withdrawal' where tenant_id = ${m.tenantId} and key = 'before-the-upgrade'`.execute(t.database.db);
    expect((await m.call('POST', '/v1/withdrawals', m.key, body(400), key)).data).toEqual(first.data);
    expect((await m.call('POST', '/v1/withdrawals', m.key, body(401), key)).statusCode).toBe(409);
    const other = await m.call('POST', '/v1/withdrawals', m.d.portal, body(400), key);
    expect(other.statusCode).toBe(201);
    expect(other.data.id).not.toBe(first.data.id);
  });
});
