import { Type, type Static } from '@sinclair/typebox';
import { Nullable, Strict, Timestamp } from '../../core/schema.ts';
import { PortalSession, TenantIdInput } from '../portal/schema.ts';

/** The wire types of WeChat sign-in, the JS-SDK signature and the transfer confirmation. */

export const WechatAppId = Type.String({ pattern: '^wx[0-9a-f]{16}$', description: "the official account's AppID (开发者ID), wx + 16 hex digits" });

export const WechatSettingsBody = Strict({
  app_id: WechatAppId,
  app_secret: Type.Optional(
    Type.String({
      pattern: '^[0-9a-zA-Z]{32}$',
      description: 'the AppSecret (32 letters and digits); stored encrypted and never shown again. Omit to keep the one set.',
    }),
  ),
});

export const WechatSettingsView = Strict({
  configured: Type.Boolean({ description: 'an app id and its secret are set: the portal offers WeChat sign-in' }),
  app_id: Nullable(Type.String()),
  app_secret_configured: Type.Boolean(),
  updated_at: Nullable(Timestamp()),
  callback_url: Type.String({ description: "where WeChat sends the browser back: its domain goes into the official account's 网页授权域名" }),
  js_safe_domain: Type.String({ description: 'the domain to list as JS接口安全域名' }),
  payout_app_id: Nullable(Type.String({ description: 'the app id WeChat Pay transfers pay openids of (deployment setting), if WeChat Pay is on' })),
  payout_app_id_matches: Nullable(
    Type.Boolean({ description: 'false: openids captured by this official account cannot be paid by the WeChat Pay configured (openids are per app id)' }),
  ),
});
export type WechatSettingsView = Static<typeof WechatSettingsView>;

export const WechatScope = Type.Union([Type.Literal('snsapi_base'), Type.Literal('snsapi_userinfo')], {
  description: 'snsapi_base: silent, the openid only; snsapi_userinfo: asks the user, adds the nickname',
});

/** A path inside the portal to come back to, e.g. /withdraw. */
export const ReturnTo = Type.String({ pattern: '^/[A-Za-z0-9/_-]{0,200}$', maxLength: 200 });

export const LoginAuthorizeBody = Strict({
  tenant_id: TenantIdInput,
  scope: Type.Optional(WechatScope),
  return_to: Type.Optional(ReturnTo),
});

export const LinkAuthorizeBody = Strict({
  scope: Type.Optional(WechatScope),
  return_to: Type.Optional(ReturnTo),
});

export const Authorization = Strict({
  url: Type.String({ description: 'send the browser here (open.weixin.qq.com/connect/oauth2/authorize…#wechat_redirect)' }),
  state: Type.String({ description: 'the state parameter WeChat will hand back; keep it to compare' }),
  expires_at: Timestamp(),
});

export const CallbackCode = Type.String({ minLength: 1, maxLength: 512, pattern: '^[\\x21-\\x7e]+$' });
export const CallbackState = Type.String({ pattern: '^[0-9a-f]{64}$' });

export const LoginCallbackBody = Strict({ tenant_id: TenantIdInput, code: CallbackCode, state: CallbackState });
export const LinkCallbackBody = Strict({ code: CallbackCode, state: CallbackState });

export const WechatLinkView = Strict({
  configured: Type.Boolean({ description: 'the merchant set up WeChat sign-in' }),
  linked: Type.Boolean(),
  app_id: Nullable(Type.String()),
  openid_masked: Nullable(Type.String()),
  nickname: Nullable(Type.String()),
  linked_at: Nullable(Timestamp()),
  payout_account_id: Nullable(Type.String({ description: 'the WeChat payout account holding this openid' })),
});
export type WechatLinkView = Static<typeof WechatLinkView>;

export const LoginResult = Type.Union([
  Strict({ result: Type.Literal('signed_in'), session: PortalSession, return_to: Nullable(Type.String()) }),
  Strict({
    result: Type.Literal('not_linked'),
    return_to: Nullable(Type.String()),
    message: Type.String({ description: 'this WeChat user is no distributor of the merchant yet: sign in by phone, then link WeChat' }),
  }),
]);
export type LoginResult = Static<typeof LoginResult>;

export const LinkResult = Strict({ ...WechatLinkView.properties, return_to: Nullable(Type.String()) });
export type LinkResult = Static<typeof LinkResult>;

export const JsConfigBody = Strict({
  url: Type.String({ minLength: 8, maxLength: 2000, description: "the page's full address (location.href); the part after # is not signed" }),
});

export const JsConfig = Strict({
  app_id: Type.String(),
  timestamp: Type.Integer(),
  nonce_str: Type.String(),
  signature: Type.String({ description: 'sha1 of jsapi_ticket=…&noncestr=…&timestamp=…&url=… (JS-SDK appendix 1)' }),
  url: Type.String({ description: 'the address signed' }),
});
export type JsConfig = Static<typeof JsConfig>;

export const TransferConfirmation = Strict({
  mch_id: Type.String(),
  app_id: Type.String(),
  package: Type.String({ description: 'package_info of the transfer bill waiting for the payee (WAIT_USER_CONFIRM)' }),
});
export type TransferConfirmation = Static<typeof TransferConfirmation>;

export const PortalWechatQuery = Strict({ tenant_id: TenantIdInput });
export const PortalWechat = Strict({ enabled: Type.Boolean({ description: 'the merchant set up WeChat sign-in: the login page offers it' }) });
