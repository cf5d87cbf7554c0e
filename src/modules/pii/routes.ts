import type { FastifyReply } from 'fastify';
import { actor, moduleRoutes } from '../../core/route.ts';
import { IdParams, Nullable, OptionalBody, Strict, Timestamp, errors } from '../../core/schema.ts';
import { Type } from '@sinclair/typebox';
import { contentDisposition } from '../../lib/export/format.ts';
import { XLSX_CONTENT_TYPE } from '../../lib/export/xlsx.ts';
import { EraseBody, Erasure, PersonalDataQuery, RevealQuery, Revealed, SharedIdentities } from './schema.ts';
import type { PersonalDataExport, PiiService, RevealField } from './service.ts';

function sendPersonalData(reply: FastifyReply, out: { data: PersonalDataExport; body: Buffer | null }, format: 'json' | 'xlsx') {
  const name = `personal-data-${out.data.distributor.id}.${format}`;
  void reply.header('content-disposition', contentDisposition(name)).header('cache-control', 'private, no-store');
  if (format === 'xlsx') return reply.type(XLSX_CONTENT_TYPE).send(out.body);
  return reply.type('application/json; charset=utf-8').send(JSON.stringify(out.data));
}

export const piiRoutes = moduleRoutes<PiiService>((app, pii) => {
  const tags = ['personal data'];

  app.get(
    '/v1/distributors/:id/pii',
    {
      config: { auth: 'tenant', permission: 'pii:read' },
      schema: {
        tags,
        summary: "Whole values of a distributor's personal data (pii:read: owner, finance, API key; each call is audited)",
        description:
          'Every other response masks personal data (138****5678, 110***********1234, *三). This one shows the fields asked for in full and writes a `pii.reveal` audit entry naming them (never the values) with the request id.',
        params: IdParams,
        querystring: RevealQuery,
        response: { 200: Revealed, ...errors(403, 404) },
      },
    },
    async (req) => pii.reveal(actor(req), req.params.id, req.query.fields ? (req.query.fields.split(',') as RevealField[]) : undefined),
  );

  app.get(
    '/v1/distributors/:id/personal-data',
    {
      config: { auth: 'tenant', permission: 'pii:read' },
      schema: {
        tags,
        summary: 'Everything Fenxiao holds about the person, for a request under PIPL (JSON, or .xlsx with a sheet per section; audited)',
        description:
          'Profile and personal data decrypted, balances, payout accounts decrypted, binding history as a customer, orders as buyer, commissions earned, statements, withdrawals, invite-link visits per day, consent time and the documents list.',
        params: IdParams,
        querystring: PersonalDataQuery,
        produces: ['application/json', XLSX_CONTENT_TYPE],
        response: errors(403, 404),
      },
    },
    async (req, reply) => {
      const format = req.query.format ?? 'json';
      return sendPersonalData(reply, await pii.exportPersonalData(actor(req), req.params.id, format, req.query.lang ?? 'zh'), format);
    },
  );

  app.post(
    '/v1/distributors/:id/erase',
    {
      config: { auth: 'tenant', permission: 'pii:erase' },
      schema: {
        tags,
        summary: "Erase a distributor's personal data at its request (owner only; audited; the ledger stays whole)",
        description:
          "Anonymises the person: name → 已注销用户 <id>, phone, real name, ID number and contact destroyed with their blind indexes, payout account details destroyed, documents deleted, portal password and sessions revoked, the invite link's visits stripped of IP and browser; status becomes `erased` (no login, no new commission). Journals, commission lines, statements and withdrawals keep their amounts and ids. 409 while money is still owed to the person or on its way. Repeating it answers the erased record.",
        params: IdParams,
        body: EraseBody,
        response: { 200: Erasure, ...errors(403, 404, 409) },
      },
    },
    async (req) => pii.erase(actor(req), req.params.id, req.body.reason),
  );

  app.get(
    '/v1/distributors/:id/shared-identities',
    {
      config: { auth: 'tenant', permission: 'read' },
      schema: {
        tags,
        summary: 'Other distributors with the same phone, ID number or payout account (compared by blind index; no values shown)',
        params: IdParams,
        response: { 200: SharedIdentities, ...errors(404) },
      },
    },
    async (req) => ({ items: await pii.sharedIdentities(actor(req), req.params.id), next_cursor: null }),
  );

  const ErasureRequest = Strict({
    id: Type.String(),
    status: Type.Union([Type.Literal('open'), Type.Literal('done')], { description: 'open: waiting for the merchant; done: erased' }),
    requested_at: Timestamp(),
    resolved_at: Nullable(Timestamp()),
  });

  app.post(
    '/v1/me/erasure-request',
    {
      config: { auth: 'distributor' },
      schema: {
        tags: ['portal: me'],
        summary:
          "Ask the merchant to erase my personal data (PIPL). The merchant's owner erases it once no money is owed; asking again answers the open request",
        body: OptionalBody(Strict({})),
        response: { 200: ErasureRequest, ...errors(404, 409) },
      },
    },
    async (req) => pii.requestErasure(actor(req)),
  );

  app.get(
    '/v1/me/erasure-request',
    {
      config: { auth: 'distributor' },
      schema: {
        tags: ['portal: me'],
        summary: 'My newest erasure request, or null',
        response: { 200: Strict({ request: Nullable(ErasureRequest) }), ...errors() },
      },
    },
    async (req) => ({ request: await pii.myErasureRequest(actor(req)) }),
  );

  app.get(
    '/v1/erasure-requests',
    {
      config: { auth: 'tenant', permission: 'read' },
      schema: {
        tags,
        summary: "Distributors' requests to erase their personal data: open ones first, oldest first",
        querystring: Strict({
          status: Type.Optional(Type.Union([Type.Literal('open'), Type.Literal('done')])),
          distributor_id: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
        }),
        response: {
          200: Strict({
            items: Type.Array(
              Strict({
                id: Type.String(),
                distributor_id: Type.String(),
                distributor_name: Type.String(),
                status: Type.Union([Type.Literal('open'), Type.Literal('done')]),
                requested_at: Timestamp(),
                resolved_at: Nullable(Timestamp()),
              }),
            ),
            next_cursor: Type.Null(),
          }),
          ...errors(403),
        },
      },
    },
    async (req) => ({
      items: await pii.listErasureRequests(actor(req), { status: req.query.status, distributorId: req.query.distributor_id }, req.query.limit ?? 50),
      next_cursor: null,
    }),
  );

  app.get(
    '/v1/me/personal-data',
    {
      config: { auth: 'distributor' },
      schema: {
        tags: ['portal: me'],
        summary: 'My personal data, everything Fenxiao holds about me (JSON or .xlsx)',
        querystring: PersonalDataQuery,
        produces: ['application/json', XLSX_CONTENT_TYPE],
        response: errors(),
      },
    },
    async (req, reply) => {
      const a = actor(req);
      if (a.principal.kind !== 'distributor') throw new Error('unreachable: auth mode distributor');
      const format = req.query.format ?? 'json';
      return sendPersonalData(reply, await pii.exportPersonalData(a, a.principal.distributorId, format, req.query.lang ?? 'zh'), format);
    },
  );
});
