import type { Static } from '@sinclair/typebox';
import type * as WechatSchemas from '../../../src/modules/wechat/schema.ts';
import type { ApiClient } from '../../shared/api.ts';

/**
 * The portal inside WeChat's browser: 网页授权 round trips, the JS-SDK (wx.config with a
 * signature from the server) and WeixinJSBridge for requestMerchantTransfer.
 */

export type Authorization = Static<typeof WechatSchemas.Authorization>;
export type LoginResult = Static<typeof WechatSchemas.LoginResult>;
export type LinkResult = Static<typeof WechatSchemas.LinkResult>;
export type WechatLinkView = Static<typeof WechatSchemas.WechatLinkView>;
export type JsConfig = Static<typeof WechatSchemas.JsConfig>;
export type TransferConfirmation = Static<typeof WechatSchemas.TransferConfirmation>;

export function inWechat(): boolean {
  return /MicroMessenger/i.test(navigator.userAgent);
}

/** What the page that started a round trip remembers, to check the state WeChat hands back. */
const PENDING_KEY = 'fenxiao.portal.wx.pending';
/** Set once the login page sent this tab to WeChat by itself: it does not loop when WeChat says no. */
const AUTO_KEY = 'fenxiao.portal.wx.auto';

export interface PendingAuth {
  purpose: 'login' | 'link';
  state: string;
  tenant_id: string;
}

export function takePending(): PendingAuth | null {
  try {
    const raw = window.sessionStorage.getItem(PENDING_KEY);
    window.sessionStorage.removeItem(PENDING_KEY);
    return raw ? (JSON.parse(raw) as PendingAuth) : null;
  } catch {
    return null;
  }
}

export function autoTried(): boolean {
  return window.sessionStorage.getItem(AUTO_KEY) === '1';
}

/** Asks the server where to send the browser, remembers the state, and goes. */
export async function startWechatAuth(
  api: ApiClient,
  purpose: 'login' | 'link',
  tenantId: string,
  options: { scope?: 'snsapi_base' | 'snsapi_userinfo'; returnTo?: string; auto?: boolean } = {},
): Promise<void> {
  const body = { ...(options.scope ? { scope: options.scope } : {}), ...(options.returnTo ? { return_to: options.returnTo } : {}) };
  const auth =
    purpose === 'login'
      ? await api.post<Authorization>('/v1/portal/wechat/authorize', { tenant_id: tenantId, ...body })
      : await api.post<Authorization>('/v1/me/wechat/authorize', body);
  const pending: PendingAuth = { purpose, state: auth.state, tenant_id: tenantId };
  window.sessionStorage.setItem(PENDING_KEY, JSON.stringify(pending));
  if (options.auto) window.sessionStorage.setItem(AUTO_KEY, '1');
  window.location.assign(auth.url);
}

// ------------------------------------------------------------------------------------ JS-SDK

interface WxConfig {
  debug: boolean;
  appId: string;
  timestamp: number;
  nonceStr: string;
  signature: string;
  jsApiList: string[];
}

export interface Wx {
  config(c: WxConfig): void;
  ready(fn: () => void): void;
  error(fn: (res: { errMsg?: string }) => void): void;
  updateAppMessageShareData(o: { title: string; desc: string; link: string; imgUrl: string; success?: () => void }): void;
  updateTimelineShareData(o: { title: string; link: string; imgUrl: string; success?: () => void }): void;
}

interface WeixinJSBridge {
  invoke(name: string, args: Record<string, string>, cb: (res: { err_msg?: string }) => void): void;
}

declare global {
  interface Window {
    wx?: Wx;
    WeixinJSBridge?: WeixinJSBridge;
  }
}

const JSSDK_URL = 'https://res.wx.qq.com/open/js/jweixin-1.6.0.js';
let sdk: Promise<Wx> | null = null;

/** WeChat's jweixin script (the portal's CSP allows its host), once per page. */
function loadSdk(): Promise<Wx> {
  if (window.wx) return Promise.resolve(window.wx);
  sdk ??= new Promise<Wx>((resolve, reject) => {
    const script = document.createElement('script');
    script.src = JSSDK_URL;
    script.onload = () => (window.wx ? resolve(window.wx) : reject(new Error('jweixin did not load')));
    script.onerror = () => {
      sdk = null;
      reject(new Error('jweixin did not load'));
    };
    document.head.appendChild(script);
  });
  return sdk;
}

/** wx.config for this page with the server's signature; resolves on wx.ready, rejects on wx.error. */
export async function configureJssdk(api: ApiClient, jsApiList: string[]): Promise<Wx> {
  const [wx, cfg] = await Promise.all([loadSdk(), api.post<JsConfig>('/v1/me/wechat/js-config', { url: window.location.href.split('#')[0] })]);
  return new Promise<Wx>((resolve, reject) => {
    wx.ready(() => resolve(wx));
    wx.error((res) => reject(new Error(res.errMsg ?? 'wx.config failed')));
    wx.config({ debug: false, appId: cfg.app_id, timestamp: cfg.timestamp, nonceStr: cfg.nonce_str, signature: cfg.signature, jsApiList });
  });
}

/** WeChat's own confirmation page for a transfer waiting for the payee; resolves with its err_msg. */
export async function requestMerchantTransfer(api: ApiClient, withdrawalId: string): Promise<string> {
  return confirmTransfer(api, `/v1/me/withdrawals/${encodeURIComponent(withdrawalId)}/wechat-confirmation`);
}

/** The same for the WeChat transfer refunding the distributor's deposit. */
export async function requestDepositRefundTransfer(api: ApiClient, refundId: string): Promise<string> {
  return confirmTransfer(api, `/v1/me/deposit-refunds/${encodeURIComponent(refundId)}/wechat-confirmation`);
}

async function confirmTransfer(api: ApiClient, confirmationPath: string): Promise<string> {
  const c = await api.get<TransferConfirmation>(confirmationPath);
  await configureJssdk(api, ['requestMerchantTransfer']);
  const bridge = await bridgeReady();
  return new Promise<string>((resolve) => {
    bridge.invoke('requestMerchantTransfer', { mchId: c.mch_id, appId: c.app_id, package: c.package }, (res) => resolve(res.err_msg ?? ''));
  });
}

function bridgeReady(): Promise<WeixinJSBridge> {
  if (window.WeixinJSBridge) return Promise.resolve(window.WeixinJSBridge);
  return new Promise((resolve, reject) => {
    const timer = window.setTimeout(() => reject(new Error('WeixinJSBridge is not available')), 5000);
    document.addEventListener(
      'WeixinJSBridgeReady',
      () => {
        window.clearTimeout(timer);
        if (window.WeixinJSBridge) resolve(window.WeixinJSBridge);
        else reject(new Error('WeixinJSBridge is not available'));
      },
      { once: true },
    );
  });
}
