import { Type } from '@sinclair/typebox';
import { actor, idempotencyKeyOf, IdempotencyHeaders, moduleRoutes } from '../../core/route.ts';
import { IdParams, Strict, errors } from '../../core/schema.ts';
import { Phone } from '../distributors/schema.ts';
import { PhoneVerification, SendCodeBody, SimulatedSms, VerifyCodeBody } from './schema.ts';
import type { PhoneVerificationService } from './service.ts';

export const verificationRoutes = moduleRoutes<PhoneVerificationService>((app, verification) => {
  const tags = ['distributors'];

  app.post(
    '/v1/phone-verifications',
    {
      config: { auth: 'tenant', permission: 'distributors:write' },
      schema: {
        tags,
        summary: "Text a one-time code to an applicant's phone (rate limited per phone and per merchant; Idempotency-Key honoured)",
        headers: IdempotencyHeaders,
        body: SendCodeBody,
        response: { 201: PhoneVerification, 200: PhoneVerification, ...errors(403, 409, 429, 503) },
      },
    },
    async (req, reply) => {
      const { created, ...answer } = await verification.send(actor(req), req.body, idempotencyKeyOf(req));
      // A retry under the same Idempotency-Key answers the first verification, and texts nothing.
      return reply.code(created ? 201 : 200).send(answer);
    },
  );

  app.post(
    '/v1/phone-verifications/:id/verify',
    {
      config: { auth: 'tenant', permission: 'distributors:write' },
      schema: {
        tags,
        summary: 'Check the code the applicant typed: 400 wrong (attempts left), 409 expired or out of attempts',
        params: IdParams,
        body: VerifyCodeBody,
        response: { 200: PhoneVerification, ...errors(403, 404, 409) },
      },
    },
    async (req) => verification.verify(actor(req), req.params.id, req.body.code),
  );

  app.get(
    '/v1/phone-verifications/:id',
    {
      config: { auth: 'tenant', permission: 'read' },
      schema: { tags, summary: 'One phone verification (never its code)', params: IdParams, response: { 200: PhoneVerification, ...errors(404) } },
    },
    async (req) => verification.get(actor(req), req.params.id),
  );

  app.get(
    '/v1/dev/sms',
    {
      config: { auth: 'tenant', permission: 'pii:read' },
      schema: {
        tags,
        summary: 'Development: the texts the SMS simulator kept for this merchant, codes included (404 when a real provider is configured)',
        querystring: Strict({ phone: Type.Optional(Phone) }),
        response: { 200: Strict({ items: Type.Array(SimulatedSms) }), ...errors(403, 404) },
      },
    },
    async (req) => ({ items: verification.simulatedMessages(actor(req), req.query.phone) }),
  );
});
