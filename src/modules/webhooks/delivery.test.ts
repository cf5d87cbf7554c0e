import { describe, expect, it } from 'vitest';
import { createHmac } from 'node:crypto';
import { afterFailure, envelope, GIVE_UP_AFTER_MS, signatureHeader } from './delivery.ts';

const created = new Date('2026-03-01T00:00:00Z');
const at = (ms: number) => new Date(created.getTime() + ms);

describe('afterFailure: the retry schedule', () => {
  const cases: [string, { failures: number; after: number; random: number }, { dead: true } | { waitMin: number; waitMax: number }][] = [
    ['first retry, no jitter: 10 s', { failures: 1, after: 0, random: 0 }, { waitMin: 10_000, waitMax: 10_000 }],
    ['first retry, most jitter: still within 30 s', { failures: 1, after: 0, random: 0.99 }, { waitMin: 12_000, waitMax: 12_500 }],
    ['second: 30 s', { failures: 2, after: 20_000, random: 0 }, { waitMin: 30_000, waitMax: 30_000 }],
    ['third: 2 min', { failures: 3, after: 60_000, random: 0 }, { waitMin: 120_000, waitMax: 120_000 }],
    ['eighth: 4 h', { failures: 8, after: 3_600_000, random: 0 }, { waitMin: 14_400_000, waitMax: 14_400_000 }],
    ['beyond the table: 4 h again, at most 5 h with jitter', { failures: 20, after: 3_600_000, random: 0.99 }, { waitMin: 14_400_000, waitMax: 18_000_000 }],
    ['just under 24 h: one more try', { failures: 12, after: GIVE_UP_AFTER_MS - 1, random: 0 }, { waitMin: 14_400_000, waitMax: 14_400_000 }],
    ['24 h after the event: dead', { failures: 12, after: GIVE_UP_AFTER_MS, random: 0 }, { dead: true }],
  ];
  it.each(cases)('%s', (_label, input, expected) => {
    const now = at(input.after);
    const r = afterFailure({ failures: input.failures, createdAt: created, now, random: input.random });
    if ('dead' in expected) expect(r).toEqual({ dead: true });
    else {
      expect(r.dead).toBe(false);
      const wait = (r as { at: Date }).at.getTime() - now.getTime();
      expect(wait).toBeGreaterThanOrEqual(expected.waitMin);
      expect(wait).toBeLessThanOrEqual(expected.waitMax);
    }
  });

  it('keeps trying for at least 24 hours whatever the jitter', () => {
    for (const random of [0, 0.5, 0.999]) {
      let now = created;
      let failures = 0;
      for (;;) {
        failures++;
        const r = afterFailure({ failures, createdAt: created, now, random });
        if (r.dead) break;
        now = r.at;
      }
      expect(now.getTime() - created.getTime()).toBeGreaterThanOrEqual(GIVE_UP_AFTER_MS);
      expect(failures).toBeLessThan(20);
    }
  });
});

describe('signatureHeader', () => {
  const body = envelope({ id: 'evt_1', type: 'order.credited', created_at: created, data: { a: 1 } });
  it('is t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">', () => {
    const mac = createHmac('sha256', 'whsec_one').update(`1772323200.${body}`).digest('hex');
    expect(signatureHeader(['whsec_one'], 1772323200, body)).toBe(`t=1772323200,v1=${mac}`);
  });
  it('carries one v1 per secret during a rotation, the current one first', () => {
    const h = signatureHeader(['new-secret-0123456', 'old-secret-0123456'], 1, body);
    expect(h.split(',').map((p) => p.split('=')[0])).toEqual(['t', 'v1', 'v1']);
    expect(h.split(',')[1]).toBe(`v1=${createHmac('sha256', 'new-secret-0123456').update(`1.${body}`).digest('hex')}`);
  });
  it('envelope is the contract shape', () => {
    expect(JSON.parse(body)).toEqual({ id: 'evt_1', type: 'order.credited', created_at: '2026-03-01T00:00:00.000Z', data: { a: 1 } });
  });
});
