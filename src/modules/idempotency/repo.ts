import { sql, type RawBuilder } from 'kysely';
import type { Executor } from '../../db/database.ts';

/** A key as kept: the fingerprint of the request it was first used with, and the answer given. */
export interface KeptKey {
  scope: string;
  key: string;
  request_hash: string;
  response_body: unknown;
}

/**
 * The idempotency_keys table: this module's, written only here. A key is claimed in the same
 * transaction as the write it guards, so a crash leaves both or neither.
 */
export const idempotencyRepo = {
  /** Claims a key, answer pending (status 0); false when it was claimed before. */
  async claim(ex: Executor, tenantId: string, scope: string, key: string, requestHash: string): Promise<boolean> {
    const claimed = await ex
      .insertInto('idempotency_keys')
      .values({
        tenant_id: tenantId,
        scope,
        key,
        request_hash: requestHash,
        response_status: 0,
        response_body: 'null',
      })
      .onConflict((oc) => oc.columns(['tenant_id', 'scope', 'key']).doNothing())
      .returning('key')
      .executeTakeFirst();
    return claimed !== undefined;
  },

  async get(ex: Executor, tenantId: string, scope: string, key: string) {
    return ex
      .selectFrom('idempotency_keys')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('scope', '=', scope)
      .where('key', '=', key)
      .executeTakeFirstOrThrow();
  },

  async saveAnswer(ex: Executor, tenantId: string, scope: string, key: string, status: number, body: unknown): Promise<void> {
    await ex
      .updateTable('idempotency_keys')
      .set({ response_status: status, response_body: JSON.stringify(body) })
      .where('tenant_id', '=', tenantId)
      .where('scope', '=', scope)
      .where('key', '=', key)
      .execute();
  },

  /**
   * For a batch read in one statement: the kept keys among (scope, key) pairs, as a scalar
   * subquery answering a JSON array of KeptKey (or null when none is kept).
   */
  keptSql(tenantId: string, keys: { scope: string; key: string }[]): RawBuilder<KeptKey[] | null> {
    return sql<
      KeptKey[] | null
    >`(select json_agg(json_build_object('scope', k.scope, 'key', k.key, 'request_hash', k.request_hash, 'response_body', k.response_body))
           from idempotency_keys k join unnest(${keys.map((k) => k.scope)}::text[], ${keys.map((k) => k.key)}::text[]) as v(scope, key)
             on k.tenant_id = ${tenantId} and k.scope = v.scope and k.key = v.key)`;
  },

  /**
   * For a batch written in one statement: new keys with their answers (status 200, `response_body`
   * as JSON text), as the body of a WITH entry answering one row per key.
   */
  insertManySql(tenantId: string, keys: { scope: string; key: string; request_hash: string; response_body: string }[]): RawBuilder<unknown> {
    return sql`insert into idempotency_keys (tenant_id, scope, key, request_hash, response_status, response_body)
        select ${tenantId}, v.scope, v.key, v.hash, 200, v.body::jsonb
          from unnest(${keys.map((k) => k.scope)}::text[], ${keys.map((k) => k.key)}::text[], ${keys.map((k) => k.request_hash)}::text[], ${keys.map((k) => k.response_body)}::text[])
            as v(scope, key, hash, body)
        returning 1`;
  },
};
