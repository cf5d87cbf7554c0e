import type { Writable } from 'node:stream';
import type { ExportSpec, RowSource } from './spec.ts';
import { plan, rowCells, Totals, TOTAL_LABEL, type Cell } from './cells.ts';
import { bpToPercent, csvField, fenToYuan, formatWallDate, formatWallDateTime, guardFormula } from './format.ts';
import { destroyWith, Flow, progressReporter, type ExportResult, type WriteOptions } from './flow.ts';

export const CSV_CONTENT_TYPE = 'text/csv; charset=utf-8';

const BOM = '\uFEFF';
const CRLF = '\r\n';
/** Characters gathered before a write: large enough to be cheap, small enough to stay flat. */
const CHUNK = 64 * 1024;

/**
 * One cell as CSV text. Amounts are plain yuan decimals from integer fen ("-123.45"), rates
 * percentages ("12.34%"), times wall-clock in the zone; only text cells get the formula guard
 * (a negative amount is a number, and spreadsheets read it as one).
 */
export function csvCell(cell: Cell): string {
  switch (cell.t) {
    case 'empty':
      return '';
    case 'text':
      return csvField(guardFormula(cell.v));
    case 'fen':
      return fenToYuan(cell.v);
    case 'int':
      return cell.v.toString();
    case 'bp':
      return bpToPercent(cell.v);
    case 'datetime':
      return formatWallDateTime(cell.v);
    case 'date':
      return formatWallDate(cell.v);
    default: {
      const never: never = cell;
      return never;
    }
  }
}

/**
 * Streams an export as CSV into `out`: UTF-8 with a BOM (so Excel reads Chinese as UTF-8),
 * RFC 4180 quoting, CRLF line ends, the header row in `lang`, then the rows and a totals row.
 * Writes wait for `drain`, so a slow consumer slows the row source down instead of filling memory.
 * On failure or abort `out` is destroyed (never ended cleanly) and the error is thrown.
 */
export async function writeCsv<Row>(spec: ExportSpec<Row>, rows: RowSource<Row>, out: Writable, options: WriteOptions): Promise<ExportResult> {
  const lang = options.lang ?? 'zh';
  const p = plan(spec, lang, options.tz);
  const flow = new Flow(out, options.signal);
  const progress = progressReporter(options);
  const totals = new Totals(p.columns);
  let n = 0;
  let buf = BOM + p.columns.map((c) => csvField(guardFormula(c.header))).join(',') + CRLF;
  const flush = async () => {
    if (!buf) return;
    const chunk = buf;
    buf = '';
    flow.check();
    if (!out.write(chunk, 'utf8')) await flow.wait(out, 'drain');
  };
  try {
    flow.check();
    for await (const row of rows) {
      flow.check();
      const cells = rowCells(p.columns, row, n + 1, options.tz);
      totals.add(cells);
      buf += cells.map(csvCell).join(',') + CRLF;
      n++;
      progress.row(n);
      if (buf.length >= CHUNK) await flush();
    }
    if (p.hasTotals) {
      buf +=
        p.columns
          .map((c, i) => {
            if (c.summed) return c.type === 'fen' ? fenToYuan(totals.get(c.key)) : totals.get(c.key).toString();
            return i === p.totalsLabelAt ? TOTAL_LABEL[lang] : '';
          })
          .join(',') + CRLF;
    }
    await flush();
    flow.check();
    const finished = flow.wait(out, 'finish');
    out.end();
    await finished;
    progress.end(n);
    return { rows: n, totals: totals.toRecord() };
  } catch (err) {
    const e = flow.failed ?? (err instanceof Error ? err : new Error(String(err)));
    destroyWith(out, e);
    throw e;
  } finally {
    flow.dispose();
  }
}
