import type { RateLimiter } from './types.ts';

interface Hit {
  at: number;
  id: string;
}

/** One process's limiter: a log of hits per key. Used when no REDIS_URL is set. */
export function createMemoryRateLimiter(maxKeys = 100_000): RateLimiter {
  const logs = new Map<string, Hit[]>();
  let seq = 0;
  return {
    // No await inside: the read, the decision and the write happen in one turn of the event
    // loop, so concurrent callers in this process never both take the last place.
    async hit(key, limit, windowMs, nowMs) {
      const since = nowMs - windowMs;
      let log = logs.get(key);
      if (log) {
        // The log is in time order: keep from the first hit inside the window.
        const keep = log.findIndex((hit) => hit.at > since);
        if (keep === -1) log = [];
        else if (keep > 0) log = log.slice(keep);
      } else {
        log = [];
      }
      const allowed = log.length < limit;
      const id = allowed ? `${nowMs}:${(seq++).toString(36)}` : undefined;
      if (id) log.push({ at: nowMs, id });
      // Re-insert to keep Map order as recency, then evict the stalest keys past the cap.
      logs.delete(key);
      logs.set(key, log);
      if (logs.size > maxKeys) {
        const oldest = logs.keys().next().value;
        if (oldest !== undefined) logs.delete(oldest);
      }
      const first = log[0];
      const retryAfterMs = allowed || first === undefined ? 0 : Math.max(0, first.at + windowMs - nowMs);
      return { allowed, count: log.length, retryAfterMs, ...(id ? { id } : {}) };
    },
    async undo(key, id) {
      const log = logs.get(key);
      if (!log) return;
      const i = log.findIndex((h) => h.id === id);
      if (i >= 0) log.splice(i, 1);
    },
    async reset(key) {
      logs.delete(key);
    },
    async close() {
      logs.clear();
    },
  };
}
