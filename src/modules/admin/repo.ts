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
    return db.selectFrom('admin_users').selectAll()
      .where('tenant_id', '=', tenantId)
      .where((eb) => eb(eb.fn('lower', ['email']), '=', email.toLowerCase()))
      .executeTakeFirst();
  },
  async listUsers(db: Executor, tenantId: string) {
    return db.selectFrom('admin_users').selectAll().where('tenant_id', '=', tenantId).orderBy('id').execute();
  },
  async updateUser(db: Executor, tenantId: string, id: string, set: Partial<{ role: AdminRole; name: string; password_hash: string; disabled_at: Date | null; failed_logins: number; locked_until: Date | null; updated_at: Date }>) {
    await db.updateTable('admin_users').set(set).where('tenant_id', '=', tenantId).where('id', '=', id).execute();
  },
  async countOwners(db: Executor, tenantId: string) {
    const r = await db.selectFrom('admin_users').select((eb) => eb.fn.countAll<number>().as('n'))
      .where('tenant_id', '=', tenantId).where('role', '=', 'owner').where('disabled_at', 'is', null).executeTakeFirstOrThrow();
    return Number(r.n);
  },
  async insertSession(db: Executor, s: { id: string; token_hash: string; tenant_id: string; subject_type: 'admin' | 'distributor'; subject_id: string; role: string; expires_at: Date }) {
    await db.insertInto('sessions').values(s).execute();
  },
  async findSessionByHash(db: Executor, tokenHash: string) {
    return db.selectFrom('sessions').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();
  },
  async revokeSession(db: Executor, id: string, at: Date) {
    await db.updateTable('sessions').set({ revoked_at: at }).where('id', '=', id).where('revoked_at', 'is', null).execute();
  },
  async revokeSessionsOf(db: Executor, tenantId: string, subjectType: 'admin' | 'distributor', subjectId: string, at: Date) {
    await db.updateTable('sessions').set({ revoked_at: at })
      .where('tenant_id', '=', tenantId).where('subject_type', '=', subjectType).where('subject_id', '=', subjectId)
      .where('revoked_at', 'is', null).execute();
  },
};
