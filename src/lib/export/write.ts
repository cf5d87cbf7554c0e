import type { Writable } from 'node:stream';
import type { ExportFormat, ExportSpec, RowSource } from './spec.ts';
import type { ExportResult, WriteOptions } from './flow.ts';
import { writeXlsx, XLSX_CONTENT_TYPE } from './xlsx.ts';
import { writeCsv, CSV_CONTENT_TYPE } from './csv.ts';

/** Writes an export in either format into `out`; see writeXlsx and writeCsv. */
export function writeExport<Row>(
  format: ExportFormat,
  spec: ExportSpec<Row>,
  rows: RowSource<Row>,
  out: Writable,
  options: WriteOptions,
): Promise<ExportResult> {
  switch (format) {
    case 'xlsx':
      return writeXlsx(spec, rows, out, options);
    case 'csv':
      return writeCsv(spec, rows, out, options);
    default: {
      const never: never = format;
      return never;
    }
  }
}

export function contentTypeOf(format: ExportFormat): string {
  return format === 'xlsx' ? XLSX_CONTENT_TYPE : CSV_CONTENT_TYPE;
}
