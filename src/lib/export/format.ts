import { fenToYuan as yuanText } from '../../core/money.ts';

/**
 * Pure formatting for exports: amounts, rates, wall-clock times, CSV fields, file names.
 * Amounts never pass through floating point on the way to text: fen are BigInt, divided by
 * 100 with integer division and remainder.
 */

/**
 * The largest magnitude written to an .xlsx as a number cell: 15 significant digits.
 *
 * Excel and LibreOffice keep numbers as IEEE-754 doubles and show at most 15 significant
 * digits. Any decimal of at most 15 significant digits survives decimal → nearest double →
 * decimal at 15 digits unchanged (DBL_DIG = 15), so every amount with |fen| ≤ 999 999 999 999 999
 * (just under 10 trillion yuan) reads back as exactly its 2-decimal yuan text. Beyond that a
 * double cannot promise it (from 2^46 yuan on, neighbouring doubles are more than a fen apart),
 * so larger values are written as text cells carrying the exact decimal instead of a wrong number.
 */
export const XLSX_EXACT_LIMIT = 999_999_999_999_999n;

/** Excel refuses longer cell text. */
export const XLSX_MAX_TEXT = 32_767;

export class ExportDataError extends Error {
  override name = 'ExportDataError';
}

const INTEGER_TEXT = /^-?\d{1,40}$/;

/** An integer from a row value: a safe-integer number, a bigint, or an integer string (a SQL sum). */
export function toBigInt(value: unknown, where: string): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new ExportDataError(`${where}: ${value} is not a safe integer`);
    return BigInt(value);
  }
  if (typeof value === 'string' && INTEGER_TEXT.test(value)) return BigInt(value);
  throw new ExportDataError(`${where}: expected an integer, got ${describe(value)}`);
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (value instanceof Date) return `Date(${Number.isNaN(value.getTime()) ? 'invalid' : value.toISOString()})`;
  return typeof value;
}

function abs(n: bigint): bigint {
  return n < 0n ? -n : n;
}

/** A fixed-point decimal of `n / 10^scale` with exactly `scale` decimals: (-12345, 2) → "-123.45". */
export function fixedPoint(n: bigint, scale: number): string {
  const a = abs(n);
  const unit = 10n ** BigInt(scale);
  const int = (a / unit).toString();
  const frac = scale > 0 ? `.${(a % unit).toString().padStart(scale, '0')}` : '';
  return `${n < 0n ? '-' : ''}${int}${frac}`;
}

/** Yuan with two decimals from fen: 1 → "0.01", -12345 → "-123.45", 0 → "0.00". */
export function fenToYuan(fen: number | bigint): string {
  return yuanText(typeof fen === 'bigint' ? fen : toBigInt(fen, 'fen'));
}

/** Basis points as a percentage text with two decimals: 1234 → "12.34%". */
export function bpToPercent(bp: number | bigint): string {
  return `${fixedPoint(typeof bp === 'bigint' ? bp : toBigInt(bp, 'bp'), 2)}%`;
}

/** Basis points as the fraction a percentage-formatted cell holds: 1234 → "0.1234". */
export function bpToFraction(bp: number | bigint): string {
  return fixedPoint(typeof bp === 'bigint' ? bp : toBigInt(bp, 'bp'), 4);
}

/**
 * The number an .xlsx cell holds for `n / 10^scale`, or null when it is beyond what a double
 * shows exactly (see XLSX_EXACT_LIMIT). The value is parsed from the exact decimal text, which
 * gives the double nearest the true decimal (for |n| ≤ 2^53 IEEE division `n / 100` happens to give
 * the same double, being correctly rounded too; parsing the text states the intent).
 */
export function exactCellNumber(n: bigint, scale: number): number | null {
  if (abs(n) > XLSX_EXACT_LIMIT) return null;
  return Number(fixedPoint(n, scale));
}

export {
  wallClock,
  wallClockAsUtc,
  wallClockByIntl,
  formatWallDate,
  formatWallDateTime,
  localDateTime as formatDateTime,
  type WallClock,
} from '../../core/time.ts';

/**
 * What a spreadsheet reads as the start of a formula when it opens a CSV: a formula sign, after
 * any blanks it skips first (spaces, the no-break and ideographic spaces, line feeds, zero-width
 * and direction marks), where the full-width signs a Chinese input method types (＝ ＋ － ＠)
 * count as signs too; or a cell that begins with a tab or a line break at all.
 */
const FORMULA_START = /^[\s\u200b-\u200f\u202a-\u202e\u2060-\u2069]*[=+\-@\uff1d\uff0b\uff0d\uff20]|^[\t\r\n]/;

/**
 * Formula-injection guard for CSV text cells (OWASP "CSV injection"): a text a spreadsheet would
 * evaluate (see FORMULA_START) gets a leading apostrophe, so Excel and LibreOffice show it as text
 * instead of evaluating `=HYPERLINK(…)` or `@SUM(…)` typed by a distributor into a name. The blank
 * and full-width forms matter: ` =1+2` and `＝1+2` both open as live formulas.
 */
export function guardFormula(text: string): string {
  return FORMULA_START.test(text) ? `'${text}` : text;
}

/** One RFC 4180 field: quoted when it holds a quote, comma, CR or LF; quotes doubled. */
export function csvField(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

// Characters XML 1.0 forbids (exceljs would drop them silently), DEL (exceljs drops it too),
// and UTF-16 halves without their other half (they would become U+FFFD in UTF-8).
// eslint-disable-next-line no-control-regex
const XML_INVALID = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F\uFFFE\uFFFF]/g;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * Text as an .xlsx cell will hold it: characters XML cannot carry removed, lone surrogates as
 * U+FFFD, CR LF and CR as LF (XML normalises line ends anyway), cut at Excel's 32 767 limit
 * without splitting a surrogate pair. Everything else, leading spaces and `=` included, is kept:
 * an .xlsx text cell is never evaluated.
 */
export function xlsxText(text: string): string {
  let t = text.replace(/\r\n?/g, '\n').replace(XML_INVALID, '').replace(LONE_SURROGATE, '\uFFFD');
  if (t.length > XLSX_MAX_TEXT) {
    const cut = /[\uD800-\uDBFF]/.test(t[XLSX_MAX_TEXT - 1] ?? '') ? XLSX_MAX_TEXT - 1 : XLSX_MAX_TEXT;
    t = t.slice(0, cut);
  }
  return t;
}

/** A worksheet name Excel accepts: no []:*?/\, at most 31 characters, not empty. */
export function sheetName(title: string, fallback: string): string {
  const cleaned = title
    .replace(/[[\]:*?/\\]/g, ' ')
    .replace(/^'+|'+$/g, '')
    .trim();
  const chars = Array.from(cleaned || fallback);
  return chars.slice(0, 31).join('');
}

/**
 * Content-Disposition for a download: an ASCII fallback `filename` for old clients and the real
 * UTF-8 name in `filename*` (RFC 6266 with RFC 5987 encoding), so 提现台账.xlsx arrives intact.
 */
export function contentDisposition(filename: string): string {
  const name = safeFilename(filename);
  const ascii = name.replace(/[^\x20-\x7E]/g, '_').replace(/["\\]/g, '_');
  const encoded = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}

/** A file name without path separators, control characters or a leading dot. */
export function safeFilename(filename: string): string {
  const cleaned = filename
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u001F\u007F/\\]/g, '_')
    .replace(/^[.\s]+/, '')
    .trim();
  return Array.from(cleaned || 'export')
    .slice(0, 150)
    .join('');
}

/** The file name with the format's extension, added when missing. */
export function withExtension(filename: string, format: 'xlsx' | 'csv'): string {
  const name = safeFilename(filename);
  return name.toLowerCase().endsWith(`.${format}`) ? name : `${name}.${format}`;
}
