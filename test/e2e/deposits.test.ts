import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.ts';
import { startReceiver, type Receiver } from '../support/receiver.ts';
import { createPayoutChannels } from '../../src/adapters/payout/index.ts';
import { generateRsaKeyPair } from '../support/providers/pki.ts';
import { WechatPaySimulator } from '../support/providers/wechat-server.ts';
import { portalSession } from '../security/world.ts';

/**
 * Admission deposits on the ledger (issue 17 item 3): recorded by finance, held in the
 * distributor's deposit account, a distributor pending until it is paid (open admission too),
 * refunded in full on exit through the payout path (asked for by one finance user, approved by a
 * second, paid by WeChat Pay against the local simulator, the outcome from its callback), and
 * `ledger verify` and reconciliation clean throughout. And minimum own purchases (issue 17 point
 * 3): under open admission the paid order that reaches the minimum admits the pending
 * distributor by itself; under review it only shows the condition met.
 */
const MCH_ID = '1900000109';
const WX_APP = 'wxd678efh567hg6787';
const SERIAL = '5157F09EFDC096DE15EBE81A47057A7232F1B8E1';
const APIV3 = 'a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6';
const merchant = generateRsaKeyPair();

let t: TestServer;
let wx: WechatPaySimulator;
let rx: Receiver;
beforeAll(async () => {
  rx = await startReceiver();
  wx = await WechatPaySimulator.start({ mchId: MCH_ID, appId: WX_APP, merchantPublicKeyPem: merchant.publicKeyPem, merchantSerialNo: SERIAL, apiV3Key: APIV3 });
  const channels = createPayoutChannels({
    wechat: {
      mchId: MCH_ID,
      appId: WX_APP,
      merchantPrivateKey: merchant.privateKeyPem,
      merchantSerialNo: SERIAL,
      platformPublicKeys: [{ serial: wx.platformPublicKeyId, publicKey: wx.platformPublicKeyPem }],
      apiV3Key: APIV3,
      transferSceneId: '1005',
      transferSceneReportInfos: [
        { infoType: '岗位类型', infoContent: '分销员' },
        { infoType: '报酬说明', infoContent: '分销佣金' },
      ],
      notifyUrl: 'https://fenxiao.test/v1/payouts/callbacks/wechat',
      baseUrl: wx.origin,
      timeoutMs: 1500,
    },
  });
  // The payout worker is driven by hand so each step is seen.
  // The receiver is on loopback: the distributor.approved event needs an endpoint to be recorded.
  t = await startTestServer({ env: { FENXIAO_WEBHOOKS_ALLOW_PRIVATE: '1' }, overrides: { payoutChannels: channels, submitPayoutsInline: false } });
});
afterAll(async () => {
  await t?.close();
  await wx?.close();
  await rx?.close();
});

const PASSWORD = 'correct horse battery staple 42';

async function setup(program: Record<string, unknown>) {
  const { key, id: tenantId } = await t.tenant();
  const call = (method: string, url: string, opts: { token?: string; body?: unknown; headers?: Record<string, string> } = {}) =>
    t.call(method, url, { token: key, ...opts });
  expect((await call('PUT', '/v1/program', { body: program })).statusCode).toBe(200);
  const login = async (role: 'finance' | 'operator', who = '') => {
    const email = `${role}${who}-${tenantId}@deposits.example`;
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
  const deposit = async (id: string) => (await call('GET', `/v1/distributors/${id}/deposit`)).data;
  const reconciliation = async () => {
    const r = await call('GET', '/v1/reconciliation');
    expect(r.statusCode).toBe(200);
    return r.data as { ok: boolean; mismatches: { code: string; detail: string }[]; ledger: Record<string, number> };
  };
  return { key, tenantId, call, login, verify, deposit, reconciliation };
}

/** Delivers WeChat's signed callback for a bill, as WeChat Pay would. */
async function wechatCallback(outNo: string) {
  const cb = wx.buildCallback(outNo);
  const res = await t.app.inject({
    method: 'POST',
    url: '/v1/payouts/callbacks/wechat',
    headers: { ...cb.headers, 'content-type': 'application/json' },
    payload: cb.body,
  });
  expect(res.statusCode, res.body).toBe(200);
}

/** A suspended distributor of an open-admission program holding a deposit of `fen`, with a WeChat payout account. */
async function exited(fen: number, externalId: string) {
  const s = await setup({ admission: 'open', admission_conditions: { deposit_fen: fen } });
  const finance = await s.login('finance', 'a');
  const checker = await s.login('finance', 'b');
  const d = (await s.call('POST', '/v1/distributors', { body: { external_id: externalId, name: '张三' } })).data;
  expect((await s.call('POST', `/v1/distributors/${d.id}/deposit`, { token: finance, body: { amount_fen: fen } })).data.status).toBe('active');
  const openid = `o-${d.id}`;
  expect((await s.call('POST', `/v1/distributors/${d.id}/payout-accounts`, { body: { channel: 'wechat', openid, user_name: '张三' } })).statusCode).toBe(201);
  expect((await s.call('POST', `/v1/distributors/${d.id}/suspend`, { body: { reason: 'left the program' } })).statusCode).toBe(200);
  return { ...s, finance, checker, d, openid };
}

describe('admission deposits', () => {
  it('open admission: pending until finance records the whole deposit, held on the ledger, refunded in full on exit through a WeChat payout', async () => {
    const { call, login, verify, deposit, reconciliation } = await setup({ admission: 'open', admission_conditions: { deposit_fen: 50000 } });
    const finance = await login('finance');
    const checker = await login('finance', '2');
    const d = (await call('POST', '/v1/distributors', { body: { external_id: 'dep-1', name: 'D1' } })).data;
    // Open admission does not skip the deposit: the distributor waits.
    expect(d.status).toBe('pending');
    expect((await call('GET', `/v1/distributors/${d.id}/deposit`)).data).toEqual({
      distributor_id: d.id,
      status: 'pending',
      required_fen: 50000,
      paid_fen: 0,
      refunded_fen: 0,
      refunding_fen: 0,
      held_fen: 0,
      refund: null,
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
    // The refund goes to the payout account on file: without one it is refused, and nothing moves.
    const noAccount = await call('POST', `/v1/distributors/${d.id}/deposit/refund`, { token: finance, body: { reason: 'left the program' } });
    expect(noAccount.statusCode, noAccount.body).toBe(409);
    expect(noAccount.data.error.message).toMatch(/no payout account on file/);
    expect(await deposit(d.id)).toMatchObject({ held_fen: 50000, refunding_fen: 0, refund: null });
    const openid = `o-${d.id}`;
    expect((await call('POST', `/v1/distributors/${d.id}/payout-accounts`, { body: { channel: 'wechat', openid, user_name: 'D1' } })).statusCode).toBe(201);

    // One finance user asks (Idempotency-Key): the whole deposit moves to deposit_refunding and waits for a second person.
    const ask = () =>
      call('POST', `/v1/distributors/${d.id}/deposit/refund`, {
        token: finance,
        body: { reason: 'left the program' },
        headers: { 'idempotency-key': 'refund-1' },
      });
    const refund = await ask();
    expect(refund.statusCode, refund.body).toBe(200);
    expect(refund.data).toMatchObject({ distributor_id: d.id, amount_fen: 50000, channel: 'wechat', status: 'pending_review', payout: null });
    expect(await deposit(d.id)).toMatchObject({
      paid_fen: 50000,
      refunded_fen: 0,
      refunding_fen: 50000,
      held_fen: 0,
      refund: { id: refund.data.id, status: 'pending_review' },
    });
    // A retry under the same key answers the same refund and moves nothing; another request is refused while it is under way.
    const again = await ask();
    expect(again.statusCode).toBe(200);
    expect(again.data).toEqual(refund.data);
    expect((await call('GET', `/v1/deposit-refunds?distributor_id=${d.id}`)).data.items).toHaveLength(1);
    expect((await call('POST', `/v1/distributors/${d.id}/deposit/refund`, { token: checker, body: { reason: 'twice' } })).statusCode).toBe(409);
    // No money is received while the refund is under way.
    expect((await call('POST', `/v1/distributors/${d.id}/deposit`, { token: finance, body: { amount_fen: 100 } })).statusCode).toBe(409);
    expect((await verify()).breaks).toEqual([]);
    expect((await reconciliation()).ok).toBe(true);

    // Two people: the one who asked cannot approve it.
    const alone = await call('POST', `/v1/deposit-refunds/${refund.data.id}/approve`, { token: finance });
    expect(alone.statusCode).toBe(403);
    expect(alone.data.error.code).toBe('second_person_required');
    expect((await deposit(d.id)).refund).toMatchObject({ status: 'pending_review', payout: null });
    // The second finance user approves: a payout of kind deposit_refund, handed to WeChat Pay.
    wx.behave('*', { outcome: 'processing' });
    const approved = await call('POST', `/v1/deposit-refunds/${refund.data.id}/approve`, { token: checker });
    expect(approved.statusCode, approved.body).toBe(200);
    expect(approved.data).toMatchObject({ status: 'approved', payout: { state: 'created' } });
    const payout = approved.data.payout as { id: string; out_no: string };
    expect(
      (await t.database.db.selectFrom('payouts').select(['kind', 'amount_fen', 'channel']).where('id', '=', payout.id).executeTakeFirstOrThrow()).kind,
    ).toBe('deposit_refund');
    expect(await t.services.withdrawals.work(payout.id)).toBe('processing');
    expect(wx.createdCount(payout.out_no)).toBe(1);
    expect(await deposit(d.id)).toMatchObject({ refunding_fen: 50000, held_fen: 0, refund: { status: 'approved', payout: { state: 'processing' } } });
    expect((await verify()).breaks).toEqual([]);
    expect((await reconciliation()).ledger).toMatchObject({ deposit_cash_fen: 50000, deposits_held_fen: 50000, deposits_refunding_fen: 50000 });

    // WeChat pays and says so in its callback (twice: the second changes nothing).
    await wx.setState(payout.out_no, 'SUCCESS');
    await wechatCallback(payout.out_no);
    await wechatCallback(payout.out_no);
    expect(wx.paidToFen(openid)).toBe(50000);
    // In full: nothing is held or on its way afterwards, and a second refund has nothing to refund.
    const after = await deposit(d.id);
    expect(after).toMatchObject({ paid_fen: 50000, refunded_fen: 50000, refunding_fen: 0, held_fen: 0 });
    expect(after.refund).toMatchObject({ id: refund.data.id, status: 'paid', payout: { id: payout.id, state: 'succeeded' } });
    const refundJournals = (
      await t.database.db
        .selectFrom('journal_entries')
        .select(['id', 'kind'])
        .where('ref_type', '=', 'deposit_refund')
        .where('ref_id', '=', refund.data.id)
        .execute()
    ).map((j) => j.kind);
    expect(refundJournals.sort()).toEqual(['deposit_refund_request', 'deposit_refunded']);
    const paidJournal = ((await call('GET', `/v1/journal-entries?ref_id=${refund.data.id}`)).data.items as typeof journals).find(
      (j) => j.kind === 'deposit_refunded',
    );
    expect(paidJournal?.postings.map((p) => [p.owner_id, p.purpose, p.amount_fen]).sort()).toEqual(
      [
        [d.id, 'deposit_refunding', -50000],
        ['tenant', 'deposit_cash', 50000],
      ].sort(),
    );
    expect((await call('POST', `/v1/distributors/${d.id}/deposit/refund`, { token: finance, body: { reason: 'again' } })).statusCode).toBe(409);
    const closed = await reconciliation();
    expect(closed.ok).toBe(true);
    expect(closed.ledger).toMatchObject({ deposit_cash_fen: 0, deposits_held_fen: 0, deposits_refunding_fen: 0 });
    // Coming back needs the deposit again.
    const back = await call('POST', `/v1/distributors/${d.id}/reactivate`, { body: {} });
    expect(back.statusCode).toBe(422);
    expect(back.data.error.code).toBe('admission_conditions_unmet');
    expect((await verify()).breaks).toEqual([]);
  });

  it('a failed transfer puts the deposit back to held; a new refund can be asked for and paid', async () => {
    const { call, finance, checker, d, deposit, verify, reconciliation } = await exited(30000, 'fail-1');
    const refund = (await call('POST', `/v1/distributors/${d.id}/deposit/refund`, { token: finance, body: { reason: 'exit' } })).data;
    expect(refund).toMatchObject({ status: 'pending_review', amount_fen: 30000, channel: 'wechat' });
    wx.behave('*', { outcome: 'fail', failReason: 'ACCOUNT_FROZEN' });
    const approved = (await call('POST', `/v1/deposit-refunds/${refund.id}/approve`, { token: checker })).data;
    expect(await t.services.withdrawals.work(approved.payout.id)).toBe('failed');
    expect(await deposit(d.id)).toMatchObject({
      paid_fen: 30000,
      refunded_fen: 0,
      refunding_fen: 0,
      held_fen: 30000,
      refund: { id: refund.id, status: 'failed', payout: { state: 'failed', fail_code: 'ACCOUNT_FROZEN' } },
    });
    const kinds = (
      await t.database.db.selectFrom('journal_entries').select('kind').where('ref_type', '=', 'deposit_refund').where('ref_id', '=', refund.id).execute()
    ).map((j) => j.kind);
    expect(kinds.sort()).toEqual(['deposit_refund_fail', 'deposit_refund_request']);
    expect((await verify()).breaks).toEqual([]);
    expect((await reconciliation()).ok).toBe(true);

    // Again, paid this time; the checker asks and the first user approves (any two people).
    wx.behave('*', { outcome: 'succeed' });
    const second = (await call('POST', `/v1/distributors/${d.id}/deposit/refund`, { token: checker, body: { reason: 'exit, second try' } })).data;
    expect(second.id).not.toBe(refund.id);
    expect((await call('POST', `/v1/deposit-refunds/${second.id}/approve`, { token: checker })).statusCode).toBe(403);
    const ok = (await call('POST', `/v1/deposit-refunds/${second.id}/approve`, { token: finance })).data;
    expect(await t.services.withdrawals.work(ok.payout.id)).toBe('succeeded');
    expect(await deposit(d.id)).toMatchObject({ refunded_fen: 30000, refunding_fen: 0, held_fen: 0, refund: { id: second.id, status: 'paid' } });
    expect((await verify()).breaks).toEqual([]);
    expect((await reconciliation()).ok).toBe(true);
  });

  it('a WeChat refund transfer the payee never confirms is cancelled by finance: the deposit is held again', async () => {
    const { call, finance, checker, d, deposit, verify, reconciliation } = await exited(15000, 'cancel-1');
    const refund = (await call('POST', `/v1/distributors/${d.id}/deposit/refund`, { token: finance, body: { reason: 'exit' } })).data;
    wx.behave('*', { outcome: 'wait_user_confirm' });
    const approved = (await call('POST', `/v1/deposit-refunds/${refund.id}/approve`, { token: checker })).data;
    expect(await t.services.withdrawals.work(approved.payout.id)).toBe('wait_user_confirm');
    expect((await deposit(d.id)).refund).toMatchObject({ status: 'approved', payout: { state: 'wait_user_confirm', package_info: expect.any(String) } });
    const cancelled = await call('POST', `/v1/deposit-refunds/${refund.id}/cancel`, { token: finance, body: { reason: 'not confirmed within a week' } });
    expect(cancelled.statusCode, cancelled.body).toBe(200);
    expect(cancelled.data).toMatchObject({ status: 'failed', payout: { state: 'cancelled' } });
    expect(wx.bills.get(approved.payout.out_no)?.state).toBe('CANCELLED');
    expect(await deposit(d.id)).toMatchObject({ held_fen: 15000, refunding_fen: 0, refunded_fen: 0 });
    // Nothing left to cancel.
    expect((await call('POST', `/v1/deposit-refunds/${refund.id}/cancel`, { token: finance, body: { reason: 'again' } })).statusCode).toBe(409);
    expect((await verify()).breaks).toEqual([]);
    expect((await reconciliation()).ok).toBe(true);
  });

  it("a pending distributor's WeChat refund waiting for it: the portal says so and answers the package to confirm it with, to that distributor only", async () => {
    const { call, login, deposit, tenantId } = await setup({ admission: 'open', admission_conditions: { deposit_fen: 50000 } });
    const finance = await login('finance', 'a');
    const checker = await login('finance', 'b');
    // Paid part of the deposit, then left before admission (pending: it can still sign in to the portal).
    const d = (await call('POST', '/v1/distributors', { body: { external_id: 'confirm-1', name: '王五' } })).data;
    expect((await call('POST', `/v1/distributors/${d.id}/deposit`, { token: finance, body: { amount_fen: 20000 } })).data.status).toBe('pending');
    expect(
      (await call('POST', `/v1/distributors/${d.id}/payout-accounts`, { body: { channel: 'wechat', openid: `o-${d.id}`, user_name: '王五' } })).statusCode,
    ).toBe(201);
    const secret = (await call('POST', '/v1/portal/signing-secret')).data.secret as string;
    const mine = await portalSession(t, tenantId, secret, 'confirm-1');
    expect((await call('POST', '/v1/distributors', { body: { external_id: 'confirm-2', name: '赵六' } })).statusCode).toBe(201);
    const another = await portalSession(t, tenantId, secret, 'confirm-2');

    const refund = (await call('POST', `/v1/distributors/${d.id}/deposit/refund`, { token: finance, body: { reason: 'left before admission' } })).data;
    expect((await t.call('GET', '/v1/me/deposit', { token: mine })).data).toMatchObject({
      refunding_fen: 20000,
      held_fen: 0,
      refund: { id: refund.id, status: 'pending_review', channel: 'wechat', awaiting_confirmation: false },
    });
    // Not yet paid: nothing to confirm.
    expect((await t.call('GET', `/v1/me/deposit-refunds/${refund.id}/wechat-confirmation`, { token: mine })).statusCode).toBe(409);

    wx.behave('*', { outcome: 'wait_user_confirm' });
    const approved = (await call('POST', `/v1/deposit-refunds/${refund.id}/approve`, { token: checker })).data;
    expect(await t.services.withdrawals.work(approved.payout.id)).toBe('wait_user_confirm');
    const waiting = (await deposit(d.id)).refund;
    expect(waiting).toMatchObject({ status: 'approved', payout: { state: 'wait_user_confirm', package_info: expect.any(String) } });

    const portal = await t.call('GET', '/v1/me/deposit', { token: mine });
    expect(portal.data).toMatchObject({ refunding_fen: 20000, refund: { id: refund.id, status: 'approved', awaiting_confirmation: true } });
    // The package is not in the deposit's answer: only the confirmation route gives it.
    expect(portal.body).not.toContain(waiting.payout.package_info);
    const confirmation = await t.call('GET', `/v1/me/deposit-refunds/${refund.id}/wechat-confirmation`, { token: mine });
    expect(confirmation.statusCode, confirmation.body).toBe(200);
    expect(confirmation.data).toEqual({ mch_id: MCH_ID, app_id: WX_APP, package: waiting.payout.package_info });
    expect(confirmation.headers['cache-control']).toBe('no-store');
    // Another distributor of the same merchant: not found, the package never shown.
    const aimed = await t.call('GET', `/v1/me/deposit-refunds/${refund.id}/wechat-confirmation`, { token: another });
    expect(aimed.statusCode, aimed.body).toBe(404);
    expect(aimed.body).not.toContain(waiting.payout.package_info);
    // The merchant's key is no distributor.
    expect((await call('GET', `/v1/me/deposit-refunds/${refund.id}/wechat-confirmation`)).statusCode).toBe(403);

    // Confirmed by the payee, WeChat Pay reports success: refunded, nothing left to confirm.
    await wx.setState(approved.payout.out_no, 'SUCCESS');
    await wechatCallback(approved.payout.out_no);
    expect((await t.call('GET', '/v1/me/deposit', { token: mine })).data).toMatchObject({
      refunded_fen: 20000,
      refunding_fen: 0,
      refund: { status: 'paid', awaiting_confirmation: false },
    });
    expect((await t.call('GET', `/v1/me/deposit-refunds/${refund.id}/wechat-confirmation`, { token: mine })).statusCode).toBe(409);
  });

  it('a refund to a bank card is in the bank batch file, then recorded paid by a second person', async () => {
    const s = await setup({ admission: 'open', admission_conditions: { deposit_fen: 8000 } });
    const finance = await s.login('finance', 'a');
    const checker = await s.login('finance', 'b');
    const d = (await s.call('POST', '/v1/distributors', { body: { external_id: 'bank-1', name: '李四' } })).data;
    await s.call('POST', `/v1/distributors/${d.id}/deposit`, { token: finance, body: { amount_fen: 8000 } });
    const card = { channel: 'bank', account_no: '6222020200112233445', account_name: '李四', bank_name: '工商银行' };
    expect((await s.call('POST', `/v1/distributors/${d.id}/payout-accounts`, { body: card })).statusCode).toBe(201);
    await s.call('POST', `/v1/distributors/${d.id}/suspend`, { body: { reason: 'exit' } });
    // The only account on file is the bank card: the refund goes there.
    const refund = (await s.call('POST', `/v1/distributors/${d.id}/deposit/refund`, { token: finance, body: { reason: 'exit' } })).data;
    expect(refund).toMatchObject({ channel: 'bank', payout_account_id: expect.any(String) });
    const approved = (await s.call('POST', `/v1/deposit-refunds/${refund.id}/approve`, { token: checker })).data;
    expect(approved.payout.state).toBe('submitted');
    const file = await s.call('GET', '/v1/payouts/bank-file', { token: finance });
    expect(file.statusCode).toBe(200);
    const line = file.body.split('\r\n').find((l: string) => l.startsWith(approved.payout.out_no));
    expect(line).toBe(`${approved.payout.out_no},李四,6222020200112233445,工商银行,,80.00,保证金退还`);
    expect((await s.call('POST', `/v1/deposit-refunds/${refund.id}/complete`, { token: checker, body: { reference: 'BANK-B1' } })).statusCode).toBe(200);
    expect(await s.deposit(d.id)).toMatchObject({ refunded_fen: 8000, held_fen: 0, refunding_fen: 0 });
    expect((await s.verify()).breaks).toEqual([]);
    expect((await s.reconciliation()).ok).toBe(true);
  });

  it('rejected, the deposit is held again; paid outside Fenxiao (manual), a second person records it', async () => {
    const { call, finance, checker, d, deposit, verify, reconciliation } = await exited(20000, 'man-1');
    const first = (await call('POST', `/v1/distributors/${d.id}/deposit/refund`, { token: finance, body: { reason: 'exit' } })).data;
    const rejected = await call('POST', `/v1/deposit-refunds/${first.id}/reject`, { token: checker, body: { reason: 'the account is wrong' } });
    expect(rejected.data).toMatchObject({ status: 'rejected', status_reason: 'the account is wrong', payout: null });
    expect(await deposit(d.id)).toMatchObject({ held_fen: 20000, refunding_fen: 0 });
    expect((await verify()).breaks).toEqual([]);

    const manual = (await call('POST', `/v1/distributors/${d.id}/deposit/refund`, { token: finance, body: { reason: 'exit', channel: 'manual' } })).data;
    expect(manual).toMatchObject({ channel: 'manual', payout_account_id: null, status: 'pending_review' });
    const approved = (await call('POST', `/v1/deposit-refunds/${manual.id}/approve`, { token: checker })).data;
    expect(approved).toMatchObject({ status: 'approved', payout: { state: 'submitted' } });
    // The user who asked cannot record it paid either.
    const self = await call('POST', `/v1/deposit-refunds/${manual.id}/complete`, { token: finance, body: { reference: 'BANK-RET-1' } });
    expect(self.statusCode).toBe(403);
    expect(self.data.error.code).toBe('second_person_required');
    expect(await deposit(d.id)).toMatchObject({ refunding_fen: 20000, refunded_fen: 0 });
    const done = await call('POST', `/v1/deposit-refunds/${manual.id}/complete`, { token: checker, body: { reference: 'BANK-RET-1' } });
    expect(done.statusCode, done.body).toBe(200);
    expect(done.data).toMatchObject({ status: 'paid', reference: 'BANK-RET-1', payout: { state: 'succeeded' } });
    expect(await deposit(d.id)).toMatchObject({ refunded_fen: 20000, refunding_fen: 0, held_fen: 0 });
    const audit = (await call('GET', `/v1/audit-log?target_id=${d.id}`)).data.items as { action: string }[];
    expect(audit.map((a) => a.action)).toEqual(
      expect.arrayContaining(['distributor.deposit_refund_request', 'distributor.deposit_refund_approve', 'distributor.deposit_refund_complete']),
    );
    expect((await verify()).breaks).toEqual([]);
    expect((await reconciliation()).ok).toBe(true);
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
        "deposits: each distributor's deposit account equals the deposit received less the deposit refunded and the refund under way",
        "reconciliation: the merchant's deposit cash equals the admission deposits received less those refunded",
      ]),
    );
    const recon = (await call('GET', '/v1/reconciliation', { token: finance })).data;
    expect(recon.ok).toBe(false);
    expect(recon.mismatches).toEqual([expect.objectContaining({ code: 'deposit_mismatch', expected_fen: 9000, actual_fen: 10000 })]);
  });

  it('ledger verify and reconciliation report a refund in flight that disagrees with the ledger or its journals', async () => {
    const { call, finance, tenantId, d, verify, reconciliation } = await exited(10000, 'v-2');
    const refund = (await call('POST', `/v1/distributors/${d.id}/deposit/refund`, { token: finance, body: { reason: 'exit' } })).data;
    expect((await verify()).breaks).toEqual([]);
    // The record of the refund under way no longer matches the deposit_refunding account.
    await sql`update distributors set deposit_refunding_fen = 0 where tenant_id = ${tenantId} and id = ${d.id}`.execute(t.database.db);
    const report = await verify();
    expect(report.breaks.map((b) => b.invariant)).toEqual(
      expect.arrayContaining(['reconciliation: the deposits on their way back (deposit_refunding) equal the deposit refunds under way, for each distributor']),
    );
    expect((await reconciliation()).mismatches.map((m) => m.code)).toContain('deposit_in_flight_mismatch');
    await sql`update distributors set deposit_refunding_fen = 10000 where tenant_id = ${tenantId} and id = ${d.id}`.execute(t.database.db);
    expect((await verify()).breaks).toEqual([]);
    // A refund marked paid without its payout or its journal.
    await sql`update deposit_refunds set status = 'paid' where tenant_id = ${tenantId} and id = ${refund.id}`.execute(t.database.db);
    const recon = await reconciliation();
    expect(recon.ok).toBe(false);
    expect(recon.mismatches.filter((m) => m.code === 'deposit_refund_mismatch').map((m) => m.detail)).toEqual(
      expect.arrayContaining(['a paid deposit refund has no deposit_refunded journal', 'a paid deposit refund of 10000 fen whose payout is missing']),
    );
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
