const formatters = new Map<string, Intl.DateTimeFormat>();

/** The calendar date of `at` in an IANA time zone, as YYYY-MM-DD (days for caps and reports). */
export function localDate(at: Date, timeZone: string): string {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' });
    formatters.set(timeZone, f);
  }
  return f.format(at);
}

/** The first day of `at`'s month in the zone, YYYY-MM-01 (months for tiers and sales). */
export function localMonth(at: Date, timeZone: string): string {
  return localDate(at, timeZone).slice(0, 8) + '01';
}

export const DAY_MS = 86_400_000;

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
