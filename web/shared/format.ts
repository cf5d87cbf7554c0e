import { fenToYuan as yuanText } from '../../src/core/money.ts';

/**
 * Money and rates as the API carries them: integers (fen, basis points). Shown as yuan and
 * percent with two decimals by string arithmetic, so no float ever touches an amount.
 */
export function hundredths(value: number): string {
  return Number.isSafeInteger(value) ? yuanText(value) : String(value);
}

/** "12.5" → 1250; null for anything that is not a plain non-negative decimal with ≤ 2 places. */
export function parseHundredths(text: string): number | null {
  const m = /^\s*(\d{1,13})(?:\.(\d{0,2}))?\s*$/.exec(text);
  if (!m) return null;
  const whole = Number(m[1]);
  const frac = Number((m[2] ?? '').padEnd(2, '0'));
  const value = whole * 100 + frac;
  return Number.isSafeInteger(value) ? value : null;
}

export const fenToYuan = hundredths;
export const bpToPercent = hundredths;

export function formatTime(iso: string | null | undefined, lang: string): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString(lang === 'en' ? 'en-GB' : 'zh-CN', { year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' });
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

/** Fen as yuan with a currency sign and thousands separators: -4000 → "-¥40.00". */
export function formatYuan(fen: number): string {
  if (!Number.isSafeInteger(fen)) return String(fen);
  const sign = fen < 0 ? '-' : '';
  const [whole = '0', frac = '00'] = hundredths(Math.abs(fen)).split('.');
  return `${sign}¥${whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',')}.${frac}`;
}

/** Basis points as a percent: 1050 → "10.50%". */
export function formatBp(bp: number): string {
  return `${hundredths(bp)}%`;
}

/**
 * The withdrawal fee as the server computes it (withdrawalFee in
 * src/modules/withdrawals/service.ts): min(amount, floor(amount × fee_bp / 10000) + fixed), in
 * BigInt so a large amount times a rate never leaves the safe integers.
 */
export function withdrawalFee(amountFen: number, feeBp: number, fixedFeeFen: number): number {
  const pct = Number((BigInt(amountFen) * BigInt(feeBp)) / 10000n);
  return Math.min(amountFen, pct + fixedFeeFen);
}

/** A value for <input type="datetime-local"> (local wall clock, minutes). */
export function toLocalInput(d: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** An <input type="datetime-local"> or "date" value as an ISO instant; null when empty or invalid. */
export function fromLocalInput(value: string, endOfDay = false): string | null {
  if (!value) return null;
  const text = /^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T${endOfDay ? '23:59:59.999' : '00:00:00'}` : value;
  const d = new Date(text);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

/** A fresh key for one form submission (Idempotency-Key): 128 random bits, hex. */
export function newIdempotencyKey(prefix = 'fx'): string {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return `${prefix}-${[...bytes].map((b) => b.toString(16).padStart(2, '0')).join('')}`;
}

/** `day` (YYYY-MM-DD) moved by `delta` days, by the calendar, with no time zone in the way. */
export function shiftDay(day: string, delta: number): string {
  const [y, m, d] = day.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(y, m - 1, d + delta)).toISOString().slice(0, 10);
}
