import { guardFormula } from '../../lib/export/format.ts';
import { fenToYuan } from './amount.ts';
import type { PayoutAccount, PayoutChannel, PayoutRequest, QueryResult } from './types.ts';

/**
 * The `bank` channel: nothing is sent from here. Payouts wait for finance to upload a batch file
 * to the bank's corporate portal, and a person records each line's result; so `submit` only says
 * "processing" and polling never changes that.
 */

export type BankAccount = Extract<PayoutAccount, { channel: 'bank' }>;

export interface BankBatchLine extends PayoutRequest {
  account: BankAccount;
}

export function createBankChannel(): PayoutChannel {
  return {
    name: 'bank',
    online: false,
    async submit(request) {
      if (request.account.channel !== 'bank') throw new TypeError(`bank channel got a ${request.account.channel} account`);
      return { outcome: 'processing', raw: { channel: 'bank', awaiting: 'batch_file' } };
    },
    async query(): Promise<QueryResult> {
      return { found: true, outcome: 'processing', raw: { channel: 'bank', awaiting: 'manual_result' } };
    },
  };
}

export const BANK_BATCH_HEADER = ['付款单号', '收款户名', '收款账号', '开户银行', '开户支行', '金额(元)', '备注'] as const;

/**
 * Fields typed by distributors (names, bank, branch, remark) are defused against spreadsheet
 * formula injection, since finance opens these files in Excel: the exports' guard, one rule for
 * every CSV Fenxiao writes. No real name or bank starts that way.
 */
const defuse = guardFormula;

/** RFC 4180 quoting. */
function csvField(value: string): string {
  return /[",\r\n]|^\s|\s$/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/**
 * The batch upload file: UTF-8 with a BOM (so Excel and the banks' portals read the Chinese
 * right), CRLF lines, a header, one line per payout with the full account number, and a totals
 * line. Who may download it (full account numbers) is the caller's decision. Amounts are summed
 * as bigint fen and printed with fenToYuan, so the totals line is exact.
 *
 * Throws on a repeated out number (the same payout twice in one file would pay twice), a
 * non-positive amount, or an account number that is not digits: better no file than a wrong one.
 * Note for operators: re-saving the file from Excel turns long account numbers into 6.2E+18.
 */
export function renderBankBatchFile(lines: readonly BankBatchLine[]): Buffer {
  const seen = new Set<string>();
  let total = 0n;
  const rows: string[][] = [[...BANK_BATCH_HEADER]];
  for (const line of lines) {
    if (line.account.channel !== 'bank') throw new TypeError(`bank batch line ${line.outNo} has a ${String((line.account as PayoutAccount).channel)} account`);
    if (seen.has(line.outNo)) throw new RangeError(`bank batch: out number ${line.outNo} appears twice`);
    seen.add(line.outNo);
    if (!Number.isSafeInteger(line.amountFen) || line.amountFen <= 0) throw new RangeError(`bank batch: ${line.outNo} has amount ${line.amountFen}`);
    const accountNo = line.account.accountNo.replace(/[\s-]/g, '');
    if (!/^\d{6,40}$/.test(accountNo)) throw new RangeError(`bank batch: ${line.outNo} has an account number that is not 6-40 digits`);
    total += BigInt(line.amountFen);
    rows.push([
      line.outNo,
      defuse(line.account.accountName),
      accountNo,
      defuse(line.account.bankName),
      defuse(line.account.branch ?? ''),
      fenToYuan(line.amountFen),
      defuse(line.remark),
    ]);
  }
  rows.push(['合计', `共${lines.length}笔`, '', '', '', fenToYuan(total), '']);
  const text = rows.map((row) => row.map(csvField).join(',')).join('\r\n') + '\r\n';
  return Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text, 'utf8')]);
}
