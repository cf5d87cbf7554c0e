import { invalid } from '../../core/errors.ts';
import { zonedTime } from '../../core/time.ts';

/**
 * A period of exports and reconciliation: [from, to), either end open. Each end is an instant
 * (ISO 8601 date-time) or a calendar date (YYYY-MM-DD), which means midnight at the start of that
 * day in the tenant's time zone — so `from=2026-03-01&to=2026-04-01` is March, local time.
 */
export interface Period {
  from: Date | null;
  to: Date | null;
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Text of a date or a date-time, for schemas: what `periodOf` accepts. */
export const PERIOD_PATTERN = '^\\d{4}-\\d{2}-\\d{2}([Tt ]\\d{2}:\\d{2}(:\\d{2}(\\.\\d{1,9})?)?([Zz]|[+-]\\d{2}:?\\d{2}))?$';

export function periodOf(input: { from?: string | undefined; to?: string | undefined }, timeZone: string): Period {
  const from = input.from === undefined ? null : boundOf(input.from, timeZone, 'from');
  const to = input.to === undefined ? null : boundOf(input.to, timeZone, 'to');
  if (from && to && from.getTime() >= to.getTime())
    throw invalid({ en: 'from must be before to (the period is [from, to))', zh: 'from 须早于 to（期间为 [from, to)）' });
  return { from, to };
}

const DATE_TIME = new RegExp(PERIOD_PATTERN);

function boundOf(text: string, timeZone: string, name: string): Date {
  const m = DATE.exec(text);
  if (m) {
    const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
    const probe = new Date(Date.UTC(year, month - 1, day));
    if (probe.getUTCFullYear() !== year || probe.getUTCMonth() !== month - 1 || probe.getUTCDate() !== day)
      throw invalid({ en: `${name} is not a calendar date`, zh: `${name} 不是有效的日期` });
    return localMidnight(year, month, day, timeZone);
  }
  const at = new Date(text);
  if (!DATE_TIME.test(text) || Number.isNaN(at.getTime()))
    throw invalid({ en: `${name} must be a date (YYYY-MM-DD) or an ISO 8601 date-time`, zh: `${name} 须为日期（YYYY-MM-DD）或 ISO 8601 日期时间` });
  return at;
}

/** The instant at which the wall clock in `timeZone` reads year-month-day 00:00:00 (the first instant of that day). */
export function localMidnight(year: number, month: number, day: number, timeZone: string): Date {
  return zonedTime({ year, month, day }, timeZone);
}
