/**
 * Reconciliation names every way the withdrawals, payouts and the ledger can disagree. Each case
 * starts from a clean tenant (reconciliation and ledger verify say nothing), breaks one thing
 * behind the services' back with SQL — a payout state changed, a withdrawal's amount changed, a
 * journal written that no service would write — and expects exactly the mismatches that break
 * causes, named with the withdrawal, payout or journal, in GET /v1/reconciliation, in
 * `ledger verify` and in the mismatches export.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.ts';
import { ManualClock } from '../../src/core/context.ts';
import { createPayoutChannels } from '../../src/adapters/payout/index.ts';
import { generateRsaKeyPair } from '../support/providers/pki.ts';
import { WechatPaySimulator } from '../support/providers/wechat-server.ts';
import { parseCsv, yuanTextToFen } from '../../src/lib/export/testing.ts';
import { download, insertJournal, smallTenant, type SmallTenant } from '../support/reconciliation.ts';

const MCH_ID = '1900000109';
const WX_APP = 'wxd678efh567hg6787';
const SERIAL = '5157F09EFDC096DE15EBE81A47057A7232F1B8E1';
const APIV3 = 'a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6';
const merchant = generateRsaKeyPair();

let t: TestServer;
let wx: WechatPaySimulator;

beforeAll(async () => {
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
  t = await startTestServer({ clock: new ManualClock(new Date()), overrides: { payoutChannels: channels, submitPayoutsInline: false } });
});
afterAll(async () => {
  await t?.close();
  await wx?.close();
});

interface Mismatch {
  code: string;
  subject: string;
  withdrawal_id: string | null;
  payout_id: string | null;
  journal_id: string | null;
  expected_fen: number | null;
  actual_fen: number | null;
  detail: string;
}

async function reconcile(key: string): Promise<{ ok: boolean; mismatches: Mismatch[]; items: { withdrawal_id: string; mismatches: string[] }[] }> {
  const res = await t.call('GET', '/v1/reconciliation', { token: key });
  expect(res.statusCode, res.body).toBe(200);
  return res.data;
}
const codes = (ms: Mismatch[]) => [...new Set(ms.map((m) => m.code))].sort();
const verifyBreaks = async (key: string) =>
  (await t.call('GET', '/v1/ledger/verify', { token: key })).data.breaks as { invariant: string; subject: string; detail: string }[];

/** A tenant with one withdrawal in each end state, reconciled clean before anything is broken. */
async function cleanTenant(): Promise<
  SmallTenant & {
    paid: { id: string; payout: { id: string; out_no: string } };
    inFlight: { id: string; payout: { id: string; out_no: string } };
    failed: { id: string; payout: { id: string; out_no: string } };
  }
> {
  const s = await smallTenant(t);
  const paid = await s.withdraw(10_000, 'paid');
  const inFlight = await s.withdraw(7_000, 'approved');
  const failed = await s.withdraw(5_000, 'failed');
  await s.withdraw(3_000, 'rejected');
  await s.withdraw(2_000, 'pending_review');
  const before = await reconcile(s.key);
  expect(before.mismatches).toEqual([]);
  expect(before.ok).toBe(true);
  expect(await verifyBreaks(s.key)).toEqual([]);
  return { ...s, paid: paid as never, inFlight: inFlight as never, failed: failed as never };
}

describe('each mismatch is named', () => {
  it('a paid withdrawal without a payout_success journal', async () => {
    const s = await cleanTenant();
    await sql`update withdrawals set status = 'paid', paid_at = now() where id = ${s.inFlight.id}`.execute(t.database.db);
    const r = await reconcile(s.key);
    expect(r.ok).toBe(false);
    // Its fee now counts as earned, but no journal brought it to fee income.
    expect(codes(r.mismatches)).toEqual(['fee_income_mismatch', 'paid_without_payout_success', 'withdrawal_payout_status_mismatch']);
    expect(r.mismatches.find((m) => m.code === 'paid_without_payout_success')).toMatchObject({
      subject: s.inFlight.id,
      withdrawal_id: s.inFlight.id,
      payout_id: s.inFlight.payout.id,
    });
    expect(r.mismatches.find((m) => m.code === 'fee_income_mismatch')).toMatchObject({ expected_fen: 200 + 170, actual_fen: 200 });
    expect(r.items.find((i) => i.withdrawal_id === s.inFlight.id)!.mismatches).toEqual(['paid_without_payout_success', 'withdrawal_payout_status_mismatch']);
    expect(r.items.find((i) => i.withdrawal_id === s.paid.id)!.mismatches).toEqual([]);
    const breaks = await verifyBreaks(s.key);
    expect(breaks).toContainEqual(expect.objectContaining({ invariant: expect.stringMatching(/^reconciliation: .*payout_success/), subject: s.inFlight.id }));
  });

  it('a payout_success journal for no payout (an entry without payout)', async () => {
    const s = await cleanTenant();
    const ghost = await insertJournal(t.database.db, s.tenantId, {
      kind: 'payout_success',
      refType: 'payout',
      refId: 'po_GHOST000000000000000000000',
      legs: [
        { purpose: 'payout_clearing', amount: 500, party: s.d.id },
        { purpose: 'payout_clearing', amount: -500, party: s.d.id },
      ],
    });
    const r = await reconcile(s.key);
    expect(r.mismatches).toEqual([expect.objectContaining({ code: 'journal_without_payout', subject: ghost, journal_id: ghost, payout_id: null })]);
    expect(r.mismatches[0]!.detail).toContain('po_GHOST000000000000000000000');
    expect(await verifyBreaks(s.key)).toEqual([expect.objectContaining({ subject: ghost, invariant: expect.stringContaining('reconciliation:') })]);
  });

  it('a terminal journal whose payout is in another state', async () => {
    const s = await cleanTenant();
    await sql`update payouts set state = 'succeeded' where id = ${s.failed.payout.id}`.execute(t.database.db);
    const r = await reconcile(s.key);
    expect(codes(r.mismatches)).toEqual(['journal_payout_state_mismatch', 'payout_without_terminal_journal', 'withdrawal_payout_status_mismatch']);
    const m = r.mismatches.find((x) => x.code === 'journal_payout_state_mismatch')!;
    expect(m).toMatchObject({ payout_id: s.failed.payout.id, withdrawal_id: s.failed.id });
    expect(m.detail).toMatch(/^payout_fail journal je_\S+, but payout po_\S+ is succeeded$/);
    expect(r.mismatches.find((x) => x.code === 'payout_without_terminal_journal')).toMatchObject({ subject: s.failed.payout.id });
  });

  it("payout clearing not at zero for a finished payout, and the tenant's clearing not equal to the payouts in flight", async () => {
    const s = await cleanTenant();
    // The in-flight payout is marked failed without its journal: its 7 000 fen stay in clearing.
    await sql`update payouts set state = 'failed', finished_at = now() where id = ${s.inFlight.payout.id}`.execute(t.database.db);
    const r = await reconcile(s.key);
    expect(codes(r.mismatches)).toEqual([
      'clearing_balance_mismatch',
      'clearing_not_zero',
      'payout_without_terminal_journal',
      'withdrawal_payout_status_mismatch',
    ]);
    expect(r.mismatches.find((m) => m.code === 'clearing_not_zero')).toMatchObject({ subject: s.inFlight.payout.id, expected_fen: 0, actual_fen: 7_000 });
    expect(r.mismatches.find((m) => m.code === 'clearing_balance_mismatch')).toMatchObject({ subject: s.tenantId, expected_fen: 0, actual_fen: 7_000 });
  });

  it("an extra journal moving a finished payout's clearing", async () => {
    const s = await cleanTenant();
    const extra = await insertJournal(t.database.db, s.tenantId, {
      kind: 'adjustment',
      refType: 'payout',
      refId: s.paid.payout.id,
      legs: [
        { purpose: 'payout_clearing', amount: 300, party: s.d.id },
        { purpose: 'commission_expense', amount: -300 },
      ],
    });
    const r = await reconcile(s.key);
    expect(codes(r.mismatches)).toEqual(['clearing_balance_mismatch', 'clearing_not_zero', 'journal_unexpected']);
    expect(r.mismatches.find((m) => m.code === 'clearing_not_zero')).toMatchObject({ subject: s.paid.payout.id, expected_fen: 0, actual_fen: 300 });
    // In flight: 7 000 fen; clearing holds 7 300.
    expect(r.mismatches.find((m) => m.code === 'clearing_balance_mismatch')).toMatchObject({ expected_fen: 7_000, actual_fen: 7_300 });
    expect(r.mismatches.find((m) => m.code === 'journal_unexpected')).toMatchObject({ withdrawal_id: s.paid.id, journal_id: extra });
  });

  it('a withdrawal whose amount differs from its journals', async () => {
    const s = await cleanTenant();
    await sql`update withdrawals set amount_fen = amount_fen + 1 where id = ${s.paid.id}`.execute(t.database.db);
    const r = await reconcile(s.key);
    expect(codes(r.mismatches)).toEqual(['journal_amount_mismatch']);
    expect(r.mismatches.every((m) => m.withdrawal_id === s.paid.id)).toBe(true);
    // Request: withdrawable and withdrawing; submit: withdrawing and clearing; success: clearing and withdrawn (the fee leg is unchanged).
    expect(r.mismatches.map((m) => m.detail.replace(/ je_\S+:/, '')).sort()).toEqual([
      'payout_submit tenant payout_clearing should move 10001 fen, the journal moves 10000',
      'payout_submit withdrawing should move -10001 fen, the journal moves -10000',
      'payout_success tenant payout_clearing should move -10001 fen, the journal moves -10000',
      'payout_success withdrawn should move 9801 fen, the journal moves 9800',
      'withdraw_request withdrawable should move -10001 fen, the journal moves -10000',
      'withdraw_request withdrawing should move 10001 fen, the journal moves 10000',
    ]);
    // 10 000 fen less a fee of 1% + 100 = 200: the request set aside 10 000, the withdrawal now says 10 001.
    expect(r.mismatches).toContainEqual(
      expect.objectContaining({
        expected_fen: -10_001,
        actual_fen: -10_000,
        detail: expect.stringMatching(/^withdraw_request je_\S+: withdrawable should move -10001 fen, the journal moves -10000$/),
      }),
    );
    expect(r.mismatches).toContainEqual(expect.objectContaining({ expected_fen: 9_801, actual_fen: 9_800, detail: expect.stringContaining('withdrawn') }));
  });

  it('fee income that is not the fees of the paid withdrawals', async () => {
    const s = await cleanTenant();
    await insertJournal(t.database.db, s.tenantId, {
      kind: 'adjustment',
      refType: 'manual',
      refId: 'adj-1',
      legs: [
        { purpose: 'fee_income', amount: 100 },
        { purpose: 'commission_expense', amount: -100 },
      ],
    });
    const r = await reconcile(s.key);
    // The paid withdrawal's fee: 1% of 10 000 + 100.
    expect(r.mismatches).toEqual([expect.objectContaining({ code: 'fee_income_mismatch', subject: s.tenantId, expected_fen: 200, actual_fen: 300 })]);
  });

  it("a finished payout that the provider's last word contradicts (a verified WeChat callback saying FAIL after success)", async () => {
    const s = await smallTenant(t);
    const openid = `o-${s.d.id}`;
    expect(
      (await t.call('POST', `/v1/distributors/${s.d.id}/payout-accounts`, { token: s.key, body: { channel: 'wechat', openid, user_name: '王五' } })).statusCode,
    ).toBe(201);
    wx.behave('*', { outcome: 'succeed' });
    const w = (await t.call('POST', '/v1/withdrawals', { token: s.key, body: { distributor_id: s.d.id, amount_fen: 20_000, channel: 'wechat' } })).data;
    const approved = (await t.call('POST', `/v1/withdrawals/${w.id}/approve`, { token: s.key })).data;
    expect(await t.services.withdrawals.work(approved.payout.id)).toBe('succeeded');
    expect((await reconcile(s.key)).mismatches).toEqual([]);

    await wx.setState(approved.payout.out_no, 'FAIL', 'ACCOUNT_FROZEN');
    const cb = wx.buildCallback(approved.payout.out_no);
    const res = await t.app.inject({ method: 'POST', url: '/v1/payouts/callbacks/wechat', headers: cb.headers, payload: cb.body });
    expect(res.statusCode).toBe(200);
    // The payout stays paid (terminal states never move); reconciliation names the disagreement.
    expect((await t.call('GET', `/v1/withdrawals/${w.id}`, { token: s.key })).data).toMatchObject({ status: 'paid', payout: { state: 'succeeded' } });
    const r = await reconcile(s.key);
    expect(r.mismatches).toEqual([expect.objectContaining({ code: 'provider_state_mismatch', subject: approved.payout.id, withdrawal_id: w.id })]);
    expect(r.mismatches[0]!.detail).toMatch(/is succeeded; the provider's last word \(callback event \d+\) is failed$/);
    expect(r.items[0]).toMatchObject({ provider_state: 'failed', payout_state: 'succeeded' });
  });

  it('the mismatches export and the reconciliation export carry the same names', async () => {
    const s = await cleanTenant();
    await sql`update withdrawals set status = 'paid', paid_at = now() where id = ${s.inFlight.id}`.execute(t.database.db);
    const expected = (await reconcile(s.key)).mismatches;
    const file = await download(t, '/v1/exports/reconciliation-mismatches.csv?lang=en', s.key);
    expect(file.status).toBe(200);
    const rows = parseCsv(file.text).rows;
    expect(rows[0]).toEqual(['Mismatch', 'Subject', 'Withdrawal', 'Payout', 'Journal', 'Expected (CNY)', 'Actual (CNY)', 'Detail']);
    expect(rows.slice(1).map((r) => [r[0], r[1], r[2], r[3]])).toEqual(expected.map((m) => [m.code, m.subject, m.withdrawal_id ?? '', m.payout_id ?? '']));
    const recon = parseCsv((await download(t, '/v1/exports/reconciliation.csv?lang=en', s.key)).text).rows;
    const col = recon[0]!.indexOf('Mismatches');
    const row = recon.find((r) => r[0] === s.inFlight.id)!;
    expect(row[col]).toBe('paid_without_payout_success, withdrawal_payout_status_mismatch');
    expect(recon.filter((r) => r[0]?.startsWith('wd_') && r[0] !== s.inFlight.id).every((r) => r[col] === '')).toBe(true);
    // The clearing column still says what the ledger holds for that payout: the 7 000 fen in flight.
    expect(yuanTextToFen(row[recon[0]!.indexOf('Payout clearing (CNY)')]!)).toBe(7_000n);
  });
});
