import { randomBytes } from 'node:crypto';
import type { Db } from '../../db/database.ts';
import { inTransaction } from '../../db/database.ts';
import type { Actor, Clock } from '../../core/context.ts';
import { AppError, conflict, forbidden, invalid, invalidState, isUniqueViolation, notFound } from '../../core/errors.ts';
import { requirePermission, tenantOf } from '../../core/principal.ts';
import type { KeyRing } from '../../lib/crypto.ts';
import { maskTail, sha256Hex } from '../../lib/crypto.ts';
import { newId } from '../../core/ids.ts';
import type { WechatPayChannel } from '../../adapters/payout/wechat.ts';
import { ACCESS_TOKEN_INVALID, OAUTH_CODE_INVALID, WechatApiError, type WechatMpClient, type WechatOauthScope } from '../../adapters/wechat/mp.ts';
import type { TokenCache } from '../../adapters/wechat/token-cache.ts';
import type { AuditService } from '../audit/service.ts';
import { SIGN_IN_STATUSES, type AdminService } from '../admin/service.ts';
import type { TenantsService } from '../tenants/service.ts';
import type { DistributorsService } from '../distributors/service.ts';
import type { PayoutAccountsService } from '../withdrawals/accounts.ts';
import type { WithdrawalsService } from '../withdrawals/service.ts';
import { wechatRepo } from './repo.ts';
import { WX } from './messages.ts';
import { jsSdkSignature, nonceStr, pageUrl } from './signature.ts';
import { tokenKey } from './token-cache-db.ts';
import type { JsConfig, LinkResult, LoginResult, TransferConfirmation, WechatLinkView, WechatSettingsView } from './schema.ts';

/** An OAuth round trip must come back within this long. */
const STATE_MINUTES = 10;
/** A cached access_token or jsapi_ticket is replaced this long before it expires. */
export const TOKEN_REFRESH_MARGIN_SECONDS = 300;
/** The portal's page WeChat sends the browser back to (web/portal: the callback route). */
export const CALLBACK_PATH = '/portal/wechat/callback';

type DistributorActor = Actor & { principal: { kind: 'distributor'; tenantId: string; distributorId: string; sessionId: string } };

function asDistributor(actor: Actor): DistributorActor {
  if (actor.principal.kind !== 'distributor') throw forbidden(WX.distributorOnly());
  return actor as DistributorActor;
}

/** What a browser must hold (a cookie) to finish the round trip it started. */
export interface StartedAuthorization {
  url: string;
  state: string;
  expires_at: string;
  browserNonce: string;
}

export function createWechatService(deps: {
  db: Db;
  clock: Clock;
  keyring: KeyRing;
  audit: AuditService;
  admin: AdminService;
  tenants: TenantsService;
  distributors: DistributorsService;
  payoutAccounts: PayoutAccountsService;
  withdrawals: Pick<WithdrawalsService, 'get' | 'depositRefunds'>;
  /** The deployment's WeChat Pay channel, if on: its app id and merchant id. */
  wechatPay: () => Pick<WechatPayChannel, 'mchId' | 'appId'> | undefined;
  mp: WechatMpClient;
  tokens: TokenCache;
  publicUrl: string;
}) {
  const { db, clock, keyring, audit, admin, tenants, distributors, payoutAccounts, mp, tokens } = deps;
  const publicOrigin = new URL(deps.publicUrl).origin;
  const callbackUrl = `${deps.publicUrl}${CALLBACK_PATH}`;

  async function activeTenant(tenantId: string) {
    if ((await tenants.status(tenantId)) !== 'active') throw notFound('tenant');
  }

  /** The tenant's app id and secret, or a 409 saying WeChat sign-in is not set up. */
  async function credentials(tenantId: string): Promise<{ appId: string; secret: string }> {
    const s = await wechatRepo.findSettings(db, tenantId);
    if (!s?.app_secret_enc) throw invalidState(WX.notSetUp());
    return { appId: s.app_id, secret: keyring.decrypt(s.app_secret_enc) };
  }

  function settingsView(row: Awaited<ReturnType<typeof wechatRepo.findSettings>>): WechatSettingsView {
    const pay = deps.wechatPay();
    return {
      configured: !!row?.app_secret_enc,
      app_id: row?.app_id ?? null,
      app_secret_configured: !!row?.app_secret_enc,
      updated_at: row?.updated_at.toISOString() ?? null,
      callback_url: callbackUrl,
      js_safe_domain: new URL(deps.publicUrl).host,
      payout_app_id: pay?.appId ?? null,
      payout_app_id_matches: pay && row ? pay.appId === row.app_id : null,
    };
  }

  /** WeChat said no: a bad code is the caller's (400); anything else is WeChat being unavailable or misconfigured. */
  function fromWechat(err: unknown): never {
    if (err instanceof WechatApiError) {
      if (err.errcode !== null && OAUTH_CODE_INVALID.has(err.errcode)) {
        throw invalid(WX.badCode(err.errcode));
      }
      throw new AppError('service_unavailable', WX.wechatDown(err.errcode === null ? err.errmsg : `errcode ${err.errcode}`), {
        retry_after_seconds: 30,
        ...(err.errcode === null ? {} : { wechat_errcode: err.errcode }),
      });
    }
    throw err;
  }

  // ----------------------------------------------------------------- cached API credentials

  const inFlight = new Map<string, Promise<string>>();

  /** The plaintext of a cached value that is not yet within the refresh margin of its expiry. */
  function freshValue(t: { value: string; expiresAt: Date } | null): string | undefined {
    if (!t || t.expiresAt.getTime() - clock.now().getTime() <= TOKEN_REFRESH_MARGIN_SECONDS * 1000) return undefined;
    try {
      return keyring.decrypt(t.value);
    } catch {
      // Written under a key no longer configured (a finished key rotation): fetch a new one.
      return undefined;
    }
  }

  /**
   * A cached value until TOKEN_REFRESH_MARGIN_SECONDS before it expires; else one process fetches
   * a new one under the cache's lock while the others wait for it. `unless`: a value the caller
   * saw WeChat refuse, to be replaced even if it looks fresh.
   */
  async function cached(key: string, fetch: () => Promise<{ value: string; expiresIn: number }>, unless?: string): Promise<string> {
    const fresh = (t: { value: string; expiresAt: Date } | null) => {
      const value = freshValue(t);
      return value === unless ? undefined : value;
    };
    const hit = fresh(await tokens.read(key));
    if (hit !== undefined) return hit;
    const flightKey = `${key}|${unless ?? ''}`;
    const running = inFlight.get(flightKey);
    if (running) return running;
    const p = tokens
      .refresh(key, async (store) => {
        const again = fresh(await store.read(key));
        if (again !== undefined) return again;
        const got = await fetch();
        const expiresAt = new Date(clock.now().getTime() + got.expiresIn * 1000);
        await store.write(key, { value: keyring.encrypt(got.value), expiresAt }, got.expiresIn * 1000);
        return got.value;
      })
      .finally(() => inFlight.delete(flightKey));
    inFlight.set(flightKey, p);
    return p;
  }

  async function accessToken(tenantId: string, creds: { appId: string; secret: string }, unless?: string): Promise<string> {
    return cached(tokenKey(tenantId, creds.appId, 'access_token'), () => mp.accessToken(creds), unless);
  }

  /**
   * The ticket's access_token is fetched before the ticket's lock is taken, never inside it: a
   * refresh holds a transaction (the database cache), and a nested one would wait for a second
   * connection (PGlite has one).
   */
  async function jsapiTicket(tenantId: string, creds: { appId: string; secret: string }): Promise<string> {
    const key = tokenKey(tenantId, creds.appId, 'jsapi_ticket');
    const hit = freshValue(await tokens.read(key));
    if (hit !== undefined) return hit;
    const token = await accessToken(tenantId, creds);
    try {
      return await cached(key, () => mp.jsapiTicket({ accessToken: token }));
    } catch (err) {
      // The access_token was retired (another system fetched one, or it expired early): once more with a new one.
      if (err instanceof WechatApiError && err.errcode !== null && ACCESS_TOKEN_INVALID.has(err.errcode)) {
        const renewed = await accessToken(tenantId, creds, token);
        return cached(key, () => mp.jsapiTicket({ accessToken: renewed }));
      }
      throw err;
    }
  }

  // ------------------------------------------------------------------------ OAuth round trips

  async function start(
    tenantId: string,
    input: { purpose: 'login' | 'link'; scope: WechatOauthScope; distributorId: string | null; returnTo: string | null },
  ): Promise<StartedAuthorization> {
    const { appId } = await credentials(tenantId);
    const state = randomBytes(32).toString('hex');
    const browserNonce = randomBytes(24).toString('base64url');
    const now = clock.now();
    const expiresAt = new Date(now.getTime() + STATE_MINUTES * 60_000);
    await wechatRepo.pruneStates(db, new Date(now.getTime() - 86400_000));
    await wechatRepo.insertState(db, {
      id: sha256Hex(state),
      tenant_id: tenantId,
      purpose: input.purpose,
      scope: input.scope,
      app_id: appId,
      distributor_id: input.distributorId,
      browser_hash: sha256Hex(browserNonce),
      return_to: input.returnTo,
      expires_at: expiresAt,
      created_at: now,
    });
    return { url: mp.authorizeUrl({ appId, redirectUri: callbackUrl, scope: input.scope, state }), state, expires_at: expiresAt.toISOString(), browserNonce };
  }

  /**
   * The `state` WeChat handed back: it must be one this tenant issued for this purpose, unused,
   * within ten minutes, and started by this browser (the cookie set with it). Used once, whatever
   * happens next.
   */
  async function finish(tenantId: string, purpose: 'login' | 'link', state: string, browserNonce: string | undefined) {
    const row = await wechatRepo.claimState(db, tenantId, sha256Hex(state), purpose, clock.now());
    if (!row) throw new AppError('unauthorized', WX.stateUnknown());
    if (!browserNonce || sha256Hex(browserNonce) !== row.browser_hash) {
      throw new AppError('unauthorized', WX.otherBrowser());
    }
    return row;
  }

  /** The code for the openid (and, with snsapi_userinfo, the nickname), checked against WeChat. */
  async function exchange(tenantId: string, appId: string, scope: string, code: string) {
    const creds = await credentials(tenantId);
    if (creds.appId !== appId) throw invalidState(WX.appChanged());
    let token;
    try {
      token = await mp.exchangeCode({ appId, secret: creds.secret, code });
    } catch (err) {
      fromWechat(err);
    }
    // 快照页: the page was shown as a snapshot and the openid is a virtual one; nothing to link.
    if (token.isSnapshotUser) throw invalidState(WX.snapshot());
    let nickname: string | undefined;
    if (scope === 'snsapi_userinfo' && token.scope.split(',').includes('snsapi_userinfo')) {
      try {
        const info = await mp.userInfo({ accessToken: token.accessToken, openid: token.openid });
        if (info.openid !== token.openid) throw new WechatApiError(null, 'userinfo answered for another openid', '/sns/userinfo');
        nickname = info.nickname;
      } catch (err) {
        fromWechat(err);
      }
    }
    return { openid: token.openid, nickname };
  }

  async function linkView(tenantId: string, distributorId: string): Promise<WechatLinkView> {
    const s = await wechatRepo.findSettings(db, tenantId);
    const configured = !!s?.app_secret_enc;
    const identity = s ? await wechatRepo.identityOf(db, tenantId, s.app_id, distributorId) : undefined;
    if (!identity)
      return { configured, linked: false, app_id: s?.app_id ?? null, openid_masked: null, nickname: null, linked_at: null, payout_account_id: null };
    const openid = keyring.decrypt(identity.openid_enc);
    const account = await payoutAccounts.findByIdentity(tenantId, distributorId, { channel: 'wechat', openid });
    return {
      configured,
      linked: true,
      app_id: identity.app_id,
      openid_masked: maskTail(openid, 4, 4),
      nickname: identity.nickname_enc ? keyring.decrypt(identity.nickname_enc) : null,
      linked_at: identity.linked_at.toISOString(),
      payout_account_id: account?.id ?? null,
    };
  }

  return {
    callbackUrl,

    // --------------------------------------------------------------------- merchant settings

    async settings(actor: Actor): Promise<WechatSettingsView> {
      requirePermission(actor.principal, 'read');
      return settingsView(await wechatRepo.findSettings(db, tenantOf(actor.principal)));
    },

    /**
     * Sets the official account. The secret is encrypted and never shown again; a new app id
     * needs its secret (the old one belongs to the old app). Cached tokens of the old settings go.
     */
    async putSettings(actor: Actor, input: { app_id: string; app_secret?: string | undefined }): Promise<WechatSettingsView> {
      requirePermission(actor.principal, 'keys:write');
      const tenantId = tenantOf(actor.principal);
      const now = clock.now();
      await inTransaction(db, async (tx) => {
        const before = await wechatRepo.findSettings(tx, tenantId);
        const keepSecret = input.app_secret === undefined && before?.app_id === input.app_id;
        if (input.app_secret === undefined && before && before.app_id !== input.app_id) {
          throw invalid(WX.newAppNeedsSecret());
        }
        const secretEnc = input.app_secret !== undefined ? keyring.encrypt(input.app_secret) : keepSecret ? (before?.app_secret_enc ?? null) : null;
        await wechatRepo.upsertSettings(tx, tenantId, { app_id: input.app_id, app_secret_enc: secretEnc }, now);
        await wechatRepo.deleteTokensOf(tx, tenantId);
        await audit.record(tx, actor, {
          action: 'wechat.settings.put',
          targetType: 'wechat',
          targetId: tenantId,
          before: before ? { app_id: before.app_id, app_secret_configured: !!before.app_secret_enc } : null,
          after: { app_id: input.app_id, app_secret_configured: secretEnc !== null, app_secret_changed: input.app_secret !== undefined },
        });
      });
      return settingsView(await wechatRepo.findSettings(db, tenantId));
    },

    // ------------------------------------------------------------------------ sign-in, link

    /** Whether the login page offers WeChat (an unknown or suspended tenant: no). */
    async portalStatus(tenantId: string): Promise<{ enabled: boolean }> {
      if ((await tenants.status(tenantId)) !== 'active') return { enabled: false };
      return { enabled: !!(await wechatRepo.findSettings(db, tenantId))?.app_secret_enc };
    },

    /** Starts a sign-in from the portal's login page (or straight away inside WeChat). */
    async authorizeLogin(input: { tenant_id: string; scope?: WechatOauthScope | undefined; return_to?: string | undefined }): Promise<StartedAuthorization> {
      await activeTenant(input.tenant_id);
      return start(input.tenant_id, { purpose: 'login', scope: input.scope ?? 'snsapi_base', distributorId: null, returnTo: input.return_to ?? null });
    },

    /** Starts linking WeChat to the signed-in distributor (its openid becomes its WeChat payout account). */
    async authorizeLink(actorIn: Actor, input: { scope?: WechatOauthScope | undefined; return_to?: string | undefined }): Promise<StartedAuthorization> {
      const actor = asDistributor(actorIn);
      return start(actor.principal.tenantId, {
        purpose: 'link',
        scope: input.scope ?? 'snsapi_userinfo',
        distributorId: actor.principal.distributorId,
        returnTo: input.return_to ?? null,
      });
    },

    /**
     * The browser is back from WeChat with a code: an openid linked to a distributor signs it in;
     * an unknown one is said so (sign in by phone, then link).
     */
    async login(input: { tenant_id: string; code: string; state: string }, browserNonce: string | undefined): Promise<LoginResult> {
      await activeTenant(input.tenant_id);
      const st = await finish(input.tenant_id, 'login', input.state, browserNonce);
      const { openid, nickname } = await exchange(input.tenant_id, st.app_id, st.scope, input.code);
      const identity = await wechatRepo.identityByOpenid(db, input.tenant_id, st.app_id, keyring.blindIndexes(openid));
      if (!identity) {
        return {
          result: 'not_linked',
          return_to: st.return_to,
          message: 'this WeChat account is not linked to a distributor of this merchant: sign in with your phone, then link WeChat',
        };
      }
      const d = await distributors.load(db, input.tenant_id, identity.distributor_id);
      if (!SIGN_IN_STATUSES.has(d.status)) throw new AppError('unauthorized', WX.closed(d.status));
      if (nickname) await wechatRepo.updateNickname(db, input.tenant_id, st.app_id, identity.openid_bidx, keyring.encrypt(nickname), clock.now());
      const s = await admin.issueSession(input.tenant_id, 'distributor', d.id, 'distributor');
      return {
        result: 'signed_in',
        session: { token: s.token, expires_at: s.expires_at, tenant_id: input.tenant_id, distributor_id: d.id },
        return_to: st.return_to,
      };
    },

    /**
     * Links the openid WeChat vouched for to the signed-in distributor who started the round trip,
     * and makes it the distributor's WeChat payout account (confirmed: the payee proved it holds
     * it), unless the WeChat Pay configured pays another app's openids.
     */
    async link(actorIn: Actor, input: { code: string; state: string }, browserNonce: string | undefined): Promise<LinkResult> {
      const actor = asDistributor(actorIn);
      const { tenantId, distributorId } = actor.principal;
      const st = await finish(tenantId, 'link', input.state, browserNonce);
      if (st.distributor_id !== distributorId) throw new AppError('unauthorized', WX.otherSession());
      const { openid, nickname } = await exchange(tenantId, st.app_id, st.scope, input.code);
      const taken = await wechatRepo.identityByOpenid(db, tenantId, st.app_id, keyring.blindIndexes(openid));
      if (taken && taken.distributor_id !== distributorId) throw conflict(WX.taken());

      const pay = deps.wechatPay();
      if (!pay || pay.appId === st.app_id) {
        const account = await payoutAccounts.findByIdentity(tenantId, distributorId, { channel: 'wechat', openid });
        if (!account) await payoutAccounts.add(actor, distributorId, { channel: 'wechat', openid });
        else if (!account.confirmed) await payoutAccounts.confirm(actor, distributorId, account.id);
      }
      const now = clock.now();
      try {
        await inTransaction(db, async (tx) => {
          const mine = await wechatRepo.identityOf(tx, tenantId, st.app_id, distributorId);
          const same = mine && keyring.blindIndexes(openid).includes(mine.openid_bidx);
          if (same) {
            if (nickname) await wechatRepo.updateNickname(tx, tenantId, st.app_id, mine.openid_bidx, keyring.encrypt(nickname), now);
            return;
          }
          if (mine) await wechatRepo.deleteIdentityOf(tx, tenantId, st.app_id, distributorId);
          await wechatRepo.insertIdentity(tx, {
            id: newId('wxi'),
            tenant_id: tenantId,
            app_id: st.app_id,
            openid_bidx: keyring.blindIndex(openid),
            openid_enc: keyring.encrypt(openid),
            distributor_id: distributorId,
            nickname_enc: nickname ? keyring.encrypt(nickname) : null,
            scope: st.scope,
            at: now,
          });
          await audit.record(tx, actor, {
            action: mine ? 'wechat.relink' : 'wechat.link',
            targetType: 'distributor',
            targetId: distributorId,
            after: { app_id: st.app_id, openid: maskTail(openid, 4, 4), scope: st.scope },
          });
        });
      } catch (err) {
        if (isUniqueViolation(err)) throw conflict(WX.taken());
        throw err;
      }
      return { ...(await linkView(tenantId, distributorId)), return_to: st.return_to };
    },

    async me(actorIn: Actor): Promise<WechatLinkView> {
      const actor = asDistributor(actorIn);
      return linkView(actor.principal.tenantId, actor.principal.distributorId);
    },

    // ---------------------------------------------------------------------------- JS-SDK

    /** wx.config's fields for a page of this server (the JS接口安全域名 is its domain). */
    async jsConfig(actorIn: Actor, input: { url: string }): Promise<JsConfig> {
      const actor = asDistributor(actorIn);
      const tenantId = actor.principal.tenantId;
      let parsed: URL;
      try {
        parsed = new URL(input.url);
      } catch {
        throw invalid(WX.badUrl());
      }
      if (parsed.origin !== publicOrigin) throw invalid(WX.foreignUrl(publicOrigin));
      const creds = await credentials(tenantId);
      let ticket: string;
      try {
        ticket = await jsapiTicket(tenantId, creds);
      } catch (err) {
        fromWechat(err);
      }
      const url = pageUrl(input.url);
      const timestamp = Math.floor(clock.now().getTime() / 1000);
      const nonce = nonceStr();
      return { app_id: creds.appId, timestamp, nonce_str: nonce, signature: jsSdkSignature({ jsapiTicket: ticket, nonceStr: nonce, timestamp, url }), url };
    },

    /** What requestMerchantTransfer needs for the distributor's own withdrawal waiting for it in WeChat. */
    async transferConfirmation(actorIn: Actor, withdrawalId: string): Promise<TransferConfirmation> {
      const actor = asDistributor(actorIn);
      const w = await deps.withdrawals.get(actor, withdrawalId);
      const pay = deps.wechatPay();
      if (w.channel !== 'wechat' || !pay) throw invalidState(WX.notWechatPay());
      if (w.payout?.state !== 'wait_user_confirm' || !w.payout.package_info) throw invalidState(WX.notWaiting());
      return { mch_id: pay.mchId, app_id: pay.appId, package: w.payout.package_info };
    },

    /** The same for my deposit refund whose WeChat transfer waits for me (another distributor's: 404). */
    async depositRefundConfirmation(actorIn: Actor, refundId: string): Promise<TransferConfirmation> {
      const actor = asDistributor(actorIn);
      const r = await deps.withdrawals.depositRefunds.get(actor, refundId);
      const pay = deps.wechatPay();
      if (r.channel !== 'wechat' || !pay) throw invalidState(WX.refundNotWechatPay());
      if (r.payout?.state !== 'wait_user_confirm' || !r.payout.package_info) throw invalidState(WX.refundNotWaiting());
      return { mch_id: pay.mchId, app_id: pay.appId, package: r.payout.package_info };
    },
  };
}

export type WechatService = ReturnType<typeof createWechatService>;
