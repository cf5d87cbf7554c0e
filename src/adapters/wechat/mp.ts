/**
 * WeChat official account (公众号) HTTP APIs that the portal needs, by their documentation:
 *
 * - 网页授权: the user is sent to `<oauth base>/connect/oauth2/authorize`, WeChat sends it back to
 *   redirect_uri with `code` and `state`; the code is exchanged at `/sns/oauth2/access_token`
 *   (single use, five minutes) for the openid and, with scope snsapi_userinfo, an access token for
 *   `/sns/userinfo`.
 * - JS-SDK: `/cgi-bin/token` (client_credential access_token, 7200 s) and
 *   `/cgi-bin/ticket/getticket?type=jsapi` (jsapi_ticket, 7200 s); both must be cached by the
 *   caller, never fetched per page.
 *
 * Errors come back as HTTP 200 with `{"errcode","errmsg"}`: they are thrown as WechatApiError
 * with the code (40029 invalid code, 40163 code been used, 40013 invalid appid, 40125 invalid
 * appsecret, 40001/42001 invalid or expired access_token, 48001 api unauthorized, …). Decisions
 * are made on the code, never on errmsg.
 */

export const WECHAT_OAUTH_DEFAULT_BASE_URL = 'https://open.weixin.qq.com';
export const WECHAT_API_DEFAULT_BASE_URL = 'https://api.weixin.qq.com';

export type WechatOauthScope = 'snsapi_base' | 'snsapi_userinfo';

export class WechatApiError extends Error {
  constructor(
    readonly errcode: number | null,
    readonly errmsg: string,
    readonly path: string,
  ) {
    super(`WeChat ${path}: ${errcode === null ? errmsg : `errcode ${errcode} (${errmsg})`}`);
    this.name = 'WechatApiError';
  }
}

/** Codes that say an access_token no longer works: fetch a new one and try once more. */
export const ACCESS_TOKEN_INVALID = new Set([40001, 40014, 42001]);
/** Codes that say the OAuth code is no good (wrong, used, expired). */
export const OAUTH_CODE_INVALID = new Set([40029, 40163, 41008, 42003]);

export interface OauthAccessToken {
  accessToken: string;
  expiresIn: number;
  refreshToken: string | undefined;
  openid: string;
  scope: string;
  unionid: string | undefined;
  /** 1 in 快照页 mode (the user has not really opened the page): the openid is a virtual one. */
  isSnapshotUser: boolean;
}

export interface WechatUserInfo {
  openid: string;
  nickname: string | undefined;
  headimgurl: string | undefined;
  unionid: string | undefined;
}

export interface ExpiringValue {
  value: string;
  expiresIn: number;
}

export interface WechatMpClient {
  /** The address to send the browser to; parameters in the order the documentation gives them. */
  authorizeUrl(input: { appId: string; redirectUri: string; scope: WechatOauthScope; state: string }): string;
  exchangeCode(input: { appId: string; secret: string; code: string }): Promise<OauthAccessToken>;
  userInfo(input: { accessToken: string; openid: string }): Promise<WechatUserInfo>;
  accessToken(input: { appId: string; secret: string }): Promise<ExpiringValue>;
  jsapiTicket(input: { accessToken: string }): Promise<ExpiringValue>;
}

export interface WechatMpConfig {
  oauthBaseUrl?: string | undefined;
  apiBaseUrl?: string | undefined;
  timeoutMs?: number | undefined;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

export function createWechatMpClient(config: WechatMpConfig = {}, deps: { fetch?: typeof fetch } = {}): WechatMpClient {
  const oauthBase = (config.oauthBaseUrl ?? WECHAT_OAUTH_DEFAULT_BASE_URL).replace(/\/+$/, '');
  const apiBase = (config.apiBaseUrl ?? WECHAT_API_DEFAULT_BASE_URL).replace(/\/+$/, '');
  const timeoutMs = config.timeoutMs ?? 5000;
  const doFetch = deps.fetch ?? fetch;

  async function get(path: string, query: Record<string, string>): Promise<Record<string, unknown>> {
    const url = `${apiBase}${path}?${new URLSearchParams(query).toString()}`;
    let res: Response;
    try {
      res = await doFetch(url, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(timeoutMs) });
    } catch (err) {
      throw new WechatApiError(null, err instanceof Error ? `${err.name}: ${err.message}` : String(err), path);
    }
    const text = await res.text();
    if (!res.ok) throw new WechatApiError(null, `HTTP ${res.status}`, path);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new WechatApiError(null, 'the answer is not JSON', path);
    }
    if (!json || typeof json !== 'object' || Array.isArray(json)) throw new WechatApiError(null, 'the answer is not a JSON object', path);
    const body = json as Record<string, unknown>;
    const errcode = body.errcode;
    if (typeof errcode === 'number' && errcode !== 0) throw new WechatApiError(errcode, typeof body.errmsg === 'string' ? body.errmsg : '', path);
    return body;
  }

  function expiring(body: Record<string, unknown>, field: string, path: string): ExpiringValue {
    const value = str(body[field]);
    const expiresIn = body.expires_in;
    if (!value || typeof expiresIn !== 'number' || !Number.isFinite(expiresIn) || expiresIn <= 0) {
      throw new WechatApiError(null, `no ${field} in the answer`, path);
    }
    return { value, expiresIn };
  }

  return {
    authorizeUrl({ appId, redirectUri, scope, state }) {
      return (
        `${oauthBase}/connect/oauth2/authorize?appid=${encodeURIComponent(appId)}&redirect_uri=${encodeURIComponent(redirectUri)}` +
        `&response_type=code&scope=${scope}&state=${encodeURIComponent(state)}#wechat_redirect`
      );
    },

    async exchangeCode({ appId, secret, code }) {
      const path = '/sns/oauth2/access_token';
      const body = await get(path, { appid: appId, secret, code, grant_type: 'authorization_code' });
      const openid = str(body.openid);
      const accessToken = str(body.access_token);
      if (!openid || !accessToken) throw new WechatApiError(null, 'no openid in the answer', path);
      return {
        accessToken,
        expiresIn: typeof body.expires_in === 'number' ? body.expires_in : 7200,
        refreshToken: str(body.refresh_token),
        openid,
        scope: str(body.scope) ?? '',
        unionid: str(body.unionid),
        isSnapshotUser: body.is_snapshotuser === 1,
      };
    },

    async userInfo({ accessToken, openid }) {
      const path = '/sns/userinfo';
      const body = await get(path, { access_token: accessToken, openid, lang: 'zh_CN' });
      const got = str(body.openid);
      if (!got) throw new WechatApiError(null, 'no openid in the answer', path);
      return { openid: got, nickname: str(body.nickname), headimgurl: str(body.headimgurl), unionid: str(body.unionid) };
    },

    async accessToken({ appId, secret }) {
      const path = '/cgi-bin/token';
      return expiring(await get(path, { grant_type: 'client_credential', appid: appId, secret }), 'access_token', path);
    },

    async jsapiTicket({ accessToken }) {
      const path = '/cgi-bin/ticket/getticket';
      return expiring(await get(path, { access_token: accessToken, type: 'jsapi' }), 'ticket', path);
    },
  };
}
