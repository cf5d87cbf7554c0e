import { sql, type Insertable, type RawBuilder, type Selectable } from 'kysely';
import type { Executor } from '../../db/database.ts';
import type {
  AgentApplicationsTable,
  AgentEventsTable,
  AgentPricesTable,
  AgentProgramsTable,
  AgentPurchaseOrdersTable,
  AgentRank,
  AgentsTable,
  AgentStockLotsTable,
  AgentStockMovementsTable,
  AgentStockReturnsTable,
} from '../../db/schema.ts';
import { columnsOf, selectOf, unnestRows, type UnnestColumn } from '../../db/unnest.ts';

export type AgentRow = Selectable<AgentsTable>;
export type ApplicationRow = Selectable<AgentApplicationsTable>;
export type AgentProgramRow = Selectable<AgentProgramsTable>;
export type PriceRow = Selectable<AgentPricesTable>;
export type PurchaseOrderRow = Selectable<AgentPurchaseOrdersTable>;
export type LotRow = Selectable<AgentStockLotsTable>;
export type MovementRow = Selectable<AgentStockMovementsTable>;
export type NewMovement = Insertable<AgentStockMovementsTable>;
export type NewLot = Insertable<AgentStockLotsTable>;

/** An active agent with what the order path needs of its distributor. */
export interface TerritoryAgent {
  id: string;
  distributor_id: string;
  rank: AgentRank;
  region_code: string;
  status: AgentRow['status'];
  grade_code: string;
  distributor_active: boolean;
}

const MOVEMENT_COLUMNS: UnnestColumn<NewMovement>[] = [
  { name: 'tenant_id', type: 'text', value: (m) => m.tenant_id },
  { name: 'agent_id', type: 'text', value: (m) => m.agent_id },
  { name: 'sku', type: 'text', value: (m) => m.sku },
  { name: 'lot_id', type: 'text', value: (m) => m.lot_id },
  { name: 'kind', type: 'text', value: (m) => m.kind },
  { name: 'quantity', type: 'integer', value: (m) => m.quantity },
  { name: 'unit_cost_fen', type: 'bigint', value: (m) => m.unit_cost_fen },
  { name: 'ref_type', type: 'text', value: (m) => m.ref_type },
  { name: 'ref_id', type: 'text', value: (m) => m.ref_id },
  { name: 'order_item_id', type: 'text', value: (m) => m.order_item_id ?? null },
  { name: 'reason', type: 'text', value: (m) => m.reason ?? null },
  { name: 'created_at', type: 'timestamptz', value: (m) => m.created_at },
];

/** The tables of agent mode: written only here. */
export const agentsRepo = {
  program(ex: Executor, tenantId: string) {
    return ex.selectFrom('agent_programs').selectAll().where('tenant_id', '=', tenantId).executeTakeFirst();
  },

  /** The program row, locked (made with the defaults when missing). */
  async lockProgram(ex: Executor, tenantId: string): Promise<AgentProgramRow> {
    await ex
      .insertInto('agent_programs')
      .values({ tenant_id: tenantId })
      .onConflict((oc) => oc.column('tenant_id').doNothing())
      .execute();
    return ex.selectFrom('agent_programs').selectAll().where('tenant_id', '=', tenantId).forUpdate().executeTakeFirstOrThrow();
  },

  async saveProgram(ex: Executor, row: AgentProgramRow): Promise<void> {
    await ex
      .updateTable('agent_programs')
      .set({
        enabled: row.enabled,
        province_bp: row.province_bp,
        city_bp: row.city_bp,
        district_bp: row.district_bp,
        buyback_days: row.buyback_days,
        updated_at: row.updated_at,
      })
      .where('tenant_id', '=', row.tenant_id)
      .execute();
  },

  async insertAgent(ex: Executor, row: Insertable<AgentsTable>): Promise<AgentRow> {
    return ex.insertInto('agents').values(row).returningAll().executeTakeFirstOrThrow();
  },

  find(ex: Executor, tenantId: string, id: string) {
    return ex.selectFrom('agents').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
  },

  findForUpdate(ex: Executor, tenantId: string, id: string) {
    return ex.selectFrom('agents').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).forUpdate().executeTakeFirst();
  },

  list(ex: Executor, tenantId: string, q: { status?: string | undefined; distributorId?: string | undefined; beforeId?: string | undefined; limit: number }) {
    let query = ex
      .selectFrom('agents as a')
      .innerJoin('distributors as d', 'd.id', 'a.distributor_id')
      .selectAll('a')
      .select('d.name as distributor_name')
      .where('a.tenant_id', '=', tenantId);
    if (q.status) query = query.where('a.status', '=', q.status as AgentRow['status']);
    if (q.distributorId) query = query.where('a.distributor_id', '=', q.distributorId);
    if (q.beforeId) query = query.where('a.id', '<', q.beforeId);
    return query.orderBy('a.id', 'desc').limit(q.limit).execute();
  },

  /** Compare-and-set of an agent's status: false when it was not in `from`. */
  async setStatus(
    ex: Executor,
    tenantId: string,
    id: string,
    from: AgentRow['status'],
    to: AgentRow['status'],
    reason: string | null,
    now: Date,
  ): Promise<boolean> {
    const r = await ex
      .updateTable('agents')
      .set({ status: to, status_reason: reason, updated_at: now })
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .where('status', '=', from)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  },

  async insertEvent(ex: Executor, row: Insertable<AgentEventsTable>): Promise<void> {
    await ex.insertInto('agent_events').values(row).execute();
  },

  events(ex: Executor, tenantId: string, agentId: string) {
    return ex.selectFrom('agent_events').selectAll().where('tenant_id', '=', tenantId).where('agent_id', '=', agentId).orderBy('at').orderBy('id').execute();
  },

  /** The active agents of these territories, with their distributors' grade and status (the order path). */
  activeFor(ex: Executor, tenantId: string, codes: string[]): Promise<TerritoryAgent[]> {
    if (codes.length === 0) return Promise.resolve([]);
    return ex
      .selectFrom('agents as a')
      .innerJoin('distributors as d', 'd.id', 'a.distributor_id')
      .select(['a.id', 'a.distributor_id', 'a.rank', 'a.region_code', 'a.status', 'd.grade_code'])
      .select(sql<boolean>`d.status = 'active'`.as('distributor_active'))
      .where('a.tenant_id', '=', tenantId)
      .where('a.status', '=', 'active')
      .where('a.region_code', 'in', codes)
      .execute();
  },

  /** Agents by id, whatever their status (the order path's fulfilled_by). */
  byIds(ex: Executor, tenantId: string, ids: string[]): Promise<TerritoryAgent[]> {
    if (ids.length === 0) return Promise.resolve([]);
    return ex
      .selectFrom('agents as a')
      .innerJoin('distributors as d', 'd.id', 'a.distributor_id')
      .select(['a.id', 'a.distributor_id', 'a.rank', 'a.region_code', 'a.status', 'd.grade_code'])
      .select(sql<boolean>`d.status = 'active'`.as('distributor_active'))
      .where('a.tenant_id', '=', tenantId)
      .where('a.id', 'in', ids)
      .execute();
  },

  async upsertPrice(ex: Executor, row: Insertable<AgentPricesTable>): Promise<PriceRow> {
    return ex
      .insertInto('agent_prices')
      .values(row)
      .onConflict((oc) =>
        oc.columns(['tenant_id', 'sku']).doUpdateSet({
          retail_fen: row.retail_fen,
          province_fen: row.province_fen,
          city_fen: row.city_fen,
          district_fen: row.district_fen,
          updated_at: row.updated_at,
        }),
      )
      .returningAll()
      .executeTakeFirstOrThrow();
  },

  prices(ex: Executor, tenantId: string, skus?: string[]) {
    let q = ex.selectFrom('agent_prices').selectAll().where('tenant_id', '=', tenantId);
    if (skus) {
      if (skus.length === 0) return Promise.resolve([]);
      q = q.where('sku', 'in', skus);
    }
    return q.orderBy('sku').limit(1000).execute();
  },

  async insertPurchaseOrder(ex: Executor, row: Insertable<AgentPurchaseOrdersTable>): Promise<PurchaseOrderRow> {
    return ex.insertInto('agent_purchase_orders').values(row).returningAll().executeTakeFirstOrThrow();
  },

  findPurchaseOrder(ex: Executor, tenantId: string, id: string, forUpdate = false) {
    const q = ex.selectFrom('agent_purchase_orders').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id);
    return (forUpdate ? q.forUpdate() : q).executeTakeFirst();
  },

  async markPaid(ex: Executor, id: string, reference: string, now: Date): Promise<PurchaseOrderRow | undefined> {
    return ex
      .updateTable('agent_purchase_orders')
      .set({ status: 'paid', reference, paid_at: now })
      .where('id', '=', id)
      .where('status', '=', 'pending_payment')
      .returningAll()
      .executeTakeFirst();
  },

  listPurchaseOrders(
    ex: Executor,
    tenantId: string,
    q: { agentId?: string | undefined; status?: string | undefined; beforeId?: string | undefined; limit: number },
  ) {
    let query = ex.selectFrom('agent_purchase_orders').selectAll().where('tenant_id', '=', tenantId);
    if (q.agentId) query = query.where('agent_id', '=', q.agentId);
    if (q.status) query = query.where('status', '=', q.status as PurchaseOrderRow['status']);
    if (q.beforeId) query = query.where('id', '<', q.beforeId);
    return query.orderBy('id', 'desc').limit(q.limit).execute();
  },

  async insertLots(ex: Executor, rows: NewLot[]): Promise<void> {
    if (rows.length > 0) await ex.insertInto('agent_stock_lots').values(rows).execute();
  },

  /**
   * The lots of these agents still holding units, locked (id order), oldest first per SKU. Every
   * change of stock takes these locks first, so two sales racing for the last units queue here.
   */
  async lockOpenLots(ex: Executor, tenantId: string, agentIds: string[], skus?: string[]): Promise<LotRow[]> {
    if (agentIds.length === 0) return [];
    const locked = await sql<{ id: string }>`select id from agent_stock_lots
       where tenant_id = ${tenantId} and agent_id = any(${agentIds}::text[]) and remaining > 0
         ${skus ? sql`and sku = any(${skus}::text[])` : sql``}
       order by id for update`.execute(ex);
    if (locked.rows.length === 0) return [];
    return ex
      .selectFrom('agent_stock_lots')
      .selectAll()
      .where(
        'id',
        'in',
        locked.rows.map((r) => r.id),
      )
      .orderBy('acquired_at')
      .orderBy('id')
      .execute();
  },

  /** These lots, locked in id order. */
  async lockLots(ex: Executor, ids: string[]): Promise<LotRow[]> {
    if (ids.length === 0) return [];
    const r = await sql<LotRow>`select * from agent_stock_lots where id = any(${ids}::text[]) order by id for update`.execute(ex);
    return r.rows;
  },

  /**
   * Moves stock in one statement: each lot's remaining by its delta, and the movements that say
   * why. The lots must be locked by the caller (lockOpenLots, lockLots).
   */
  stockCtes(deltas: { lotId: string; delta: number }[], movements: NewMovement[]): RawBuilder<unknown>[] {
    return [
      sql`stock_lots as (update agent_stock_lots l set remaining = l.remaining + v.delta
            from unnest(${deltas.map((d) => d.lotId)}::text[], ${deltas.map((d) => d.delta)}::integer[]) as v(id, delta)
           where l.id = v.id returning 1)`,
      sql`stock_moves as (insert into agent_stock_movements (${columnsOf(MOVEMENT_COLUMNS)})
            select ${selectOf(MOVEMENT_COLUMNS, 'v')} from ${unnestRows(MOVEMENT_COLUMNS, movements, 'v')} order by v.n returning 1)`,
    ];
  },

  /** Runs stock CTEs (and others, such as a journal's) as one statement. */
  async run(ex: Executor, ctes: RawBuilder<unknown>[]): Promise<void> {
    await sql`with ${sql.join(ctes)} select (select count(*) from stock_moves) as n`.execute(ex);
  },

  /** An agent's stock per SKU: units held, what they cost, the oldest unit's purchase time. */
  inventory(ex: Executor, tenantId: string, agentId: string) {
    return ex
      .selectFrom('agent_stock_lots')
      .select(['sku'])
      .select(sql<number>`coalesce(sum(remaining), 0)::bigint`.as('quantity'))
      .select(sql<number>`coalesce(sum(remaining * unit_cost_fen), 0)::bigint`.as('value_fen'))
      .select(sql<Date | null>`min(acquired_at) filter (where remaining > 0)`.as('oldest_acquired_at'))
      .where('tenant_id', '=', tenantId)
      .where('agent_id', '=', agentId)
      .groupBy('sku')
      .orderBy('sku')
      .execute();
  },

  movements(ex: Executor, tenantId: string, agentId: string, q: { beforeId?: number | undefined; limit: number }) {
    let query = ex.selectFrom('agent_stock_movements').selectAll().where('tenant_id', '=', tenantId).where('agent_id', '=', agentId);
    if (q.beforeId !== undefined) query = query.where('id', '<', q.beforeId);
    return query.orderBy('id', 'desc').limit(q.limit).execute();
  },

  /** What the sales of these order lines still hold per lot (sold less returned), with each lot's cost and age. */
  soldOfItems(ex: Executor, itemIds: string[]) {
    if (itemIds.length === 0) return Promise.resolve([]);
    return ex
      .selectFrom('agent_stock_movements as m')
      .innerJoin('agent_stock_lots as l', 'l.id', 'm.lot_id')
      .select(['m.order_item_id', 'm.lot_id', 'l.unit_cost_fen', 'l.acquired_at', 'm.agent_id', 'm.sku'])
      .select(sql<number>`(-sum(m.quantity))::bigint`.as('quantity'))
      .where('m.order_item_id', 'in', itemIds)
      .groupBy(['m.order_item_id', 'm.lot_id', 'l.unit_cost_fen', 'l.acquired_at', 'm.agent_id', 'm.sku'])
      .execute();
  },

  async insertStockReturn(ex: Executor, row: Insertable<AgentStockReturnsTable>): Promise<void> {
    await ex.insertInto('agent_stock_returns').values(row).execute();
  },

  stockReturns(ex: Executor, tenantId: string, agentId: string) {
    return ex
      .selectFrom('agent_stock_returns')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('agent_id', '=', agentId)
      .orderBy('created_at', 'desc')
      .limit(200)
      .execute();
  },

  /**
   * Per agent (newest first): the orders shipped into its territory and paid in [from, to) while it
   * held it, their territory lines to it (with the clawbacks of those lines) in all and per status,
   * the price-difference lines of orders served from its stock, and its stock now: units, cost, and
   * what was bought before `slowBefore` and is still held. A territory is a prefix of the order's
   * region code: the province's 2 digits, the city's 4, the district's 6. `agentId` narrows it to
   * one agent (the portal's and the console's view of one territory).
   */
  async territoryReport(ex: Executor, tenantId: string, q: { from: Date; to: Date; slowBefore: Date; agentId?: string | undefined }) {
    const f = territoryFilters(tenantId, q);
    const r = await sql<{
      agent_id: string;
      distributor_id: string;
      distributor_name: string;
      rank: AgentRank;
      region_code: string;
      status: AgentRow['status'];
      orders: string;
      sales_fen: string;
      refunded_fen: string;
      territory_commission_fen: string;
      territory_pending_fen: string;
      territory_available_fen: string;
      territory_settled_fen: string;
      price_difference_fen: string;
      stock_units: string;
      stock_value_fen: string;
      slow_units: string;
      slow_value_fen: string;
    }>`
      with ${f.agents}
      select ag.id as agent_id, ag.distributor_id, ag.distributor_name, ag.rank, ag.region_code, ag.status,
             s.orders, s.sales_fen, s.refunded_fen, tc.amount as territory_commission_fen,
             tc.pending as territory_pending_fen, tc.available as territory_available_fen, tc.settled as territory_settled_fen,
             pd.amount as price_difference_fen,
             k.units as stock_units, k.value as stock_value_fen, k.slow_units, k.slow_value as slow_value_fen
        from ag
        cross join lateral (
          select count(*) as orders, coalesce(sum(o.paid_fen), 0) as sales_fen, coalesce(sum(o.refunded_fen), 0) as refunded_fen
            from orders o where ${f.ordersShipped}) s
        cross join lateral (
          select coalesce(sum(c.amount_fen), 0) as amount,
                 coalesce(sum(c.amount_fen) filter (where c.status = 'pending'), 0) as pending,
                 coalesce(sum(c.amount_fen) filter (where c.status = 'available'), 0) as available,
                 coalesce(sum(c.amount_fen) filter (where c.status = 'settled'), 0) as settled
            from commissions c
            join orders o on o.id = c.order_id
            left join commissions orig on orig.id = c.clawback_of
           where ${f.territoryLines}) tc
        cross join lateral (
          select coalesce(sum(c.amount_fen), 0) as amount
            from commissions c
            join orders o on o.id = c.order_id
            left join commissions orig on orig.id = c.clawback_of
           where ${f.priceDifferenceLines}) pd
        cross join lateral (
          select coalesce(sum(l.remaining), 0) as units, coalesce(sum(l.remaining * l.unit_cost_fen), 0) as value,
                 coalesce(sum(l.remaining) filter (where l.acquired_at <= ${q.slowBefore}), 0) as slow_units,
                 coalesce(sum(l.remaining * l.unit_cost_fen) filter (where l.acquired_at <= ${q.slowBefore}), 0) as slow_value
            from agent_stock_lots l where l.agent_id = ag.id and l.remaining > 0) k
       order by ag.id desc`.execute(ex);
    return r.rows;
  },

  /**
   * One agent's territory report by local day of payment in `timeZone`: the same orders and lines
   * as `territoryReport` (the same filters), so the days sum to its figures. Days without any are
   * left out.
   */
  async territoryDays(ex: Executor, tenantId: string, q: { from: Date; to: Date; agentId: string; timeZone: string }) {
    const f = territoryFilters(tenantId, q);
    const day = sql`to_char(o.paid_at at time zone ${q.timeZone}, 'YYYY-MM-DD')`;
    const r = await sql<{
      day: string;
      orders: string;
      sales_fen: string;
      refunded_fen: string;
      territory_commission_fen: string;
      price_difference_fen: string;
    }>`
      with ${f.agents}
      select day, sum(orders) as orders, sum(sales_fen) as sales_fen, sum(refunded_fen) as refunded_fen,
             sum(territory_commission_fen) as territory_commission_fen, sum(price_difference_fen) as price_difference_fen
        from (
          select ${day} as day, 1 as orders, o.paid_fen as sales_fen, o.refunded_fen, 0 as territory_commission_fen, 0 as price_difference_fen
            from ag join orders o on ${f.ordersShipped}
          union all
          select ${day}, 0, 0, 0, c.amount_fen, 0
            from ag join commissions c on c.beneficiary_id = ag.distributor_id
            join orders o on o.id = c.order_id
            left join commissions orig on orig.id = c.clawback_of
           where ${f.territoryLines}
          union all
          select ${day}, 0, 0, 0, 0, c.amount_fen
            from ag join commissions c on c.beneficiary_id = ag.distributor_id
            join orders o on o.id = c.order_id
            left join commissions orig on orig.id = c.clawback_of
           where ${f.priceDifferenceLines}
        ) x
       group by day
       order by day`.execute(ex);
    return r.rows;
  },

  distributor(ex: Executor, tenantId: string, id: string) {
    return ex.selectFrom('distributors').select(['id', 'status', 'name']).where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
  },

  async insertApplication(ex: Executor, row: Insertable<AgentApplicationsTable>): Promise<ApplicationRow> {
    return ex.insertInto('agent_applications').values(row).returningAll().executeTakeFirstOrThrow();
  },

  findApplication(ex: Executor, tenantId: string, id: string) {
    return ex.selectFrom('agent_applications').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
  },

  findApplicationForUpdate(ex: Executor, tenantId: string, id: string) {
    return ex.selectFrom('agent_applications').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).forUpdate().executeTakeFirst();
  },

  /** Open applications first, then newest first; `after` is the last row of the previous page. */
  listApplications(
    ex: Executor,
    tenantId: string,
    q: { status?: string | undefined; distributorId?: string | undefined; after?: { open: boolean; id: string } | undefined; limit: number },
  ) {
    let query = ex.selectFrom('agent_applications').selectAll().where('tenant_id', '=', tenantId);
    if (q.status) query = query.where('status', '=', q.status as ApplicationRow['status']);
    if (q.distributorId) query = query.where('distributor_id', '=', q.distributorId);
    const after = q.after;
    if (after)
      query = after.open
        ? query.where((eb) => eb.or([eb('status', '<>', 'pending'), eb.and([eb('status', '=', 'pending'), eb('id', '<', after.id)])]))
        : query.where('status', '<>', 'pending').where('id', '<', after.id);
    return query
      .orderBy(sql`(status = 'pending')`, 'desc')
      .orderBy('id', 'desc')
      .limit(q.limit)
      .execute();
  },

  /** The review of a pending application, compare-and-set: false when it was no longer pending. */
  async decideApplication(
    ex: Executor,
    tenantId: string,
    id: string,
    to: { status: 'approved' | 'rejected'; reason: string | null; agent_id: string | null; reviewed_by: string | null; at: Date },
  ): Promise<boolean> {
    const r = await ex
      .updateTable('agent_applications')
      .set({ status: to.status, reason: to.reason, agent_id: to.agent_id, reviewed_by: to.reviewed_by, reviewed_at: to.at, updated_at: to.at })
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .where('status', '=', 'pending')
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  },

  /** The distributor's agents that hold a territory (active or suspended). */
  heldBy(ex: Executor, tenantId: string, distributorId: string) {
    return ex
      .selectFrom('agents')
      .select(['id', 'region_code', 'status'])
      .where('tenant_id', '=', tenantId)
      .where('distributor_id', '=', distributorId)
      .where('status', 'in', ['active', 'suspended'])
      .execute();
  },

  activeIn(ex: Executor, tenantId: string, regionCode: string) {
    return ex
      .selectFrom('agents')
      .select(['id'])
      .where('tenant_id', '=', tenantId)
      .where('region_code', '=', regionCode)
      .where('status', '=', 'active')
      .executeTakeFirst();
  },
};

/**
 * The territory report's filters, written once for the report and its days: `ag` is each agent
 * (or the one asked for) with its territory's prefix and the part of [from, to) it held the
 * territory; the others match, against `ag`, an order `o` shipped there and paid then, a
 * territory line `c` (or its clawback, `orig` the line it claws back) of such an order to the
 * agent at its rank, and a price-difference line of an order served from its stock.
 */
function territoryFilters(tenantId: string, q: { from: Date; to: Date; agentId?: string | undefined }) {
  return {
    agents: sql`ag as (
        select a.*, d.name as distributor_name,
               (case a.rank when 'province' then left(a.region_code, 2) when 'city' then left(a.region_code, 4) else a.region_code end) || '%' as prefix,
               greatest(${q.from}::timestamptz, a.created_at) as since,
               case when a.status = 'ended' then least(${q.to}::timestamptz, a.updated_at) else ${q.to}::timestamptz end as until
          from agents a join distributors d on d.id = a.distributor_id
         where a.tenant_id = ${tenantId}${q.agentId !== undefined ? sql` and a.id = ${q.agentId}` : sql``}
         order by a.id desc
         limit 500
      )`,
    ordersShipped: sql`o.tenant_id = ${tenantId} and o.status <> 'cancelled' and o.region_code like ag.prefix
             and o.paid_at >= ag.since and o.paid_at < ag.until`,
    territoryLines: sql`c.tenant_id = ${tenantId} and c.beneficiary_id = ag.distributor_id
             and coalesce(orig.rate_source, c.rate_source) = 'territory' and coalesce(orig.territory_rank, c.territory_rank) = ag.rank
             and o.region_code like ag.prefix and o.paid_at >= ag.since and o.paid_at < ag.until`,
    priceDifferenceLines: sql`c.tenant_id = ${tenantId} and c.beneficiary_id = ag.distributor_id and o.fulfilled_by = ag.id
             and coalesce(orig.rate_source, c.rate_source) = 'price_difference'
             and o.paid_at >= ${q.from} and o.paid_at < ${q.to}`,
  };
}
