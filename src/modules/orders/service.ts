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
import { createOrderBatch, type OrderOutcome, type OrderRequest } from './batch.ts';
import { createGroupCommit, type Settled } from '../../lib/group-commit.ts';
import { isDatabaseUnavailable } from '../../app/errors.ts';
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
  /** The most orders one transaction writes (default 256). */
  maxBatch?: number | undefined;
  /** Batches of one tenant written at once by this process (default 2). */
  maxInFlight?: number | undefined;
}) {
  const { db, clock, program, ledger, riskEngine } = deps;
  const batch = createOrderBatch(deps);

  /**
   * One batch in one transaction. If it fails as a whole (a fault no order's own checks caught),
   * it is split in halves until each order has its own answer: one bad order never fails the
   * others. A database that is away fails every order of the batch at once (503) instead.
   */
  async function settle(tenantId: string, requests: OrderRequest[]): Promise<Settled<{ created: boolean; order: OrderView }>[]> {
    let outcomes: OrderOutcome[];
    try {
      outcomes = await inTransaction(db, (tx) => batch.createMany(tx, tenantId, requests));
    } catch (error) {
      if (requests.length === 1 || isDatabaseUnavailable(error)) return requests.map(() => ({ ok: false, error }));
      const half = Math.ceil(requests.length / 2);
      return [...await settle(tenantId, requests.slice(0, half)), ...await settle(tenantId, requests.slice(half))];
    }
    return Promise.all(outcomes.map(async (o): Promise<Settled<{ created: boolean; order: OrderView }>> => {
      switch (o.kind) {
        case 'created': return { ok: true, value: { created: true, order: o.order } };
        case 'replay': {
          const first = outcomes[o.of]!;
          return first.kind === 'created' ? { ok: true, value: { created: false, order: first.order } } : { ok: false, error: new Error('replay of an order that was not created') };
        }
        case 'existing':
          try {
            return { ok: true, value: { created: false, order: await view(db, o.row) } };
          } catch (error) {
            return { ok: false, error };
          }
        case 'refused': return { ok: false, error: o.error };
        default: {
          const never: never = o;
          return { ok: false, error: new Error(`unknown outcome ${JSON.stringify(never)}`) };
        }
      }
    }));
  }

  const commits = createGroupCommit<OrderRequest, { created: boolean; order: OrderView }>({ maxBatch: deps.maxBatch ?? 256, maxInFlight: deps.maxInFlight ?? 2, run: settle });

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
     * POST /v1/orders (and orders from webhooks and the queue). Idempotent on the external id:
     * the same body answers the order again (created: false), a different body is a conflict;
     * concurrent duplicates make one order. The order joins its tenant's next batch (group
     * commit) and is answered once that batch has committed.
     */
    async create(actor: Actor, body: CreateOrderBody): Promise<{ created: boolean; order: OrderView }> {
      requirePermission(actor.principal, 'orders:write');
      return commits.submit(tenantOf(actor.principal), { actor, body, hash: requestHash(body) });
    },

    /** Resolves when no batch of orders is queued or running. */
    idle: () => commits.idle(),

    batchStats: () => ({ ...commits.stats }),

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
