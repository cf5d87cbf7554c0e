/**
 * The portal's deposit card reads GET /v1/me/deposit (issue 17): a distributor reads its own
 * admission deposit and no one else's, neither another distributor's of its tenant nor a
 * distributor's of another tenant under the same external id; the merchant's route for a
 * distributor's deposit stays closed to a portal session. The portal answers the merchant's
 * figures and the refund's status and dates, never the merchant's internal fields (who asked and
 * approved, the reason, references); the WeChat confirmation of a refund is its own distributor's.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.ts';
import { portalSession } from './world.ts';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.close();
});

const PASSWORD = 'finance-password-0123456789';

/** A tenant asking a deposit, with two distributors: A paid part of it, B all of it. */
async function tenantWithDeposits(tag: string, deposits: { A: number; B: number }) {
  const { id: tenantId, key } = await t.tenant(`Deposit scope ${tag}`);
  const call = (method: string, url: string, opts: { token?: string; body?: unknown; headers?: Record<string, string> } = {}) =>
    t.call(method, url, { token: key, ...opts });
  expect((await call('PUT', '/v1/program', { body: { admission: 'open', admission_conditions: { deposit_fen: 50000 } } })).statusCode).toBe(200);
  const email = `finance-${tag}@deposit-scope.example`;
  expect((await call('POST', '/v1/admin-users', { body: { email, password: PASSWORD, role: 'finance' } })).statusCode).toBe(201);
  const finance = (await t.call('POST', '/v1/auth/login', { body: { tenant_id: tenantId, email, password: PASSWORD } })).data.token as string;
  // A deposit refund is asked for by one finance user and approved and recorded by another.
  const email2 = `checker-${tag}@deposit-scope.example`;
  expect((await call('POST', '/v1/admin-users', { body: { email: email2, password: PASSWORD, role: 'finance' } })).statusCode).toBe(201);
  const checker = (await t.call('POST', '/v1/auth/login', { body: { tenant_id: tenantId, email: email2, password: PASSWORD } })).data.token as string;
  const secret = (await call('POST', '/v1/portal/signing-secret')).data.secret as string;
  const made: Record<'A' | 'B', { id: string; token: string }> = {} as never;
  for (const who of ['A', 'B'] as const) {
    const d = (await call('POST', '/v1/distributors', { body: { external_id: `dep-${who}`, name: `${tag} ${who}` } })).data;
    if (deposits[who] > 0) {
      const r = await call('POST', `/v1/distributors/${d.id}/deposit`, {
        token: finance,
        body: { amount_fen: deposits[who] },
        headers: { 'idempotency-key': `${tag}-${who}` },
      });
      expect(r.statusCode, r.body).toBe(200);
    }
    made[who] = { id: d.id, token: await portalSession(t, tenantId, secret, `dep-${who}`) };
  }
  return { key, call, finance, checker, ...made };
}

/** The merchant's view of a deposit as the portal answers it: the same figures, the refund without internal fields. */
function shared(merchant: Record<string, unknown> & { refund: Record<string, unknown> | null }) {
  const { distributor_id, status, required_fen, paid_fen, refunded_fen, refunding_fen, held_fen, refund } = merchant;
  return {
    distributor_id,
    status,
    required_fen,
    paid_fen,
    refunded_fen,
    refunding_fen,
    held_fen,
    refund: refund && {
      id: refund.id,
      amount_fen: refund.amount_fen,
      channel: refund.channel,
      status: refund.status,
      created_at: refund.created_at,
      approved_at: refund.approved_at,
      paid_at: refund.paid_at,
      failed_at: refund.failed_at,
      rejected_at: refund.rejected_at,
      awaiting_confirmation: expect.any(Boolean),
    },
  };
}

describe("a distributor's own deposit in the portal", () => {
  it('answers its own deposit as the merchant sees it, and nothing of anyone else', async () => {
    const one = await tenantWithDeposits('one', { A: 20000, B: 50000 });
    const two = await tenantWithDeposits('two', { A: 0, B: 0 });

    const mine = await t.call('GET', '/v1/me/deposit', { token: one.A.token });
    expect(mine.statusCode, mine.body).toBe(200);
    expect(mine.data).toEqual({
      distributor_id: one.A.id,
      status: 'pending',
      required_fen: 50000,
      paid_fen: 20000,
      refunded_fen: 0,
      refunding_fen: 0,
      held_fen: 20000,
      refund: null,
    });
    // The same figures as the merchant's route gives for A.
    expect(mine.data).toEqual(shared((await one.call('GET', `/v1/distributors/${one.A.id}/deposit`)).data));

    // B reads B's: paid in full, so active.
    expect((await t.call('GET', '/v1/me/deposit', { token: one.B.token })).data).toMatchObject({ distributor_id: one.B.id, status: 'active', held_fen: 50000 });

    // Naming another distributor changes nothing: the route takes no id, and a query is not read.
    const aimed = await t.call('GET', `/v1/me/deposit?distributor_id=${one.B.id}&id=${one.B.id}`, { token: one.A.token });
    expect(aimed.statusCode === 400 || aimed.data.distributor_id === one.A.id, aimed.body).toBe(true);
    expect(aimed.body).not.toContain(one.B.id);

    // The merchant's route is closed to a portal session, for another's deposit and its own.
    for (const id of [one.B.id, one.A.id, two.A.id]) {
      const r = await t.call('GET', `/v1/distributors/${id}/deposit`, { token: one.A.token });
      expect(r.statusCode, `${id}: ${r.body}`).toBe(403);
      expect(r.body).not.toContain('held_fen');
    }

    // The same external id in another tenant is another distributor: its own figures only.
    expect((await t.call('GET', '/v1/me/deposit', { token: two.A.token })).data).toEqual({
      distributor_id: two.A.id,
      status: 'pending',
      required_fen: 50000,
      paid_fen: 0,
      refunded_fen: 0,
      refunding_fen: 0,
      held_fen: 0,
      refund: null,
    });

    // A merchant's key is not a distributor, and nobody signed in is nobody.
    expect((await one.call('GET', '/v1/me/deposit')).statusCode).toBe(403);
    expect((await t.call('GET', '/v1/me/deposit')).statusCode).toBe(401);
  });

  it('shows the refund under way, then refunded, once the merchant has refunded the whole deposit (a pending distributor leaving)', async () => {
    const one = await tenantWithDeposits('refund', { A: 20000, B: 0 });
    const r = await one.call('POST', `/v1/distributors/${one.A.id}/deposit/refund`, {
      token: one.finance,
      body: { reason: 'left before admission', channel: 'manual' },
    });
    expect(r.statusCode, r.body).toBe(200);
    const asked = (await t.call('GET', '/v1/me/deposit', { token: one.A.token })).data;
    expect(asked).toMatchObject({ distributor_id: one.A.id, paid_fen: 20000, refunded_fen: 0, refunding_fen: 20000, held_fen: 0 });
    expect(asked.refund).toMatchObject({ id: r.data.id, status: 'pending_review', amount_fen: 20000 });
    // B sees nothing of A's refund.
    expect((await t.call('GET', '/v1/me/deposit', { token: one.B.token })).body).not.toContain(r.data.id);
    expect((await one.call('POST', `/v1/deposit-refunds/${r.data.id}/approve`, { token: one.checker })).statusCode).toBe(200);
    const done = await one.call('POST', `/v1/deposit-refunds/${r.data.id}/complete`, { token: one.checker, body: { reference: 'BANK-RET-9' } });
    expect(done.statusCode, done.body).toBe(200);
    const after = (await t.call('GET', '/v1/me/deposit', { token: one.A.token })).data;
    expect(after).toMatchObject({
      distributor_id: one.A.id,
      status: 'pending',
      required_fen: 50000,
      paid_fen: 20000,
      refunded_fen: 20000,
      refunding_fen: 0,
      held_fen: 0,
    });
    expect(after.refund).toMatchObject({ id: r.data.id, status: 'paid', channel: 'manual', amount_fen: 20000, awaiting_confirmation: false });
    // The portal answer has the merchant's figures of the same deposit, and the refund's dates and status.
    const merchant = (await one.call('GET', `/v1/distributors/${one.A.id}/deposit`)).data;
    expect(after).toEqual(shared(merchant));
    expect(Object.keys(after.refund).sort()).toEqual(
      ['amount_fen', 'approved_at', 'awaiting_confirmation', 'channel', 'created_at', 'failed_at', 'id', 'paid_at', 'rejected_at', 'status'].sort(),
    );
    // Nothing internal reaches the distributor: who asked and who approved, the merchant's reason,
    // the payment's reference, the payout's numbers.
    const body = (await t.call('GET', '/v1/me/deposit', { token: one.A.token })).body;
    expect(merchant.refund.requested_by.id).toBeTruthy();
    expect(merchant.refund.reviewed_by).toBeTruthy();
    expect(merchant.refund.payout.out_no).toBeTruthy();
    for (const internal of [merchant.refund.requested_by.id, merchant.refund.reviewed_by, 'left before admission', 'BANK-RET-9', merchant.refund.payout.out_no])
      expect(body, internal).not.toContain(internal);
    for (const key of ['requested_by', 'reviewed_by', 'reason', 'status_reason', 'reference', 'payout', 'out_no', 'provider_ref', 'package_info'])
      expect(body, key).not.toContain(`"${key}"`);
  });

  it("answers the WeChat confirmation of one's own deposit refund only, and only while its transfer waits", async () => {
    const one = await tenantWithDeposits('confirm', { A: 20000, B: 20000 });
    const r = await one.call('POST', `/v1/distributors/${one.A.id}/deposit/refund`, {
      token: one.finance,
      body: { reason: 'left before admission', channel: 'manual' },
    });
    expect(r.statusCode, r.body).toBe(200);
    const other = await tenantWithDeposits('confirm-other', { A: 0, B: 0 });
    // Another distributor of the same tenant, or of another tenant under the same external id: not found.
    for (const token of [one.B.token, other.A.token]) {
      const res = await t.call('GET', `/v1/me/deposit-refunds/${r.data.id}/wechat-confirmation`, { token });
      expect(res.statusCode, res.body).toBe(404);
      expect(res.body).not.toContain(r.data.id);
    }
    expect((await t.call('GET', '/v1/me/deposit-refunds/dr_nope/wechat-confirmation', { token: one.A.token })).statusCode).toBe(404);
    // One's own, paid by hand: nothing waits in WeChat.
    const own = await t.call('GET', `/v1/me/deposit-refunds/${r.data.id}/wechat-confirmation`, { token: one.A.token });
    expect(own.statusCode, own.body).toBe(409);
    // Not for a merchant's key, nor for nobody.
    expect((await one.call('GET', `/v1/me/deposit-refunds/${r.data.id}/wechat-confirmation`)).statusCode).toBe(403);
    expect((await t.call('GET', `/v1/me/deposit-refunds/${r.data.id}/wechat-confirmation`)).statusCode).toBe(401);
  });
});
