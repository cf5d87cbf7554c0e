/**
 * Reconciliation and the business exports on a realistic tenant: a three-level chain with orders,
 * a refund before settlement and one after it (a clawback), a statement held for review and
 * approved, an order still pending, and withdrawals paid, failed, rejected, in flight and waiting,
 * through the manual channel, the bank channel and the WeChat Pay simulator.
 *
 * Each export is downloaded through the API as .xlsx and .csv; the .xlsx is read back by
 * LibreOffice (an independent reader) and every row and the totals row are compared, to the fen,
 * with what SQL written here finds in the tables and the ledger's postings — not with the
 * export's own queries. Then filters, languages, background jobs, one snapshot per export, roles
 * and tenant isolation.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.ts';
import { ManualClock } from '../../src/core/context.ts';
import { createPayoutChannels } from '../../src/adapters/payout/index.ts';
import { generateRsaKeyPair } from '../support/providers/pki.ts';
import { WechatPaySimulator } from '../support/providers/wechat-server.ts';
import { WITHOUT_LIBREOFFICE, parseCsv, percentTextToBp, readXlsxWithLibreOffice, yuanTextToFen } from '../../src/lib/export/testing.ts';
import { guardFormula, xlsxText } from '../../src/lib/export/format.ts';
import { localDate } from '../../src/core/time.ts';
import { inSnapshot, snapshotRows } from '../../src/modules/exports/snapshot.ts';
import { download, postingsOf, smallTenant } from '../support/reconciliation.ts';
import type { JsonBody } from '../support/json.ts';

const MCH_ID = '1900000109';
const WX_APP = 'wxd678efh567hg6787';
const SERIAL = '5157F09EFDC096DE15EBE81A47057A7232F1B8E1';
const APIV3 = 'a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6';
const merchant = generateRsaKeyPair();
const BANK_NO = '6222020200112233445';
const TZ = 'Asia/Shanghai';

let t: TestServer;
let wx: WechatPaySimulator;
let clock: ManualClock;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fenxiao-recon-'));

interface World {
  tenantId: string;
  key: string;
  dist: Record<'A' | 'B' | 'C', { id: string; external_id: string; name: string }>;
  w: Record<string, string>;
  day1: string;
  day2: string;
}
let world: World;

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
  // Local noon, so the two days of withdrawals fall on two calendar days in Shanghai.
  const noon = new Date(`${localDate(new Date(), TZ)}T04:00:00Z`);
  clock = new ManualClock(noon);
  t = await startTestServer({ clock, overrides: { payoutChannels: channels, submitPayoutsInline: false } });
  world = await buildWorld();
}, 180_000);

afterAll(async () => {
  await t?.close();
  await wx?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function ok(p: Promise<{ statusCode: number; body: string; data: JsonBody }>, status = 200) {
  const r = await p;
  if (r.statusCode !== status) throw new Error(`expected ${status}, got ${r.statusCode}: ${r.body}`);
  return r.data;
}

async function buildWorld(): Promise<World> {
  const { id: tenantId, key } = await t.tenant('对账商户');
  const call = (method: string, url: string, body?: unknown, status = 200) => ok(t.call(method, url, { token: key, body }), status);
  await call('PUT', '/v1/program', {
    levels: 2,
    freeze_days: 7,
    review_threshold_fen: 20_000,
    withdrawal: { min_fen: 100, fee_bp: 60, fixed_fee_fen: 100, auto_approve_max_fen: 0 },
  });
  await call('PUT', '/v1/grades/default', { name: '普通', rank: 0, sales_bp: 1000, override_bp: [500, 200] });
  const A = await call('POST', '/v1/distributors', { external_id: 'dA', name: '张三' }, 201);
  const B = await call('POST', '/v1/distributors', { external_id: 'dB', name: '李四的小店（深圳）', referrer_code: A.invite_code }, 201);
  const C = await call('POST', '/v1/distributors', { external_id: 'dC', name: '=HYPERLINK("http://evil.example","点我")', referrer_code: B.invite_code }, 201);
  await call('POST', '/v1/bindings', { customer_external_id: 'bc', invite_code: C.invite_code }, 201);
  await call('POST', '/v1/bindings', { customer_external_id: 'bb', invite_code: B.invite_code }, 201);
  const order = (id: string, buyer: string, items: unknown[]) => call('POST', '/v1/orders', { external_id: id, buyer_external_id: buyer, items }, 201);
  await order('o-1', 'bc', [
    { sku: 'tea', quantity: 2, unit_price_fen: 10_000, paid_fen: 19_000 },
    { sku: 'cup', quantity: 1, unit_price_fen: 5_000, paid_fen: 5_000 },
  ]);
  await order('o-2', 'bb', [{ sku: 'tea', quantity: 3, unit_price_fen: 100_000, paid_fen: 300_000 }]);
  await order('o-3', 'bc', [{ sku: 'cup', quantity: 1, unit_price_fen: 8_000, paid_fen: 8_000 }]);
  await order('o-4', 'bb', [{ sku: 'tea', quantity: 1, unit_price_fen: 50_000, paid_fen: 50_000 }]);
  await call('POST', '/v1/orders/o-3/events', { type: 'refunded', refund_fen: 3_000 });
  for (const o of ['o-1', 'o-2', 'o-3']) await call('POST', `/v1/orders/${o}/events`, { type: 'received' });
  const asOf = new Date(clock.now().getTime() + 8 * 86_400_000).toISOString();
  const run = await call('POST', '/v1/settlements/run', { as_of: asOf });
  const held = run.statements.filter((s: { status: string }) => s.status === 'pending_review');
  expect(held.map((s: { distributor_id: string }) => s.distributor_id)).toEqual([B.id]);
  await call('POST', `/v1/statements/${held[0].id}/approve`);

  await call('POST', `/v1/distributors/${A.id}/payout-accounts`, { channel: 'wechat', openid: `o-${A.id}`, user_name: '张三' }, 201);
  await call(
    'POST',
    `/v1/distributors/${B.id}/payout-accounts`,
    { channel: 'bank', account_no: '6222 0202 0011 2233 445', account_name: '李四', bank_name: '招商银行' },
    201,
  );

  const w: Record<string, string> = {};
  const ask = async (name: string, d: { id: string }, amount: number, channel: string) => {
    w[name] = (await call('POST', '/v1/withdrawals', { distributor_id: d.id, amount_fen: amount, channel }, 201)).id;
    return w[name]!;
  };
  const approve = async (id: string) => (await call('POST', `/v1/withdrawals/${id}/approve`)).payout as { id: string };
  const day1 = localDate(clock.now(), TZ);
  wx.behave('*', { outcome: 'succeed' });
  expect(await t.services.withdrawals.work((await approve(await ask('A1', A, 5_000, 'wechat'))).id)).toBe('succeeded');
  wx.behave('*', { outcome: 'fail', failReason: 'ACCOUNT_FROZEN' });
  expect(await t.services.withdrawals.work((await approve(await ask('A2', A, 3_000, 'wechat'))).id)).toBe('failed');
  await approve(await ask('B1', B, 10_000, 'bank'));
  await call('POST', `/v1/withdrawals/${w.B1}/complete`, { reference: 'CMB-20260301-0001' });
  await approve(await ask('B2', B, 4_000, 'manual'));
  await call('POST', `/v1/withdrawals/${w.B2}/fail`, { reason: '-account closed' });

  clock.advance(2 * 86_400_000);
  const day2 = localDate(clock.now(), TZ);
  await ask('B3', B, 3_000, 'manual');
  await call('POST', `/v1/withdrawals/${w.B3}/reject`, { reason: '身份核验未通过' });
  await approve(await ask('C1', C, 1_000, 'manual'));
  await call('POST', `/v1/withdrawals/${w.C1}/complete`, { reference: "=cmd|' /C calc'!A0" });
  wx.behave('*', { outcome: 'processing' });
  expect(await t.services.withdrawals.work((await approve(await ask('A3', A, 2_000, 'wechat'))).id)).toBe('processing');
  await approve(await ask('B4', B, 2_000, 'manual'));
  await ask('C2', C, 500, 'manual');

  // A refund after settlement: clawbacks on every level of o-1.
  await call('POST', '/v1/orders/o-1/events', { type: 'refunded', refund_fen: 10_000 });
  return { tenantId, key, dist: { A, B, C }, w, day1, day2 };
}

/* ------------------------------------------------------------- the ledger, by SQL of our own */

const db = () => t.database.db;

async function withdrawalsBySql(tenantId: string) {
  const rows = await sql<{
    id: string;
    distributor_id: string;
    external_id: string;
    name: string;
    channel: string;
    amount_fen: number;
    fee_fen: number;
    status: string;
    created_at: Date;
    payout_id: string | null;
    out_no: string | null;
    provider_ref: string | null;
    state: string | null;
  }>`
    select w.id, w.distributor_id, d.external_id, d.name, w.channel, w.amount_fen, w.fee_fen, w.status, w.created_at,
           p.id as payout_id, p.out_no, coalesce(p.provider_ref, w.reference) as provider_ref, p.state
      from withdrawals w join distributors d on d.id = w.distributor_id left join payouts p on p.withdrawal_id = w.id
     where w.tenant_id = ${tenantId} order by w.id`.execute(db());
  const legs = await sql<{ wid: string; jid: string; kind: string; owner_id: string; purpose: string; amount: number }>`
    select w.id as wid, je.id as jid, je.kind, a.owner_id, a.purpose, x.amount
      from withdrawals w left join payouts p on p.withdrawal_id = w.id
      join journal_entries je on je.tenant_id = w.tenant_id and ((je.ref_type = 'withdrawal' and je.ref_id = w.id) or (je.ref_type = 'payout' and je.ref_id = p.id))
      join postings x on x.journal_id = je.id join accounts a on a.id = x.account_id
     where w.tenant_id = ${tenantId}`.execute(db());
  return rows.rows.map((r) => {
    const mine = legs.rows.filter((l) => l.wid === r.id);
    const sum = (f: (l: (typeof mine)[number]) => boolean) => mine.filter(f).reduce((s, l) => s + l.amount, 0);
    const jid = (kinds: string[]) => mine.find((l) => kinds.includes(l.kind))?.jid ?? '';
    return {
      ...r,
      requested: sum((l) => l.kind === 'withdraw_request' && l.amount > 0),
      submitted: sum((l) => l.kind === 'payout_submit' && l.amount > 0),
      paid: sum((l) => l.kind === 'payout_success' && l.purpose === 'withdrawn'),
      feeIncome: sum((l) => l.kind === 'payout_success' && l.purpose === 'fee_income'),
      returned: sum((l) => ['withdraw_reject', 'payout_fail'].includes(l.kind) && l.purpose === 'withdrawable'),
      clearing: sum((l) => l.purpose === 'payout_clearing'),
      requestJournal: jid(['withdraw_request']),
      submitJournal: jid(['payout_submit']),
      finalJournal: jid(['payout_success', 'payout_fail', 'withdraw_reject']),
    };
  });
}

const shanghai = (d: Date | null) => (d ? new Date(new Date(d).getTime() + 8 * 3_600_000).toISOString().slice(0, 19).replace('T', ' ') : '');
const fen = (text: string | undefined) => Number(yuanTextToFen(text ?? ''));

/** A table read back (LibreOffice or CSV): its header, data rows and totals row, and a cell getter by header. */
function table(rows: string[][], withTotals: boolean) {
  const header = rows[0]!;
  const data = rows.slice(1, withTotals ? -1 : undefined).filter((r) => r.some((c) => c !== ''));
  const totals = withTotals ? rows[rows.length - 1]! : null;
  const at = (row: string[], name: string) => {
    const i = header.indexOf(name);
    if (i < 0) throw new Error(`no column "${name}" in ${header.join(' | ')}`);
    return row[i]!;
  };
  return { header, data, totals, at, byId: new Map(data.map((r) => [r[0]!, r])) };
}

const sheets = new Map<string, Map<string, string[][]>>();
/** Downloads an export as .xlsx (read back by LibreOffice) and as .csv. */
async function both(kind: string, query = '', token = world.key) {
  const x = await download(t, `/v1/exports/${kind}.xlsx${query}`, token);
  expect(x.status, x.text.slice(0, 300)).toBe(200);
  expect(x.headers['content-type']).toBe('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet');
  const file = path.join(dir, `${kind}-${sheets.size}.xlsx`);
  fs.writeFileSync(file, x.bytes);
  const read = await readXlsxWithLibreOffice(file, { timeoutMs: 240_000 });
  sheets.set(file, read);
  const c = await download(t, `/v1/exports/${kind}.csv${query}`, token);
  expect(c.status).toBe(200);
  expect(c.headers['content-type']).toBe('text/csv; charset=utf-8');
  return { xlsx: read, xlsxBytes: x.bytes, csv: parseCsv(c.text), csvText: c.text, disposition: String(x.headers['content-disposition']) };
}

describe('reconciliation on a healthy tenant', () => {
  it("is clean, and its totals by channel and status are the ledger's", async () => {
    const { key, tenantId, w } = world;
    const r = await ok(t.call('GET', '/v1/reconciliation', { token: key }));
    expect(r.mismatches).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.basis).toBe('withdrawal_requested_at');
    expect(r.items.map((i: { withdrawal_id: string }) => i.withdrawal_id)).toEqual(Object.values(w).sort());
    expect(r.next_cursor).toBeNull();

    const clearing = await postingsOf(db(), tenantId, 'payout_clearing');
    const feeIncome = await postingsOf(db(), tenantId, 'fee_income');
    const withdrawn = await postingsOf(db(), tenantId, 'withdrawn');
    const withdrawing = await postingsOf(db(), tenantId, 'withdrawing');
    const o = r.totals.overall;
    expect(o.requested).toEqual({ count: 9, amount_fen: 30_500, fee_fen: expect.any(Number), net_fen: expect.any(Number) });
    expect(o.in_flight.amount_fen).toBe(clearing);
    expect(clearing).toBe(4_000);
    expect(o.pending_review.amount_fen).toBe(withdrawing);
    expect(o.paid.net_fen).toBe(withdrawn);
    expect(o.fees_fen).toBe(feeIncome);
    // Fee: 0.6% (floored) + 1 yuan. Paid: 5 000 (130), 10 000 (160), 1 000 (106).
    expect(feeIncome).toBe(130 + 160 + 106);
    expect(o.paid).toEqual({ count: 3, amount_fen: 16_000, fee_fen: 396, net_fen: 16_000 - 396 });
    expect(o.failed).toMatchObject({ count: 2, amount_fen: 7_000 });
    expect(o.rejected).toMatchObject({ count: 1, amount_fen: 3_000 });
    expect(o.returned).toMatchObject({ count: 3, amount_fen: 10_000 });
    expect(r.ledger).toEqual({
      payout_clearing_fen: clearing,
      in_flight_fen: 4_000,
      fee_income_fen: feeIncome,
      paid_fees_fen: 396,
      deposit_cash_fen: 0,
      deposits_held_fen: 0,
      deposits_refunding_fen: 0,
    });
    const wechat = r.totals.by_channel.find((c: { channel: string }) => c.channel === 'wechat');
    expect(wechat).toMatchObject({
      requested: { count: 3, amount_fen: 10_000 },
      paid: { count: 1, amount_fen: 5_000 },
      failed: { count: 1, amount_fen: 3_000 },
      in_flight: { count: 1, amount_fen: 2_000 },
      fees_fen: 130,
    });
    expect(r.totals.by_channel.map((c: { channel: string }) => c.channel).sort()).toEqual(['bank', 'manual', 'wechat']);

    const a1 = r.items.find((i: { withdrawal_id: string }) => i.withdrawal_id === w.A1);
    expect(a1).toMatchObject({
      channel: 'wechat',
      status: 'paid',
      payout_state: 'succeeded',
      amount_fen: 5_000,
      fee_fen: 130,
      net_fen: 4_870,
      paid_fen: 4_870,
      fee_income_fen: 130,
      clearing_fen: 0,
      mismatches: [],
    });
    expect(a1.journals.map((j: { kind: string; amount_fen: number }) => [j.kind, j.amount_fen])).toEqual([
      ['withdraw_request', 5_000],
      ['payout_submit', 5_000],
      ['payout_success', 5_000],
    ]);
    expect(r.items.find((i: { withdrawal_id: string }) => i.withdrawal_id === w.A3)).toMatchObject({
      payout_state: 'processing',
      clearing_fen: 2_000,
      provider_state: null,
    });
    expect((await ok(t.call('GET', '/v1/ledger/verify', { token: key }))).breaks).toEqual([]);
  });

  it("pages its withdrawals while totals and mismatches cover the whole period; the period is by request day in the tenant's zone", async () => {
    const { key, w, day2 } = world;
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: JsonBody = await ok(t.call('GET', `/v1/reconciliation?limit=4${cursor ? `&cursor=${cursor}` : ''}`, { token: key }));
      expect(page.items.length).toBeLessThanOrEqual(4);
      expect(page.totals.overall.requested.count).toBe(9);
      seen.push(...page.items.map((i: { withdrawal_id: string }) => i.withdrawal_id));
      cursor = page.next_cursor;
    } while (cursor);
    expect(seen).toEqual(Object.values(w).sort());

    const later = await ok(t.call('GET', `/v1/reconciliation?from=${day2}`, { token: key }));
    expect(later.items.map((i: { withdrawal_id: string }) => i.withdrawal_id).sort()).toEqual([w.B3, w.C1, w.A3, w.B4, w.C2].sort());
    expect(later.totals.overall.requested).toMatchObject({ count: 5, amount_fen: 3_000 + 1_000 + 2_000 + 2_000 + 500 });
    const earlier = await ok(t.call('GET', `/v1/reconciliation?to=${day2}`, { token: key }));
    expect(earlier.items.map((i: { withdrawal_id: string }) => i.withdrawal_id).sort()).toEqual([w.A1, w.A2, w.B1, w.B2].sort());
    expect(earlier.from).toBeNull();
    // Midnight in Shanghai is 16:00 UTC the day before.
    expect(earlier.to).toMatch(/T16:00:00\.000Z$/);
    const bad = await t.call('GET', `/v1/reconciliation?from=${day2}&to=${world.day1}`, { token: key });
    expect(bad.statusCode).toBe(400);
    expect((await t.call('GET', '/v1/reconciliation?from=2026-02-30', { token: key })).statusCode).toBe(400);
    expect((await t.call('GET', '/v1/reconciliation?from=yesterday', { token: key })).statusCode).toBe(400);
  });
});

describe.skipIf(WITHOUT_LIBREOFFICE)("exports read back with LibreOffice equal the ledger to the fen (needs LibreOffice's soffice outside CI)", () => {
  it('the withdrawal ledger: one row per withdrawal, masked accounts, amounts and totals as the postings have them', { timeout: 300_000 }, async () => {
    const { tenantId, w } = world;
    const got = await both('withdrawals');
    expect(got.disposition).toContain(`filename*=UTF-8''${encodeURIComponent('提现台账')}`);
    expect([...got.xlsx.keys()].sort()).toEqual(['提现台账', '说明'].sort());
    const x = table(got.xlsx.get('提现台账')!, true);
    const c = table(got.csv.rows, true);
    expect(x.header.slice(0, 9)).toEqual([
      '提现单号',
      '分销员ID',
      '分销员编号',
      '分销员',
      '渠道',
      '收款账户（脱敏）',
      '提现金额（元）',
      '手续费（元）',
      '实付金额（元）',
    ]);
    expect(c.header).toEqual(x.header);
    const truth = await withdrawalsBySql(tenantId);
    expect(x.data.map((r) => r[0])).toEqual(truth.map((r) => r.id));
    expect(c.data.map((r) => r[0])).toEqual(truth.map((r) => r.id));
    for (const r of truth) {
      for (const [t2, text] of [
        [x, xlsxText],
        [c, guardFormula],
      ] as const) {
        const row = t2.byId.get(r.id)!;
        expect(t2.at(row, '分销员编号')).toBe(r.external_id);
        expect(t2.at(row, '分销员')).toBe(text(r.name));
        expect(t2.at(row, '渠道')).toBe(r.channel);
        expect(fen(t2.at(row, '提现金额（元）'))).toBe(r.amount_fen);
        expect(fen(t2.at(row, '手续费（元）'))).toBe(r.fee_fen);
        expect(fen(t2.at(row, '实付金额（元）'))).toBe(r.amount_fen - r.fee_fen);
        expect(t2.at(row, '状态')).toBe(r.status);
        expect(t2.at(row, '商户单号')).toBe(r.out_no ?? '');
        expect(t2.at(row, '渠道流水号')).toBe(r.provider_ref === null ? '' : text(r.provider_ref));
        expect(t2.at(row, '打款状态')).toBe(r.state ?? '');
        expect(t2.at(row, '申请时间')).toBe(shanghai(r.created_at));
        expect([t2.at(row, '申请凭证'), t2.at(row, '出款凭证'), t2.at(row, '结果凭证')]).toEqual([r.requestJournal, r.submitJournal, r.finalJournal]);
      }
    }
    // Payee accounts only masked: the card's last four digits, never the number.
    expect(x.at(x.byId.get(w.B1!)!, '收款账户（脱敏）')).toMatch(/^招商银行 \*+3445 \*四$/);
    expect(x.at(x.byId.get(w.A1!)!, '收款账户（脱敏）')).toMatch(/^微信 o-ds\*+/);
    const everything = [...got.xlsx.values()].flat(2).join('\n') + got.csvText + got.xlsxBytes.toString('latin1');
    expect(everything).not.toContain(BANK_NO);
    expect(everything).not.toContain(BANK_NO.slice(0, 12));

    // The totals row, and what the rows add up to, against the ledger's postings.
    const sumOf = (tbl: ReturnType<typeof table>, column: string, status?: string) =>
      tbl.data.filter((r) => status === undefined || tbl.at(r, '状态') === status).reduce((s, r) => s + fen(tbl.at(r, column)), 0);
    for (const tbl of [x, c]) {
      expect(tbl.at(tbl.totals!, '提现单号')).toBe('合计');
      expect(fen(tbl.at(tbl.totals!, '提现金额（元）'))).toBe(truth.reduce((s, r) => s + r.amount_fen, 0));
      expect(fen(tbl.at(tbl.totals!, '手续费（元）'))).toBe(truth.reduce((s, r) => s + r.fee_fen, 0));
      expect(fen(tbl.at(tbl.totals!, '实付金额（元）'))).toBe(truth.reduce((s, r) => s + r.amount_fen - r.fee_fen, 0));
      expect(sumOf(tbl, '实付金额（元）', 'paid')).toBe(await postingsOf(db(), tenantId, 'withdrawn'));
      expect(sumOf(tbl, '手续费（元）', 'paid')).toBe(await postingsOf(db(), tenantId, 'fee_income'));
      expect(sumOf(tbl, '提现金额（元）', 'approved')).toBe(await postingsOf(db(), tenantId, 'payout_clearing'));
      expect(sumOf(tbl, '提现金额（元）', 'pending_review')).toBe(await postingsOf(db(), tenantId, 'withdrawing'));
    }
  });

  it('commission lines: every line, clawbacks included; by status they are the balances', { timeout: 300_000 }, async () => {
    const { tenantId } = world;
    const got = await both('commissions');
    const x = table(got.xlsx.get('佣金明细')!, true);
    const c = table(got.csv.rows, true);
    const truth = (
      await sql<{
        id: string;
        order: string;
        sku: string | null;
        beneficiary: string;
        level: number;
        kind: string;
        base_fen: number;
        rate_kind: string;
        rate_bp: number;
        amount_fen: number;
        status: string;
        rule_version: number;
        rate_source: string;
        statement_id: string | null;
        created_at: Date;
        settled_at: Date | null;
        grade_name: string | null;
      }>`
      select c.id, o.external_id as order, i.sku, d.external_id as beneficiary, c.level, c.kind, c.base_fen, c.rate_kind, c.rate_bp, c.amount_fen,
             c.status, c.rule_version, c.rate_source, c.statement_id, c.created_at, c.settled_at, g.name as grade_name
        from commissions c join orders o on o.id = c.order_id join distributors d on d.id = c.beneficiary_id left join order_items i on i.id = c.order_item_id
        left join grades g on g.tenant_id = c.tenant_id and g.code = c.beneficiary_grade
       where c.tenant_id = ${tenantId} order by c.id`.execute(db())
    ).rows;
    expect(truth.some((l) => l.kind === 'clawback')).toBe(true);
    expect(truth.some((l) => l.status === 'pending')).toBe(true);
    for (const tbl of [x, c]) {
      expect(tbl.data.map((r) => r[0])).toEqual(truth.map((l) => l.id));
      for (const l of truth) {
        const row = tbl.byId.get(l.id)!;
        expect([tbl.at(row, '订单号'), tbl.at(row, 'SKU'), tbl.at(row, '受益人编号'), tbl.at(row, '层级'), tbl.at(row, '类型'), tbl.at(row, '状态')]).toEqual([
          l.order,
          l.sku ?? '',
          l.beneficiary,
          String(l.level),
          l.kind,
          l.status,
        ]);
        expect(fen(tbl.at(row, '计佣基数（元）'))).toBe(l.base_fen);
        expect(fen(tbl.at(row, '佣金（元）'))).toBe(l.amount_fen);
        if (l.rate_kind === 'percent') expect(Number(percentTextToBp(tbl.at(row, '比例')))).toBe(l.rate_bp);
        expect([tbl.at(row, '规则版本'), tbl.at(row, '比例来源'), tbl.at(row, '结算单号')]).toEqual([
          String(l.rule_version),
          l.rate_source,
          l.statement_id ?? '',
        ]);
        expect([tbl.at(row, '产生时间'), tbl.at(row, '结算时间')]).toEqual([shanghai(l.created_at), shanghai(l.settled_at)]);
        // Names, not codes (issue 16 item 9): the grade as the merchant calls it.
        expect(tbl.at(row, '受益人等级')).toBe(l.grade_name);
      }
      expect(truth.every((l) => l.grade_name !== null)).toBe(true);
      const total = fen(tbl.at(tbl.totals!, '佣金（元）'));
      expect(total).toBe(-(await postingsOf(db(), tenantId, 'commission_expense')));
      const byStatus = (s: string) => tbl.data.filter((r) => tbl.at(r, '状态') === s).reduce((sum, r) => sum + fen(tbl.at(r, '佣金（元）')), 0);
      expect(byStatus('pending')).toBe(await postingsOf(db(), tenantId, 'pending'));
      expect(byStatus('available')).toBe(await postingsOf(db(), tenantId, 'available'));
      // Every settled fen is withdrawable, on its way out, paid, or the merchant's fee.
      let out = 0;
      for (const p of ['withdrawable', 'withdrawing', 'payout_clearing', 'withdrawn', 'fee_income']) out += await postingsOf(db(), tenantId, p);
      expect(byStatus('settled')).toBe(out);
    }
  });

  it('statements: amounts, review, and the journal that credited each', { timeout: 300_000 }, async () => {
    const { tenantId, dist } = world;
    const got = await both('statements');
    const x = table(got.xlsx.get('结算单')!, true);
    const c = table(got.csv.rows, true);
    const truth = (
      await sql<{ id: string; distributor_id: string; status: string; amount_fen: number; line_count: number; journal: string | null; credited: number }>`
      select s.id, s.distributor_id, s.status, s.amount_fen, s.line_count,
             (select je.id from journal_entries je where je.ref_type = 'statement' and je.ref_id = s.id) as journal,
             (select coalesce(sum(x.amount), 0)::bigint from journal_entries je join postings x on x.journal_id = je.id join accounts a on a.id = x.account_id
               where je.ref_type = 'statement' and je.ref_id = s.id and a.purpose = 'withdrawable') as credited
        from statements s where s.tenant_id = ${tenantId} order by s.id`.execute(db())
    ).rows;
    expect(truth).toHaveLength(3);
    const settledByJournals = (
      await sql<{ s: number }>`
      select coalesce(sum(x.amount), 0)::bigint as s from journal_entries je join postings x on x.journal_id = je.id join accounts a on a.id = x.account_id
       where je.tenant_id = ${tenantId} and je.kind = 'settle' and a.purpose = 'withdrawable'`.execute(db())
    ).rows[0]!.s;
    for (const tbl of [x, c]) {
      expect(tbl.data.map((r) => r[0])).toEqual(truth.map((s) => s.id));
      for (const s of truth) {
        const row = tbl.byId.get(s.id)!;
        expect([tbl.at(row, '分销员ID'), tbl.at(row, '状态'), tbl.at(row, '佣金笔数'), tbl.at(row, '结算凭证')]).toEqual([
          s.distributor_id,
          s.status,
          String(s.line_count),
          s.journal ?? '',
        ]);
        expect(fen(tbl.at(row, '结算金额（元）'))).toBe(s.amount_fen);
        expect(fen(tbl.at(row, '入可提现（元）'))).toBe(s.credited);
      }
      expect(fen(tbl.at(tbl.totals!, '结算金额（元）'))).toBe(settledByJournals);
      expect(fen(tbl.at(tbl.totals!, '入可提现（元）'))).toBe(settledByJournals);
      expect(tbl.at(tbl.byId.get(truth.find((s) => s.distributor_id === dist.B.id)!.id)!, '审核通过时间')).not.toBe('');
    }
  });

  it("reconciliation: each withdrawal with what its journals moved; the columns add up to the merchant's accounts", { timeout: 300_000 }, async () => {
    const { tenantId } = world;
    const got = await both('reconciliation');
    const x = table(got.xlsx.get('提现对账')!, true);
    const c = table(got.csv.rows, true);
    const truth = await withdrawalsBySql(tenantId);
    for (const tbl of [x, c]) {
      expect(tbl.data.map((r) => r[0])).toEqual(truth.map((r) => r.id));
      for (const r of truth) {
        const row = tbl.byId.get(r.id)!;
        expect(fen(tbl.at(row, '凭证：申请冻结（元）'))).toBe(r.requested);
        expect(fen(tbl.at(row, '凭证：出款（元）'))).toBe(r.submitted);
        expect(fen(tbl.at(row, '凭证：已提现（元）'))).toBe(r.paid);
        expect(fen(tbl.at(row, '凭证：手续费收入（元）'))).toBe(r.feeIncome);
        expect(fen(tbl.at(row, '凭证：退回可提现（元）'))).toBe(r.returned);
        expect(fen(tbl.at(row, '清算户余额（元）'))).toBe(r.clearing);
        expect(tbl.at(row, '差异')).toBe('');
      }
      const total = (name: string) => fen(tbl.at(tbl.totals!, name));
      expect(total('提现金额（元）')).toBe(truth.reduce((s, r) => s + r.amount_fen, 0));
      expect(total('凭证：申请冻结（元）')).toBe(total('提现金额（元）'));
      expect(total('凭证：已提现（元）')).toBe(await postingsOf(db(), tenantId, 'withdrawn'));
      expect(total('凭证：手续费收入（元）')).toBe(await postingsOf(db(), tenantId, 'fee_income'));
      expect(total('清算户余额（元）')).toBe(await postingsOf(db(), tenantId, 'payout_clearing'));
      expect(total('凭证：退回可提现（元）')).toBe(truth.filter((r) => ['failed', 'rejected'].includes(r.status)).reduce((s, r) => s + r.amount_fen, 0));
    }
    // No mismatches: the mismatches export is a header and nothing else.
    const m = parseCsv((await download(t, '/v1/exports/reconciliation-mismatches.csv', world.key)).text).rows;
    expect(m).toEqual([['差异类型', '对象', '提现单号', '打款单号', '凭证', '应为（元）', '实际（元）', '说明']]);
  });
});

/** The ids of a CSV export's data rows. */
const ids = (text: string) =>
  parseCsv(text)
    .rows.slice(1)
    .map((r) => r[0]!)
    .filter((id) => /^(wd|cm|stm)_/.test(id));

describe('export filters, language and background jobs', () => {
  it('filters by status, channel, distributor and period; refuses what does not fit the export', async () => {
    const { key, w, dist, day2 } = world;
    const get = async (url: string) => {
      const r = await download(t, url, key);
      expect(r.status, r.text).toBe(200);
      return ids(r.text);
    };
    expect(await get('/v1/exports/withdrawals.csv?status=paid&status=failed&channel=wechat')).toEqual([w.A1, w.A2]);
    expect(await get('/v1/exports/withdrawals.csv?status=approved')).toEqual([w.A3, w.B4]);
    expect(await get(`/v1/exports/withdrawals.csv?distributor_id=${dist.C.id}`)).toEqual([w.C1, w.C2]);
    expect(await get(`/v1/exports/withdrawals.csv?from=${day2}`)).toEqual([w.B3, w.C1, w.A3, w.B4, w.C2]);
    expect(await get(`/v1/exports/reconciliation.csv?to=${day2}`)).toEqual([w.A1, w.A2, w.B1, w.B2]);
    const pending = await get('/v1/exports/commissions.csv?status=pending');
    const o4 = (await ok(t.call('GET', '/v1/orders/o-4', { token: key }))).commissions.map((l: { id: string }) => l.id);
    expect(pending).toEqual([...o4].sort());
    const settledOfC = (
      await t.database.db.selectFrom('commissions').select('id').where('beneficiary_id', '=', dist.C.id).where('status', '=', 'settled').orderBy('id').execute()
    ).map((r) => r.id);
    expect(settledOfC.length).toBeGreaterThan(2);
    expect(await get(`/v1/exports/commissions.csv?distributor_id=${dist.C.id}&status=settled`)).toEqual(settledOfC);
    expect(await get(`/v1/exports/statements.csv?distributor_id=${dist.B.id}&status=approved`)).toHaveLength(1);
    for (const url of [
      '/v1/exports/withdrawals.csv?status=settled',
      '/v1/exports/reconciliation.csv?status=paid',
      '/v1/exports/statements.csv?channel=wechat',
      `/v1/exports/withdrawals.csv?from=${day2}&to=${world.day1}`,
      '/v1/exports/withdrawals.csv?lang=fr',
      '/v1/exports/commissions.csv?from=soon',
    ]) {
      const r = await download(t, url, key);
      expect(r.status, url).toBe(400);
      expect(JSON.parse(r.text).error.code).toBe('invalid_request');
    }
    expect((await download(t, '/v1/exports/payouts.csv', key)).status).toBe(404);
  });

  it('headers in English with lang=en', async () => {
    const r = await download(t, '/v1/exports/withdrawals.csv?lang=en', world.key);
    const rows = parseCsv(r.text).rows;
    expect(rows[0]!.slice(0, 9)).toEqual([
      'Withdrawal',
      'Distributor ID',
      'Distributor external ID',
      'Distributor',
      'Channel',
      'Payee account (masked)',
      'Amount (CNY)',
      'Fee (CNY)',
      'Net paid out (CNY)',
    ]);
    expect(rows.at(-1)![0]).toBe('Total');
    expect(String(r.headers['content-disposition'])).toContain('Withdrawal%20ledger.csv');
  });

  it('a background job writes the same file as the streamed download, and reports rows and totals', async () => {
    const { key, tenantId } = world;
    const start = await t.call('POST', '/v1/exports', { token: key, body: { kind: 'reconciliation', format: 'csv', filters: { from: world.day1 } } });
    expect(start.statusCode, start.body).toBe(202);
    expect(start.headers.location).toBe(`/v1/exports/${start.data.id}`);
    expect(start.data).toMatchObject({ name: 'reconciliation', format: 'csv', status: expect.stringMatching(/^(queued|running)$/) });
    await t.app.exportJobs.settled(tenantId, start.data.id);
    const job = await ok(t.call('GET', `/v1/exports/${start.data.id}`, { token: key }));
    expect(job).toMatchObject({
      status: 'done',
      rows_written: 9,
      total: 9,
      percent: 100,
      totals: { amount_fen: '30500', paid_fen: String(await postingsOf(db(), tenantId, 'withdrawn')) },
    });
    const file = await download(t, job.download_url, key);
    const direct = await download(t, `/v1/exports/reconciliation.csv?from=${world.day1}`, key);
    expect(file.text).toBe(direct.text);

    const bad = await t.call('POST', '/v1/exports', { token: key, body: { kind: 'withdrawals', format: 'pdf' } });
    expect(bad.statusCode).toBe(400);
    const wrongFilter = await t.call('POST', '/v1/exports', { token: key, body: { kind: 'withdrawals', format: 'csv', filters: { status: ['settled'] } } });
    expect(wrongFilter.statusCode).toBe(400);
  });
});

describe('one snapshot per export', () => {
  it('runs at REPEATABLE READ, read only, on either database', async () => {
    const r = await inSnapshot(
      db(),
      async (tx) =>
        (
          await sql<{ iso: string; ro: string }>`
      select current_setting('transaction_isolation') as iso, current_setting('transaction_read_only') as ro`.execute(tx)
        ).rows[0],
    );
    expect(r).toEqual({ iso: 'repeatable read', ro: 'on' });
  });

  it('rows read page by page do not see what commits between the pages', async () => {
    const s = await smallTenant(t, 100_000, 'snapshot');
    const made: { id: string }[] = [];
    for (let i = 0; i < 5; i++) made.push(await s.withdraw(1_000 + i, 'approved'));
    const rows = snapshotRows(db(), (tx) => t.services.reconciliation.withdrawalsWithin(tx, { tenantId: s.tenantId, period: { from: null, to: null } }, 2));
    const first = await rows.next();
    expect(first.value).toMatchObject({ withdrawal_id: made[0]!.id, status: 'approved' });
    // Commits while the export is between its first and its later pages (on PostgreSQL from
    // other connections of the pool; PGlite read every page before answering the first row).
    await ok(t.call('POST', `/v1/withdrawals/${made[4]!.id}/complete`, { token: s.key, body: { reference: 'late' } }));
    await s.withdraw(900, 'pending_review');
    const rest = [];
    for await (const r of rows) rest.push(r);
    expect([first.value, ...rest].map((r) => r!.withdrawal_id)).toEqual(made.map((m) => m.id));
    expect(rest.at(-1)).toMatchObject({ status: 'approved', payout_state: 'submitted', clearing_fen: 1_004 });
    // And afterwards, a new export sees both.
    const now = await ok(t.call('GET', '/v1/reconciliation', { token: s.key }));
    expect(now.items).toHaveLength(6);
    expect(now.items.find((i: { withdrawal_id: string }) => i.withdrawal_id === made[4]!.id).status).toBe('paid');
  });
});

describe('who may read', () => {
  async function login(role: 'operator' | 'auditor' | 'finance') {
    const email = `${role}-${Date.now()}@recon.example`;
    await ok(t.call('POST', '/v1/admin-users', { token: world.key, body: { email, password: 'correct horse battery', role } }), 201);
    return (await ok(t.call('POST', '/v1/auth/login', { body: { tenant_id: world.tenantId, email, password: 'correct horse battery' } }))).token as string;
  }

  it('finance, owner and auditor read reconciliation and exports; an operator gets 403', async () => {
    const job = await ok(t.call('POST', '/v1/exports', { token: world.key, body: { kind: 'withdrawals', format: 'csv' } }), 202);
    await t.app.exportJobs.settled(world.tenantId, job.id);
    const operator = await login('operator');
    for (const [method, url, body] of [
      ['GET', '/v1/reconciliation'],
      ['GET', '/v1/exports/withdrawals.csv'],
      ['GET', '/v1/exports/commissions.xlsx'],
      ['GET', '/v1/exports/statements.csv'],
      ['GET', '/v1/exports/reconciliation-mismatches.csv'],
      ['POST', '/v1/exports', { kind: 'statements', format: 'csv' }],
      ['GET', `/v1/exports/${job.id}`],
      ['GET', `/v1/exports/${job.id}/download`],
    ] as const) {
      const r = await t.call(method, url, { token: operator, body });
      expect(r.statusCode, `${method} ${url}`).toBe(403);
      expect(r.data.error.code).toBe('forbidden');
    }
    for (const role of ['auditor', 'finance'] as const) {
      const token = await login(role);
      expect((await t.call('GET', '/v1/reconciliation', { token })).statusCode).toBe(200);
      const file = await download(t, '/v1/exports/withdrawals.csv', token);
      expect(file.status).toBe(200);
      expect(ids(file.text)).toHaveLength(9);
      expect((await t.call('GET', `/v1/exports/${job.id}`, { token })).statusCode).toBe(200);
    }
    expect((await t.call('GET', '/v1/reconciliation')).statusCode).toBe(401);
  });

  it("another tenant's reconciliation and exports hold none of our rows, and our jobs are not there for it", async () => {
    const other = await smallTenant(t, 50_000, '别家商户');
    const theirs = await other.withdraw(2_000, 'paid');
    const ours = new Set(Object.values(world.w));
    const r = await ok(t.call('GET', '/v1/reconciliation', { token: other.key }));
    expect(r.items.map((i: { withdrawal_id: string }) => i.withdrawal_id)).toEqual([theirs.id]);
    expect(r.totals.overall.requested).toMatchObject({ count: 1, amount_fen: 2_000 });
    expect(r.mismatches).toEqual([]);
    for (const kind of ['withdrawals', 'reconciliation', 'commissions', 'statements']) {
      const text = (await download(t, `/v1/exports/${kind}.csv`, other.key)).text;
      for (const id of ours) expect(text).not.toContain(id);
      expect(text).not.toContain(world.dist.A.id);
      expect(text).not.toContain('张三');
    }
    expect(ids((await download(t, '/v1/exports/withdrawals.csv', other.key)).text)).toEqual([theirs.id]);
    const ourJob = await ok(t.call('POST', '/v1/exports', { token: world.key, body: { kind: 'withdrawals', format: 'csv' } }), 202);
    await t.app.exportJobs.settled(world.tenantId, ourJob.id);
    expect((await t.call('GET', `/v1/exports/${ourJob.id}`, { token: other.key })).statusCode).toBe(404);
    expect((await t.call('GET', `/v1/exports/${ourJob.id}/download`, { token: other.key })).statusCode).toBe(404);
    const mine = await ok(t.call('GET', '/v1/reconciliation', { token: world.key }));
    expect(mine.items.map((i: { withdrawal_id: string }) => i.withdrawal_id)).not.toContain(theirs.id);
  });
});
