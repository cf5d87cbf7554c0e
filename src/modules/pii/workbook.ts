import type ExcelJS from 'exceljs';
import type * as ExcelJSModule from 'exceljs';
import { lazy, requirePackage } from '../../lib/lazy.ts';

const excel = lazy(() => requirePackage('exceljs') as typeof ExcelJSModule);
import { plan, rowCells, type Cell } from '../../lib/export/cells.ts';
import { exactCellNumber, fenToYuan, sheetName, wallClockAsUtc, xlsxText } from '../../lib/export/format.ts';
import type { ExportSpec, Lang } from '../../lib/export/spec.ts';

/**
 * One .xlsx workbook of several sheets, each an export spec of src/lib/export (so columns,
 * bilingual headers, types and cell conversion are the export machinery's), for exports small
 * enough to build in memory: one person's personal data. writeXlsx streams one spec per
 * workbook; a personal-data export needs a sheet per section instead.
 */
export interface WorkbookSheet<Row> {
  spec: ExportSpec<Row>;
  rows: readonly Row[];
}

// `any` at this boundary only: each sheet is checked against its own spec where it is built.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnySheet = WorkbookSheet<any>;

const NUM_FMT = { fen: '#,##0.00', int: '#,##0', bp: '0.00%', datetime: 'yyyy-mm-dd hh:mm:ss', date: 'yyyy-mm-dd' } as const;

function value(cell: Cell): ExcelJS.CellValue {
  switch (cell.t) {
    case 'empty':
      return null;
    case 'text':
      return xlsxText(cell.v);
    case 'fen':
      return exactCellNumber(cell.v, 2) ?? fenToYuan(cell.v);
    case 'int':
      return exactCellNumber(cell.v, 0) ?? cell.v.toString();
    case 'bp':
      return exactCellNumber(cell.v, 4) ?? cell.v.toString();
    case 'datetime':
    case 'date':
      return wallClockAsUtc(cell.v);
    default: {
      const never: never = cell;
      return never;
    }
  }
}

export async function buildWorkbook(sheets: readonly AnySheet[], options: { lang: Lang; tz: string; generatedAt: Date }): Promise<Buffer> {
  const wb = new (excel().Workbook)();
  wb.creator = 'Fenxiao';
  wb.created = options.generatedAt;
  wb.modified = options.generatedAt;
  const used = new Set<string>();
  for (const sheet of sheets) {
    const p = plan(sheet.spec, options.lang, options.tz);
    let name = sheetName(p.title, p.name);
    for (let i = 2; used.has(name); i++) name = sheetName(`${p.title} ${i}`, `${p.name}-${i}`);
    used.add(name);
    const ws = wb.addWorksheet(name, { views: [{ state: 'frozen', ySplit: 1 }] });
    ws.columns = p.columns.map((c) => ({ key: c.key, width: c.width }));
    const header = ws.addRow(p.columns.map((c) => c.header));
    header.font = { bold: true };
    sheet.rows.forEach((r, i) => {
      const cells = rowCells(p.columns, r, i + 1, options.tz);
      const row = ws.addRow(cells.map(value));
      cells.forEach((c, j) => {
        if (c.t !== 'empty' && c.t !== 'text') row.getCell(j + 1).numFmt = NUM_FMT[c.t];
      });
    });
  }
  return Buffer.from(await wb.xlsx.writeBuffer());
}
