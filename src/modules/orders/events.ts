import type { Outbox, OutboxEvent } from '../webhooks/outbox.ts';
import type { Insertable } from 'kysely';
import type { Tx } from '../../db/database.ts';
import { RetryTransaction } from '../../db/database.ts';
import type { Actor, Clock } from '../../core/context.ts';
import { AppError, invalid, invalidState, isDatabaseUnavailable, isRetryableTxError, notFound } from '../../core/errors.ts';
import { actorOf } from '../../core/principal.ts';
import type { CommissionsTable, OrderEventsTable, OrderStatus } from '../../db/schema.ts';
import { newId } from '../../core/ids.ts';
import { localDate, localMonth, paidMoment } from '../../core/time.ts';
import type { Settled } from '../../lib/group-commit.ts';
import { allocateRefund, recomputeLine, refundForUnits } from '../commissions/calculator.ts';
import type { Ledger, Leg } from '../ledger/service.ts';
import type { RulesService } from '../rules/service.ts';
import type { AnalyticsRecorder, OrderRefundedPlan } from '../analytics/recorder.ts';
import type { OrderPathRisk } from '../risk/service.ts';
import type { AgentOrderPath } from '../agents/order-path.ts';
import { recomputePriceDifference } from '../agents/stock.ts';
import { keyConflict, orderEventScope } from '../idempotency/service.ts';
import type { ProgramSettings } from '../program/schema.ts';
import type { TenantContexts } from './contexts.ts';
import { known, ordersRepo, type CommissionRow, type OrderItemRow, type OrderRow } from './repo.ts';
import type { OrderEventBody, OrderView } from './schema.ts';
import { accountOfStatus, commissionView, orderViewOf, TRANSITIONS } from './view.ts';
import { MESSAGES, zhStatus } from '../../core/error-text.ts';

/** One POST /v1/orders/{external_id}/events (or a webhook's or a queue message's event) waiting for its batch. */
export interface EventRequest {
  actor: Actor;
  externalId: string;
  body: OrderEventBody;
  /** requestHash(body): the same Idempotency-Key with another body is a conflict. */
  hash: string;
  idempotencyKey: string | undefined;
}

/** An event's answer: the order after it, and whether it is the answer kept under its Idempotency-Key. */
export interface EventAnswer {
  order: OrderView;
  replayed: boolean;
}

/** One order of a batch as the events so far have left it. */
interface Working {
  row: OrderRow;
  items: OrderItemRow[];
  lines: CommissionRow[];
  /** Its row differs from the database's: written with the batch's last statement. */
  dirty: boolean;
  /** A refund of the batch may have changed its lines since they were read (a risk hold). */
  stale: boolean;
}

/** Per-line refunds of an event: fen and units per order item id. */
type RefundPlan = Map<string, { fen: number; quantity: number }>;

/**
 * Group commit of order events (shipped, received, refunded, cancelled). A batch of one tenant's
 * events is applied in one transaction with the same result as applying them one at a time in
 * the order they came: the batch's orders are locked in one statement (id order: an order's row is
 * what its events have always locked first), what the events read — the Idempotency-Keys' kept
 * answers, the orders' items and lines, the program — in one more, and then each event is decided
 * in memory against the order as the events before it left it. Status changes, the events'
 * rows and the answers kept under keys go in together as the last statement. A refund or a
 * cancellation reverses commission lines, which touches the ledger, sales, caps and rollups: it
 * runs its statements where it stands in the sequence, under a savepoint of its own, so one that
 * fails is answered with its error and the others stand.
 *
 * Errors per event, as one at a time: not_found (no such order), conflict (a key used with
 * another body), invalid_state (a transition the order's state does not allow, or nothing left
 * to refund) and invalid_request (a refund that does not fit).
 */
export function createOrderEvents(deps: {
  clock: Clock;
  ledger: Ledger;
  risk: OrderPathRisk;
  analytics: AnalyticsRecorder;
  rules: RulesService;
  contexts: TenantContexts;
  /** order.shipped, received, refunded and cancelled (and a refund's commission.clawed_back) for merchants' webhook endpoints, in the batch's last statement. */
  outbox: Outbox;
  /** Agent mode: a refund of an order served from stock returns its units (see agents/order-path.ts). */
  agents?: AgentOrderPath | undefined;
}) {
  const { clock, ledger, risk, rules, contexts } = deps;

  async function applyMany(tx: Tx, tenantId: string, requests: EventRequest[]): Promise<Settled<EventAnswer>[]> {
    const out: Settled<EventAnswer>[] = new Array(requests.length);
    // ---- locked and read once: the orders (one statement), then keys, items, lines and the rule version (one more)
    const rows = await ordersRepo.lockManyByExternal(tx, tenantId, [...new Set(requests.map((r) => r.externalId))]);
    const orders = new Map(rows.map((o): [string, Working] => [o.external_id, { row: o, items: [], lines: [], dirty: false, stale: false }]));
    const scopeOf = (w: Working) => orderEventScope(w.row.id);
    const wanted = requests.flatMap((r) => {
      const w = orders.get(r.externalId);
      return w && r.idempotencyKey !== undefined ? [{ scope: scopeOf(w), key: r.idempotencyKey }] : [];
    });
    const read =
      rows.length === 0
        ? { version: null, keys: [], items: [], lines: [] }
        : await ordersRepo.eventBatchRead(
            tx,
            tenantId,
            rows.map((o) => o.id),
            wanted,
            rules.latestVersionSql(tenantId),
          );
    const byId = new Map([...orders.values()].map((w) => [w.row.id, w]));
    for (const i of read.items) byId.get(i.order_id)?.items.push(i);
    for (const c of read.lines) byId.get(c.order_id)?.lines.push(c);
    /** The answers kept under keys, and those this batch keeps, by scope and key. */
    const kept = new Map<string, { hash: string; answer: OrderView }>();
    const keyOf = (scope: string, key: string) => `${scope}\u0000${key}`;
    for (const k of read.keys) kept.set(keyOf(k.scope, k.key), { hash: k.request_hash, answer: k.response_body as OrderView });

    // ---- what refunds need, taken once before the first of them runs
    let settings: ProgramSettings | undefined;
    const refunding = requests.filter((r) => (r.body.type === 'refunded' || r.body.type === 'cancelled') && orders.has(r.externalId));
    const prepareRefunds = async (): Promise<ProgramSettings> => {
      if (settings) return settings;
      settings = (await contexts.at(tx, tenantId, read.version)).settings;
      // One refund locks its buyer, its lines and its accounts in that order by itself; several
      // take all of theirs first, so no refund of the batch locks a buyer after another's accounts.
      if (refunding.length > 1) {
        const ws = refunding.map((r) => known(orders.get(r.externalId), 'the order of a refund'));
        await ordersRepo.lockForRefunds(tx, tenantId, [...new Set(ws.map((w) => w.row.buyer_external_id))], [...new Set(ws.map((w) => w.row.id))]);
      }
      return settings;
    };

    // ---- the events, one after another, in memory (refunds run their statements as they come)
    const eventRows: Insertable<OrderEventsTable>[] = [];
    const newKeys: { scope: string; key: string; request_hash: string; response_body: string }[] = [];
    const outboxEvents: OutboxEvent[] = [];
    for (const [i, r] of requests.entries()) {
      const w = orders.get(r.externalId);
      if (!w) {
        out[i] = { ok: false, error: notFound('order') };
        continue;
      }
      const scope = scopeOf(w);
      if (r.idempotencyKey !== undefined) {
        const prior = kept.get(keyOf(scope, r.idempotencyKey));
        if (prior) {
          out[i] = prior.hash === r.hash ? { ok: true, value: { order: prior.answer, replayed: true } } : { ok: false, error: keyConflict() };
          continue;
        }
      }
      let applied: Awaited<ReturnType<typeof apply>>;
      try {
        applied = await apply(tx, w, r, i, requests.length === 1, prepareRefunds);
      } catch (error) {
        // A fault of the whole transaction (a deadlock, the database away, a lone refund that
        // failed midway) is the batch's: it rolls back, and is retried or split.
        if (error instanceof FailBatch) throw error.error;
        if (!(error instanceof AppError) && mustFailBatch(error)) throw error;
        out[i] = { ok: false, error };
        continue;
      }
      eventRows.push(applied.event);
      // A refund that found its seller past the refund-rate rule holds the seller's lines in
      // every order (its own too): read again before an answer shows them.
      if (applied.held) for (const x of orders.values()) x.stale = true;
      if (w.stale) {
        const stale = [...orders.values()].filter((x) => x.stale);
        const lines = await ordersRepo.commissionsOfOrders(
          tx,
          stale.map((x) => x.row.id),
        );
        for (const x of stale) {
          x.lines = lines.filter((c) => c.order_id === x.row.id);
          x.stale = false;
        }
      }
      const answer = orderViewOf(w.row, w.items, w.lines);
      out[i] = { ok: true, value: { order: answer, replayed: false } };
      outboxEvents.push({
        type: `order.${r.body.type}`,
        objectType: 'order',
        objectId: w.row.id,
        data: {
          ...answer,
          event: { type: r.body.type, at: new Date(applied.event.at as Date | string).toISOString(), refund_fen: applied.event.refund_fen ?? null },
        },
      });
      // A refund after settlement: each clawback line it wrote, after the order.refunded that caused it.
      outboxEvents.push(...applied.clawbacks);
      if (r.idempotencyKey !== undefined) {
        kept.set(keyOf(scope, r.idempotencyKey), { hash: r.hash, answer });
        newKeys.push({ scope, key: r.idempotencyKey, request_hash: r.hash, response_body: JSON.stringify(answer) });
      }
    }

    // ---- written: the orders' statuses and times, the events, the kept answers, and the events for
    // merchants' webhook endpoints (order.shipped, received, refunded, cancelled: the order as answered)
    await ordersRepo.eventBatchWrite(
      tx,
      tenantId,
      { orders: [...orders.values()].filter((w) => w.dirty).map((w) => w.row), events: eventRows, keys: newKeys },
      outboxEvents.length > 0 ? deps.outbox.ctes(tenantId, outboxEvents, { name: 'webhook' }) : [],
    );
    return out;
  }

  /**
   * One event against the order as the batch has left it; answers its row for order_events and
   * leaves `w` as the order stands after it. Refused before anything is written (invalid_state,
   * invalid_request), or, for a refund, rolled back to its savepoint when it fails midway.
   */
  async function apply(
    tx: Tx,
    w: Working,
    r: EventRequest,
    index: number,
    alone: boolean,
    prepareRefunds: () => Promise<ProgramSettings>,
  ): Promise<{ event: Insertable<OrderEventsTable>; held: boolean; clawbacks: OutboxEvent[] }> {
    const body = r.body;
    const now = clock.now();
    const at = body.at ? new Date(body.at) : now;
    const order = w.row;
    if (order.status === 'pending_payment' && body.type !== 'closed') throw invalidState(MESSAGES.orderAwaitsPayment(body.type));
    if (!TRANSITIONS[body.type].includes(order.status))
      throw invalidState({ en: `a ${order.status} order cannot be ${body.type}`, zh: `状态为${zhStatus(order.status)}的订单不能标记为${zhStatus(body.type)}` });
    const eventId = newId('evt');
    let refundFen: number | null = null;
    let held = false;
    let clawbacks: OutboxEvent[] = [];
    switch (body.type) {
      case 'shipped':
        w.row = { ...order, status: 'shipped', shipped_at: at, updated_at: now };
        w.dirty = true;
        break;
      case 'received':
        w.row = { ...order, status: 'received', received_at: at, updated_at: now };
        w.dirty = true;
        break;
      case 'closed':
        // Closed unpaid: it never had commission lines, sales or journal entries to undo.
        w.row = { ...order, status: 'closed', closed_at: at, updated_at: now };
        w.dirty = true;
        break;
      case 'cancelled':
      case 'refunded': {
        const cancel = body.type === 'cancelled';
        if (!cancel && order.paid_fen - order.refunded_fen === 0 && !body.items)
          throw invalidState({ en: 'nothing is left to refund', zh: '已没有可退款的金额' });
        const plan = planRefund(w.items, body, cancel);
        const settings = await prepareRefunds().catch((error: unknown) => {
          throw new FailBatch(error);
        });
        const total = [...plan.values()].reduce((sum, p) => sum + p.fen, 0);
        const refunded = order.refunded_fen + total;
        const status: OrderStatus = cancel ? 'cancelled' : refunded >= order.paid_fen ? 'refunded' : order.status;
        // Written whole: with it go the statuses and times that events of this batch before it
        // left in memory, so the order row is as it stands before the risk rule reads it.
        const next: OrderRow = { ...order, status, refunded_fen: refunded, updated_at: now, ...(cancel ? { cancelled_at: at } : {}) };
        const run = async () => ({ next, total, ...(await applyRefund(tx, order, next, w.items, plan, eventId, settings)) });
        // Alone in its batch, a refund that fails fails its transaction, as it always has; among
        // others it rolls back to its own savepoint. Savepoints are not released: a release is a
        // round trip and buys nothing, they all commit with the batch.
        const done = alone
          ? await run().catch((error: unknown) => {
              throw new FailBatch(error);
            })
          : await underSavepoint(tx, `order_event_${index}`, run);
        w.row = done.next;
        w.items = w.items.map((i) => {
          const p = plan.get(i.id);
          return p ? { ...i, refunded_fen: i.refunded_fen + p.fen, refunded_quantity: i.refunded_quantity + p.quantity } : i;
        });
        w.lines = done.lines;
        w.dirty = false;
        held = done.held;
        clawbacks = done.clawbacks;
        refundFen = done.total;
        break;
      }
      default: {
        const never: never = body.type;
        throw invalid({ en: `unknown event ${String(never)}`, zh: `未知的事件 ${String(never)}` });
      }
    }
    const { actorType, actorId } = actorOf(r.actor.principal);
    return {
      event: {
        id: eventId,
        tenant_id: order.tenant_id,
        order_id: order.id,
        type: body.type,
        at,
        refund_fen: refundFen,
        details: JSON.stringify({ ...(body.items ? { items: body.items } : {}), ...(body.reason ? { reason: body.reason } : {}) }),
        actor_type: actorType,
        actor_id: actorId,
        request_id: r.actor.requestId,
      },
      held,
      clawbacks,
    };
  }

  /**
   * Applies refunds to order lines and recomputes each commission line on what remains. Before
   * settlement a line changes itself (and is reversed at 0); after settlement a clawback line
   * takes the difference from the withdrawable balance, which may go negative. Two statements
   * (three with the journal's ledger columns in analytics, four with the refund-rate rule): the buyer, the order lines
   * and the commission lines locked, then, decided in memory, the lines, the journal, the
   * seller's sales, the day's totals, the rollups and the order row. Answers the order's lines
   * as they then stand, and whether the seller was found past the refund-rate rule.
   */
  async function applyRefund(
    tx: Tx,
    order: OrderRow,
    next: OrderRow,
    items: OrderItemRow[],
    refunds: RefundPlan,
    eventId: string,
    settings: ProgramSettings,
  ): Promise<{ lines: CommissionRow[]; held: boolean; clawbacks: OutboxEvent[] }> {
    const now = clock.now();
    const tenantId = order.tenant_id;
    const total = next.refunded_fen - order.refunded_fen;
    const begun = await ordersRepo.refundBegin(tx, tenantId, {
      buyer: order.buyer_external_id,
      total,
      items: [...refunds.entries()].map(([id, r]) => ({ id, fen: r.fen, quantity: r.quantity })),
      orderId: order.id,
      sellerId: order.seller_id,
    });
    const after = new Map(
      items.map((i) => {
        const r = refunds.get(i.id);
        return [i.id, { ...i, refunded_fen: i.refunded_fen + (r?.fen ?? 0), refunded_quantity: i.refunded_quantity + (r?.quantity ?? 0) }];
      }),
    );
    const lines = begun.lines;
    // An order served from an agent's stock: refunded units go back to it, and what the units
    // still sold cost is what its price-difference lines are recomputed on.
    const remainingCost = order.fulfilled_by && deps.agents ? await deps.agents.refundStock(tx, order, refunds, eventId, now) : undefined;
    // A settled line keeps its figures; what refunds took back since lives in its clawback lines.
    const clawedBack = new Map<string, number>();
    const clawedBackBase = new Map<string, number>();
    for (const c of lines) {
      if (c.kind !== 'clawback' || !c.clawback_of) continue;
      clawedBack.set(c.clawback_of, (clawedBack.get(c.clawback_of) ?? 0) + c.amount_fen);
      clawedBackBase.set(c.clawback_of, (clawedBackBase.get(c.clawback_of) ?? 0) + c.base_fen);
    }
    const changes: { id: string; base_fen: number; units: number; amount_fen: number; status: string; reversed_at: Date | null }[] = [];
    const clawbacks: Insertable<CommissionsTable>[] = [];
    const legs: Leg[] = [];
    const dailyDelta = new Map<string, number>();
    let reversedTotal = 0;
    // Each line recomputed on what its order line still pays, then each tier true-up adjustment
    // (kind 'adjustment') as what the final bracket's rate gives on that base beyond its line's
    // new amount: never above what it holds, and the line with it never above the final share.
    const recomputed: { c: (typeof lines)[number]; line: { amountFen: number; baseFen: number; units: number }; effective: number }[] = [];
    const lineAfter = new Map<string, number>();
    for (const c of lines) {
      if (c.kind !== 'commission' || !c.order_item_id || !refunds.has(c.order_item_id)) continue;
      const item = known(after.get(c.order_item_id), "a line's order item");
      const effective = c.amount_fen + (clawedBack.get(c.id) ?? 0);
      const line =
        c.rate_source === 'price_difference'
          ? recomputePriceDifference(
              { currentFen: effective },
              {
                remainingFen: item.paid_fen - item.refunded_fen,
                remainingCostFen: remainingCost?.get(c.order_item_id) ?? 0,
                remainingUnits: item.quantity - item.refunded_quantity,
              },
            )
          : recomputeLine(
              { rateKind: c.rate_kind, rateBp: c.rate_bp, fixedFen: c.fixed_fen, currentFen: effective },
              { quantity: item.quantity, paid_fen: item.paid_fen, remaining_fen: item.paid_fen - item.refunded_fen, refunded_quantity: item.refunded_quantity },
            );
      recomputed.push({ c, line, effective });
      lineAfter.set(c.id, c.status === 'reversed' ? 0 : line.amountFen);
    }
    for (const c of lines) {
      if (c.kind !== 'adjustment' || !c.adjusts || !c.order_item_id || !refunds.has(c.order_item_id)) continue;
      const parent = lineAfter.get(c.adjusts);
      if (parent === undefined) continue;
      const item = known(after.get(c.order_item_id), "a line's order item");
      const effective = c.amount_fen + (clawedBack.get(c.id) ?? 0);
      const whole = recomputeLine(
        { rateKind: c.rate_kind, rateBp: c.rate_bp, fixedFen: c.fixed_fen, currentFen: parent + effective },
        { quantity: item.quantity, paid_fen: item.paid_fen, remaining_fen: item.paid_fen - item.refunded_fen, refunded_quantity: item.refunded_quantity },
      );
      recomputed.push({ c, line: { ...whole, amountFen: Math.min(effective, Math.max(0, whole.amountFen - parent)) }, effective });
    }
    for (const { c, line, effective } of recomputed) {
      const delta = effective - line.amountFen;
      const unchanged = { id: c.id, base_fen: c.base_fen, units: c.units, amount_fen: c.amount_fen, status: c.status, reversed_at: c.reversed_at };
      if (c.status === 'reversed') {
        // Nothing left to take back, but the line still shows the base it stands on.
        changes.push({ ...unchanged, base_fen: line.baseFen, units: line.units });
        continue;
      }
      if (c.status === 'settled') {
        const baseDelta = line.baseFen - (c.base_fen + (clawedBackBase.get(c.id) ?? 0));
        if (delta <= 0) {
          // A refund too small to move the amount still moves the base the line stands on, as a
          // reversed line's does: there is no clawback (of 0 fen) to carry it. Without this the
          // line claimed a base larger than what its order line still paid, and ledger verify
          // named it (found by the events property test).
          if (baseDelta !== 0) changes.push({ ...unchanged, base_fen: c.base_fen + baseDelta });
          continue;
        }
        const id = newId('cm');
        clawbacks.push({
          id,
          tenant_id: tenantId,
          order_id: order.id,
          order_item_id: c.order_item_id,
          beneficiary_id: c.beneficiary_id,
          level: c.level,
          kind: 'clawback',
          clawback_of: c.id,
          rule_version: c.rule_version,
          pilot_id: c.pilot_id,
          rate_source: 'clawback',
          rate_kind: c.rate_kind,
          rate_bp: c.rate_bp,
          fixed_fen: c.fixed_fen,
          beneficiary_grade: c.beneficiary_grade,
          units: 0,
          base_fen: baseDelta,
          original_base_fen: baseDelta,
          amount_fen: -delta,
          original_amount_fen: -delta,
          status: 'settled',
          settled_at: now,
          created_at: now,
        });
        legs.push({ owner: c.beneficiary_id, purpose: 'withdrawable', amount: -delta, commissionId: id });
      } else {
        changes.push({
          ...unchanged,
          base_fen: line.baseFen,
          units: line.units,
          amount_fen: line.amountFen,
          ...(line.amountFen === 0 ? { status: 'reversed', reversed_at: now } : {}),
        });
        if (delta > 0) legs.push({ owner: c.beneficiary_id, purpose: accountOfStatus(c.status), amount: -delta, commissionId: c.id });
      }
      if (delta > 0) {
        reversedTotal += delta;
        dailyDelta.set(c.beneficiary_id, (dailyDelta.get(c.beneficiary_id) ?? 0) - delta);
      }
    }

    // Locks in the order every transaction takes them: the lines (above), the ledger's accounts,
    // then the seller's sales, the day's totals and the distributors' rollup rows.
    const ctes = [ordersRepo.lineChangesCte(changes), ordersRepo.clawbacksCte(clawbacks)];
    let last = 'refund_clawbacks';
    let journal: Awaited<ReturnType<Ledger['plan']>> | undefined;
    if (legs.length > 0) {
      legs.push({ owner: 'tenant', purpose: 'commission_expense', amount: reversedTotal });
      journal = await ledger.plan(tx, [{ tenantId, kind: 'refund', refType: 'order_event', refId: eventId, memo: order.external_id, legs }]);
      ctes.push(...journal.ctes);
      last = 'ledger_postings';
    }
    if (order.seller_id) {
      ctes.push(ordersRepo.refundSalesCte(tenantId, order.seller_id, localMonth(paidMoment(order), settings.timezone), total, last));
      last = 'refund_sales';
    }
    if (settings.caps.per_day_fen > 0 && dailyDelta.size > 0) {
      ctes.push(ordersRepo.refundDailyCte(tenantId, localDate(paidMoment(order), settings.timezone), dailyDelta, last));
      last = 'refund_daily';
    }
    // Analytics is told once, here: the refund's rollups and, after the statement, its journal.
    let rollups: OrderRefundedPlan | undefined;
    if (total > 0 || journal) {
      // What the journal takes from each distributor, as the rollups count it.
      const taken = new Map<string, number>();
      for (const l of legs) if (l.owner !== 'tenant') taken.set(l.owner, (taken.get(l.owner) ?? 0) + l.amount);
      rollups = deps.analytics.planOrderRefunded(
        tenantId,
        settings.timezone,
        {
          paidAt: paidMoment(order),
          sellerId: order.seller_id,
          segment: begun.segment,
          refundFen: total,
          taken,
          journal: journal
            ? legs
                .filter((l) => l.amount !== 0)
                .map((l) => ({ kind: 'refund', owner: l.owner, purpose: l.purpose, amount: l.amount, commissionId: l.commissionId ?? null }))
            : [],
        },
        last,
      );
      ctes.push(...rollups.ctes);
    }
    ctes.push(ordersRepo.orderStateCte(next));
    const written = await ordersRepo.refundWrite(tx, order.id, ctes, rollups?.found ?? null);
    await rollups?.finish(tx, written.extra as number[] | null);
    const flagged = next.seller_id ? await risk.assessRefund(tx, tenantId, settings, next.seller_id) : null;
    // commission.clawed_back per clawback line, as the order's lines now show it, keyed by the order.
    const clawbackIds = new Set(clawbacks.map((c) => c.id));
    const skuOf = new Map(items.map((i) => [i.id, i.sku]));
    const clawedBackEvents = written.lines
      .filter((c) => clawbackIds.has(c.id))
      .map((c): OutboxEvent => ({
        type: 'commission.clawed_back',
        objectType: 'order',
        objectId: order.id,
        data: { ...commissionView(c, order.external_id, c.order_item_id ? (skuOf.get(c.order_item_id) ?? null) : null), order_id: order.id },
      }));
    return { lines: written.lines, held: flagged !== null, clawbacks: clawedBackEvents };
  }

  return { applyMany };
}

/** Turns a refund request (an amount, or lines and quantities) into per-line refunds. Pure. */
export function planRefund(items: OrderItemRow[], body: OrderEventBody, cancelAll: boolean): RefundPlan {
  const plan: RefundPlan = new Map();
  const remaining = items.map((i) => i.paid_fen - i.refunded_fen);
  const still = remaining.reduce((s, r) => s + r, 0);
  if (cancelAll) {
    items.forEach((i, k) => {
      const left = remaining[k] ?? 0;
      if (left > 0 || i.quantity > i.refunded_quantity) plan.set(i.id, { fen: left, quantity: i.quantity - i.refunded_quantity });
    });
    return plan;
  }
  if (body.items && body.refund_fen !== undefined) throw invalid({ en: 'give refund_fen or items, not both', zh: 'refund_fen 与 items 只能二选一' });
  if (body.items) {
    for (const r of body.items) {
      const matches = items.filter((i) => (r.position !== undefined ? i.position === r.position : r.sku !== undefined && i.sku === r.sku));
      if (r.position === undefined && r.sku === undefined)
        throw invalid({ en: 'each refunded item needs a position or a sku', zh: '每个退款商品须给出 position 或 sku' });
      const item = matches.find((i) => i.quantity - i.refunded_quantity - (plan.get(i.id)?.quantity ?? 0) >= r.quantity);
      if (!item)
        throw invalid({
          en: `no order line ${r.position ?? r.sku} with ${r.quantity} unit(s) left to refund`,
          zh: `没有剩余 ${r.quantity} 件可退款的订单行 ${r.position ?? r.sku}`,
        });
      const prior = plan.get(item.id) ?? { fen: 0, quantity: 0 };
      const heldUnits = item.quantity - item.refunded_quantity - prior.quantity;
      const fen = refundForUnits(item.paid_fen - item.refunded_fen - prior.fen, heldUnits, r.quantity);
      plan.set(item.id, { fen: prior.fen + fen, quantity: prior.quantity + r.quantity });
    }
    return plan;
  }
  if (body.refund_fen === undefined) throw invalid({ en: 'refunded needs refund_fen (or items)', zh: 'refunded 事件须给出 refund_fen（或 items）' });
  if (body.refund_fen > still)
    throw invalid({
      en: `refund_fen ${body.refund_fen} exceeds what is still paid (${still})`,
      zh: `refund_fen ${body.refund_fen} 超出仍已支付的金额（${still} 分）`,
    });
  const shares = allocateRefund(remaining, body.refund_fen);
  items.forEach((i, k) => {
    const share = shares[k] ?? 0;
    if (share > 0) plan.set(i.id, { fen: share, quantity: 0 });
  });
  return plan;
}

/** Thrown out of an event to fail the batch's transaction with `error`. */
class FailBatch extends Error {
  constructor(readonly error: unknown) {
    super('the batch fails');
  }
}

/** Faults that are the transaction's, not one event's: the batch fails (and is retried or split). */
function mustFailBatch(error: unknown): boolean {
  return isRetryableTxError(error) || isDatabaseUnavailable(error) || error instanceof RetryTransaction;
}

/** Runs `fn` under a savepoint; on its failure rolls back to it (unless the whole transaction must fail) and rethrows. */
async function underSavepoint<T>(tx: Tx, name: string, fn: () => Promise<T>): Promise<T> {
  await ordersRepo.savepoint(tx, name);
  try {
    return await fn();
  } catch (error) {
    if (mustFailBatch(error)) throw error;
    try {
      await ordersRepo.rollbackToSavepoint(tx, name);
    } catch (rollback) {
      throw new FailBatch(rollback);
    }
    throw error;
  }
}
