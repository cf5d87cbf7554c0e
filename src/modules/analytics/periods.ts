/**
 * Calendar arithmetic for analytics, on local dates written YYYY-MM-DD (the tenant's days), with
 * no I/O. Dates are handled as UTC midnights so no host time zone or DST can shift a day.
 */

import { addCalendarDays as addDays } from '../../core/time.ts';

export type Interval = 'day' | 'week' | 'month';

const DAY_MS = 86_400_000;
const ISO_DAY = /^(\d{4})-(\d{2})-(\d{2})$/;

/** A real calendar date YYYY-MM-DD, or null. */
export function parseDay(text: string): string | null {
  const m = ISO_DAY.exec(text);
  if (!m) return null;
  const t = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  const back = new Date(t).toISOString().slice(0, 10);
  return back === text ? text : null;
}

const toMs = (day: string) => Date.parse(`${day}T00:00:00Z`);
const fromMs = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** Calendar days added to a local date: the kernel's. */
export { addDays };

/** Days from `a` to `b` (b − a). */
export function daysBetween(a: string, b: string): number {
  return Math.round((toMs(b) - toMs(a)) / DAY_MS);
}

export function monthOf(day: string): string {
  return `${day.slice(0, 7)}-01`;
}

export function addMonths(month: string, n: number): string {
  const d = new Date(toMs(month));
  return fromMs(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + n, 1));
}

/** The last day of the month `month` (YYYY-MM-01) starts. */
export function monthEnd(month: string): string {
  return addDays(addMonths(month, 1), -1);
}

/** The Monday of `day`'s ISO week. */
export function weekOf(day: string): string {
  const dow = (new Date(toMs(day)).getUTCDay() + 6) % 7;
  return addDays(day, -dow);
}

export function periodOf(day: string, interval: Interval): string {
  switch (interval) {
    case 'day':
      return day;
    case 'week':
      return weekOf(day);
    case 'month':
      return monthOf(day);
    default: {
      const never: never = interval;
      throw new Error(`unknown interval ${String(never)}`);
    }
  }
}

/** Every period label from the one holding `from` to the one holding `to`, in order. */
export function periodsBetween(from: string, to: string, interval: Interval): string[] {
  const out: string[] = [];
  let p = periodOf(from, interval);
  const last = periodOf(to, interval);
  while (p <= last) {
    out.push(p);
    p = interval === 'day' ? addDays(p, 1) : interval === 'week' ? addDays(p, 7) : addMonths(p, 1);
  }
  return out;
}

/**
 * [from, to] (inclusive) as the whole months inside it plus the days left over at its ends, so a
 * sum over the range reads monthly rows where it can and daily rows only for part-months.
 */
export function splitRange(from: string, to: string): { months: string[]; days: string[] } {
  if (from > to) return { months: [], days: [] };
  const months: string[] = [];
  const days: string[] = [];
  let m = monthOf(from);
  while (m <= to) {
    const end = monthEnd(m);
    const lo = m < from ? from : m;
    const hi = end > to ? to : end;
    if (lo === m && hi === end) {
      months.push(m);
    } else {
      for (let d = lo; d <= hi; d = addDays(d, 1)) days.push(d);
    }
    m = addMonths(m, 1);
  }
  return { months, days };
}

/** A range as splitRange cuts it, with the whole months as one span and the loose days as runs. */
export interface RangeParts {
  months: string[];
  days: string[];
  monthSpan: [string, string] | null;
  dayRuns: [string, string][];
}

export function rangeParts(from: string, to: string): RangeParts {
  const { months, days } = splitRange(from, to);
  const dayRuns: [string, string][] = [];
  for (const d of days) {
    const last = dayRuns[dayRuns.length - 1];
    if (last && addDays(last[1], 1) === d) last[1] = d;
    else dayRuns.push([d, d]);
  }
  const [first, last] = [months[0], months[months.length - 1]];
  return { months, days, monthSpan: first !== undefined && last !== undefined ? [first, last] : null, dayRuns };
}

/** The instant a local day starts: the kernel's, here too for the callers of periods. */
export { startOfLocalDay } from '../../core/time.ts';

/** count × 10000 / base, floored: a rate in basis points; null when there is no base. */
export function rateBp(count: number, base: number): number | null {
  if (base <= 0) return null;
  return Math.floor((count * 10000) / base);
}

/** GB/T 2260 code at city level (first four digits + 00), or '' when it is not a 6-digit code. */
export function cityOf(regionCode: string | null | undefined): string {
  return regionCode && /^\d{6}$/.test(regionCode) ? `${regionCode.slice(0, 4)}00` : '';
}

export function provinceOf(cityCode: string): string {
  return cityCode ? `${cityCode.slice(0, 2)}0000` : '';
}
