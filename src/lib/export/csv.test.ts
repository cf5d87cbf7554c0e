import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { writeCsv } from './csv.ts';
import { ExportAbortedError } from './flow.ts';
import { ExportDataError } from './format.ts';
import { parseCsv, percentTextToBp, yuanTextToFen } from './testing.ts';
import { HOSTILE_NAMES, sampleRows, sampleSource, sampleSpec, type SampleRow } from './test-fixtures.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fenxiao-csv-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Shanghai has no DST: its wall clock is UTC + 8 h, computed here without the code under test. */
function shanghai(d: Date): string {
  return new Date(d.getTime() + 8 * 3_600_000).toISOString().slice(0, 19).replace('T', ' ');
}

/** What a spreadsheet shows for a text cell once the leading apostrophe is taken as "text". */
function unguard(text: string): string {
  return /^'[=+\-@\t\r]/.test(text) ? text.slice(1) : text;
}

function waitUntilStable(read: () => number, polls = 8, everyMs = 50): Promise<number> {
  return new Promise((resolve) => {
    let last = -1;
    let same = 0;
    const tick = () => {
      const now = read();
      same = now === last ? same + 1 : 0;
      last = now;
      if (same >= polls) resolve(now);
      else setTimeout(tick, everyMs);
    };
    tick();
  });
}

describe('writeCsv', () => {
  it('writes every row, the totals and the header, to the fen, in UTF-8 with a BOM and CRLF', async () => {
    const n = 3000;
    const file = path.join(dir, 'lines.csv');
    const progress: number[] = [];
    const result = await writeCsv(sampleSpec, sampleSource(n).rows, fs.createWriteStream(file), {
      tz: 'Asia/Shanghai',
      onProgress: (r) => progress.push(r),
      progressEvery: 1000,
    });
    const bytes = fs.readFileSync(file);
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const parsed = parseCsv(bytes.toString('utf8'));
    expect(parsed.bom).toBe(true);
    expect(parsed.lineEnds).toEqual(['\r\n']);
    expect(bytes.subarray(-2).toString()).toBe('\r\n');

    const [header, ...rest] = parsed.rows;
    expect(header).toEqual(['序号', '分销员', '备注', '佣金（元）', '手续费（元）', '比例', '支付时间', '账期', '数量']);
    expect(rest).toHaveLength(n + 1);
    const source = sampleRows(n);
    let amount = 0n;
    let fee = 0n;
    let quantity = 0n;
    source.forEach((row: SampleRow, i) => {
      const got = rest[i]!;
      expect(got).toHaveLength(9);
      expect(Number(got[0])).toBe(row.seq);
      expect(unguard(got[1]!)).toBe(row.name);
      expect(unguard(got[2]!)).toBe(row.note ?? '');
      expect(yuanTextToFen(got[3]!)).toBe(BigInt(row.amount_fen));
      expect(got[3]).toMatch(/^-?\d+\.\d{2}$/);
      expect(yuanTextToFen(got[4]!)).toBe(row.fee_fen);
      expect(percentTextToBp(got[5]!)).toBe(BigInt(row.rate_bp));
      expect(got[6]).toBe(shanghai(row.paid_at));
      expect(got[7]).toBe(row.period);
      expect(got[8]).toBe(String(row.quantity));
      amount += BigInt(row.amount_fen);
      fee += row.fee_fen;
      quantity += BigInt(row.quantity);
    });
    const totals = rest[n]!;
    expect(totals[0]).toBe('合计');
    expect(yuanTextToFen(totals[3]!)).toBe(amount);
    expect(yuanTextToFen(totals[4]!)).toBe(fee);
    expect(totals[8]).toBe(quantity.toString());
    expect([totals[1], totals[2], totals[5], totals[6], totals[7]]).toEqual(['', '', '', '', '']);
    expect(result).toEqual({ rows: n, totals: { amount_fen: amount, fee_fen: fee, quantity } });
    expect(progress).toEqual([1000, 2000, 3000]);
  });

  it('puts an apostrophe before every text that a spreadsheet would run as a formula, and only there', async () => {
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (c: Buffer) => chunks.push(c));
    const rows = HOSTILE_NAMES.map((name, i) => ({ ...sampleRows(1)[0]!, seq: i + 1, name, note: null, amount_fen: -12345 }));
    await writeCsv(sampleSpec, rows, out, { tz: 'Asia/Shanghai', lang: 'en' });
    const text = Buffer.concat(chunks).toString('utf8');
    const parsed = parseCsv(text).rows;
    expect(parsed[0]![1]).toBe('Distributor');
    const names = parsed.slice(1, -1).map((r) => r[1]);
    expect(names).toEqual(HOSTILE_NAMES.map((n) => (/^[=+\-@\t\r]/.test(n) ? `'${n}` : n)));
    // No field a spreadsheet opens starts with a formula character, except numbers we wrote.
    for (const r of parsed.slice(1)) {
      for (const [i, field] of r.entries()) {
        if (i === 3 || i === 4 || i === 8) continue;
        expect(field).not.toMatch(/^[=+\-@\t\r]/);
      }
      expect(r[3]).toMatch(/^-?\d+\.\d{2}$|^$/);
    }
    expect(text).toContain(`,'=1+2,`);
    expect(text).toContain(`,'@SUM(A1),`);
    expect(text).toContain(`,"'=HYPERLINK(""http://evil.example"",""点我"")",`);
    expect(text).toContain(`,<script>alert(1)</script>,`);
    expect(text).toContain(`,"a,b ""quoted""",`);
    expect(text).toContain(`,"two\nlines",`);
    expect(text).toContain(`,"'\rcarriage",`);
    expect(parsed.at(-1)![0]).toBe('Total');
  });

  it('stops pulling rows while the consumer does not read, and finishes when it does', async () => {
    const n = 200_000;
    const { rows, state } = sampleSource(n);
    const out = new PassThrough({ highWaterMark: 16 * 1024 });
    const done = writeCsv(sampleSpec, rows, out, { tz: 'Asia/Shanghai' });
    const stalledAt = await waitUntilStable(() => state.pulled);
    expect(stalledAt).toBeGreaterThan(0);
    // A 64 KiB chunk plus the stream's buffers: a few hundred rows, nowhere near all of them.
    expect(stalledAt).toBeLessThan(5_000);
    let bytes = 0;
    out.on('data', (c: Buffer) => {
      bytes += c.length;
    });
    const result = await done;
    expect(result.rows).toBe(n);
    expect(state.pulled).toBe(n);
    expect(bytes).toBeGreaterThan(n * 50);
  });

  it('an abort stops the rows (their return() runs) and destroys the destination', async () => {
    const { rows, state } = sampleSource(1_000_000);
    const ac = new AbortController();
    const out = new Writable({
      write(_c, _e, cb) {
        cb();
      },
    });
    const done = writeCsv(sampleSpec, rows, out, {
      tz: 'Asia/Shanghai',
      signal: ac.signal,
      progressEvery: 10_000,
      onProgress: (r) => {
        if (r >= 20_000) ac.abort();
      },
    });
    await expect(done).rejects.toBeInstanceOf(ExportAbortedError);
    expect(state.returned).toBe(true);
    expect(state.pulled).toBeLessThan(100_000);
    expect(out.destroyed).toBe(true);
  });

  it('a destination that closes early stops the rows', async () => {
    const { rows, state } = sampleSource(1_000_000);
    const out = new PassThrough();
    let seen = 0;
    out.on('data', (c: Buffer) => {
      seen += c.length;
      if (seen > 200_000) out.destroy();
    });
    await expect(writeCsv(sampleSpec, rows, out, { tz: 'Asia/Shanghai' })).rejects.toBeInstanceOf(ExportAbortedError);
    expect(state.returned).toBe(true);
    expect(state.pulled).toBeLessThan(100_000);
  });

  it('a bad value is an error naming its row and column, and the output is destroyed, not ended', async () => {
    const rows = sampleRows(10).map((r, i) => (i === 6 ? { ...r, amount_fen: 12.5 } : r));
    const out = new PassThrough();
    out.resume();
    let ended = false;
    out.on('end', () => {
      ended = true;
    });
    await expect(writeCsv(sampleSpec, rows, out, { tz: 'Asia/Shanghai' })).rejects.toThrow(
      new ExportDataError('row 7, column amount_fen: 12.5 is not a safe integer'),
    );
    expect(out.destroyed).toBe(true);
    expect(ended).toBe(false);
  });

  it('an empty export is the header and a zero totals row', async () => {
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (c: Buffer) => chunks.push(c));
    const progress: number[] = [];
    const r = await writeCsv(sampleSpec, [], out, { tz: 'UTC', onProgress: (x) => progress.push(x) });
    expect(r.rows).toBe(0);
    expect(progress).toEqual([0]);
    expect(parseCsv(Buffer.concat(chunks).toString()).rows.slice(1)).toEqual([['合计', '', '', '0.00', '0.00', '', '', '', '0']]);
  });
});
