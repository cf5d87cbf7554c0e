import { sql, type RawBuilder } from 'kysely';
import type { Executor } from '../../db/database.ts';

/**
 * SQL of the pii module: what Fenxiao holds about one person (for the personal-data export) and
 * the erasure. One query per method, rows out, no rules.
 */
export const piiRepo = {
  /** The open erasure request of a distributor, if any. */
  async openErasureRequest(db: Executor, tenantId: string, distributorId: string) {
    return db
      .selectFrom('erasure_requests')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('distributor_id', '=', distributorId)
      .where('status', '=', 'open')
      .executeTakeFirst();
  },

  /** The newest erasure request of a distributor, open or done. */
  async latestErasureRequest(db: Executor, tenantId: string, distributorId: string) {
    return db
      .selectFrom('erasure_requests')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('distributor_id', '=', distributorId)
      .orderBy('requested_at', 'desc')
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirst();
  },

  /** Inserts an open request; none when one is already open (the partial unique index decides). */
  async insertErasureRequest(db: Executor, r: { id: string; tenant_id: string; distributor_id: string; requested_at: Date }) {
    const row = await db
      .insertInto('erasure_requests')
      .values({ ...r, status: 'open' })
      .onConflict((oc) => oc.columns(['tenant_id', 'distributor_id']).where('status', '=', 'open').doNothing())
      .returningAll()
      .executeTakeFirst();
    return row ?? null;
  },

  /** Closes the distributor's open request (the erasing transaction); answers how many. */
  async closeErasureRequests(db: Executor, tenantId: string, distributorId: string, at: Date) {
    const r = await db
      .updateTable('erasure_requests')
      .set({ status: 'done', resolved_at: at })
      .where('tenant_id', '=', tenantId)
      .where('distributor_id', '=', distributorId)
      .where('status', '=', 'open')
      .executeTakeFirst();
    return Number(r.numUpdatedRows);
  },

  /** A tenant's erasure requests, oldest open first, then the done ones newest first. */
  async listErasureRequests(
    db: Executor,
    tenantId: string,
    filter: { status?: 'open' | 'done' | undefined; distributorId?: string | undefined },
    limit: number,
  ) {
    let q = db
      .selectFrom('erasure_requests')
      .innerJoin('distributors', 'distributors.id', 'erasure_requests.distributor_id')
      .select([
        'erasure_requests.id',
        'erasure_requests.distributor_id',
        'distributors.name as distributor_name',
        'erasure_requests.status',
        'erasure_requests.requested_at',
        'erasure_requests.resolved_at',
      ])
      .where('erasure_requests.tenant_id', '=', tenantId);
    if (filter.status) q = q.where('erasure_requests.status', '=', filter.status);
    if (filter.distributorId) q = q.where('erasure_requests.distributor_id', '=', filter.distributorId);
    return q.orderBy('erasure_requests.status', 'desc').orderBy('erasure_requests.requested_at').orderBy('erasure_requests.id').limit(limit).execute();
  },

  async findForUpdate(db: Executor, tenantId: string, id: string) {
    return db.selectFrom('distributors').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).forUpdate().executeTakeFirst();
  },

  async payoutAccounts(db: Executor, tenantId: string, distributorId: string) {
    return db.selectFrom('payout_accounts').selectAll().where('tenant_id', '=', tenantId).where('distributor_id', '=', distributorId).orderBy('id').execute();
  },

  /** The person's own binding history, as a customer (who referred them, moves). */
  async bindingEvents(db: Executor, tenantId: string, externalId: string) {
    return db
      .selectFrom('binding_events')
      .select(['id', 'kind', 'from_distributor_id', 'to_distributor_id', 'source', 'reason', 'at'])
      .where('tenant_id', '=', tenantId)
      .where('customer_external_id', '=', externalId)
      .orderBy('at')
      .orderBy('id')
      .execute();
  },

  async ordersAsBuyer(db: Executor, tenantId: string, externalId: string) {
    return db
      .selectFrom('orders')
      .select(['id', 'external_id', 'status', 'paid_fen', 'refunded_fen', 'paid_at'])
      .where('tenant_id', '=', tenantId)
      .where('buyer_external_id', '=', externalId)
      .orderBy('created_at')
      .orderBy('id')
      .execute();
  },

  async commissionsEarned(db: Executor, tenantId: string, distributorId: string) {
    return db
      .selectFrom('commissions')
      .select(['id', 'order_id', 'level', 'kind', 'base_fen', 'rate_bp', 'amount_fen', 'status', 'created_at', 'settled_at'])
      .where('tenant_id', '=', tenantId)
      .where('beneficiary_id', '=', distributorId)
      .orderBy('id')
      .execute();
  },

  async statements(db: Executor, tenantId: string, distributorId: string) {
    return db
      .selectFrom('statements')
      .select(['id', 'period_end', 'amount_fen', 'status', 'created_at', 'approved_at'])
      .where('tenant_id', '=', tenantId)
      .where('distributor_id', '=', distributorId)
      .orderBy('id')
      .execute();
  },

  async withdrawals(db: Executor, tenantId: string, distributorId: string) {
    return db
      .selectFrom('withdrawals')
      .select(['id', 'amount_fen', 'fee_fen', 'channel', 'status', 'created_at', 'paid_at'])
      .where('tenant_id', '=', tenantId)
      .where('distributor_id', '=', distributorId)
      .orderBy('id')
      .execute();
  },

  /**
   * Visits of the person's invite link, per local day: counts only. Who visited (IP, browser) is
   * the visitors' personal data, not the distributor's.
   */
  async visitsByDay(db: Executor, tenantId: string, distributorId: string, tz: string) {
    const r = await sql<{ day: string; visits: number | string; unique_visitors: number | string }>`
      select to_char(at at time zone ${tz}, 'YYYY-MM-DD') as day, count(*) as visits, count(distinct visitor_id) as unique_visitors
        from visits where tenant_id = ${tenantId} and distributor_id = ${distributorId}
       group by 1 order by 1`.execute(db);
    return r.rows.map((v) => ({ day: v.day, visits: Number(v.visits), unique_visitors: Number(v.unique_visitors) }));
  },

  async documents(db: Executor, tenantId: string, distributorId: string) {
    return db
      .selectFrom('documents')
      .select(['id', 'kind', 'filename', 'content_type', 'size_bytes', 'storage_key', 'created_at'])
      .where('tenant_id', '=', tenantId)
      .where('distributor_id', '=', distributorId)
      .orderBy('id')
      .execute();
  },

  async openWithdrawals(db: Executor, tenantId: string, distributorId: string): Promise<number> {
    const r = await db
      .selectFrom('withdrawals')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('tenant_id', '=', tenantId)
      .where('distributor_id', '=', distributorId)
      .where('status', 'in', ['pending_review', 'approved'])
      .executeTakeFirstOrThrow();
    // A deposit refund under way pays to a payout account too: erasure waits for it as well.
    const d = await db
      .selectFrom('deposit_refunds')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('tenant_id', '=', tenantId)
      .where('distributor_id', '=', distributorId)
      .where('status', 'in', ['pending_review', 'approved'])
      .executeTakeFirstOrThrow();
    return Number(r.n) + Number(d.n);
  },

  /** Blind indexes of one kind that several distributors of the tenant hold (of `only`'s, when given), with their ids. */
  async sharedIdentityGroups(ex: Executor, tenantId: string, kind: 'phone' | 'id_number' | 'payout_account', only: string | undefined) {
    const q =
      kind === 'payout_account'
        ? sql<{ bidx: string; ids: string[] }>`
          select identity_bidx as bidx, array_agg(distinct distributor_id order by distributor_id) as ids
            from payout_accounts
           where tenant_id = ${tenantId} and identity_bidx is not null and disabled_at is null
             ${only ? sql`and identity_bidx in (select identity_bidx from payout_accounts where tenant_id = ${tenantId} and distributor_id = ${only} and disabled_at is null and identity_bidx is not null)` : sql``}
           group by identity_bidx
          having count(distinct distributor_id) > 1
           order by identity_bidx`
        : sql<{ bidx: string; ids: string[] }>`
          select ${sql.ref(`${kind}_bidx`)} as bidx, array_agg(id order by id) as ids
            from distributors
           where tenant_id = ${tenantId} and ${sql.ref(`${kind}_bidx`)} is not null
             ${only ? sql`and ${sql.ref(`${kind}_bidx`)} in (select ${sql.ref(`${kind}_bidx`)} from distributors where tenant_id = ${tenantId} and id = ${only})` : sql``}
           group by ${sql.ref(`${kind}_bidx`)}
          having count(*) > 1
           order by 1`;
    return (await q.execute(ex)).rows;
  },
};

/** A table whose columns the key ring encrypts (rotate.ts's registry): where its ciphertexts are. */
export interface EncryptedColumns {
  table: string;
  /** The primary key (one column). */
  key: string;
  /** Ciphertext columns (`v1.<kid>.…`), nullable. */
  columns: readonly string[];
}

const ref = (name: string) => sql.ref(name);

function staleWhere(t: EncryptedColumns, kid: string): RawBuilder<boolean> {
  const prefix = `v1.${kid}.%`;
  return sql<boolean>`(${sql.join(
    t.columns.map((c) => sql`(${ref(c)} is not null and ${ref(c)} not like ${prefix})`),
    sql` or `,
  )})`;
}

/**
 * Key rotation's queries (rotate.ts): one table of the registry at a time, named by it. The key
 * ring's rotation is the one writer that crosses modules' tables, by design: every ciphertext is
 * the key ring's, whatever module keeps it.
 */
export const rotationRepo = {
  async tableExists(ex: Executor, table: string): Promise<boolean> {
    const r = await sql<{ oid: string | null }>`select to_regclass(${table})::text as oid`.execute(ex);
    return Boolean(r.rows[0]?.oid);
  },

  /** Rows with a ciphertext under another key than `kid`. */
  async countStale(ex: Executor, t: EncryptedColumns, kid: string): Promise<number> {
    const r = await sql<{ n: number | string }>`select count(*) as n from ${sql.table(t.table)} where ${staleWhere(t, kid)}`.execute(ex);
    return Number(r.rows[0]?.n ?? 0);
  },

  /** The next page of such rows after key `after`, in key order: the key and the ciphertexts. */
  async stalePage(ex: Executor, t: EncryptedColumns, kid: string, after: string | null, limit: number): Promise<Record<string, string | null>[]> {
    const cols = sql.join([ref(t.key), ...t.columns.map(ref)]);
    return (
      await sql<Record<string, string | null>>`
        select ${cols} from ${sql.table(t.table)}
         where ${staleWhere(t, kid)} ${after === null ? sql`` : sql`and ${ref(t.key)} > ${after}`}
         order by ${ref(t.key)} limit ${limit}`.execute(ex)
    ).rows;
  },

  /** Writes `set` to the row, compare-and-set on the ciphertexts it was read with: false when the application changed them meanwhile. */
  async rewriteIfUnchanged(ex: Executor, t: EncryptedColumns, row: Record<string, string | null>, set: Record<string, string | null>): Promise<boolean> {
    const assignments = sql.join(Object.entries(set).map(([c, v]) => sql`${ref(c)} = ${v}`));
    const unchanged = sql.join(
      t.columns.map((c) => sql`${ref(c)} is not distinct from ${row[c] ?? null}`),
      sql` and `,
    );
    const r = await sql`update ${sql.table(t.table)} set ${assignments} where ${ref(t.key)} = ${row[t.key]} and ${unchanged}`.execute(ex);
    return Number(r.numAffectedRows ?? 0) === 1;
  },
};
