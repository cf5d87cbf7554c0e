import type { Db, Executor, Tx } from '../../db/database.ts';
import { inTransaction } from '../../db/database.ts';
import type { Actor, Clock } from '../../core/context.ts';
import { AppError, compliance, conflict, invalid, invalidState, notFound } from '../../core/errors.ts';
import { newId } from '../../core/ids.ts';
import { actorOf, requirePermission, tenantOf, type Permission } from '../../core/principal.ts';
import type { AgentRank } from '../../db/schema.ts';
import { isRegionOfRank, regionFullName, regionName } from '../../lib/regions.ts';
import type { AuditService } from '../audit/service.ts';
import type { Outbox } from '../webhooks/outbox.ts';
import type { Finding } from '../compliance/rules.ts';
import { claimKey, requestHash } from '../idempotency/service.ts';
import { AGENT_DISTRIBUTOR_PURPOSES, AGENT_TENANT_PURPOSES, type Ledger } from '../ledger/service.ts';
import { agentsRepo, type AgentProgramRow, type AgentRow, type NewLot as NewLotRow, type PriceRow, type PurchaseOrderRow } from './repo.ts';
import type {
  AgentProgram,
  AgentProgramPatch,
  AgentView,
  InventoryView,
  PriceView,
  PurchaseOrderBody,
  PurchaseOrderView,
  StockCorrectionBody,
  StockCorrectionView,
  StockReturnView,
  TerritoryReport,
  TerritorySales,
  TerritorySalesQuery,
} from './schema.ts';
import { costOf, fifoOrder, takeFifo, type Lot } from './stock.ts';
import { zhStatus } from '../../core/error-text.ts';
import { localDate, startOfLocalDay } from '../../core/time.ts';
import { addDays, daysBetween, parseDay, periodOf, periodsBetween } from '../analytics/periods.ts';
import type { ProgramSettings } from '../program/schema.ts';

/** The unsold-stock buyback window the direct-selling rules require at the least. */
export const MIN_BUYBACK_DAYS = 30;

const DEFAULT_PROGRAM = { enabled: false, province_bp: 0, city_bp: 0, district_bp: 0, buyback_days: MIN_BUYBACK_DAYS };

function programView(row: Pick<AgentProgramRow, 'enabled' | 'province_bp' | 'city_bp' | 'district_bp' | 'buyback_days'> | undefined): AgentProgram {
  const r = row ?? DEFAULT_PROGRAM;
  return { enabled: r.enabled, territory_bp: { province: r.province_bp, city: r.city_bp, district: r.district_bp }, buyback_days: r.buyback_days };
}

export function agentView(a: AgentRow & { distributor_name?: string }): AgentView {
  return {
    id: a.id,
    distributor_id: a.distributor_id,
    rank: a.rank,
    region_code: a.region_code,
    region_name: regionName(a.region_code) ?? a.region_code,
    region_full_name: regionFullName(a.region_code) ?? a.region_code,
    status: a.status,
    status_reason: a.status_reason,
    ...(a.distributor_name !== undefined ? { distributor_name: a.distributor_name } : {}),
    created_at: a.created_at.toISOString(),
  };
}

function priceView(p: PriceRow): PriceView {
  return {
    sku: p.sku,
    retail_fen: p.retail_fen,
    province_fen: p.province_fen,
    city_fen: p.city_fen,
    district_fen: p.district_fen,
    updated_at: p.updated_at.toISOString(),
  };
}

function purchaseOrderView(p: PurchaseOrderRow): PurchaseOrderView {
  return {
    id: p.id,
    agent_id: p.agent_id,
    status: p.status,
    amount_fen: p.amount_fen,
    items: p.items.map((i) => ({ sku: i.sku, quantity: i.quantity, unit_price_fen: i.unit_price_fen })),
    reference: p.reference,
    created_at: p.created_at.toISOString(),
    paid_at: p.paid_at?.toISOString() ?? null,
  };
}

/** Stock bought this many days ago and still held is slow-moving (囤货) unless the caller says otherwise. */
export const SLOW_STOCK_DAYS = 60;

/** A territory's sales over at most this many days; by day up to DAILY_DAYS of them, by month beyond unless asked. */
export const MAX_TERRITORY_DAYS = 3660;
const DAILY_DAYS = 92;
const MAX_DAILY_POINTS = 400;

const RANKS: AgentRank[] = ['province', 'city', 'district'];

/** A territory report's rows summed per rank (every rank present, in rank order). */
export function byRank(
  items: readonly { rank: AgentRank; orders: number; sales_fen: number; refunded_fen: number; territory_commission_fen: number; stock_value_fen: number }[],
) {
  return RANKS.map((rank) => {
    const of = items.filter((i) => i.rank === rank);
    const sum = (f: (i: (typeof of)[number]) => number) => of.reduce((s, i) => s + f(i), 0);
    return {
      rank,
      agents: of.length,
      orders: sum((i) => i.orders),
      sales_fen: sum((i) => i.sales_fen),
      refunded_fen: sum((i) => i.refunded_fen),
      territory_commission_fen: sum((i) => i.territory_commission_fen),
      stock_value_fen: sum((i) => i.stock_value_fen),
    };
  });
}

export function rankPrice(p: PriceRow, rank: AgentRank): number {
  return rank === 'province' ? p.province_fen : rank === 'city' ? p.city_fen : p.district_fen;
}

/**
 * Agent mode (区域代理): the agent program, agents and their territories, price lists per rank,
 * purchase orders (进货), the stock they hold as purchase lots with an append-only movement
 * ledger, and buybacks of unsold stock. Every fen through the ledger: a paid purchase moves its
 * amount into the agent's stock account (what the merchant holds for the agent at cost), a sale
 * from stock moves the units' cost out to the merchant (see order-path.ts), a buyback pays the
 * units' cost back.
 */
export function createAgentsService(deps: {
  db: Db;
  clock: Clock;
  audit: AuditService;
  ledger: Ledger;
  /** agent.*, purchase_order.* and stock_return.created for merchants' webhook endpoints, in the transaction of each change. */
  outbox: Pick<Outbox, 'record'>;
  /** The program's time zone: a territory's sales by local day. */
  program: { read(ex: Executor, tenantId: string): Promise<Pick<ProgramSettings, 'timezone'>> };
}) {
  const { db, clock, audit, ledger, outbox, program } = deps;

  /** The tenant of a caller allowed `permission`; a distributor may only read its own agent's data (see `ownAgent`). */
  function tenantFor(actor: Actor, permission: Permission): string {
    requirePermission(actor.principal, permission);
    return tenantOf(actor.principal);
  }

  async function agentOf(ex: Db | Tx, actor: Actor, id: string): Promise<AgentRow> {
    const p = actor.principal;
    const tenantId = p.kind === 'distributor' ? p.tenantId : tenantFor(actor, 'read');
    const a = await agentsRepo.find(ex, tenantId, id);
    if (!a || (p.kind === 'distributor' && a.distributor_id !== p.distributorId)) throw notFound('agent');
    return a;
  }

  async function openAgentAccounts(tx: Tx, tenantId: string, distributorId: string): Promise<void> {
    await ledger.openAccounts(tx, tenantId, 'tenant', 'tenant', AGENT_TENANT_PURPOSES);
    await ledger.openDistributor(tx, tenantId, distributorId);
    await ledger.openAccounts(tx, tenantId, 'distributor', distributorId, AGENT_DISTRIBUTOR_PURPOSES);
  }

  async function event(
    tx: Tx,
    actor: Actor,
    tenantId: string,
    agentId: string,
    type: 'appointed' | 'suspended' | 'reinstated' | 'ended' | 'transferred',
    reason: string | null,
    details: Record<string, unknown>,
  ) {
    const { actorType, actorId } = actorOf(actor.principal);
    await agentsRepo.insertEvent(tx, {
      id: newId('aev'),
      tenant_id: tenantId,
      agent_id: agentId,
      type,
      reason,
      details: JSON.stringify(details),
      actor_type: actorType,
      actor_id: actorId,
      request_id: actor.requestId,
      at: clock.now(),
    });
    await audit.record(tx, actor, { action: `agent.${type}`, targetType: 'agent', targetId: agentId, after: details, reason });
  }

  /** A GB/T 2260 code of the rank, or 400. */
  function checkTerritory(regionCode: string, rank: AgentRank): void {
    if (!isRegionOfRank(regionCode, rank))
      throw invalid({
        en: `region_code ${regionCode} is not a ${rank} code of GB/T 2260`,
        zh: `region_code ${regionCode} 不是 GB/T 2260 中的${zhStatus(rank)}级代码`,
      });
  }

  /**
   * The appointment itself, in the caller's transaction (POST /v1/agents, and an approved agent
   * application): an active distributor, one active agent per territory (the partial unique index
   * decides between racing appointments: 23505 → 409), the agent's ledger accounts, its history,
   * the audit entry and agent.appointed, all or nothing. The caller has authorised `actor`.
   */
  async function appointIn(tx: Tx, actor: Actor, tenantId: string, body: { distributor_id: string; rank: AgentRank; region_code: string }): Promise<AgentView> {
    checkTerritory(body.region_code, body.rank);
    const d = await agentsRepo.distributor(tx, tenantId, body.distributor_id);
    if (!d) throw invalid({ en: `distributor_id: no distributor ${body.distributor_id}`, zh: `distributor_id：没有分销员 ${body.distributor_id}` });
    if (d.status !== 'active')
      throw invalidState({
        en: `distributor ${d.id} is ${d.status}: only an active distributor can be an agent`,
        zh: `分销员 ${d.id} 状态为${zhStatus(d.status)}：只有正常状态的分销员才能成为代理`,
      });
    const now = clock.now();
    let row: AgentRow;
    try {
      row = await agentsRepo.insertAgent(tx, {
        id: newId('agt'),
        tenant_id: tenantId,
        distributor_id: body.distributor_id,
        rank: body.rank,
        region_code: body.region_code,
        status: 'active',
        status_reason: null,
        created_at: now,
        updated_at: now,
      });
    } catch (error) {
      if ((error as { code?: unknown }).code === '23505')
        throw conflict({ en: `territory ${body.region_code} already has an active agent`, zh: `区域 ${body.region_code} 已有一个有效的代理` });
      throw error;
    }
    await openAgentAccounts(tx, tenantId, body.distributor_id);
    await event(tx, actor, tenantId, row.id, 'appointed', null, { distributor_id: row.distributor_id, rank: row.rank, region_code: row.region_code });
    await outbox.record(tx, tenantId, [{ type: 'agent.appointed', objectType: 'agent', objectId: row.id, data: agentView(row) }]);
    return agentView(row);
  }

  return {
    /**
     * What the compliance report states of agent mode: the buyback window of unsold stock (at
     * least 30 days, at what was paid), that joining never requires a purchase, and that
     * territory lines are level 0 (no commission level is added).
     */
    async complianceFindings(tenantId: string): Promise<Finding[]> {
      const program = programView(await agentsRepo.program(db, tenantId));
      const short = program.buyback_days < MIN_BUYBACK_DAYS;
      return [
        {
          rule: 'agent_stock_buyback',
          status: short ? 'violation' : 'compliant',
          title: {
            zh: '代理未售库存至少 30 天内按原价回购，加入不以进货为条件',
            en: 'Unsold agent stock bought back for at least 30 days at cost; no purchase to join',
          },
          setting: { ...program, purchase_required_to_join: false, territory_level: 0 },
          detail: short
            ? `buyback_days ${program.buyback_days} is below ${MIN_BUYBACK_DAYS}`
            : `agent mode ${program.enabled ? 'on' : 'off'}: unsold stock bought within ${program.buyback_days} days is taken back at what the agent paid; no purchase is a condition of joining; territory lines are level 0 and add no commission level`,
        },
      ];
    },

    async getProgram(actor: Actor): Promise<AgentProgram> {
      const p = actor.principal;
      // A distributor (the portal) reads it too: the rates and the buyback window it is owed.
      const tenantId = p.kind === 'distributor' ? p.tenantId : tenantFor(actor, 'read');
      return programView(await agentsRepo.program(db, tenantId));
    },

    /** PUT /v1/agent-program: a partial update; buyback_days below 30 is refused (compliance_violation). */
    async updateProgram(actor: Actor, patch: AgentProgramPatch): Promise<AgentProgram> {
      const tenantId = tenantFor(actor, 'program:write');
      if (patch.buyback_days !== undefined && patch.buyback_days < MIN_BUYBACK_DAYS)
        throw compliance({
          en: `buyback_days must be at least ${MIN_BUYBACK_DAYS}: unsold stock is taken back for at least 30 days`,
          zh: `buyback_days 至少为 ${MIN_BUYBACK_DAYS}：未售出的库存至少在 30 天内可回购`,
        });
      return inTransaction(db, async (tx) => {
        const row = await agentsRepo.lockProgram(tx, tenantId);
        const before = programView(row);
        const next: AgentProgramRow = {
          ...row,
          enabled: patch.enabled ?? row.enabled,
          province_bp: patch.territory_bp?.province ?? row.province_bp,
          city_bp: patch.territory_bp?.city ?? row.city_bp,
          district_bp: patch.territory_bp?.district ?? row.district_bp,
          buyback_days: patch.buyback_days ?? row.buyback_days,
          updated_at: clock.now(),
        };
        await agentsRepo.saveProgram(tx, next);
        if (next.enabled) await ledger.openAccounts(tx, tenantId, 'tenant', 'tenant', AGENT_TENANT_PURPOSES);
        const after = programView(next);
        await audit.record(tx, actor, { action: 'agent_program.update', targetType: 'agent_program', targetId: tenantId, before, after });
        return after;
      });
    },

    /** POST /v1/agents: a distributor appointed to a territory; one active agent per territory (409). */
    async appoint(actor: Actor, body: { distributor_id: string; rank: AgentRank; region_code: string }): Promise<AgentView> {
      const tenantId = tenantFor(actor, 'distributors:write');
      checkTerritory(body.region_code, body.rank);
      return inTransaction(db, (tx) => appointIn(tx, actor, tenantId, body));
    },

    appointIn,

    async get(actor: Actor, id: string): Promise<AgentView> {
      return agentView(await agentOf(db, actor, id));
    },

    async list(actor: Actor, q: { status?: string | undefined; distributor_id?: string | undefined; cursor?: string | undefined; limit: number }) {
      const p = actor.principal;
      const tenantId = p.kind === 'distributor' ? p.tenantId : tenantFor(actor, 'read');
      const distributorId = p.kind === 'distributor' ? p.distributorId : q.distributor_id;
      const rows = await agentsRepo.list(db, tenantId, { status: q.status, distributorId, beforeId: q.cursor, limit: q.limit + 1 });
      const page = rows.slice(0, q.limit);
      return { items: page.map(agentView), next_cursor: rows.length > q.limit ? (page.at(-1)?.id ?? null) : null };
    },

    /** Suspends, reinstates or ends an agent, with a reason kept in its history. */
    async setStatus(actor: Actor, id: string, to: 'suspended' | 'active' | 'ended', reason: string): Promise<AgentView> {
      const tenantId = tenantFor(actor, 'distributors:write');
      return inTransaction(db, async (tx) => {
        const a = await agentsRepo.findForUpdate(tx, tenantId, id);
        if (!a) throw notFound('agent');
        const allowed: Record<typeof to, AgentRow['status'][]> = { suspended: ['active'], active: ['suspended'], ended: ['active', 'suspended'] };
        if (!allowed[to].includes(a.status))
          throw invalidState({
            en: `a ${a.status} agent cannot be ${to === 'active' ? 'reinstated' : to}`,
            zh: `状态为${zhStatus(a.status)}的代理不能${to === 'active' ? '恢复' : `改为${zhStatus(to)}`}`,
          });
        try {
          await agentsRepo.setStatus(tx, tenantId, id, a.status, to, reason, clock.now());
        } catch (error) {
          if ((error as { code?: unknown }).code === '23505')
            throw conflict({ en: `territory ${a.region_code} already has another active agent`, zh: `区域 ${a.region_code} 已有另一个有效的代理` });
          throw error;
        }
        await event(tx, actor, tenantId, id, to === 'active' ? 'reinstated' : to, reason, { from: a.status, to });
        const view = agentView({ ...a, status: to, status_reason: reason });
        await outbox.record(tx, tenantId, [{ type: to === 'active' ? 'agent.reinstated' : `agent.${to}`, objectType: 'agent', objectId: id, data: view }]);
        return view;
      });
    },

    /**
     * Transfers a territory to another distributor: the agent is ended and a new one appointed in
     * the same transaction, both with the reason. Its stock stays with the agent it was bought by
     * (its buyback is still owed).
     */
    async transfer(actor: Actor, id: string, distributorId: string, reason: string): Promise<AgentView> {
      const tenantId = tenantFor(actor, 'distributors:write');
      return inTransaction(db, async (tx) => {
        const a = await agentsRepo.findForUpdate(tx, tenantId, id);
        if (!a) throw notFound('agent');
        if (a.status === 'ended') throw invalidState({ en: 'an ended agent cannot be transferred', zh: '已终止的代理不能转让' });
        if (a.distributor_id === distributorId) throw invalid({ en: 'the territory is already this distributor’s', zh: '该区域已属于这位分销员' });
        const d = await agentsRepo.distributor(tx, tenantId, distributorId);
        if (!d) throw invalid({ en: `distributor_id: no distributor ${distributorId}`, zh: `distributor_id：没有分销员 ${distributorId}` });
        if (d.status !== 'active') throw invalidState({ en: `distributor ${d.id} is ${d.status}`, zh: `分销员 ${d.id} 状态为${zhStatus(d.status)}` });
        const now = clock.now();
        await agentsRepo.setStatus(tx, tenantId, id, a.status, 'ended', reason, now);
        const row = await agentsRepo.insertAgent(tx, {
          id: newId('agt'),
          tenant_id: tenantId,
          distributor_id: distributorId,
          rank: a.rank,
          region_code: a.region_code,
          status: 'active',
          status_reason: null,
          created_at: now,
          updated_at: now,
        });
        await openAgentAccounts(tx, tenantId, distributorId);
        await event(tx, actor, tenantId, id, 'transferred', reason, { to_agent_id: row.id, to_distributor_id: distributorId });
        await event(tx, actor, tenantId, row.id, 'appointed', reason, {
          distributor_id: distributorId,
          rank: row.rank,
          region_code: row.region_code,
          from_agent_id: id,
        });
        // The territory's old agent ends and the new one is appointed, in that order.
        await outbox.record(tx, tenantId, [
          { type: 'agent.ended', objectType: 'agent', objectId: id, data: agentView({ ...a, status: 'ended', status_reason: reason }) },
          { type: 'agent.appointed', objectType: 'agent', objectId: row.id, data: agentView(row) },
        ]);
        return agentView(row);
      });
    },

    async history(actor: Actor, id: string) {
      const a = await agentOf(db, actor, id);
      const rows = await agentsRepo.events(db, a.tenant_id, id);
      return {
        items: rows.map((e) => ({
          id: e.id,
          type: e.type,
          reason: e.reason,
          details: e.details,
          actor_type: e.actor_type,
          actor_id: e.actor_id,
          at: e.at.toISOString(),
        })),
        next_cursor: null,
      };
    },

    /** PUT /v1/agent-prices/{sku}: province ≤ city ≤ district ≤ retail, else 400. */
    async setPrice(actor: Actor, sku: string, body: { retail_fen: number; province_fen: number; city_fen: number; district_fen: number }): Promise<PriceView> {
      const tenantId = tenantFor(actor, 'program:write');
      if (!(body.province_fen <= body.city_fen && body.city_fen <= body.district_fen && body.district_fen <= body.retail_fen))
        throw invalid({
          en: 'prices must satisfy province_fen ≤ city_fen ≤ district_fen ≤ retail_fen',
          zh: '价格须满足 province_fen ≤ city_fen ≤ district_fen ≤ retail_fen',
        });
      return inTransaction(db, async (tx) => {
        const row = await agentsRepo.upsertPrice(tx, { tenant_id: tenantId, sku, ...body, updated_at: clock.now() });
        await audit.record(tx, actor, { action: 'agent_price.set', targetType: 'agent_price', targetId: sku, after: body });
        return priceView(row);
      });
    },

    async prices(actor: Actor) {
      const p = actor.principal;
      const tenantId = p.kind === 'distributor' ? p.tenantId : tenantFor(actor, 'read');
      return { items: (await agentsRepo.prices(db, tenantId)).map(priceView), next_cursor: null };
    },

    /**
     * POST /v1/purchase-orders (Idempotency-Key): priced at the agent's rank from the price list.
     * The same key and body answer the first answer again; another body under it is a 409.
     */
    async createPurchaseOrder(
      actor: Actor,
      body: PurchaseOrderBody,
      idempotencyKey: string | undefined,
    ): Promise<{ created: boolean; order: PurchaseOrderView }> {
      const p = actor.principal;
      const tenantId = p.kind === 'distributor' ? p.tenantId : tenantFor(actor, 'finance:write');
      return inTransaction(db, async (tx) => {
        const { actorType, actorId } = actorOf(p);
        let claim: { save(status: number, body: unknown): Promise<void> } | null = null;
        if (idempotencyKey !== undefined) {
          const claimed = await claimKey<PurchaseOrderView>(tx, tenantId, `purchase_order:${actorType}:${actorId ?? ''}`, idempotencyKey, requestHash(body));
          if (claimed.replay) return { created: false, order: claimed.answer };
          claim = claimed.claim;
        }
        const agent = await agentsRepo.find(tx, tenantId, body.agent_id);
        // A portal session finds only its own agents: another distributor's is not found (404), as
        // on every other route of the portal.
        if (p.kind === 'distributor' && (!agent || agent.distributor_id !== p.distributorId)) throw notFound('agent');
        if (!agent) throw invalid({ en: `agent_id: no agent ${body.agent_id}`, zh: `agent_id：没有代理 ${body.agent_id}` });
        if (agent.status !== 'active')
          throw invalidState({
            en: `agent ${agent.id} is ${agent.status}: it cannot buy stock`,
            zh: `代理 ${agent.id} 状态为${zhStatus(agent.status)}，不能进货`,
          });
        const prices = new Map((await agentsRepo.prices(tx, tenantId, [...new Set(body.items.map((i) => i.sku))])).map((r) => [r.sku, r]));
        const items = body.items.map((i) => {
          const price = prices.get(i.sku);
          if (!price) throw invalid({ en: `sku ${i.sku} has no agent price list`, zh: `SKU ${i.sku} 没有代理价目表` });
          return { sku: i.sku, quantity: i.quantity, unit_price_fen: rankPrice(price, agent.rank) };
        });
        const amount = items.reduce((s, i) => s + i.quantity * i.unit_price_fen, 0);
        if (!Number.isSafeInteger(amount) || amount > 1_000_000_000_000)
          throw new AppError('limit_exceeded', { en: 'a purchase order may total at most 10 billion yuan', zh: '一张进货单的总额至多为 100 亿元' });
        const row = await agentsRepo.insertPurchaseOrder(tx, {
          id: newId('apo'),
          tenant_id: tenantId,
          agent_id: agent.id,
          status: 'pending_payment',
          amount_fen: amount,
          items: JSON.stringify(items),
          reference: null,
          created_at: clock.now(),
          paid_at: null,
        });
        const view = purchaseOrderView(row);
        await audit.record(tx, actor, { action: 'purchase_order.create', targetType: 'purchase_order', targetId: row.id, after: view });
        await outbox.record(tx, tenantId, [{ type: 'purchase_order.created', objectType: 'purchase_order', objectId: row.id, data: view }]);
        await claim?.save(201, view);
        return { created: true, order: view };
      });
    },

    /**
     * POST /v1/purchase-orders/{id}/pay: the payment recorded with its reference; each item becomes
     * a lot of the agent's stock (a purchase movement), and the amount moves from the merchant's
     * agent_purchases account to the agent's stock account. Paying twice is a 409.
     */
    async payPurchaseOrder(actor: Actor, id: string, reference: string, callback?: { amount_fen: number }): Promise<PurchaseOrderView> {
      const tenantId = tenantFor(actor, 'finance:write');
      return inTransaction(db, async (tx) => {
        const po = await agentsRepo.findPurchaseOrder(tx, tenantId, id, true);
        if (!po) throw notFound('purchase order');
        // A payment channel retries its callback until it is answered: the same payment again is
        // answered as the first time, and moves nothing.
        if (callback && po.status === 'paid' && po.reference === reference && po.amount_fen === callback.amount_fen) return purchaseOrderView(po);
        if (po.status !== 'pending_payment')
          throw invalidState({ en: `a ${po.status} purchase order cannot be paid`, zh: `状态为${zhStatus(po.status)}的进货单不能付款` });
        if (callback && callback.amount_fen !== po.amount_fen)
          throw invalid({
            en: `amount_fen ${callback.amount_fen} is not the purchase order's amount (${po.amount_fen}): nothing recorded`,
            zh: `amount_fen ${callback.amount_fen} 与进货单金额（${po.amount_fen} 分）不符：未作记录`,
          });
        const agent = await agentsRepo.find(tx, tenantId, po.agent_id);
        if (!agent) throw new Error(`purchase order ${po.id} names agent ${po.agent_id}, which is not there`);
        const now = clock.now();
        const paid = await agentsRepo.markPaid(tx, po.id, reference, now);
        if (!paid) throw invalidState({ en: 'the purchase order was paid meanwhile', zh: '该进货单已在此期间付款' });
        const lots = po.items.map((i) => ({
          id: newId('lot'),
          tenant_id: tenantId,
          agent_id: agent.id,
          sku: i.sku,
          purchase_order_id: po.id,
          unit_cost_fen: i.unit_price_fen,
          quantity: i.quantity,
          remaining: 0,
          acquired_at: now,
        }));
        await agentsRepo.insertLots(tx, lots);
        await openAgentAccounts(tx, tenantId, agent.distributor_id);
        const ctes = agentsRepo.stockCtes(
          lots.map((l) => ({ lotId: l.id, delta: l.quantity })),
          lots.map((l) => ({
            tenant_id: tenantId,
            agent_id: agent.id,
            sku: l.sku,
            lot_id: l.id,
            kind: 'purchase' as const,
            quantity: l.quantity,
            unit_cost_fen: l.unit_cost_fen,
            ref_type: 'purchase_order',
            ref_id: po.id,
            order_item_id: null,
            reason: null,
            created_at: now,
          })),
        );
        if (po.amount_fen > 0) {
          const plan = await ledger.plan(tx, [
            {
              tenantId,
              kind: 'agent_purchase',
              refType: 'purchase_order',
              refId: po.id,
              memo: reference,
              legs: [
                { owner: 'tenant', purpose: 'agent_purchases', amount: -po.amount_fen },
                { owner: agent.distributor_id, purpose: 'agent_stock', amount: po.amount_fen },
              ],
            },
          ]);
          ctes.unshift(...plan.ctes);
        }
        await agentsRepo.run(tx, ctes);
        const view = purchaseOrderView(paid);
        await audit.record(tx, actor, { action: 'purchase_order.pay', targetType: 'purchase_order', targetId: po.id, after: { reference } });
        await outbox.record(tx, tenantId, [{ type: 'purchase_order.paid', objectType: 'purchase_order', objectId: po.id, data: view }]);
        return view;
      });
    },

    async getPurchaseOrder(actor: Actor, id: string): Promise<PurchaseOrderView> {
      const p = actor.principal;
      const tenantId = p.kind === 'distributor' ? p.tenantId : tenantFor(actor, 'read');
      const po = await agentsRepo.findPurchaseOrder(db, tenantId, id);
      if (!po) throw notFound('purchase order');
      if (p.kind === 'distributor') await agentOf(db, actor, po.agent_id);
      return purchaseOrderView(po);
    },

    async listPurchaseOrders(actor: Actor, q: { agent_id?: string | undefined; status?: string | undefined; cursor?: string | undefined; limit: number }) {
      const p = actor.principal;
      const tenantId = p.kind === 'distributor' ? p.tenantId : tenantFor(actor, 'read');
      if (p.kind === 'distributor') {
        if (!q.agent_id) throw invalid({ en: 'agent_id is required', zh: '缺少 agent_id' });
        await agentOf(db, actor, q.agent_id);
      }
      const rows = await agentsRepo.listPurchaseOrders(db, tenantId, { agentId: q.agent_id, status: q.status, beforeId: q.cursor, limit: q.limit + 1 });
      const page = rows.slice(0, q.limit);
      return { items: page.map(purchaseOrderView), next_cursor: rows.length > q.limit ? (page.at(-1)?.id ?? null) : null };
    },

    async inventory(actor: Actor, id: string): Promise<InventoryView> {
      const a = await agentOf(db, actor, id);
      const rows = await agentsRepo.inventory(db, a.tenant_id, a.id);
      return {
        items: rows.map((r) => ({
          sku: r.sku,
          quantity: Number(r.quantity),
          value_fen: Number(r.value_fen),
          oldest_acquired_at: r.oldest_acquired_at ? new Date(r.oldest_acquired_at).toISOString() : null,
        })),
      };
    },

    async movements(actor: Actor, id: string, q: { cursor?: string | undefined; limit: number }) {
      const a = await agentOf(db, actor, id);
      const before = q.cursor !== undefined && /^[0-9]{1,15}$/.test(q.cursor) ? Number(q.cursor) : undefined;
      const rows = await agentsRepo.movements(db, a.tenant_id, a.id, { beforeId: before, limit: q.limit + 1 });
      const page = rows.slice(0, q.limit);
      return {
        items: page.map((m) => ({
          id: Number(m.id),
          sku: m.sku,
          kind: m.kind,
          quantity: m.quantity,
          unit_cost_fen: m.unit_cost_fen,
          lot_id: m.lot_id,
          ref_type: m.ref_type,
          ref_id: m.ref_id,
          reason: m.reason,
          created_at: m.created_at.toISOString(),
        })),
        next_cursor: rows.length > q.limit ? String(page.at(-1)?.id ?? '') : null,
      };
    },

    /**
     * POST /v1/agents/{id}/stock-returns: unsold stock bought within buyback_days taken back at
     * what the agent paid, oldest eligible lot first; more than it holds (within the window) is
     * 422 insufficient_stock, nothing written. The amount leaves the agent's stock account for
     * the merchant's agent_purchases account (the merchant pays it back).
     */
    async stockReturn(actor: Actor, id: string, items: { sku: string; quantity: number }[]): Promise<StockReturnView> {
      const p = actor.principal;
      const tenantId = p.kind === 'distributor' ? p.tenantId : tenantFor(actor, 'finance:write');
      return inTransaction(db, async (tx) => {
        const agent = await agentsRepo.find(tx, tenantId, id);
        if (!agent || (p.kind === 'distributor' && agent.distributor_id !== p.distributorId)) throw notFound('agent');
        const program = programView(await agentsRepo.program(tx, tenantId));
        const now = clock.now();
        const since = now.getTime() - program.buyback_days * 86_400_000;
        const skus = [...new Set(items.map((i) => i.sku))];
        const open = await agentsRepo.lockOpenLots(tx, tenantId, [agent.id], skus);
        const lots = new Map<string, Lot[]>();
        for (const l of open) {
          const list = lots.get(l.sku) ?? [];
          list.push({ id: l.id, sku: l.sku, unit_cost_fen: l.unit_cost_fen, remaining: l.remaining, acquired_at: l.acquired_at });
          lots.set(l.sku, list);
        }
        const deltas = new Map<string, number>();
        const moves: { sku: string; lotId: string; quantity: number; unitCostFen: number }[] = [];
        const lines: { sku: string; quantity: number; amount_fen: number }[] = [];
        const returnId = newId('srt');
        for (const i of items) {
          const all = (lots.get(i.sku) ?? []).sort(fifoOrder);
          const held = all.reduce((s, l) => s + l.remaining, 0);
          if (held < i.quantity)
            throw new AppError('insufficient_stock', {
              en: `agent ${agent.id} holds ${held} unit(s) of ${i.sku} (asked to return ${i.quantity})`,
              zh: `代理 ${agent.id} 的 ${i.sku} 库存为 ${held} 件（要求退回 ${i.quantity} 件）`,
            });
          const eligible = all.filter((l) => l.acquired_at.getTime() >= since);
          const taken = takeFifo(eligible, i.quantity);
          if (!taken) {
            const inWindow = eligible.reduce((s, l) => s + l.remaining, 0);
            throw new AppError('insufficient_stock', {
              en: `only ${inWindow} unit(s) of ${i.sku} were bought within the last ${program.buyback_days} days (the buyback window); asked ${i.quantity}`,
              zh: `最近 ${program.buyback_days} 天（回购期）内只购入了 ${inWindow} 件 ${i.sku}，要求回购 ${i.quantity} 件`,
            });
          }
          for (const t of taken) {
            deltas.set(t.lotId, (deltas.get(t.lotId) ?? 0) - t.quantity);
            moves.push({ sku: i.sku, ...t });
          }
          lines.push({ sku: i.sku, quantity: i.quantity, amount_fen: costOf(taken) });
        }
        const amount = lines.reduce((s, l) => s + l.amount_fen, 0);
        await agentsRepo.insertStockReturn(tx, {
          id: returnId,
          tenant_id: tenantId,
          agent_id: agent.id,
          amount_fen: amount,
          items: JSON.stringify(lines),
          created_at: now,
        });
        const ctes = agentsRepo.stockCtes(
          [...deltas].map(([lotId, delta]) => ({ lotId, delta })),
          moves.map((m) => ({
            tenant_id: tenantId,
            agent_id: agent.id,
            sku: m.sku,
            lot_id: m.lotId,
            kind: 'buyback' as const,
            quantity: -m.quantity,
            unit_cost_fen: m.unitCostFen,
            ref_type: 'stock_return',
            ref_id: returnId,
            order_item_id: null,
            reason: null,
            created_at: now,
          })),
        );
        if (amount > 0) {
          const plan = await ledger.plan(tx, [
            {
              tenantId,
              kind: 'agent_buyback',
              refType: 'stock_return',
              refId: returnId,
              legs: [
                { owner: agent.distributor_id, purpose: 'agent_stock', amount: -amount },
                { owner: 'tenant', purpose: 'agent_purchases', amount },
              ],
            },
          ]);
          ctes.unshift(...plan.ctes);
        }
        await agentsRepo.run(tx, ctes);
        await audit.record(tx, actor, {
          action: 'agent.stock_return',
          targetType: 'agent',
          targetId: agent.id,
          after: { id: returnId, amount_fen: amount, items: lines },
        });
        const view: StockReturnView = { id: returnId, agent_id: agent.id, amount_fen: amount, items: lines, created_at: now.toISOString() };
        await outbox.record(tx, tenantId, [{ type: 'stock_return.created', objectType: 'stock_return', objectId: returnId, data: view }]);
        return view;
      });
    },

    /**
     * POST /v1/agents/{id}/stock-corrections (Idempotency-Key): a stocktake's differences, with a
     * reason, as correction movements (never an edit of earlier ones). Missing units leave the
     * lots oldest first and what they cost leaves the agent's stock account for the merchant's
     * agent_stock_corrections account (the agent's loss, on the books); more than the agent holds
     * is 422 insufficient_stock, nothing written. Found units join the stock as a new lot that cost
     * nothing (so a buyback of them pays nothing, and no money moves).
     */
    async stockCorrection(actor: Actor, id: string, body: StockCorrectionBody, idempotencyKey: string | undefined): Promise<StockCorrectionView> {
      const tenantId = tenantFor(actor, 'finance:write');
      if (body.items.some((i) => i.quantity === 0))
        throw invalid({ en: 'items: a correction of 0 units corrects nothing', zh: 'items：更正 0 件等于没有更正' });
      const skus = body.items.map((i) => i.sku);
      if (new Set(skus).size !== skus.length) throw invalid({ en: 'items: name each SKU once', zh: 'items：每个 SKU 只能出现一次' });
      return inTransaction(db, async (tx) => {
        let claim: { save(status: number, body: unknown): Promise<void> } | null = null;
        if (idempotencyKey !== undefined) {
          const { actorType, actorId } = actorOf(actor.principal);
          const claimed = await claimKey<StockCorrectionView>(
            tx,
            tenantId,
            `stock_correction:${id}:${actorType}:${actorId ?? ''}`,
            idempotencyKey,
            requestHash(body),
          );
          if (claimed.replay) return claimed.answer;
          claim = claimed.claim;
        }
        const agent = await agentsRepo.find(tx, tenantId, id);
        if (!agent) throw notFound('agent');
        const now = clock.now();
        const correctionId = newId('scr');
        const open = await agentsRepo.lockOpenLots(tx, tenantId, [agent.id], skus);
        const lots = new Map<string, Lot[]>();
        for (const l of open) {
          const list = lots.get(l.sku) ?? [];
          list.push({ id: l.id, sku: l.sku, unit_cost_fen: l.unit_cost_fen, remaining: l.remaining, acquired_at: l.acquired_at });
          lots.set(l.sku, list);
        }
        const deltas: { lotId: string; delta: number }[] = [];
        const moves: { sku: string; lotId: string; quantity: number; unitCostFen: number }[] = [];
        const found: NewLotRow[] = [];
        const lines: { sku: string; quantity: number; amount_fen: number }[] = [];
        for (const i of body.items) {
          if (i.quantity > 0) {
            const lotId = newId('lot');
            found.push({
              id: lotId,
              tenant_id: tenantId,
              agent_id: agent.id,
              sku: i.sku,
              purchase_order_id: null,
              unit_cost_fen: 0,
              quantity: i.quantity,
              remaining: 0,
              acquired_at: now,
            });
            deltas.push({ lotId, delta: i.quantity });
            moves.push({ sku: i.sku, lotId, quantity: i.quantity, unitCostFen: 0 });
            lines.push({ sku: i.sku, quantity: i.quantity, amount_fen: 0 });
            continue;
          }
          const all = (lots.get(i.sku) ?? []).sort(fifoOrder);
          const taken = takeFifo(all, -i.quantity);
          if (!taken) {
            const held = all.reduce((s, l) => s + l.remaining, 0);
            throw new AppError('insufficient_stock', {
              en: `agent ${agent.id} holds ${held} unit(s) of ${i.sku} (the correction takes ${-i.quantity})`,
              zh: `代理 ${agent.id} 的 ${i.sku} 库存为 ${held} 件（更正要扣减 ${-i.quantity} 件）`,
            });
          }
          for (const t of taken) {
            deltas.push({ lotId: t.lotId, delta: -t.quantity });
            moves.push({ sku: i.sku, lotId: t.lotId, quantity: -t.quantity, unitCostFen: t.unitCostFen });
          }
          lines.push({ sku: i.sku, quantity: i.quantity, amount_fen: costOf(taken) });
        }
        await agentsRepo.insertLots(tx, found);
        const ctes = agentsRepo.stockCtes(
          deltas,
          moves.map((m) => ({
            tenant_id: tenantId,
            agent_id: agent.id,
            sku: m.sku,
            lot_id: m.lotId,
            kind: 'correction' as const,
            quantity: m.quantity,
            unit_cost_fen: m.unitCostFen,
            ref_type: 'stock_correction',
            ref_id: correctionId,
            order_item_id: null,
            reason: body.reason,
            created_at: now,
          })),
        );
        const amount = lines.reduce((s, l) => s + l.amount_fen, 0);
        if (amount > 0) {
          await ledger.openAccounts(tx, tenantId, 'tenant', 'tenant', AGENT_TENANT_PURPOSES);
          const plan = await ledger.plan(tx, [
            {
              tenantId,
              kind: 'agent_stock_correction',
              refType: 'stock_correction',
              refId: correctionId,
              memo: body.reason,
              legs: [
                { owner: agent.distributor_id, purpose: 'agent_stock', amount: -amount },
                { owner: 'tenant', purpose: 'agent_stock_corrections', amount },
              ],
            },
          ]);
          ctes.unshift(...plan.ctes);
        }
        await agentsRepo.run(tx, ctes);
        const view: StockCorrectionView = {
          id: correctionId,
          agent_id: agent.id,
          reason: body.reason,
          amount_fen: amount,
          items: lines,
          created_at: now.toISOString(),
        };
        await audit.record(tx, actor, { action: 'agent.stock_correction', targetType: 'agent', targetId: agent.id, after: view, reason: body.reason });
        await claim?.save(201, view);
        return view;
      });
    },

    /**
     * GET /v1/agent-territories: sales and territory commission per agent's territory and per
     * rank over a period, price differences earned, and stock on hand with its slow-moving part.
     */
    async territoryReport(actor: Actor, q: { from?: string | undefined; to?: string | undefined; slow_days?: number | undefined }): Promise<TerritoryReport> {
      const tenantId = tenantFor(actor, 'read');
      const now = clock.now();
      const to = q.to !== undefined ? new Date(q.to) : now;
      const from = q.from !== undefined ? new Date(q.from) : new Date(to.getTime() - 30 * 86_400_000);
      if (!(from.getTime() < to.getTime())) throw invalid({ en: 'from must be before to', zh: 'from 须早于 to' });
      const slowDays = q.slow_days ?? SLOW_STOCK_DAYS;
      const rows = await agentsRepo.territoryReport(db, tenantId, { from, to, slowBefore: new Date(now.getTime() - slowDays * 86_400_000) });
      const items = rows.map((r) => ({
        agent_id: r.agent_id,
        distributor_id: r.distributor_id,
        distributor_name: r.distributor_name,
        rank: r.rank,
        region_code: r.region_code,
        region_full_name: regionFullName(r.region_code) ?? r.region_code,
        status: r.status,
        orders: Number(r.orders),
        sales_fen: Number(r.sales_fen),
        refunded_fen: Number(r.refunded_fen),
        territory_commission_fen: Number(r.territory_commission_fen),
        price_difference_fen: Number(r.price_difference_fen),
        stock_units: Number(r.stock_units),
        stock_value_fen: Number(r.stock_value_fen),
        slow_units: Number(r.slow_units),
        slow_value_fen: Number(r.slow_value_fen),
      }));
      return { from: from.toISOString(), to: to.toISOString(), slow_days: slowDays, items, by_rank: byRank(items) };
    },

    /**
     * One agent's territory over a range of local days: the territory report's figures for it (the
     * same query), its territory commission by status, and a series by day or month. A distributor
     * reads only its own agents (another's is not found).
     */
    async territorySales(actor: Actor, id: string, q: TerritorySalesQuery): Promise<TerritorySales> {
      const a = await agentOf(db, actor, id);
      const timezone = (await program.read(db, a.tenant_id)).timezone;
      const now = clock.now();
      const to = q.to === undefined ? localDate(now, timezone) : parseDay(q.to);
      if (to === null) throw invalid({ en: 'to is not a calendar date (YYYY-MM-DD)', zh: 'to 不是有效的日期（YYYY-MM-DD）' });
      const from = q.from === undefined ? addDays(to, -29) : parseDay(q.from);
      if (from === null) throw invalid({ en: 'from is not a calendar date (YYYY-MM-DD)', zh: 'from 不是有效的日期（YYYY-MM-DD）' });
      if (from > to) throw invalid({ en: 'from is after to', zh: 'from 晚于 to' });
      const days = daysBetween(from, to) + 1;
      if (days > MAX_TERRITORY_DAYS) throw invalid({ en: `a range covers at most ${MAX_TERRITORY_DAYS} days`, zh: `时间范围至多 ${MAX_TERRITORY_DAYS} 天` });
      const interval = q.interval ?? (days <= DAILY_DAYS ? 'day' : 'month');
      if (interval === 'day' && days > MAX_DAILY_POINTS)
        throw invalid({
          en: `by day a range covers at most ${MAX_DAILY_POINTS} days: ask by month`,
          zh: `按日统计时间范围至多 ${MAX_DAILY_POINTS} 天：请按月统计`,
        });
      const slowDays = q.slow_days ?? SLOW_STOCK_DAYS;
      const window = { from: startOfLocalDay(from, timezone), to: startOfLocalDay(addDays(to, 1), timezone), agentId: a.id };
      const [[r], dayRows] = await Promise.all([
        agentsRepo.territoryReport(db, a.tenant_id, { ...window, slowBefore: new Date(now.getTime() - slowDays * 86_400_000) }),
        agentsRepo.territoryDays(db, a.tenant_id, { ...window, timeZone: timezone }),
      ]);
      if (!r) throw notFound('agent');
      const points = new Map(
        periodsBetween(from, to, interval).map((period) => [
          period,
          { period, orders: 0, sales_fen: 0, refunded_fen: 0, territory_commission_fen: 0, price_difference_fen: 0 },
        ]),
      );
      for (const d of dayRows) {
        const p = points.get(periodOf(d.day, interval));
        if (!p) throw new Error(`day ${d.day} falls outside the periods of its own range`);
        p.orders += Number(d.orders);
        p.sales_fen += Number(d.sales_fen);
        p.refunded_fen += Number(d.refunded_fen);
        p.territory_commission_fen += Number(d.territory_commission_fen);
        p.price_difference_fen += Number(d.price_difference_fen);
      }
      return {
        agent_id: a.id,
        rank: a.rank,
        region_code: a.region_code,
        region_full_name: regionFullName(a.region_code) ?? a.region_code,
        status: a.status,
        range: { from, to, timezone },
        interval,
        slow_days: slowDays,
        orders: Number(r.orders),
        sales_fen: Number(r.sales_fen),
        refunded_fen: Number(r.refunded_fen),
        territory_commission_fen: Number(r.territory_commission_fen),
        price_difference_fen: Number(r.price_difference_fen),
        territory_commission: {
          pending_fen: Number(r.territory_pending_fen),
          available_fen: Number(r.territory_available_fen),
          settled_fen: Number(r.territory_settled_fen),
        },
        stock_units: Number(r.stock_units),
        stock_value_fen: Number(r.stock_value_fen),
        slow_units: Number(r.slow_units),
        slow_value_fen: Number(r.slow_value_fen),
        points: [...points.values()],
      };
    },

    async stockReturns(actor: Actor, id: string) {
      const a = await agentOf(db, actor, id);
      const rows = await agentsRepo.stockReturns(db, a.tenant_id, a.id);
      return {
        items: rows.map((r) => ({ id: r.id, agent_id: r.agent_id, amount_fen: r.amount_fen, items: r.items, created_at: r.created_at.toISOString() })),
        next_cursor: null,
      };
    },
  };
}

export type AgentsService = ReturnType<typeof createAgentsService>;
