import { regionFullName, territoriesOf } from '../../lib/regions.ts';
import type { Db, Executor } from '../../db/database.ts';
import { inTransaction } from '../../db/database.ts';
import type { Actor, Clock } from '../../core/context.ts';
import { invalidState, notFound } from '../../core/errors.ts';
import type { AuditService } from '../audit/service.ts';
import { requirePermission, tenantOf } from '../../core/principal.ts';
import { localMonth, localMonthOf, paidMoment } from '../../core/time.ts';
import { newId } from '../../core/ids.ts';
import { sql } from 'kysely';
import { trueUpAdjustments, type TrueUpLine } from './trueup.ts';
import { paidUnits } from './calculator.ts';
import type { CommissionStatus, CommissionsTable } from '../../db/schema.ts';
import type { Insertable } from 'kysely';
import { postedLegs, type JournalInput, type Ledger, type Leg } from '../ledger/service.ts';
import type { AnalyticsRecorder } from '../analytics/recorder.ts';
import type { ProgramService } from '../program/service.ts';
import type { RulesService } from '../rules/service.ts';
import type { GradesService } from '../grades/service.ts';
import { commissionView } from '../orders/service.ts';
import type { CommissionRow } from '../orders/repo.ts';
import { ordersRepo } from '../orders/repo.ts';
import { maskExternalId } from '../pii/mask.ts';
import { commissionsRepo } from './repo.ts';
import type { Outbox } from '../webhooks/outbox.ts';
import { zhStatus } from '../../core/error-text.ts';

function lastId(page: { id: string }[]): string {
  const last = page.at(-1);
  if (!last) throw new Error('a page with more rows after it is not empty');
  return last.id;
}

export function createCommissionsService(deps: {
  /** commission.available for merchants' webhook endpoints, in the transaction that makes lines final. */
  outbox: Outbox;
  db: Db;
  clock: Clock;
  ledger: Ledger;
  /** Told of every journal this module posts, in the journal's transaction. */
  analytics: Pick<AnalyticsRecorder, 'posted'>;
  program: ProgramService;
  rules: RulesService;
  grades: GradesService;
  audit: AuditService;
}) {
  const { db, clock, ledger, analytics, program, rules, grades } = deps;

  /** One beneficiary's true-up of one month, in the caller's transaction (see trueUpDue). */
  async function trueUpOne(
    tx: Executor,
    tenantId: string,
    beneficiaryId: string,
    month: { date: string; start: Date; end: Date },
    asOf: Date,
  ): Promise<{ lines: number; fen: number }> {
    const lines = await tx
      .selectFrom('commissions as c')
      .innerJoin('orders as o', 'o.id', 'c.order_id')
      .leftJoin('order_items as i', 'i.id', 'c.order_item_id')
      .selectAll('c')
      .select([
        'i.quantity as item_quantity',
        'i.paid_fen as item_paid_fen',
        'i.refunded_fen as item_refunded_fen',
        'i.refunded_quantity as item_refunded_quantity',
      ])
      .where('c.tenant_id', '=', tenantId)
      .where('c.beneficiary_id', '=', beneficiaryId)
      .where('c.kind', '=', 'commission')
      .where('c.rate_source', '=', 'tier')
      .where('o.paid_at', '>=', month.start)
      .where('o.paid_at', '<', month.end)
      .orderBy('c.id')
      .forUpdate('c')
      .execute();
    const sales = await tx
      .selectFrom('sales_monthly')
      .select('sales_fen')
      .where('distributor_id', '=', beneficiaryId)
      .where('month', '=', month.date)
      .executeTakeFirst();
    const finalSales = Number(sales?.sales_fen ?? 0);
    // The lines of each rule version and grade, repriced at that version's tiers of that grade.
    const groups = new Map<string, typeof lines>();
    for (const c of lines) groups.set(`${c.rule_version}|${c.beneficiary_grade}`, [...(groups.get(`${c.rule_version}|${c.beneficiary_grade}`) ?? []), c]);
    const rows: (Insertable<CommissionsTable> & { id: string })[] = [];
    for (const group of groups.values()) {
      const first = group[0];
      if (!first) continue;
      const snapshot = await rules.version(tx, tenantId, first.rule_version);
      const tiers = snapshot.grades[first.beneficiary_grade]?.tiers ?? [];
      // Units still paid for: a percentage line keeps none of its own, and its final bracket may pay per unit.
      const unitsOf = (c: (typeof lines)[number]) =>
        c.rate_kind === 'fixed'
          ? c.units
          : paidUnits(c.item_quantity ?? 0, c.item_paid_fen ?? 0, (c.item_paid_fen ?? 0) - (c.item_refunded_fen ?? 0), c.item_refunded_quantity ?? 0);
      const input: TrueUpLine[] = group
        .filter((c) => c.status !== 'reversed' && c.order_item_id !== null)
        .map((c) => ({
          id: c.id,
          level: c.level,
          rateKind: c.rate_kind,
          rateBp: c.rate_bp,
          fixedFen: c.fixed_fen,
          units: unitsOf(c),
          baseFen: Number(c.base_fen),
          amountFen: Number(c.amount_fen),
          adjustedFen: 0,
          cappedFen: Number(c.capped_fen),
        }));
      const byId = new Map(group.map((c) => [c.id, c]));
      for (const a of trueUpAdjustments(tiers, finalSales, input)) {
        const c = byId.get(a.lineId);
        if (!c) throw new Error(`the true-up answered a line it was not given: ${a.lineId}`);
        const available = c.status === 'available' || c.status === 'settled';
        rows.push({
          id: newId('cm'),
          tenant_id: tenantId,
          order_id: c.order_id,
          order_item_id: c.order_item_id,
          beneficiary_id: c.beneficiary_id,
          level: c.level,
          kind: 'adjustment',
          adjusts: c.id,
          clawback_of: null,
          rule_version: c.rule_version,
          rate_source: 'tier',
          rate_kind: a.rate.kind,
          rate_bp: a.rate.kind === 'percent' ? a.rate.bp : 0,
          fixed_fen: a.rate.kind === 'fixed' ? a.rate.fen : 0,
          beneficiary_grade: c.beneficiary_grade,
          // What a fixed adjustment pays on (ledger verify bounds it by its own units).
          units: a.rate.kind === 'fixed' ? unitsOf(c) : c.units,
          base_fen: c.base_fen,
          original_base_fen: c.base_fen,
          amount_fen: a.adjustmentFen,
          original_amount_fen: a.adjustmentFen,
          status: available ? 'available' : 'pending',
          held: c.held,
          statement_id: null,
          available_at: available ? asOf : null,
          created_at: asOf,
        });
      }
    }
    const fen = rows.reduce((s, r) => s + Number(r.amount_fen), 0);
    // The claim: one true-up per beneficiary and month. A second process waits here for the
    // first one's transaction and, once it committed, finds the row taken and writes nothing.
    const claimed = await tx
      .insertInto('tier_true_ups')
      .values({
        tenant_id: tenantId,
        distributor_id: beneficiaryId,
        month: month.date,
        final_sales_fen: finalSales,
        lines: rows.length,
        adjusted_fen: fen,
        created_at: asOf,
      })
      .onConflict((oc) => oc.doNothing())
      .returning('month')
      .executeTakeFirst();
    if (!claimed || rows.length === 0) return { lines: 0, fen: 0 };
    await tx.insertInto('commissions').values(rows).execute();
    // The adjustment of a line a risk event holds is held by the same open events, so releasing
    // or confirming the event reaches it too.
    const held = rows.filter((r) => r.held);
    if (held.length > 0)
      await sql`insert into risk_event_lines (event_id, commission_id)
          select l.event_id, a.id from commissions a join risk_event_lines l on l.commission_id = a.adjusts join risk_events e on e.id = l.event_id
           where a.id = any(${held.map((r) => r.id)}::text[]) and e.status = 'open'
          on conflict do nothing`.execute(tx);
    const journals: JournalInput[] = [];
    const byOrder = new Map<string, typeof rows>();
    for (const r of rows) byOrder.set(r.order_id, [...(byOrder.get(r.order_id) ?? []), r]);
    for (const [orderId, rs] of byOrder) {
      const total = rs.reduce((s, r) => s + Number(r.amount_fen), 0);
      journals.push({
        tenantId,
        kind: 'accrue',
        refType: 'order',
        refId: orderId,
        memo: `tier true-up ${month.date.slice(0, 7)}`,
        legs: [
          ...rs.map((r): Leg => ({ owner: r.beneficiary_id, purpose: 'pending', amount: Number(r.amount_fen), commissionId: r.id })),
          { owner: 'tenant', purpose: 'commission_expense', amount: -total },
        ],
      });
      const made = rs.filter((r) => r.status === 'available');
      if (made.length > 0)
        journals.push({
          tenantId,
          kind: 'make_available',
          refType: 'order',
          refId: orderId,
          memo: `tier true-up ${month.date.slice(0, 7)}`,
          legs: made.flatMap((r): Leg[] => [
            { owner: r.beneficiary_id, purpose: 'pending', amount: -Number(r.amount_fen), commissionId: r.id },
            { owner: r.beneficiary_id, purpose: 'available', amount: Number(r.amount_fen), commissionId: r.id },
          ]),
        });
    }
    await ledger.postMany(tx, journals);
    await analytics.posted(tx, tenantId, postedLegs(journals));
    // commission.adjusted per adjustment line, keyed by its order (after the order's own events).
    if (await deps.outbox.wanted(tx, tenantId, 'commission.adjusted')) {
      const orders = await tx
        .selectFrom('orders')
        .select(['id', 'external_id'])
        .where('id', 'in', [...byOrder.keys()])
        .execute();
      const externalOf = new Map(orders.map((o) => [o.id, o.external_id]));
      const skus = await tx
        .selectFrom('order_items')
        .select(['id', 'sku'])
        .where(
          'id',
          'in',
          rows.flatMap((r) => (r.order_item_id ? [r.order_item_id] : [])),
        )
        .execute();
      const skuOf = new Map(skus.map((i) => [i.id, i.sku]));
      const written = await tx
        .selectFrom('commissions')
        .selectAll()
        .where(
          'id',
          'in',
          rows.map((r) => r.id),
        )
        .orderBy('id')
        .execute();
      await deps.outbox.record(
        tx,
        tenantId,
        written.map((c) => ({
          type: 'commission.adjusted' as const,
          objectType: 'order',
          objectId: c.order_id,
          data: lineEventData(c, externalOf.get(c.order_id) ?? '', c.order_item_id ? (skuOf.get(c.order_item_id) ?? null) : null),
        })),
      );
    }
    return { lines: rows.length, fen };
  }

  /** Who may read a distributor's lines: the merchant, or that distributor itself. */
  function scopeOf(actor: Actor, distributorId: string): string {
    const p = actor.principal;
    if (p.kind === 'distributor') {
      if (p.distributorId !== distributorId) throw notFound('distributor');
      return p.tenantId;
    }
    requirePermission(p, 'read');
    return tenantOf(p);
  }

  return {
    async listForDistributor(actor: Actor, distributorId: string, q: { status?: CommissionStatus | undefined; cursor?: string | undefined; limit: number }) {
      const tenantId = scopeOf(actor, distributorId);
      if (!(await commissionsRepo.distributorExists(db, tenantId, distributorId))) throw notFound('distributor');
      const rows = await commissionsRepo.pageForBeneficiary(db, tenantId, distributorId, q);
      const page = rows.slice(0, q.limit);
      return {
        items: page.map((r) => commissionView(r, r.order_external_id, r.sku)),
        next_cursor: rows.length > q.limit ? lastId(page) : null,
      };
    },

    /**
     * GET /v1/commissions/{id}: the line with everything that made it — the order line and its
     * base, the beneficiary's level and grade, the rule version and where the rate came from,
     * the arithmetic, the chain frozen on the order, and every journal posting of the line.
     */
    async explain(actor: Actor, id: string) {
      const p = actor.principal;
      const tenantId = p.kind === 'distributor' ? p.tenantId : (requirePermission(p, 'read'), tenantOf(p));
      const c = await commissionsRepo.find(db, tenantId, id);
      if (!c || (p.kind === 'distributor' && c.beneficiary_id !== p.distributorId)) throw notFound('commission');
      const order = await commissionsRepo.order(db, c.order_id);
      if (!order) throw new Error(`commission ${c.id} names order ${c.order_id}, which is not there`);
      const item = c.order_item_id ? await commissionsRepo.orderItem(db, c.order_item_id) : undefined;
      const chainRows = await commissionsRepo.distributorNames(db, order.chain);
      const names = new Map(chainRows.map((r) => [r.id, r.name]));
      const version = await commissionsRepo.ruleVersion(db, tenantId, c.rule_version);
      const postings = await commissionsRepo.postingsOf(db, c.id);
      const clawbacks = c.kind === 'commission' || c.kind === 'adjustment' ? await commissionsRepo.clawbacksOf(db, c.id) : [];
      const adjusted = c.kind === 'adjustment' && c.adjusts ? await commissionsRepo.find(db, tenantId, c.adjusts) : undefined;
      const finalShare = c.rate_kind === 'percent' ? Math.floor((c.base_fen * c.rate_bp) / 10000) : c.fixed_fen * c.units;
      const formula = adjusted
        ? `${finalShare} at the bracket finally reached this month (${c.rate_kind === 'percent' ? `floor(${c.base_fen} × ${c.rate_bp} / 10000)` : `${c.fixed_fen} × ${c.units} units`}) − ${adjusted.amount_fen} line ${adjusted.id} holds = ${c.amount_fen}: month-end tier true-up`
        : c.rate_source === 'price_difference'
          ? `${c.base_fen} paid − what its units cost the agent = ${c.amount_fen}`
          : c.rate_kind === 'percent'
            ? `floor(${c.base_fen} × ${c.rate_bp} / 10000) = ${Math.floor((c.base_fen * c.rate_bp) / 10000)}`
            : perOrderShare(c, item)
              ? `${c.original_amount_fen + c.capped_fen}: this line's share, by units, of a fixed amount per order (within ${c.fixed_fen} × ${c.units} units = ${c.fixed_fen * c.units})`
              : `${c.fixed_fen} × ${c.units} units = ${c.fixed_fen * c.units}`;
      return {
        ...commissionView(c, order.external_id, item?.sku ?? null),
        original_base_fen: c.original_base_fen,
        original_amount_fen: c.original_amount_fen,
        capped_fen: c.capped_fen,
        beneficiary_grade: c.beneficiary_grade,
        ...(c.adjusts ? { adjusts: c.adjusts } : {}),
        explanation: {
          level: c.level,
          level_meaning:
            agentMeaning(c, order.region_code) ??
            (c.level === 0 ? 'sales commission: the beneficiary sold this order' : `override: the beneficiary is the seller's upline at level ${c.level}`),
          ...(c.rate_source === 'territory' && c.territory_rank ? { territory: territoryOf(c.territory_rank, order.region_code, c.rate_bp) } : {}),
          base: item
            ? {
                order_line_paid_fen: item.paid_fen,
                refunded_fen: item.refunded_fen,
                base_fen: c.base_fen,
                note: "the line's paid price, without shipping and tax, less refunds",
              }
            : null,
          rate: {
            kind: c.rate_kind,
            rate_bp: c.rate_bp,
            fixed_fen: c.fixed_fen,
            source: c.rate_source,
            rule_version: c.rule_version,
            rule_effective_from: version?.effective_from.toISOString() ?? null,
            rule_reason: version?.reason ?? null,
            pilot_id: c.pilot_id,
            ...(c.pilot_id
              ? {
                  pilot_note: `computed with the rules of version ${c.rule_version} and the changes of pilot ${c.pilot_id} (灰度): the seller was in its cohort`,
                }
              : {}),
          },
          formula,
          capped_fen: c.capped_fen,
          chain: order.chain.map((did, level) => ({ level, distributor_id: did, name: names.get(did) ?? null })),
          order: {
            external_id: order.external_id,
            status: order.status,
            paid_at: paidMoment(order).toISOString(),
            // Merchants' user ids are phone numbers and openids: a distributor reading an override
            // line sees its downline's buyer masked, as it sees no customer of its team whole.
            buyer_external_id: p.kind === 'distributor' && c.level > 0 ? maskExternalId(order.buyer_external_id) : order.buyer_external_id,
            attribution: order.attribution,
          },
        },
        clawbacks: clawbacks.map((k) => ({ id: k.id, amount_fen: k.amount_fen, created_at: k.created_at.toISOString() })),
        postings: postings.map((r) => ({
          journal_id: r.journal_id,
          kind: r.kind,
          account: r.purpose,
          amount_fen: r.amount,
          at: new Date(r.at).toISOString(),
        })),
      };
    },

    /**
     * Makes final every pending commission whose order was received at least `freeze_days`
     * before `asOf`: pending → available, in the ledger too, and the order is completed. In
     * batches of orders, each batch in its own transaction, skipping orders another worker holds.
     */
    async makeAvailable(tenantId: string, asOf: Date): Promise<{ orders: number; lines: number; fen: number }> {
      const totals = { orders: 0, lines: 0, fen: 0 };
      for (;;) {
        const batch = await inTransaction(db, (tx) => this.makeAvailableWithin(tx, tenantId, asOf, 200));
        totals.orders += batch.orders;
        totals.lines += batch.lines;
        totals.fen += batch.fen;
        if (batch.orders < 200) break;
      }
      return totals;
    },

    /** The same inside the caller's transaction (a settlement run), up to `limit` orders (all by default). */
    async makeAvailableWithin(
      tx: Executor,
      tenantId: string,
      asOf: Date,
      limit = Number.MAX_SAFE_INTEGER,
    ): Promise<{ orders: number; lines: number; fen: number }> {
      const settings = await program.read(tx, tenantId);
      const cutoff = new Date(asOf.getTime() - settings.freeze_days * 86_400_000);
      const totals = { orders: 0, lines: 0, fen: 0 };
      while (totals.orders < limit) {
        const due = await ordersRepo.dueOrdersForUpdate(tx, tenantId, cutoff, Math.min(200, limit - totals.orders));
        if (due.length === 0) break;
        const lines = await commissionsRepo.pendingOfOrdersForUpdate(
          tx,
          due.map((o) => o.id),
        );
        if (lines.length > 0) {
          await commissionsRepo.makeAvailable(
            tx,
            lines.map((c) => c.id),
            asOf,
          );
          const byOrder = new Map<string, typeof lines>();
          for (const c of lines) byOrder.set(c.order_id, [...(byOrder.get(c.order_id) ?? []), c]);
          const journals = [...byOrder.entries()]
            .filter(([, ls]) => ls.some((c) => c.amount_fen !== 0))
            .map(([orderId, ls]) => ({
              tenantId,
              kind: 'make_available',
              refType: 'order',
              refId: orderId,
              legs: ls.flatMap((c): Leg[] => [
                { owner: c.beneficiary_id, purpose: 'pending', amount: -c.amount_fen, commissionId: c.id },
                { owner: c.beneficiary_id, purpose: 'available', amount: c.amount_fen, commissionId: c.id },
              ]),
            }));
          await ledger.postMany(tx, journals);
          if (journals.length > 0) await analytics.posted(tx, tenantId, postedLegs(journals));
          for (const c of lines) totals.fen += c.amount_fen;
          // commission.available per line, keyed by its order: an endpoint gets it after the order's order.credited.
          const externalOf = new Map(due.map((o) => [o.id, o.external_id]));
          await deps.outbox.record(
            tx,
            tenantId,
            lines.map((c) => ({
              type: 'commission.available' as const,
              objectType: 'order',
              objectId: c.order_id,
              data: lineEventData({ ...c, status: 'available' }, externalOf.get(c.order_id) ?? '', null),
            })),
          );
        }
        await ordersRepo.completeOrders(
          tx,
          due.map((o) => o.id),
          asOf,
          clock.now(),
        );
        const snapshot = await rules.versionAt(tx, tenantId, asOf);
        for (const order of due) {
          if (!order.seller_id) continue;
          await ordersRepo.addSettledSales(
            tx,
            tenantId,
            order.seller_id,
            localMonth(paidMoment(order), settings.timezone),
            order.paid_fen - order.refunded_fen,
          );
          await grades.evaluate(tx, tenantId, order.seller_id, snapshot);
        }
        totals.orders += due.length;
        totals.lines += lines.length;
      }
      return totals;
    },

    /**
     * The month-end tier true-up (program setting `tier_true_up`): for the month before the one
     * `asOf` falls in (program time zone), each beneficiary's tier lines of orders paid that month
     * are repriced at the bracket its own sales of the whole month (net of refunds) reached, under
     * the rule version and grade each line was computed with, and what they gain is written as
     * adjustment lines (commissions/trueup.ts) with their accrue journals. An adjustment of a line
     * still pending is pending (it becomes available with its order); of a line already available
     * or settled, it is accrued and made available at once. One true-up per beneficiary and month
     * (tier_true_ups): a second run, or another process, writes nothing more.
     */
    async trueUpDue(tenantId: string, asOf: Date): Promise<{ beneficiaries: number; lines: number; fen: number }> {
      const totals = { beneficiaries: 0, lines: 0, fen: 0 };
      const settings = await program.read(db, tenantId);
      if (!settings.tier_true_up) return totals;
      const tz = settings.timezone;
      const month = localMonthOf(new Date(localMonthOf(asOf, tz).start.getTime() - 1), tz);
      for (;;) {
        const due = await sql<{ beneficiary_id: string }>`select distinct c.beneficiary_id from commissions c join orders o on o.id = c.order_id
            where c.tenant_id = ${tenantId} and c.kind = 'commission' and c.rate_source = 'tier'
              and o.paid_at >= ${month.start} and o.paid_at < ${month.end}
              and not exists (select 1 from tier_true_ups u where u.tenant_id = ${tenantId} and u.distributor_id = c.beneficiary_id and u.month = ${month.date}::date)
            order by c.beneficiary_id limit 100`.execute(db);
        if (due.rows.length === 0) break;
        for (const { beneficiary_id } of due.rows) {
          const r = await inTransaction(db, (tx) => trueUpOne(tx, tenantId, beneficiary_id, month, asOf));
          totals.beneficiaries += 1;
          totals.lines += r.lines;
          totals.fen += r.fen;
        }
      }
      return totals;
    },

    /** Holds a line (risk review, a rejected statement): it is not settled until released. */
    async setHeld(actor: Actor, id: string, held: boolean, reason: string) {
      requirePermission(actor.principal, 'risk:write');
      const tenantId = tenantOf(actor.principal);
      return inTransaction(db, async (tx) => {
        const c = await commissionsRepo.findForUpdate(tx, tenantId, id);
        if (!c) throw notFound('commission');
        if (c.status === 'settled' || c.status === 'reversed')
          throw invalidState({
            en: `a ${c.status} line cannot be ${held ? 'held' : 'released'}`,
            zh: `状态为${zhStatus(c.status)}的佣金不能${held ? '冻结' : '解除冻结'}`,
          });
        if (c.statement_id !== null && held)
          throw invalidState({
            en: 'the line is in a statement under review; reject the statement to hold it',
            zh: '该佣金所在的结算单正在审核中；请驳回结算单以冻结它',
          });
        await commissionsRepo.setHeld(tx, [id], held);
        await deps.audit.record(tx, actor, {
          action: held ? 'commission.hold' : 'commission.release',
          targetType: 'commission',
          targetId: id,
          before: { held: c.held },
          after: { held },
          reason,
        });
        return { id, held };
      });
    },

    /** A distributor's grade changes (GET /v1/distributors/{id}/grade-history), as the grades module keeps them. */
    async gradeHistory(actor: Actor, distributorId: string) {
      return grades.history(actor, distributorId);
    },

    async balance(actor: Actor, distributorId: string) {
      const tenantId = scopeOf(actor, distributorId);
      return this.balanceOf(db, tenantId, distributorId);
    },

    async balanceOf(ex: Executor, tenantId: string, distributorId: string) {
      if (!(await commissionsRepo.distributorExists(ex, tenantId, distributorId))) throw notFound('distributor');
      const b = await ledger.balances(ex, tenantId, distributorId);
      return {
        pending_fen: b.pending,
        available_fen: b.available,
        withdrawable_fen: b.withdrawable,
        // Requested withdrawals and those a payout channel has in hand, until they are paid.
        withdrawing_fen: b.withdrawing + b.in_flight,
        withdrawn_fen: b.withdrawn,
      };
    },
  };
}

export type CommissionsService = ReturnType<typeof createCommissionsService>;

/** The territory a territory line was earned in: its rank, code and name, and the rank's rate. */
/**
 * A fixed line holding a share of a fixed amount per order (calculator.ts): what it paid before
 * caps is below its per-unit rate × the units the line was paid for, which a rate per unit never is.
 */
function perOrderShare(c: CommissionRow, item: { quantity: number; paid_fen: number } | undefined): boolean {
  if (c.rate_kind !== 'fixed' || c.kind !== 'commission' || !item || item.paid_fen <= 0) return false;
  if (c.rate_source !== 'grade' && c.rate_source !== 'tier' && c.rate_source !== 'default') return false;
  return c.original_amount_fen + c.capped_fen < c.fixed_fen * item.quantity;
}

function territoryOf(rank: 'province' | 'city' | 'district', orderRegion: string | null, rateBp: number) {
  const code = orderRegion === null ? null : (territoriesOf(orderRegion).find((t) => t.rank === rank)?.code ?? null);
  return {
    rank,
    region_code: code,
    region_name: regionFullName(code),
    rate_bp: rateBp,
    order_region_code: orderRegion,
    order_region_name: regionFullName(orderRegion),
  };
}

/** What a line of agent mode is, in words (null for the other lines). */
function agentMeaning(
  c: { rate_source: string; territory_rank: 'province' | 'city' | 'district' | null; rate_bp: number },
  orderRegion: string | null,
): string | null {
  if (c.rate_source === 'territory' && c.territory_rank) {
    const t = territoryOf(c.territory_rank, orderRegion, c.rate_bp);
    return `territory commission: the beneficiary is the ${c.territory_rank} agent of ${t.region_name ?? '?'} (${t.region_code ?? '?'}), where the order shipped (${t.order_region_name ?? '?'}), at the ${c.territory_rank} rate of ${c.rate_bp} bp`;
  }
  if (c.rate_source === 'price_difference')
    return "price difference: the order was served from the beneficiary's (an agent's) stock; it earns what the line paid less what its units cost it";
  return null;
} /** `data` of a commission.* webhook event: the line as in its order's `commissions`, with the order's Fenxiao id. */
export function lineEventData(c: CommissionRow, orderExternalId: string, sku: string | null) {
  return { ...commissionView(c, orderExternalId, sku), order_id: c.order_id };
}
