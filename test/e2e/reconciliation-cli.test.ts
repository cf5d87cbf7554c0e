/**
 * The command line: `fenxiao export …` and `fenxiao reconcile …` as real processes on the
 * configured database (a PGlite folder, or DATABASE_URL when set). The data is made through the
 * API in this process first; on PGlite the folder is closed before a command opens it, since one
 * PGlite folder has one user at a time.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { openDatabase, type Database } from '../../src/db/database.ts';
import { migrateToLatest } from '../../src/db/migrate.ts';
import { WITHOUT_LIBREOFFICE, parseCsv, readXlsxWithLibreOffice, yuanTextToFen } from '../../src/lib/export/testing.ts';
import { runCli } from '../pg/support/spawn.ts';
import { openTestDatabase } from '../support/db.ts';
import { startTestServer } from '../support/server.ts';
import { insertJournal, postingsOf, smallTenant } from '../support/reconciliation.ts';

const databaseUrl = inject('databaseUrl');
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fenxiao-recon-cli-'));
const env: Record<string, string> = { FENXIAO_DATA_DIR: dataDir, LOG_LEVEL: 'warn', ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}) };
const out = (name: string) => path.join(dataDir, name);

/**
 * The database as this test file opens it: the run's PostgreSQL database, or the PGlite folder
 * the commands use (migrated the first time; after that the commands have migrated it).
 */
async function open(migrate: boolean): Promise<Database> {
  if (databaseUrl) return openTestDatabase(2);
  const database = await openDatabase({ dataDir });
  if (migrate) await migrateToLatest(database.db);
  return database;
}

interface Made {
  tenantId: string;
  ids: string[];
  amounts: Map<string, number>;
  fees: Map<string, number>;
  withdrawn: number;
  feeIncome: number;
  clearing: number;
}
let made: Made;

beforeAll(async () => {
  const database = await open(true);
  const t = await startTestServer({ database });
  try {
    const s = await smallTenant(t, 200_000, '命令行商户');
    const ws = [
      await s.withdraw(10_000, 'paid'),
      await s.withdraw(20_000, 'paid'),
      await s.withdraw(5_000, 'failed'),
      await s.withdraw(7_000, 'approved'),
      await s.withdraw(3_000, 'rejected'),
      await s.withdraw(1_000, 'pending_review'),
    ];
    const rows = await database.db
      .selectFrom('withdrawals')
      .select(['id', 'amount_fen', 'fee_fen'])
      .where('tenant_id', '=', s.tenantId)
      .orderBy('id')
      .execute();
    made = {
      tenantId: s.tenantId,
      ids: ws.map((w) => w.id),
      amounts: new Map(rows.map((r) => [r.id, r.amount_fen])),
      fees: new Map(rows.map((r) => [r.id, r.fee_fen])),
      withdrawn: await postingsOf(database.db, s.tenantId, 'withdrawn'),
      feeIncome: await postingsOf(database.db, s.tenantId, 'fee_income'),
      clearing: await postingsOf(database.db, s.tenantId, 'payout_clearing'),
    };
  } finally {
    await t.close();
    await database.close();
  }
}, 180_000);

afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

describe('fenxiao export', () => {
  it('writes the withdrawal ledger as CSV with a progress line, rows and totals as the ledger has them', { timeout: 180_000 }, async () => {
    const r = await runCli(['export', 'withdrawals', '--tenant', made.tenantId, '--format', 'csv', '--out', out('w.csv')], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`6 rows written to ${out('w.csv')}`);
    // The progress line (not a terminal: one line at the end) names the export and the count of the total.
    expect(r.stderr).toMatch(/export withdrawals: 6\/6 rows · 100\.0% · .* · in [\d.]+s · /);
    expect(fs.existsSync(`${out('w.csv')}.part`)).toBe(false);
    const rows = parseCsv(fs.readFileSync(out('w.csv'), 'utf8')).rows;
    expect(rows.slice(1, -1).map((x) => x[0])).toEqual([...made.ids].sort());
    for (const x of rows.slice(1, -1)) expect(Number(yuanTextToFen(x[6]!))).toBe(made.amounts.get(x[0]!));
    const total = rows.at(-1)!;
    expect(total[0]).toBe('合计');
    expect(Number(yuanTextToFen(total[6]!))).toBe([...made.amounts.values()].reduce((a, b) => a + b, 0));
    expect(Number(yuanTextToFen(total[7]!))).toBe([...made.fees.values()].reduce((a, b) => a + b, 0));
  });

  it.skipIf(WITHOUT_LIBREOFFICE)("writes reconciliation as .xlsx in English; LibreOffice reads back the ledger's totals", { timeout: 300_000 }, async () => {
    const r = await runCli(['export', 'reconciliation', '--tenant', made.tenantId, '--format', 'xlsx', '--lang', 'en', '--out', out('r.xlsx')], env);
    expect(r.code, r.stderr).toBe(0);
    const sheets = await readXlsxWithLibreOffice(out('r.xlsx'), { timeoutMs: 240_000 });
    const rows = sheets.get('Reconciliation')!;
    const header = rows[0]!;
    const total = rows.at(-1)!;
    expect(total[0]).toBe('Total');
    expect(rows.slice(1, -1).map((x) => x[0])).toEqual([...made.ids].sort());
    const col = (name: string) => Number(yuanTextToFen(total[header.indexOf(name)]!));
    expect(col('Journal: paid out (CNY)')).toBe(made.withdrawn);
    expect(col('Journal: fee income (CNY)')).toBe(made.feeIncome);
    expect(col('Payout clearing (CNY)')).toBe(made.clearing);
    expect(col('Payout clearing (CNY)')).toBe(7_000);
    expect(rows.slice(1, -1).every((x) => x[header.indexOf('Mismatches')] === '')).toBe(true);
  });

  it('filters by status (repeated or comma-separated) and refuses what it cannot do', { timeout: 300_000 }, async () => {
    const r = await runCli(
      ['export', 'withdrawals', '--tenant', made.tenantId, '--format', 'csv', '--status', 'paid,failed', '--status', 'rejected', '--out', out('f.csv')],
      env,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(
      parseCsv(fs.readFileSync(out('f.csv'), 'utf8'))
        .rows.slice(1, -1)
        .map((x) => x[9]),
    ).toEqual(['paid', 'paid', 'failed', 'rejected']);
    for (const [args, message] of [
      [['export', 'payouts', '--tenant', made.tenantId, '--format', 'csv', '--out', out('x.csv')], /unknown export "payouts"/],
      [['export', 'withdrawals', '--tenant', made.tenantId, '--format', 'pdf', '--out', out('x.pdf')], /format/],
      [
        ['export', 'withdrawals', '--tenant', made.tenantId, '--format', 'csv', '--status', 'settled', '--out', out('x.csv')],
        /invalid_request: status "settled"/,
      ],
      [['reconcile', '--tenant', 'tnt_nobody'], /not_found: tenant tnt_nobody not found/],
    ] as const) {
      const bad = await runCli([...args], env);
      expect(bad.code, args.join(' ')).toBe(1);
      expect(bad.stderr).toMatch(message);
    }
    expect(fs.existsSync(out('x.csv'))).toBe(false);
    expect(fs.existsSync(`${out('x.csv')}.part`)).toBe(false);
  });
});

describe('fenxiao reconcile', () => {
  it('prints totals and exits 0 when clean; exits 2 and names each mismatch when not, as ledger verify does', { timeout: 300_000 }, async () => {
    const json = await runCli(['reconcile', '--tenant', made.tenantId, '--json'], env);
    expect(json.code, json.stderr).toBe(0);
    const report = JSON.parse(json.stdout);
    expect(report).toMatchObject({
      tenant_id: made.tenantId,
      ok: true,
      mismatches: [],
      ledger: { payout_clearing_fen: 7_000, in_flight_fen: 7_000, fee_income_fen: made.feeIncome },
    });
    expect(report.totals.overall.requested).toMatchObject({ count: 6, amount_fen: 46_000 });
    expect(report.totals.overall.paid).toMatchObject({ count: 2, amount_fen: 30_000 });
    const text = await runCli(['reconcile', '--tenant', made.tenantId], env);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('all\t6 / 460.00\t1 / 10.00\t1 / 70.00\t2 / 300.00\t1 / 50.00\t1 / 30.00\t');
    expect(text.stdout).toContain('admission deposits: deposit cash 0.00 (received less paid back 0.00; on its way back 0.00)');
    expect(text.stdout.trim().split('\n').at(-1)).toBe('no mismatches');

    // A fee booked past the services: fee income no longer equals the paid withdrawals' fees.
    const database = await open(false);
    try {
      await insertJournal(database.db, made.tenantId, {
        kind: 'adjustment',
        refType: 'manual',
        refId: 'cli-adj',
        legs: [
          { purpose: 'fee_income', amount: 123 },
          { purpose: 'commission_expense', amount: -123 },
        ],
      });
    } finally {
      await database.close();
    }
    const broken = await runCli(['reconcile', '--tenant', made.tenantId], env);
    expect(broken.code, broken.stderr).toBe(2);
    expect(broken.stdout).toContain(
      `MISMATCH fee_income_mismatch ${made.tenantId}: fee income is ${made.feeIncome + 123} fen; the paid withdrawals' fees are ${made.feeIncome} fen`,
    );
    expect(broken.stdout.trim().split('\n').at(-1)).toBe('1 mismatch(es)');
    const verify = await runCli(['ledger', 'verify', '--tenant', made.tenantId], env);
    expect(verify.code).toBe(2);
    expect(verify.stdout).toContain(`BREAK reconciliation: fee income equals the fees of the paid withdrawals: ${made.tenantId}:`);
    const mismatches = await runCli(['export', 'mismatches', '--tenant', made.tenantId, '--format', 'csv', '--out', out('m.csv')], env);
    expect(mismatches.code, mismatches.stderr).toBe(0);
    expect(
      parseCsv(fs.readFileSync(out('m.csv'), 'utf8'))
        .rows.slice(1)
        .map((x) => [x[0], x[1]]),
    ).toEqual([['fee_income_mismatch', made.tenantId]]);
  });
});
