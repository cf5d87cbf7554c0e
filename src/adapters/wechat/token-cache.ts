import { randomBytes } from 'node:crypto';
import type { Redis as RedisClass } from 'ioredis';
import { lazy, requirePackage } from '../../lib/lazy.ts';

const ioredis = lazy(() => (requirePackage('ioredis') as { Redis: typeof RedisClass }).Redis);

/**
 * Where the official account's access_token and jsapi_ticket are kept so that every process of
 * the deployment uses the same ones until shortly before they expire (WeChat limits how often
 * they may be fetched, and a new access_token retires the old one). Values arrive encrypted by
 * the caller; a cache only stores strings. Two implementations: the database (the default, in
 * the wechat module) and Redis (below, when REDIS_URL is set).
 */
export interface CachedToken {
  value: string;
  expiresAt: Date;
}

export interface TokenCacheStore {
  read(key: string): Promise<CachedToken | null>;
  /** `ttlMs`: how long the store may keep it (by the caller's clock; the value says when it expires). */
  write(key: string, token: CachedToken, ttlMs: number): Promise<void>;
}

export interface TokenCache {
  read(key: string): Promise<CachedToken | null>;
  /**
   * Runs `fn` holding a lock on `key` that every process shares, so one of them fetches a new
   * value and the others, waiting, read it; `fn` gets the store to re-read and write under the
   * lock.
   */
  refresh<T>(key: string, fn: (store: TokenCacheStore) => Promise<T>): Promise<T>;
}

const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;

/** Redis: the value under `<prefix><key>` expiring with the token, a SET NX lock beside it. */
export function createRedisTokenCache(url: string, options: { prefix?: string; lockMs?: number } = {}): TokenCache & { close(): Promise<void> } {
  const prefix = options.prefix ?? 'fenxiao:wx:';
  const lockMs = options.lockMs ?? 15_000;
  const Redis = ioredis();
  const redis = new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 2, enableOfflineQueue: true });
  redis.on('error', () => {});

  const store: TokenCacheStore = {
    async read(key) {
      const raw = await redis.get(prefix + key);
      if (!raw) return null;
      try {
        const parsed = JSON.parse(raw) as { value?: unknown; expires_at?: unknown };
        if (typeof parsed.value !== 'string' || typeof parsed.expires_at !== 'string') return null;
        return { value: parsed.value, expiresAt: new Date(parsed.expires_at) };
      } catch {
        return null;
      }
    },
    async write(key, token, ttlMs) {
      if (ttlMs <= 0) return;
      await redis.set(prefix + key, JSON.stringify({ value: token.value, expires_at: token.expiresAt.toISOString() }), 'PX', Math.ceil(ttlMs));
    },
  };

  return {
    read: store.read,
    async refresh(key, fn) {
      const lockKey = `${prefix}lock:${key}`;
      const owner = randomBytes(12).toString('hex');
      const deadline = Date.now() + lockMs;
      // Wait for whoever is fetching; past the lock's life, it is gone anyway (PX).
      while ((await redis.set(lockKey, owner, 'PX', lockMs, 'NX')) !== 'OK') {
        if (Date.now() > deadline) throw new Error('timed out waiting for the WeChat token lock');
        await new Promise((r) => setTimeout(r, 50));
      }
      try {
        return await fn(store);
      } finally {
        await redis.eval(RELEASE, 1, lockKey, owner).catch(() => {});
      }
    },
    async close() {
      redis.disconnect();
    },
  };
}
