import type { ApiKeyScope } from '../../db/schema.ts';
import type { Executor } from '../../db/database.ts';

export const tenantsRepo = {
  async insert(db: Executor, t: { id: string; name: string; slug: string }) {
    await db.insertInto('tenants').values(t).execute();
  },
  async findBySlug(db: Executor, slug: string) {
    return db.selectFrom('tenants').selectAll().where('slug', '=', slug).executeTakeFirst();
  },
  async slugTaken(db: Executor, slug: string) {
    return (await db.selectFrom('tenants').select('id').where('slug', '=', slug).executeTakeFirst()) !== undefined;
  },
  async find(db: Executor, id: string) {
    return db.selectFrom('tenants').selectAll().where('id', '=', id).executeTakeFirst();
  },
  /** Compare-and-set of the tenant's status: false when it was not in `from` (or does not exist). */
  async setStatus(db: Executor, id: string, from: 'active' | 'suspended', to: 'active' | 'suspended') {
    const r = await db.updateTable('tenants').set({ status: to }).where('id', '=', id).where('status', '=', from).executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  },
  async findForUpdate(db: Executor, id: string) {
    return db.selectFrom('tenants').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
  },
  async list(db: Executor) {
    return db.selectFrom('tenants').selectAll().orderBy('id').execute();
  },
  async insertKey(db: Executor, k: { id: string; tenant_id: string; name: string; secret_hash: string; scope: ApiKeyScope }) {
    await db.insertInto('api_keys').values(k).execute();
  },
  async findKey(db: Executor, id: string) {
    return db
      .selectFrom('api_keys')
      .innerJoin('tenants', 'tenants.id', 'api_keys.tenant_id')
      .select(['api_keys.id', 'api_keys.tenant_id', 'api_keys.secret_hash', 'api_keys.scope', 'api_keys.revoked_at', 'tenants.status as tenant_status'])
      .where('api_keys.id', '=', id)
      .executeTakeFirst();
  },
  async listKeys(db: Executor, tenantId: string) {
    return db
      .selectFrom('api_keys')
      .select(['id', 'name', 'scope', 'created_at', 'revoked_at', 'last_used_at'])
      .where('tenant_id', '=', tenantId)
      .orderBy('id')
      .execute();
  },
  async revokeKey(db: Executor, tenantId: string, id: string, at: Date) {
    const r = await db
      .updateTable('api_keys')
      .set({ revoked_at: at })
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  },
  async findKeyOfTenant(db: Executor, tenantId: string, id: string) {
    return db
      .selectFrom('api_keys')
      .select(['id', 'name', 'scope', 'created_at', 'revoked_at', 'last_used_at'])
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .executeTakeFirst();
  },

  /** last_used_at of a key, unless it was set since `staleBefore` (one write a minute, not one a request). */
  async touchKey(db: Executor, keyId: string, at: Date, staleBefore: Date) {
    await db
      .updateTable('api_keys')
      .set({ last_used_at: at })
      .where('id', '=', keyId)
      .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', staleBefore)]))
      .execute();
  },
};
