import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  bpToFraction,
  bpToPercent,
  contentDisposition,
  csvField,
  exactCellNumber,
  fenToYuan,
  formatDateTime,
  guardFormula,
  sheetName,
  wallClock,
  wallClockByIntl,
  withExtension,
  xlsxText,
  XLSX_EXACT_LIMIT,
  XLSX_MAX_TEXT,
  ExportDataError,
  toBigInt,
} from './format.ts';
import { defineExport, ExportSpecError } from './spec.ts';
import { toCell } from './cells.ts';

describe('fenToYuan', () => {
  it.each([
    [0, '0.00'],
    [1, '0.01'],
    [-1, '-0.01'],
    [99, '0.99'],
    [100, '1.00'],
    [101, '1.01'],
    [-12345, '-123.45'],
    [123456789012345, '1234567890123.45'],
    [Number.MAX_SAFE_INTEGER, '90071992547409.91'],
    [-100000000, '-1000000.00'],
  ])('%s fen → %s', (fen, yuan) => {
    expect(fenToYuan(fen)).toBe(yuan);
    expect(fenToYuan(BigInt(fen))).toBe(yuan);
  });

  it('carries integers beyond 2^53 exactly as BigInt', () => {
    expect(fenToYuan(12345678901234567890123n)).toBe('123456789012345678901.23');
    expect(fenToYuan(-(10n ** 20n))).toBe('-1000000000000000000.00');
  });

  it('refuses a float or an unsafe number instead of rounding it', () => {
    expect(() => fenToYuan(1.5)).toThrow(ExportDataError);
    expect(() => fenToYuan(2 ** 53)).toThrow(ExportDataError);
    expect(() => toBigInt('12.5', 'x')).toThrow(ExportDataError);
    expect(() => toBigInt('', 'x')).toThrow(ExportDataError);
    expect(toBigInt('-120000000000000000000', 'x')).toBe(-120000000000000000000n);
  });
});

describe('rates', () => {
  it.each([
    [0, '0.00%', '0.0000'],
    [1, '0.01%', '0.0001'],
    [1234, '12.34%', '0.1234'],
    [10000, '100.00%', '1.0000'],
    [-250, '-2.50%', '-0.0250'],
  ])('%s bp', (bp, pct, frac) => {
    expect(bpToPercent(bp)).toBe(pct);
    expect(bpToFraction(bp)).toBe(frac);
  });
});

describe('the exactness of amounts written as numbers', () => {
  const exactFen = fc.bigInt({ min: -XLSX_EXACT_LIMIT, max: XLSX_EXACT_LIMIT });

  it('every |fen| ≤ 999 999 999 999 999 is a double that shows as its 2-decimal yuan at 2 decimals and at 15 digits', () => {
    fc.assert(
      fc.property(exactFen, (fen) => {
        const text = fenToYuan(fen);
        const n = exactCellNumber(fen, 2);
        expect(n).not.toBeNull();
        // What a reader does: print the double at 2 decimals, or at 15 significant digits (Excel).
        expect(n!.toFixed(2)).toBe(text === '-0.00' ? '0.00' : text);
        expect(BigInt(Math.round(Number(n!.toPrecision(15)) * 100))).toBe(fen);
      }),
      { numRuns: 20_000 },
    );
    for (const fen of [XLSX_EXACT_LIMIT, -XLSX_EXACT_LIMIT, 99_999_999_999_999n, 1n, -1n, 0n, 123_456_789_012_345n]) {
      expect(exactCellNumber(fen, 2)!.toFixed(2)).toBe(fenToYuan(fen));
    }
  });

  it('the double parsed from the decimal text is the one IEEE division gives (both correctly rounded)', () => {
    fc.assert(
      fc.property(fc.maxSafeInteger(), (fen) => {
        expect(Number(fenToYuan(fen))).toBe(fen / 100);
      }),
      { numRuns: 20_000 },
    );
  });

  it('beyond the limit there is no number cell (the writer puts the exact text instead)', () => {
    expect(exactCellNumber(XLSX_EXACT_LIMIT + 1n, 2)).toBeNull();
    expect(exactCellNumber(-(XLSX_EXACT_LIMIT + 1n), 2)).toBeNull();
    // Why: from 2^46 yuan on, neighbouring doubles are more than a fen apart.
    const a = Number(fenToYuan(2n ** 46n * 100n + 1n));
    const b = Number(fenToYuan(2n ** 46n * 100n + 2n));
    expect(a).toBe(b);
  });
});

describe('wall-clock time', () => {
  it('Shanghai is UTC+8 all year', () => {
    expect(formatDateTime(new Date('2026-03-01T16:05:07.999Z'), 'Asia/Shanghai')).toBe('2026-03-02 00:05:07');
    expect(formatDateTime(new Date('2026-07-01T00:00:00Z'), 'Asia/Shanghai')).toBe('2026-07-01 08:00:00');
  });

  it("follows DST switches (New York, Lord Howe's half hour, Kathmandu's quarter)", () => {
    expect(formatDateTime(new Date('2026-03-08T06:59:59Z'), 'America/New_York')).toBe('2026-03-08 01:59:59');
    expect(formatDateTime(new Date('2026-03-08T07:00:00Z'), 'America/New_York')).toBe('2026-03-08 03:00:00');
    expect(formatDateTime(new Date('2026-11-01T05:59:59Z'), 'America/New_York')).toBe('2026-11-01 01:59:59');
    expect(formatDateTime(new Date('2026-11-01T06:00:00Z'), 'America/New_York')).toBe('2026-11-01 01:00:00');
    expect(formatDateTime(new Date('2026-01-01T00:00:00Z'), 'Asia/Kathmandu')).toBe('2026-01-01 05:45:00');
  });

  it('the cached-offset path equals Intl for any instant and zone', () => {
    const zones = ['Asia/Shanghai', 'America/New_York', 'Europe/London', 'Australia/Lord_Howe', 'Asia/Kathmandu', 'America/Santiago', 'Pacific/Chatham', 'UTC'];
    fc.assert(
      fc.property(fc.integer({ min: Date.UTC(1971, 0, 1), max: Date.UTC(2060, 0, 1) }), fc.constantFrom(...zones), (ms, zone) => {
        expect(wallClock(new Date(ms), zone)).toEqual(wallClockByIntl(new Date(ms), zone));
      }),
      { numRuns: 20_000 },
    );
    // Every second around a switch.
    const start = Date.UTC(2026, 10, 1, 5, 30);
    for (let ms = start; ms < start + 3_600_000; ms += 1000) {
      expect(wallClock(new Date(ms), 'America/New_York')).toEqual(wallClockByIntl(new Date(ms), 'America/New_York'));
    }
  });
});

describe('CSV text', () => {
  it.each([
    ['=1+2', "'=1+2"],
    ['+86 138', "'+86 138"],
    ['-5', "'-5"],
    ['@SUM(A1)', "'@SUM(A1)"],
    ['\tx', "'\tx"],
    ['\rx', "'\rx"],
    ['张三', '张三'],
    ['a=b', 'a=b'],
    ['', ''],
    ['<script>', '<script>'],
    [' x', ' x'],
    ['a-b', 'a-b'],
  ])('guardFormula(%j) = %j', (input, out) => {
    expect(guardFormula(input)).toBe(out);
  });

  // Issue 14: spreadsheets skip blanks before a formula, and read the full-width signs of a
  // Chinese input method as formula signs too; each of these opened as a live formula.
  it.each([
    [' =HYPERLINK("http://x")'],
    ['\n=1+2'],
    ['\u00a0=1+2'],
    ['＝1+2'],
    ['＋86 138'],
    ['－5'],
    ['＠SUM(A1)'],
    ['\u3000=1'],
    ['\u200b=1'],
    ['\r\n@SUM(A1)'],
    ['\nplain'],
    ['  \t =cmd|'],
  ])('guards %j, which a spreadsheet reads as a formula', (input) => {
    expect(guardFormula(input)).toBe(`'${input}`);
  });

  it('quotes per RFC 4180 only when needed', () => {
    expect(csvField('plain 中文')).toBe('plain 中文');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    expect(csvField('cr\r')).toBe('"cr\r"');
  });
});

describe('xlsx text', () => {
  it('keeps what XML can carry and drops what it cannot', () => {
    expect(xlsxText('=1+2')).toBe('=1+2');
    expect(xlsxText(' lead\ttab ')).toBe(' lead\ttab ');
    expect(xlsxText('a\r\nb\rc')).toBe('a\nb\nc');
    expect(xlsxText('x\u0000\u0001\u001f\u007fy')).toBe('xy');
    expect(xlsxText('bad\uD800half')).toBe('bad\uFFFDhalf');
    expect(xlsxText('😀')).toBe('😀');
  });

  it('cuts at 32 767 without splitting a surrogate pair', () => {
    expect(xlsxText('a'.repeat(40_000))).toHaveLength(XLSX_MAX_TEXT);
    const cut = xlsxText('a'.repeat(XLSX_MAX_TEXT - 1) + '😀');
    expect(cut).toHaveLength(XLSX_MAX_TEXT - 1);
  });

  it('makes sheet names Excel accepts', () => {
    expect(sheetName('佣金明细', 'Data')).toBe('佣金明细');
    expect(sheetName('a/b:c*d?[e]', 'Data')).toBe('a b c d  e');
    expect(sheetName('x'.repeat(40), 'Data')).toHaveLength(31);
    expect(sheetName('///', 'Data')).toBe('Data');
  });
});

describe('file names', () => {
  it('sends the UTF-8 name per RFC 5987 with an ASCII fallback', () => {
    expect(contentDisposition('提现台账 2026-03.xlsx')).toBe(
      `attachment; filename="____ 2026-03.xlsx"; filename*=UTF-8''%E6%8F%90%E7%8E%B0%E5%8F%B0%E8%B4%A6%202026-03.xlsx`,
    );
    expect(contentDisposition('a"b\\c\'(1)*.csv')).toBe(`attachment; filename="a_b_c'(1)*.csv"; filename*=UTF-8''a%22b_c%27%281%29%2A.csv`);
    expect(contentDisposition('../../etc/passwd')).toContain('filename="_.._etc_passwd"');
  });

  it('adds the extension once', () => {
    expect(withExtension('对账单', 'xlsx')).toBe('对账单.xlsx');
    expect(withExtension('a.CSV', 'csv')).toBe('a.CSV');
    expect(withExtension('\n', 'csv')).toBe('_.csv');
  });
});

describe('specs and cells', () => {
  it('refuses a spec whose totals sum what cannot be summed', () => {
    expect(() =>
      defineExport<{ a: number; b: string }>({
        name: 'x',
        title: { zh: '甲', en: 'A' },
        columns: [
          { key: 'a', header: { zh: '甲', en: 'A' }, type: 'bp' },
          { key: 'b', header: { zh: '乙', en: 'B' }, type: 'text' },
        ],
        totals: ['a'],
      }),
    ).toThrow(ExportSpecError);
    expect(() =>
      defineExport<{ a: number }>({
        name: 'Bad Name',
        title: { zh: '甲', en: 'A' },
        columns: [{ key: 'a', header: { zh: '甲', en: 'A' }, type: 'int' }],
      }),
    ).toThrow(ExportSpecError);
    expect(() =>
      defineExport<{ a: number }>({
        name: 'dup',
        title: { zh: '甲', en: 'A' },
        columns: [
          { key: 'a', header: { zh: '甲', en: 'A' }, type: 'int' },
          { key: 'a', header: { zh: '甲', en: 'A' }, type: 'fen' },
        ],
      }),
    ).toThrow(ExportSpecError);
  });

  it('refuses values of the wrong kind, naming the row and column', () => {
    expect(() => toCell('fen', 12.5, 'UTC', 'row 3, column amount_fen')).toThrow('row 3, column amount_fen');
    expect(() => toCell('datetime', 'yesterday', 'UTC', 'row 1, column paid_at')).toThrow(ExportDataError);
    expect(() => toCell('date', '2026-13-01', 'UTC', 'r')).toThrow(ExportDataError);
    expect(() => toCell('text', { a: 1 }, 'UTC', 'r')).toThrow(ExportDataError);
    expect(toCell('fen', '123456789012345678', 'UTC', 'r')).toEqual({ t: 'fen', v: 123456789012345678n });
    expect(toCell('date', new Date('2026-03-01T16:00:00Z'), 'Asia/Shanghai', 'r')).toEqual({
      t: 'date',
      v: { year: 2026, month: 3, day: 2, hour: 0, minute: 0, second: 0 },
    });
    expect(toCell('text', null, 'UTC', 'r')).toEqual({ t: 'empty' });
  });
});
