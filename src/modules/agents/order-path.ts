import type { Insertable } from 'kysely';
import type { Executor, Tx } from '../../db/database.ts';
import { AppError, invalid, invalidState } from '../../core/errors.ts';
import { newId } from '../../core/ids.ts';
import type { AgentRank, CommissionsTable } from '../../db/schema.ts';
import { territoriesOf } from '../../lib/regions.ts';
import type { JournalInput, Ledger } from '../ledger/service.ts';
import { agentsRepo, type NewMovement, type TerritoryAgent } from './repo.ts';
import { costOf, fifoOrder, priceDifference, returnToLots, takeFifo, territoryAmount, type Lot, type Take } from './stock.ts';
import { zhStatus } from '../../core/error-text.ts';

/** What an order of a batch gets from agent mode, decided before anything is written. */
export interface AgentOrderPlan {
  /** The active agents of the order's district, city and province, with their rank's rate. */
  territory: { agent: TerritoryAgent; bp: number }[];
  /** The agent whose stock serves the order, and the units each item line takes (by item index). */
  fulfilled: { agent: TerritoryAgent; takes: Take[][] } | null;
}

/** An order's body as far as agent mode reads it. */
export interface AgentOrderInput {
  region_code?: string | undefined;
  fulfilled_by?: string | undefined;
  items: { sku: string; quantity: number; paid_fen: number }[];
}

/** A line agent mode adds to an order, shaped as the order batch writes its own lines. */
export type AgentLine = Insertable<CommissionsTable> & {
  id: string;
  beneficiary_id: string;
  amount_fen: number;
  base_fen: number;
  level: number;
  rate_bp: number;
  rate_kind: 'percent' | 'fixed';
  fixed_fen: number;
  units: number;
  rule_version: number;
  held: boolean;
  created_at: Date;
  kind: 'commission';
  status: 'pending';
  statement_id: null;
  clawback_of: null;
};

/** What the lines of one order move in stock, for the batch's one stock statement. */
export interface StockChange {
  movements: NewMovement[];
  deltas: Map<string, number>;
}

/**
 * Agent mode on the order path (called by the order batch and the refund of order events). An
 * order without region_code or fulfilled_by costs nothing here: `prepare` answers null without a
 * round trip. Otherwise, once per batch: the agent program, the territories' active agents and
 * the serving agents' open lots (locked, id order), then each order in the batch's sequence takes
 * its units in memory, so order k sees the units orders 1..k-1 took; an order asking more than
 * the agent holds is refused (insufficient_stock) before anything of it is written.
 */
export function createAgentOrderPath(deps: { ledger: Ledger }) {
  const { ledger } = deps;

  async function prepare(tx: Tx, tenantId: string, orders: AgentOrderInput[]): Promise<(AgentOrderPlan | AppError | null)[] | null> {
    if (!orders.some((o) => o.region_code !== undefined || o.fulfilled_by !== undefined)) return null;
    const program = orders.some((o) => o.region_code !== undefined) ? await agentsRepo.program(tx, tenantId) : undefined;
    const enabled = program?.enabled === true;
    const codes = enabled ? [...new Set(orders.flatMap((o) => (o.region_code ? territoriesOf(o.region_code).map((t) => t.code) : [])))] : [];
    const territoryAgents = await agentsRepo.activeFor(tx, tenantId, codes);
    const byCode = new Map(territoryAgents.map((a) => [a.region_code, a]));
    const servingIds = [...new Set(orders.flatMap((o) => (o.fulfilled_by ? [o.fulfilled_by] : [])))];
    const serving = new Map((await agentsRepo.byIds(tx, tenantId, servingIds)).map((a) => [a.id, a]));
    const skus = [...new Set(orders.flatMap((o) => (o.fulfilled_by ? o.items.map((i) => i.sku) : [])))];
    const lots = new Map<string, Lot[]>();
    for (const l of await agentsRepo.lockOpenLots(tx, tenantId, [...serving.keys()], skus)) {
      const k = `${l.agent_id}|${l.sku}`;
      const list = lots.get(k) ?? [];
      list.push({ id: l.id, sku: l.sku, unit_cost_fen: l.unit_cost_fen, remaining: l.remaining, acquired_at: l.acquired_at });
      lots.set(k, list);
    }
    for (const list of lots.values()) list.sort(fifoOrder);
    const bpOf = (rank: AgentRank) => (program ? (rank === 'province' ? program.province_bp : rank === 'city' ? program.city_bp : program.district_bp) : 0);

    return orders.map((o): AgentOrderPlan | AppError | null => {
      if (o.region_code === undefined && o.fulfilled_by === undefined) return null;
      const territory: AgentOrderPlan['territory'] = [];
      if (enabled && o.region_code) {
        for (const t of territoriesOf(o.region_code)) {
          const agent = byCode.get(t.code);
          const bp = bpOf(t.rank);
          if (agent && agent.rank === t.rank && agent.distributor_active && bp > 0) territory.push({ agent, bp });
        }
      }
      let fulfilled: AgentOrderPlan['fulfilled'] = null;
      if (o.fulfilled_by !== undefined) {
        const agent = serving.get(o.fulfilled_by);
        if (!agent) return invalid({ en: `fulfilled_by: no agent ${o.fulfilled_by}`, zh: `fulfilled_by：没有代理 ${o.fulfilled_by}` });
        if (agent.status !== 'active')
          return invalidState({
            en: `agent ${agent.id} is ${agent.status}: it cannot serve orders`,
            zh: `代理 ${agent.id} 状态为${zhStatus(agent.status)}，不能承接订单`,
          });
        // Taken on copies first: an order that cannot be served whole takes nothing.
        const trial = new Map<string, Lot[]>();
        const takes: Take[][] = [];
        for (const item of o.items) {
          const k = `${agent.id}|${item.sku}`;
          let list = trial.get(k);
          if (!list) trial.set(k, (list = (lots.get(k) ?? []).map((l) => ({ ...l }))));
          const taken = takeFifo(list, item.quantity);
          if (!taken) {
            const held = list.reduce((s, l) => s + l.remaining, 0);
            return new AppError('insufficient_stock', {
              en: `agent ${agent.id} holds ${held} unit(s) of ${item.sku} (asked ${item.quantity})`,
              zh: `代理 ${agent.id} 的 ${item.sku} 库存为 ${held} 件（需要 ${item.quantity} 件）`,
            });
          }
          takes.push(taken);
        }
        for (const [k, list] of trial) lots.set(k, list);
        fulfilled = { agent, takes };
      }
      return { territory, fulfilled };
    });
  }

  /**
   * The lines, the stock journal and the stock movements of one planned order: a territory line
   * per agent and item (floor of the item's paid_fen at the rank's rate, none at 0), and for an
   * order served from stock a price-difference line per item (paid less what its units cost,
   * none when not positive), the units' cost moving from the agent's stock account to the
   * merchant's, and a sale movement per lot.
   */
  function linesOf(
    plan: AgentOrderPlan,
    o: {
      tenantId: string;
      orderId: string;
      externalId: string;
      ruleVersion: number;
      now: Date;
      items: { id: string; sku: string; quantity: number; paid_fen: number }[];
    },
    stock: StockChange,
  ): { lines: AgentLine[]; journals: JournalInput[] } {
    const lines: AgentLine[] = [];
    const base = {
      tenant_id: o.tenantId,
      order_id: o.orderId,
      level: 0,
      kind: 'commission' as const,
      clawback_of: null,
      rule_version: o.ruleVersion,
      capped_fen: 0,
      status: 'pending' as const,
      created_at: o.now,
      held: false,
      statement_id: null,
    };
    for (const t of plan.territory) {
      for (const item of o.items) {
        const amount = territoryAmount(item.paid_fen, t.bp);
        if (amount <= 0) continue;
        lines.push({
          ...base,
          id: newId('cm'),
          order_item_id: item.id,
          beneficiary_id: t.agent.distributor_id,
          rate_source: 'territory',
          rate_kind: 'percent',
          rate_bp: t.bp,
          fixed_fen: 0,
          beneficiary_grade: t.agent.grade_code,
          units: 0,
          base_fen: item.paid_fen,
          original_base_fen: item.paid_fen,
          amount_fen: amount,
          original_amount_fen: amount,
          territory_rank: t.agent.rank,
        });
      }
    }
    const journals: JournalInput[] = [];
    if (plan.fulfilled) {
      const { agent, takes } = plan.fulfilled;
      let cost = 0;
      o.items.forEach((item, k) => {
        const taken = takes[k] ?? [];
        const itemCost = costOf(taken);
        cost += itemCost;
        for (const t of taken) {
          stock.deltas.set(t.lotId, (stock.deltas.get(t.lotId) ?? 0) - t.quantity);
          stock.movements.push({
            tenant_id: o.tenantId,
            agent_id: agent.id,
            sku: item.sku,
            lot_id: t.lotId,
            kind: 'sale',
            quantity: -t.quantity,
            unit_cost_fen: t.unitCostFen,
            ref_type: 'order',
            ref_id: o.orderId,
            order_item_id: item.id,
            reason: null,
            created_at: o.now,
          });
        }
        const diff = priceDifference(item.paid_fen, itemCost);
        if (diff <= 0) return;
        lines.push({
          ...base,
          id: newId('cm'),
          order_item_id: item.id,
          beneficiary_id: agent.distributor_id,
          rate_source: 'price_difference',
          rate_kind: 'fixed',
          rate_bp: 0,
          fixed_fen: 0,
          beneficiary_grade: agent.grade_code,
          units: item.quantity,
          base_fen: item.paid_fen,
          original_base_fen: item.paid_fen,
          amount_fen: diff,
          original_amount_fen: diff,
          territory_rank: null,
        });
      });
      if (cost > 0) {
        journals.push({
          tenantId: o.tenantId,
          kind: 'agent_sale',
          refType: 'order',
          refId: o.orderId,
          memo: o.externalId,
          legs: [
            { owner: agent.distributor_id, purpose: 'agent_stock', amount: -cost },
            { owner: 'tenant', purpose: 'agent_stock_sold', amount: cost },
          ],
        });
      }
    }
    return { lines, journals };
  }

  /** The batch's stock movements and lot changes, one statement (the lots were locked by `prepare`). */
  async function writeStock(ex: Executor, stock: StockChange): Promise<void> {
    if (stock.movements.length === 0) return;
    await agentsRepo.run(
      ex,
      agentsRepo.stockCtes(
        [...stock.deltas].map(([lotId, delta]) => ({ lotId, delta })),
        stock.movements,
      ),
    );
  }

  /**
   * A refund of an order served from stock: the refunded units go back into the lots they came
   * from (the lot taken last first), their cost back into the agent's stock account. Answers what
   * the units each line still sold cost, for the price-difference lines to be recomputed on.
   * Called after the refund has locked the buyer and the order's lines (the lock order of every
   * transaction: buyers, lots, accounts).
   */
  async function refundStock(
    tx: Tx,
    order: { id: string; tenant_id: string; external_id: string; fulfilled_by: string | null },
    refunds: Map<string, { quantity: number }>,
    eventId: string,
    now: Date,
  ): Promise<Map<string, number>> {
    const remainingCost = new Map<string, number>();
    if (!order.fulfilled_by) return remainingCost;
    const sold = await agentsRepo.soldOfItems(tx, [...refunds.keys()]);
    const agent = (await agentsRepo.byIds(tx, order.tenant_id, [order.fulfilled_by]))[0];
    const movements: NewMovement[] = [];
    const deltas = new Map<string, number>();
    let cost = 0;
    const returning = [...refunds].filter(([, r]) => r.quantity > 0);
    if (returning.length > 0) await agentsRepo.lockLots(tx, [...new Set(sold.map((s) => s.lot_id))]);
    for (const [itemId, r] of refunds) {
      const lotsOfItem = sold
        .filter((s) => s.order_item_id === itemId && s.quantity > 0)
        .map((s) => ({ lotId: s.lot_id, quantity: s.quantity, unitCostFen: s.unit_cost_fen, acquiredAt: s.acquired_at, sku: s.sku, agentId: s.agent_id }));
      let itemCost = costOf(lotsOfItem);
      if (r.quantity > 0 && lotsOfItem.length > 0) {
        const back =
          returnToLots(
            lotsOfItem,
            Math.min(
              r.quantity,
              lotsOfItem.reduce((s, l) => s + l.quantity, 0),
            ),
          ) ?? [];
        for (const t of back) {
          const from = lotsOfItem.find((l) => l.lotId === t.lotId);
          if (!from) continue;
          deltas.set(t.lotId, (deltas.get(t.lotId) ?? 0) + t.quantity);
          movements.push({
            tenant_id: order.tenant_id,
            agent_id: from.agentId,
            sku: from.sku,
            lot_id: t.lotId,
            kind: 'refund_return',
            quantity: t.quantity,
            unit_cost_fen: t.unitCostFen,
            ref_type: 'order_event',
            ref_id: eventId,
            order_item_id: itemId,
            reason: null,
            created_at: now,
          });
        }
        const backCost = costOf(back);
        itemCost -= backCost;
        cost += backCost;
      }
      remainingCost.set(itemId, itemCost);
    }
    if (movements.length > 0 && agent) {
      const ctes = agentsRepo.stockCtes(
        [...deltas].map(([lotId, delta]) => ({ lotId, delta })),
        movements,
      );
      if (cost > 0) {
        const plan = await ledger.plan(tx, [
          {
            tenantId: order.tenant_id,
            kind: 'agent_sale_return',
            refType: 'order_event',
            refId: eventId,
            memo: order.external_id,
            legs: [
              { owner: agent.distributor_id, purpose: 'agent_stock', amount: cost },
              { owner: 'tenant', purpose: 'agent_stock_sold', amount: -cost },
            ],
          },
        ]);
        ctes.unshift(...plan.ctes);
      }
      await agentsRepo.run(tx, ctes);
    }
    return remainingCost;
  }

  return { prepare, linesOf, writeStock, refundStock };
}

export type AgentOrderPath = ReturnType<typeof createAgentOrderPath>;
