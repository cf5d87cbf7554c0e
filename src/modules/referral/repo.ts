import type { Insertable } from 'kysely';
import type { Executor } from '../../db/database.ts';
import type { LandingDomainsTable, VisitsTable } from '../../db/schema.ts';

/** The referral module's tables: invite-link visits and the landing domains a tenant verified. */
export const referralRepo = {
  async insertVisit(ex: Executor, visit: Insertable<VisitsTable>) {
    await ex.insertInto('visits').values(visit).execute();
  },

  async visitStats(ex: Executor, distributorId: string) {
    return ex
      .selectFrom('visits')
      .select((eb) => [eb.fn.countAll<number>().as('visits'), eb.fn.count<number>('visitor_id').distinct().as('visitors')])
      .where('distributor_id', '=', distributorId)
      .executeTakeFirstOrThrow();
  },

  // ------------------------------------------------------------------------------- landing domains

  async verifiedDomains(ex: Executor, tenantId: string) {
    return ex.selectFrom('landing_domains').select('domain').where('tenant_id', '=', tenantId).where('verified_at', 'is not', null).execute();
  },

  async findDomain(ex: Executor, tenantId: string, id: string, lock: boolean) {
    let q = ex.selectFrom('landing_domains').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id);
    if (lock) q = q.forUpdate();
    return q.executeTakeFirst();
  },

  async listDomains(ex: Executor, tenantId: string) {
    return ex.selectFrom('landing_domains').selectAll().where('tenant_id', '=', tenantId).orderBy('domain').execute();
  },

  async insertDomain(ex: Executor, row: Insertable<LandingDomainsTable>) {
    return ex.insertInto('landing_domains').values(row).returningAll().executeTakeFirstOrThrow();
  },

  async markDomainVerified(ex: Executor, id: string, at: Date) {
    return ex.updateTable('landing_domains').set({ verified_at: at }).where('id', '=', id).returningAll().executeTakeFirstOrThrow();
  },

  async deleteDomain(ex: Executor, id: string) {
    await ex.deleteFrom('landing_domains').where('id', '=', id).execute();
  },

  /** The link's visits keep their time and visitor cookie id (counts, funnels); IP, browser and referer go. */
  async anonymiseVisits(db: Executor, tenantId: string, distributorId: string): Promise<number> {
    const r = await db
      .updateTable('visits')
      .set({ ip: null, user_agent: null, referer: null })
      .where('tenant_id', '=', tenantId)
      .where('distributor_id', '=', distributorId)
      .where((eb) => eb.or([eb('ip', 'is not', null), eb('user_agent', 'is not', null), eb('referer', 'is not', null)]))
      .executeTakeFirst();
    return Number(r.numUpdatedRows);
  },
};
