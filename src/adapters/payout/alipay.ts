import type { AlipaySdk as AlipaySdkClass } from 'alipay-sdk';
import { lazy, requirePackage } from '../../lib/lazy.ts';

const alipaySdk = lazy(() => (requirePackage('alipay-sdk') as { AlipaySdk: typeof AlipaySdkClass }).AlipaySdk);
import { localDateTime } from '../../core/time.ts';
import { fenToYuan, yuanToFen } from './amount.ts';
import { loadCertificate, loadPrivateKey } from './keys.ts';
import {
  CallbackRejected,
  type CallbackResult,
  type PaymentNotification,
  type PayoutChannel,
  type PayoutOutcome,
  type PayoutResult,
  type QueryResult,
} from './types.ts';

/**
 * Alipay 单笔转账 (`alipay.fund.trans.uni.transfer`) through the official alipay-sdk (v4) in
 * public-key certificate mode, which fund transfers require. The SDK signs requests (adding
 * app_cert_sn and alipay_root_cert_sn) and verifies each response's signature with the public key
 * taken from the Alipay certificate; a response that fails that check throws and is `unknown`.
 */

export const ALIPAY_DEFAULT_GATEWAY = 'https://openapi.alipay.com/gateway.do';
const TRANSFER_METHOD = 'alipay.fund.trans.uni.transfer';
const QUERY_METHOD = 'alipay.fund.trans.common.query';
const ORDER_CHANGED = 'alipay.fund.trans.order.changed';
/** 异步通知 of a trade (当面付, 电脑网站, 手机网站, App 支付). */
const TRADE_NOTIFY = 'trade_status_sync';
const PRODUCT_CODE = 'TRANS_ACCOUNT_NO_PWD';
const BIZ_SCENE = 'DIRECT_TRANSFER';

export interface AlipayConfig {
  appId: string;
  /** Application private key: PEM (PKCS#1 or PKCS#8), bare base64 as the key tool prints it, or a file path. */
  privateKey: string;
  /** appCertPublicKey_<appid>.crt: PEM or a file path. */
  appCert: string;
  /** alipayCertPublicKey_RSA2.crt: PEM or a file path. */
  alipayPublicCert: string;
  /** alipayRootCert.crt (a bundle of several roots): PEM or a file path. */
  alipayRootCert: string;
  /** OpenAPI v1 gateway; tests point it at the local simulator. */
  gateway?: string | undefined;
  timeoutMs?: number | undefined;
}

export interface AlipayDeps {
  clock?: { now(): Date };
}

/**
 * `timestamp` in Beijing time whatever the server's TZ: the SDK formats local time, which on a
 * UTC host is eight hours off what the gateway expects.
 */
export function beijingTimestamp(at: Date): string {
  return localDateTime(at, 'Asia/Shanghai');
}

/**
 * Transfer order statuses (uni.transfer answer, common.query, order.changed). INIT/WAIT_PAY/
 * DEALING are on their way; SUCCESS is paid; FAIL did not pay; CLOSED never paid; REFUND is a
 * bank-card transfer that bounced back, so the money is back with the merchant.
 */
export function alipayStatusOutcome(status: unknown): PayoutOutcome {
  switch (status) {
    case 'INIT':
    case 'WAIT_PAY':
    case 'DEALING':
      return 'processing';
    case 'SUCCESS':
      return 'succeeded';
    case 'FAIL':
    case 'CLOSED':
    case 'REFUND':
      return 'failed';
    default:
      return 'unknown';
  }
}

/**
 * 40004 sub_codes that prove no order was created: the payee cannot receive, or the request is
 * invalid as such. Everything else (SYSTEM_ERROR, PAYMENT_INFO_INCONSISTENCY — the number exists
 * with other details —, PAYER_BALANCE_NOT_ENOUGH, whose official advice is to resend the original
 * request once funded, and any code not listed) is `unknown`: query, then resend identically.
 */
const ALIPAY_DEFINITE_REJECTIONS = new Set([
  'PAYEE_NOT_EXIST',
  'PAYEE_USER_INFO_ERROR',
  'PAYEE_ACC_OCUPIED',
  'PAYEE_ACCOUNT_STATUS_ERROR',
  'PERMIT_NON_BANK_LIMIT_PAYEE',
  'PERM_AML_NOT_REALNAME_REV',
  'EXCEED_LIMIT_UNRN_DM_AMOUNT',
  'EXCEED_LIMIT_SM_MIN_AMOUNT',
  'MEMO_REQUIRED_IN_TRANSFER_ERROR',
  'INVALID_PARAMETER',
]);

/** common.query's "no such order": the only answer that licenses an identical resend. */
const ALIPAY_ORDER_NOT_FOUND = new Set(['ORDER_NOT_EXIST']);

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** A yuan amount as text; a JSON number is read through its shortest decimal text, never multiplied. */
function amountOf(value: unknown): number | undefined {
  if (typeof value !== 'string' && typeof value !== 'number') return undefined;
  try {
    return yuanToFen(String(value));
  } catch {
    return undefined;
  }
}

function errorRaw(err: unknown): unknown {
  if (!(err instanceof Error)) return { error: String(err) };
  const e = err as Error & { responseHttpStatus?: number; responseDataRaw?: string };
  return { error: `${e.name}: ${e.message}`, status: e.responseHttpStatus, body: e.responseDataRaw };
}

/**
 * Alipay's notification signing content: every non-empty parameter but `sign` and `sign_type`,
 * sorted by key, `k=v` joined by `&`, with the values as decoded from the form. Written here rather
 * than through the SDK's checkNotifySign, which also accepts a signature over the set that keeps
 * sign_type and includes empty values.
 */
export function alipayNotifySignContent(params: Map<string, string>): string {
  return [...params.entries()]
    .filter(([key, value]) => key !== 'sign' && key !== 'sign_type' && value !== '')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, value]) => `${key}=${value}`)
    .join('&');
}

export interface AlipayChannel extends PayoutChannel {
  readonly name: 'alipay';
  verifyCallback(headers: Record<string, string | string[] | undefined>, rawBody: Buffer): Promise<CallbackResult>;
  /** A trade's asynchronous notification (异步通知) to the same app, its signature verified; throws CallbackRejected. */
  verifyPayment(rawBody: Buffer): Promise<PaymentNotification>;
  /** The certificate SNs the SDK derived (for diagnostics and the operator's config check). */
  readonly certSn: { app: string; alipay: string; root: string };
}

export function createAlipayChannel(config: AlipayConfig, deps: AlipayDeps = {}): AlipayChannel {
  const clock = deps.clock ?? { now: () => new Date() };
  // One key format for the SDK whatever the operator pasted (it reads PKCS#1 unless told PKCS#8).
  const privateKeyPem = loadPrivateKey(config.privateKey).export({ type: 'pkcs8', format: 'pem' }).toString();
  const AlipaySdk = alipaySdk();
  const sdk = new AlipaySdk({
    appId: config.appId,
    privateKey: privateKeyPem,
    keyType: 'PKCS8',
    signType: 'RSA2',
    appCertContent: loadCertificate(config.appCert),
    alipayPublicCertContent: loadCertificate(config.alipayPublicCert),
    alipayRootCertContent: loadCertificate(config.alipayRootCert),
    gateway: config.gateway ?? ALIPAY_DEFAULT_GATEWAY,
    timeout: config.timeoutMs ?? 10_000,
    // Keep Alipay's snake_case keys: raw answers are stored for reconciliation as received.
    camelcase: false,
  });

  /** One signed call; a throw (network, timeout, non-200, bad signature, bad JSON) is no answer. */
  async function exec(method: string, bizContent: Record<string, unknown>): Promise<{ ok: true; data: Record<string, unknown> } | { ok: false; raw: unknown }> {
    try {
      const data = await sdk.exec(method, { timestamp: beijingTimestamp(clock.now()), bizContent }, { validateSign: true });
      return { ok: true, data: data as Record<string, unknown> };
    } catch (err) {
      return { ok: false, raw: errorRaw(err) };
    }
  }

  function orderResult(data: Record<string, unknown>): PayoutResult {
    const outcome = alipayStatusOutcome(data.status);
    return {
      outcome,
      providerRef: str(data.order_id) ?? str(data.pay_fund_order_id),
      failCode: outcome === 'failed' ? (str(data.error_code) ?? str(data.status)) : undefined,
      failReason: outcome === 'failed' ? str(data.fail_reason) : undefined,
      raw: data,
    };
  }

  /**
   * A notification's parameters once its RSA2 signature holds, for this app and this Alipay
   * certificate. The same app's keys serve transfer notifications (payouts) and trade
   * notifications (purchase orders an agent pays online).
   */
  function verifiedParams(rawBody: Buffer, what: string): Map<string, string> {
    const params = new Map<string, string>();
    for (const [key, value] of new URLSearchParams(rawBody.toString('utf8'))) {
      // A repeated key has no place in a signed notification and could mean two readings.
      if (params.has(key)) throw new CallbackRejected(`${what}: repeated parameter ${key}`);
      params.set(key, value);
    }
    const signature = params.get('sign');
    if (!signature) throw new CallbackRejected(`${what}: unsigned`);
    if (params.get('sign_type') !== 'RSA2') throw new CallbackRejected(`${what}: sign_type must be RSA2`);
    if (params.get('app_id') !== config.appId) throw new CallbackRejected(`${what}: for another app`);
    const certSn = params.get('alipay_cert_sn');
    if (certSn !== undefined && certSn !== sdk.config.alipayCertSn) throw new CallbackRejected(`${what}: unknown alipay_cert_sn`);
    let verified: boolean;
    try {
      // rsaCheck verifies with the public key the SDK read from the Alipay certificate.
      verified = sdk.rsaCheck(alipayNotifySignContent(params), signature, 'RSA2');
    } catch {
      verified = false;
    }
    if (!verified) throw new CallbackRejected(`${what}: bad signature`);
    return params;
  }

  return {
    name: 'alipay',
    online: true,
    certSn: { app: sdk.config.appCertSn, alipay: sdk.config.alipayCertSn, root: sdk.config.alipayRootCertSn },

    async submit(request) {
      if (request.account.channel !== 'alipay') throw new TypeError(`alipay channel got a ${request.account.channel} account`);
      if (!Number.isSafeInteger(request.amountFen) || request.amountFen <= 0) {
        return {
          outcome: 'failed',
          failCode: 'LOCAL_INVALID_AMOUNT',
          failReason: 'trans_amount must be a positive integer of fen',
          raw: { local: 'LOCAL_INVALID_AMOUNT' },
        };
      }
      const account = request.account;
      const payeeInfo: Record<string, string> = { identity: account.identity, identity_type: account.identityType };
      if (account.name) payeeInfo.name = account.name;
      const reply = await exec(TRANSFER_METHOD, {
        out_biz_no: request.outNo,
        trans_amount: fenToYuan(request.amountFen),
        product_code: PRODUCT_CODE,
        biz_scene: BIZ_SCENE,
        order_title: request.remark,
        payee_info: payeeInfo,
      });
      if (!reply.ok) return { outcome: 'unknown', raw: reply.raw };
      const data = reply.data;
      const code = str(data.code);
      const subCode = str(data.sub_code);
      if (code === '10000') {
        if (data.out_biz_no !== undefined && data.out_biz_no !== request.outNo) return { outcome: 'unknown', raw: data };
        return orderResult(data);
      }
      if (code === '40004' && subCode && ALIPAY_DEFINITE_REJECTIONS.has(subCode)) {
        return { outcome: 'failed', failCode: subCode, failReason: str(data.sub_msg), raw: data };
      }
      // 20000, 40004 SYSTEM_ERROR and every unfamiliar code.
      return { outcome: 'unknown', failCode: subCode ?? code, raw: data };
    },

    async query(outNo): Promise<QueryResult> {
      const reply = await exec(QUERY_METHOD, { out_biz_no: outNo, product_code: PRODUCT_CODE, biz_scene: BIZ_SCENE });
      if (!reply.ok) return { found: true, outcome: 'unknown', raw: reply.raw };
      const data = reply.data;
      const code = str(data.code);
      const subCode = str(data.sub_code);
      if (code === '10000') {
        if (data.out_biz_no !== undefined && data.out_biz_no !== outNo) return { found: true, outcome: 'unknown', raw: data };
        return { found: true, ...orderResult(data), amountFen: amountOf(data.trans_amount) };
      }
      if (code === '40004' && subCode && ALIPAY_ORDER_NOT_FOUND.has(subCode)) return { found: false, outcome: 'unknown', raw: data };
      return { found: true, outcome: 'unknown', failCode: subCode ?? code, raw: data };
    },

    async verifyCallback(_headers, rawBody) {
      const params = verifiedParams(rawBody, 'alipay callback');
      if (params.get('msg_method') !== ORDER_CHANGED) throw new CallbackRejected(`alipay callback: unsupported msg_method ${params.get('msg_method') ?? ''}`);

      let biz: Record<string, unknown>;
      try {
        const parsed: unknown = JSON.parse(params.get('biz_content') ?? '');
        if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
        biz = parsed as Record<string, unknown>;
      } catch {
        throw new CallbackRejected('alipay callback: biz_content is not a JSON object');
      }
      const outNo = str(biz.out_biz_no);
      if (!outNo) throw new CallbackRejected('alipay callback: no out_biz_no');
      const amountFen = amountOf(biz.trans_amount);
      if (biz.trans_amount !== undefined && amountFen === undefined) throw new CallbackRejected('alipay callback: malformed trans_amount');
      const result = orderResult(biz);
      return {
        outNo,
        outcome: result.outcome,
        providerRef: result.providerRef,
        amountFen,
        failCode: result.failCode,
        failReason: result.failReason,
        raw: Object.fromEntries(params),
      };
    },

    async verifyPayment(rawBody) {
      const what = 'alipay trade notification';
      const params = verifiedParams(rawBody, what);
      if (params.get('notify_type') !== TRADE_NOTIFY) throw new CallbackRejected(`${what}: unsupported notify_type ${params.get('notify_type') ?? ''}`);
      const outTradeNo = params.get('out_trade_no');
      if (!outTradeNo) throw new CallbackRejected(`${what}: no out_trade_no`);
      const state = params.get('trade_status') ?? '';
      const transactionId = str(params.get('trade_no'));
      // TRADE_FINISHED follows TRADE_SUCCESS once the trade can no longer be refunded: the same
      // payment again. WAIT_BUYER_PAY and TRADE_CLOSED carry no money.
      if (state !== 'TRADE_SUCCESS' && state !== 'TRADE_FINISHED') return { outTradeNo, transactionId, amountFen: undefined, paid: false, state };
      if (!transactionId) throw new CallbackRejected(`${what}: no trade_no`);
      const amountFen = amountOf(params.get('total_amount'));
      if (amountFen === undefined) throw new CallbackRejected(`${what}: malformed total_amount`);
      return { outTradeNo, transactionId, amountFen, paid: true, state };
    },
  };
}
