import type { ColumnType, ExportSpec, Lang } from './spec.ts';
import { validateSpec } from './spec.ts';
import { ExportDataError, toBigInt, wallClock, type WallClock } from './format.ts';
import { isValidTimeZone } from '../../core/time.ts';

/** A row value checked against its column type, ready for either writer. */
export type Cell = { t: 'empty' } | { t: 'text'; v: string } | { t: 'fen' | 'int' | 'bp'; v: bigint } | { t: 'datetime' | 'date'; v: WallClock };

export const EMPTY: Cell = { t: 'empty' };

const DATE_TEXT = /^(\d{4})-(\d{2})-(\d{2})$/;

function instant(value: unknown, where: string): Date {
  const d = value instanceof Date ? value : typeof value === 'string' ? new Date(value) : null;
  if (!d || Number.isNaN(d.getTime()))
    throw new ExportDataError(`${where}: expected a date-time, got ${typeof value === 'string' ? JSON.stringify(value.slice(0, 40)) : typeof value}`);
  return d;
}

/** Checks one value against its column's type; a wrong value is a bug in the caller's query. */
export function toCell(type: ColumnType, value: unknown, timeZone: string, where: string): Cell {
  if (value === null || value === undefined) return EMPTY;
  switch (type) {
    case 'text':
      if (typeof value === 'string') return { t: 'text', v: value };
      if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return { t: 'text', v: String(value) };
      throw new ExportDataError(`${where}: expected text, got ${typeof value}`);
    case 'fen':
    case 'int':
    case 'bp':
      return { t: type, v: toBigInt(value, where) };
    case 'datetime':
      return { t: 'datetime', v: wallClock(instant(value, where), timeZone) };
    case 'date': {
      if (typeof value === 'string') {
        const m = DATE_TEXT.exec(value);
        if (m) {
          const w: WallClock = { year: Number(m[1]), month: Number(m[2]), day: Number(m[3]), hour: 0, minute: 0, second: 0 };
          if (w.month >= 1 && w.month <= 12 && w.day >= 1 && w.day <= 31) return { t: 'date', v: w };
        }
        throw new ExportDataError(`${where}: expected a date YYYY-MM-DD, got ${JSON.stringify(value.slice(0, 40))}`);
      }
      const w = wallClock(instant(value, where), timeZone);
      return { t: 'date', v: { ...w, hour: 0, minute: 0, second: 0 } };
    }
    default: {
      const never: never = type;
      return never;
    }
  }
}

export interface PlannedColumn {
  key: string;
  type: ColumnType;
  header: string;
  width: number;
  summed: boolean;
}

const DEFAULT_WIDTH: Record<ColumnType, number> = { text: 20, fen: 16, int: 10, bp: 10, datetime: 20, date: 12 };

export interface Plan {
  name: string;
  title: string;
  columns: PlannedColumn[];
  /** Index of the column that carries the totals row's label, or -1 when every column is summed. */
  totalsLabelAt: number;
  hasTotals: boolean;
}

/** The spec resolved for one language; the options are checked here, before a byte is written. */
export function plan<Row>(spec: ExportSpec<Row>, lang: Lang, timeZone: string): Plan {
  validateSpec(spec);
  if (lang !== 'zh' && lang !== 'en') throw new ExportDataError(`language must be zh or en, got ${String(lang)}`);
  if (!isValidTimeZone(timeZone)) throw new ExportDataError(`unknown time zone ${JSON.stringify(timeZone)}`);
  const totals = new Set<string>(spec.totals ?? []);
  const columns = spec.columns.map((c): PlannedColumn => {
    const header = c.header[lang];
    return {
      key: c.key,
      type: c.type,
      header,
      summed: totals.has(c.key),
      width: c.width ?? Math.max(DEFAULT_WIDTH[c.type], Math.min(60, displayWidth(header) + 2)),
    };
  });
  return {
    name: spec.name,
    title: spec.title[lang],
    columns,
    hasTotals: totals.size > 0,
    totalsLabelAt: columns.findIndex((c) => !c.summed),
  };
}

/** Columns a CJK character takes about two of. */
function displayWidth(text: string): number {
  let w = 0;
  for (const ch of text) w += /[\u1100-\uFFDC]/.test(ch) ? 2 : 1;
  return w;
}

/** Integer sums of the summed columns, in BigInt so no total ever rounds. */
export class Totals {
  private readonly sums = new Map<string, bigint>();
  constructor(private readonly columns: readonly PlannedColumn[]) {
    for (const c of columns) if (c.summed) this.sums.set(c.key, 0n);
  }
  add(cells: readonly Cell[]): void {
    for (const [i, c] of this.columns.entries()) {
      if (!c.summed) continue;
      const cell = cells[i];
      if (cell === undefined) throw new Error(`export totals: the row has no cell for column ${c.key}`);
      if (cell.t === 'fen' || cell.t === 'int') this.sums.set(c.key, (this.sums.get(c.key) ?? 0n) + cell.v);
    }
  }
  get(key: string): bigint {
    return this.sums.get(key) ?? 0n;
  }
  toRecord(): Record<string, bigint> {
    return Object.fromEntries(this.sums);
  }
}

export function rowCells(columns: readonly PlannedColumn[], row: unknown, rowNumber: number, timeZone: string): Cell[] {
  if (row === null || typeof row !== 'object') throw new ExportDataError(`row ${rowNumber}: expected an object, got ${row === null ? 'null' : typeof row}`);
  const r = row as Record<string, unknown>;
  return columns.map((c) => toCell(c.type, r[c.key], timeZone, `row ${rowNumber}, column ${c.key}`));
}

export const TOTAL_LABEL: Record<Lang, string> = { zh: '合计', en: 'Total' };
