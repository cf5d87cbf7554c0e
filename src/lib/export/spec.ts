/**
 * What an export is: a named table of typed columns with bilingual headers, optionally summed.
 * Business modules define one spec per export (statements, withdrawals, commission lines,
 * reconciliation) and hand the writers an AsyncIterable of rows read page by page.
 */

export type Lang = 'zh' | 'en';
export type ExportFormat = 'xlsx' | 'csv';

export const EXPORT_FORMATS: readonly ExportFormat[] = ['xlsx', 'csv'];
export const LANGS: readonly Lang[] = ['zh', 'en'];

export interface Bilingual {
  zh: string;
  en: string;
}

/**
 * - text: any string (or number/boolean shown as text)
 * - fen: an integer amount in fen (number, bigint or an integer string), shown as yuan with 2 decimals
 * - int: an integer count
 * - bp: basis points, shown as a percentage with 2 decimals (1234 → 12.34%)
 * - datetime: an instant (Date or ISO string), shown as wall-clock time in the export's time zone
 * - date: a calendar date ('YYYY-MM-DD', taken as is) or an instant (its date in the time zone)
 */
export type ColumnType = 'text' | 'fen' | 'int' | 'bp' | 'datetime' | 'date';

type Present<V> = Exclude<V, null | undefined>;

/** The column types a field of type V may be exported as; a mismatch is a compile error. */
export type ColumnTypeFor<V> = unknown extends V
  ? ColumnType
  : | ([Present<V>] extends [Date | string] ? 'date' | 'datetime' : never)
    | ([Present<V>] extends [number | bigint | string] ? 'fen' | 'int' | 'bp' : never)
    | ([Present<V>] extends [string | number | bigint | boolean] ? 'text' : never);

export type ExportColumn<Row> = {
  [K in keyof Row & string]: {
    key: K;
    header: Bilingual;
    type: ColumnTypeFor<Row[K]>;
    /** Column width in characters (xlsx only); a default per type otherwise. */
    width?: number;
  };
}[keyof Row & string];

/** Keys of the columns a totals row may sum: fen and int. */
export interface ExportSpec<Row> {
  /** A machine name, used in logs and the about sheet: `withdrawals`, `commission-lines`. */
  name: string;
  /** The data sheet's title (also the about sheet's export name). */
  title: Bilingual;
  columns: readonly ExportColumn<Row>[];
  /** Columns (fen or int) summed into a totals row after the data, with integer arithmetic. */
  totals?: readonly (keyof Row & string)[];
}

/** Anything a writer can pull rows from: a database pager, a generator, an array. */
export type RowSource<Row> = AsyncIterable<Row> | Iterable<Row>;

/** A programming mistake in a spec: thrown when the spec is defined, never per request. */
export class ExportSpecError extends Error {
  override name = 'ExportSpecError';
}

const NAME = /^[a-z0-9][a-z0-9_.-]{0,63}$/;

/** Checks a spec once (call it at module load): names, duplicate keys, what totals may sum. */
export function defineExport<Row>(spec: ExportSpec<Row>): ExportSpec<Row> {
  validateSpec(spec);
  return spec;
}

export function validateSpec<Row>(spec: ExportSpec<Row>): void {
  if (!NAME.test(spec.name)) throw new ExportSpecError(`export name "${spec.name}" must match ${NAME}`);
  if (!spec.title.zh.trim() || !spec.title.en.trim()) throw new ExportSpecError(`export ${spec.name}: the title needs zh and en`);
  if (spec.columns.length === 0) throw new ExportSpecError(`export ${spec.name}: no columns`);
  if (spec.columns.length > 200) throw new ExportSpecError(`export ${spec.name}: more than 200 columns`);
  const seen = new Set<string>();
  for (const c of spec.columns) {
    if (seen.has(c.key)) throw new ExportSpecError(`export ${spec.name}: column "${c.key}" appears twice`);
    seen.add(c.key);
    if (!c.header.zh.trim() || !c.header.en.trim()) throw new ExportSpecError(`export ${spec.name}: column "${c.key}" needs a zh and an en header`);
    if (c.width !== undefined && !(Number.isFinite(c.width) && c.width >= 1 && c.width <= 255))
      throw new ExportSpecError(`export ${spec.name}: column "${c.key}" width must be 1..255`);
  }
  for (const key of spec.totals ?? []) {
    const c = spec.columns.find((col) => col.key === key);
    if (!c) throw new ExportSpecError(`export ${spec.name}: totals name "${key}", which is not a column`);
    if (c.type !== 'fen' && c.type !== 'int') throw new ExportSpecError(`export ${spec.name}: totals may sum fen or int columns, "${key}" is ${c.type}`);
  }
}

export function isExportFormat(value: unknown): value is ExportFormat {
  return value === 'xlsx' || value === 'csv';
}

export function isLang(value: unknown): value is Lang {
  return value === 'zh' || value === 'en';
}
