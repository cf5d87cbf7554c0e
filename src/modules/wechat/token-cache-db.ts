import type { Db, Executor } from '../../db/database.ts';
import { advisoryXactLock, inTransaction } from '../../db/database.ts';
import type { TokenCache, TokenCacheStore } from '../../adapters/wechat/token-cache.ts';
import { wechatRepo } from './repo.ts';

/**
 * The default token cache: a row per (tenant, app id, kind) in wechat_api_tokens, shared by every
 * process on the database; a refresh holds a transaction-scoped advisory lock, so one process
 * fetches while the others wait and then read what it wrote. Keys are `<tenant>|<app id>|<kind>`.
 */
export function tokenKey(tenantId: string, appId: string, kind: 'access_token' | 'jsapi_ticket'): string {
  return `${tenantId}|${appId}|${kind}`;
}

function parseKey(key: string) {
  const [tenant_id = '', app_id = '', kind = ''] = key.split('|');
  if (kind !== 'access_token' && kind !== 'jsapi_ticket') throw new Error(`bad token cache key ${key}`);
  return { tenant_id, app_id, kind } as const;
}

function storeOn(ex: Executor, now: () => Date): TokenCacheStore {
  return {
    async read(key) {
      const row = await wechatRepo.readToken(ex, parseKey(key));
      return row ? { value: row.value_enc, expiresAt: row.expires_at } : null;
    },
    async write(key, token) {
      await wechatRepo.writeToken(ex, parseKey(key), { value_enc: token.value, expires_at: token.expiresAt, fetched_at: now() });
    },
  };
}

export function createDbTokenCache(db: Db, clock: { now(): Date }): TokenCache {
  const now = () => clock.now();
  return {
    read: (key) => storeOn(db, now).read(key),
    refresh: (key, fn) =>
      inTransaction(db, async (tx) => {
        await advisoryXactLock(tx, 'wechat-token', key);
        return fn(storeOn(tx, now));
      }),
  };
}
