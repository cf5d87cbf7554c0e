import { sql, type Insertable, type Selectable } from 'kysely';
import type { Executor } from '../../db/database.ts';
import type { DistributorsTable, DistributorStatus, DocumentsTable } from '../../db/schema.ts';
import { PROFILE_PERSONAL_KEYS } from '../pii/fields.ts';

/** `array['real_name', …]`, as the partial index distributors_profile_plaintext names them. */
const PERSONAL_KEYS_SQL = sql.raw(`array[${PROFILE_PERSONAL_KEYS.map((k) => `'${k}'`).join(', ')}]`);

export type DistributorRow = Selectable<DistributorsTable>;

export interface NewDistributor {
  id: string;
  tenant_id: string;
  external_id: string;
  name: string;
  phone_enc: string | null;
  phone_bidx: string | null;
  real_name_enc: string | null;
  id_number_enc: string | null;
  id_number_bidx: string | null;
  contact_enc: string | null;
  invite_code: string;
  status: DistributorStatus;
  referrer_id: string | null;
  ancestors: string[];
  grade_code: string;
  region_code: string | null;
  profile: Record<string, unknown>;
  source: 'api' | 'application' | 'admin';
  consent_at: Date | null;
  approved_at: Date | null;
  device_bidx?: string | null;
  /** When it joined, by the service's clock (the database's now() when absent). */
  created_at?: Date;
}

export const distributorsRepo = {
  async insert(db: Executor, d: NewDistributor) {
    await db
      .insertInto('distributors')
      .values({ ...d, profile: JSON.stringify(d.profile) })
      .execute();
  },

  async find(db: Executor, tenantId: string, id: string) {
    return db.selectFrom('distributors').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
  },

  async findForUpdate(db: Executor, tenantId: string, id: string) {
    return db.selectFrom('distributors').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).forUpdate().executeTakeFirst();
  },

  /** Several distributors locked in id order (as every multi-row lock of them is taken), as they stand now. */
  async findManyForUpdate(db: Executor, tenantId: string, ids: string[]) {
    if (ids.length === 0) return [];
    return db.selectFrom('distributors').selectAll().where('tenant_id', '=', tenantId).where('id', 'in', ids).orderBy('id').forUpdate().execute();
  },

  /** A share lock on the referrer freezes its ancestors until the new child is written. */
  async findForShare(db: Executor, tenantId: string, id: string) {
    return db.selectFrom('distributors').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).forShare().executeTakeFirst();
  },

  async findByExternalId(db: Executor, tenantId: string, externalId: string) {
    return db.selectFrom('distributors').selectAll().where('tenant_id', '=', tenantId).where('external_id', '=', externalId).executeTakeFirst();
  },

  async findByExternalIdForUpdate(db: Executor, tenantId: string, externalId: string) {
    return db.selectFrom('distributors').selectAll().where('tenant_id', '=', tenantId).where('external_id', '=', externalId).forUpdate().executeTakeFirst();
  },

  async findByInviteCode(db: Executor, code: string) {
    return db.selectFrom('distributors').selectAll().where('invite_code', '=', code).executeTakeFirst();
  },

  async updateStatus(
    db: Executor,
    tenantId: string,
    id: string,
    from: DistributorStatus[],
    to: DistributorStatus,
    set: { status_reason?: string | null; approved_at?: Date | null; updated_at: Date },
  ) {
    const r = await db
      .updateTable('distributors')
      .set({ status: to, ...set })
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .where('status', 'in', from)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  },

  async update(
    db: Executor,
    tenantId: string,
    id: string,
    set: Partial<{
      name: string;
      phone_enc: string | null;
      phone_bidx: string | null;
      real_name_enc: string | null;
      id_number_enc: string | null;
      id_number_bidx: string | null;
      contact_enc: string | null;
      consent_at: Date;
      grade_code: string;
      region_code: string | null;
      profile: string;
      deposit_paid_fen: number;
      deposit_refunded_fen: number;
      training_completed_at: Date | null;
      updated_at: Date;
    }>,
  ) {
    await db.updateTable('distributors').set(set).where('tenant_id', '=', tenantId).where('id', '=', id).execute();
  },

  /** The blind indexes of a distributor's phone and ID number, by id alone. */
  /** Other distributors of the tenant holding this phone or ID number (the review's shared-identity check). */
  async sharingIdentity(db: Executor, tenantId: string, id: string, phoneBidx: string | null, idNumberBidx: string | null) {
    const count = async (column: 'phone_bidx' | 'id_number_bidx', bidx: string | null) =>
      bidx === null
        ? 0
        : Number(
            (
              await db
                .selectFrom('distributors')
                .select((eb) => eb.fn.countAll<string>().as('n'))
                .where('tenant_id', '=', tenantId)
                .where('id', '<>', id)
                .where(column, '=', bidx)
                .executeTakeFirstOrThrow()
            ).n,
          );
    return { phone: await count('phone_bidx', phoneBidx), idNumber: await count('id_number_bidx', idNumberBidx) };
  },

  async insertReview(
    db: Executor,
    row: { tenant_id: string; distributor_id: string; outcome: 'approved' | 'referred' | 'rejected'; checks: unknown; rules: unknown; decided_at: Date },
  ) {
    await db
      .insertInto('application_reviews')
      .values({ ...row, checks: JSON.stringify(row.checks), rules: JSON.stringify(row.rules) })
      .execute();
  },

  async findReview(db: Executor, tenantId: string, distributorId: string) {
    return db.selectFrom('application_reviews').selectAll().where('tenant_id', '=', tenantId).where('distributor_id', '=', distributorId).executeTakeFirst();
  },

  async identityIndexes(db: Executor, id: string) {
    return db.selectFrom('distributors').select(['phone_bidx', 'id_number_bidx']).where('id', '=', id).executeTakeFirstOrThrow();
  },

  /** A distributor's grade, by id alone (ids are unique across tenants). */
  async findGrade(db: Executor, id: string) {
    return db.selectFrom('distributors').select(['grade_code']).where('id', '=', id).executeTakeFirst();
  },

  async exists(db: Executor, tenantId: string, id: string): Promise<boolean> {
    return (await db.selectFrom('distributors').select('id').where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst()) !== undefined;
  },

  /** Compare-and-set of a grade (upgrades): false when someone changed it from `from` meanwhile. */
  async setGradeIf(db: Executor, id: string, from: string, to: string, at: Date): Promise<boolean> {
    const r = await db
      .updateTable('distributors')
      .set({ grade_code: to, updated_at: at })
      .where('id', '=', id)
      .where('grade_code', '=', from)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  },

  /** Erasure at the person's request (pii): what identified it goes, the row stays for the ledger. */
  async anonymise(db: Executor, tenantId: string, id: string, set: { name: string; status_reason: string; at: Date }) {
    await db
      .updateTable('distributors')
      .set({
        name: set.name,
        phone_enc: null,
        phone_bidx: null,
        real_name_enc: null,
        id_number_enc: null,
        id_number_bidx: null,
        contact_enc: null,
        profile: '{}',
        status: 'erased',
        status_reason: set.status_reason,
        erased_at: set.at,
        updated_at: set.at,
      })
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .execute();
  },

  /**
   * Rows whose application profile still holds personal data in plaintext (pii/legacy.ts), locked;
   * SKIP LOCKED leaves the rows another process is moving to it.
   */
  async lockLegacyProfiles(db: Executor, afterId: string, limit: number) {
    return db
      .selectFrom('distributors')
      .select(['id', 'profile', 'real_name_enc', 'id_number_enc', 'id_number_bidx', 'contact_enc'])
      .where(sql<boolean>`profile ?| ${PERSONAL_KEYS_SQL}`)
      .where('id', '>', afterId)
      .orderBy('id')
      .limit(limit)
      .forUpdate()
      .skipLocked()
      .execute();
  },

  /** Writes a legacy profile's ciphertexts and drops its plaintext keys, in one UPDATE. */
  async encryptLegacyProfile(
    db: Executor,
    id: string,
    set: Partial<{ real_name_enc: string | null; id_number_enc: string | null; id_number_bidx: string | null; contact_enc: string | null }>,
  ) {
    await db
      .updateTable('distributors')
      .set({ ...set, profile: sql`profile - ${PERSONAL_KEYS_SQL}` })
      .where('id', '=', id)
      .execute();
  },

  /** Sets the risk hold flag (the risk module's holds and their release). */
  async setRiskHold(db: Executor, id: string, hold: boolean) {
    await db.updateTable('distributors').set({ risk_hold: hold }).where('id', '=', id).execute();
  },

  /** Holds several distributors at once (the risk engine's batch); `ids` distinct, in id order. */
  async holdMany(db: Executor, ids: string[]) {
    await db.updateTable('distributors').set({ risk_hold: true }).where('id', 'in', ids).execute();
  },

  /** phoneBidx and idNumberBidx: the value's blind indexes under every configured key. */
  async list(
    db: Executor,
    tenantId: string,
    f: {
      status?: DistributorStatus;
      grade?: string;
      q?: string;
      phoneBidx?: string[];
      idNumberBidx?: string[];
      referrerId?: string;
      afterId?: string;
      limit: number;
    },
  ) {
    let q = db.selectFrom('distributors').selectAll().where('tenant_id', '=', tenantId);
    if (f.status) q = q.where('status', '=', f.status);
    if (f.grade) q = q.where('grade_code', '=', f.grade);
    if (f.referrerId) q = q.where('referrer_id', '=', f.referrerId);
    if (f.q) {
      const term = f.q;
      const like = '%' + term.replace(/[\\%_]/g, (c) => '\\' + c) + '%';
      q = q.where((eb) =>
        eb.or([
          eb('external_id', '=', term),
          eb('invite_code', '=', term.toUpperCase()),
          eb('id', '=', term),
          eb('name', 'ilike', like),
          ...(f.phoneBidx ? [eb('phone_bidx', 'in', f.phoneBidx)] : []),
          ...(f.idNumberBidx ? [eb('id_number_bidx', 'in', f.idNumberBidx)] : []),
        ]),
      );
    }
    if (f.afterId) q = q.where('id', '>', f.afterId);
    return q.orderBy('id').limit(f.limit).execute();
  },

  // ------------------------------------------------------------------------------- the tree

  /** The upline chain, nearest first, as rows (one index probe per id, in one query). */
  /**
   * What a batch of orders may need of the tree, in one query: the distributors among these
   * external ids (buyers), invite codes and ids (bindings, claims), and their uplines up to 3
   * levels (the chains an order can credit).
   */
  async findForOrders(db: Executor, tenantId: string, f: { externalIds: string[]; inviteCodes: string[]; ids: string[] }): Promise<DistributorRow[]> {
    // Three index lookups (external id, invite code, id), not one OR the planner may answer with
    // a scan of the tenant's whole tree; then the uplines the chains can reach, by primary key.
    const r = await sql<DistributorRow>`
      with base as (
        select * from distributors where tenant_id = ${tenantId} and external_id = any(${f.externalIds}::text[])
        union all
        select * from distributors where invite_code = any(${f.inviteCodes}::text[]) and tenant_id = ${tenantId}
        union all
        select * from distributors where id = any(${f.ids}::text[]) and tenant_id = ${tenantId}
      ), up as (
        select distinct u.id from base b cross join lateral unnest(b.ancestors[1:3]) as u(id)
      )
      select * from base
      union all
      select d.* from distributors d join up on d.id = up.id where d.tenant_id = ${tenantId}`.execute(db);
    // A distributor found twice (the buyer and its own referrer's code…) is one row.
    const byId = new Map<string, DistributorRow>();
    for (const row of r.rows) if (!byId.has(row.id)) byId.set(row.id, row);
    return [...byId.values()];
  },

  async findMany(db: Executor, tenantId: string, ids: string[]) {
    if (ids.length === 0) return [];
    return db.selectFrom('distributors').selectAll().where('tenant_id', '=', tenantId).where('id', 'in', ids).execute();
  },

  /** Level 1..3 below `id`, one keyset page. Served by the distributors_level{k} indexes. */
  async downline(db: Executor, tenantId: string, id: string, level: 1 | 2 | 3, afterId: string | undefined, limit: number) {
    let q = db.selectFrom('distributors').selectAll().where('tenant_id', '=', tenantId);
    q = level === 1 ? q.where('referrer_id', '=', id) : q.where(sql<string>`ancestors[${sql.lit(level)}]`, '=', id);
    if (afterId) q = q.where('id', '>', afterId);
    return q.orderBy('id').limit(limit).execute();
  },

  /**
   * Ids are unique across tenants, so the caller (which loaded `id` within its tenant) needs no
   * tenant filter here, and without one the count is answered from the level index alone.
   */
  async countLevel(db: Executor, _tenantId: string, id: string, level: 1 | 2 | 3) {
    let q = db.selectFrom('distributors').select((eb) => eb.fn.countAll<number>().as('n'));
    q = level === 1 ? q.where('referrer_id', '=', id) : q.where(sql<string>`ancestors[${sql.lit(level)}]`, '=', id);
    return Number((await q.executeTakeFirstOrThrow()).n);
  },

  /** Everyone under `id` at any depth (GIN on ancestors). */
  async countSubtree(db: Executor, _tenantId: string, id: string) {
    const r = await db
      .selectFrom('distributors')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where(sql<boolean>`ancestors @> array[${id}]::text[]`)
      .executeTakeFirstOrThrow();
    return Number(r.n);
  },

  /** Locks `id` and every distributor under it, in id order (a fixed order: no deadlocks). */
  async lockSubtree(db: Executor, tenantId: string, id: string) {
    return db
      .selectFrom('distributors')
      .select(['id', 'ancestors'])
      .where('tenant_id', '=', tenantId)
      .where((eb) => eb.or([eb('id', '=', id), eb(sql<boolean>`ancestors @> array[${id}]::text[]`, '=', true)]))
      .orderBy('id')
      .forUpdate()
      .execute();
  },

  /**
   * Re-roots the subtree of `id` under a new upline chain. Each member keeps the part of its
   * path below `id` and gets `newChain` (the new referrer and its ancestors) above it.
   */
  async rewriteSubtree(db: Executor, tenantId: string, id: string, newReferrerId: string | null, newChain: string[], at: Date) {
    await db
      .updateTable('distributors')
      .set({ referrer_id: newReferrerId, ancestors: newChain, updated_at: at })
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .execute();
    await sql`
      update distributors
         set ancestors = ancestors[1:array_position(ancestors, ${id})] || ${newChain}::text[],
             updated_at = ${at}
       where tenant_id = ${tenantId} and ancestors @> array[${id}]::text[]`.execute(db);
  },
};

/** Identity documents of distributors (documents.ts): rows beside encrypted files in the storage. */
export const documentsRepo = {
  /** The distributor's and the tenant's documents, counted and summed (the caps). */
  async usage(ex: Executor, tenantId: string, distributorId: string) {
    const r = await sql<{ dn: string | number; db: string | number; tn: string | number; tb: string | number }>`
      select count(*) filter (where distributor_id = ${distributorId}) as dn,
             coalesce(sum(size_bytes) filter (where distributor_id = ${distributorId}), 0) as db,
             count(*) as tn, coalesce(sum(size_bytes), 0) as tb
        from documents where tenant_id = ${tenantId}`.execute(ex);
    return r.rows[0];
  },

  async insert(ex: Executor, row: Insertable<DocumentsTable>) {
    return ex.insertInto('documents').values(row).returningAll().executeTakeFirstOrThrow();
  },

  async listOf(ex: Executor, tenantId: string, distributorId: string) {
    return ex.selectFrom('documents').selectAll().where('tenant_id', '=', tenantId).where('distributor_id', '=', distributorId).orderBy('id').execute();
  },

  async find(ex: Executor, tenantId: string, id: string) {
    return ex.selectFrom('documents').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
  },

  async findForUpdate(ex: Executor, tenantId: string, id: string) {
    return ex.selectFrom('documents').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).forUpdate().executeTakeFirst();
  },

  async delete(ex: Executor, id: string) {
    await ex.deleteFrom('documents').where('id', '=', id).execute();
  },

  /** Documents an earlier version stored in plaintext, locked (SKIP LOCKED: processes share the work). */
  async lockPlaintext(ex: Executor, afterId: string, limit: number) {
    return ex
      .selectFrom('documents')
      .selectAll()
      .where('data_key_enc', 'is', null)
      .where('id', '>', afterId)
      .orderBy('id')
      .limit(limit)
      .forUpdate()
      .skipLocked()
      .execute();
  },

  async setSealed(ex: Executor, id: string, set: { data_key_enc: string; storage_key: string }) {
    await ex.updateTable('documents').set(set).where('id', '=', id).execute();
  },

  async plaintextCount(ex: Executor) {
    const r = await ex
      .selectFrom('documents')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('data_key_enc', 'is', null)
      .executeTakeFirstOrThrow();
    return Number(r.n);
  },

  /** Erasure (pii): every document of the distributor, answering the files to delete. */
  async deleteAllOf(db: Executor, tenantId: string, distributorId: string): Promise<string[]> {
    const rows = await db
      .deleteFrom('documents')
      .where('tenant_id', '=', tenantId)
      .where('distributor_id', '=', distributorId)
      .returning('storage_key')
      .execute();
    return rows.map((r) => r.storage_key);
  },
};
