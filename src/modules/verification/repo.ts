import type { Executor } from '../../db/database.ts';

export const verificationRepo = {
  async insert(
    db: Executor,
    row: { tenant_id: string; id: string; phone_bidx: string; code_hash: string; expires_at: Date; idempotency_key: string | null; created_at: Date },
  ): Promise<boolean> {
    // A second send under the same Idempotency-Key inserts nothing: the caller answers the first.
    const r = await db
      .insertInto('phone_verifications')
      .values(row)
      .onConflict((oc) => oc.doNothing())
      .executeTakeFirst();
    return Number(r.numInsertedOrUpdatedRows ?? 0n) === 1;
  },

  async find(db: Executor, tenantId: string, id: string) {
    return db.selectFrom('phone_verifications').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
  },

  async findByIdempotencyKey(db: Executor, tenantId: string, key: string) {
    return db.selectFrom('phone_verifications').selectAll().where('tenant_id', '=', tenantId).where('idempotency_key', '=', key).executeTakeFirst();
  },

  async delete(db: Executor, tenantId: string, id: string) {
    await db.deleteFrom('phone_verifications').where('tenant_id', '=', tenantId).where('id', '=', id).execute();
  },

  /** Counts one attempt, only while the code lives, is unverified and has attempts left: the count comes before the compare. */
  async claimAttempt(db: Executor, tenantId: string, id: string, now: Date, max: number) {
    return db
      .updateTable('phone_verifications')
      .set((eb) => ({ attempts: eb('attempts', '+', 1) }))
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .where('verified_at', 'is', null)
      .where('expires_at', '>', now)
      .where('attempts', '<', max)
      .returningAll()
      .executeTakeFirst();
  },

  async markVerified(db: Executor, tenantId: string, id: string, now: Date) {
    return db
      .updateTable('phone_verifications')
      .set({ verified_at: now })
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .where('verified_at', 'is', null)
      .returningAll()
      .executeTakeFirst();
  },

  /** Verified, of this phone, not used, verified since `notBefore`: marked used by `distributorId`; false otherwise. */
  async consume(db: Executor, tenantId: string, id: string, phoneBidxes: string[], distributorId: string, now: Date, notBefore: Date): Promise<boolean> {
    if (phoneBidxes.length === 0) return false;
    const r = await db
      .updateTable('phone_verifications')
      .set({ consumed_at: now, consumed_by: distributorId })
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .where('consumed_at', 'is', null)
      .where('verified_at', '>=', notBefore)
      .where('phone_bidx', 'in', phoneBidxes)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  },

  /** Codes a day past their life, never verified or long used, go. */
  async prune(db: Executor, before: Date) {
    await db.deleteFrom('phone_verifications').where('expires_at', '<', before).execute();
  },
};
