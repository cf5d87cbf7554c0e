import { Type } from '@sinclair/typebox';
import { actor, moduleRoutes } from '../../core/route.ts';
import { IdParams, OptionalBody, Strict, errors } from '../../core/schema.ts';
import type { PilotsService } from './service.ts';
import { Pilot, PilotBody, PilotReport } from './schema.ts';

export const pilotsRoutes = moduleRoutes<PilotsService>((app, pilots) => {
  const tags = ['pilots'];

  app.post(
    '/v1/pilots',
    {
      config: { auth: 'tenant', permission: 'program:write' },
      schema: {
        tags,
        summary:
          'Start a pilot (灰度): the changes apply to orders whose seller is in the cohort (listed distributors, grades, regions of the order, or a stable percent); 400 on an empty or unknown cohort or no changes, 422 on a compliance breach, 409 when a seller is already in a running pilot',
        body: PilotBody,
        response: { 201: Pilot, ...errors(403, 409, 422) },
      },
    },
    async (req, reply) => reply.code(201).send(await pilots.create(actor(req), req.body)),
  );

  app.get(
    '/v1/pilots',
    {
      config: { auth: 'tenant', permission: 'read' },
      schema: {
        tags,
        summary: 'Pilots, newest first',
        querystring: Strict({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })) }),
        response: { 200: Strict({ items: Type.Array(Pilot), next_cursor: Type.Null() }), ...errors() },
      },
    },
    async (req) => ({ items: await pilots.list(actor(req), req.query.limit ?? 50), next_cursor: null }),
  );

  app.get(
    '/v1/pilots/:id',
    {
      config: { auth: 'tenant', permission: 'read' },
      schema: { tags, summary: 'One pilot', params: IdParams, response: { 200: Pilot, ...errors(404) } },
    },
    async (req) => pilots.get(actor(req), req.params.id),
  );

  app.get(
    '/v1/pilots/:id/report',
    {
      config: { auth: 'tenant', permission: 'read' },
      schema: {
        tags,
        summary: 'The pilot against control over the orders paid while it ran: orders, sales, commission, rates, and the differences with a 95 % interval',
        params: IdParams,
        response: { 200: PilotReport, ...errors(404) },
      },
    },
    async (req) => pilots.report(actor(req), req.params.id),
  );

  app.post(
    '/v1/pilots/:id/promote',
    {
      config: { auth: 'tenant', permission: 'program:write' },
      schema: {
        tags,
        summary: 'Its changes become the rules for everyone from now on (a new rule version whose reason names the pilot); 409 unless running',
        params: IdParams,
        body: OptionalBody(Strict({})),
        response: { 200: Pilot, ...errors(403, 404, 409, 422) },
      },
    },
    async (req) => pilots.promote(actor(req), req.params.id),
  );

  app.post(
    '/v1/pilots/:id/stop',
    {
      config: { auth: 'tenant', permission: 'program:write' },
      schema: {
        tags,
        summary: 'It ends; nothing changes; 409 unless running',
        params: IdParams,
        body: OptionalBody(Strict({})),
        response: { 200: Pilot, ...errors(403, 404, 409) },
      },
    },
    async (req) => pilots.stop(actor(req), req.params.id),
  );
});
