import { describe, expect, it } from 'vitest';
import {
  addDays,
  addMonths,
  cityOf,
  daysBetween,
  monthEnd,
  parseDay,
  periodOf,
  periodsBetween,
  provinceOf,
  rangeParts,
  rateBp,
  splitRange,
  startOfLocalDay,
  weekOf,
} from './periods.ts';

describe('calendar days', () => {
  it.each([
    ['2026-02-28', '2026-02-28'],
    ['2024-02-29', '2024-02-29'],
    ['2026-02-29', null],
    ['2026-13-01', null],
    ['2026-1-01', null],
    ['20260101', null],
    ['', null],
  ])('parseDay(%s) = %s', (text, want) => {
    expect(parseDay(text)).toBe(want);
  });

  it.each([
    ['2026-02-28', 1, '2026-03-01'],
    ['2024-02-28', 1, '2024-02-29'],
    ['2026-01-01', -1, '2025-12-31'],
    ['2026-03-29', 1, '2026-03-30'],
  ])('addDays(%s, %i) = %s', (day, n, want) => {
    expect(addDays(day, n)).toBe(want);
  });

  it('months and weeks', () => {
    expect(addMonths('2026-12-01', 1)).toBe('2027-01-01');
    expect(addMonths('2026-01-01', -1)).toBe('2025-12-01');
    expect(monthEnd('2024-02-01')).toBe('2024-02-29');
    expect(monthEnd('2026-04-01')).toBe('2026-04-30');
    expect(daysBetween('2025-12-31', '2026-03-01')).toBe(60);
    expect(weekOf('2026-03-01')).toBe('2026-02-23'); // a Sunday belongs to the week of the Monday before
    expect(weekOf('2026-03-02')).toBe('2026-03-02');
    expect(periodOf('2026-03-17', 'month')).toBe('2026-03-01');
    expect(periodOf('2026-03-17', 'day')).toBe('2026-03-17');
  });

  it('periodsBetween covers the range with one label per period, ends included', () => {
    expect(periodsBetween('2026-02-27', '2026-03-02', 'day')).toEqual(['2026-02-27', '2026-02-28', '2026-03-01', '2026-03-02']);
    expect(periodsBetween('2026-02-20', '2026-03-03', 'week')).toEqual(['2026-02-16', '2026-02-23', '2026-03-02']);
    expect(periodsBetween('2025-11-30', '2026-02-01', 'month')).toEqual(['2025-11-01', '2025-12-01', '2026-01-01', '2026-02-01']);
    expect(periodsBetween('2025-01-01', '2025-12-31', 'day')).toHaveLength(365);
  });
});

describe('splitRange', () => {
  it('takes whole months as months and the ends as days', () => {
    expect(splitRange('2026-01-01', '2026-03-31')).toEqual({ months: ['2026-01-01', '2026-02-01', '2026-03-01'], days: [] });
    const r = splitRange('2026-01-30', '2026-03-02');
    expect(r.months).toEqual(['2026-02-01']);
    expect(r.days).toEqual(['2026-01-30', '2026-01-31', '2026-03-01', '2026-03-02']);
    expect(splitRange('2026-02-03', '2026-02-05')).toEqual({ months: [], days: ['2026-02-03', '2026-02-04', '2026-02-05'] });
    expect(splitRange('2026-02-05', '2026-02-03')).toEqual({ months: [], days: [] });
  });

  it('rangeParts gives the months as one span and the loose days as runs', () => {
    expect(rangeParts('2026-01-30', '2026-03-02')).toMatchObject({
      monthSpan: ['2026-02-01', '2026-02-01'],
      dayRuns: [
        ['2026-01-30', '2026-01-31'],
        ['2026-03-01', '2026-03-02'],
      ],
    });
    expect(rangeParts('2026-02-03', '2026-02-05')).toMatchObject({ monthSpan: null, dayRuns: [['2026-02-03', '2026-02-05']] });
    expect(rangeParts('2025-01-01', '2025-12-31')).toMatchObject({ monthSpan: ['2025-01-01', '2025-12-01'], dayRuns: [] });
  });

  it('covers every day of the range exactly once', () => {
    for (const [from, to] of [
      ['2025-03-15', '2026-03-14'],
      ['2024-02-01', '2024-02-29'],
      ['2025-12-31', '2026-01-01'],
    ] as const) {
      const { months, days } = splitRange(from, to);
      const covered: string[] = [...days];
      for (const m of months) for (let d = m; d <= monthEnd(m); d = addDays(d, 1)) covered.push(d);
      covered.sort();
      const want: string[] = [];
      for (let d: string = from; d <= to; d = addDays(d, 1)) want.push(d);
      expect(covered).toEqual(want);
    }
  });
});

describe('startOfLocalDay', () => {
  it.each([
    ['2026-03-01', 'Asia/Shanghai', '2026-02-28T16:00:00.000Z'],
    ['2026-03-01', 'UTC', '2026-03-01T00:00:00.000Z'],
    ['2026-03-08', 'America/New_York', '2026-03-08T05:00:00.000Z'], // the day DST starts, at 02:00 local
    ['2026-03-09', 'America/New_York', '2026-03-09T04:00:00.000Z'],
    ['2026-11-01', 'America/New_York', '2026-11-01T04:00:00.000Z'], // the day DST ends
    ['2026-03-01', 'Asia/Kolkata', '2026-02-28T18:30:00.000Z'],
  ])('%s in %s starts at %s', (day, tz, want) => {
    expect(startOfLocalDay(day, tz).toISOString()).toBe(want);
  });
});

describe('rates and regions', () => {
  it.each([
    [1, 3, 3333],
    [2, 2, 10000],
    [3, 2, 15000],
    [0, 5, 0],
    [5, 0, null],
  ])('rateBp(%i, %i) = %s', (n, d, want) => {
    expect(rateBp(n, d)).toBe(want);
  });

  it('region codes roll up to the city and the province', () => {
    expect(cityOf('440305')).toBe('440300');
    expect(cityOf('110101')).toBe('110100');
    expect(cityOf(null)).toBe('');
    expect(cityOf('44030')).toBe('');
    expect(cityOf('abcdef')).toBe('');
    expect(provinceOf('440300')).toBe('440000');
    expect(provinceOf('')).toBe('');
  });
});
