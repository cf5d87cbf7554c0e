import { actor, moduleRoutes } from '../../core/route.ts';
import { errors } from '../../core/schema.ts';
import type { AnalyticsService } from './service.ts';
import { Breakdown, BreakdownQuery, Earnings, EarningsQuery, Funnel, FunnelQuery, Kpis, RangeQuery, Series, SeriesQuery, Top, TopQuery } from './schema.ts';

export const analyticsRoutes = moduleRoutes<AnalyticsService>((app, analytics) => {
  const tags = ['analytics'];

  app.get(
    '/v1/analytics/kpis',
    {
      config: { auth: 'tenant', permission: 'read' },
      schema: {
        tags,
        summary:
          "Dashboard totals for a range of local days: sales, orders, commissions, distributors (total, new, active), withdrawn, and the ledger's balances now",
        querystring: RangeQuery,
        response: { 200: Kpis, ...errors(403) },
      },
    },
    async (req) => analytics.kpis(actor(req), req.query),
  );

  app.get(
    '/v1/analytics/timeseries',
    {
      config: { auth: 'tenant', permission: 'read' },
      schema: {
        tags,
        summary: 'One metric by day, ISO week or month over a range; the points sum to the KPI of the same name',
        querystring: SeriesQuery,
        response: { 200: Series, ...errors(403) },
      },
    },
    async (req) => analytics.timeseries(actor(req), req.query),
  );

  app.get(
    '/v1/analytics/breakdown',
    {
      config: { auth: 'tenant', permission: 'read' },
      schema: {
        tags,
        summary: "Sales, orders, commission and new distributors by the seller's grade, or region (province or city); the items sum to the totals",
        querystring: BreakdownQuery,
        response: { 200: Breakdown, ...errors(403) },
      },
    },
    async (req) => analytics.breakdown(actor(req), req.query),
  );

  app.get(
    '/v1/analytics/top',
    {
      config: { auth: 'tenant', permission: 'read' },
      schema: {
        tags,
        summary: 'The top distributors (at most 100) by own sales or by commission earned over a range',
        querystring: TopQuery,
        response: { 200: Top, ...errors(403) },
      },
    },
    async (req) => analytics.top(actor(req), req.query),
  );

  app.get(
    '/v1/analytics/funnel',
    {
      config: { auth: 'tenant', permission: 'read' },
      schema: {
        tags,
        summary: "A distributor's conversion funnel: invite-link visits → bindings → orders, with rates in basis points",
        querystring: FunnelQuery,
        response: { 200: Funnel, ...errors(403, 404) },
      },
    },
    async (req) => analytics.funnel(actor(req), req.query),
  );

  const me = ['portal: me'];

  app.get(
    '/v1/me/funnel',
    {
      config: { auth: 'distributor' },
      schema: {
        tags: me,
        summary: 'My conversion funnel: visits of my invite link → bindings → orders',
        querystring: RangeQuery,
        response: { 200: Funnel, ...errors() },
      },
    },
    async (req) => analytics.myFunnel(actor(req), req.query),
  );

  app.get(
    '/v1/me/earnings',
    {
      config: { auth: 'distributor' },
      schema: {
        tags: me,
        summary: 'My sales and earnings over a range by day, week or month, and my balances now',
        querystring: EarningsQuery,
        response: { 200: Earnings, ...errors() },
      },
    },
    async (req) => analytics.myEarnings(actor(req), req.query),
  );
});
