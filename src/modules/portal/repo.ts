import type { Executor } from '../../db/database.ts';

export const portalRepo = {
  async findSettings(db: Executor, tenantId: string) {
    return db.selectFrom('portal_settings').selectAll().where('tenant_id', '=', tenantId).executeTakeFirst();
  },

  async upsertSigningSecret(db: Executor, tenantId: string, secretEnc: string, at: Date) {
    await db
      .insertInto('portal_settings')
      .values({ tenant_id: tenantId, signing_secret_enc: secretEnc, signing_secret_created_at: at, updated_at: at })
      .onConflict((oc) => oc.column('tenant_id').doUpdateSet({ signing_secret_enc: secretEnc, signing_secret_created_at: at, updated_at: at }))
      .execute();
  },

  async upsertPosterBackground(db: Executor, tenantId: string, bg: { key: string | null; type: 'image/png' | 'image/jpeg' | null }, at: Date) {
    const set = { poster_background_key: bg.key, poster_background_type: bg.type, poster_background_updated_at: bg.key ? at : null, updated_at: at };
    await db
      .insertInto('portal_settings')
      .values({ tenant_id: tenantId, ...set })
      .onConflict((oc) => oc.column('tenant_id').doUpdateSet(set))
      .execute();
  },

  async findCredential(db: Executor, tenantId: string, distributorId: string) {
    return db.selectFrom('portal_credentials').selectAll().where('tenant_id', '=', tenantId).where('distributor_id', '=', distributorId).executeTakeFirst();
  },

  /** `selfRegistered`: written by the public application form (kept as it was on a later password change). */
  async upsertCredential(db: Executor, tenantId: string, distributorId: string, passwordHash: string, at: Date, selfRegistered = false) {
    await db
      .insertInto('portal_credentials')
      .values({
        tenant_id: tenantId,
        distributor_id: distributorId,
        password_hash: passwordHash,
        self_registered: selfRegistered,
        created_at: at,
        updated_at: at,
      })
      .onConflict((oc) => oc.columns(['tenant_id', 'distributor_id']).doUpdateSet({ password_hash: passwordHash, updated_at: at }))
      .execute();
  },

  /**
   * Distributors of the tenant with this phone that have a portal password. `phoneBidx`: the
   * phone's blind indexes under every configured key (a key rotation may be under way).
   */
  async credentialsByPhone(db: Executor, tenantId: string, phoneBidx: readonly string[]) {
    return db
      .selectFrom('distributors')
      .innerJoin('portal_credentials', (j) =>
        j.onRef('portal_credentials.distributor_id', '=', 'distributors.id').onRef('portal_credentials.tenant_id', '=', 'distributors.tenant_id'),
      )
      .select(['distributors.id as distributor_id', 'distributors.status', 'portal_credentials.password_hash'])
      .where('distributors.tenant_id', '=', tenantId)
      .where('distributors.phone_bidx', 'in', phoneBidx)
      .orderBy('distributors.id')
      .limit(5)
      .execute();
  },

  /** Distributors of the tenant with this phone (blind index), with or without a password. */
  async distributorIdsByPhone(db: Executor, tenantId: string, phoneBidx: readonly string[]) {
    const rows = await db
      .selectFrom('distributors')
      .select('id')
      .where('tenant_id', '=', tenantId)
      .where('phone_bidx', 'in', phoneBidx)
      .orderBy('id')
      .limit(5)
      .execute();
    return rows.map((r) => r.id);
  },

  /** The merchant vouches for an account the public form made: login tokens may sign it in. */
  async linkCredential(db: Executor, tenantId: string, distributorId: string, at: Date) {
    const r = await db
      .updateTable('portal_credentials')
      .set({ linked_at: at })
      .where('tenant_id', '=', tenantId)
      .where('distributor_id', '=', distributorId)
      .where('self_registered', '=', true)
      .where('linked_at', 'is', null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  },

  async insertApplication(
    db: Executor,
    row: {
      id: string;
      tenant_id: string;
      phone_bidx: string;
      payload_enc: string;
      password_hash: string;
      code_hash: string;
      expires_at: Date;
      created_at: Date;
    },
  ) {
    await db.insertInto('portal_applications').values(row).execute();
  },

  /**
   * Counts one code attempt of a live application and answers it, before the code is compared;
   * undefined when it is unknown (to this tenant), used, expired, or out of attempts. One
   * statement, so concurrent guesses each take an attempt and no more than `max` are compared.
   */
  async claimApplicationAttempt(db: Executor, tenantId: string, id: string, now: Date, max: number) {
    return db
      .updateTable('portal_applications')
      .set((eb) => ({ attempts: eb('attempts', '+', 1) }))
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .where('consumed_at', 'is', null)
      .where('expires_at', '>', now)
      .where('attempts', '<', max)
      .returningAll()
      .executeTakeFirst();
  },

  /** Marks the application used; false if it was, or if another application of its phone is being used (the partial unique index). */
  async consumeApplication(db: Executor, tenantId: string, id: string, now: Date) {
    const r = await db
      .updateTable('portal_applications')
      .set({ consumed_at: now })
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .where('consumed_at', 'is', null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  },

  /** Gives a used application back (its distributor could not be made; the code may be entered again while it lives). */
  async releaseApplication(db: Executor, tenantId: string, id: string) {
    await db.updateTable('portal_applications').set({ consumed_at: null }).where('tenant_id', '=', tenantId).where('id', '=', id).execute();
  },

  async deleteApplication(db: Executor, tenantId: string, id: string) {
    await db.deleteFrom('portal_applications').where('tenant_id', '=', tenantId).where('id', '=', id).execute();
  },

  async pruneApplications(db: Executor, before: Date) {
    await db.deleteFrom('portal_applications').where('expires_at', '<', before).execute();
  },

  /** Claims a login token's id; false if it was claimed before (a replay). */
  async claimTokenId(db: Executor, t: { tenant_id: string; jti: string; distributor_id: string; expires_at: Date; used_at: Date }) {
    const r = await db
      .insertInto('portal_token_uses')
      .values(t)
      .onConflict((oc) => oc.columns(['tenant_id', 'jti']).doNothing())
      .returning('jti')
      .executeTakeFirst();
    return r !== undefined;
  },

  async pruneTokenIds(db: Executor, before: Date) {
    await db.deleteFrom('portal_token_uses').where('expires_at', '<', before).execute();
  },

  /** Erasure (pii): the person's portal password and used login tokens go. */
  async deleteCredentialsOf(db: Executor, tenantId: string, distributorId: string) {
    await db.deleteFrom('portal_credentials').where('tenant_id', '=', tenantId).where('distributor_id', '=', distributorId).execute();
    await db.deleteFrom('portal_token_uses').where('tenant_id', '=', tenantId).where('distributor_id', '=', distributorId).execute();
  },
};
