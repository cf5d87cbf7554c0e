/**
 * Races on admission deposits, on a real PostgreSQL: two server instances (two pools, as two app
 * processes) recording deposits for one distributor at once, retrying under one Idempotency-Key at
 * once, and refunding while a receipt is being recorded; and the last two admission conditions met
 * at once (training recorded, an own order reaching the minimum purchases), which must admit.
 * PGlite runs one transaction at a time, so these only mean something here.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { onPostgres } from '../support/db.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { openDatabase, type Database } from '../../src/db/database.ts';

describe.skipIf(!onPostgres())('admission deposit races on PostgreSQL (needs DATABASE_URL: PostgreSQL only)', () => {
  let a: TestServer;
  let b: TestServer;
  const pools: Database[] = [];

  beforeAll(async () => {
    const url = inject('databaseUrl');
    pools.push(await openDatabase({ databaseUrl: url, poolSize: 10 }), await openDatabase({ databaseUrl: url, poolSize: 10 }));
    const env = { FENXIAO_MASTER_KEY: randomBytes(32).toString('base64') };
    [a, b] = await Promise.all([startTestServer({ env, database: pools[0]! }), startTestServer({ env, database: pools[1]! })]);
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await Promise.all(pools.map((p) => p.close()));
  });

  async function distributor(deposit: number) {
    const { key } = await a.tenant();
    expect((await a.call('PUT', '/v1/program', { token: key, body: { admission: 'open', admission_conditions: { deposit_fen: deposit } } })).statusCode).toBe(
      200,
    );
    const d = (await a.call('POST', '/v1/distributors', { token: key, body: { external_id: 'race-1', name: 'R' } })).data as { id: string; status: string };
    expect(d.status).toBe('pending');
    const deposit_ = async () => (await a.call('GET', `/v1/distributors/${d.id}/deposit`, { token: key })).data;
    const verify = async () => (await a.call('GET', '/v1/ledger/verify', { token: key })).data as { ok: boolean; breaks: unknown[] };
    return { key, id: d.id, deposit: deposit_, verify };
  }

  it('two receipts at once never hold more than the program asks', async () => {
    const { key, id, deposit, verify } = await distributor(50000);
    const answers = await Promise.all(
      [a, b, a, b].map((s, i) =>
        s.call('POST', `/v1/distributors/${id}/deposit`, { token: key, body: { amount_fen: 30000 }, headers: { 'idempotency-key': `race-${i}` } }),
      ),
    );
    expect(answers.map((r) => r.statusCode).sort()).toEqual([200, 409, 409, 409]);
    expect(await deposit()).toMatchObject({ paid_fen: 30000, held_fen: 30000, status: 'pending' });
    expect((await verify()).breaks).toEqual([]);
  });

  it('one key retried at once from two processes records the deposit once', async () => {
    const { key, id, deposit, verify } = await distributor(50000);
    const answers = await Promise.all(
      [a, b, a, b].map((s) =>
        s.call('POST', `/v1/distributors/${id}/deposit`, { token: key, body: { amount_fen: 50000 }, headers: { 'idempotency-key': 'one-key' } }),
      ),
    );
    // Each answer is the first answer, or a 409 for a retry that arrived while it was being made.
    for (const r of answers) expect([200, 409]).toContain(r.statusCode);
    const ok = answers.filter((r) => r.statusCode === 200);
    expect(ok.length).toBeGreaterThan(0);
    for (const r of ok) expect(r.data).toMatchObject({ paid_fen: 50000, held_fen: 50000, status: 'active' });
    expect(await deposit()).toMatchObject({ paid_fen: 50000, held_fen: 50000, status: 'active' });
    expect((await verify()).breaks).toEqual([]);
  });

  it('training recorded while an own order reaches the minimum: whichever commits second admits, once', async () => {
    const { key } = await a.tenant();
    const program = { admission: 'open', admission_conditions: { training_required: true, min_purchases_fen: 10000 } };
    expect((await a.call('PUT', '/v1/program', { token: key, body: program })).statusCode).toBe(200);
    const ds: { id: string; external_id: string }[] = [];
    for (let i = 0; i < 12; i++) {
      const d = (await a.call('POST', '/v1/distributors', { token: key, body: { external_id: `mp-${i}`, name: `M${i}` } })).data;
      expect(d.status).toBe('pending');
      ds.push(d);
    }
    const answers = await Promise.all(
      ds.flatMap((d, i) => [
        (i % 2 ? a : b).call('POST', `/v1/distributors/${d.id}/conditions`, { token: key, body: { training_completed: true } }),
        (i % 2 ? b : a).call('POST', '/v1/orders', {
          token: key,
          body: { external_id: `mp-o-${i}`, buyer_external_id: d.external_id, items: [{ sku: 's', quantity: 1, unit_price_fen: 10000, paid_fen: 10000 }] },
        }),
      ]),
    );
    expect(answers.map((r) => r.statusCode)).toEqual(ds.flatMap(() => [200, 201]));
    for (const d of ds) {
      expect((await a.call('GET', `/v1/distributors/${d.id}`, { token: key })).data.status, d.external_id).toBe('active');
      const audit = (await a.call('GET', `/v1/audit-log?target_id=${d.id}`, { token: key })).data.items as { action: string }[];
      expect(audit.filter((e) => e.action === 'distributor.admit')).toHaveLength(1);
    }
  });

  it('a refund racing a receipt takes the whole deposit held at its turn (a receipt after it waits for its end), and the ledger agrees', async () => {
    const { key, id, deposit, verify } = await distributor(50000);
    expect((await a.call('POST', `/v1/distributors/${id}/deposit`, { token: key, body: { amount_fen: 20000 } })).statusCode).toBe(200);
    const [refund, more] = await Promise.all([
      a.call('POST', `/v1/distributors/${id}/deposit/refund`, { token: key, body: { reason: 'application withdrawn', channel: 'manual' } }),
      b.call('POST', `/v1/distributors/${id}/deposit`, { token: key, body: { amount_fen: 10000 } }),
    ]);
    expect(refund.statusCode, refund.body).toBe(200);
    // Whichever went first: the receipt then the refund of both, or the refund and a receipt refused while it is under way.
    expect([200, 409]).toContain(more.statusCode);
    const paid = more.statusCode === 200 ? 30000 : 20000;
    expect(refund.data).toMatchObject({ amount_fen: paid, status: 'pending_review' });
    expect(await deposit()).toMatchObject({ paid_fen: paid, held_fen: 0, refunding_fen: paid, refunded_fen: 0 });
    expect((await verify()).breaks).toEqual([]);
    // Approved and recorded paid (the merchant's API key is its own system, not a person: it may do both).
    expect((await b.call('POST', `/v1/deposit-refunds/${refund.data.id}/approve`, { token: key })).statusCode).toBe(200);
    const done = await a.call('POST', `/v1/deposit-refunds/${refund.data.id}/complete`, { token: key, body: { reference: 'RET-1' } });
    expect(done.statusCode, done.body).toBe(200);
    expect(await deposit()).toMatchObject({ paid_fen: paid, held_fen: 0, refunding_fen: 0, refunded_fen: paid });
    expect((await verify()).breaks).toEqual([]);
  });

  it('two refund requests at once make one refund; two approvals at once make one payout', async () => {
    const { key, id, deposit, verify } = await distributor(50000);
    expect((await a.call('POST', `/v1/distributors/${id}/deposit`, { token: key, body: { amount_fen: 50000 } })).statusCode).toBe(200);
    expect((await a.call('POST', `/v1/distributors/${id}/suspend`, { token: key, body: { reason: 'exit' } })).statusCode).toBe(200);
    const asks = await Promise.all(
      [a, b, a, b].map((s, i) =>
        s.call('POST', `/v1/distributors/${id}/deposit/refund`, {
          token: key,
          body: { reason: 'exit', channel: 'manual' },
          headers: { 'idempotency-key': `refund-${i}` },
        }),
      ),
    );
    expect(asks.map((r) => r.statusCode).sort()).toEqual([200, 409, 409, 409]);
    const refund = asks.find((r) => r.statusCode === 200)?.data as { id: string };
    expect(await deposit()).toMatchObject({ held_fen: 0, refunding_fen: 50000 });
    const approvals = await Promise.all([a, b, a, b].map((s) => s.call('POST', `/v1/deposit-refunds/${refund.id}/approve`, { token: key })));
    for (const r of approvals) expect(r.statusCode, r.body).toBe(200);
    const payouts = new Set(approvals.map((r) => (r.data as { payout: { id: string } }).payout.id));
    expect(payouts.size).toBe(1);
    expect((await verify()).breaks).toEqual([]);
  });
});
