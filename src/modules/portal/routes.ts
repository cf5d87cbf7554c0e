import { Type } from '@sinclair/typebox';
import { actor, moduleRoutes } from '../../core/route.ts';
import { AppError } from '../../core/errors.ts';
import { IdParams, List, OptionalBody, Strict, errors } from '../../core/schema.ts';
import type { PortalService } from './service.ts';
import { TeamCounts } from '../distributors/schema.ts';
import {
  ApplyStarted,
  ApplyVerifyBody,
  DownlineQuery,
  Invite,
  Me,
  MyDeposit,
  MyOrdersQuery,
  PasswordLoginBody,
  PortalApplyBody,
  PortalLink,
  PortalOrder,
  PortalSession,
  PortalSettingsView,
  PortalTeamMember,
  SetPasswordBody,
  SigningSecret,
  TokenLoginBody,
  WithdrawalRules,
} from './schema.ts';

const IMAGE_TYPES = ['image/png', 'image/jpeg'];
const MAX_BACKGROUND_BYTES = 5 * 1024 * 1024;

export const portalRoutes = moduleRoutes<PortalService>((app, portal) => {
  const tags = ['portal'];

  // ------------------------------------------------------------- the merchant's portal settings

  app.get(
    '/v1/portal/settings',
    {
      config: { auth: 'tenant', permission: 'read' },
      schema: { tags, summary: 'Whether token login and a poster background are set up', response: { 200: PortalSettingsView, ...errors(403) } },
    },
    async (req) => portal.settings(actor(req)),
  );

  app.post(
    '/v1/portal/signing-secret',
    {
      config: { auth: 'tenant', permission: 'keys:write' },
      schema: {
        tags,
        summary: "Create or rotate the secret the merchant's backend signs portal login tokens with (shown once)",
        description:
          "Login tokens are JWTs signed HS256 with the UTF-8 bytes of this secret: `sub` the distributor's external_id, `iat`, `exp` at most 600 s ahead, a unique `jti` (8–128 characters). Send the distributor to `/portal/?tenant=<tenant id>&token=<jwt>`. A new secret replaces the old one at once. See docs/portal.md.",
        response: { 201: SigningSecret, ...errors(403) },
      },
    },
    async (req, reply) => reply.code(201).send(await portal.rotateSigningSecret(actor(req))),
  );

  app.get(
    '/v1/portal/poster-background',
    {
      config: { auth: 'tenant', permission: 'read' },
      schema: { tags, summary: 'The uploaded poster background image', produces: IMAGE_TYPES },
    },
    async (req, reply) => {
      const bg = await portal.readPosterBackground(actor(req));
      return reply.type(bg.contentType).header('cache-control', 'private, no-store').send(bg.data);
    },
  );

  app.delete(
    '/v1/portal/poster-background',
    {
      config: { auth: 'tenant', permission: 'program:write' },
      schema: { tags, summary: 'Go back to the built-in poster design', response: { 200: PortalSettingsView, ...errors(403) } },
    },
    async (req) => portal.deletePosterBackground(actor(req)),
  );

  // The upload takes the image as the raw body (Content-Type image/png or image/jpeg) or as
  // multipart/form-data; the raw parser lives in this scope only.
  void app.register(async (scope) => {
    scope.addContentTypeParser(IMAGE_TYPES, { parseAs: 'buffer', bodyLimit: MAX_BACKGROUND_BYTES }, (_req, body, done) => done(null, body));
    scope.put(
      '/v1/portal/poster-background',
      {
        config: { auth: 'tenant', permission: 'program:write' },
        bodyLimit: MAX_BACKGROUND_BYTES,
        schema: {
          tags,
          summary: "Upload the merchant's poster background (PNG or JPEG, at most 5 MB and 4096×4096; 750×1334 fits best)",
          consumes: [...IMAGE_TYPES, 'multipart/form-data'],
          response: { 200: PortalSettingsView, ...errors(403, 413, 415) },
        },
      },
      async (req) => {
        let data: Buffer | undefined;
        if (Buffer.isBuffer(req.body)) {
          data = req.body;
        } else if (req.isMultipart()) {
          for await (const part of req.parts({ limits: { fileSize: MAX_BACKGROUND_BYTES, files: 1, fields: 2 } })) {
            if (part.type !== 'file') continue;
            data = await part.toBuffer();
            if (part.file.truncated) throw new AppError('payload_too_large', { en: 'a poster background is at most 5 MB', zh: '海报背景至多 5 MB' });
          }
        } else {
          throw new AppError('unsupported_media_type', {
            en: 'send the image as image/png, image/jpeg or multipart/form-data',
            zh: '请以 image/png、image/jpeg 或 multipart/form-data 发送图片',
          });
        }
        if (!data) throw new AppError('invalid_request', { en: 'no image in the request', zh: '请求中没有图片' });
        return portal.putPosterBackground(actor(req), data);
      },
    );
  });

  // ------------------------------------------------------------------------------- logging in

  app.post(
    '/v1/portal/token-login',
    {
      config: { auth: 'public' },
      schema: {
        tags,
        summary: "Log a distributor in with a login token minted by the merchant's backend",
        security: [],
        body: TokenLoginBody,
        response: { 200: PortalSession, ...errors(404) },
      },
    },
    async (req) => portal.tokenLogin(req.body, req.id),
  );

  app.post(
    '/v1/portal/login',
    {
      config: { auth: 'public' },
      schema: {
        tags,
        summary: 'Log a distributor in with phone and password (five failures lock it for 15 minutes)',
        security: [],
        body: PasswordLoginBody,
        response: { 200: PortalSession, ...errors(429) },
      },
    },
    async (req) => portal.passwordLogin(req.body, { ip: req.ip }),
  );

  app.post(
    '/v1/portal/apply',
    {
      config: { auth: 'public' },
      schema: {
        tags,
        summary: 'Apply to become a distributor from the portal: a code is texted to the phone',
        security: [],
        description:
          'Step one of an application (as POST /v1/applications) with a portal password. Codes are limited per caller address and per phone (429). The answer is the same whether or not the phone belongs to a distributor; the application is kept until the code comes back to POST /v1/portal/apply/verify, within 10 minutes.',
        body: PortalApplyBody,
        response: { 202: ApplyStarted, ...errors(404, 409, 422, 429) },
      },
    },
    async (req, reply) => reply.code(202).send(await portal.apply(req.body, { ip: req.ip, requestId: req.id })),
  );

  app.post(
    '/v1/portal/apply/verify',
    {
      config: { auth: 'public' },
      schema: {
        tags,
        summary: 'Complete an application with the code texted to its phone, and log in',
        security: [],
        description:
          'Five tries per application. With the right code the distributor is made (the tenant\'s admission and registration limits apply; the caller\'s IP from step one counts) and signed in; a phone that already belongs to a distributor answers 409 (log in instead). Under admission "review" the applicant is pending until approved.',
        body: ApplyVerifyBody,
        response: { 201: Strict({ ...PortalSession.properties, status: Type.String() }), ...errors(404, 409, 422, 429) },
      },
    },
    async (req, reply) => reply.code(201).send(await portal.verifyApplication(req.body, { requestId: req.id })),
  );

  app.post(
    '/v1/distributors/:id/portal-link',
    {
      config: { auth: 'tenant', permission: 'distributors:write' },
      schema: {
        tags,
        summary: "Let login tokens sign in a distributor that registered through the portal's form",
        description:
          "The public form cannot prove who an applicant is in the merchant's systems, so a login token does not sign such a distributor in until the merchant, having checked, links it; the token then names its external_id as `sub`. 409 for a distributor that did not register through the form.",
        params: IdParams,
        body: OptionalBody(Strict({})),
        response: { 200: PortalLink, ...errors(403, 404, 409) },
      },
    },
    async (req) => portal.linkForTokenLogin(actor(req), req.params.id),
  );

  app.post(
    '/v1/portal/password',
    {
      config: { auth: 'distributor' },
      schema: {
        tags,
        summary: "Set or change the distributor's own portal password (other sessions end)",
        body: SetPasswordBody,
        response: { 200: Strict({ has_password: Type.Literal(true) }), ...errors(403, 409) },
      },
    },
    async (req) => portal.setPassword(actor(req), req.body),
  );

  // ------------------------------------------------------------------- the distributor's own

  const me = ['portal: me'];

  app.get(
    '/v1/me',
    {
      config: { auth: 'distributor' },
      schema: { tags: me, summary: 'The logged-in distributor', response: { 200: Me, ...errors() } },
    },
    async (req) => portal.me(actor(req)),
  );

  app.get(
    '/v1/me/team',
    {
      config: { auth: 'distributor' },
      schema: { tags: me, summary: 'My team: direct, level 2, level 3 and everyone below', response: { 200: TeamCounts, ...errors() } },
    },
    async (req) => portal.team(actor(req)),
  );

  app.get(
    '/v1/me/downline',
    {
      config: { auth: 'distributor' },
      schema: {
        tags: me,
        summary: 'My team at one level (1..3), a page at a time',
        querystring: DownlineQuery,
        response: { 200: List(PortalTeamMember), ...errors() },
      },
    },
    async (req) => portal.downline(actor(req), (req.query.level ?? 1) as 1 | 2 | 3, req.query.cursor, req.query.limit ?? 20),
  );

  app.get(
    '/v1/me/orders',
    {
      config: { auth: 'distributor' },
      schema: {
        tags: me,
        summary: 'The orders of my commission lines: state, shipped and received, carrier and tracking number',
        description:
          'Only orders I earn from (a commission line of mine) are answered; any other order number, of this tenant or another, is left out as if it did not exist. Nothing about the buyer is shown.',
        querystring: MyOrdersQuery,
        response: { 200: List(PortalOrder), ...errors() },
      },
    },
    async (req) => portal.orders(actor(req), req.query.external_id),
  );

  app.get(
    '/v1/me/invite',
    {
      config: { auth: 'distributor' },
      schema: { tags: me, summary: 'My invite code, link and QR code', response: { 200: Invite, ...errors() } },
    },
    async (req) => portal.invite(actor(req)),
  );

  app.get(
    '/v1/me/poster.png',
    {
      config: { auth: 'distributor' },
      schema: {
        tags: me,
        summary: "My invite poster: name, QR code and the merchant's background, as a PNG",
        querystring: Strict({ lang: Type.Optional(Type.Union([Type.Literal('zh-CN'), Type.Literal('en')], { default: 'zh-CN' })) }),
        produces: ['image/png'],
      },
    },
    async (req, reply) => {
      const png = await portal.poster(actor(req), req.query.lang ?? 'zh-CN');
      return reply
        .type('image/png')
        .header('content-disposition', 'attachment; filename="invite-poster.png"')
        .header('cache-control', 'private, no-store')
        .send(png);
    },
  );

  app.get(
    '/v1/me/deposit',
    {
      config: { auth: 'distributor' },
      schema: {
        tags: me,
        summary: 'My admission deposit: what the program asks, what I paid, what the merchant holds, what was refunded',
        description:
          "The signed-in distributor's own deposit: the figures `GET /v1/distributors/{id}/deposit` answers the merchant, and the newest refund without the merchant's internal fields (who asked and approved it, the merchant's reason, payout references). No other distributor's deposit can be read here.",
        response: { 200: MyDeposit, ...errors() },
      },
    },
    async (req) => portal.deposit(actor(req)),
  );

  app.get(
    '/v1/me/withdrawal-rules',
    {
      config: { auth: 'distributor' },
      schema: {
        tags: me,
        summary: 'Minimum, fee and daily limits of withdrawals, and the payout channels on offer',
        response: { 200: WithdrawalRules, ...errors() },
      },
    },
    async (req) => portal.withdrawalRules(actor(req)),
  );
});
