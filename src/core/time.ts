/**
 * Local time in a tenant's IANA time zone: the one place that turns instants into local dates,
 * months and wall clocks, and local dates and times back into instants. Settlement cycles,
 * analytics and export periods, daily caps and monthly sales all cut time here, so a boundary
 * means the same instant everywhere.
 */

export const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

/** A wall-clock reading in a time zone, to the second; month and day from 1. */
export interface WallClock {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

/** A local date and time to find the instant of: the time fields default to 00:00:00. */
export interface LocalTime {
  year: number;
  month: number;
  day: number;
  hour?: number;
  minute?: number;
  second?: number;
}

/** A local day or month of a time zone: its text and the instants [start, end) it covers. */
export interface LocalSpan {
  /** YYYY-MM-DD: the day, or for a month its first day (how months are stored). */
  date: string;
  start: Date;
  end: Date;
}

const dateFormatters = new Map<string, Intl.DateTimeFormat>();

/** The calendar date of `at` in an IANA time zone, as YYYY-MM-DD (days for caps and reports). */
export function localDate(at: Date, timeZone: string): string {
  let f = dateFormatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' });
    dateFormatters.set(timeZone, f);
  }
  return f.format(at);
}

/** The first day of `at`'s month in the zone, YYYY-MM-01 (months for tiers and sales). */
export function localMonth(at: Date, timeZone: string): string {
  return localDate(at, timeZone).slice(0, 8) + '01';
}

export function addDays(at: Date, days: number): Date {
  return new Date(at.getTime() + days * DAY_MS);
}

export function isValidTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-CA', { timeZone });
    return true;
  } catch {
    return false;
  }
}

const wallFormatters = new Map<string, Intl.DateTimeFormat>();

function wallFormatter(timeZone: string): Intl.DateTimeFormat {
  let f = wallFormatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    wallFormatters.set(timeZone, f);
  }
  return f;
}

/** The wall clock of `at` in the zone, asked of Intl every time (slow: tens of µs). */
export function wallClockByIntl(at: Date, timeZone: string): WallClock {
  const out: WallClock = { year: 0, month: 0, day: 0, hour: 0, minute: 0, second: 0 };
  for (const p of wallFormatter(timeZone).formatToParts(at)) {
    switch (p.type) {
      case 'year':
        out.year = Number(p.value);
        break;
      case 'month':
        out.month = Number(p.value);
        break;
      case 'day':
        out.day = Number(p.value);
        break;
      case 'hour':
        out.hour = Number(p.value);
        break;
      case 'minute':
        out.minute = Number(p.value);
        break;
      case 'second':
        out.second = Number(p.value);
        break;
      default:
        break;
    }
  }
  return out;
}

/**
 * A Date whose UTC fields are the wall-clock reading: what an .xlsx date cell must hold, since
 * spreadsheet dates carry no zone (exceljs turns a Date into a serial from its UTC time).
 */
export function wallClockAsUtc(w: WallClock): Date {
  const d = new Date(Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second));
  // Date.UTC maps years 0–99 to 1900–1999.
  if (w.year < 100) d.setUTCFullYear(w.year);
  return d;
}

/** How far the wall clock in `timeZone` is ahead of UTC at instant `ms` (whole seconds), in ms. */
export function zoneOffset(ms: number, timeZone: string): number {
  return wallClockAsUtc(wallClockByIntl(new Date(ms), timeZone)).getTime() - Math.floor(ms / 1000) * 1000;
}

/** Per zone: hour bucket → the zone's UTC offset (ms) throughout that hour, or NaN if it changes in it. */
const offsets = new Map<string, Map<number, number>>();

/**
 * The wall-clock reading of an instant in an IANA time zone, to the second. Intl is slow
 * (tens of µs a call, the largest cost of a big export), so the zone's offset is looked up once
 * per hour of time and reused; an hour in which the offset changes (a DST switch) is answered
 * by Intl call by call.
 */
export function wallClock(at: Date, timeZone: string): WallClock {
  const t = at.getTime();
  const bucket = Math.floor(t / HOUR_MS);
  let zone = offsets.get(timeZone);
  if (!zone) {
    zone = new Map();
    offsets.set(timeZone, zone);
  }
  let offset = zone.get(bucket);
  if (offset === undefined) {
    const start = bucket * HOUR_MS;
    const first = zoneOffset(start, timeZone);
    offset = first === zoneOffset(start + HOUR_MS - 1000, timeZone) ? first : Number.NaN;
    if (zone.size >= 100_000) zone.clear();
    zone.set(bucket, offset);
  }
  if (Number.isNaN(offset)) return wallClockByIntl(at, timeZone);
  const d = new Date(Math.floor(t / 1000) * 1000 + offset);
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hour: d.getUTCHours(),
    minute: d.getUTCMinutes(),
    second: d.getUTCSeconds(),
  };
}

/**
 * The instant at which the wall clock in `timeZone` reads the local time `t`. A time that happens
 * twice (the hour repeated when DST ends) is its first occurrence; a time that never happens (the
 * hour skipped when DST starts, or a skipped day) is read with the offset before the skip, which
 * lands as far past the skip as `t` is into it — so a day starting inside a gap starts at the
 * first instant that has its date. (Temporal's `disambiguation: 'compatible'`.)
 *
 * The offsets a day before and a day after bound every candidate: no zone changes its offset
 * twice within two days.
 */
export function zonedTime(t: LocalTime, timeZone: string): Date {
  const target = wallClockAsUtc({ year: t.year, month: t.month, day: t.day, hour: t.hour ?? 0, minute: t.minute ?? 0, second: t.second ?? 0 }).getTime();
  const before = zoneOffset(target - DAY_MS, timeZone);
  const after = zoneOffset(target + DAY_MS, timeZone);
  let best: number | null = null;
  for (const offset of before === after ? [before] : [before, after]) {
    const at = target - offset;
    if (zoneOffset(at, timeZone) === offset && (best === null || at < best)) best = at;
  }
  return new Date(best ?? target - before);
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

export function formatWallDate(w: Pick<WallClock, 'year' | 'month' | 'day'>): string {
  return `${pad(w.year, 4)}-${pad(w.month)}-${pad(w.day)}`;
}

export function formatWallDateTime(w: WallClock): string {
  return `${formatWallDate(w)} ${pad(w.hour)}:${pad(w.minute)}:${pad(w.second)}`;
}

/** "YYYY-MM-DD HH:mm:ss" of an instant in a time zone. */
export function localDateTime(at: Date, timeZone: string): string {
  return formatWallDateTime(wallClock(at, timeZone));
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

function partsOf(date: string): { year: number; month: number; day: number } {
  const m = DATE.exec(date);
  if (!m) throw new RangeError(`not a date (YYYY-MM-DD): ${JSON.stringify(date)}`);
  return { year: Number(m[1]), month: Number(m[2]), day: Number(m[3]) };
}

/** The calendar date `days` after (or before) a YYYY-MM-DD date, with no time zone involved. */
export function addCalendarDays(date: string, days: number): string {
  const { year, month, day } = partsOf(date);
  const d = wallClockAsUtc({ year, month, day: 1, hour: 0, minute: 0, second: 0 });
  d.setUTCDate(day + days);
  return `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
}

/** The first day of the month after a YYYY-MM-DD date's month. */
function nextMonth(date: string): string {
  const { year, month } = partsOf(date);
  return month === 12 ? `${pad(year + 1, 4)}-01-01` : `${pad(year, 4)}-${pad(month + 1)}-01`;
}

/** The day of the week of a YYYY-MM-DD date: 1 Monday … 7 Sunday (ISO 8601). */
export function isoWeekday(date: string): number {
  const { year, month, day } = partsOf(date);
  const d = wallClockAsUtc({ year, month, day, hour: 0, minute: 0, second: 0 });
  return ((d.getUTCDay() + 6) % 7) + 1;
}

/** The instant the local day `date` (YYYY-MM-DD) starts in `timeZone`: the first instant whose local date is `date`. */
export function startOfLocalDay(date: string, timeZone: string): Date {
  return zonedTime(partsOf(date), timeZone);
}

/** The local day containing `at`: its date and the instants [start, end) it covers (23, 24 or 25 hours, or other). */
export function localDayOf(at: Date, timeZone: string): LocalSpan {
  const date = localDate(at, timeZone);
  return { date, start: startOfLocalDay(date, timeZone), end: startOfLocalDay(addCalendarDays(date, 1), timeZone) };
}

/** The local month containing `at`: its first day (YYYY-MM-01) and the instants [start, end) it covers. */
export function localMonthOf(at: Date, timeZone: string): LocalSpan {
  const date = localMonth(at, timeZone);
  return { date, start: startOfLocalDay(date, timeZone), end: startOfLocalDay(nextMonth(date), timeZone) };
}

/**
 * The moment an order was paid, where only a paid order can be (its commission lines, refunds,
 * settlement): an unpaid order (pending_payment, closed) has none, and reaching one here is a bug.
 */
export function paidMoment(order: { id: string; paid_at: Date | null }): Date {
  if (order.paid_at === null) throw new Error(`order ${order.id} is not paid`);
  return order.paid_at;
}
