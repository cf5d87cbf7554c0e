import { sql } from 'kysely';
import type { Executor } from '../../db/database.ts';

/** A risk event as it is written. */
export interface NewRiskEvent {
  id: string;
  tenant_id: string;
  kind: string;
  severity: 'flag' | 'hold' | 'block';
  subject_type: string;
  subject_id: string | null;
  details: Record<string, unknown>;
}

/**
 * The risk tables: risk_events and risk_event_lines (which commission lines an event holds). The
 * commission lines themselves and the distributors' risk_hold are written through the commissions
 * and distributors repositories, but for one statement here: the order batch's new holds.
 */
export const riskRepo = {
  // ——— risk_events ———

  /** Events with their creation time given (the engine's, which decides on the batch's clock). */
  async insertMany(db: Executor, events: (NewRiskEvent & { created_at: Date })[]) {
    await db
      .insertInto('risk_events')
      .values(events.map((e) => ({ ...e, details: JSON.stringify(e.details) })))
      .execute();
  },

  async find(db: Executor, tenantId: string, id: string) {
    return db.selectFrom('risk_events').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
  },

  async findForUpdate(db: Executor, tenantId: string, id: string) {
    return db.selectFrom('risk_events').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).forUpdate().executeTakeFirst();
  },

  async list(db: Executor, tenantId: string, opts: { status?: string; kind?: string; beforeId?: string; limit: number }) {
    let q = db.selectFrom('risk_events').selectAll().where('tenant_id', '=', tenantId);
    if (opts.status) q = q.where('status', '=', opts.status as 'open');
    if (opts.kind) q = q.where('kind', '=', opts.kind);
    if (opts.beforeId) q = q.where('id', '<', opts.beforeId);
    return q.orderBy('id', 'desc').limit(opts.limit).execute();
  },

  async setReviewed(
    db: Executor,
    id: string,
    r: { status: 'released' | 'confirmed' | 'dismissed'; reviewed_by: string | null; review_note: string; reviewed_at: Date },
  ) {
    await db.updateTable('risk_events').set(r).where('id', '=', id).execute();
  },

  /** The newest open distributor-level hold event of each of these distributors (of the kinds that hold one). */
  async openHolds(db: Executor, tenantId: string, distributorIds: string[], kinds: string[]) {
    return db
      .selectFrom('risk_events')
      .select(['subject_id', (eb) => eb.fn.max('id').as('id')])
      .where('tenant_id', '=', tenantId)
      .where('subject_type', '=', 'distributor')
      .where('subject_id', 'in', distributorIds)
      .where('status', '=', 'open')
      .where('severity', '=', 'hold')
      .where('kind', 'in', kinds)
      .groupBy('subject_id')
      .execute();
  },

  /** Open hold events on a distributor other than `exceptId` (all of them without it). */
  async otherOpenHolds(db: Executor, tenantId: string, distributorId: string, exceptId: string) {
    return db
      .selectFrom('risk_events')
      .select('id')
      .where('tenant_id', '=', tenantId)
      .where('subject_type', '=', 'distributor')
      .where('subject_id', '=', distributorId)
      .where('status', '=', 'open')
      .where('severity', '=', 'hold')
      .where('id', '<>', exceptId)
      .execute();
  },

  /** One open hold event on a distributor, if any. */
  async anyOpenHold(db: Executor, tenantId: string, distributorId: string) {
    return db
      .selectFrom('risk_events')
      .select('id')
      .where('tenant_id', '=', tenantId)
      .where('subject_type', '=', 'distributor')
      .where('subject_id', '=', distributorId)
      .where('status', '=', 'open')
      .where('severity', '=', 'hold')
      .limit(1)
      .executeTakeFirst();
  },

  async openRefundRateEvent(db: Executor, tenantId: string, sellerId: string) {
    return db
      .selectFrom('risk_events')
      .select('id')
      .where('tenant_id', '=', tenantId)
      .where('kind', '=', 'refund_rate')
      .where('subject_id', '=', sellerId)
      .where('status', '=', 'open')
      .executeTakeFirst();
  },

  // ——— risk_event_lines ———

  /** Which event holds which line; a link that exists is left as it is. */
  async link(db: Executor, links: { event_id: string; commission_id: string }[]) {
    await db
      .insertInto('risk_event_lines')
      .values(links)
      .onConflict((oc) => oc.doNothing())
      .execute();
  },

  /** An event's commission lines, locked in id order. */
  async linesOfEventForUpdate(db: Executor, eventId: string) {
    return db
      .selectFrom('commissions')
      .innerJoin('risk_event_lines as l', 'l.commission_id', 'commissions.id')
      .selectAll('commissions')
      .where('l.event_id', '=', eventId)
      .orderBy('commissions.id')
      .forUpdate()
      .execute();
  },

  /** An event's commission lines as GET /v1/risk-events/{id} shows them. */
  async linesOfEvent(db: Executor, eventId: string) {
    return db
      .selectFrom('risk_event_lines as l')
      .innerJoin('commissions as c', 'c.id', 'l.commission_id')
      .select(['c.id', 'c.beneficiary_id', 'c.amount_fen', 'c.status', 'c.held', 'c.order_id'])
      .where('l.event_id', '=', eventId)
      .orderBy('c.id')
      .execute();
  },

  /** Of these lines, those another open event (not `eventId`) still holds. */
  async heldByOtherOpenEvents(db: Executor, eventId: string, commissionIds: string[]) {
    return db
      .selectFrom('risk_event_lines as l')
      .innerJoin('risk_events as e', 'e.id', 'l.event_id')
      .select('l.commission_id')
      .where('l.commission_id', 'in', commissionIds)
      .where('e.id', '<>', eventId)
      .where('e.status', '=', 'open')
      .execute();
  },

  // ——— what the rules read of other modules' tables ———

  /** A distributor's hold flag, locked (lifting a hold). */
  async distributorHoldForUpdate(db: Executor, tenantId: string, distributorId: string) {
    return db
      .selectFrom('distributors')
      .select(['id', 'risk_hold'])
      .where('tenant_id', '=', tenantId)
      .where('id', '=', distributorId)
      .forUpdate()
      .executeTakeFirst();
  },

  /** A distributor's held, unsettled lines that no open event holds. */
  async heldLinesNoOpenEventHolds(db: Executor, tenantId: string, distributorId: string) {
    return db
      .selectFrom('commissions')
      .select('id')
      .where('tenant_id', '=', tenantId)
      .where('beneficiary_id', '=', distributorId)
      .where('held', '=', true)
      .where('status', 'in', ['pending', 'available'])
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('risk_event_lines as l')
              .innerJoin('risk_events as e', 'e.id', 'l.event_id')
              .select('l.commission_id')
              .whereRef('l.commission_id', '=', 'commissions.id')
              .where('e.status', '=', 'open'),
          ),
        ),
      )
      .execute();
  },

  /** A distributor's commission lines not yet in a statement (what a distributor-level hold holds). */
  async unsettledLinesOf(db: Executor, distributorId: string) {
    return db
      .selectFrom('commissions')
      .select('id')
      .where('beneficiary_id', '=', distributorId)
      .where('status', 'in', ['pending', 'available'])
      .where('statement_id', 'is', null)
      .where('kind', '=', 'commission')
      .execute();
  },

  /** A seller's orders paid since `since`: how many, what they paid and what was refunded. */
  async sellerRefundTotals(db: Executor, sellerId: string, since: Date): Promise<{ n: number; paid: number; refunded: number }> {
    const r = await sql<{ n: number; paid: number; refunded: number }>`
        select count(*)::bigint as n, coalesce(sum(paid_fen), 0)::bigint as paid, coalesce(sum(refunded_fen), 0)::bigint as refunded
          from orders where seller_id = ${sellerId} and paid_at >= ${since}`.execute(db);
    const totals = r.rows[0];
    if (!totals) throw new Error('an aggregate query returned no row');
    return totals;
  },

  /** The other distributors with an active payout account of this identity. */
  async sharingPayoutAccount(db: Executor, tenantId: string, distributorId: string, bidx: string) {
    return db
      .selectFrom('payout_accounts')
      .select('distributor_id')
      .distinct()
      .where('tenant_id', '=', tenantId)
      .where('identity_bidx', '=', bidx)
      .where('distributor_id', '<>', distributorId)
      .where('disabled_at', 'is', null)
      .execute();
  },

  /** The other distributors with this phone number or ID number (by blind index). */
  async sharingIdentity(db: Executor, tenantId: string, distributorId: string, kind: 'phone' | 'id_number', bidx: string) {
    const r = await sql<{ distributor_id: string }>`select id as distributor_id from distributors
              where tenant_id = ${tenantId} and id <> ${distributorId} and ${sql.ref(kind === 'phone' ? 'phone_bidx' : 'id_number_bidx')} = ${bidx}`.execute(
      db,
    );
    return r.rows;
  },

  /**
   * New distributor-level holds of a batch of orders, in id order, as one statement: the one
   * write of distributors outside its module (distributorsRepo.setRiskHold is the one-at-a-time
   * form), so that a batch's statement count does not grow with its holds.
   */
  async holdDistributors(db: Executor, distributorIds: string[]) {
    await db.updateTable('distributors').set({ risk_hold: true }).where('id', 'in', distributorIds).execute();
  },
};
