import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { PassThrough, Writable } from 'node:stream';
import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeXlsx } from './xlsx.ts';
import { ExportAbortedError } from './flow.ts';
import { defineExport } from './spec.ts';
import { xlsxText } from './format.ts';
import { WITHOUT_LIBREOFFICE, readXlsxWithLibreOffice, percentTextToBp, yuanTextToFen } from './testing.ts';
import { sampleRows, sampleSource, sampleSpec } from './test-fixtures.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fenxiao-xlsx-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function shanghai(d: Date): string {
  return new Date(d.getTime() + 8 * 3_600_000).toISOString().slice(0, 19).replace('T', ' ');
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

describe.skipIf(WITHOUT_LIBREOFFICE)("writeXlsx read back by LibreOffice (needs LibreOffice's soffice outside CI)", () => {
  const n = 3000;
  const file = path.join(dir, 'lines.xlsx');
  const generatedAt = new Date('2026-03-01T02:03:04Z');
  let sheets: Map<string, string[][]>;
  let result: Awaited<ReturnType<typeof writeXlsx>>;
  const progress: number[] = [];

  beforeAll(async () => {
    result = await writeXlsx(sampleSpec, sampleSource(n).rows, fs.createWriteStream(file), {
      tz: 'Asia/Shanghai',
      generatedAt,
      params: { status: 'paid', from: '2026-01-01', distributor: '=evil()' },
      onProgress: (r) => progress.push(r),
      progressEvery: 1000,
    });
    sheets = await readXlsxWithLibreOffice(file, { timeoutMs: 240_000 });
  }, 300_000);

  it('has the data sheet and the about sheet', () => {
    expect([...sheets.keys()].sort()).toEqual(['佣金明细', '说明'].sort());
    expect(progress).toEqual([1000, 2000, 3000]);
  });

  it('every row equals its source, amounts to the fen, rates to the basis point, times in Shanghai', () => {
    const data = sheets.get('佣金明细')!;
    expect(data[0]).toEqual(['序号', '分销员', '备注', '佣金（元）', '手续费（元）', '比例', '支付时间', '账期', '数量']);
    expect(data).toHaveLength(n + 2);
    sampleRows(n).forEach((row, i) => {
      const got = data[i + 1]!;
      expect(got[0]).toBe(String(row.seq));
      // Text cells are never formulas in an .xlsx: `=1+2` and `@SUM(A1)` come back as typed.
      expect(got[1]).toBe(xlsxText(row.name));
      expect(got[2]).toBe(row.note === null ? '' : xlsxText(row.note));
      expect(yuanTextToFen(got[3]!)).toBe(BigInt(row.amount_fen));
      expect(yuanTextToFen(got[4]!)).toBe(row.fee_fen);
      expect(percentTextToBp(got[5]!)).toBe(BigInt(row.rate_bp));
      expect(got[6]).toBe(shanghai(row.paid_at));
      expect(got[7]).toBe(row.period);
      expect(got[8]).toBe(String(row.quantity));
    });
  });

  it('hostile text survives verbatim and unevaluated', () => {
    const names = new Set(sheets.get('佣金明细')!.map((r) => r[1]));
    for (const s of [
      '=1+2',
      '@SUM(A1)',
      '<script>alert(1)</script>',
      '+8613800138000',
      '-5',
      '\tindented',
      '\ncarriage',
      ' leading space',
      'two\nlines',
      '=HYPERLINK("http://evil.example","点我")',
      '😀 emoji',
      '李四的小店（深圳）',
    ]) {
      expect(names.has(s), s).toBe(true);
    }
    expect(names.has('3')).toBe(false);
  });

  it('the totals row equals the integer sums of the source to the fen', () => {
    const data = sheets.get('佣金明细')!;
    const totals = data[n + 1]!;
    const rows = sampleRows(n);
    const amount = rows.reduce((s, r) => s + BigInt(r.amount_fen), 0n);
    const fee = rows.reduce((s, r) => s + r.fee_fen, 0n);
    const quantity = rows.reduce((s, r) => s + BigInt(r.quantity), 0n);
    expect(totals[0]).toBe('合计');
    // This sum is beyond 15 digits: the cell carries the exact decimal as text, not a rounded double.
    expect(amount > 999_999_999_999_999n).toBe(true);
    expect(totals[3]).toMatch(/^-?\d+\.\d{2}$/);
    expect(yuanTextToFen(totals[3]!)).toBe(amount);
    expect(yuanTextToFen(totals[4]!)).toBe(fee);
    expect(totals[8]).toBe(quantity.toString());
    expect(result.totals).toEqual({ amount_fen: amount, fee_fen: fee, quantity });
  });

  it('the about sheet names the export, its filters, when it was made and how many rows', () => {
    expect(sheets.get('说明')).toEqual([
      ['项目', '内容'],
      ['导出名称', '佣金明细'],
      ['导出标识', 'sample-lines'],
      ['生成时间', '2026-03-01 10:03:04'],
      ['时区', 'Asia/Shanghai'],
      ['数据行数', String(n)],
      ['筛选条件', ''],
      ['status', 'paid'],
      ['from', '2026-01-01'],
      ['distributor', '=evil()'],
    ]);
  });

  it('has a frozen header, an autofilter over the data, number formats and real number and date cells', async () => {
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.readFile(file);
    const ws = wb.getWorksheet('佣金明细')!;
    expect(ws.views[0]).toMatchObject({ state: 'frozen', ySplit: 1 });
    expect(ws.autoFilter).toBe(`A1:I${n + 1}`);
    const r2 = ws.getRow(2);
    expect(r2.getCell(4).numFmt).toBe('#,##0.00');
    expect(typeof r2.getCell(4).value).toBe('number');
    expect(r2.getCell(6).numFmt).toBe('0.00%');
    expect(r2.getCell(7).numFmt).toBe('yyyy-mm-dd hh:mm:ss');
    expect(r2.getCell(7).value).toBeInstanceOf(Date);
    expect(r2.getCell(8).numFmt).toBe('yyyy-mm-dd');
    expect(ws.getRow(1).getCell(1).font?.bold).toBe(true);
    expect(ws.getRow(n + 2).getCell(5).font?.bold).toBe(true);
    expect(typeof ws.getRow(n + 2).getCell(5).value).toBe('number');
    expect(wb.worksheets.map((w) => w.name)).toEqual(['佣金明细', '说明']);
  });
});

describe.skipIf(WITHOUT_LIBREOFFICE)("writeXlsx in English, with a small export (needs LibreOffice's soffice outside CI)", () => {
  it('headers and labels follow lang; amounts of up to 15 digits are numbers read back exactly', async () => {
    interface Line {
      who: string;
      amount_fen: bigint;
      at: string;
    }
    const spec = defineExport<Line>({
      name: 'edge',
      title: { zh: '边界', en: 'Edges' },
      columns: [
        { key: 'who', header: { zh: '谁', en: 'Who' }, type: 'text' },
        { key: 'amount_fen', header: { zh: '金额', en: 'Amount' }, type: 'fen' },
        { key: 'at', header: { zh: '时间', en: 'At' }, type: 'datetime' },
      ],
      totals: ['amount_fen'],
    });
    const amounts = [999_999_999_999_999n, -999_999_999_999_999n, 123_456_789_012_345n, 1n, -1n, 0n, 99n, 100n, -12345n];
    const file = path.join(dir, 'edges.xlsx');
    await writeXlsx(
      spec,
      amounts.map((a, i) => ({ who: `w${i}`, amount_fen: a, at: '2026-03-08T07:00:00Z' })),
      fs.createWriteStream(file),
      { tz: 'America/New_York', lang: 'en' },
    );
    const sheets = await readXlsxWithLibreOffice(file, { timeoutMs: 240_000 });
    const data = sheets.get('Edges')!;
    expect(data[0]).toEqual(['Who', 'Amount', 'At']);
    expect(data.slice(1, -1).map((r) => yuanTextToFen(r[1]!))).toEqual(amounts);
    expect(data[1]![2]).toBe('2026-03-08 03:00:00');
    const sum = amounts.reduce((s, a) => s + a, 0n);
    expect(data.at(-1)).toEqual(['Total', '1234567890001.99', '']);
    expect(yuanTextToFen(data.at(-1)![1]!)).toBe(sum);
    expect(sheets.get('About')![0]).toEqual(['Field', 'Value']);
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.readFile(file);
    const ws = wb.getWorksheet('Edges')!;
    for (let r = 2; r <= amounts.length + 2; r++) expect(typeof ws.getRow(r).getCell(2).value).toBe('number');
  }, 300_000);
});

describe('writeXlsx streams', () => {
  it('keeps memory flat over 200 000 rows: live heap and buffers do not grow with the rows', async () => {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const live = () => {
      gc();
      const m = process.memoryUsage();
      return m.heapUsed + m.arrayBuffers;
    };
    const samples: { rows: number; bytes: number }[] = [];
    const file = path.join(dir, 'big.xlsx');
    const n = 200_000;
    const r = await writeXlsx(sampleSpec, sampleSource(n).rows, fs.createWriteStream(file), {
      tz: 'Asia/Shanghai',
      progressEvery: 20_000,
      onProgress: (rows) => samples.push({ rows, bytes: live() }),
    });
    expect(r.rows).toBe(n);
    const base = samples.find((s) => s.rows === 20_000)!.bytes;
    const peak = Math.max(...samples.filter((s) => s.rows > 20_000).map((s) => s.bytes));
    const growthMb = (peak - base) / 2 ** 20;
    // The sheet's XML is about 95 MB for these rows; buffered anywhere (a non-streaming workbook,
    // shared strings, rows kept), live memory would grow by about that. Streaming, it stays put.
    console.info(
      `xlsx 200k rows: live memory at 20k rows ${(base / 2 ** 20).toFixed(1)} MiB, growth after ${growthMb.toFixed(1)} MiB; file ${(fs.statSync(file).size / 2 ** 20).toFixed(1)} MiB`,
    );
    expect(growthMb).toBeLessThan(24);
  }, 600_000);

  it('stops pulling rows while the consumer does not read, and finishes when it does', async () => {
    const n = 60_000;
    const { rows, state } = sampleSource(n);
    const out = new PassThrough({ highWaterMark: 16 * 1024 });
    const done = writeXlsx(sampleSpec, rows, out, { tz: 'Asia/Shanghai' });
    const stalledAt = await waitUntilStable(() => state.pulled);
    expect(stalledAt).toBeGreaterThan(0);
    // About a MiB of XML and a quarter of compressed output wait, then the writer waits: a few
    // thousand rows (without the waits, exceljs would compress all of them into memory).
    expect(stalledAt).toBeLessThan(12_000);
    const chunks: Buffer[] = [];
    out.on('data', (c: Buffer) => chunks.push(c));
    const result = await done;
    expect(result.rows).toBe(n);
    expect(state.pulled).toBe(n);
    // A complete zip: it ends with the end-of-central-directory record.
    const bytes = Buffer.concat(chunks);
    expect(bytes.subarray(0, 2).toString()).toBe('PK');
    expect(bytes.readUInt32LE(bytes.length - 22)).toBe(0x06054b50);
  }, 300_000);

  it('an abort stops the rows and destroys the destination instead of ending it', async () => {
    const { rows, state } = sampleSource(1_000_000);
    const ac = new AbortController();
    let finished = false;
    const out = new Writable({
      write(_c, _e, cb) {
        cb();
      },
    });
    out.on('finish', () => {
      finished = true;
    });
    const done = writeXlsx(sampleSpec, rows, out, {
      tz: 'Asia/Shanghai',
      signal: ac.signal,
      progressEvery: 5000,
      onProgress: (r) => {
        if (r >= 10_000) ac.abort();
      },
    });
    await expect(done).rejects.toBeInstanceOf(ExportAbortedError);
    expect(state.returned).toBe(true);
    expect(state.pulled).toBeLessThan(50_000);
    expect(out.destroyed).toBe(true);
    expect(finished).toBe(false);
  });

  it('a destination that goes away stops the rows', async () => {
    const { rows, state } = sampleSource(1_000_000);
    const out = new PassThrough();
    let seen = 0;
    out.on('data', (c: Buffer) => {
      seen += c.length;
      if (seen > 100_000) out.destroy();
    });
    await expect(writeXlsx(sampleSpec, rows, out, { tz: 'Asia/Shanghai' })).rejects.toBeInstanceOf(ExportAbortedError);
    expect(state.returned).toBe(true);
    expect(state.pulled).toBeLessThan(100_000);
  });
});
