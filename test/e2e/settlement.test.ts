import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.ts';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.close();
});

/** A tenant with A ← B, a buyer bound to B, and orders crediting A at 10%. */
async function setup(program: Record<string, unknown> = {}) {
  const { key } = await t.tenant();
  await t.call('PUT', '/v1/program', { token: key, body: { levels: 1, freeze_days: 7, ...program } });
  await t.call('PUT', '/v1/grades/default', { token: key, body: { name: 'g', rank: 0, sales_bp: 0, override_bp: [1000] } });
  const a = (await t.call('POST', '/v1/distributors', { token: key, body: { external_id: 'A', name: 'A' } })).data;
  const b = (await t.call('POST', '/v1/distributors', { token: key, body: { external_id: 'B', name: 'B', referrer_code: a.invite_code } })).data;
  await t.call('POST', '/v1/bindings', { token: key, body: { customer_external_id: 'buyer', invite_code: b.invite_code } });
  const buy = async (id: string, paid: number, receivedAt = '2026-03-02T00:00:00Z') => {
    const o = (
      await t.call('POST', '/v1/orders', {
        token: key,
        body: { external_id: id, buyer_external_id: 'buyer', items: [{ sku: 's', quantity: 1, unit_price_fen: paid, paid_fen: paid }] },
      })
    ).data;
    await t.call('POST', `/v1/orders/${id}/events`, { token: key, body: { type: 'received', at: receivedAt } });
    return o;
  };
  const balance = async (id = a.id) => (await t.call('GET', `/v1/distributors/${id}/balance`, { token: key })).data;
  const verify = async () => (await t.call('GET', '/v1/ledger/verify', { token: key })).data.breaks;
  return { key, a, b, buy, balance, verify };
}

describe('settlement', () => {
  it('makes final what is past its freeze days and settles it into an approved statement', async () => {
    const { key, a, buy, balance, verify } = await setup();
    await buy('o-1', 100000);
    const early = await t.call('POST', '/v1/settlements/run', { token: key, body: { as_of: '2026-03-08T23:59:59Z' } });
    expect(early.statusCode).toBe(200);
    expect(early.data.statements).toEqual([]);
    expect(await balance()).toMatchObject({ pending_fen: 10000, available_fen: 0, withdrawable_fen: 0 });
    const run = await t.call('POST', '/v1/settlements/run', { token: key, body: { as_of: '2026-03-09T00:00:00Z' } });
    expect(run.data.statements).toEqual([expect.objectContaining({ distributor_id: a.id, amount_fen: 10000, status: 'approved' })]);
    expect(await balance()).toEqual({ pending_fen: 0, available_fen: 0, withdrawable_fen: 10000, withdrawing_fen: 0, withdrawn_fen: 0 });
    const o = (await t.call('GET', '/v1/orders/o-1', { token: key })).data;
    expect(o.status).toBe('completed');
    expect(o.commissions[0]).toMatchObject({ status: 'settled', statement_id: run.data.statements[0].id });
    expect((await t.call('POST', '/v1/settlements/run', { token: key, body: { as_of: '2026-03-10T00:00:00Z' } })).data.statements).toEqual([]);
    expect(await verify()).toEqual([]);
  });

  it('runs in the background as a job: 202 at once, progress over the distributors found, then the statements', async () => {
    const { key, a, buy, balance, verify } = await setup();
    await buy('j-1', 100000);
    const started = await t.call('POST', '/v1/settlements/jobs', { token: key, body: { as_of: '2026-03-09T00:00:00Z' } });
    expect(started.statusCode).toBe(202);
    expect(started.data).toMatchObject({ status: 'running', done: 0, result: null, error: null });
    let job = started.data;
    for (let i = 0; i < 200 && job.status === 'running'; i++) {
      await new Promise((r) => setTimeout(r, 10));
      job = (await t.call('GET', `/v1/settlements/jobs/${started.data.id}`, { token: key })).data;
    }
    expect(job).toMatchObject({ status: 'done', done: 1, total: 1, error: null });
    expect(job.result.statements).toEqual([expect.objectContaining({ distributor_id: a.id, amount_fen: 10000, status: 'approved' })]);
    expect(job.finished_at).toEqual(expect.any(String));
    expect(await balance()).toMatchObject({ withdrawable_fen: 10000 });
    // The same as the synchronous run: nothing left for another.
    expect((await t.call('POST', '/v1/settlements/run', { token: key, body: { as_of: '2026-03-10T00:00:00Z' } })).data.statements).toEqual([]);
    // Another tenant's job is not found; a bad body changes nothing.
    const other = await t.tenant();
    expect((await t.call('GET', `/v1/settlements/jobs/${started.data.id}`, { token: other.key })).statusCode).toBe(404);
    expect((await t.call('POST', '/v1/settlements/jobs', { token: key, body: { as_of: 'yesterday' } })).statusCode).toBe(400);
    expect(await verify()).toEqual([]);
  });

  it('a statement above review_threshold_fen waits for approval, then moves to withdrawable', async () => {
    const { key, a, buy, balance, verify } = await setup({ review_threshold_fen: 5000 });
    await buy('o-1', 100000);
    const run = (await t.call('POST', '/v1/settlements/run', { token: key, body: { as_of: '2026-03-10T00:00:00Z' } })).data;
    const st = run.statements[0];
    expect(st).toMatchObject({ distributor_id: a.id, amount_fen: 10000, status: 'pending_review' });
    expect(await balance()).toMatchObject({ available_fen: 10000, withdrawable_fen: 0 });
    const ok = await t.call('POST', `/v1/statements/${st.id}/approve`, { token: key });
    expect(ok.statusCode).toBe(200);
    expect(ok.data.status).toBe('approved');
    expect(await balance()).toMatchObject({ available_fen: 0, withdrawable_fen: 10000 });
    expect((await t.call('POST', `/v1/statements/${st.id}/reject`, { token: key, body: { reason: 'late' } })).statusCode).toBe(409);
    expect(await verify()).toEqual([]);
  });

  it("a rejected statement's lines go back to available or on hold, as the reviewer chooses", async () => {
    const { key, buy, balance, verify } = await setup({ review_threshold_fen: 0 });
    const o = await buy('o-1', 100000);
    const st = (await t.call('POST', '/v1/settlements/run', { token: key, body: { as_of: '2026-03-10T00:00:00Z' } })).data.statements[0];
    const rej = await t.call('POST', `/v1/statements/${st.id}/reject`, { token: key, body: { reason: 'check the buyer', lines: 'hold' } });
    expect(rej.data).toMatchObject({ status: 'rejected', review_reason: 'check the buyer' });
    expect((await t.call('POST', '/v1/settlements/run', { token: key, body: { as_of: '2026-03-11T00:00:00Z' } })).data.statements).toEqual([]);
    expect((await t.call('POST', `/v1/commissions/${o.commissions[0].id}/release`, { token: key, body: { reason: 'buyer checked' } })).data).toEqual({
      id: o.commissions[0].id,
      held: false,
    });
    const again = (await t.call('POST', '/v1/settlements/run', { token: key, body: { as_of: '2026-03-12T00:00:00Z' } })).data.statements;
    expect(again).toHaveLength(1);
    expect(again[0]).toMatchObject({ status: 'pending_review', amount_fen: 10000 });
    expect((await t.call('POST', `/v1/statements/${again[0].id}/approve`, { token: key })).data.status).toBe('approved');
    expect((await balance()).withdrawable_fen).toBe(10000);
    const audit = (await t.call('GET', `/v1/audit-log?target_id=${st.id}`, { token: key })).data.items[0];
    expect(audit).toMatchObject({ action: 'statement.reject', reason: 'check the buyer' });
    expect(await verify()).toEqual([]);
  });

  it('a refund after settlement adds a negative clawback line; the next settlement pays off the debt first', async () => {
    const { key, a, buy, balance, verify } = await setup();
    await buy('o-1', 100000);
    await t.call('POST', '/v1/settlements/run', { token: key, body: { as_of: '2026-03-10T00:00:00Z' } });
    await t.call('POST', '/v1/withdrawals', { token: key, body: { distributor_id: a.id, amount_fen: 10000, channel: 'manual' } });
    expect(await balance()).toMatchObject({ withdrawable_fen: 0, withdrawing_fen: 10000 });
    const refund = (await t.call('POST', '/v1/orders/o-1/events', { token: key, body: { type: 'refunded', refund_fen: 40000 } })).data;
    expect(refund.commissions.map((l: { amount_fen: number; status: string; kind: string }) => [l.kind, l.amount_fen, l.status])).toEqual([
      ['commission', 10000, 'settled'],
      ['clawback', -4000, 'settled'],
    ]);
    expect((await balance()).withdrawable_fen).toBe(-4000);
    const tooMuch = await t.call('POST', '/v1/withdrawals', { token: key, body: { distributor_id: a.id, amount_fen: 100, channel: 'manual' } });
    expect(tooMuch.statusCode).toBe(422);
    expect(tooMuch.data.error.code).toBe('insufficient_balance');
    await buy('o-2', 50000, '2026-03-11T00:00:00Z');
    const st = (await t.call('POST', '/v1/settlements/run', { token: key, body: { as_of: '2026-03-20T00:00:00Z' } })).data.statements[0];
    expect(st).toMatchObject({ amount_fen: 5000, debt_offset_fen: 4000 });
    expect((await balance()).withdrawable_fen).toBe(1000);
    // A second refund of the same order claws back only what is left.
    const rest = (await t.call('POST', '/v1/orders/o-1/events', { token: key, body: { type: 'refunded', refund_fen: 60000 } })).data;
    expect(rest.commissions.filter((l: { kind: string }) => l.kind === 'clawback').map((l: { amount_fen: number }) => l.amount_fen)).toEqual([-4000, -6000]);
    expect((await balance()).withdrawable_fen).toBe(-5000);
    expect(await verify()).toEqual([]);
  });
});

describe('withdrawals (manual channel)', () => {
  async function funded(program: Record<string, unknown> = {}) {
    const s = await setup(program);
    await s.buy('o-1', 100000);
    await t.call('POST', '/v1/settlements/run', { token: s.key, body: { as_of: '2026-03-10T00:00:00Z' } });
    return s;
  }

  it('pending_review → approved → paid, with the fee kept from what is paid out', async () => {
    const { key, a, balance, verify } = await funded({ withdrawal: { fee_bp: 60, fixed_fee_fen: 100 } });
    const w = await t.call('POST', '/v1/withdrawals', { token: key, body: { distributor_id: a.id, amount_fen: 5000, channel: 'manual' } });
    expect(w.statusCode).toBe(201);
    expect(w.data).toMatchObject({ distributor_id: a.id, amount_fen: 5000, fee_fen: 130, status: 'pending_review', net_fen: 4870 });
    expect(await balance()).toMatchObject({ withdrawable_fen: 5000, withdrawing_fen: 5000, withdrawn_fen: 0 });
    const ok = await t.call('POST', `/v1/withdrawals/${w.data.id}/approve`, { token: key });
    expect(ok.data.status).toBe('approved');
    const done = await t.call('POST', `/v1/withdrawals/${w.data.id}/complete`, { token: key, body: { reference: 'BANK-2026-0001' } });
    expect(done.data).toMatchObject({ status: 'paid', reference: 'BANK-2026-0001' });
    expect(await balance()).toEqual({ pending_fen: 0, available_fen: 0, withdrawable_fen: 5000, withdrawing_fen: 0, withdrawn_fen: 4870 });
    expect((await t.call('POST', `/v1/withdrawals/${w.data.id}/complete`, { token: key, body: { reference: 'again' } })).statusCode).toBe(409);
    expect(await verify()).toEqual([]);
  });

  it('a failed payout returns the money to withdrawable; a rejected request too', async () => {
    const { key, a, balance, verify } = await funded();
    const w1 = (await t.call('POST', '/v1/withdrawals', { token: key, body: { distributor_id: a.id, amount_fen: 3000, channel: 'manual' } })).data;
    await t.call('POST', `/v1/withdrawals/${w1.id}/approve`, { token: key });
    const failed = await t.call('POST', `/v1/withdrawals/${w1.id}/fail`, { token: key, body: { reason: 'account closed' } });
    expect(failed.data).toMatchObject({ status: 'failed', status_reason: 'account closed' });
    const w2 = (await t.call('POST', '/v1/withdrawals', { token: key, body: { distributor_id: a.id, amount_fen: 2000, channel: 'manual' } })).data;
    const rejected = await t.call('POST', `/v1/withdrawals/${w2.id}/reject`, { token: key, body: { reason: 'identity check' } });
    expect(rejected.data.status).toBe('rejected');
    expect(await balance()).toMatchObject({ withdrawable_fen: 10000, withdrawing_fen: 0, withdrawn_fen: 0 });
    expect(await verify()).toEqual([]);
  });

  it('refuses below the minimum (400) and above withdrawable (422), changing nothing', async () => {
    const { key, a, balance } = await funded({ withdrawal: { min_fen: 1000 } });
    const low = await t.call('POST', '/v1/withdrawals', { token: key, body: { distributor_id: a.id, amount_fen: 999, channel: 'manual' } });
    expect(low.statusCode).toBe(400);
    expect(low.data.error.code).toBe('invalid_request');
    const high = await t.call('POST', '/v1/withdrawals', { token: key, body: { distributor_id: a.id, amount_fen: 10001, channel: 'manual' } });
    expect(high.statusCode).toBe(422);
    expect(high.data.error.code).toBe('insufficient_balance');
    expect(await balance()).toMatchObject({ withdrawable_fen: 10000, withdrawing_fen: 0 });
    expect((await t.call('GET', '/v1/withdrawals', { token: key })).data.items).toEqual([]);
  });

  it('up to auto_approve_max_fen a withdrawal starts approved', async () => {
    const { key, a } = await funded({ withdrawal: { auto_approve_max_fen: 2000 } });
    const small = (await t.call('POST', '/v1/withdrawals', { token: key, body: { distributor_id: a.id, amount_fen: 2000, channel: 'manual' } })).data;
    expect(small.status).toBe('approved');
    const big = (await t.call('POST', '/v1/withdrawals', { token: key, body: { distributor_id: a.id, amount_fen: 2001, channel: 'manual' } })).data;
    expect(big.status).toBe('pending_review');
  });

  it('a retry with the same Idempotency-Key answers the first withdrawal; another body is 409', async () => {
    const { key, a, balance } = await funded();
    const headers = { 'idempotency-key': 'wd-1' };
    const first = await t.call('POST', '/v1/withdrawals', { token: key, headers, body: { distributor_id: a.id, amount_fen: 3000, channel: 'manual' } });
    const again = await t.call('POST', '/v1/withdrawals', { token: key, headers, body: { distributor_id: a.id, amount_fen: 3000, channel: 'manual' } });
    expect(again.statusCode).toBe(201);
    expect(again.data).toEqual(first.data);
    const other = await t.call('POST', '/v1/withdrawals', { token: key, headers, body: { distributor_id: a.id, amount_fen: 4000, channel: 'manual' } });
    expect(other.statusCode).toBe(409);
    expect((await balance()).withdrawing_fen).toBe(3000);
  });

  it('daily count and amount limits per distributor', async () => {
    const { key, a } = await funded({ withdrawal: { daily_count_limit: 2, daily_amount_limit_fen: 5000 } });
    expect((await t.call('POST', '/v1/withdrawals', { token: key, body: { distributor_id: a.id, amount_fen: 1000, channel: 'manual' } })).statusCode).toBe(201);
    const over = await t.call('POST', '/v1/withdrawals', { token: key, body: { distributor_id: a.id, amount_fen: 4001, channel: 'manual' } });
    expect(over.statusCode).toBe(422);
    expect(over.data.error.code).toBe('limit_exceeded');
    expect((await t.call('POST', '/v1/withdrawals', { token: key, body: { distributor_id: a.id, amount_fen: 4000, channel: 'manual' } })).statusCode).toBe(201);
    expect((await t.call('POST', '/v1/withdrawals', { token: key, body: { distributor_id: a.id, amount_fen: 100, channel: 'manual' } })).data.error.code).toBe(
      'limit_exceeded',
    );
  });

  it('another tenant cannot see or act on a withdrawal; a bad body is 400', async () => {
    const { key, a } = await funded();
    const other = await t.tenant();
    const w = (await t.call('POST', '/v1/withdrawals', { token: key, body: { distributor_id: a.id, amount_fen: 1000, channel: 'manual' } })).data;
    for (const [m, u, b] of [
      ['GET', `/v1/withdrawals/${w.id}`],
      ['POST', `/v1/withdrawals/${w.id}/approve`],
      ['POST', `/v1/withdrawals/${w.id}/reject`, { reason: 'x' }],
    ] as const) {
      expect((await t.call(m, u, { token: other.key, body: b })).statusCode).toBe(404);
    }
    expect(
      (await t.call('POST', '/v1/withdrawals', { token: other.key, body: { distributor_id: a.id, amount_fen: 1000, channel: 'manual' } })).statusCode,
    ).toBe(404);
    for (const body of [
      { distributor_id: a.id, amount_fen: '1000', channel: 'manual' },
      { distributor_id: a.id, amount_fen: 1000, channel: 'cash' },
      { distributor_id: a.id, amount_fen: -5, channel: 'manual' },
      { distributor_id: a.id, amount_fen: 1000, channel: 'manual', x: 1 },
    ]) {
      expect((await t.call('POST', '/v1/withdrawals', { token: key, body })).statusCode).toBe(400);
    }
  });
});
