import { Type } from '@sinclair/typebox';
import { actor, moduleRoutes } from '../../core/route.ts';
import { IdParams, OptionalBody, Strict, Text, Timestamp, errors } from '../../core/schema.ts';
import type { RulesService } from './service.ts';
import { Rates, SimulateBody, Simulation } from './schema.ts';
import { ChangeTimingQuery, RuleChange } from '../program/schema.ts';
import { timingOf } from '../program/timing.ts';

const SkuParams = Strict({ sku: Type.String({ minLength: 1, maxLength: 128, pattern: '^[^\\u0000-\\u001f\\u007f/]+$' }) });

export const rulesRoutes = moduleRoutes<RulesService>((app, rules) => {
  const tags = ['program'];

  app.get(
    '/v1/sku-rules',
    {
      config: { auth: 'tenant', permission: 'read' },
      schema: {
        tags,
        summary: 'Product/SKU rate overrides (they win over grade and default rates)',
        response: {
          200: Strict({ items: Type.Array(Strict({ sku: Type.String(), rates: Rates, updated_at: Timestamp() })), next_cursor: Type.Null() }),
          ...errors(),
        },
      },
    },
    async (req) => ({ items: await rules.listSkuRules(actor(req)), next_cursor: null }),
  );

  app.put(
    '/v1/sku-rules/:sku',
    {
      config: { auth: 'tenant', permission: 'program:write' },
      schema: {
        tags,
        summary: 'Set a SKU\'s rates by level ("0" the seller, "1".."3" overrides): percent in bp, or fixed fen per unit',
        params: SkuParams,
        querystring: ChangeTimingQuery,
        body: Strict({ rates: Rates }),
        response: { 200: Strict({ sku: Type.String(), rates: Rates, rule_version: Type.Integer(), change: Type.Optional(RuleChange) }), ...errors(403, 422) },
      },
    },
    async (req) => {
      const timing = timingOf(req.query);
      return rules.putSkuRule(actor(req), req.params.sku, req.body.rates, timing.effectiveFrom, timing.reason ?? null);
    },
  );

  app.delete(
    '/v1/sku-rules/:sku',
    {
      config: { auth: 'tenant', permission: 'program:write' },
      schema: { tags, summary: 'Remove a SKU override', params: SkuParams, response: { 204: Type.Null(), ...errors(403, 404) } },
    },
    async (req, reply) => {
      await rules.deleteSkuRule(actor(req), req.params.sku);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/v1/rules/simulate',
    {
      config: { auth: 'tenant', permission: 'read' },
      schema: {
        tags,
        summary:
          "Simulate a rule change on past orders: what the orders of a period would have paid under today's rules and under the proposed ones, in total, by level, by grade and for the distributors it moves most. Nothing is written",
        body: SimulateBody,
        response: { 200: Simulation, ...errors(403, 422) },
      },
    },
    async (req) => rules.simulate(actor(req), req.body),
  );

  app.get(
    '/v1/rule-versions',
    {
      config: { auth: 'tenant', permission: 'read' },
      schema: {
        tags,
        summary: 'Rule versions, newest first: what each order was computed with',
        querystring: Strict({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 20 })) }),
        response: {
          200: Strict({
            items: Type.Array(Strict({ version: Type.Integer(), effective_from: Timestamp(), reason: Type.String(), snapshot: Type.Unknown() })),
            next_cursor: Type.Null(),
          }),
          ...errors(),
        },
      },
    },
    async (req) => ({ items: await rules.listVersions(actor(req), req.query.limit ?? 20), next_cursor: null }),
  );

  app.get(
    '/v1/rule-changes',
    {
      config: { auth: 'tenant', permission: 'read' },
      schema: {
        tags,
        summary: 'Changes of the rules with their effective times, latest effective first; scheduled=true: only those still to take effect',
        querystring: Strict({
          scheduled: Type.Optional(Type.Boolean()),
          status: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('cancelled')])),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
        }),
        response: { 200: Strict({ items: Type.Array(RuleChange), next_cursor: Type.Null() }), ...errors() },
      },
    },
    async (req) => ({ items: await rules.timeline.list(actor(req), { ...req.query, limit: req.query.limit ?? 50 }), next_cursor: null }),
  );

  app.get(
    '/v1/rule-changes/:id',
    {
      config: { auth: 'tenant', permission: 'read' },
      schema: { tags, summary: 'One change of the rules', params: IdParams, response: { 200: RuleChange, ...errors(404) } },
    },
    async (req) => rules.timeline.get(actor(req), req.params.id),
  );

  app.post(
    '/v1/rule-changes/:id/cancel',
    {
      config: { auth: 'tenant', permission: 'program:write' },
      schema: {
        tags,
        summary: 'Cancel a scheduled change before it takes effect (409 invalid_state once it has); audited',
        params: IdParams,
        body: OptionalBody(Strict({ reason: Type.Optional(Text(500)) })),
        response: { 200: RuleChange, ...errors(403, 404, 409, 422) },
      },
    },
    async (req) => rules.timeline.cancel(actor(req), req.params.id, req.body?.reason ?? null),
  );
});
