import { randomBytes } from 'node:crypto';
import type http from 'node:http';
import { listen, type RunningServer } from './http.ts';

/**
 * A local WeChat official-account platform playing, by its documentation, what Fenxiao's portal
 * uses: 网页授权 (`/connect/oauth2/authorize` on open.weixin.qq.com, `/sns/oauth2/access_token`
 * and `/sns/userinfo` on api.weixin.qq.com) and the JS-SDK's credentials (`/cgi-bin/token`,
 * `/cgi-bin/ticket/getticket`). Written from the documents, not from Fenxiao's client: codes are
 * single use and live five minutes; access tokens and tickets live 7200 s; a new client_credential
 * access_token retires the previous one after five minutes; errors are HTTP 200 with
 * `{"errcode","errmsg"}` and the documented codes (40013 invalid appid, 40125 invalid appsecret,
 * 40002 invalid grant_type, 40029 invalid code, 40163 code been used, 42003 code expired,
 * 40001 invalid credential, 42001 access_token expired, 48001 api unauthorized, 40003 invalid
 * openid). One origin serves both hosts; tests point both base URLs at it.
 *
 * The person "in WeChat" is `user`: the authorize page consents for them at once (for
 * snsapi_userinfo too) and sends the browser back to redirect_uri with code and state.
 */

export interface WechatMpUser {
  openid: string;
  nickname: string;
  /** 快照页 mode: the page was opened as a snapshot; the openid is virtual. */
  snapshot?: boolean;
}

interface Code {
  openid: string;
  scope: string;
  appid: string;
  expiresAt: number;
  used: boolean;
  snapshot: boolean;
}

interface Token {
  value: string;
  appid: string;
  expiresAt: number;
}

export interface WechatMpSimulatorOptions {
  appId: string;
  appSecret: string;
  /** The 网页授权域名 configured for the account: redirect_uri must be on it (host[:port]). */
  oauthDomain: string;
  /** ms since epoch; tests share their clock with it. */
  now?: () => number;
}

function json(res: http.ServerResponse, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(text)) });
  res.end(text);
}

const error = (res: http.ServerResponse, errcode: number, errmsg: string) => json(res, { errcode, errmsg: `${errmsg} rid: ${randomBytes(4).toString('hex')}` });

export class WechatMpSimulator {
  origin = '';
  user: WechatMpUser = { openid: 'oSimUser000000000000000000001', nickname: '微信用户' };
  /** Every request, by path, in order. */
  readonly requests: Array<{ path: string; query: Record<string, string> }> = [];
  readonly codes = new Map<string, Code>();
  /** Holds each answer to a path this long (to widen races between callers). */
  readonly delays = new Map<string, number>();
  /** Answers the next request to a path with this errcode (once). */
  readonly failNext = new Map<string, { errcode: number; errmsg: string }>();

  private readonly oauthTokens = new Map<string, { openid: string; scope: string; expiresAt: number }>();
  private readonly accessTokens = new Map<string, Token>();
  private readonly tickets = new Map<string, Token>();
  private latestAccessToken: string | undefined;
  private readonly now: () => number;
  private server: RunningServer | undefined;

  /** The 网页授权域名 (host[:port]); a test that learns its server's port late sets it then. */
  oauthDomain: string;

  private constructor(private readonly options: WechatMpSimulatorOptions) {
    this.now = options.now ?? Date.now;
    this.oauthDomain = options.oauthDomain;
  }

  static async start(options: WechatMpSimulatorOptions): Promise<WechatMpSimulator> {
    const sim = new WechatMpSimulator(options);
    sim.server = await listen((req, res) => sim.handle(req, res));
    sim.origin = sim.server.origin;
    return sim;
  }

  async close(): Promise<void> {
    await this.server?.close();
  }

  count(path: string): number {
    return this.requests.filter((r) => r.path === path).length;
  }

  /** The jsapi_ticket currently issued (the newest), to recompute a signature in a test. */
  currentTicket(): string | undefined {
    let newest: Token | undefined;
    for (const t of this.tickets.values()) if (!newest || t.expiresAt >= newest.expiresAt) newest = t;
    return newest?.value;
  }

  /** Expires every access token and ticket now (as if 7200 s had passed at WeChat's end). */
  expireCredentials(): void {
    for (const t of this.accessTokens.values()) t.expiresAt = this.now() - 1;
    for (const t of this.tickets.values()) t.expiresAt = this.now() - 1;
  }

  /** A code as WeChat would issue it after the user's consent (for tests that skip the browser). */
  issueCode(scope: 'snsapi_base' | 'snsapi_userinfo', user: WechatMpUser = this.user): string {
    const code = randomBytes(16).toString('hex');
    this.codes.set(code, { openid: user.openid, scope, appid: this.options.appId, expiresAt: this.now() + 300_000, used: false, snapshot: !!user.snapshot });
    return code;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://sim');
    const query = Object.fromEntries(url.searchParams.entries());
    this.requests.push({ path: url.pathname, query });
    const delay = this.delays.get(url.pathname);
    if (delay) await new Promise((r) => setTimeout(r, delay));
    const injected = this.failNext.get(url.pathname);
    if (injected) {
      this.failNext.delete(url.pathname);
      error(res, injected.errcode, injected.errmsg);
      return;
    }
    switch (url.pathname) {
      case '/connect/oauth2/authorize':
        return this.authorize(query, res);
      case '/sns/oauth2/access_token':
        return this.exchange(query, res);
      case '/sns/userinfo':
        return this.userinfo(query, res);
      case '/cgi-bin/token':
        return this.token(query, res);
      case '/cgi-bin/ticket/getticket':
        return this.ticket(query, res);
      default:
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('not found');
    }
  }

  /** WeChat shows an error page (not a redirect) for a bad request; here a 400 text page naming the code. */
  private authorize(q: Record<string, string>, res: http.ServerResponse): void {
    const page = (code: number, text: string) => {
      res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`${text}，错误码：${code}`);
    };
    if (q.appid !== this.options.appId) return page(10002, 'appid 参数错误');
    let redirect: URL;
    try {
      redirect = new URL(q.redirect_uri ?? '');
    } catch {
      return page(10003, 'redirect_uri 参数错误');
    }
    if (redirect.host !== this.oauthDomain) return page(10003, 'redirect_uri 域名与后台配置不一致');
    if (q.response_type !== 'code') return page(10004, 'response_type 参数错误');
    if (q.scope !== 'snsapi_base' && q.scope !== 'snsapi_userinfo') return page(10005, 'scope 参数错误或没有 scope 权限');
    if (q.state !== undefined && !/^[A-Za-z0-9]{0,128}$/.test(q.state)) return page(10006, 'state 参数错误');
    const code = this.issueCode(q.scope);
    redirect.searchParams.set('code', code);
    if (q.state !== undefined) redirect.searchParams.set('state', q.state);
    res.writeHead(302, { location: redirect.toString() });
    res.end();
  }

  private checkApp(q: Record<string, string>, res: http.ServerResponse): boolean {
    if (q.appid !== this.options.appId) {
      error(res, 40013, 'invalid appid');
      return false;
    }
    if (q.secret !== this.options.appSecret) {
      error(res, 40125, 'invalid appsecret');
      return false;
    }
    return true;
  }

  private exchange(q: Record<string, string>, res: http.ServerResponse): void {
    if (!this.checkApp(q, res)) return;
    if (q.grant_type !== 'authorization_code') return error(res, 40002, 'invalid grant_type');
    const c = q.code ? this.codes.get(q.code) : undefined;
    if (!c || c.appid !== q.appid) return error(res, 40029, 'invalid code');
    if (c.used) return error(res, 40163, 'code been used');
    if (c.expiresAt <= this.now()) return error(res, 42003, 'code expired');
    c.used = true;
    const accessToken = randomBytes(24).toString('hex');
    this.oauthTokens.set(accessToken, { openid: c.openid, scope: c.scope, expiresAt: this.now() + 7200_000 });
    json(res, {
      access_token: accessToken,
      expires_in: 7200,
      refresh_token: randomBytes(24).toString('hex'),
      openid: c.openid,
      scope: c.scope,
      ...(c.snapshot ? { is_snapshotuser: 1 } : {}),
    });
  }

  private userinfo(q: Record<string, string>, res: http.ServerResponse): void {
    const t = q.access_token ? this.oauthTokens.get(q.access_token) : undefined;
    if (!t) return error(res, 40001, 'invalid credential, access_token is invalid or not latest');
    if (t.expiresAt <= this.now()) return error(res, 42001, 'access_token expired');
    if (t.scope !== 'snsapi_userinfo') return error(res, 48001, 'api unauthorized');
    if (q.openid !== t.openid) return error(res, 40003, 'invalid openid');
    json(res, {
      openid: t.openid,
      nickname: this.user.openid === t.openid ? this.user.nickname : '微信用户',
      sex: 0,
      province: '',
      city: '',
      country: '',
      headimgurl: 'https://thirdwx.qlogo.cn/mmopen/vi_32/sim/132',
      privilege: [],
    });
  }

  private token(q: Record<string, string>, res: http.ServerResponse): void {
    if (q.grant_type !== 'client_credential') return error(res, 40002, 'invalid grant_type');
    if (!this.checkApp(q, res)) return;
    const now = this.now();
    // The previous token keeps working five more minutes, then it is retired.
    if (this.latestAccessToken) {
      const prev = this.accessTokens.get(this.latestAccessToken);
      if (prev) prev.expiresAt = Math.min(prev.expiresAt, now + 300_000);
    }
    const value = randomBytes(32).toString('base64url');
    this.accessTokens.set(value, { value, appid: q.appid ?? '', expiresAt: now + 7200_000 });
    this.latestAccessToken = value;
    json(res, { access_token: value, expires_in: 7200 });
  }

  private ticket(q: Record<string, string>, res: http.ServerResponse): void {
    const t = q.access_token ? this.accessTokens.get(q.access_token) : undefined;
    if (!t) return error(res, 40001, 'invalid credential, access_token is invalid or not latest');
    if (t.expiresAt <= this.now()) return error(res, 42001, 'access_token expired');
    if (q.type !== 'jsapi') return error(res, 40097, 'invalid args');
    const value = randomBytes(40).toString('base64url');
    this.tickets.set(value, { value, appid: t.appid, expiresAt: this.now() + 7200_000 });
    json(res, { errcode: 0, errmsg: 'ok', ticket: value, expires_in: 7200 });
  }
}
