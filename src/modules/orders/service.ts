import type { Db, Executor } from '../../db/database.ts';
import { inTransaction } from '../../db/database.ts';
import type { Actor, Clock } from '../../core/context.ts';
import { AppError, invalid, isDatabaseUnavailable, notFound } from '../../core/errors.ts';
import { actorOf, requirePermission, tenantOf } from '../../core/principal.ts';
import type { OrderStatus } from '../../db/schema.ts';
import { newId } from '../../core/ids.ts';
import { paidMoment } from '../../core/time.ts';
import { requestHash } from '../../lib/hash.ts';
import { createGroupCommit, type Settled } from '../../lib/group-commit.ts';
import type { CustomersService } from '../customers/service.ts';
import type { DistributorsService } from '../distributors/service.ts';
import type { Ledger } from '../ledger/service.ts';
import type { ProgramService } from '../program/service.ts';
import type { ReferralService } from '../referral/service.ts';
import type { RulesService } from '../rules/service.ts';
import type { GradesService } from '../grades/service.ts';
import type { AnalyticsRecorder } from '../analytics/recorder.ts';
import type { OrderPathRisk } from '../risk/service.ts';
import type { AgentOrderPath } from '../agents/order-path.ts';
import { ordersRepo, type OrderRow } from './repo.ts';
import { coreHash, createOrderBatch, TreeMoveFirst, type LimiterHit, type OrderOutcome, type OrderRequest } from './batch.ts';
import { createTenantContexts } from './contexts.ts';
import { createOrderEvents, type EventAnswer, type EventRequest } from './events.ts';
import { orderViewOf } from './view.ts';
import type { Outbox } from '../webhooks/outbox.ts';
import type { OrderPathPilots } from '../pilots/service.ts';
import type { CreateOrderBody, OrderEventBody, OrderView, TrackingBody } from './schema.ts';

export { accountOfStatus, commissionView } from './view.ts';

export function createOrdersService(deps: {
  db: Db;
  /** The batches' transactions: the same database, planning their key lookups once (Database.keyed). Default: db. */
  batchDb?: Db | undefined;
  clock: Clock;
  program: ProgramService;
  rules: RulesService;
  ledger: Ledger;
  customers: CustomersService;
  referral: ReferralService;
  distributors: DistributorsService;
  grades: GradesService;
  risk: OrderPathRisk;
  /** The blind index of a buyer's device id (the risk rules compare devices without keeping them). */
  deviceIndex: (deviceId: string) => string;
  analytics: AnalyticsRecorder;
  /** Events for merchants' webhook endpoints (order.credited), in the batch's statement. */
  outbox: Outbox;
  /** Agent mode on the order path: territory and price-difference lines, sales from an agent's stock. */
  agents?: AgentOrderPath | undefined;
  /** The most orders one transaction writes (default 256). */
  maxBatch?: number | undefined;
  /** Batches of one tenant written at once by this process (default 2). */
  maxInFlight?: number | undefined;
  /**
   * The most order events one transaction applies (default 64). Each refund among them runs under
   * a savepoint, a subtransaction: PostgreSQL keeps up to 64 of a transaction's in shared memory,
   * and past that every snapshot taken meanwhile, anyone's, looks them up on disk.
   */
  maxEventBatch?: number | undefined;
  /** Running pilots (灰度), read once per batch. */
  pilots?: OrderPathPilots | undefined;
}) {
  const { db, clock, program } = deps;
  const batchDb = deps.batchDb ?? db;
  const contexts = createTenantContexts(deps);
  const batch = createOrderBatch({ ...deps, contexts });
  const events = createOrderEvents({ ...deps, contexts });

  /**
   * One batch in one transaction. If it fails as a whole (a fault no order's own checks caught),
   * it is split in halves until each order has its own answer: one bad order never fails the
   * others. A database that is away fails every order of the batch at once (503) instead.
   */
  async function settle(tenantId: string, requests: OrderRequest[]): Promise<Settled<{ created: boolean; order: OrderView }>[]> {
    let outcomes: OrderOutcome[];
    try {
      let treeLockFirst = false;
      // What an attempt put in the risk limiter's windows: taken back when it did not commit
      // (a retry or a split counts each order once).
      const hits: LimiterHit[] = [];
      try {
        outcomes = await inTransaction(batchDb, async (tx) => {
          if (hits.length > 0) await deps.risk.forgetHits(hits.splice(0));
          try {
            return await batch.createMany(tx, tenantId, requests, { treeLockFirst, hits });
          } catch (error) {
            if (error instanceof TreeMoveFirst) treeLockFirst = true;
            throw error;
          }
        });
      } catch (error) {
        await deps.risk.forgetHits(hits).catch(() => undefined);
        throw error;
      }
    } catch (error) {
      if (requests.length === 1 || isDatabaseUnavailable(error)) return requests.map(() => ({ ok: false, error }));
      const half = Math.ceil(requests.length / 2);
      return [...(await settle(tenantId, requests.slice(0, half))), ...(await settle(tenantId, requests.slice(half)))];
    }
    return Promise.all(
      outcomes.map(async (o): Promise<Settled<{ created: boolean; order: OrderView }>> => {
        switch (o.kind) {
          case 'created':
            return { ok: true, value: { created: true, order: o.order } };
          case 'replay': {
            const first = outcomes[o.of];
            return first?.kind === 'created'
              ? { ok: true, value: { created: false, order: first.order } }
              : { ok: false, error: new Error('replay of an order that was not created') };
          }
          case 'answered':
            return { ok: true, value: { created: o.created, order: o.order } };
          case 'existing':
            try {
              return { ok: true, value: { created: false, order: await view(db, o.row) } };
            } catch (error) {
              return { ok: false, error };
            }
          case 'refused':
            return { ok: false, error: o.error };
          default: {
            const never: never = o;
            return { ok: false, error: new Error(`unknown outcome ${JSON.stringify(never)}`) };
          }
        }
      }),
    );
  }

  const commits = createGroupCommit<OrderRequest, { created: boolean; order: OrderView }>({
    maxBatch: deps.maxBatch ?? 256,
    maxInFlight: deps.maxInFlight ?? 2,
    run: settle,
  });

  /** A batch of events in one transaction; split in halves when it fails as a whole, as `settle` does. */
  async function settleEvents(tenantId: string, requests: EventRequest[]): Promise<Settled<EventAnswer>[]> {
    try {
      return await inTransaction(batchDb, (tx) => events.applyMany(tx, tenantId, requests));
    } catch (error) {
      if (requests.length === 1 || isDatabaseUnavailable(error)) return requests.map(() => ({ ok: false, error }));
      const half = Math.ceil(requests.length / 2);
      return [...(await settleEvents(tenantId, requests.slice(0, half))), ...(await settleEvents(tenantId, requests.slice(half)))];
    }
  }

  const eventCommits = createGroupCommit<EventRequest, EventAnswer>({
    maxBatch: deps.maxEventBatch ?? 64,
    maxInFlight: deps.maxInFlight ?? 2,
    run: settleEvents,
  });

  /** Checks what needs no database, then joins the tenant's next batch of events. */
  function submitEvent(actor: Actor, externalId: string, body: OrderEventBody, idempotencyKey: string | undefined): Promise<EventAnswer> {
    requirePermission(actor.principal, 'orders:write');
    if (body.type === 'refunded' && body.refund_fen === undefined && !body.items)
      throw invalid({ en: 'refunded needs refund_fen (or items)', zh: 'refunded 事件须给出 refund_fen（或 items）' });
    if (body.type !== 'refunded' && (body.refund_fen !== undefined || body.items))
      throw invalid({ en: `${body.type} takes no refund_fen or items`, zh: `${body.type} 事件不接受 refund_fen 或 items` });
    return eventCommits.submit(tenantOf(actor.principal), { actor, externalId, body, hash: requestHash(body), idempotencyKey });
  }

  async function view(ex: Executor, order: OrderRow): Promise<OrderView> {
    const [items, lines] = await Promise.all([ordersRepo.items(ex, order.id), ordersRepo.commissions(ex, order.id)]);
    return orderViewOf(order, items, lines);
  }

  /**
   * Confirms receipt of orders shipped `auto_receive_days` ago that the buyer never confirmed, up
   * to 100 orders a transaction (their rows and their events in one statement); SKIP LOCKED lets
   * several workers share the work and leaves an order whose event is being applied for the next
   * pass. Each order received is announced as `order.received` (the order as answered, and the
   * event, as when the merchant sends it) in the same transaction, when an endpoint wants it.
   */
  async function autoReceive(tenantId: string, asOf: Date): Promise<{ received: number }> {
    const settings = await program.read(db, tenantId);
    const cutoff = new Date(asOf.getTime() - settings.auto_receive_days * 86_400_000);
    const { actorType, actorId } = actorOf({ kind: 'system', tenantId, job: 'auto-receive' });
    const limit = 100;
    let received = 0;
    // Asked once: with no endpoint wanting order.received, each chunk is its one statement.
    const announce = await deps.outbox.wanted(db, tenantId, 'order.received');
    const chunk = (ex: Executor) =>
      ordersRepo.autoReceive(ex, tenantId, {
        cutoff,
        days: settings.auto_receive_days,
        now: clock.now(),
        limit,
        eventIds: Array.from({ length: limit }, () => newId('evt')),
        actorType,
        actorId,
      });
    for (;;) {
      const n = !announce
        ? (await chunk(db)).length
        : await inTransaction(db, async (tx) => {
            const rows = await chunk(tx);
            if (rows.length > 0) {
              const ids = rows.map((o) => o.id);
              const [items, lines] = await Promise.all([ordersRepo.itemsOfOrders(tx, ids), ordersRepo.commissionsOfOrders(tx, ids)]);
              await deps.outbox.record(
                tx,
                tenantId,
                rows.map((o) => ({
                  type: 'order.received' as const,
                  objectType: 'order',
                  objectId: o.id,
                  data: {
                    ...orderViewOf(
                      o,
                      items.filter((i) => i.order_id === o.id),
                      lines.filter((c) => c.order_id === o.id),
                    ),
                    event: { type: 'received', at: (o.received_at ?? o.updated_at).toISOString(), refund_fen: null },
                  },
                })),
              );
            }
            return rows.length;
          });
      received += n;
      if (n < limit) break;
    }
    return { received };
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
      if (body.status === 'pending_payment' && body.paid_at !== undefined)
        throw invalid({ en: 'an order awaiting payment (pending_payment) has no paid_at', zh: '待付款（pending_payment）的订单没有 paid_at' });
      return commits.submit(tenantOf(actor.principal), { actor, body, hash: requestHash(body), core: coreHash(body) });
    },

    /** Resolves when no batch of orders or of events is queued or running. */
    idle: async () => {
      await Promise.all([commits.idle(), eventCommits.idle()]);
    },

    batchStats: () => ({ ...commits.stats }),

    async get(actor: Actor, externalId: string): Promise<OrderView> {
      requirePermission(actor.principal, 'read');
      const order = await ordersRepo.findByExternal(db, tenantOf(actor.principal), externalId);
      if (!order) throw notFound('order');
      return view(db, order);
    },

    async list(
      actor: Actor,
      q: {
        status?: OrderStatus | undefined;
        seller_id?: string | undefined;
        buyer_external_id?: string | undefined;
        from?: string | undefined;
        to?: string | undefined;
        cursor?: string | undefined;
        limit: number;
      },
    ) {
      requirePermission(actor.principal, 'read');
      const rows = await ordersRepo.list(db, tenantOf(actor.principal), {
        ...(q.status ? { status: q.status } : {}),
        ...(q.seller_id ? { sellerId: q.seller_id } : {}),
        ...(q.buyer_external_id ? { buyer: q.buyer_external_id } : {}),
        ...(q.from ? { from: new Date(q.from) } : {}),
        ...(q.to ? { to: new Date(q.to) } : {}),
        ...(q.cursor ? { beforeId: q.cursor } : {}),
        limit: q.limit + 1,
      });
      const page = rows.slice(0, q.limit);
      return { items: await Promise.all(page.map((o) => view(db, o))), next_cursor: rows.length > q.limit ? (page.at(-1)?.id ?? null) : null };
    },

    /**
     * POST /v1/orders/{external_id}/events. With an Idempotency-Key the first answer is kept: a
     * retry gets it again, another body under the same key is a conflict. The event joins its
     * tenant's next batch (group commit; see events.ts), where events of one order, and their
     * retries, take effect one after another as they came.
     */
    async event(actor: Actor, externalId: string, body: OrderEventBody, idempotencyKey?: string): Promise<OrderView> {
      return (await submitEvent(actor, externalId, body, idempotencyKey)).order;
    },

    /** The same, saying too whether the answer is the one kept under the Idempotency-Key (a replay). */
    async eventOutcome(actor: Actor, externalId: string, body: OrderEventBody, idempotencyKey?: string): Promise<EventAnswer> {
      return submitEvent(actor, externalId, body, idempotencyKey);
    },

    eventBatchStats: () => ({ ...eventCommits.stats }),

    /** PUT /v1/orders/{external_id}/tracking: the carrier and tracking number that carriers' pushes (logistics) find the order by. */
    async setTracking(actor: Actor, externalId: string, body: TrackingBody): Promise<OrderView> {
      requirePermission(actor.principal, 'orders:write');
      const row = await ordersRepo.setTracking(db, tenantOf(actor.principal), externalId, body.carrier, body.tracking_number, clock.now());
      if (!row) throw notFound('order');
      return view(db, row);
    },

    /** The external id of the tenant's order with this tracking number, or null. */
    async externalIdByTracking(tenantId: string, trackingNumber: string): Promise<string | null> {
      return (await ordersRepo.findByTracking(db, tenantId, trackingNumber))?.external_id ?? null;
    },

    /**
     * The portal's view of orders a distributor earns from (GET /v1/me/orders): their state,
     * shipment and receipt times, carrier and tracking number. Only for a distributor's own
     * session, and only orders of its tenant on which it has a commission line; others are left
     * out, as if they did not exist.
     */
    async logisticsOfEarned(actor: Actor, externalIds: readonly string[]): Promise<EarnedOrderLogistics[]> {
      const p = actor.principal;
      if (p.kind !== 'distributor')
        throw new AppError('forbidden', { en: 'only a distributor sees the orders it earns from', zh: '只有分销员本人能查看其获得佣金的订单' });
      const rows = await ordersRepo.logisticsEarnedBy(db, p.tenantId, p.distributorId, [...new Set(externalIds)]);
      return rows.map((r) => ({
        external_id: r.external_id,
        status: r.status,
        // Only a paid order has commission lines.
        paid_at: paidMoment({ id: r.external_id, paid_at: r.paid_at }).toISOString(),
        shipped_at: r.shipped_at?.toISOString() ?? null,
        received_at: r.received_at?.toISOString() ?? null,
        tracking_carrier: r.tracking_carrier,
        tracking_number: r.tracking_number,
      }));
    },

    /** POST /v1/jobs/auto-receive: the job run by a caller (as of now unless told), for its tenant (root: ''). */
    async runAutoReceive(actor: Actor, asOf: Date | undefined): Promise<{ received: number }> {
      if (actor.principal.kind === 'admin' && actor.principal.role === 'auditor')
        throw new AppError('forbidden', { en: 'auditors cannot run jobs', zh: '审计员不能运行任务' });
      const tenantId = actor.principal.kind === 'root' ? '' : actor.principal.tenantId;
      return autoReceive(tenantId, asOf ?? clock.now());
    },

    autoReceive,
  };
}

export type OrdersService = ReturnType<typeof createOrdersService>;

/** An order's logistics as a distributor that earns from it may see them: no buyer, no amounts. */
export interface EarnedOrderLogistics {
  external_id: string;
  status: OrderStatus;
  paid_at: string;
  shipped_at: string | null;
  received_at: string | null;
  tracking_carrier: string | null;
  tracking_number: string | null;
}
