import { describe, expect, it } from 'vitest';
import { AppError } from '../../core/errors.ts';
import { localMidnight, periodOf } from './period.ts';

describe('periodOf', () => {
  it.each([
    [
      "a date is midnight in the tenant's zone",
      { from: '2026-03-01', to: '2026-04-01' },
      'Asia/Shanghai',
      ['2026-02-28T16:00:00.000Z', '2026-03-31T16:00:00.000Z'],
    ],
    [
      'a date-time is that instant',
      { from: '2026-03-01T08:30:00+08:00', to: '2026-03-01T01:00:00.5Z' },
      'Asia/Shanghai',
      ['2026-03-01T00:30:00.000Z', '2026-03-01T01:00:00.500Z'],
    ],
    ['either end may be open', { to: '2026-01-01' }, 'UTC', [null, '2026-01-01T00:00:00.000Z']],
    ['no ends: all time', {}, 'UTC', [null, null]],
    [
      'a day that starts in summer time (New York, DST from 8 March 2026)',
      { from: '2026-03-08', to: '2026-03-09' },
      'America/New_York',
      ['2026-03-08T05:00:00.000Z', '2026-03-09T04:00:00.000Z'],
    ],
  ] as const)('%s', (_label, input, tz, [from, to]) => {
    const p = periodOf(input, tz);
    expect([p.from?.toISOString() ?? null, p.to?.toISOString() ?? null]).toEqual([from, to]);
  });

  it.each([
    [{ from: '2026-02-30' }, /not a calendar date/],
    [{ from: '2026-13-01' }, /not a calendar date/],
    [{ to: 'tomorrow' }, /date \(YYYY-MM-DD\) or an ISO 8601 date-time/],
    [{ to: '2026-03-01T25:00:00Z' }, /ISO 8601/],
    [{ to: '1709251200' }, /ISO 8601/],
    [{ from: '2026-03-02', to: '2026-03-01' }, /from must be before to/],
    [{ from: '2026-03-01', to: '2026-03-01' }, /from must be before to/],
  ])('refuses %j', (input, message) => {
    let caught: unknown;
    try {
      periodOf(input, 'Asia/Shanghai');
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(AppError);
    expect((caught as AppError).code).toBe('invalid_request');
    expect((caught as AppError).message).toMatch(message);
  });

  it('localMidnight holds in zones east and west of UTC', () => {
    expect(localMidnight(2026, 1, 1, 'Pacific/Kiritimati').toISOString()).toBe('2025-12-31T10:00:00.000Z');
    expect(localMidnight(2026, 1, 1, 'Pacific/Pago_Pago').toISOString()).toBe('2026-01-01T11:00:00.000Z');
  });
});
