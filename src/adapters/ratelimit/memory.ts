import type { RateLimiter } from './types.ts';

/** One process's limiter: a log of hit times per key. Used when no REDIS_URL is set. */
export function createMemoryRateLimiter(maxKeys = 100_000): RateLimiter {
  const logs = new Map<string, number[]>();
  return {
    async hit(key, limit, windowMs, nowMs) {
      const since = nowMs - windowMs;
      let log = logs.get(key);
      if (log) {
        let drop = 0;
        while (drop < log.length && log[drop]! <= since) drop++;
        if (drop > 0) log = log.slice(drop);
      } else {
        log = [];
      }
      const allowed = log.length < limit;
      if (allowed) log.push(nowMs);
      // Re-insert to keep Map order as recency, then evict the stalest keys past the cap.
      logs.delete(key);
      logs.set(key, log);
      if (logs.size > maxKeys) {
        const oldest = logs.keys().next().value;
        if (oldest !== undefined) logs.delete(oldest);
      }
      const retryAfterMs = allowed || log.length === 0 ? 0 : Math.max(0, log[0]! + windowMs - nowMs);
      return { allowed, count: log.length, retryAfterMs };
    },
    async close() {
      logs.clear();
    },
  };
}
