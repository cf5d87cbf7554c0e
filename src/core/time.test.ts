import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  addCalendarDays,
  isoWeekday,
  localDate,
  localDayOf,
  localMonth,
  localMonthOf,
  startOfLocalDay,
  wallClockAsUtc,
  wallClockByIntl,
  zonedTime,
  zoneOffset,
} from './time.ts';
import { latestBoundary } from '../modules/settlement/service.ts';

const iso = (d: Date) => d.toISOString();
const span = (s: { date: string; start: Date; end: Date }) => [s.date, iso(s.start), iso(s.end)];

describe('local dates and months', () => {
  it.each([
    ['2026-02-28T15:59:59.999Z', 'Asia/Shanghai', '2026-02-28', '2026-02-01'],
    ['2026-02-28T16:00:00.000Z', 'Asia/Shanghai', '2026-03-01', '2026-03-01'],
    ['2026-03-08T04:59:59.999Z', 'America/New_York', '2026-03-07', '2026-03-01'],
    ['2026-03-08T05:00:00.000Z', 'America/New_York', '2026-03-08', '2026-03-01'],
    ['2026-01-01T04:59:59.999Z', 'America/New_York', '2025-12-31', '2025-12-01'],
    ['2025-12-31T10:14:59.999Z', 'Pacific/Chatham', '2025-12-31', '2025-12-01'], // +13:45 in the southern summer
    ['2025-12-31T10:15:00.000Z', 'Pacific/Chatham', '2026-01-01', '2026-01-01'],
    ['2028-02-28T16:00:00.000Z', 'Asia/Shanghai', '2028-02-29', '2028-02-01'], // a leap day
  ])('%s in %s is %s, month %s', (at, tz, day, month) => {
    expect(localDate(new Date(at), tz)).toBe(day);
    expect(localMonth(new Date(at), tz)).toBe(month);
  });
});

describe('localDayOf: the local day containing an instant, [start, end)', () => {
  it.each([
    // Shanghai has had no DST since 1991: every day is 24 hours, starting at 16:00 UTC the day before.
    ['2026-03-01T12:00:00Z', 'Asia/Shanghai', ['2026-03-01', '2026-02-28T16:00:00.000Z', '2026-03-01T16:00:00.000Z']],
    ['2026-02-28T16:00:00Z', 'Asia/Shanghai', ['2026-03-01', '2026-02-28T16:00:00.000Z', '2026-03-01T16:00:00.000Z']],
    ['2026-02-28T15:59:59.999Z', 'Asia/Shanghai', ['2026-02-28', '2026-02-27T16:00:00.000Z', '2026-02-28T16:00:00.000Z']],
    // New York: DST starts 2026-03-08 at 02:00 (a 23-hour day) and ends 2026-11-01 at 02:00 (25 hours).
    ['2026-03-08T12:00:00Z', 'America/New_York', ['2026-03-08', '2026-03-08T05:00:00.000Z', '2026-03-09T04:00:00.000Z']],
    ['2026-03-09T03:59:59Z', 'America/New_York', ['2026-03-08', '2026-03-08T05:00:00.000Z', '2026-03-09T04:00:00.000Z']],
    ['2026-11-01T12:00:00Z', 'America/New_York', ['2026-11-01', '2026-11-01T04:00:00.000Z', '2026-11-02T05:00:00.000Z']],
    ['2026-11-01T06:30:00Z', 'America/New_York', ['2026-11-01', '2026-11-01T04:00:00.000Z', '2026-11-02T05:00:00.000Z']], // 01:30 the second time
    // Chatham: +13:45 → +12:45 on 2026-04-05 at 03:45, +12:45 → +13:45 on 2026-09-27 at 02:45.
    ['2026-04-05T00:00:00Z', 'Pacific/Chatham', ['2026-04-05', '2026-04-04T10:15:00.000Z', '2026-04-05T11:15:00.000Z']],
    ['2026-09-27T00:00:00Z', 'Pacific/Chatham', ['2026-09-27', '2026-09-26T11:15:00.000Z', '2026-09-27T10:15:00.000Z']],
    ['2026-07-01T00:00:00Z', 'Pacific/Chatham', ['2026-07-01', '2026-06-30T11:15:00.000Z', '2026-07-01T11:15:00.000Z']],
    ['2026-03-01T00:00:00Z', 'UTC', ['2026-03-01', '2026-03-01T00:00:00.000Z', '2026-03-02T00:00:00.000Z']],
    ['2028-02-29T00:00:00Z', 'Asia/Shanghai', ['2028-02-29', '2028-02-28T16:00:00.000Z', '2028-02-29T16:00:00.000Z']],
  ])('%s in %s', (at, tz, want) => {
    expect(span(localDayOf(new Date(at), tz))).toEqual(want);
  });
});

describe('localMonthOf: the local month containing an instant, [start, end)', () => {
  it.each([
    ['2026-01-31T15:59:59Z', 'Asia/Shanghai', ['2026-01-01', '2025-12-31T16:00:00.000Z', '2026-01-31T16:00:00.000Z']],
    ['2026-01-31T16:00:00Z', 'Asia/Shanghai', ['2026-02-01', '2026-01-31T16:00:00.000Z', '2026-02-28T16:00:00.000Z']],
    ['2026-12-31T16:00:00Z', 'Asia/Shanghai', ['2027-01-01', '2026-12-31T16:00:00.000Z', '2027-01-31T16:00:00.000Z']],
    ['2028-02-15T00:00:00Z', 'Asia/Shanghai', ['2028-02-01', '2028-01-31T16:00:00.000Z', '2028-02-29T16:00:00.000Z']], // 29 days
    // March starts in EST and ends in EDT; November the other way round.
    ['2026-03-15T00:00:00Z', 'America/New_York', ['2026-03-01', '2026-03-01T05:00:00.000Z', '2026-04-01T04:00:00.000Z']],
    ['2026-11-15T00:00:00Z', 'America/New_York', ['2026-11-01', '2026-11-01T04:00:00.000Z', '2026-12-01T05:00:00.000Z']],
    ['2026-04-01T04:00:00Z', 'America/New_York', ['2026-04-01', '2026-04-01T04:00:00.000Z', '2026-05-01T04:00:00.000Z']],
    ['2026-04-15T00:00:00Z', 'Pacific/Chatham', ['2026-04-01', '2026-03-31T10:15:00.000Z', '2026-04-30T11:15:00.000Z']],
  ])('%s in %s', (at, tz, want) => {
    expect(span(localMonthOf(new Date(at), tz))).toEqual(want);
  });
});

describe('zonedTime: the instant of a local time', () => {
  it.each([
    [{ year: 2026, month: 3, day: 1 }, 'Asia/Shanghai', '2026-02-28T16:00:00.000Z'],
    [{ year: 2026, month: 3, day: 1 }, 'Asia/Kolkata', '2026-02-28T18:30:00.000Z'],
    [{ year: 2026, month: 1, day: 1 }, 'Pacific/Kiritimati', '2025-12-31T10:00:00.000Z'],
    [{ year: 2026, month: 1, day: 1 }, 'Pacific/Pago_Pago', '2026-01-01T11:00:00.000Z'],
    [{ year: 2026, month: 3, day: 8, hour: 1, minute: 59 }, 'America/New_York', '2026-03-08T06:59:00.000Z'],
    // 02:30 never happens that night: read as EST, it is 03:30 EDT.
    [{ year: 2026, month: 3, day: 8, hour: 2, minute: 30 }, 'America/New_York', '2026-03-08T07:30:00.000Z'],
    [{ year: 2026, month: 3, day: 8, hour: 3 }, 'America/New_York', '2026-03-08T07:00:00.000Z'],
    // 01:30 happens twice: the first, in EDT.
    [{ year: 2026, month: 11, day: 1, hour: 1, minute: 30 }, 'America/New_York', '2026-11-01T05:30:00.000Z'],
    [{ year: 2026, month: 11, day: 1, hour: 2 }, 'America/New_York', '2026-11-01T07:00:00.000Z'],
    [{ year: 2026, month: 11, day: 1, hour: 3 }, 'America/New_York', '2026-11-01T08:00:00.000Z'],
    // Berlin skips 02:00–03:00 on 2026-03-29; 01:00 is still CET.
    [{ year: 2026, month: 3, day: 29, hour: 1 }, 'Europe/Berlin', '2026-03-29T00:00:00.000Z'],
    [{ year: 2026, month: 3, day: 29, hour: 3 }, 'Europe/Berlin', '2026-03-29T01:00:00.000Z'],
    // Chatham skips 02:45–03:45 on 2026-09-27 (at 14:00 UTC): 03:00 reads as +12:45, the same instant as 04:00 at +13:45.
    [{ year: 2026, month: 9, day: 27, hour: 2, minute: 44 }, 'Pacific/Chatham', '2026-09-26T13:59:00.000Z'],
    [{ year: 2026, month: 9, day: 27, hour: 3 }, 'Pacific/Chatham', '2026-09-26T14:15:00.000Z'],
    [{ year: 2026, month: 9, day: 27, hour: 4 }, 'Pacific/Chatham', '2026-09-26T14:15:00.000Z'],
  ])('%o in %s is %s', (t, tz, want) => {
    expect(iso(zonedTime(t, tz))).toBe(want);
  });

  const zones = [
    'Asia/Shanghai',
    'America/New_York',
    'Europe/London',
    'Australia/Lord_Howe',
    'Asia/Kathmandu',
    'America/Santiago',
    'Pacific/Chatham',
    'America/Havana',
    'UTC',
  ];
  const days = fc
    .integer({ min: Date.UTC(1990, 0, 1) / 86_400_000, max: Date.UTC(2050, 0, 1) / 86_400_000 })
    .map((n) => new Date(n * 86_400_000).toISOString().slice(0, 10));

  it('a local day starts at the first instant with its date, in any zone (midnight gaps included)', () => {
    fc.assert(
      fc.property(days, fc.constantFrom(...zones), (day, tz) => {
        const start = startOfLocalDay(day, tz);
        expect(localDate(start, tz)).toBe(day);
        expect(localDate(new Date(start.getTime() - 1), tz)).toBe(addCalendarDays(day, -1));
      }),
      { numRuns: 3000 },
    );
  });

  it('reads back as the wall clock it was given, whenever that time happens', () => {
    fc.assert(
      fc.property(days, fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 59 }), fc.constantFrom(...zones), (day, hour, minute, tz) => {
        const [year, month, d] = day.split('-').map(Number) as [number, number, number];
        const at = zonedTime({ year, month, day: d, hour, minute }, tz);
        const w = wallClockByIntl(at, tz);
        if (w.day === d && w.hour === hour && w.minute === minute) return;
        // Only a time that never happens reads back otherwise: one in the hour the clocks skip,
        // answered by the first instant after the skip, later on the wall clock.
        expect(zoneOffset(at.getTime() - 6 * 3_600_000, tz)).not.toBe(zoneOffset(at.getTime(), tz));
        expect(wallClockAsUtc(w).getTime()).toBeGreaterThan(Date.UTC(year, month - 1, d, hour, minute));
      }),
      { numRuns: 3000 },
    );
  });
});

describe('calendar arithmetic', () => {
  it.each([
    ['2028-02-28', 1, '2028-02-29'],
    ['2027-02-28', 1, '2027-03-01'],
    ['2026-12-31', 1, '2027-01-01'],
    ['2026-03-01', -1, '2026-02-28'],
    ['2028-03-01', -1, '2028-02-29'],
    ['2026-01-31', 31, '2026-03-03'],
  ])('%s + %i days is %s', (from, n, want) => {
    expect(addCalendarDays(from, n)).toBe(want);
  });

  it.each([
    ['2026-03-09', 1],
    ['2026-03-08', 7],
    ['2028-02-29', 2],
  ])('%s is ISO weekday %i', (d, want) => {
    expect(isoWeekday(d)).toBe(want);
  });
});

describe('settlement boundaries cut at local hours in any zone', () => {
  const base = { weekday: 1, day_of_month: 1, threshold_fen: 0 } as const;
  it.each([
    // Daily at 03:00 in New York on the day DST ends: 03:00 EST, not 02:00 EST (an hour early).
    [{ ...base, cycle: 'daily', hour: 3 }, 'America/New_York', '2026-11-01T12:00:00Z', '2026-11-01T08:00:00.000Z'],
    [{ ...base, cycle: 'daily', hour: 3 }, 'America/New_York', '2026-11-01T07:59:59Z', '2026-10-31T07:00:00.000Z'],
    // Daily at 01:00 in Berlin on the day DST starts: 01:00 CET, not midnight.
    [{ ...base, cycle: 'daily', hour: 1 }, 'Europe/Berlin', '2026-03-29T12:00:00Z', '2026-03-29T00:00:00.000Z'],
    // Monthly on the 8th at 01:00 seen just after midnight of the 9th, across the 23-hour day: the 8th, not February's.
    [{ ...base, cycle: 'monthly', day_of_month: 8, hour: 1 }, 'America/New_York', '2026-03-09T04:30:00Z', '2026-03-08T06:00:00.000Z'],
    // Weekly on Monday at 00:00 in Shanghai.
    [{ ...base, cycle: 'weekly', weekday: 1, hour: 0 }, 'Asia/Shanghai', '2026-03-12T00:00:00Z', '2026-03-08T16:00:00.000Z'],
    // Monthly on the 29th skips a February without one.
    [{ ...base, cycle: 'monthly', day_of_month: 29, hour: 0 }, 'Asia/Shanghai', '2027-03-10T00:00:00Z', '2027-01-28T16:00:00.000Z'],
    [{ ...base, cycle: 'monthly', day_of_month: 29, hour: 0 }, 'Asia/Shanghai', '2028-03-10T00:00:00Z', '2028-02-28T16:00:00.000Z'],
  ] as const)('%o in %s at %s is %s', (s, tz, now, want) => {
    expect(latestBoundary(s, tz, new Date(now))?.toISOString()).toBe(want);
  });
});
