import { sql, type Insertable } from 'kysely';
import type { Db, Executor, Tx } from '../../db/database.ts';
import { inTransaction } from '../../db/database.ts';
import type { Actor, Clock } from '../../app/context.ts';
import { AppError, conflict, invalid, invalidState, notFound } from '../../app/errors.ts';
import { actorOf, requirePermission, tenantOf } from '../../app/principal.ts';
import type { CommissionsTable, OrderStatus } from '../../db/schema.ts';
import { newId } from '../../lib/ids.ts';
import { requestHash } from '../../lib/hash.ts';
import { localDate, localMonth } from '../../lib/time.ts';
import {
  allocateRefund, chainOf, computeOrderCommissions, recomputeLine, refundForUnits, type Beneficiary, type RulesSnapshot,
} from '../commissions/calculator.ts';
import type { CustomersService } from '../customers/service.ts';
import { distributorsRepo, type DistributorRow } from '../distributors/repo.ts';
import type { DistributorsService } from '../distributors/service.ts';
import type { Ledger, Leg } from '../ledger/service.ts';
import type { ProgramService } from '../program/service.ts';
import type { ReferralService } from '../referral/service.ts';
import type { RulesService } from '../rules/service.ts';
import type { GradesService } from '../grades/service.ts';
import type { AnalyticsRecorder } from '../analytics/recorder.ts';
import type { RiskEngine } from '../risk/engine.ts';
import { ordersRepo, type CommissionRow, type OrderItemRow, type OrderRow } from './repo.ts';
import type { CommissionLine, CreateOrderBody, OrderEventBody, OrderView } from './schema.ts';

class DuplicateOrder extends Error {}

/** Which account holds a line's money in each status. */
export function accountOfStatus(status: 'pending' | 'available' | 'settled'): 'pending' | 'available' | 'withdrawable' {
  return status === 'settled' ? 'withdrawable' : status;
}

export function commissionView(c: CommissionRow, orderExternalId: string, sku: string | null): CommissionLine {
  return {
    id: c.id,
    beneficiary_id: c.beneficiary_id,
    level: c.level,
    base_fen: c.base_fen,
    rate_bp: c.rate_bp,
    amount_fen: c.amount_fen,
    status: c.status,
    kind: c.kind,
    order_external_id: orderExternalId,
    sku,
    rate_kind: c.rate_kind,
    fixed_fen: c.fixed_fen,
    units: c.units,
    rate_source: c.rate_source,
    rule_version: c.rule_version,
    held: c.held,
    clawback_of: c.clawback_of,
    statement_id: c.statement_id,
    created_at: c.created_at.toISOString(),
  };
}

const TRANSITIONS: Record<'shipped' | 'received' | 'cancelled' | 'refunded', OrderStatus[]> = {
  shipped: ['paid'],
  received: ['paid', 'shipped'],
  cancelled: ['paid', 'shipped'],
  refunded: ['paid', 'shipped', 'received', 'completed'],
};

export function createOrdersService(deps: {
  db: Db; clock: Clock; program: ProgramService; rules: RulesService; ledger: Ledger; customers: CustomersService;
  referral: ReferralService; distributors: DistributorsService; grades: GradesService; riskEngine: RiskEngine;
  /** The blind index of a buyer's device id (the risk rules compare devices without keeping them). */
  deviceIndex: (deviceId: string) => string;
  analytics: AnalyticsRecorder;
}) {
  const { db, clock, program, rules, ledger, customers, referral, distributors, grades, riskEngine } = deps;

  async function view(ex: Executor, order: OrderRow): Promise<OrderView> {
    const [items, lines] = await Promise.all([ordersRepo.items(ex, order.id), ordersRepo.commissions(ex, order.id)]);
    const skuOf = new Map(items.map((i) => [i.id, i.sku]));
    return {
      id: order.id,
      external_id: order.external_id,
      status: order.status,
      seller_id: order.seller_id,
      paid_fen: order.paid_fen,
      commissions: lines.map((c) => commissionView(c, order.external_id, c.order_item_id ? skuOf.get(c.order_item_id) ?? null : null)),
      buyer_external_id: order.buyer_external_id,
      refunded_fen: order.refunded_fen,
      shipping_fen: order.shipping_fen,
      tax_fen: order.tax_fen,
      chain: order.chain,
      rule_version: order.rule_version,
      attribution: order.attribution,
      paid_at: order.paid_at.toISOString(),
      shipped_at: order.shipped_at?.toISOString() ?? null,
      received_at: order.received_at?.toISOString() ?? null,
      completed_at: order.completed_at?.toISOString() ?? null,
      items: items.map((i) => ({ position: i.position, sku: i.sku, quantity: i.quantity, unit_price_fen: i.unit_price_fen, paid_fen: i.paid_fen, refunded_fen: i.refunded_fen, refunded_quantity: i.refunded_quantity })),
    };
  }

  /**
   * Who sells: the buyer itself when self-purchase is on and it is an active distributor, else
   * the distributor the buyer is bound to. An invite code on the order first binds a buyer not
   * yet bound, as POST /v1/bindings would; a code it may not use is noted, never fatal: the
   * order is real money and goes through.
   */
  async function attribute(tx: Tx, actor: Actor, tenantId: string, body: CreateOrderBody, snapshot: RulesSnapshot) {
    const settings = await program.read(tx, tenantId);
    const customer = await customers.lock(tx, tenantId, body.buyer_external_id);
    let boundTo = customer.distributor_id;
    let how = boundTo ? 'binding' : 'none';
    const notes: string[] = [];
    const claim = async (target: DistributorRow, source: string) => {
      try {
        const r = await referral.bindWithin(tx, actor, tenantId, settings, body.buyer_external_id, target, { source, final: true });
        boundTo = r.distributor_id;
        how = source;
      } catch (err) {
        if (!(err instanceof AppError)) throw err;
        if (err.code !== 'conflict') notes.push(err.message);
      }
    };
    if (body.invite_code !== undefined && (boundTo === null || settings.binding.mode === 'rebindable')) {
      const target = await distributors.byInviteCode(tx, tenantId, body.invite_code);
      if (!target) notes.push('unknown invite_code');
      else if (target.id !== boundTo) await claim(target, 'invite_code');
    }
    if (boundTo === null && customer.tentative_distributor_id) {
      // Bind at first order: the latest claim becomes the binding now.
      const target = await distributorsRepo.find(tx, tenantId, customer.tentative_distributor_id);
      if (target) await claim(target, 'first_order');
    }
    const buyer = await distributorsRepo.findByExternalId(tx, tenantId, body.buyer_external_id);
    let seller: DistributorRow | undefined;
    if (snapshot.self_purchase && buyer?.status === 'active') {
      seller = buyer;
      how = 'self_purchase';
    } else if (boundTo) {
      seller = await distributorsRepo.find(tx, tenantId, boundTo);
    }
    return { seller: seller ?? null, attribution: notes.length ? `${how} (${notes.join('; ')})` : how, settings };
  }

  async function createWithin(tx: Tx, actor: Actor, tenantId: string, body: CreateOrderBody, hash: string): Promise<OrderRow> {
    const now = clock.now();
    const paidAt = body.paid_at ? new Date(body.paid_at) : now;
    const snapshot = await rules.versionAt(tx, tenantId, paidAt);
    const { seller, attribution, settings } = await attribute(tx, actor, tenantId, body, snapshot);
    const tz = settings.timezone;
    const month = localMonth(paidAt, tz);
    const day = localDate(paidAt, tz);

    // The chain is frozen onto the order: later relation moves never change what it paid.
    const chain = chainOf(seller?.id ?? null, seller?.ancestors ?? [], snapshot.levels);
    const rows = new Map<string, DistributorRow>();
    if (seller) rows.set(seller.id, seller);
    for (const r of await distributorsRepo.findMany(tx, tenantId, chain.filter((id) => !rows.has(id)))) rows.set(r.id, r);
    const needsTiers = Object.values(snapshot.grades).some((g) => g.tiers.length > 0);
    const monthly = needsTiers ? await ordersRepo.monthlySales(tx, chain, month) : new Map<string, number>();
    // Commission per beneficiary per day: for per-day caps, and for the surge rule.
    const trackDaily = snapshot.caps.per_day_fen > 0 || settings.risk.surge.multiplier > 0;
    const daily = trackDaily ? await ordersRepo.lockDaily(tx, tenantId, chain, day) : new Map<string, number>();
    const beneficiaries: Beneficiary[] = chain.map((id, level) => {
      const r = rows.get(id)!;
      return { id, level, grade: r.grade_code, active: r.status === 'active', monthly_sales_fen: monthly.get(id) ?? 0, earned_today_fen: daily.get(id) ?? 0 };
    });

    const orderId = newId('ord');
    const items = body.items.map((it, position) => ({ id: newId('oit'), position, ...it }));
    const computed = computeOrderCommissions(items.map((i) => ({ id: i.id, sku: i.sku, quantity: i.quantity, paid_fen: i.paid_fen })), beneficiaries, snapshot);
    const paidFen = items.reduce((s, i) => s + i.paid_fen, 0);

    // Risk rules: lines of a blocked beneficiary are not credited, a held one's wait for review.
    const earning = new Map<string, { amount: number; capped: number }>();
    for (const l of computed) {
      const e = earning.get(l.beneficiaryId) ?? { amount: 0, capped: 0 };
      e.amount += l.amountFen;
      e.capped += l.uncappedFen - l.amountFen;
      earning.set(l.beneficiaryId, e);
    }
    const deviceBidx = body.device_id ? deps.deviceIndex(body.device_id) : null;
    const riskDecision = await riskEngine.assessOrder(tx, {
      tenantId, orderExternalId: body.external_id, settings,
      buyerDistributorId: (await distributorsRepo.findByExternalId(tx, tenantId, body.buyer_external_id))?.id ?? null,
      chain: chain.map((id) => ({ id, riskHold: rows.get(id)!.risk_hold, deviceBidx: rows.get(id)!.device_bidx })),
      earning, earnedToday: trackDaily ? daily : null, clientIp: body.client_ip ?? null, deviceBidx, deviceId: body.device_id ?? null, day,
    });
    const lines = computed.filter((l) => !riskDecision.block.has(l.beneficiaryId));

    const inserted = await ordersRepo.insertIfNew(tx, {
      id: orderId, tenant_id: tenantId, external_id: body.external_id, request_hash: hash, buyer_external_id: body.buyer_external_id,
      invite_code: body.invite_code ?? null, status: 'paid', seller_id: seller?.id ?? null, chain, rule_version: snapshot.version,
      attribution, region_code: body.region_code ?? null, paid_fen: paidFen, shipping_fen: body.shipping_fen ?? 0, tax_fen: body.tax_fen ?? 0,
      paid_at: paidAt, created_at: now, updated_at: now, device_bidx: deviceBidx, client_ip: body.client_ip ?? null,
    });
    if (!inserted) throw new DuplicateOrder();
    await ordersRepo.insertItems(tx, items.map((i) => ({
      id: i.id, tenant_id: tenantId, order_id: orderId, position: i.position, sku: i.sku, quantity: i.quantity, unit_price_fen: i.unit_price_fen, paid_fen: i.paid_fen,
    })));
    const commissionRows: Insertable<CommissionsTable>[] = lines.map((l) => ({
      id: newId('cm'), tenant_id: tenantId, order_id: orderId, order_item_id: l.itemId, beneficiary_id: l.beneficiaryId, level: l.level,
      rule_version: snapshot.version, rate_source: l.source, rate_kind: l.rateKind, rate_bp: l.rateBp, fixed_fen: l.fixedFen,
      beneficiary_grade: l.grade, units: l.units, base_fen: l.baseFen, original_base_fen: l.baseFen, amount_fen: l.amountFen,
      original_amount_fen: l.amountFen, capped_fen: l.uncappedFen - l.amountFen, status: 'pending', created_at: now,
      held: riskDecision.hold.has(l.beneficiaryId),
    }));
    await ordersRepo.insertCommissions(tx, commissionRows);
    if (riskDecision.events.length > 0) {
      await riskEngine.recordOrderEvents(tx, tenantId, riskDecision, commissionRows.map((c) => ({ id: c.id, beneficiary_id: c.beneficiary_id, held: c.held ?? false })));
    }
    // Rows no other order of the chain touches first; then, last before commit, the rows every
    // order of the chain shares (the ledger's accounts, monthly sales, the rollups), so the time
    // those locks are held — what orders of one team queue on — is as short as it can be.
    await sql`update customers set purchases_fen = purchases_fen + ${paidFen},
        last_order_at = greatest(coalesce(last_order_at, ${paidAt}::timestamptz), ${paidAt}::timestamptz)
      where tenant_id = ${tenantId} and external_id = ${body.buyer_external_id}`.execute(tx);
    const { actorType, actorId } = actorOf(actor.principal);
    await tx.insertInto('order_events').values({
      id: newId('evt'), tenant_id: tenantId, order_id: orderId, type: 'paid', at: paidAt, refund_fen: null,
      details: JSON.stringify({ lines: commissionRows.length }), actor_type: actorType, actor_id: actorId, request_id: actor.requestId,
    }).execute();
    const row = (await ordersRepo.findByExternal(tx, tenantId, body.external_id))!;
    if (commissionRows.length > 0) {
      const total = commissionRows.reduce((s, c) => s + c.amount_fen, 0);
      await ledger.post(tx, {
        tenantId, kind: 'accrue', refType: 'order', refId: orderId, memo: body.external_id,
        legs: [
          ...commissionRows.map((c): Leg => ({ owner: c.beneficiary_id, purpose: 'pending', amount: c.amount_fen, commissionId: c.id })),
          { owner: 'tenant', purpose: 'commission_expense', amount: -total },
        ],
      });
    }
    if (seller) await ordersRepo.addSales(tx, tenantId, seller.id, month, paidFen, 1, 0);
    if (daily.size > 0) {
      const earned = new Map<string, number>();
      for (const c of commissionRows) earned.set(c.beneficiary_id, (earned.get(c.beneficiary_id) ?? 0) + c.amount_fen);
      await ordersRepo.addDaily(tx, earned, day);
    }
    if (seller) await grades.evaluate(tx, tenantId, seller.id, snapshot);
    await deps.analytics.record(tx, { type: 'order_paid', tenantId, timezone: tz, paidAt, paidFen, seller, lines: commissionRows });
    return row;
  }

  /**
   * Applies refunds to order lines and recomputes each commission line on what remains. Before
   * settlement a line changes itself (and is reversed at 0); after settlement a clawback line
   * takes the difference from the withdrawable balance, which may go negative.
   */
  async function applyRefund(tx: Tx, order: OrderRow, items: OrderItemRow[], refunds: Map<string, { fen: number; quantity: number }>, eventId: string, settings: { timezone: string; caps: { per_day_fen: number } }) {
    const now = clock.now();
    const total = [...refunds.values()].reduce((s, r) => s + r.fen, 0);
    // The buyer's row first, before any ledger account: a new order of the same buyer locks the
    // customer row and then its chain's accounts, so taking them the other way round here
    // deadlocked a refund against a concurrent order (seen on PostgreSQL in orders-races).
    await tx.updateTable('customers').set((eb) => ({ purchases_fen: eb('purchases_fen', '-', total) }))
      .where('tenant_id', '=', order.tenant_id).where('external_id', '=', order.buyer_external_id).execute();
    await ordersRepo.updateItemRefunds(tx, [...refunds.entries()].map(([id, r]) => ({ id, fen: r.fen, quantity: r.quantity })));
    const after = new Map(items.map((i) => {
      const r = refunds.get(i.id);
      return [i.id, { ...i, refunded_fen: i.refunded_fen + (r?.fen ?? 0), refunded_quantity: i.refunded_quantity + (r?.quantity ?? 0) }];
    }));
    const lines = await ordersRepo.lockCommissions(tx, order.id);
    // A settled line keeps its figures; what refunds took back since lives in its clawback lines.
    const clawedBack = new Map<string, number>();
    const clawedBackBase = new Map<string, number>();
    for (const c of lines) {
      if (c.kind !== 'clawback' || !c.clawback_of) continue;
      clawedBack.set(c.clawback_of, (clawedBack.get(c.clawback_of) ?? 0) + c.amount_fen);
      clawedBackBase.set(c.clawback_of, (clawedBackBase.get(c.clawback_of) ?? 0) + c.base_fen);
    }
    const legs: Leg[] = [];
    const dailyDelta = new Map<string, number>();
    let reversedTotal = 0;
    for (const c of lines) {
      if (c.kind !== 'commission' || !c.order_item_id || !refunds.has(c.order_item_id)) continue;
      const item = after.get(c.order_item_id)!;
      const effective = c.amount_fen + (clawedBack.get(c.id) ?? 0);
      const next = recomputeLine(
        { rateKind: c.rate_kind, rateBp: c.rate_bp, fixedFen: c.fixed_fen, currentFen: effective },
        { quantity: item.quantity, paid_fen: item.paid_fen, remaining_fen: item.paid_fen - item.refunded_fen, refunded_quantity: item.refunded_quantity },
      );
      const delta = effective - next.amountFen;
      if (c.status === 'reversed') {
        // Nothing left to take back, but the line still shows the base it stands on.
        await tx.updateTable('commissions').set({ base_fen: next.baseFen, units: next.units }).where('id', '=', c.id).execute();
        continue;
      }
      if (c.status === 'settled') {
        if (delta <= 0) continue;
        const id = newId('cm');
        await ordersRepo.insertCommissions(tx, [{
          id, tenant_id: order.tenant_id, order_id: order.id, order_item_id: c.order_item_id, beneficiary_id: c.beneficiary_id, level: c.level,
          kind: 'clawback', clawback_of: c.id, rule_version: c.rule_version, rate_source: 'clawback', rate_kind: c.rate_kind, rate_bp: c.rate_bp,
          fixed_fen: c.fixed_fen, beneficiary_grade: c.beneficiary_grade, units: 0,
          base_fen: next.baseFen - (c.base_fen + (clawedBackBase.get(c.id) ?? 0)), original_base_fen: next.baseFen - (c.base_fen + (clawedBackBase.get(c.id) ?? 0)),
          amount_fen: -delta, original_amount_fen: -delta, status: 'settled', settled_at: now, created_at: now,
        }]);
        legs.push({ owner: c.beneficiary_id, purpose: 'withdrawable', amount: -delta, commissionId: id });
      } else {
        await tx.updateTable('commissions').set({
          base_fen: next.baseFen, units: next.units, amount_fen: next.amountFen,
          ...(next.amountFen === 0 ? { status: 'reversed' as const, reversed_at: now } : {}),
        }).where('id', '=', c.id).execute();
        if (delta > 0) legs.push({ owner: c.beneficiary_id, purpose: accountOfStatus(c.status), amount: -delta, commissionId: c.id });
      }
      if (delta > 0) {
        reversedTotal += delta;
        dailyDelta.set(c.beneficiary_id, (dailyDelta.get(c.beneficiary_id) ?? 0) - delta);
      }
    }
    if (legs.length > 0) {
      legs.push({ owner: 'tenant', purpose: 'commission_expense', amount: reversedTotal });
      await ledger.post(tx, { tenantId: order.tenant_id, kind: 'refund', refType: 'order_event', refId: eventId, memo: order.external_id, legs });
    }
    if (order.seller_id) await ordersRepo.addSales(tx, order.tenant_id, order.seller_id, localMonth(order.paid_at, settings.timezone), -total, 0, total);
    if (settings.caps.per_day_fen > 0 && dailyDelta.size > 0) {
      await ordersRepo.lockDaily(tx, order.tenant_id, [...dailyDelta.keys()], localDate(order.paid_at, settings.timezone));
      await ordersRepo.addDaily(tx, dailyDelta, localDate(order.paid_at, settings.timezone));
    }
    return total;
  }

  /** Turns a refund request (an amount, or lines and quantities) into per-line refunds. */
  function planRefund(items: OrderItemRow[], body: OrderEventBody, cancelAll: boolean): Map<string, { fen: number; quantity: number }> {
    const plan = new Map<string, { fen: number; quantity: number }>();
    const remaining = items.map((i) => i.paid_fen - i.refunded_fen);
    const still = remaining.reduce((s, r) => s + r, 0);
    if (cancelAll) {
      items.forEach((i, k) => { if (remaining[k]! > 0 || i.quantity > i.refunded_quantity) plan.set(i.id, { fen: remaining[k]!, quantity: i.quantity - i.refunded_quantity }); });
      return plan;
    }
    if (body.items && body.refund_fen !== undefined) throw invalid('give refund_fen or items, not both');
    if (body.items) {
      for (const r of body.items) {
        const matches = items.filter((i) => (r.position !== undefined ? i.position === r.position : r.sku !== undefined && i.sku === r.sku));
        if (r.position === undefined && r.sku === undefined) throw invalid('each refunded item needs a position or a sku');
        const item = matches.find((i) => i.quantity - i.refunded_quantity - (plan.get(i.id)?.quantity ?? 0) >= r.quantity);
        if (!item) throw invalid(`no order line ${r.position ?? r.sku} with ${r.quantity} unit(s) left to refund`);
        const prior = plan.get(item.id) ?? { fen: 0, quantity: 0 };
        const heldUnits = item.quantity - item.refunded_quantity - prior.quantity;
        const fen = refundForUnits(item.paid_fen - item.refunded_fen - prior.fen, heldUnits, r.quantity);
        plan.set(item.id, { fen: prior.fen + fen, quantity: prior.quantity + r.quantity });
      }
      return plan;
    }
    if (body.refund_fen === undefined) throw invalid('refunded needs refund_fen (or items)');
    if (body.refund_fen > still) throw invalid(`refund_fen ${body.refund_fen} exceeds what is still paid (${still})`);
    const shares = allocateRefund(remaining, body.refund_fen);
    items.forEach((i, k) => { if (shares[k]! > 0) plan.set(i.id, { fen: shares[k]!, quantity: 0 }); });
    return plan;
  }

  async function eventWithin(tx: Tx, actor: Actor, order: OrderRow, body: OrderEventBody): Promise<void> {
    const now = clock.now();
    const at = body.at ? new Date(body.at) : now;
    const allowed = TRANSITIONS[body.type];
    if (!allowed.includes(order.status)) throw invalidState(`a ${order.status} order cannot be ${body.type}`);
    const eventId = newId('evt');
    let refundFen: number | null = null;
    const settings = await program.read(tx, order.tenant_id);
    switch (body.type) {
      case 'shipped':
        await ordersRepo.updateStatus(tx, order.id, allowed, { status: 'shipped', shipped_at: at, updated_at: now });
        break;
      case 'received':
        await ordersRepo.updateStatus(tx, order.id, allowed, { status: 'received', received_at: at, updated_at: now });
        break;
      case 'cancelled':
      case 'refunded': {
        const items = await ordersRepo.items(tx, order.id);
        const still = order.paid_fen - order.refunded_fen;
        if (body.type === 'refunded' && still === 0 && !body.items) throw invalidState('nothing is left to refund');
        const plan = planRefund(items, body, body.type === 'cancelled');
        refundFen = await applyRefund(tx, order, items, plan, eventId, settings);
        const refunded = order.refunded_fen + refundFen;
        const status: OrderStatus = body.type === 'cancelled' ? 'cancelled' : refunded >= order.paid_fen ? 'refunded' : order.status;
        await ordersRepo.updateStatus(tx, order.id, allowed, {
          status, refunded_fen: refunded, updated_at: now, ...(body.type === 'cancelled' ? { cancelled_at: at } : {}),
        });
        if (order.seller_id) await riskEngine.assessRefund(tx, order.tenant_id, settings, order.seller_id);
        break;
      }
      default: {
        const never: never = body.type;
        throw invalid(`unknown event ${String(never)}`);
      }
    }
    const { actorType, actorId } = actorOf(actor.principal);
    await tx.insertInto('order_events').values({
      id: eventId, tenant_id: order.tenant_id, order_id: order.id, type: body.type, at, refund_fen: refundFen,
      details: JSON.stringify({ ...(body.items ? { items: body.items } : {}), ...(body.reason ? { reason: body.reason } : {}) }),
      actor_type: actorType, actor_id: actorId, request_id: actor.requestId,
    }).execute();
    await deps.analytics.record(tx, { type: 'order_event', tenantId: order.tenant_id, timezone: settings.timezone, eventId, kind: body.type, refundFen, order });
  }

  return {
    view,

    /**
     * POST /v1/orders. Idempotent on the external id: the same body answers the order again
     * (created: false), a different body is a conflict; concurrent duplicates make one order.
     */
    async create(actor: Actor, body: CreateOrderBody): Promise<{ created: boolean; order: OrderView }> {
      requirePermission(actor.principal, 'orders:write');
      const tenantId = tenantOf(actor.principal);
      const hash = requestHash(body);
      const answerExisting = async (existing: OrderRow) => {
        if (existing.request_hash !== hash) throw conflict('an order with this external_id exists with a different body');
        return { created: false, order: await view(db, existing) };
      };
      const existing = await ordersRepo.findByExternal(db, tenantId, body.external_id);
      if (existing) return answerExisting(existing);
      try {
        const order = await inTransaction(db, (tx) => createWithin(tx, actor, tenantId, body, hash));
        return { created: true, order: await view(db, order) };
      } catch (err) {
        if (!(err instanceof DuplicateOrder)) throw err;
        return answerExisting((await ordersRepo.findByExternal(db, tenantId, body.external_id))!);
      }
    },

    async get(actor: Actor, externalId: string): Promise<OrderView> {
      requirePermission(actor.principal, 'read');
      const order = await ordersRepo.findByExternal(db, tenantOf(actor.principal), externalId);
      if (!order) throw notFound('order');
      return view(db, order);
    },

    async list(actor: Actor, q: { status?: OrderStatus | undefined; seller_id?: string | undefined; buyer_external_id?: string | undefined; from?: string | undefined; to?: string | undefined; cursor?: string | undefined; limit: number }) {
      requirePermission(actor.principal, 'read');
      const rows = await ordersRepo.list(db, tenantOf(actor.principal), {
        ...(q.status ? { status: q.status } : {}), ...(q.seller_id ? { sellerId: q.seller_id } : {}),
        ...(q.buyer_external_id ? { buyer: q.buyer_external_id } : {}),
        ...(q.from ? { from: new Date(q.from) } : {}), ...(q.to ? { to: new Date(q.to) } : {}),
        ...(q.cursor ? { beforeId: q.cursor } : {}), limit: q.limit + 1,
      });
      const page = rows.slice(0, q.limit);
      return { items: await Promise.all(page.map((o) => view(db, o))), next_cursor: rows.length > q.limit ? page[page.length - 1]!.id : null };
    },

    /**
     * POST /v1/orders/{external_id}/events. With an Idempotency-Key the first answer is kept: a
     * retry gets it again, another body under the same key is a conflict. The order row is locked
     * first, so events of one order (and their retries) run one at a time.
     */
    async event(actor: Actor, externalId: string, body: OrderEventBody, idempotencyKey?: string): Promise<OrderView> {
      requirePermission(actor.principal, 'orders:write');
      const tenantId = tenantOf(actor.principal);
      if (body.type === 'refunded' && body.refund_fen === undefined && !body.items) throw invalid('refunded needs refund_fen (or items)');
      if (body.type !== 'refunded' && (body.refund_fen !== undefined || body.items)) throw invalid(`${body.type} takes no refund_fen or items`);
      const hash = requestHash(body);
      return inTransaction(db, async (tx) => {
        const order = await ordersRepo.lockByExternal(tx, tenantId, externalId);
        if (!order) throw notFound('order');
        const scope = `order_event:${order.id}`;
        if (idempotencyKey) {
          const prior = await tx.selectFrom('idempotency_keys').selectAll()
            .where('tenant_id', '=', tenantId).where('scope', '=', scope).where('key', '=', idempotencyKey).executeTakeFirst();
          if (prior) {
            if (prior.request_hash !== hash) throw conflict('this Idempotency-Key was used with a different body');
            return prior.response_body as OrderView;
          }
        }
        await eventWithin(tx, actor, order, body);
        const answer = await view(tx, (await ordersRepo.findByExternal(tx, tenantId, externalId))!);
        if (idempotencyKey) {
          await tx.insertInto('idempotency_keys').values({
            tenant_id: tenantId, scope, key: idempotencyKey, request_hash: hash, response_status: 200, response_body: JSON.stringify(answer),
          }).execute();
        }
        return answer;
      });
    },

    eventWithin,

    /**
     * Confirms receipt of orders shipped `auto_receive_days` ago that the buyer never confirmed.
     * Each order in its own short transaction; SKIP LOCKED lets several workers share the work.
     */
    async autoReceive(tenantId: string, asOf: Date): Promise<{ received: number }> {
      const settings = await program.read(db, tenantId);
      const cutoff = new Date(asOf.getTime() - settings.auto_receive_days * 86_400_000);
      let received = 0;
      for (;;) {
        const batch = await inTransaction(db, async (tx) => {
          const due = await tx.selectFrom('orders').selectAll().where('tenant_id', '=', tenantId).where('status', '=', 'shipped')
            .where('shipped_at', '<=', cutoff).orderBy('shipped_at').limit(100).forUpdate().skipLocked().execute();
          for (const order of due) {
            const at = new Date(order.shipped_at!.getTime() + settings.auto_receive_days * 86_400_000);
            await eventWithin(tx, { principal: { kind: 'system', tenantId, job: 'auto-receive' }, requestId: null }, order, { type: 'received', at: at.toISOString() });
          }
          return due.length;
        });
        received += batch;
        if (batch < 100) break;
      }
      return { received };
    },
  };
}

export type OrdersService = ReturnType<typeof createOrdersService>;
