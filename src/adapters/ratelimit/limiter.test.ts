/**
 * The sliding window both limiters promise (types.ts): at most `limit` hits in any `windowMs`, a
 * refused hit is not counted, and a client is let in again once the window has slid past its
 * oldest hit. The memory limiter always runs; the Redis one when REDIS_URL is set, under a key
 * prefix of its own that is deleted afterwards.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createMemoryRateLimiter } from './memory.ts';
import { createRedisRateLimiter } from './redis.ts';
import type { RateLimiter } from './types.ts';

const redisUrl = process.env.REDIS_URL;
const prefix = `fenxiao:test:${Date.now()}:${randomBytes(4).toString('hex')}:`;

const limiters: { name: string; make: () => RateLimiter; skip: boolean }[] = [
  { name: 'memory', make: () => createMemoryRateLimiter(), skip: false },
  { name: 'redis (needs REDIS_URL)', make: () => createRedisRateLimiter(redisUrl ?? 'redis://unused', prefix), skip: !redisUrl },
];

afterAll(async () => {
  if (!redisUrl) return;
  const redis = new Redis(redisUrl);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
});

for (const { name, make, skip } of limiters) {
  describe.skipIf(skip)(`${name} rate limiter`, () => {
    const limiter = make();
    afterAll(async () => {
      await limiter.close();
    });
    // Each test uses its own key, so the Redis runs do not see one another.
    const key = (label: string) => `${label}:${randomBytes(4).toString('hex')}`;
    const T0 = 1_700_000_000_000;

    it('admits `limit` hits in a window and refuses the next, saying when to retry', async () => {
      const k = key('basic');
      for (let i = 0; i < 3; i++) {
        const r = await limiter.hit(k, 3, 60_000, T0 + i * 1000);
        expect(r).toMatchObject({ allowed: true, count: i + 1, retryAfterMs: 0 });
        expect(typeof r.id).toBe('string');
      }
      const refused = await limiter.hit(k, 3, 60_000, T0 + 5000);
      expect(refused.allowed).toBe(false);
      expect(refused.id).toBeUndefined();
      expect(refused.count).toBe(3);
      // The oldest hit (T0) leaves the window at T0 + 60 s.
      expect(refused.retryAfterMs).toBe(55_000);
    });

    it('slides: each hit leaves the window exactly windowMs after it was made', async () => {
      const k = key('slide');
      const W = 1000;
      expect((await limiter.hit(k, 3, W, T0)).allowed).toBe(true);
      expect((await limiter.hit(k, 3, W, T0 + 100)).allowed).toBe(true);
      expect((await limiter.hit(k, 3, W, T0 + 200)).allowed).toBe(true);
      expect((await limiter.hit(k, 3, W, T0 + 999)).allowed).toBe(false);
      // At T0 + W the first hit has left: one place is free, and only one.
      expect((await limiter.hit(k, 3, W, T0 + W)).allowed).toBe(true);
      const full = await limiter.hit(k, 3, W, T0 + W + 50);
      expect(full).toMatchObject({ allowed: false, retryAfterMs: 50 });
      expect((await limiter.hit(k, 3, W, T0 + W + 100)).allowed).toBe(true);
      // A fixed window would have reset at T0 + W and let three in; this one never lets a
      // fourth into any W-long stretch.
      expect((await limiter.hit(k, 3, W, T0 + W + 150)).allowed).toBe(false);
    });

    it('does not count refused hits: a client that keeps trying is let in once the window slides', async () => {
      const k = key('refused');
      const W = 10_000;
      expect((await limiter.hit(k, 2, W, T0)).allowed).toBe(true);
      expect((await limiter.hit(k, 2, W, T0 + 1)).allowed).toBe(true);
      for (let i = 0; i < 20; i++) {
        const r = await limiter.hit(k, 2, W, T0 + 100 + i * 100);
        expect(r.allowed).toBe(false);
        expect(r.count).toBe(2);
      }
      // Had the refusals counted, the window would still be full long after T0 + W.
      expect((await limiter.hit(k, 2, W, T0 + W)).allowed).toBe(true);
      expect((await limiter.hit(k, 2, W, T0 + W + 1)).allowed).toBe(true);
      expect((await limiter.hit(k, 2, W, T0 + W + 2)).allowed).toBe(false);
    });

    it('keeps keys apart', async () => {
      const k1 = key('one');
      const k2 = key('two');
      expect((await limiter.hit(k1, 1, 60_000, T0)).allowed).toBe(true);
      expect((await limiter.hit(k1, 1, 60_000, T0)).allowed).toBe(false);
      expect((await limiter.hit(k2, 1, 60_000, T0)).allowed).toBe(true);
    });

    it('takes one hit back with undo, and forgets a key with reset', async () => {
      const k = key('undo');
      const first = await limiter.hit(k, 2, 60_000, T0);
      const second = await limiter.hit(k, 2, 60_000, T0 + 1);
      expect((await limiter.hit(k, 2, 60_000, T0 + 2)).allowed).toBe(false);
      await limiter.undo(k, second.id!);
      // Undoing the same hit twice, or a hit of another key, takes nothing more.
      await limiter.undo(k, second.id!);
      await limiter.undo(key('other'), first.id!);
      const third = await limiter.hit(k, 2, 60_000, T0 + 3);
      expect(third).toMatchObject({ allowed: true, count: 2 });
      expect((await limiter.hit(k, 2, 60_000, T0 + 4)).allowed).toBe(false);
      await limiter.reset(k);
      expect(await limiter.hit(k, 2, 60_000, T0 + 5)).toMatchObject({ allowed: true, count: 1 });
    });

    it('admits exactly `limit` of many concurrent hits, and of hits undone as they go', async () => {
      const k2 = key('burst-undo');
      // Half of the admitted hits are taken back at once (successful logins): at no moment are
      // more than `limit` counted, so the ones kept never exceed it.
      const kept = await Promise.all(
        Array.from({ length: 40 }, async (_, i) => {
          const r = await limiter.hit(k2, 7, 60_000, T0);
          if (r.allowed && i % 2 === 0) {
            await limiter.undo(k2, r.id!);
            return false;
          }
          return r.allowed;
        }),
      );
      expect(kept.filter(Boolean).length).toBeLessThanOrEqual(7);
      expect((await limiter.hit(k2, 7, 60_000, T0 + 1)).count).toBeLessThanOrEqual(7);
    });

    it('admits exactly `limit` of many concurrent hits', async () => {
      const k = key('burst');
      const results = await Promise.all(Array.from({ length: 40 }, () => limiter.hit(k, 7, 60_000, T0)));
      expect(results.filter((r) => r.allowed)).toHaveLength(7);
    });
  });
}
