import { MESSAGES } from '../../core/error-text.ts';
import type { Insertable } from 'kysely';
import type { Tx } from '../../db/database.ts';
import { advisoryXactLock, advisoryXactLockShared, RetryTransaction } from '../../db/database.ts';
import type { Actor, Clock } from '../../core/context.ts';
import { AppError, conflict, invalidState } from '../../core/errors.ts';
import { MAX_FEN } from '../../core/schema.ts';
import { actorOf } from '../../core/principal.ts';
import type { BindingEventsTable, CommissionsTable, OrderEventsTable, OrderItemsTable, OrdersTable } from '../../db/schema.ts';
import { newId } from '../../core/ids.ts';
import { requestHash } from '../../lib/hash.ts';
import { normalizeInviteCode } from '../../lib/invite-code.ts';
import { regionFullName } from '../../lib/regions.ts';
import { localDate, localMonth } from '../../core/time.ts';
import { chainOf, computeOrderCommissions, type Beneficiary, type RulesSnapshot } from '../commissions/calculator.ts';
import type { CustomersService } from '../customers/service.ts';
import type { CustomerRow } from '../customers/repo.ts';
import { distributorsRepo, type DistributorRow } from '../distributors/repo.ts';
import { TREE_LOCK, type DistributorsService } from '../distributors/service.ts';
import { unmetConditions } from '../distributors/admission.ts';
import type { GradesService } from '../grades/service.ts';
import { upgradeFor } from '../grades/service.ts';
import type { JournalInput, Ledger, Leg } from '../ledger/service.ts';
import type { ProgramService } from '../program/service.ts';
import type { ProgramSettings } from '../program/schema.ts';
import { attachRefusal, bindingTargetRefusal, selfBindingRefusal, type ReferralService } from '../referral/service.ts';
import type { RulesService } from '../rules/service.ts';
import { createTenantContexts, type TenantContexts } from './contexts.ts';
import type { AnalyticsRecorder } from '../analytics/recorder.ts';
import type { AgentOrderPath, AgentOrderPlan, StockChange } from '../agents/order-path.ts';
import { daysBefore, type OrderRiskDecision } from '../risk/engine.ts';
import type { OrderPathRisk } from '../risk/service.ts';
import type { OrderPathPilots, PilotAt } from '../pilots/service.ts';
import { known, ordersRepo, type OrderItemRow, type OrderRow } from './repo.ts';
import { lineKind, orderViewOf } from './view.ts';
import type { CommissionLine, CreateOrderBody, OrderView } from './schema.ts';
import { sql } from 'kysely';
import type { Outbox } from '../webhooks/outbox.ts';

/** One POST /v1/orders (or a webhook's or a queue message's order) waiting for its batch. */
/**
 * Thrown by a batch that finds, part-way, an order attaching an existing distributor (which
 * moves the tree): the transaction starts over with the tree lock taken alone first.
 */
export class TreeMoveFirst extends RetryTransaction {}

/** A hit an order put in a risk limiter window (see OrderRiskDecision.hits). */
export interface LimiterHit {
  key: string;
  id: string;
}

export interface OrderRequest {
  actor: Actor;
  body: CreateOrderBody;
  /** requestHash(body): the same external id with another body is a conflict. */
  hash: string;
  /** coreHash(body), without status and paid_at: the unpaid and the paid arrival of one order share it. */
  core: string;
}

/** The hash of an order's body without `status` and `paid_at`: what its unpaid and paid arrivals have in common. */
export function coreHash(body: CreateOrderBody): string {
  return requestHash({ ...body, status: undefined, paid_at: undefined });
}

/** An unpaid order: recorded before the batch (its row), or placed by a request of the batch. */
type Unpaid = { row: OrderRow } | { request: number; target: PayTarget };

/** An unpaid order a paid arrival pays: its id and the ids of its items (by position), kept from its unpaid arrival. */
interface PayTarget {
  orderId: string;
  itemIds: string[];
  createdAt: Date;
}

/** What became of one request of a batch, in the batch's transaction. */
export type OrderOutcome =
  | { kind: 'created'; order: OrderView }
  /** The same body as an earlier request of this batch: answered as that one, not created again. */
  | { kind: 'replay'; of: number }
  /** Recorded before this batch, with the same body: answered as it stands after the batch. */
  | { kind: 'existing'; row: OrderRow }
  /** An unpaid arrival (201 when it placed the order) or its replay, answered with the unpaid order as it then stood. */
  | { kind: 'answered'; created: boolean; order: OrderView }
  | { kind: 'refused'; error: AppError };

/** How far an order's attribution got before a binding that moves the tree (see `runSegment`). */
interface Resume {
  stage: 'invite' | 'first_order';
  boundTo: string | null;
  how: string;
  notes: string[];
}

/** What attribution decided for one order. */
interface Attribution {
  seller: DistributorRow | null;
  attribution: string;
  buyerDistributorId: string | null;
}

/** A binding that moves a distributor under another (its whole team follows): done by ReferralService. */
interface TreeBinding {
  target: DistributorRow;
  source: string;
  stage: Resume['stage'];
  boundTo: string | null;
  how: string;
  notes: string[];
}

const byString = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Group commit of orders. A batch of one tenant's orders is written in one transaction with the
 * same result as writing them one at a time in the order they came: order k sees what orders
 * 1..k-1 did (bindings made by an invite code, monthly sales for tiers, per-day caps, risk holds
 * and windows, grade upgrades, customers' last orders), because everything each order reads is
 * loaded once for the batch and then kept in memory as the batch goes. What it writes goes in as
 * one statement per table; each account's balance moves once by the sum of its legs.
 *
 * The one thing not kept in memory is a binding that attaches an existing distributor (and its
 * team) under another: the batch writes what it has, ReferralService moves the subtree, and the
 * rest of the batch starts again from the database (a new segment, same transaction).
 */
export function createOrderBatch(deps: {
  clock: Clock;
  program: ProgramService;
  rules: RulesService;
  ledger: Ledger;
  customers: CustomersService;
  referral: ReferralService;
  grades: GradesService;
  risk: OrderPathRisk;
  analytics: AnalyticsRecorder;
  deviceIndex: (deviceId: string) => string;
  /** order.credited for merchants' webhook endpoints, in statement one of the batch. */
  outbox: Outbox;
  /** The program and rule versions cached by the newest version number (shared with order events). */
  contexts?: TenantContexts | undefined;
  /** Agent mode: territory and price-difference lines, sales from an agent's stock. */
  agents?: AgentOrderPath | undefined;
  /** Running pilots (灰度): an order whose seller is in a cohort is computed with the pilot's changes. */
  pilots?: OrderPathPilots | undefined;
  /** Admits a pending distributor its own orders bring to the minimum purchases (see `runSegment`). */
  distributors?: Pick<DistributorsService, 'admitByPurchases'> | undefined;
}) {
  const { clock, rules, ledger, customers, referral, grades, risk } = deps;
  const contexts = deps.contexts ?? createTenantContexts(deps);

  /**
   * Writes a batch in the caller's transaction. `opts.hits` collects what the batch put in the
   * risk limiter's windows (outside the database), for the caller to take back if the
   * transaction does not commit.
   */
  async function createMany(
    tx: Tx,
    tenantId: string,
    requests: OrderRequest[],
    opts: { treeLockFirst?: boolean; hits?: LimiterHit[] } = {},
  ): Promise<OrderOutcome[]> {
    // A batch that attaches an existing distributor moves the tree: it takes the tree lock alone
    // before anything else, as ReferralService.bindWithin does (see TreeMoveFirst).
    if (opts.treeLockFirst) await advisoryXactLock(tx, TREE_LOCK, tenantId);
    const outcomes: OrderOutcome[] = new Array(requests.length);
    // A refused request changes nothing: the buyers the first read created only for refused
    // orders go again before the batch commits (one statement, and only when there are such).
    const done = async (): Promise<OrderOutcome[]> => {
      if (first.created.length === 0) return outcomes;
      const used = new Set<string>();
      outcomes.forEach((o, i) => {
        if (o.kind !== 'refused') used.add(known(requests[i], 'a request of the batch').body.buyer_external_id);
      });
      const unused = first.created.filter((b) => !used.has(b));
      if (unused.length > 0) await customers.forgetUntouched(tx, tenantId, unused);
      return outcomes;
    };
    // One round trip: the buyers created where missing and locked, whether the rules changed
    // since the last batch, and which orders exist.
    const first = await customers.lockManyWith(
      tx,
      tenantId,
      requests.map((r) => r.body.buyer_external_id),
      {
        version: rules.latestVersionSql(tenantId),
        existing: ordersRepo.existingSql(tenantId, [...new Set(requests.map((r) => r.body.external_id))]),
        // Whether any endpoint wants order.credited: no payload is built or sent when none does.
        webhooks: deps.outbox.subscribedSql(tenantId),
      },
    );
    const head = { version: first.extra.version as number | null, existing: first.extra.existing as { external_id: string; request_hash: string }[] | null };
    const credited = ((first.extra.webhooks as string[] | null) ?? []).includes('order.credited');
    const existing = new Map<string, OrderRow>();
    if (head.existing && head.existing.length > 0) {
      for (const o of await ordersRepo.findManyByExternal(
        tx,
        tenantId,
        head.existing.map((e) => e.external_id),
      ))
        existing.set(o.external_id, o);
    }
    const context = await contexts.at(tx, tenantId, head.version);
    /**
     * Each external id as the requests before this one left it, as if they ran one at a time:
     * its status, the hash of the body that made it what it is, the core hash its unpaid and paid
     * arrivals share, the request of this batch that created it paid (its replays are answered
     * as it), and, while unpaid, what a paid arrival needs to pay it.
     */
    interface Known {
      status: OrderRow['status'];
      hash: string;
      core: string | null;
      by?: number;
      unpaid?: Unpaid;
    }
    const state = new Map<string, Known>();
    for (const row of existing.values())
      state.set(row.external_id, {
        status: row.status,
        hash: row.request_hash,
        core: row.core_hash,
        ...(row.status === 'pending_payment' ? { unpaid: { row } } : {}),
      });
    let work: number[] = [];
    /** Unpaid arrivals of new orders: the order's id and its items' ids, made now so that a paid arrival of this batch can name them. */
    const placing = new Map<OrderRequest, PayTarget>();
    /** Paid arrivals of unpaid orders (of before this batch, by their row; of this batch, by the arrival's request). */
    const paying = new Map<number, Unpaid>();
    /** Replays of the unpaid arrival of an order still unpaid from before this batch: answered with it as it stood. */
    const unpaidReplays: { index: number; row: OrderRow }[] = [];
    requests.forEach((r, i) => {
      const ext = r.body.external_id;
      const st = state.get(ext);
      const unpaid = r.body.status === 'pending_payment';
      if (r.body.items.reduce((sum, it) => sum + it.paid_fen, 0) > MAX_FEN) {
        // Each line is at most MAX_FEN; so is an order: past it, a few orders could carry a
        // distributor's balance beyond what an integer in fen holds exactly.
        outcomes[i] = {
          kind: 'refused',
          error: new AppError('limit_exceeded', { en: `an order may total at most ${MAX_FEN} fen`, zh: `一笔订单的总额至多为 ${MAX_FEN} 分` }),
        };
      } else if (!st) {
        if (unpaid) {
          const target: PayTarget = { orderId: newId('ord'), itemIds: r.body.items.map(() => newId('oit')), createdAt: clock.now() };
          placing.set(r, target);
          state.set(ext, { status: 'pending_payment', hash: r.hash, core: r.core, by: i, unpaid: { request: i, target } });
        } else {
          state.set(ext, { status: 'paid', hash: r.hash, core: r.core, by: i });
        }
        work.push(i);
      } else if (st.hash === r.hash || (unpaid && st.core === r.core)) {
        // The same body again, or the unpaid arrival of an order since paid or closed: answered
        // as the order then stood (the answer of this batch's request that made it so).
        if (st.by !== undefined) outcomes[i] = { kind: 'replay', of: st.by };
        else if (st.unpaid && 'row' in st.unpaid) unpaidReplays.push({ index: i, row: st.unpaid.row });
        else outcomes[i] = { kind: 'existing', row: known(existing.get(ext), 'an order of before the batch') };
      } else if (!unpaid && st.core === r.core && st.status === 'pending_payment' && st.unpaid) {
        // The paid arrival of an unpaid order: computed now, as a paid order arriving now would be.
        paying.set(i, st.unpaid);
        st.status = 'paid';
        st.hash = r.hash;
        st.by = i;
        delete st.unpaid;
        work.push(i);
      } else if (!unpaid && st.core === r.core && st.status === 'closed') {
        outcomes[i] = { kind: 'refused', error: invalidState(MESSAGES.orderClosedUnpaid()) };
      } else {
        outcomes[i] = { kind: 'refused', error: conflict(MESSAGES.orderBodyDiffers()) };
      }
    });
    // The items of unpaid orders of before this batch that it answers or pays: one read, only when there are such.
    const priorIds = [...new Set([...[...paying.values()].flatMap((u) => ('row' in u ? [u.row.id] : [])), ...unpaidReplays.map((u) => u.row.id)])];
    const priorItems = priorIds.length > 0 ? await ordersRepo.itemsOfOrders(tx, priorIds) : [];
    const itemsOf = (orderId: string) => priorItems.filter((x) => x.order_id === orderId);
    for (const u of unpaidReplays) outcomes[u.index] = { kind: 'answered', created: false, order: orderViewOf(u.row, itemsOf(u.row.id), []) };
    if (work.length === 0) return done();
    const payTargets = new Map<OrderRequest, PayTarget>();
    for (const [i, u] of paying)
      payTargets.set(
        known(requests[i], 'a paid arrival'),
        'row' in u ? { orderId: u.row.id, itemIds: itemsOf(u.row.id).map((x) => x.id), createdAt: u.row.created_at } : u.target,
      );
    // Agent mode plans the paid orders only: an unpaid one takes nothing from stock until it is paid.
    const paidWork = work.filter((i) => !placing.has(known(requests[i], 'a request of the batch')));
    const agentPlans = await planAgents(tx, tenantId, requests, paidWork, outcomes);
    // planAgents takes the orders an agent's stock refuses out of paidWork: out of work too.
    if (agentPlans) {
      const kept = new Set(paidWork);
      work = work.filter((i) => kept.has(i) || placing.has(known(requests[i], 'a request of the batch')));
    }
    if (work.length === 0) return done();

    const { settings, versions } = context;
    const pilotAt = deps.pilots ? await deps.pilots.forBatch(tx, tenantId, head.version) : undefined;
    const snapshots = new Map<number, RulesSnapshot>();
    const snapshotAt = async (at: Date) => {
      const v = rules.pickVersion(versions, at);
      let s = snapshots.get(v);
      if (!s) snapshots.set(v, (s = await rules.version(tx, tenantId, v)));
      return s;
    };

    let pos = 0;
    let resume: Resume | undefined;
    // The first segment uses the buyers locked with the batch's first read; after a binding that
    // moved the tree, the next one reads them again (that binding changed a buyer's row).
    let locked: Map<string, CustomerRow> | undefined = first.rows;
    while (pos < work.length) {
      const segment = work.slice(pos);
      const r = await runSegment(
        tx,
        tenantId,
        settings,
        segment.map((i) => known(requests[i], 'a request of the segment')),
        snapshotAt,
        resume,
        locked,
        credited,
        agentPlans,
        { placing, paying: payTargets },
        opts.hits ?? [],
        pilotAt,
      );
      locked = undefined;
      r.created.forEach((order, k) => {
        outcomes[known(segment[k], 'the request of a created order')] = { kind: 'created', order };
      });
      pos += r.created.length;
      resume = undefined;
      if (r.tree) {
        // Taking the tree lock alone now, after this transaction wrote orders, their rollups and
        // its buyers' rows under the shared lock, would wait on every other holder of the shared
        // lock while holding what they may wait for (a deadlock). Start over with it taken first.
        if (!opts.treeLockFirst) throw new TreeMoveFirst('an order attaches an existing distributor');
        const req = known(requests[known(work[pos], 'the request that moves the tree')], 'the request that moves the tree');
        const t = r.tree;
        let boundTo = t.boundTo;
        let how = t.how;
        const notes = [...t.notes];
        try {
          const done = await referral.bindWithin(tx, req.actor, tenantId, settings, req.body.buyer_external_id, t.target, { source: t.source, final: true });
          boundTo = done.distributor_id;
          how = t.source;
        } catch (err) {
          if (!(err instanceof AppError)) throw err;
          if (err.code !== 'conflict') notes.push(err.message);
        }
        resume = { stage: t.stage, boundTo, how, notes };
      }
    }
    return done();
  }

  /**
   * An unpaid arrival (待付款) as written: the order with its items and a `placed` event, and
   * nothing else — no commission line, no journal, no sales, no binding (its invite code binds
   * when it is paid, as a paid order's does). seller_id keeps the distributor it would be
   * credited to if it were paid now, for the funnel; its payment finds the seller again.
   */
  function unpaidOrder(
    tenantId: string,
    req: OrderRequest,
    target: PayTarget,
    prospect: string | null,
  ): { row: OrderRow; items: OrderItemRow[]; event: Insertable<OrderEventsTable> } {
    const { body, hash, core, actor } = req;
    const at = target.createdAt;
    // Whole rows, as the database will hold them: the answer is made from them.
    const row: OrderRow = {
      id: target.orderId,
      tenant_id: tenantId,
      external_id: body.external_id,
      request_hash: hash,
      core_hash: core,
      buyer_external_id: body.buyer_external_id,
      invite_code: body.invite_code ?? null,
      status: 'pending_payment',
      seller_id: prospect,
      chain: [],
      rule_version: 0,
      pilot_id: null,
      attribution: 'awaiting payment',
      region_code: body.region_code ?? null,
      // The agent whose stock serves it is checked, and recorded, when it is paid.
      fulfilled_by: null,
      paid_fen: body.items.reduce((s, i) => s + i.paid_fen, 0),
      refunded_fen: 0,
      shipping_fen: body.shipping_fen ?? 0,
      tax_fen: body.tax_fen ?? 0,
      paid_at: null,
      closed_at: null,
      shipped_at: null,
      received_at: null,
      completed_at: null,
      cancelled_at: null,
      created_at: at,
      updated_at: at,
      device_bidx: body.device_id ? deps.deviceIndex(body.device_id) : null,
      client_ip: body.client_ip ?? null,
      tracking_carrier: null,
      tracking_number: null,
    };
    const items = body.items.map((it, position): OrderItemRow => ({
      id: known(target.itemIds[position], 'an item id'),
      tenant_id: tenantId,
      order_id: target.orderId,
      position,
      sku: it.sku,
      quantity: it.quantity,
      unit_price_fen: it.unit_price_fen,
      paid_fen: it.paid_fen,
      refunded_fen: 0,
      refunded_quantity: 0,
    }));
    const { actorType, actorId } = actorOf(actor.principal);
    const event = {
      id: newId('evt'),
      tenant_id: tenantId,
      order_id: target.orderId,
      type: 'placed',
      at,
      refund_fen: null,
      details: JSON.stringify({}),
      actor_type: actorType,
      actor_id: actorId,
      request_id: actor.requestId,
    };
    return { row, items, event };
  }

  /**
   * Agent mode's part of the batch (none, without a round trip, when no order has region_code or
   * fulfilled_by): an order an agent's stock cannot serve is refused here, with its replays, and
   * leaves `work` before anything is written.
   */
  async function planAgents(tx: Tx, tenantId: string, requests: OrderRequest[], work: number[], outcomes: OrderOutcome[]) {
    const plans = deps.agents
      ? await deps.agents.prepare(
          tx,
          tenantId,
          work.map((i) => known(requests[i], 'a request of the batch').body),
        )
      : null;
    if (!plans) return undefined;
    const byRequest = new Map<OrderRequest, AgentOrderPlan>();
    const refused = new Set<number>();
    plans.forEach((p, k) => {
      const i = known(work[k], 'a request of the batch');
      if (p instanceof AppError) {
        outcomes[i] = { kind: 'refused', error: p };
        refused.add(i);
      } else if (p) byRequest.set(known(requests[i], 'a request of the batch'), p);
    });
    if (refused.size > 0) {
      outcomes.forEach((o, i) => {
        if (o.kind === 'replay' && refused.has(o.of)) outcomes[i] = known(outcomes[o.of], 'a refused request');
      });
      work.splice(0, work.length, ...work.filter((i) => !refused.has(i)));
    }
    return byRequest;
  }

  /**
   * Orders from the first of `requests` on, until one needs a binding that moves the tree (then
   * everything before it is written and that binding is answered for the caller to make).
   */
  async function runSegment(
    tx: Tx,
    tenantId: string,
    settings: ProgramSettings,
    requests: OrderRequest[],
    snapshotAt: (at: Date) => Promise<RulesSnapshot>,
    resume: Resume | undefined,
    locked: Map<string, CustomerRow> | undefined,
    credited: boolean,
    agentPlans: Map<OrderRequest, AgentOrderPlan> | undefined,
    unpaid: { placing: Map<OrderRequest, PayTarget>; paying: Map<OrderRequest, PayTarget> },
    hits: LimiterHit[],
    pilotAt?: PilotAt,
  ): Promise<{ created: OrderView[]; tree?: TreeBinding }> {
    const tz = settings.timezone;
    // ---- what the batch reads, once (the first segment's buyers came with the batch's first read)
    const customerRows =
      locked ??
      (await customers.lockMany(
        tx,
        tenantId,
        requests.map((r) => r.body.buyer_external_id),
      ));
    const codes = [
      ...new Set(
        requests.map((r) => (r.body.invite_code === undefined ? null : normalizeInviteCode(r.body.invite_code))).filter((c): c is string => c !== null),
      ),
    ];
    const candidateIds = new Set<string>();
    for (const c of customerRows.values()) {
      if (c.distributor_id) candidateIds.add(c.distributor_id);
      if (c.tentative_distributor_id) candidateIds.add(c.tentative_distributor_id);
    }
    if (resume?.boundTo) candidateIds.add(resume.boundTo);
    const loaded = await distributorsRepo.findForOrders(tx, tenantId, { externalIds: [...customerRows.keys()], inviteCodes: codes, ids: [...candidateIds] });
    const byId = new Map(loaded.map((d) => [d.id, d]));
    const byExternal = new Map(loaded.map((d) => [d.external_id, d]));
    const byCode = new Map(loaded.map((d) => [d.invite_code, d]));
    if (requests.some((r) => r.body.invite_code !== undefined) || [...customerRows.values()].some((c) => c.tentative_distributor_id !== null)) {
      // Bindings of plain customers share the tree lock, as in ReferralService.bindWithin.
      await advisoryXactLockShared(tx, TREE_LOCK, tenantId);
    }
    const admittable = await lockAdmittable(tx, tenantId, settings, requests, unpaid.placing, customerRows, byExternal);
    /** Distributors this segment admits, with the index (in `planned`) of the order that admitted each. */
    const admitted: { before: DistributorRow; requestId: string | null; at: number }[] = [];

    // ---- attribution, order by order (bindings an order makes are seen by the next)
    const bindingEvents: Insertable<BindingEventsTable>[] = [];
    const touched = new Set<CustomerRow>();
    const planned: {
      req: OrderRequest;
      now: Date;
      paidAt: Date;
      snapshot: RulesSnapshot;
      a: Attribution;
      pilotId: string | null;
      /** An unpaid arrival: the order and items to place, and the seller it would be credited to if paid now. */
      placing?: { target: PayTarget; prospect: string | null };
    }[] = [];
    let tree: TreeBinding | undefined;
    for (const [k, req] of requests.entries()) {
      const now = clock.now();
      const paidAt = req.body.paid_at ? new Date(req.body.paid_at) : now;
      const snapshot = await snapshotAt(paidAt);
      const customer = known(customerRows.get(req.body.buyer_external_id), "the buyer's customer row");
      const target = unpaid.placing.get(req);
      if (target) {
        // Placed unpaid: no binding, no seller, nothing counted; its prospect is for the funnel.
        const a: Attribution = { seller: null, attribution: 'awaiting payment', buyerDistributorId: null };
        planned.push({ req, now, paidAt: now, snapshot, a, pilotId: null, placing: { target, prospect: prospectOf(req, customer, snapshot) } });
        continue;
      }
      const a = attribute(req, customer, snapshot, now, k === 0 ? resume : undefined);
      if ('tree' in a) {
        tree = a.tree;
        break;
      }
      touched.add(customer);
      const paidFen = req.body.items.reduce((s, i) => s + i.paid_fen, 0);
      customer.purchases_fen += paidFen;
      if (customer.last_order_at === null || customer.last_order_at < paidAt) customer.last_order_at = paidAt;
      // A seller in a running pilot's cohort: the rules in force with the pilot's changes.
      const piloted = pilotAt ? pilotAt(snapshot, a.seller, req.body.region_code ?? null, paidAt, now) : { snapshot, pilotId: null };
      planned.push({ req, now, paidAt, snapshot: piloted.snapshot, a, pilotId: piloted.pilotId });
      // A buyer that is a pending distributor, its own purchases brought to the minimum by this
      // order and every other condition met, is admitted: active from the next order on.
      const self = byExternal.get(req.body.buyer_external_id);
      if (
        self &&
        admittable.has(self.id) &&
        self.status === 'pending' &&
        unmetConditions(settings.admission_conditions, self, customer.purchases_fen).length === 0
      ) {
        admitted.push({ before: { ...self }, requestId: req.actor.requestId, at: planned.length - 1 });
        self.status = 'active';
        self.approved_at = now;
      }
    }

    /**
     * The distributor an unpaid order would be credited to if it were paid now, as `attribute`
     * would find it, binding nothing: the buyer itself under self-purchase, the invite code's
     * distributor where the code would bind, else the buyer's binding.
     */
    function prospectOf(req: OrderRequest, customer: CustomerRow, snapshot: RulesSnapshot): string | null {
      const buyerId = req.body.buyer_external_id;
      const asDistributor = byExternal.get(buyerId);
      if (snapshot.self_purchase && asDistributor?.status === 'active') return asDistributor.id;
      const code = req.body.invite_code === undefined ? null : normalizeInviteCode(req.body.invite_code);
      const invited = code === null ? undefined : byCode.get(code);
      const boundTo = customer.distributor_id;
      if (invited && invited.status === 'active' && invited.external_id !== buyerId && (boundTo === null || settings.binding.mode === 'rebindable'))
        return invited.id;
      return boundTo;
    }

    function attribute(
      req: OrderRequest,
      customer: CustomerRow,
      snapshot: RulesSnapshot,
      now: Date,
      from: Resume | undefined,
    ): Attribution | { tree: TreeBinding } {
      const buyerId = req.body.buyer_external_id;
      const asDistributor = byExternal.get(buyerId);
      if (!from && !asDistributor) {
        // A binding past its validity window earns nothing, whether or not the lapse job has
        // ended it yet: it ends here, before this order counts as the customer's last.
        const lapse = customers.lapseInMemory(req.actor, customer, settings.binding, now);
        if (lapse) bindingEvents.push(lapse);
      }
      let boundTo = from ? from.boundTo : customer.distributor_id;
      let how = from ? from.how : boundTo ? 'binding' : 'none';
      const notes = from ? [...from.notes] : [];
      /** A claim as ReferralService.bindWithin decides it; refusals are noted, never fatal. */
      const claim = (target: DistributorRow, source: string, stage: Resume['stage']): TreeBinding | undefined => {
        const self = selfBindingRefusal(target, buyerId);
        if (self) {
          notes.push(self.message);
          return undefined;
        }
        if (asDistributor) {
          const refusal = attachRefusal(asDistributor, target);
          if (refusal) {
            if (refusal.code !== 'conflict') notes.push(refusal.message);
            return undefined;
          }
          return { target, source, stage, boundTo, how, notes };
        }
        const refusal = bindingTargetRefusal(target);
        if (refusal) {
          notes.push(refusal.message);
          return undefined;
        }
        const { event } = customers.bindInMemory(req.actor, customer, { distributorId: target.id, source, rules: settings.binding, now });
        if (!event) return undefined;
        bindingEvents.push(event);
        boundTo = target.id;
        how = source;
        return undefined;
      };
      if (!from && req.body.invite_code !== undefined && (boundTo === null || settings.binding.mode !== 'permanent')) {
        const code = normalizeInviteCode(req.body.invite_code);
        const target = code === null ? undefined : byCode.get(code);
        if (!target) notes.push('unknown invite_code');
        else if (target.id !== boundTo) {
          const t = claim(target, 'invite_code', 'invite');
          if (t) return { tree: t };
        }
      }
      if ((!from || from.stage === 'invite') && boundTo === null && customer.tentative_distributor_id) {
        // Bind at first order: the latest claim becomes the binding now.
        const target = byId.get(customer.tentative_distributor_id);
        if (target) {
          const t = claim(target, 'first_order', 'first_order');
          if (t) return { tree: t };
        }
      }
      let seller: DistributorRow | null = null;
      if (snapshot.self_purchase && asDistributor?.status === 'active') {
        seller = asDistributor;
        how = 'self_purchase';
      } else if (boundTo) {
        seller = byId.get(boundTo) ?? null;
      }
      return { seller, attribution: notes.length ? `${how} (${notes.join('; ')})` : how, buyerDistributorId: asDistributor?.id ?? null };
    }

    // ---- what the commissions read: for exactly the chains, months and days of these orders
    const chains = planned.map((p) => chainOf(p.a.seller?.id ?? null, p.a.seller?.ancestors ?? [], p.snapshot.levels));
    const members = [...new Set(chains.flat())].sort(byString);
    const tiered = planned.filter(
      (p, k) => known(chains[k], "an order's chain").length > 0 && Object.values(p.snapshot.grades).some((g) => g.tiers.length > 0),
    );
    const monthly = await ordersRepo.monthlySalesMany(tx, members, [...new Set(tiered.map((p) => localMonth(p.paidAt, tz)))]);
    const trackDaily = (p: (typeof planned)[number]) => p.snapshot.caps.per_day_fen > 0 || settings.risk.surge.multiplier > 0;
    const dayPairs: { id: string; day: string }[] = [];
    planned.forEach((p, k) => {
      if (trackDaily(p)) for (const id of known(chains[k], "an order's chain")) dayPairs.push({ id, day: localDate(p.paidAt, tz) });
    });
    const daily = new Map<string, number>();
    if (dayPairs.length > 0 && settings.risk.surge.multiplier > 0) {
      const days = dayPairs.map((p) => p.day).sort(byString);
      for (const [k, v] of await ordersRepo.dailyBetween(tx, members, daysBefore(known(days[0], 'the first day'), 7), known(days.at(-1), 'the last day')))
        daily.set(k, v);
    }
    for (const [k, v] of await ordersRepo.lockDailyMany(tx, tenantId, dayPairs)) daily.set(k, v);
    const sellers = [...new Set(planned.map((p) => p.a.seller?.id).filter((id): id is string => !!id))];
    const upgrades = planned.some((p) => Object.values(p.snapshot.grades).some((g) => g.upgrade));
    const lifetime = upgrades ? await ordersRepo.lifetimeSalesMany(tx, sellers) : new Map<string, { sales_fen: number; settled_sales_fen: number }>();
    const openHolds = await risk.openHolds(
      tx,
      tenantId,
      members.filter((id) => byId.get(id)?.risk_hold),
    );

    // ---- the orders, one after another, in memory
    const orderRows: Insertable<OrdersTable>[] = [];
    /** Unpaid orders these paid arrivals pay: updated (compare-and-set), not inserted. */
    const paidRows: Insertable<OrdersTable>[] = [];
    const itemRows: Insertable<OrderItemsTable>[] = [];
    const lineRows: Insertable<CommissionsTable>[] = [];
    const eventRows: Insertable<OrderEventsTable>[] = [];
    const journals: JournalInput[] = [];
    const risky: { decision: OrderRiskDecision; lines: { id: string; beneficiary_id: string; held?: boolean | undefined }[] }[] = [];
    const sales = new Map<string, { distributorId: string; month: string; salesFen: number; orders: number }>();
    const dailyAdds = new Map<string, { id: string; day: string; amount: number }>();
    const gradeUps: { distributorId: string; from: string; to: string; reason: string }[] = [];
    const paidForAnalytics: {
      paidAt: Date;
      paidFen: number;
      seller: { id: string; grade_code: string; region_code: string | null } | null;
      lines: { beneficiary_id: string; amount_fen: number }[];
    }[] = [];
    const created: OrderView[] = [];
    const stock: StockChange = { movements: [], deltas: new Map() };

    for (const [k, p] of planned.entries()) {
      const { req, now, paidAt, snapshot, a, pilotId } = p;
      const body = req.body;
      if (p.placing) {
        const u = unpaidOrder(tenantId, req, p.placing.target, p.placing.prospect);
        orderRows.push(u.row);
        itemRows.push(...u.items);
        eventRows.push(u.event);
        created.push(orderViewOf(u.row, u.items, []));
        continue;
      }
      const chain = known(chains[k], "an order's chain");
      const month = localMonth(paidAt, tz);
      const day = localDate(paidAt, tz);
      const needsTiers = Object.values(snapshot.grades).some((g) => g.tiers.length > 0);
      const tracked = trackDaily(p);
      const beneficiaries: Beneficiary[] = chain.map((id, level) => {
        const r = known(byId.get(id), 'a member of the chain');
        return {
          id,
          level,
          grade: r.grade_code,
          // One admitted by an order of this batch is pending for the orders up to that one.
          active: r.status === 'active' && !admitted.some((x) => x.before.id === id && x.at >= k),
          monthly_sales_fen: needsTiers ? (monthly.get(`${id}|${month}`) ?? 0) : 0,
          earned_today_fen: tracked ? (daily.get(`${id}|${day}`) ?? 0) : 0,
        };
      });
      // The paid arrival of an unpaid order keeps its id and its items' (written when it arrived).
      const pay = unpaid.paying.get(req);
      const orderId = pay?.orderId ?? newId('ord');
      const items = body.items.map((it, position) => ({ id: pay ? known(pay.itemIds[position], "an unpaid order's item") : newId('oit'), position, ...it }));
      const computed = computeOrderCommissions(
        items.map((i) => ({ id: i.id, sku: i.sku, quantity: i.quantity, paid_fen: i.paid_fen })),
        beneficiaries,
        snapshot,
      );
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
      const decision = await risk.assessOrder({
        tenantId,
        now,
        orderExternalId: body.external_id,
        settings,
        buyerDistributorId: a.buyerDistributorId,
        chain: chain.map((id) => {
          const member = known(byId.get(id), 'a member of the chain');
          return { id, riskHold: member.risk_hold, deviceBidx: member.device_bidx };
        }),
        earning,
        earnedToday: tracked ? new Map(chain.map((id) => [id, daily.get(`${id}|${day}`) ?? 0])) : null,
        clientIp: body.client_ip ?? null,
        deviceBidx,
        deviceId: body.device_id ?? null,
        day,
        openHolds,
        earnedOn: (id, d) => daily.get(`${id}|${d}`) ?? 0,
      });
      hits.push(...decision.hits);
      const lines = computed.filter((l) => !decision.block.has(l.beneficiaryId));

      const orderRow: Insertable<OrdersTable> = {
        id: orderId,
        tenant_id: tenantId,
        external_id: body.external_id,
        request_hash: req.hash,
        core_hash: req.core,
        buyer_external_id: body.buyer_external_id,
        invite_code: body.invite_code ?? null,
        status: 'paid',
        seller_id: a.seller?.id ?? null,
        chain,
        rule_version: snapshot.version,
        pilot_id: pilotId,
        attribution: a.attribution,
        region_code: body.region_code ?? null,
        fulfilled_by: body.fulfilled_by ?? null,
        paid_fen: paidFen,
        shipping_fen: body.shipping_fen ?? 0,
        tax_fen: body.tax_fen ?? 0,
        paid_at: paidAt,
        created_at: now,
        updated_at: now,
        device_bidx: deviceBidx,
        client_ip: body.client_ip ?? null,
      };
      if (pay) {
        // Placed by this segment: it goes in paid (its placed event and items with it); else its row is updated.
        const placedHere = orderRows.findIndex((o) => o.id === pay.orderId);
        if (placedHere >= 0) orderRows[placedHere] = { ...orderRow, created_at: pay.createdAt, updated_at: now };
        else paidRows.push(orderRow);
      } else orderRows.push(orderRow);
      for (const i of pay ? [] : items) {
        itemRows.push({
          id: i.id,
          tenant_id: tenantId,
          order_id: orderId,
          position: i.position,
          sku: i.sku,
          quantity: i.quantity,
          unit_price_fen: i.unit_price_fen,
          paid_fen: i.paid_fen,
        });
      }
      const agentPlan = agentPlans?.get(req);
      const agent =
        agentPlan && deps.agents
          ? deps.agents.linesOf(agentPlan, { tenantId, orderId, externalId: body.external_id, ruleVersion: snapshot.version, now, items }, stock)
          : undefined;
      if (agent) journals.push(...agent.journals);
      const ownRows = lines.map((l) => ({
        id: newId('cm'),
        tenant_id: tenantId,
        order_id: orderId,
        order_item_id: l.itemId,
        beneficiary_id: l.beneficiaryId,
        level: l.level,
        kind: 'commission' as const,
        clawback_of: null,
        rule_version: snapshot.version,
        pilot_id: pilotId,
        rate_source: l.source,
        rate_kind: l.rateKind,
        rate_bp: l.rateBp,
        fixed_fen: l.fixedFen,
        beneficiary_grade: l.grade,
        units: l.units,
        base_fen: l.baseFen,
        original_base_fen: l.baseFen,
        amount_fen: l.amountFen,
        original_amount_fen: l.amountFen,
        capped_fen: l.uncappedFen - l.amountFen,
        status: 'pending' as const,
        created_at: now,
        held: decision.hold.has(l.beneficiaryId),
        statement_id: null,
      }));
      const commissionRows = agent ? [...ownRows, ...agent.lines] : ownRows;
      lineRows.push(...commissionRows);
      if (decision.events.length > 0) {
        risky.push({ decision, lines: commissionRows });
        // What the events do to later orders of this batch: a new distributor-level hold holds
        // that distributor's next lines too, under this event.
        for (const e of decision.events) {
          if (e.severity !== 'hold' || e.subjectType !== 'distributor' || !e.subjectId || e.existingId) continue;
          const held = byId.get(e.subjectId);
          if (held) held.risk_hold = true;
          if (e.kind === 'surge') openHolds.set(e.subjectId, e.id);
        }
      }
      const { actorType, actorId } = actorOf(req.actor.principal);
      eventRows.push({
        id: newId('evt'),
        tenant_id: tenantId,
        order_id: orderId,
        type: 'paid',
        at: paidAt,
        refund_fen: null,
        details: JSON.stringify({ lines: commissionRows.length }),
        actor_type: actorType,
        actor_id: actorId,
        request_id: req.actor.requestId,
      });
      if (commissionRows.length > 0) {
        const total = commissionRows.reduce((s, c) => s + c.amount_fen, 0);
        journals.push({
          tenantId,
          kind: 'accrue',
          refType: 'order',
          refId: orderId,
          memo: body.external_id,
          legs: [
            ...commissionRows.map((c): Leg => ({ owner: c.beneficiary_id, purpose: 'pending', amount: c.amount_fen, commissionId: c.id })),
            { owner: 'tenant', purpose: 'commission_expense', amount: -total },
          ],
        });
      }
      const sellerAtPayment = a.seller ? { id: a.seller.id, grade_code: a.seller.grade_code, region_code: a.seller.region_code } : null;
      if (a.seller) {
        const sk = `${a.seller.id}|${month}`;
        const s = sales.get(sk) ?? { distributorId: a.seller.id, month, salesFen: 0, orders: 0 };
        s.salesFen += paidFen;
        s.orders += 1;
        sales.set(sk, s);
        monthly.set(sk, (monthly.get(sk) ?? 0) + paidFen);
      }
      if (tracked) {
        for (const c of commissionRows) {
          const dk = `${c.beneficiary_id}|${day}`;
          daily.set(dk, (daily.get(dk) ?? 0) + c.amount_fen);
          const add = dailyAdds.get(dk) ?? { id: c.beneficiary_id, day, amount: 0 };
          add.amount += c.amount_fen;
          dailyAdds.set(dk, add);
        }
      }
      if (a.seller && upgrades) {
        const life = lifetime.get(a.seller.id) ?? { sales_fen: 0, settled_sales_fen: 0 };
        life.sales_fen += paidFen;
        lifetime.set(a.seller.id, life);
        const up = upgradeFor(snapshot, a.seller.grade_code, life);
        if (up) {
          gradeUps.push({ distributorId: a.seller.id, from: a.seller.grade_code, to: up.to, reason: up.reason });
          a.seller.grade_code = up.to;
        }
      }
      paidForAnalytics.push({ paidAt, paidFen, seller: sellerAtPayment, lines: commissionRows });
      created.push(viewOf(orderRow, items, commissionRows, body.external_id));
    }

    // ---- written: rows only these orders touch first, then the rows every order of a team
    // shares (ledger accounts, monthly sales, rollups) last before commit, so the locks other
    // batches of the same team queue on are held as briefly as they can be.
    if (planned.length > 0) {
      // Locks are taken in the order every transaction takes them — the buyers (above), the rows
      // only these orders touch, the ledger's accounts, then the monthly sales, daily totals and
      // rollup rows of the distributors — so batches, refunds and settlements queue instead of
      // deadlocking, and the rows every order of a team shares are held as briefly as they can be.
      // Statement one: the orders with their items, lines and paid events, and the customers. An
      // order a concurrent copy (another process) beat is left out: then the batch starts over
      // and will find that order and answer it.
      const customerWrite = customers.batchWrite(tenantId, [...touched], bindingEvents);
      const paying = paidRows.length > 0;
      const written = await ordersRepo.batchInsert(
        tx,
        [
          ...ordersRepo.batchInsertCtes({ orders: orderRows, items: itemRows, lines: lineRows, events: eventRows, paid: paidRows }),
          ...customerWrite.ctes,
          // order.credited of each order written (not of one a concurrent copy beat), in the same statement.
          ...(credited
            ? deps.outbox.ctes(
                tenantId,
                created.filter((o) => o.status === 'paid').map((o) => ({ type: 'order.credited' as const, objectType: 'order', objectId: o.id, data: o })),
                {
                  name: 'webhook',
                  only: (id) =>
                    paying ? sql`${id} in (select id from orders_new union all select id from orders_paid)` : sql`${id} in (select id from orders_new)`,
                },
              )
            : []),
        ],
        paying,
      );
      if (written !== orderRows.length + paidRows.length) throw new RetryTransaction('an order of the batch was recorded (or closed) meanwhile');
      if (deps.agents) await deps.agents.writeStock(tx, stock);
      if (risky.length > 0) await risk.recordOrderEvents(tx, tenantId, risky);
      // Only unpaid orders placed: nothing moved money, sales or figures (and statement two would be empty).
      if (paidForAnalytics.length > 0 || customerWrite.bindings.length > 0) {
        // Statement two: the journals (accounts locked in id order), then, in that order, monthly
        // sales, daily totals, the distributors' rollup rows, then the tenant's days and
        // segments (slot rows, which never wait).
        const journal = await ledger.plan(tx, journals);
        let last = journal.ctes.length > 0 ? 'ledger_postings' : 'orders_none';
        const ctes = [...journal.ctes, ...(journal.ctes.length > 0 ? [] : [ordersRepo.noneCte])];
        if (sales.size > 0) {
          ctes.push(ordersRepo.salesCte(tenantId, [...sales.values()], last));
          last = 'sales_added';
        }
        if (dailyAdds.size > 0) {
          ctes.push(ordersRepo.dailyCte([...dailyAdds.values()], last));
          last = 'daily_added';
        }
        const rollups = deps.analytics.planOrdersPaid(tenantId, tz, paidForAnalytics, customerWrite.bindings, last);
        ctes.push(...rollups.ctes);
        const shared = await ordersRepo.batchShared(tx, ctes, rollups);
        await rollups.finish(tx, shared.moved, shared.found);
        await grades.applyUpgrades(tx, tenantId, gradeUps);
      }
      // Last: the admissions (rare, once in a distributor's life), after its purchases are written.
      if (admitted.length > 0) await known(deps.distributors, 'the distributors service').admitByPurchases(tx, tenantId, admitted);
    }
    return tree ? { created, tree } : { created };
  }

  /**
   * Admission by purchases (open admission with `admission_conditions.min_purchases_fen`): a
   * registrant waits `pending` until its conditions are met, and its own orders count towards the
   * minimum (its customer row's purchases_fen). The order that brings them there, every other
   * condition met, admits it, in the batch's transaction, as an approval would: the status, a
   * `distributor.approved` event, the audit entry (DistributorsService.admitByPurchases). Under
   * review admission nothing is approved here: the conditions page shows them met.
   *
   * Done in the batch rather than by a job after commit so that the batch keeps writing what one
   * order at a time would: the order after the admitting one sees an active distributor (its
   * self-purchase, a customer's invite code to it). It costs a batch nothing unless a buyer is
   * a pending distributor whose paid orders here may reach the minimum: then one statement locks
   * those distributors (after the buyers, as every transaction that takes both locks them) and
   * reads them as they stand, so the deposit and training recorded by a concurrent request are
   * seen — that request locks the row first and reads the purchases after (READ COMMITTED), so
   * between the two one admits. Unpaid orders count once paid; a refund that later takes the
   * purchases below the minimum does not undo an admission.
   */
  async function lockAdmittable(
    tx: Tx,
    tenantId: string,
    settings: ProgramSettings,
    requests: OrderRequest[],
    placing: Map<OrderRequest, PayTarget>,
    customerRows: Map<string, CustomerRow>,
    byExternal: Map<string, DistributorRow>,
  ): Promise<Set<string>> {
    const admittable = new Set<string>();
    const min = settings.admission_conditions.min_purchases_fen;
    if (settings.admission !== 'open' || min <= 0 || !deps.distributors) return admittable;
    const paidBy = new Map<string, number>();
    for (const r of requests) {
      if (placing.has(r)) continue;
      const buyer = r.body.buyer_external_id;
      paidBy.set(buyer, (paidBy.get(buyer) ?? 0) + r.body.items.reduce((s, i) => s + i.paid_fen, 0));
    }
    const ids: string[] = [];
    for (const [buyer, fen] of paidBy) {
      const d = byExternal.get(buyer);
      const purchases = customerRows.get(buyer)?.purchases_fen ?? 0;
      if (d?.status === 'pending' && purchases + fen >= min) ids.push(d.id);
    }
    if (ids.length === 0) return admittable;
    for (const row of await distributorsRepo.findManyForUpdate(tx, tenantId, ids.sort(byString))) {
      const d = byExternal.get(row.external_id);
      if (d) Object.assign(d, row);
      if (row.status === 'pending') admittable.add(row.id);
    }
    return admittable;
  }

  /** The order as GET /v1/orders/{external_id} answers it, from what was just written. */
  function viewOf(
    o: Insertable<OrdersTable>,
    items: { id: string; position: number; sku: string; quantity: number; unit_price_fen: number; paid_fen: number }[],
    lines: (Insertable<CommissionsTable> & { id: string; created_at: Date })[],
    externalId: string,
  ): OrderView {
    const skuOf = new Map(items.map((i) => [i.id, i.sku]));
    const commissions: CommissionLine[] = lines.map((c) => ({
      id: c.id,
      beneficiary_id: c.beneficiary_id,
      level: c.level,
      base_fen: c.base_fen,
      rate_bp: c.rate_bp,
      amount_fen: c.amount_fen,
      status: 'pending',
      ...lineKind(c),
      order_external_id: externalId,
      sku: (c.order_item_id ? skuOf.get(c.order_item_id) : undefined) ?? null,
      rate_kind: c.rate_kind,
      fixed_fen: c.fixed_fen ?? 0,
      units: c.units ?? 0,
      rate_source: c.rate_source,
      rule_version: c.rule_version,
      held: c.held ?? false,
      clawback_of: null,
      statement_id: null,
      created_at: c.created_at.toISOString(),
      ...(c.pilot_id ? { pilot_id: c.pilot_id } : {}),
    }));
    return {
      id: o.id,
      external_id: o.external_id,
      status: 'paid',
      seller_id: o.seller_id ?? null,
      paid_fen: o.paid_fen,
      commissions,
      buyer_external_id: o.buyer_external_id,
      refunded_fen: 0,
      shipping_fen: o.shipping_fen ?? 0,
      tax_fen: o.tax_fen ?? 0,
      chain: o.chain ?? [],
      rule_version: o.rule_version,
      attribution: o.attribution,
      region_code: o.region_code ?? null,
      region_name: regionFullName(o.region_code),
      fulfilled_by: o.fulfilled_by ?? null,
      paid_at: (o.paid_at as Date).toISOString(),
      closed_at: null,
      shipped_at: null,
      received_at: null,
      completed_at: null,
      items: items.map((i) => ({
        position: i.position,
        sku: i.sku,
        quantity: i.quantity,
        unit_price_fen: i.unit_price_fen,
        paid_fen: i.paid_fen,
        refunded_fen: 0,
        refunded_quantity: 0,
      })),
      tracking_carrier: null,
      tracking_number: null,
    };
  }

  return { createMany };
}

export type OrderBatch = ReturnType<typeof createOrderBatch>;
