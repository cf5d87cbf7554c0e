import { actor, idempotencyKeyOf, IdempotencyHeaders, moduleRoutes } from '../../core/route.ts';
import { IdParams, List, PageQuery, errors } from '../../core/schema.ts';
import type { AgentsService } from './service.ts';
import {
  AgentEventView,
  AgentListQuery,
  AgentProgram,
  AgentProgramPatch,
  AgentView,
  AppointBody,
  InventoryView,
  MovementView,
  PayBody,
  PriceBody,
  PriceView,
  PurchaseOrderBody,
  PurchaseOrderListQuery,
  PurchaseOrderView,
  ReasonBody,
  SkuParams,
  StockCorrectionBody,
  StockCorrectionView,
  StockReturnBody,
  StockReturnView,
  TerritoryReport,
  TerritoryReportQuery,
  TerritorySales,
  TerritorySalesQuery,
  TransferBody,
} from './schema.ts';

export const agentsRoutes = moduleRoutes<AgentsService>((app, agents) => {
  const tags = ['agents'];

  app.get(
    '/v1/agent-program',
    {
      config: { auth: 'tenant_or_distributor', permission: 'read' },
      schema: { tags, summary: 'The agent program: enabled, territory rates per rank, buyback days', response: { 200: AgentProgram, ...errors() } },
    },
    async (req) => agents.getProgram(actor(req)),
  );

  app.put(
    '/v1/agent-program',
    {
      config: { auth: 'tenant', permission: 'program:write' },
      schema: {
        tags,
        summary: 'Partial update of the agent program; buyback_days below 30 is a compliance_violation (422)',
        body: AgentProgramPatch,
        response: { 200: AgentProgram, ...errors(403, 422) },
      },
    },
    async (req) => agents.updateProgram(actor(req), req.body),
  );

  app.post(
    '/v1/agents',
    {
      config: { auth: 'tenant', permission: 'distributors:write' },
      schema: {
        tags,
        summary: 'Appoint a distributor agent of a territory (GB/T 2260 code of the rank); one active agent per territory (409)',
        body: AppointBody,
        response: { 201: AgentView, ...errors(403, 409) },
      },
    },
    async (req, reply) => reply.code(201).send(await agents.appoint(actor(req), req.body)),
  );

  app.get(
    '/v1/agents',
    {
      config: { auth: 'tenant_or_distributor', permission: 'read' },
      schema: {
        tags,
        summary: 'Agents, newest first (a distributor sees its own)',
        querystring: AgentListQuery,
        response: { 200: List(AgentView), ...errors() },
      },
    },
    async (req) => agents.list(actor(req), { ...req.query, limit: req.query.limit ?? 50 }),
  );

  app.get(
    '/v1/agent-territories',
    {
      config: { auth: 'tenant', permission: 'read' },
      schema: {
        tags,
        summary:
          'Per agent’s territory and per rank: orders shipped there and their territory commission over a period, price differences earned, stock on hand with its cost and its slow-moving part',
        querystring: TerritoryReportQuery,
        response: { 200: TerritoryReport, ...errors(403) },
      },
    },
    async (req) => agents.territoryReport(actor(req), req.query),
  );

  app.get(
    '/v1/agents/:id',
    {
      config: { auth: 'tenant_or_distributor', permission: 'read' },
      schema: { tags, summary: 'An agent with its territory’s name', params: IdParams, response: { 200: AgentView, ...errors(404) } },
    },
    async (req) => agents.get(actor(req), req.params.id),
  );

  for (const [path, to, summary] of [
    ['suspend', 'suspended', 'Suspend an agent (its territory earns nothing while suspended), with a reason'],
    ['reinstate', 'active', 'Reinstate a suspended agent, with a reason'],
    ['end', 'ended', 'End an agent’s appointment, with a reason (history kept)'],
  ] as const) {
    app.post(
      `/v1/agents/:id/${path}`,
      {
        config: { auth: 'tenant', permission: 'distributors:write' },
        schema: { tags, summary, params: IdParams, body: ReasonBody, response: { 200: AgentView, ...errors(403, 404, 409) } },
      },
      async (req) => agents.setStatus(actor(req), req.params.id, to, req.body.reason),
    );
  }

  app.post(
    '/v1/agents/:id/transfer',
    {
      config: { auth: 'tenant', permission: 'distributors:write' },
      schema: {
        tags,
        summary: 'Transfer the territory to another distributor: this agent ends, a new one is appointed (answered), with a reason',
        params: IdParams,
        body: TransferBody,
        response: { 200: AgentView, ...errors(403, 404, 409) },
      },
    },
    async (req) => agents.transfer(actor(req), req.params.id, req.body.distributor_id, req.body.reason),
  );

  app.get(
    '/v1/agents/:id/events',
    {
      config: { auth: 'tenant_or_distributor', permission: 'read' },
      schema: {
        tags,
        summary: 'An agent’s history: appointment, suspensions, transfer, with reasons',
        params: IdParams,
        response: { 200: List(AgentEventView), ...errors(404) },
      },
    },
    async (req) => agents.history(actor(req), req.params.id),
  );

  app.put(
    '/v1/agent-prices/:sku',
    {
      config: { auth: 'tenant', permission: 'program:write' },
      schema: {
        tags,
        summary: 'A SKU’s price list: retail and per rank (province ≤ city ≤ district ≤ retail, else 400)',
        params: SkuParams,
        body: PriceBody,
        response: { 200: PriceView, ...errors(403) },
      },
    },
    async (req) => agents.setPrice(actor(req), req.params.sku, req.body),
  );

  app.get(
    '/v1/agent-prices',
    {
      config: { auth: 'tenant_or_distributor', permission: 'read' },
      schema: { tags, summary: 'The price lists', response: { 200: List(PriceView), ...errors() } },
    },
    async (req) => agents.prices(actor(req)),
  );

  app.post(
    '/v1/purchase-orders',
    {
      config: { auth: 'tenant_or_distributor', permission: 'finance:write' },
      schema: {
        tags,
        summary: 'A purchase order of stock at the agent’s rank price (Idempotency-Key honoured)',
        headers: IdempotencyHeaders,
        body: PurchaseOrderBody,
        response: { 201: PurchaseOrderView, 200: PurchaseOrderView, ...errors(403, 409) },
      },
    },
    async (req, reply) => {
      const key = idempotencyKeyOf(req);
      const { order } = await agents.createPurchaseOrder(actor(req), req.body, key);
      // A replay answers as the first answer did.
      return reply.code(201).send(order);
    },
  );

  app.get(
    '/v1/purchase-orders',
    {
      config: { auth: 'tenant_or_distributor', permission: 'read' },
      schema: { tags, summary: 'Purchase orders, newest first', querystring: PurchaseOrderListQuery, response: { 200: List(PurchaseOrderView), ...errors() } },
    },
    async (req) => agents.listPurchaseOrders(actor(req), { ...req.query, limit: req.query.limit ?? 50 }),
  );

  app.get(
    '/v1/purchase-orders/:id',
    {
      config: { auth: 'tenant_or_distributor', permission: 'read' },
      schema: { tags, summary: 'A purchase order', params: IdParams, response: { 200: PurchaseOrderView, ...errors(404) } },
    },
    async (req) => agents.getPurchaseOrder(actor(req), req.params.id),
  );

  app.post(
    '/v1/purchase-orders/:id/pay',
    {
      config: { auth: 'tenant', permission: 'finance:write' },
      schema: {
        tags,
        summary: 'Record the payment (a reference): status paid, the units join the agent’s stock',
        params: IdParams,
        body: PayBody,
        response: { 200: PurchaseOrderView, ...errors(403, 404, 409) },
      },
    },
    async (req) => agents.payPurchaseOrder(actor(req), req.params.id, req.body.reference),
  );

  app.get(
    '/v1/agents/:id/inventory',
    {
      config: { auth: 'tenant_or_distributor', permission: 'read' },
      schema: {
        tags,
        summary: 'Units held per SKU, what they cost, the oldest unit’s purchase time',
        params: IdParams,
        response: { 200: InventoryView, ...errors(404) },
      },
    },
    async (req) => agents.inventory(actor(req), req.params.id),
  );

  app.get(
    '/v1/agents/:id/territory-sales',
    {
      config: { auth: 'tenant_or_distributor', permission: 'read' },
      schema: {
        tags,
        summary:
          'One agent’s territory over a range of days (a distributor: its own agents only): orders shipped there, territory commission by status, price differences, a series by day or month, stock on hand and its slow-moving part',
        params: IdParams,
        querystring: TerritorySalesQuery,
        response: { 200: TerritorySales, ...errors(404) },
      },
    },
    async (req) => agents.territorySales(actor(req), req.params.id, req.query),
  );

  app.get(
    '/v1/agents/:id/stock-movements',
    {
      config: { auth: 'tenant_or_distributor', permission: 'read' },
      schema: {
        tags,
        summary: 'The agent’s stock movements (purchase, sale, refund_return, buyback, correction with its reason), newest first',
        params: IdParams,
        querystring: PageQuery,
        response: { 200: List(MovementView), ...errors(404) },
      },
    },
    async (req) => agents.movements(actor(req), req.params.id, { cursor: req.query.cursor, limit: req.query.limit ?? 50 }),
  );

  app.post(
    '/v1/agents/:id/stock-returns',
    {
      config: { auth: 'tenant_or_distributor', permission: 'finance:write' },
      schema: {
        tags,
        summary: 'Buyback of unsold stock bought within buyback_days, at what the agent paid (422 insufficient_stock beyond it)',
        params: IdParams,
        body: StockReturnBody,
        response: { 201: StockReturnView, ...errors(403, 404, 422) },
      },
    },
    async (req, reply) => reply.code(201).send(await agents.stockReturn(actor(req), req.params.id, req.body.items)),
  );

  app.post(
    '/v1/agents/:id/stock-corrections',
    {
      config: { auth: 'tenant', permission: 'finance:write' },
      schema: {
        tags,
        summary:
          'A stocktake’s corrections with a reason (Idempotency-Key honoured): units found (+) join the stock at no cost, units missing (−) leave it oldest first and their cost is written off (422 insufficient_stock beyond what is held)',
        headers: IdempotencyHeaders,
        params: IdParams,
        body: StockCorrectionBody,
        response: { 201: StockCorrectionView, ...errors(403, 404, 409, 422) },
      },
    },
    async (req, reply) => {
      const key = idempotencyKeyOf(req);
      return reply.code(201).send(await agents.stockCorrection(actor(req), req.params.id, req.body, key));
    },
  );

  app.get(
    '/v1/agents/:id/stock-returns',
    {
      config: { auth: 'tenant_or_distributor', permission: 'read' },
      schema: { tags, summary: 'The agent’s buybacks, newest first', params: IdParams, response: { 200: List(StockReturnView), ...errors(404) } },
    },
    async (req) => agents.stockReturns(actor(req), req.params.id),
  );
});
