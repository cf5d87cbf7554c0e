import type { EventEmitter } from 'node:events';
import type { Writable } from 'node:stream';
import type ExcelJS from 'exceljs';
import type * as ExcelJSModule from 'exceljs';
import { lazy, requirePackage } from '../lazy.ts';

const excel = lazy(() => requirePackage('exceljs') as typeof ExcelJSModule);
import type { ExportSpec, Lang, RowSource } from './spec.ts';
import { plan, rowCells, Totals, TOTAL_LABEL, type Cell, type Plan } from './cells.ts';
import { bpToFraction, exactCellNumber, fenToYuan, formatDateTime, sheetName, wallClockAsUtc, xlsxText } from './format.ts';
import { destroyWith, Flow, progressReporter, yieldToEventLoop, type ExportResult, type WriteOptions } from './flow.ts';

type Worksheet = ExcelJS.Worksheet;
type CellValue = ExcelJS.CellValue;

export const XLSX_CONTENT_TYPE = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

const NUM_FMT = {
  fen: '#,##0.00',
  int: '#,##0',
  bp: '0.00%',
  datetime: 'yyyy-mm-dd hh:mm:ss',
  date: 'yyyy-mm-dd',
} as const;

const ABOUT: Record<
  Lang,
  { sheet: string; field: string; value: string; title: string; name: string; generatedAt: string; tz: string; rows: string; filters: string; none: string }
> = {
  zh: {
    sheet: '说明',
    field: '项目',
    value: '内容',
    title: '导出名称',
    name: '导出标识',
    generatedAt: '生成时间',
    tz: '时区',
    rows: '数据行数',
    filters: '筛选条件',
    none: '（无）',
  },
  en: {
    sheet: 'About',
    field: 'Field',
    value: 'Value',
    title: 'Export',
    name: 'Export id',
    generatedAt: 'Generated at',
    tz: 'Time zone',
    rows: 'Data rows',
    filters: 'Filters',
    none: '(none)',
  },
};

/**
 * One style object per kind of cell, shared by every cell: exceljs looks styles up by object
 * identity first (a WeakMap), and only renders and compares XML for a style it has not seen,
 * which per cell was most of the time of a large export.
 */
const STYLE: Record<'text' | 'textRight' | keyof typeof NUM_FMT, Partial<ExcelJS.Style>> = {
  text: {},
  textRight: { alignment: { horizontal: 'right' } },
  fen: { numFmt: NUM_FMT.fen },
  int: { numFmt: NUM_FMT.int },
  bp: { numFmt: NUM_FMT.bp },
  datetime: { numFmt: NUM_FMT.datetime },
  date: { numFmt: NUM_FMT.date },
};

function styleOf(cell: Cell, value: CellValue): Partial<ExcelJS.Style> {
  if (cell.t === 'text' || cell.t === 'empty') return STYLE.text;
  // An amount too large for an exact number cell is text, aligned like the numbers around it.
  if (typeof value === 'object' && value !== null && 'richText' in value) return STYLE.textRight;
  return STYLE[cell.t];
}

/** Text as an inline rich-text run: written with xml:space="preserve", so leading spaces survive. */
function text(value: string): CellValue {
  return { richText: [{ text: xlsxText(value) }] };
}

/** An integer scaled by 10^scale as an exact number cell, or as its exact text when too large. */
function scaled(n: bigint, scale: number, asText: (n: bigint) => string): CellValue {
  const num = exactCellNumber(n, scale);
  return num === null ? text(asText(n)) : num;
}

function cellValue(cell: Cell): CellValue {
  switch (cell.t) {
    case 'empty':
      return null;
    case 'text':
      return text(cell.v);
    case 'fen':
      return scaled(cell.v, 2, fenToYuan);
    case 'int':
      return scaled(cell.v, 0, (n) => n.toString());
    case 'bp':
      return scaled(cell.v, 4, bpToFraction);
    case 'datetime':
    case 'date':
      return wallClockAsUtc(cell.v);
    default: {
      const never: never = cell;
      return never;
    }
  }
}

function columnLetter(index: number): string {
  let n = index + 1;
  let s = '';
  while (n > 0) {
    const r = (n - 1) % 26;
    s = String.fromCharCode(65 + r) + s;
    n = Math.floor((n - 1) / 26);
  }
  return s;
}

/**
 * exceljs ignores backpressure in two places, so the writer watches both and waits:
 * - the PassThrough through which a worksheet's XML reaches the zip (exceljs StreamBuf →
 *   archiver): when deflate is slower than the rows, XML piles up there;
 * - archiver's own output buffer: when the destination stops reading (a slow client), archiver
 *   keeps compressing into it regardless.
 * These are internals of exceljs 4 / archiver 5 (`ws.stream.pipes[0]`, `wb.zip`); if they change,
 * the writer only yields to the event loop and waits for the destination's `drain`, and the
 * backpressure and memory tests in xlsx.test.ts say whether that still suffices.
 */
interface LegacyStream extends EventEmitter {
  _writableState?: { needDrain?: unknown; length?: unknown };
}
function zipEntryOf(ws: Worksheet): LegacyStream | undefined {
  const pipes = (ws as unknown as { stream?: { pipes?: unknown } }).stream?.pipes;
  const first = Array.isArray(pipes) ? (pipes[0] as LegacyStream | undefined) : undefined;
  return first && typeof first.once === 'function' && typeof first._writableState?.needDrain === 'boolean' ? first : undefined;
}
function zipOutputOf(wb: ExcelJS.stream.xlsx.WorkbookWriter): { readableLength: number } | undefined {
  const zip = (wb as unknown as { zip?: { readableLength?: unknown } }).zip;
  return zip && typeof zip.readableLength === 'number' ? (zip as { readableLength: number }) : undefined;
}

/**
 * XML (or compressed) bytes allowed to wait before the writer pauses. Waiting at every 64 KiB
 * chunk kept memory lowest but idled the writer at each hand-off; 1 MiB amortises that.
 */
const HIGH_WATER = 1024 * 1024;
/** Compressed bytes allowed to wait in archiver for the destination (about 1.5 MiB of XML). */
const ZIP_HIGH_WATER = 256 * 1024;

/** Rows between checks of those buffers. */
const CHECK_EVERY = 64;

/** Waits while the zip is behind the rows or the destination is behind the zip. */
async function keepUp(flow: Flow, out: Writable, entry: LegacyStream | undefined, zipOutput: { readableLength: number } | undefined): Promise<void> {
  if (entry && entry._writableState?.needDrain === true && Number(entry._writableState.length) > HIGH_WATER) await flow.wait(entry, 'drain');
  if (zipOutput) {
    while (zipOutput.readableLength > ZIP_HIGH_WATER) {
      // archiver is paused by its pipe exactly when the destination asked for a drain.
      if (out.writableNeedDrain) await flow.wait(out, 'drain');
      else await flow.race(yieldToEventLoop());
    }
  } else {
    await flow.race(yieldToEventLoop());
    if (out.writableNeedDrain) await flow.wait(out, 'drain');
  }
}

function aboutRows(p: Plan, lang: Lang, options: WriteOptions, generatedAt: Date, rows: number): [string, string | number][] {
  const a = ABOUT[lang];
  const out: [string, string | number][] = [
    [a.title, p.title],
    [a.name, p.name],
    [a.generatedAt, formatDateTime(generatedAt, options.tz)],
    [a.tz, options.tz],
    [a.rows, rows],
  ];
  const params = Object.entries(options.params ?? {}).filter(([, v]) => v !== undefined);
  out.push([a.filters, params.length ? '' : a.none]);
  for (const [k, v] of params) out.push([k, paramText(v, options.tz)]);
  return out;
}

function paramText(v: unknown, tz: string): string {
  if (v === null) return '';
  if (v instanceof Date) return formatDateTime(v, tz);
  if (Array.isArray(v)) return v.map((x) => paramText(x, tz)).join(', ');
  if (typeof v === 'object') return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x));
  return String(v);
}

/**
 * Streams an export as .xlsx into `out` (a file or an HTTP response) with constant memory:
 * rows are committed as they come and the writer waits while the zip is behind. The workbook
 * has the data sheet (header row in `lang`, frozen, with an autofilter, then the rows and a
 * totals row of integer sums) and an about sheet (export, filters, generated-at, row count).
 *
 * Amounts: see XLSX_EXACT_LIMIT in format.ts for what a number cell guarantees.
 * Datetimes: wall-clock time in `tz` to the second, as real date cells.
 * On failure or abort `out` is destroyed (never ended cleanly) and the error is thrown.
 */
export async function writeXlsx<Row>(spec: ExportSpec<Row>, rows: RowSource<Row>, out: Writable, options: WriteOptions): Promise<ExportResult> {
  const lang = options.lang ?? 'zh';
  const p = plan(spec, lang, options.tz);
  const generatedAt = options.generatedAt ?? new Date();
  const flow = new Flow(out, options.signal);
  const progress = progressReporter(options);
  const totals = new Totals(p.columns);
  let wb: ExcelJS.stream.xlsx.WorkbookWriter | undefined;
  let n = 0;
  try {
    flow.check();
    wb = new (excel().stream.xlsx.WorkbookWriter)({ stream: out, useStyles: true, useSharedStrings: false, zip: { zlib: { level: 6 } } });
    wb.creator = 'Fenxiao';
    wb.lastModifiedBy = 'Fenxiao';
    wb.created = generatedAt;
    wb.modified = generatedAt;
    const dataName = sheetName(p.title, 'Data');
    const ws = wb.addWorksheet(dataName, { views: [{ state: 'frozen', xSplit: 0, ySplit: 1, topLeftCell: 'A2', activeCell: 'A2' }] });
    // Widths only: a column style would be copied into a new object for every cell.
    ws.columns = p.columns.map((c) => ({ key: c.key, width: c.width }));
    const header = ws.addRow(p.columns.map((c) => text(c.header)));
    header.font = { bold: true };
    header.fill = { type: 'pattern', pattern: 'solid', fgColor: { argb: 'FFF2F2F2' } };
    header.alignment = { vertical: 'middle' };
    header.commit();

    const entry = zipEntryOf(ws);
    const zipOutput = zipOutputOf(wb);
    for await (const source of rows) {
      flow.check();
      const cells = rowCells(p.columns, source, n + 1, options.tz);
      totals.add(cells);
      const values = cells.map(cellValue);
      const row = ws.addRow(values);
      for (const [i, cell] of cells.entries()) {
        const value = values[i];
        if (value !== null) row.getCell(i + 1).style = styleOf(cell, value);
      }
      row.commit();
      n++;
      progress.row(n);
      if (n % CHECK_EVERY === 0) await keepUp(flow, out, entry, zipOutput);
    }
    flow.check();

    const last = columnLetter(p.columns.length - 1);
    if (p.hasTotals) {
      const values: CellValue[] = p.columns.map((c, i) => {
        if (c.summed) return c.type === 'fen' ? scaled(totals.get(c.key), 2, fenToYuan) : scaled(totals.get(c.key), 0, (x) => x.toString());
        return i === p.totalsLabelAt ? text(TOTAL_LABEL[lang]) : null;
      });
      const row = ws.addRow(values);
      p.columns.forEach((c, i) => {
        const v = values[i];
        if (v === null || v === undefined) return;
        const base = c.summed ? styleOf({ t: c.type === 'fen' ? 'fen' : 'int', v: 0n }, v) : STYLE.text;
        row.getCell(i + 1).style = { ...base, font: { bold: true }, border: { top: { style: 'thin' } } };
      });
      row.commit();
    }
    ws.autoFilter = `A1:${last}${n + 1}`;
    ws.commit();

    // The about sheet comes second and is added last: only now is the row count known, and
    // archiver zips entries in order, so the data sheet has streamed out already.
    const a = ABOUT[lang];
    const about = wb.addWorksheet(a.sheet === dataName ? `${a.sheet} (about)` : a.sheet);
    about.columns = [
      { key: 'field', width: 16 },
      { key: 'value', width: 48 },
    ];
    const aboutHeader = about.addRow([text(a.field), text(a.value)]);
    aboutHeader.font = { bold: true };
    aboutHeader.commit();
    for (const [k, v] of aboutRows(p, lang, options, generatedAt, n)) about.addRow([text(k), typeof v === 'number' ? v : text(v)]).commit();
    about.commit();

    await flow.race(wb.commit());
    progress.end(n);
    return { rows: n, totals: totals.toRecord() };
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    // Destroy first: aborting archiver would otherwise end `out` cleanly with half a zip.
    destroyWith(out, flow.failed ?? e);
    (wb as unknown as { zip?: { abort?: () => void } } | undefined)?.zip?.abort?.();
    throw flow.failed ?? e;
  } finally {
    flow.dispose();
  }
}
