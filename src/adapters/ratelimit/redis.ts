import type { Redis as RedisClass } from 'ioredis';
import { lazy, requirePackage } from '../../lib/lazy.ts';

const ioredis = lazy(() => (requirePackage('ioredis') as { Redis: typeof RedisClass }).Redis);
import { randomBytes } from 'node:crypto';
import type { RateLimiter } from './types.ts';

/**
 * The same sliding window in a Redis sorted set, so every process behind the load balancer
 * shares one count. The script runs atomically: prune, count, admit, expire.
 */
const SCRIPT = `
local key = KEYS[1]
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
local count = redis.call('ZCARD', key)
if count < limit then
  redis.call('ZADD', key, now, ARGV[4])
  redis.call('PEXPIRE', key, window)
  return {1, count + 1, 0}
end
local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
local retry = 0
if oldest[2] then retry = tonumber(oldest[2]) + window - now end
return {0, count, retry}
`;

export function createRedisRateLimiter(url: string, prefix = 'fenxiao:rl:'): RateLimiter {
  const Redis = ioredis();
  const redis = new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 2, enableOfflineQueue: true });
  redis.on('error', () => {});
  redis.defineCommand('fxSlidingWindow', { numberOfKeys: 1, lua: SCRIPT });
  const run = (redis as unknown as { fxSlidingWindow(key: string, ...args: (string | number)[]): Promise<[number, number, number]> }).fxSlidingWindow.bind(
    redis,
  );
  return {
    async hit(key, limit, windowMs, nowMs) {
      const member = `${nowMs}:${randomBytes(6).toString('hex')}`;
      const [allowed, count, retry] = await run(prefix + key, nowMs, windowMs, limit, member);
      return { allowed: allowed === 1, count, retryAfterMs: Math.max(0, retry), ...(allowed === 1 ? { id: member } : {}) };
    },
    async undo(key, id) {
      await redis.zrem(prefix + key, id);
    },
    async reset(key) {
      await redis.del(prefix + key);
    },
    async close() {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
