import type { Executor } from '../../db/database.ts';

export const portalRepo = {
  async findSettings(db: Executor, tenantId: string) {
    return db.selectFrom('portal_settings').selectAll().where('tenant_id', '=', tenantId).executeTakeFirst();
  },

  async upsertSigningSecret(db: Executor, tenantId: string, secretEnc: string, at: Date) {
    await db.insertInto('portal_settings')
      .values({ tenant_id: tenantId, signing_secret_enc: secretEnc, signing_secret_created_at: at, updated_at: at })
      .onConflict((oc) => oc.column('tenant_id').doUpdateSet({ signing_secret_enc: secretEnc, signing_secret_created_at: at, updated_at: at }))
      .execute();
  },

  async upsertPosterBackground(db: Executor, tenantId: string, bg: { key: string | null; type: 'image/png' | 'image/jpeg' | null }, at: Date) {
    const set = { poster_background_key: bg.key, poster_background_type: bg.type, poster_background_updated_at: bg.key ? at : null, updated_at: at };
    await db.insertInto('portal_settings').values({ tenant_id: tenantId, ...set })
      .onConflict((oc) => oc.column('tenant_id').doUpdateSet(set))
      .execute();
  },

  async findCredential(db: Executor, tenantId: string, distributorId: string) {
    return db.selectFrom('portal_credentials').selectAll()
      .where('tenant_id', '=', tenantId).where('distributor_id', '=', distributorId).executeTakeFirst();
  },

  async upsertCredential(db: Executor, tenantId: string, distributorId: string, passwordHash: string, at: Date) {
    await db.insertInto('portal_credentials')
      .values({ tenant_id: tenantId, distributor_id: distributorId, password_hash: passwordHash, created_at: at, updated_at: at })
      .onConflict((oc) => oc.columns(['tenant_id', 'distributor_id']).doUpdateSet({ password_hash: passwordHash, updated_at: at }))
      .execute();
  },

  /**
   * Distributors of the tenant with this phone that have a portal password. `phoneBidx`: the
   * phone's blind indexes under every configured key (a key rotation may be under way).
   */
  async credentialsByPhone(db: Executor, tenantId: string, phoneBidx: readonly string[]) {
    return db.selectFrom('distributors')
      .innerJoin('portal_credentials', (j) => j
        .onRef('portal_credentials.distributor_id', '=', 'distributors.id')
        .onRef('portal_credentials.tenant_id', '=', 'distributors.tenant_id'))
      .select(['distributors.id as distributor_id', 'distributors.status', 'portal_credentials.password_hash'])
      .where('distributors.tenant_id', '=', tenantId).where('distributors.phone_bidx', 'in', phoneBidx)
      .orderBy('distributors.id').limit(5).execute();
  },

  /** Distributors of the tenant with this phone (blind index), with or without a password. */
  async distributorIdsByPhone(db: Executor, tenantId: string, phoneBidx: readonly string[]) {
    const rows = await db.selectFrom('distributors').select('id')
      .where('tenant_id', '=', tenantId).where('phone_bidx', 'in', phoneBidx).orderBy('id').limit(5).execute();
    return rows.map((r) => r.id);
  },

  /** Claims a login token's id; false if it was claimed before (a replay). */
  async claimTokenId(db: Executor, t: { tenant_id: string; jti: string; distributor_id: string; expires_at: Date; used_at: Date }) {
    const r = await db.insertInto('portal_token_uses').values(t)
      .onConflict((oc) => oc.columns(['tenant_id', 'jti']).doNothing())
      .returning('jti').executeTakeFirst();
    return r !== undefined;
  },

  async pruneTokenIds(db: Executor, before: Date) {
    await db.deleteFrom('portal_token_uses').where('expires_at', '<', before).execute();
  },

  /**
   * Ends the subject's other sessions (after a password change), keeping the current one.
   * Sessions belong to the admin module, whose service revokes all of a subject's sessions or
   * one; keeping the session that made the change needs this one query of its own.
   */
  async revokeOtherSessions(db: Executor, tenantId: string, distributorId: string, keepSessionId: string, at: Date) {
    await db.updateTable('sessions').set({ revoked_at: at })
      .where('tenant_id', '=', tenantId).where('subject_type', '=', 'distributor').where('subject_id', '=', distributorId)
      .where('id', '!=', keepSessionId).where('revoked_at', 'is', null).execute();
  },
};
