import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.ts';
import { startReceiver, type Receiver } from '../support/receiver.ts';

/**
 * Admission deposits on the ledger (issue 17 item 3): recorded by finance, held in the
 * distributor's deposit account, a distributor pending until it is paid (open admission too),
 * refunded in full on exit, and `ledger verify` clean throughout. And minimum own purchases
 * (issue 17 point 3): under open admission the paid order that reaches the minimum admits the
 * pending distributor by itself; under review it only shows the condition met.
 */
let t: TestServer;
let rx: Receiver;
beforeAll(async () => {
  rx = await startReceiver();
  // The receiver is on loopback: the distributor.approved event needs an endpoint to be recorded.
  t = await startTestServer({ env: { FENXIAO_WEBHOOKS_ALLOW_PRIVATE: '1' } });
});
afterAll(async () => {
  await t?.close();
  await rx?.close();
});

const PASSWORD = 'correct horse battery staple 42';

async function setup(program: Record<string, unknown>) {
  const { key, id: tenantId } = await t.tenant();
  const call = (method: string, url: string, opts: { token?: string; body?: unknown; headers?: Record<string, string> } = {}) =>
    t.call(method, url, { token: key, ...opts });
  expect((await call('PUT', '/v1/program', { body: program })).statusCode).toBe(200);
  const login = async (role: 'finance' | 'operator') => {
    const email = `${role}-${tenantId}@deposits.example`;
    expect((await call('POST', '/v1/admin-users', { body: { email, password: PASSWORD, role } })).statusCode).toBe(201);
    const res = await t.call('POST', '/v1/auth/login', { body: { tenant_id: tenantId, email, password: PASSWORD } });
    expect(res.statusCode, res.body).toBe(200);
    return res.data.token as string;
  };
  const verify = async () => {
    const r = await call('GET', '/v1/ledger/verify');
    expect(r.statusCode).toBe(200);
    return r.data as { ok: boolean; breaks: { invariant: string; detail: string }[] };
  };
  return { key, tenantId, call, login, verify };
}

describe('admission deposits', () => {
  it('open admission: pending until finance records the whole deposit, held on the ledger, refunded in full on exit', async () => {
    const { call, login, verify } = await setup({ admission: 'open', admission_conditions: { deposit_fen: 50000 } });
    const finance = await login('finance');
    const d = (await call('POST', '/v1/distributors', { body: { external_id: 'dep-1', name: 'D1' } })).data;
    // Open admission does not skip the deposit: the distributor waits.
    expect(d.status).toBe('pending');
    expect((await call('GET', `/v1/distributors/${d.id}/deposit`)).data).toEqual({
      distributor_id: d.id,
      status: 'pending',
      required_fen: 50000,
      paid_fen: 0,
      refunded_fen: 0,
      held_fen: 0,
    });

    // A part: held, still pending.
    const part = await call('POST', `/v1/distributors/${d.id}/deposit`, {
      token: finance,
      body: { amount_fen: 20000, reference: 'BANK-001' },
      headers: { 'idempotency-key': 'dep-1-a' },
    });
    expect(part.statusCode, part.body).toBe(200);
    expect(part.data).toMatchObject({ status: 'pending', paid_fen: 20000, held_fen: 20000 });
    // A retry under the same key answers the same and moves nothing.
    const retry = await call('POST', `/v1/distributors/${d.id}/deposit`, {
      token: finance,
      body: { amount_fen: 20000, reference: 'BANK-001' },
      headers: { 'idempotency-key': 'dep-1-a' },
    });
    expect(retry.statusCode).toBe(200);
    expect(retry.data).toEqual(part.data);
    expect((await call('GET', `/v1/distributors/${d.id}/deposit`)).data.held_fen).toBe(20000);
    expect((await verify()).ok).toBe(true);

    // More than the program asks is refused, and nothing moves.
    const over = await call('POST', `/v1/distributors/${d.id}/deposit`, { token: finance, body: { amount_fen: 30001 } });
    expect(over.statusCode).toBe(409);
    expect((await call('GET', `/v1/distributors/${d.id}/deposit`)).data.held_fen).toBe(20000);

    // The rest: the conditions are met, and open admission activates it.
    const rest = await call('POST', `/v1/distributors/${d.id}/deposit`, {
      token: finance,
      body: { amount_fen: 30000 },
      headers: { 'idempotency-key': 'dep-1-b' },
    });
    expect(rest.data).toMatchObject({ status: 'active', paid_fen: 50000, held_fen: 50000 });
    expect((await call('GET', `/v1/distributors/${d.id}`)).data.status).toBe('active');

    // The journals: the distributor's deposit credited, the merchant's deposit cash debited.
    const journals = (await call('GET', `/v1/journal-entries?ref_id=${d.id}`)).data.items as {
      kind: string;
      postings: { owner_id: string; purpose: string; amount_fen: number }[];
    }[];
    const received = journals.filter((j) => j.kind === 'deposit_received');
    expect(received).toHaveLength(2);
    expect(received.flatMap((j) => j.postings.map((p) => [p.owner_id, p.purpose, p.amount_fen])).sort()).toEqual(
      [
        [d.id, 'deposit', 20000],
        [d.id, 'deposit', 30000],
        ['tenant', 'deposit_cash', -20000],
        ['tenant', 'deposit_cash', -30000],
      ].sort(),
    );
    // The contract's balance answer is unchanged: no deposit in it.
    const balance = (await call('GET', `/v1/distributors/${d.id}/balance`)).data;
    expect(balance).not.toHaveProperty('deposit');
    expect((await verify()).ok).toBe(true);
    // Reconciliation covers deposits: the merchant's deposit cash against the deposits recorded.
    const recon = (await call('GET', '/v1/reconciliation', { token: finance })).data;
    expect(recon.ok).toBe(true);
    expect(recon.ledger).toMatchObject({ deposit_cash_fen: 50000, deposits_held_fen: 50000 });

    // Refunded on exit only: an active distributor is suspended first.
    const early = await call('POST', `/v1/distributors/${d.id}/deposit/refund`, { token: finance, body: { reason: 'leaving' } });
    expect(early.statusCode).toBe(409);
    expect((await call('POST', `/v1/distributors/${d.id}/suspend`, { body: { reason: 'left the program' } })).statusCode).toBe(200);
    const refund = await call('POST', `/v1/distributors/${d.id}/deposit/refund`, { token: finance, body: { reason: 'left the program' } });
    expect(refund.statusCode, refund.body).toBe(200);
    expect(refund.data).toMatchObject({ deposit_paid_fen: 50000, deposit_refunded_fen: 50000 });
    // In full: nothing is held afterwards, and a second refund has nothing to refund.
    expect((await call('GET', `/v1/distributors/${d.id}/deposit`)).data).toMatchObject({ held_fen: 0, refunded_fen: 50000 });
    const refundJournal = ((await call('GET', `/v1/journal-entries?ref_id=${d.id}`)).data.items as typeof journals).find((j) => j.kind === 'deposit_refunded');
    expect(refundJournal?.postings.map((p) => [p.owner_id, p.purpose, p.amount_fen]).sort()).toEqual(
      [
        [d.id, 'deposit', -50000],
        ['tenant', 'deposit_cash', 50000],
      ].sort(),
    );
    expect((await call('POST', `/v1/distributors/${d.id}/deposit/refund`, { token: finance, body: { reason: 'again' } })).statusCode).toBe(409);
    expect((await call('GET', '/v1/reconciliation', { token: finance })).data.ledger).toMatchObject({ deposit_cash_fen: 0, deposits_held_fen: 0 });
    // Coming back needs the deposit again.
    const back = await call('POST', `/v1/distributors/${d.id}/reactivate`, { body: {} });
    expect(back.statusCode).toBe(422);
    expect(back.data.error.code).toBe('admission_conditions_unmet');
    expect((await verify()).ok).toBe(true);
  });

  it('review admission: approvable once the deposit is paid; open admission without conditions admits at once', async () => {
    const { call, login, verify } = await setup({ admission: 'review', admission_conditions: { deposit_fen: 10000 } });
    const finance = await login('finance');
    const d = (await call('POST', '/v1/distributors', { body: { external_id: 'rev-1', name: 'R1' } })).data;
    expect((await call('POST', `/v1/distributors/${d.id}/approve`)).statusCode).toBe(422);
    const paid = await call('POST', `/v1/distributors/${d.id}/deposit`, { token: finance, body: { amount_fen: 10000 } });
    // Under review a person still decides.
    expect(paid.data).toMatchObject({ status: 'pending', held_fen: 10000 });
    expect((await call('POST', `/v1/distributors/${d.id}/approve`)).data.status).toBe('active');
    expect((await verify()).ok).toBe(true);

    const open = await setup({ admission: 'open' });
    expect((await open.call('POST', '/v1/distributors', { body: { external_id: 'o-1', name: 'O1' } })).data.status).toBe('active');
  });

  it('refuses bad input (400), other roles (403), unknown and other tenants’ distributors (404)', async () => {
    const { call, login } = await setup({ admission: 'review', admission_conditions: { deposit_fen: 10000 } });
    const finance = await login('finance');
    const operator = await login('operator');
    const d = (await call('POST', '/v1/distributors', { body: { external_id: 'bad-1', name: 'B1' } })).data;
    for (const body of [{}, { amount_fen: 0 }, { amount_fen: -5 }, { amount_fen: 1.5 }, { amount_fen: '100' }, { amount_fen: 100, extra: 1 }]) {
      const r = await call('POST', `/v1/distributors/${d.id}/deposit`, { token: finance, body });
      expect(r.statusCode, JSON.stringify(body)).toBe(400);
      expect(r.data.error.code).toBe('invalid_request');
    }
    expect((await call('POST', `/v1/distributors/${d.id}/deposit`, { token: operator, body: { amount_fen: 100 } })).statusCode).toBe(403);
    expect((await call('POST', `/v1/distributors/${d.id}/deposit/refund`, { token: operator, body: { reason: 'x' } })).statusCode).toBe(403);
    // An operator cannot record money through the conditions either.
    expect((await call('POST', `/v1/distributors/${d.id}/conditions`, { token: operator, body: { deposit_paid_fen: 100 } })).statusCode).toBe(403);
    // The training with the total unchanged (as the console's form sends it) is anyone's to record.
    expect(
      (await call('POST', `/v1/distributors/${d.id}/conditions`, { token: operator, body: { deposit_paid_fen: 0, training_completed: true } })).statusCode,
    ).toBe(200);
    expect((await call('POST', '/v1/distributors/dst_nobody/deposit', { token: finance, body: { amount_fen: 100 } })).statusCode).toBe(404);
    const other = await setup({ admission: 'review', admission_conditions: { deposit_fen: 10000 } });
    const otherFinance = await other.login('finance');
    expect((await other.call('POST', `/v1/distributors/${d.id}/deposit`, { token: otherFinance, body: { amount_fen: 100 } })).statusCode).toBe(404);
    expect((await other.call('GET', `/v1/distributors/${d.id}/deposit`)).statusCode).toBe(404);
    // Nothing moved.
    expect((await call('GET', `/v1/distributors/${d.id}/deposit`)).data).toMatchObject({ paid_fen: 0, held_fen: 0 });
  });

  it('ledger verify reports a deposit account that disagrees with what was recorded', async () => {
    const { call, login, verify, tenantId } = await setup({ admission: 'review', admission_conditions: { deposit_fen: 10000 } });
    const finance = await login('finance');
    const d = (await call('POST', '/v1/distributors', { body: { external_id: 'v-1', name: 'V1' } })).data;
    await call('POST', `/v1/distributors/${d.id}/deposit`, { token: finance, body: { amount_fen: 10000 } });
    expect((await verify()).ok).toBe(true);
    await sql`update distributors set deposit_paid_fen = 9000 where tenant_id = ${tenantId} and id = ${d.id}`.execute(t.database.db);
    const report = await verify();
    expect(report.ok).toBe(false);
    expect(report.breaks.map((b) => b.invariant)).toEqual(
      expect.arrayContaining([
        "deposits: each distributor's deposit account equals the deposit received less the deposit refunded",
        "reconciliation: the merchant's deposit cash equals the admission deposits received less those refunded",
      ]),
    );
    const recon = (await call('GET', '/v1/reconciliation', { token: finance })).data;
    expect(recon.ok).toBe(false);
    expect(recon.mismatches).toEqual([expect.objectContaining({ code: 'deposit_mismatch', expected_fen: 9000, actual_fen: 10000 })]);
  });
});

describe('admission by minimum purchases', () => {
  const order = (external_id: string, buyer: string, paid: number, extra: Record<string, unknown> = {}) => ({
    external_id,
    buyer_external_id: buyer,
    items: [{ sku: 'sku-1', quantity: 1, unit_price_fen: paid, paid_fen: paid }],
    ...extra,
  });
  const auditOf = async (call: Awaited<ReturnType<typeof setup>>['call'], id: string) =>
    (await call('GET', `/v1/audit-log?target_id=${id}`)).data.items as {
      action: string;
      reason: string | null;
      actor_type: string;
      after: { status?: string };
    }[];

  it('open admission: pending until its own paid orders reach the minimum; that order admits it, audited, with distributor.approved', async () => {
    const { call, tenantId } = await setup({ admission: 'open', admission_conditions: { min_purchases_fen: 10000 } });
    const hook = await call('POST', '/v1/webhook-endpoints', { body: { url: rx.url, events: ['distributor.approved'] } });
    expect(hook.statusCode, hook.body).toBe(201);
    const d = (await call('POST', '/v1/distributors', { body: { external_id: 'mp-1', name: 'M1' } })).data;
    expect(d.status).toBe('pending');
    const approvedEvents = async () =>
      (await t.services.db.selectFrom('webhook_events').select(['type', 'object_key', 'data']).where('tenant_id', '=', tenantId).execute()).filter(
        (e) => e.type === 'distributor.approved',
      );

    // Below the minimum: still pending.
    expect((await call('POST', '/v1/orders', { body: order('mp-o1', 'mp-1', 4000) })).statusCode).toBe(201);
    expect((await call('GET', `/v1/distributors/${d.id}`)).data.status).toBe('pending');
    expect((await call('GET', `/v1/distributors/${d.id}/conditions`)).data).toMatchObject({
      purchases_fen: 4000,
      met: false,
      unmet: ['purchases: 4000 of 10000 fen'],
    });

    // An unpaid order does not count, however large, until it is paid.
    const placed = await call('POST', '/v1/orders', { body: order('mp-o2', 'mp-1', 6000, { status: 'pending_payment' }) });
    expect(placed.statusCode, placed.body).toBe(201);
    expect(placed.data.status).toBe('pending_payment');
    expect((await call('GET', `/v1/distributors/${d.id}`)).data.status).toBe('pending');
    expect((await call('GET', `/v1/distributors/${d.id}/conditions`)).data).toMatchObject({ purchases_fen: 4000, met: false });
    expect(await approvedEvents()).toEqual([]);

    // Its paid arrival reaches the minimum: admitted by that order.
    const paid = await call('POST', '/v1/orders', { body: order('mp-o2', 'mp-1', 6000) });
    expect(paid.statusCode, paid.body).toBe(201);
    expect(paid.data.status).toBe('paid');
    const now = (await call('GET', `/v1/distributors/${d.id}`)).data;
    expect(now).toMatchObject({ status: 'active' });
    expect(now.approved_at).not.toBeNull();
    expect((await call('GET', `/v1/distributors/${d.id}/conditions`)).data).toMatchObject({ purchases_fen: 10000, met: true, unmet: [] });
    const [admitted] = await auditOf(call, d.id);
    expect(admitted).toMatchObject({
      action: 'distributor.admit',
      reason: 'admission conditions met: purchases',
      actor_type: 'system',
      after: { status: 'active' },
    });
    const events = await approvedEvents();
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ object_key: `distributor:${d.id}`, data: { id: d.id, status: 'active' } });

    // A refund that takes the purchases below the minimum again does not undo the admission.
    const refund = await call('POST', '/v1/orders/mp-o2/events', { body: { type: 'refunded', refund_fen: 6000 }, headers: { 'idempotency-key': 'mp-r1' } });
    expect(refund.statusCode, refund.body).toBe(200);
    expect((await call('GET', `/v1/distributors/${d.id}/conditions`)).data).toMatchObject({ purchases_fen: 4000, met: false });
    expect((await call('GET', `/v1/distributors/${d.id}`)).data.status).toBe('active');
    // Later orders admit nothing again.
    await call('POST', '/v1/orders', { body: order('mp-o3', 'mp-1', 9000) });
    expect((await auditOf(call, d.id)).filter((e) => e.action === 'distributor.admit')).toHaveLength(1);
    expect(await approvedEvents()).toHaveLength(1);
  });

  it('open admission with training too: the order reaching the minimum admits only once the training is recorded, and either may come last', async () => {
    const { call } = await setup({ admission: 'open', admission_conditions: { min_purchases_fen: 5000, training_required: true } });
    // Purchases first: the order meets the minimum but the training is missing.
    const a = (await call('POST', '/v1/distributors', { body: { external_id: 'mpt-a', name: 'A' } })).data;
    await call('POST', '/v1/orders', { body: order('mpt-a1', 'mpt-a', 5000) });
    expect((await call('GET', `/v1/distributors/${a.id}`)).data.status).toBe('pending');
    expect((await call('GET', `/v1/distributors/${a.id}/conditions`)).data).toMatchObject({ purchases_fen: 5000, unmet: ['training: not completed'] });
    const trained = await call('POST', `/v1/distributors/${a.id}/conditions`, { body: { training_completed: true } });
    expect(trained.data).toMatchObject({ met: true });
    expect((await call('GET', `/v1/distributors/${a.id}`)).data.status).toBe('active');

    // Training first: the order reaching the minimum admits.
    const b = (await call('POST', '/v1/distributors', { body: { external_id: 'mpt-b', name: 'B' } })).data;
    await call('POST', `/v1/distributors/${b.id}/conditions`, { body: { training_completed: true } });
    expect((await call('GET', `/v1/distributors/${b.id}`)).data.status).toBe('pending');
    await call('POST', '/v1/orders', { body: order('mpt-b1', 'mpt-b', 2000) });
    expect((await call('GET', `/v1/distributors/${b.id}`)).data.status).toBe('pending');
    await call('POST', '/v1/orders', { body: order('mpt-b2', 'mpt-b', 3000) });
    expect((await call('GET', `/v1/distributors/${b.id}`)).data.status).toBe('active');
    expect((await auditOf(call, b.id))[0]).toMatchObject({ action: 'distributor.admit', reason: 'admission conditions met: purchases' });
  });

  it('review admission: the minimum reached approves nothing; the conditions show it met and a person approves', async () => {
    const { call } = await setup({ admission: 'review', admission_conditions: { min_purchases_fen: 10000 } });
    const d = (await call('POST', '/v1/distributors', { body: { external_id: 'mpr-1', name: 'R1' } })).data;
    expect(d.status).toBe('pending');
    await call('POST', '/v1/orders', { body: order('mpr-o1', 'mpr-1', 12000) });
    expect((await call('GET', `/v1/distributors/${d.id}`)).data.status).toBe('pending');
    expect((await call('GET', `/v1/distributors/${d.id}/conditions`)).data).toMatchObject({
      min_purchases_fen: 10000,
      purchases_fen: 12000,
      met: true,
      unmet: [],
    });
    expect((await auditOf(call, d.id)).map((e) => e.action)).not.toContain('distributor.admit');
    expect((await call('POST', `/v1/distributors/${d.id}/approve`)).data.status).toBe('active');
  });

  it('several orders of one batch: the one reaching the minimum admits; the orders before it see a pending distributor, those after an active one', async () => {
    const { call, tenantId } = await setup({ admission: 'open', self_purchase: true, levels: 1 });
    expect((await call('PUT', '/v1/grades/default', { body: { name: '普通', rank: 0, sales_bp: 1000, override_bp: [500] } })).statusCode).toBe(200);
    // X, active, is moved under D, who registers once a minimum is asked and waits pending.
    const x = (await call('POST', '/v1/distributors', { body: { external_id: 'mpb-x', name: 'X' } })).data;
    expect(x.status).toBe('active');
    expect((await call('PUT', '/v1/program', { body: { admission_conditions: { min_purchases_fen: 5000 } } })).statusCode).toBe(200);
    const d = (await call('POST', '/v1/distributors', { body: { external_id: 'mpb-1', name: 'B1' } })).data;
    expect(d.status).toBe('pending');
    expect((await call('POST', `/v1/distributors/${x.id}/move`, { body: { referrer_id: d.id, reason: 'test' } })).statusCode).toBe(200);
    // Submitted at once behind two others (each of which takes one of the two batches a tenant
    // may have in flight): the rest wait and are written by one batch, with the result of one at a time.
    const bodies = [
      order('mpb-f1', 'mpb-y', 100),
      order('mpb-f2', 'mpb-z', 100),
      order('mpb-x1', 'mpb-x', 2000),
      order('mpb-o1', 'mpb-1', 5000),
      order('mpb-o2', 'mpb-1', 3000),
      order('mpb-x2', 'mpb-x', 2000),
    ];
    const answers = await Promise.all(bodies.map((body) => call('POST', '/v1/orders', { body })));
    expect(answers.map((a) => a.statusCode)).toEqual(bodies.map(() => 201));
    const tx = await sql<{
      xmin: string;
    }>`select xmin::text as xmin from orders where tenant_id = ${tenantId} and external_id like 'mpb-%' and external_id not like 'mpb-f%'`.execute(
      t.database.db,
    );
    expect(tx.rows).toHaveLength(4);
    expect(new Set(tx.rows.map((r) => r.xmin)).size, 'the four orders were written by one transaction').toBe(1);
    const [x1, o1, o2, x2] = answers.slice(2).map((a) => a.data);
    const lines = (o: { commissions: { beneficiary_id: string; amount_fen: number }[] }) => o.commissions.map((c) => [c.beneficiary_id, c.amount_fen]);
    // Before D's order reaches the minimum: D pending earns nothing on X's sale, and buys without self-purchase.
    expect(lines(x1)).toEqual([[x.id, 200]]);
    expect(o1).toMatchObject({ seller_id: null, commissions: [] });
    // After it: D active, its own purchase is self-purchase, and it earns its level on X's.
    expect(o2).toMatchObject({ seller_id: d.id, attribution: 'self_purchase' });
    expect(lines(o2)).toEqual([[d.id, 300]]);
    expect(lines(x2).sort()).toEqual(
      [
        [d.id, 100],
        [x.id, 200],
      ].sort(),
    );
    expect((await call('GET', `/v1/distributors/${d.id}`)).data.status).toBe('active');
    expect((await auditOf(call, d.id)).filter((e) => e.action === 'distributor.admit')).toHaveLength(1);
  });
});
