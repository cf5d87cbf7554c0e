import type { Executor } from '../../db/database.ts';
import type { AdminRole } from '../../db/schema.ts';

export const adminRepo = {
  async insertUser(db: Executor, u: { id: string; tenant_id: string; email: string; name: string; password_hash: string; role: AdminRole }) {
    await db.insertInto('admin_users').values(u).execute();
  },
  async findUser(db: Executor, tenantId: string, id: string) {
    return db.selectFrom('admin_users').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
  },
  async findUserByEmail(db: Executor, tenantId: string, email: string) {
    return db
      .selectFrom('admin_users')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where((eb) => eb(eb.fn('lower', ['email']), '=', email.toLowerCase()))
      .executeTakeFirst();
  },
  async listUsers(db: Executor, tenantId: string) {
    return db.selectFrom('admin_users').selectAll().where('tenant_id', '=', tenantId).orderBy('id').execute();
  },
  /**
   * The users an email may log in as when no merchant is named: that email's users in every
   * tenant (usually one), with their tenant's status and slug; at most `limit`.
   */
  async findLoginUsersAnyTenant(db: Executor, email: string, limit: number) {
    return db
      .selectFrom('admin_users')
      .innerJoin('tenants', 'tenants.id', 'admin_users.tenant_id')
      .selectAll('admin_users')
      .select(['tenants.status as tenant_status', 'tenants.slug as tenant_slug'])
      .where((eb) => eb(eb.fn('lower', ['admin_users.email']), '=', email.toLowerCase()))
      .orderBy('admin_users.id')
      .limit(limit)
      .execute();
  },
  /** The user an email logs in as in a merchant named by its id or its slug, with the tenant's status and slug. */
  async findLoginUserIn(db: Executor, tenant: { id: string } | { slug: string }, email: string) {
    return db
      .selectFrom('admin_users')
      .innerJoin('tenants', 'tenants.id', 'admin_users.tenant_id')
      .selectAll('admin_users')
      .select(['tenants.status as tenant_status', 'tenants.slug as tenant_slug'])
      .where('id' in tenant ? 'tenants.id' : 'tenants.slug', '=', 'id' in tenant ? tenant.id : tenant.slug)
      .where((eb) => eb(eb.fn('lower', ['admin_users.email']), '=', email.toLowerCase()))
      .executeTakeFirst();
  },
  async updateUser(
    db: Executor,
    tenantId: string,
    id: string,
    set: Partial<{ role: AdminRole; name: string; password_hash: string; disabled_at: Date | null; updated_at: Date }>,
  ) {
    await db.updateTable('admin_users').set(set).where('tenant_id', '=', tenantId).where('id', '=', id).execute();
  },
  async countOwners(db: Executor, tenantId: string) {
    const r = await db
      .selectFrom('admin_users')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('tenant_id', '=', tenantId)
      .where('role', '=', 'owner')
      .where('disabled_at', 'is', null)
      .executeTakeFirstOrThrow();
    return Number(r.n);
  },
  async insertSession(
    db: Executor,
    s: { id: string; token_hash: string; tenant_id: string; subject_type: 'admin' | 'distributor'; subject_id: string; role: string; expires_at: Date },
  ) {
    await db.insertInto('sessions').values(s).execute();
  },
  /**
   * A session by its token's hash, with what decides whether it still works: its tenant's status
   * and its subject's (an admin user's role and whether it is disabled, a distributor's status).
   * The subject tables are read, never written, here.
   */
  async findSessionByHash(db: Executor, tokenHash: string) {
    return db
      .selectFrom('sessions')
      .innerJoin('tenants', 'tenants.id', 'sessions.tenant_id')
      .leftJoin('admin_users', (j) =>
        j
          .onRef('admin_users.id', '=', 'sessions.subject_id')
          .onRef('admin_users.tenant_id', '=', 'sessions.tenant_id')
          .on('sessions.subject_type', '=', 'admin'),
      )
      .leftJoin('distributors', (j) =>
        j
          .onRef('distributors.id', '=', 'sessions.subject_id')
          .onRef('distributors.tenant_id', '=', 'sessions.tenant_id')
          .on('sessions.subject_type', '=', 'distributor'),
      )
      .select([
        'sessions.id',
        'sessions.tenant_id',
        'sessions.subject_type',
        'sessions.subject_id',
        'sessions.expires_at',
        'sessions.revoked_at',
        'tenants.status as tenant_status',
        'admin_users.role as admin_role',
        'admin_users.disabled_at as admin_disabled_at',
        'distributors.status as distributor_status',
      ])
      .where('sessions.token_hash', '=', tokenHash)
      .executeTakeFirst();
  },
  async revokeSession(db: Executor, id: string, at: Date) {
    await db.updateTable('sessions').set({ revoked_at: at }).where('id', '=', id).where('revoked_at', 'is', null).execute();
  },
  /** Ends every live session of a tenant (its suspension). */
  async revokeTenantSessions(db: Executor, tenantId: string, at: Date) {
    const r = await db.updateTable('sessions').set({ revoked_at: at }).where('tenant_id', '=', tenantId).where('revoked_at', 'is', null).executeTakeFirst();
    return Number(r.numUpdatedRows);
  },
  async revokeSessionsOf(db: Executor, tenantId: string, subjectType: 'admin' | 'distributor', subjectId: string, at: Date) {
    await db
      .updateTable('sessions')
      .set({ revoked_at: at })
      .where('tenant_id', '=', tenantId)
      .where('subject_type', '=', subjectType)
      .where('subject_id', '=', subjectId)
      .where('revoked_at', 'is', null)
      .execute();
  },

  /** Erasure (pii): every open session of the distributor ends; how many did. */
  async revokeDistributorSessions(db: Executor, tenantId: string, distributorId: string, at: Date): Promise<number> {
    const r = await db
      .updateTable('sessions')
      .set({ revoked_at: at })
      .where('tenant_id', '=', tenantId)
      .where('subject_type', '=', 'distributor')
      .where('subject_id', '=', distributorId)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows);
  },

  /**
   * Ends the subject's other sessions (after a password change), keeping the current one.
   * For the portal's password change (a distributor's sessions live here, with the console's).
   */
  async revokeOtherSessions(db: Executor, tenantId: string, distributorId: string, keepSessionId: string, at: Date) {
    await db
      .updateTable('sessions')
      .set({ revoked_at: at })
      .where('tenant_id', '=', tenantId)
      .where('subject_type', '=', 'distributor')
      .where('subject_id', '=', distributorId)
      .where('id', '!=', keepSessionId)
      .where('revoked_at', 'is', null)
      .execute();
  },
};
