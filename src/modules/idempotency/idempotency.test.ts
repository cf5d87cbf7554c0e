import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../core/errors.ts';
import { inTransaction } from '../../db/database.ts';
import { startTestServer, type TestServer } from '../../../test/support/server.ts';
import { idempotencyRepo } from './repo.ts';
import { claimKey, orderEventScope, replayOf, replayOrConflict, requestHash, withdrawalScope } from './service.ts';

describe('Idempotency-Keys', () => {
  let t: TestServer;
  let tenantId: string;
  beforeAll(async () => {
    t = await startTestServer();
    tenantId = (await t.tenant('Keys')).id;
  });
  afterAll(() => t.close());

  const claim = (scope: string, key: string, body: unknown, answer: unknown) =>
    inTransaction(t.database.db, async (tx) => {
      const c = await claimKey<unknown>(tx, tenantId, scope, key, requestHash(body));
      if (c.replay) return { replay: true, answer: c.answer };
      await c.claim.save(201, answer);
      return { replay: false, answer };
    });

  it('keeps the first answer: the same key and body replay it, another body is a 409', async () => {
    const scope = withdrawalScope('api_key', 'key_1');
    expect(await claim(scope, 'k-1', { amount_fen: 100, channel: 'manual' }, { id: 'wd_1' })).toEqual({ replay: false, answer: { id: 'wd_1' } });
    // Key order in the body does not matter: the fingerprint is of canonical JSON.
    expect(await claim(scope, 'k-1', { channel: 'manual', amount_fen: 100 }, { id: 'wd_2' })).toEqual({ replay: true, answer: { id: 'wd_1' } });
    const refused = await claim(scope, 'k-1', { amount_fen: 200 }, { id: 'wd_3' }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(AppError);
    expect(refused).toMatchObject({ code: 'conflict', message: 'this Idempotency-Key was used with a different body' });
  });

  it('scopes keys by caller: the same key of another caller is another key', async () => {
    expect(withdrawalScope('distributor', null)).toBe('withdrawal:distributor:');
    expect(withdrawalScope('admin', 'usr_1')).toBe('withdrawal:admin:usr_1');
    expect(orderEventScope('ord_1')).toBe('order_event:ord_1');
    await claim(withdrawalScope('admin', 'usr_1'), 'shared', { a: 1 }, { id: 'wd_a' });
    expect(await claim(withdrawalScope('admin', 'usr_2'), 'shared', { a: 2 }, { id: 'wd_b' })).toEqual({ replay: false, answer: { id: 'wd_b' } });
  });

  it('a claim rolled back with its write leaves no key', async () => {
    const scope = withdrawalScope('api_key', 'key_2');
    await expect(
      inTransaction(t.database.db, async (tx) => {
        await claimKey(tx, tenantId, scope, 'k-2', requestHash({}));
        throw new Error('the write failed');
      }),
    ).rejects.toThrow('the write failed');
    expect(await claim(scope, 'k-2', { b: 1 }, { id: 'wd_4' })).toEqual({ replay: false, answer: { id: 'wd_4' } });
  });

  it('batches read and write keys in one statement with the same rules', async () => {
    const scope = orderEventScope('ord_batch');
    await inTransaction(t.database.db, async (tx) => {
      await sql`with k as (${idempotencyRepo.insertManySql(tenantId, [
        { scope, key: 'e-1', request_hash: requestHash({ type: 'shipped' }), response_body: JSON.stringify({ status: 'shipped' }) },
      ])}) select count(*) from k`.execute(tx);
    });
    const kept = (
      await sql<{ keys: unknown }>`select ${idempotencyRepo.keptSql(tenantId, [
        { scope, key: 'e-1' },
        { scope, key: 'e-2' },
      ])} as keys`.execute(t.database.db)
    ).rows[0]?.keys as { request_hash: string; response_body: unknown }[];
    expect(kept).toHaveLength(1);
    const [first] = kept;
    if (!first) throw new Error('no key kept');
    expect(replayOf(first, requestHash({ type: 'shipped' }))).toEqual({ status: 'shipped' });
    expect(replayOrConflict(first, requestHash({ type: 'received' }))).toMatchObject({ ok: false, error: { code: 'conflict' } });
  });
});
