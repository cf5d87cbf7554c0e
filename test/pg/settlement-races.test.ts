/**
 * Races on settlement and withdrawals, on a real PostgreSQL (PGlite runs one transaction at a
 * time, so these only mean something here): two server instances on one database, as two app
 * processes behind a load balancer.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onPostgres } from '../support/db.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { ManualClock } from '../../src/core/context.ts';
import { verifyLedger } from '../../src/modules/ledger/verify.ts';

describe.skipIf(!onPostgres())('settlement and withdrawal races on PostgreSQL (needs DATABASE_URL: PostgreSQL only)', () => {
  let a: TestServer;
  let b: TestServer;
  const clock = new ManualClock('2026-04-01T00:00:00Z');

  beforeAll(async () => {
    const env = { FENXIAO_MASTER_KEY: randomBytes(32).toString('base64') };
    [a, b] = await Promise.all([startTestServer({ env, clock }), startTestServer({ env, clock })]);
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
  });

  /** A tenant where `buyers` buyers are bound to B, whose referrer A earns 10% of each order. */
  async function tenant(program: Record<string, unknown> = {}) {
    const { id, key } = await a.tenant();
    await a.call('PUT', '/v1/program', { token: key, body: { levels: 1, freeze_days: 0, review_threshold_fen: 100_000_000, ...program } });
    await a.call('PUT', '/v1/grades/default', { token: key, body: { name: 'g', rank: 0, sales_bp: 0, override_bp: [1000] } });
    const A = (await a.call('POST', '/v1/distributors', { token: key, body: { external_id: 'A', name: 'A' } })).data;
    const B = (await a.call('POST', '/v1/distributors', { token: key, body: { external_id: 'B', name: 'B', referrer_code: A.invite_code } })).data;
    await a.call('POST', '/v1/bindings', { token: key, body: { customer_external_id: 'buyer', invite_code: B.invite_code } });
    const order = async (externalId: string, paid: number, via = a) => {
      const res = await via.call('POST', '/v1/orders', {
        token: key,
        body: { external_id: externalId, buyer_external_id: 'buyer', items: [{ sku: 's', quantity: 1, unit_price_fen: paid, paid_fen: paid }] },
      });
      expect(res.statusCode).toBe(201);
      return res.data;
    };
    const receive = (externalId: string, via = a) =>
      via.call('POST', `/v1/orders/${externalId}/events`, { token: key, body: { type: 'received', at: '2026-03-31T00:00:00Z' } });
    const balance = async () => (await a.call('GET', `/v1/distributors/${A.id}/balance`, { token: key })).data;
    return { id, key, A, B, order, receive, balance };
  }

  it('10 concurrent withdrawals against one balance: only what fits', async () => {
    const t = await tenant();
    await t.order('o', 250_000);
    await t.receive('o');
    await a.call('POST', '/v1/settlements/run', { token: t.key, body: { as_of: '2026-04-01T00:00:00Z' } });
    expect((await t.balance()).withdrawable_fen).toBe(25_000);
    // Each asks for 6,000: at most 4 fit in 25,000.
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        (i % 2 ? b : a).call('POST', '/v1/withdrawals', { token: t.key, body: { distributor_id: t.A.id, amount_fen: 6000, channel: 'manual' } }),
      ),
    );
    const codes = results.map((r) => r.statusCode).sort();
    expect(codes.filter((c) => c === 201)).toHaveLength(4);
    expect(codes.filter((c) => c === 422)).toHaveLength(6);
    for (const r of results) if (r.statusCode === 422) expect(r.data.error.code).toBe('insufficient_balance');
    expect(await t.balance()).toMatchObject({ withdrawable_fen: 1000, withdrawing_fen: 24_000 });
    expect((await verifyLedger(a.database.db, t.id)).breaks).toEqual([]);
  });

  it('withdrawals of different amounts racing: the sum granted never exceeds the balance, to the fen', async () => {
    const t = await tenant();
    await t.order('o', 100_000);
    await t.receive('o');
    await a.call('POST', '/v1/settlements/run', { token: t.key, body: { as_of: '2026-04-01T00:00:00Z' } });
    const amounts = [3000, 2500, 4100, 999, 1234, 5000, 777, 2222, 3333, 1111];
    const results = await Promise.all(
      amounts.map((amount, i) =>
        (i % 2 ? b : a).call('POST', '/v1/withdrawals', {
          token: t.key,
          body: { distributor_id: t.A.id, amount_fen: amount, channel: 'manual' },
          headers: { 'idempotency-key': `k${i}` },
        }),
      ),
    );
    const granted = results.filter((r) => r.statusCode === 201).reduce((s, r) => s + (r.data.amount_fen as number), 0);
    expect(granted).toBeLessThanOrEqual(10_000);
    expect(await t.balance()).toMatchObject({ withdrawable_fen: 10_000 - granted, withdrawing_fen: granted });
    // Replays of the same keys at once change nothing.
    const again = await Promise.all(
      amounts.map((amount, i) =>
        (i % 2 ? a : b).call('POST', '/v1/withdrawals', {
          token: t.key,
          body: { distributor_id: t.A.id, amount_fen: amount, channel: 'manual' },
          headers: { 'idempotency-key': `k${i}` },
        }),
      ),
    );
    again.forEach((r, i) => {
      if (results[i]!.statusCode === 201) expect(r.data).toEqual(results[i]!.data);
    });
    expect((await t.balance()).withdrawing_fen).toBe(granted);
    expect((await verifyLedger(a.database.db, t.id)).breaks).toEqual([]);
  });

  it('two settlement runs started at once make one set of statements', async () => {
    const t = await tenant();
    for (let i = 0; i < 20; i++) {
      await t.order(`o${i}`, 10_000 + i);
      await t.receive(`o${i}`);
    }
    const [r1, r2] = await Promise.all([
      a.call('POST', '/v1/settlements/run', { token: t.key, body: { as_of: '2026-04-01T00:00:00Z' } }),
      b.call('POST', '/v1/settlements/run', { token: t.key, body: { as_of: '2026-04-01T00:00:00Z' } }),
    ]);
    expect([r1.statusCode, r2.statusCode]).toEqual([200, 200]);
    const all = [...r1.data.statements, ...r2.data.statements];
    expect(all).toHaveLength(1);
    const stored = await a.database.db.selectFrom('statements').selectAll().where('tenant_id', '=', t.id).execute();
    expect(stored).toHaveLength(1);
    expect(stored[0]!.amount_fen).toBe(Array.from({ length: 20 }, (_, i) => Math.floor((10_000 + i) / 10)).reduce((s, x) => s + x, 0));
    expect((await t.balance()).withdrawable_fen).toBe(stored[0]!.amount_fen);
    expect((await verifyLedger(a.database.db, t.id)).breaks).toEqual([]);
  });

  it('two schedulers ticking at once run a due cycle once', async () => {
    const t = await tenant({ settlement: { cycle: 'daily', hour: 2 } });
    await t.order('o', 50_000);
    await t.receive('o');
    clock.set('2026-04-01T19:00:00Z');
    await Promise.all([a.scheduler.tick(), b.scheduler.tick()]);
    const runs = await a.database.db.selectFrom('settlement_runs').selectAll().where('tenant_id', '=', t.id).execute();
    expect(runs).toHaveLength(1);
    expect(await a.database.db.selectFrom('statements').selectAll().where('tenant_id', '=', t.id).execute()).toHaveLength(1);
    expect((await t.balance()).withdrawable_fen).toBe(5000);
    clock.set('2026-04-01T00:00:00Z');
  });

  it('a refund racing a settlement run, 100 times: each commission is settled then clawed back, or reversed — never both, never neither', async () => {
    const t = await tenant();
    const orders = Array.from({ length: 100 }, (_, i) => `r${i}`);
    for (const o of orders) await t.order(o, 10_000);
    const seen = { settled: 0, reversed: 0 };
    // Each round: one order becomes due, then a settlement run and its full refund go at once,
    // from both servers.
    for (let i = 0; i < orders.length; i++) {
      const o = orders[i]!;
      await t.receive(o);
      const [run, refund] = await Promise.all([
        (i % 2 ? a : b).call('POST', '/v1/settlements/run', { token: t.key, body: { as_of: '2026-04-01T00:00:00Z' } }),
        (i % 2 ? b : a).call('POST', `/v1/orders/${o}/events`, { token: t.key, body: { type: 'refunded', refund_fen: 10_000 } }),
      ]);
      expect(run.statusCode).toBe(200);
      expect(refund.statusCode).toBe(200);
      const lines = (await a.call('GET', `/v1/orders/${o}`, { token: t.key })).data.commissions as { kind: string; status: string; amount_fen: number }[];
      const original = lines.filter((l) => l.kind === 'commission');
      const clawbacks = lines.filter((l) => l.kind === 'clawback');
      expect(original).toHaveLength(1);
      const line = original[0]!;
      seen[line.status === 'settled' ? 'settled' : 'reversed']++;
      if (line.status === 'settled') {
        // Settled first, then the refund took it back with a clawback.
        expect(line.amount_fen).toBe(1000);
        expect(clawbacks.map((c) => c.amount_fen)).toEqual([-1000]);
      } else {
        // Refunded first: reversed, never settled, no clawback.
        expect(line).toMatchObject({ status: 'reversed', amount_fen: 0 });
        expect(clawbacks).toEqual([]);
      }
    }
    console.log(`refund vs settlement, 100 rounds: ${seen.settled} settled then clawed back, ${seen.reversed} reversed before settlement`);
    expect(seen.settled + seen.reversed).toBe(100);
    const bal = await t.balance();
    expect(bal).toMatchObject({ pending_fen: 0, available_fen: 0, withdrawable_fen: 0 });
    expect((await verifyLedger(a.database.db, t.id)).breaks).toEqual([]);
  }, 300_000);
});
