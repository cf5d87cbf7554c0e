/**
 * Money and rates as the API carries them: integers (fen, basis points). Shown as yuan and
 * percent with two decimals by string arithmetic, so no float ever touches an amount.
 */
export function hundredths(value: number): string {
  if (!Number.isSafeInteger(value)) return String(value);
  const sign = value < 0 ? '-' : '';
  const abs = Math.abs(value);
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
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
