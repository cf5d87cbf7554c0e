import type { FastifyReply, FastifyRequest } from 'fastify';
import { actor, moduleRoutes } from '../../core/route.ts';
import { IdParams, errors } from '../../core/schema.ts';
import type { StartedAuthorization, WechatService } from './service.ts';
import {
  Authorization,
  JsConfig,
  JsConfigBody,
  LinkAuthorizeBody,
  LinkCallbackBody,
  LinkResult,
  LoginAuthorizeBody,
  LoginCallbackBody,
  LoginResult,
  PortalWechat,
  PortalWechatQuery,
  TransferConfirmation,
  WechatLinkView,
  WechatSettingsBody,
  WechatSettingsView,
} from './schema.ts';

/**
 * The browser that starts a 网页授权 round trip gets this cookie; only that browser can finish it
 * (the state alone, which travels through WeChat and the address bar, is not enough): a code
 * someone else obtained cannot be planted in a victim's browser (login CSRF).
 */
const BROWSER_COOKIE = 'fenxiao_wx_oauth';
const COOKIE_PATTERN = new RegExp(`(?:^|;\\s*)${BROWSER_COOKIE}=([A-Za-z0-9_-]{16,64})`);

function browserNonce(req: FastifyRequest): string | undefined {
  return COOKIE_PATTERN.exec(req.headers.cookie ?? '')?.[1];
}

export const wechatRoutes = moduleRoutes<WechatService>((app, wechat) => {
  const tags = ['wechat'];
  const secure = wechat.callbackUrl.startsWith('https:');

  function started(reply: FastifyReply, s: StartedAuthorization) {
    reply.header('set-cookie', `${BROWSER_COOKIE}=${s.browserNonce}; Path=/v1/; Max-Age=600; HttpOnly; SameSite=Lax${secure ? '; Secure' : ''}`);
    reply.header('cache-control', 'no-store');
    return { url: s.url, state: s.state, expires_at: s.expires_at };
  }

  app.get(
    '/v1/wechat/settings',
    {
      config: { auth: 'tenant', permission: 'read' },
      schema: {
        tags,
        summary: "The merchant's official account for WeChat sign-in and the JS-SDK (the secret is never shown)",
        response: { 200: WechatSettingsView, ...errors(403) },
      },
    },
    async (req) => wechat.settings(actor(req)),
  );

  app.put(
    '/v1/wechat/settings',
    {
      config: { auth: 'tenant', permission: 'keys:write' },
      schema: {
        tags,
        summary: "Set the official account's AppID and AppSecret (docs/wechat.md)",
        description:
          'The secret is encrypted at rest and never answered. A new app_id needs its app_secret; the same app_id without app_secret keeps the secret set.',
        body: WechatSettingsBody,
        response: { 200: WechatSettingsView, ...errors(403) },
      },
    },
    async (req) => wechat.putSettings(actor(req), req.body),
  );

  app.get(
    '/v1/portal/wechat',
    {
      config: { auth: 'public' },
      schema: {
        tags,
        summary: "Whether the merchant's portal offers signing in with WeChat",
        security: [],
        querystring: PortalWechatQuery,
        response: { 200: PortalWechat },
      },
    },
    async (req) => wechat.portalStatus(req.query.tenant_id),
  );

  app.post(
    '/v1/portal/wechat/authorize',
    {
      config: { auth: 'public' },
      schema: {
        tags,
        summary: 'Start signing in with WeChat: where to send the browser',
        description:
          'Answers the open.weixin.qq.com authorize address (with a one-time state) and sets a cookie binding the round trip to this browser. WeChat sends the browser back to /portal/wechat/callback?code=…&state=…, whose page calls POST /v1/portal/wechat/login. 409 when the merchant has not set WeChat up.',
        security: [],
        body: LoginAuthorizeBody,
        response: { 200: Authorization, ...errors(404, 409) },
      },
    },
    async (req, reply) => started(reply, await wechat.authorizeLogin(req.body)),
  );

  app.post(
    '/v1/portal/wechat/login',
    {
      config: { auth: 'public' },
      schema: {
        tags,
        summary: 'Finish signing in with WeChat: the code and state WeChat handed back',
        description:
          'The state must be the one this browser started (its cookie), unused and at most 10 minutes old (else 401). The code is exchanged at WeChat (a wrong, used or expired code: 400). A linked openid signs its distributor in; an unknown one answers result "not_linked".',
        security: [],
        body: LoginCallbackBody,
        response: { 200: LoginResult, ...errors(404, 409, 503) },
      },
    },
    async (req, reply) => {
      reply.header('cache-control', 'no-store');
      return wechat.login(req.body, browserNonce(req));
    },
  );

  const me = ['portal: me'];

  app.get(
    '/v1/me/wechat',
    {
      config: { auth: 'distributor' },
      schema: {
        tags: me,
        summary: 'Whether my WeChat is linked (it signs me in and is my WeChat payout account)',
        response: { 200: WechatLinkView, ...errors() },
      },
    },
    async (req) => wechat.me(actor(req)),
  );

  app.post(
    '/v1/me/wechat/authorize',
    {
      config: { auth: 'distributor' },
      schema: {
        tags: me,
        summary: 'Start linking my WeChat: where to send the browser',
        description: 'As POST /v1/portal/wechat/authorize, for the signed-in distributor; the page WeChat returns to calls POST /v1/me/wechat/link.',
        body: LinkAuthorizeBody,
        response: { 200: Authorization, ...errors(409) },
      },
    },
    async (req, reply) => started(reply, await wechat.authorizeLink(actor(req), req.body)),
  );

  app.post(
    '/v1/me/wechat/link',
    {
      config: { auth: 'distributor' },
      schema: {
        tags: me,
        summary: 'Finish linking my WeChat: the openid signs me in from now on and becomes my WeChat payout account',
        description: 'The state must be one this session started in this browser. An openid linked to another distributor: 409.',
        body: LinkCallbackBody,
        response: { 200: LinkResult, ...errors(409, 503) },
      },
    },
    async (req, reply) => {
      reply.header('cache-control', 'no-store');
      return wechat.link(actor(req), req.body, browserNonce(req));
    },
  );

  app.post(
    '/v1/me/wechat/js-config',
    {
      config: { auth: 'distributor' },
      schema: {
        tags: me,
        summary: "wx.config's appId, timestamp, nonceStr and signature for a page of the portal",
        description:
          'The jsapi_ticket comes from WeChat (cgi-bin/token, then cgi-bin/ticket/getticket) and is shared by every process until 5 minutes before it expires. The url must be on this server (the JS接口安全域名).',
        body: JsConfigBody,
        response: { 200: JsConfig, ...errors(409, 503) },
      },
    },
    async (req) => wechat.jsConfig(actor(req), req.body),
  );

  app.get(
    '/v1/me/withdrawals/:id/wechat-confirmation',
    {
      config: { auth: 'distributor' },
      schema: {
        tags: me,
        summary: 'What wx.requestMerchantTransfer needs to confirm my WeChat transfer (mchId, appId, package)',
        description: 'Only for my withdrawal whose WeChat Pay transfer waits for me (WAIT_USER_CONFIRM); else 409.',
        params: IdParams,
        response: { 200: TransferConfirmation, ...errors(404, 409) },
      },
    },
    async (req, reply) => {
      reply.header('cache-control', 'no-store');
      return wechat.transferConfirmation(actor(req), req.params.id);
    },
  );

  app.get(
    '/v1/me/deposit-refunds/:id/wechat-confirmation',
    {
      config: { auth: 'distributor' },
      schema: {
        tags: me,
        summary: 'What wx.requestMerchantTransfer needs to confirm the WeChat transfer refunding my deposit (mchId, appId, package)',
        description: "Only for my deposit refund whose WeChat Pay transfer waits for me (WAIT_USER_CONFIRM); else 409. Another distributor's refund: 404.",
        params: IdParams,
        response: { 200: TransferConfirmation, ...errors(404, 409) },
      },
    },
    async (req, reply) => {
      reply.header('cache-control', 'no-store');
      return wechat.depositRefundConfirmation(actor(req), req.params.id);
    },
  );
});
