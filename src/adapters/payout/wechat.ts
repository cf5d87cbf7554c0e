import { constants, createDecipheriv, createSign, createVerify, publicEncrypt, randomBytes, type KeyObject } from 'node:crypto';
import { loadPrivateKey, loadPublicKey } from './keys.ts';
import {
  CallbackRejected,
  type CallbackResult,
  type PaymentNotification,
  type PayoutChannel,
  type PayoutOutcome,
  type PayoutRequest,
  type PayoutResult,
  type QueryResult,
} from './types.ts';

/**
 * WeChat Pay API v3 商家转账 (merchant transfer, user-confirmation mode), spoken directly over
 * fetch and node:crypto: there is no official Node SDK (reference/payout-channels.md).
 *
 * Trust rule: only a response whose Wechatpay-Signature verifies with a platform key we hold can
 * move a payout out of `unknown`. That includes failures and "not found": a forged FAIL would
 * release the money for a second attempt while the first one may still pay.
 */

export const WECHATPAY_DEFAULT_BASE_URL = 'https://api.mch.weixin.qq.com';
const TRANSFER_PATH = '/v3/fund-app/mch-transfer/transfer-bills';
const AUTH_SCHEMA = 'WECHATPAY2-SHA256-RSA2048';
const FINISHED_EVENT = 'MCHTRANSFER.BILL.FINISHED';
/** 支付成功通知: the only event a payment's notify_url receives. */
const PAYMENT_EVENT = 'TRANSACTION.SUCCESS';

export interface WechatPlatformKey {
  /** `Wechatpay-Serial` it answers to: a public key id (PUB_KEY_ID_…) or a platform certificate serial. */
  serial: string;
  /** PEM (public key or certificate), bare base64 SPKI, or a file path. */
  publicKey: string;
}

export interface WechatPayConfig {
  mchId: string;
  /** The official account / mini-program appid the payees' openids belong to. */
  appId: string;
  /** Merchant API private key (apiclient_key.pem): PEM, bare base64 or a file path. */
  merchantPrivateKey: string;
  /** Serial number of the merchant API certificate, sent as serial_no. */
  merchantSerialNo: string;
  /**
   * Keys that sign WeChat Pay's responses and callbacks, by serial. More than one during a
   * rotation; the first also encrypts user_name.
   */
  platformPublicKeys: WechatPlatformKey[];
  /** APIv3 key, 32 ASCII characters: decrypts callback resources. */
  apiV3Key: string;
  /** 转账场景, e.g. "1005" (佣金报酬) or "1000" (现金营销); must be enabled on the merchant account. */
  transferSceneId: string;
  /** transfer_scene_report_infos the scene requires, e.g. 岗位类型 / 报酬说明 for 1005. */
  transferSceneReportInfos: Array<{ infoType: string; infoContent: string }>;
  /** 用户收款感知, optional per scene. */
  userRecvPerception?: string | undefined;
  /** Where MCHTRANSFER.BILL.FINISHED is sent (https, no query string). */
  notifyUrl?: string | undefined;
  /** API origin; tests point it at the local simulator. */
  baseUrl?: string | undefined;
  /** Per request, connect to last byte. */
  timeoutMs?: number | undefined;
  /** How far a response's or callback's Wechatpay-Timestamp may be from now (replay window). */
  signatureToleranceSeconds?: number | undefined;
}

export interface WechatPayDeps {
  fetch?: typeof fetch;
  clock?: { now(): Date };
  /** The nonce_str of each request. */
  nonce?: () => string;
}

/* ----------------------------------------------------------------------------------------------
 * Signing, verifying, decrypting: pure functions, exported for tests against fixed vectors.
 * -------------------------------------------------------------------------------------------- */

/** `METHOD\nURL\ntimestamp\nnonce\nbody\n`; URL is the path with its query, body '' for GET. */
export function wechatRequestMessage(method: string, pathAndQuery: string, timestamp: string, nonce: string, body: string): string {
  return `${method.toUpperCase()}\n${pathAndQuery}\n${timestamp}\n${nonce}\n${body}\n`;
}

/** SHA256withRSA (PKCS#1 v1.5) with the merchant private key, Base64. */
export function signWechatMessage(privateKey: KeyObject, message: string): string {
  return createSign('RSA-SHA256').update(message, 'utf8').sign(privateKey, 'base64');
}

export function wechatAuthorization(fields: { mchId: string; nonce: string; timestamp: string; serialNo: string; signature: string }): string {
  return (
    `${AUTH_SCHEMA} mchid="${fields.mchId}",nonce_str="${fields.nonce}",timestamp="${fields.timestamp}",` +
    `serial_no="${fields.serialNo}",signature="${fields.signature}"`
  );
}

/**
 * Checks `timestamp\nnonce\nbody\n` over the body's raw bytes: re-serialising parsed JSON could
 * change key order or escapes and is never what was signed.
 */
export function verifyWechatSignature(publicKey: KeyObject, timestamp: string, nonce: string, rawBody: Buffer, signature: string): boolean {
  const message = Buffer.concat([Buffer.from(`${timestamp}\n${nonce}\n`, 'utf8'), rawBody, Buffer.from('\n', 'utf8')]);
  try {
    return createVerify('RSA-SHA256').update(message).verify(publicKey, signature, 'base64');
  } catch {
    return false;
  }
}

export interface WechatEncryptedResource {
  algorithm: string;
  ciphertext: string;
  nonce: string;
  associated_data?: string | undefined;
  original_type?: string | undefined;
}

/** AEAD_AES_256_GCM with the APIv3 key: ciphertext is Base64 of data ‖ 16-byte tag. Throws on a bad tag. */
export function decryptWechatResource(apiV3Key: string, resource: WechatEncryptedResource): string {
  if (resource.algorithm !== 'AEAD_AES_256_GCM') throw new Error(`unsupported algorithm ${resource.algorithm}`);
  const key = Buffer.from(apiV3Key, 'utf8');
  const iv = Buffer.from(resource.nonce, 'utf8');
  if (key.length !== 32) throw new Error('APIv3 key must be 32 bytes');
  if (iv.length !== 12) throw new Error('resource nonce must be 12 bytes');
  const data = Buffer.from(resource.ciphertext, 'base64');
  if (data.length < 17) throw new Error('ciphertext too short');
  const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: 16 });
  decipher.setAuthTag(data.subarray(data.length - 16));
  decipher.setAAD(Buffer.from(resource.associated_data ?? '', 'utf8'));
  return Buffer.concat([decipher.update(data.subarray(0, data.length - 16)), decipher.final()]).toString('utf8');
}

/** RSA-OAEP (SHA-1, as WeChat Pay specifies) with the platform public key, Base64. */
export function encryptWechatSensitive(publicKey: KeyObject, plain: string): string {
  return publicEncrypt({ key: publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' }, Buffer.from(plain, 'utf8')).toString('base64');
}

/* ----------------------------------------------------------------------------------------------
 * States and codes.
 * -------------------------------------------------------------------------------------------- */

/** Bill states by the reference; anything else is unfamiliar and so `unknown`. */
export function wechatStateOutcome(state: unknown): PayoutOutcome {
  switch (state) {
    case 'ACCEPTED':
    case 'PROCESSING':
    case 'TRANSFERING':
    case 'CANCELING':
      return 'processing';
    case 'WAIT_USER_CONFIRM':
      return 'wait_user_confirm';
    case 'SUCCESS':
      return 'succeeded';
    case 'FAIL':
      return 'failed';
    case 'CANCELLED':
      return 'cancelled';
    default:
      return 'unknown';
  }
}

/**
 * Error codes that prove the bill was never created, so the same request would be refused again.
 * Deliberately short: INVALID_REQUEST also covers "单号已存在但信息不一致" (a bill does exist),
 * NOT_ENOUGH may leave a bill waiting for funds, and everything unlisted is `unknown` by the
 * official rule (query, then resend with the same out_bill_no).
 */
const WECHAT_DEFINITE_REJECTIONS = new Set(['PARAM_ERROR', 'NO_AUTH']);

/** 2,000 yuan and above the payee's real name is mandatory. */
const USER_NAME_REQUIRED_FROM_FEN = 200_000;
const REMARK_MAX_CHARS = 32;

/* ----------------------------------------------------------------------------------------------
 * The channel.
 * -------------------------------------------------------------------------------------------- */

type Reply =
  | { kind: 'no_reply'; error: string }
  | { kind: 'unverified'; status: number; body: string; reason: string }
  | { kind: 'verified'; status: number; body: string; json: Record<string, unknown> | undefined };

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function rawOf(reply: Reply): unknown {
  switch (reply.kind) {
    case 'no_reply':
      return { error: reply.error };
    case 'unverified':
      return { status: reply.status, body: reply.body, unverified: reply.reason };
    case 'verified':
      return reply.json ?? { status: reply.status, body: reply.body };
  }
}

function headerValue(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() !== wanted) continue;
    // Two copies of a signature header is not something WeChat Pay sends: refuse to pick one.
    return typeof value === 'string' ? value : undefined;
  }
  return undefined;
}

export interface WechatPayChannel extends PayoutChannel {
  readonly name: 'wechat';
  /** What the payee's page passes to requestMerchantTransfer beside the package. */
  readonly mchId: string;
  readonly appId: string;
  cancel(outNo: string): Promise<PayoutResult>;
  verifyCallback(headers: Record<string, string | string[] | undefined>, rawBody: Buffer): Promise<CallbackResult>;
  /** A payment notification (支付成功通知) to the same merchant, verified and decrypted; throws CallbackRejected. */
  verifyPayment(headers: Record<string, string | string[] | undefined>, rawBody: Buffer): Promise<PaymentNotification>;
}

export function createWechatPayChannel(config: WechatPayConfig, deps: WechatPayDeps = {}): WechatPayChannel {
  const merchantKey = loadPrivateKey(config.merchantPrivateKey);
  const encryptionKey = config.platformPublicKeys[0];
  if (!encryptionKey) throw new Error('wechat: at least one platform public key is required');
  const platformKeys = new Map(config.platformPublicKeys.map((k) => [k.serial, loadPublicKey(k.publicKey)] as const));
  const encryptionPublicKey = platformKeys.get(encryptionKey.serial);
  if (!encryptionPublicKey) throw new Error(`wechat: platform key ${encryptionKey.serial} did not load`);
  if (Buffer.byteLength(config.apiV3Key, 'utf8') !== 32) throw new Error('wechat: the APIv3 key must be 32 bytes');
  const baseUrl = (config.baseUrl ?? WECHATPAY_DEFAULT_BASE_URL).replace(/\/+$/, '');
  const timeoutMs = config.timeoutMs ?? 10_000;
  const toleranceSeconds = config.signatureToleranceSeconds ?? 300;
  const doFetch = deps.fetch ?? fetch;
  const clock = deps.clock ?? { now: () => new Date() };
  const nonce = deps.nonce ?? (() => randomBytes(16).toString('hex').toUpperCase());

  const nowSeconds = () => Math.floor(clock.now().getTime() / 1000);

  /** Which verification step refused a signed message, or undefined when it holds. */
  function checkSigned(
    timestamp: string | undefined,
    nonceValue: string | undefined,
    signature: string | undefined,
    serial: string | undefined,
    rawBody: Buffer,
  ): string | undefined {
    if (!timestamp || !nonceValue || !signature || !serial) return 'missing signature headers';
    const key = platformKeys.get(serial);
    if (!key) return `unknown Wechatpay-Serial ${serial}`;
    if (!/^\d{1,12}$/.test(timestamp)) return 'malformed Wechatpay-Timestamp';
    if (Math.abs(nowSeconds() - Number(timestamp)) > toleranceSeconds) return 'Wechatpay-Timestamp outside the tolerance';
    if (!verifyWechatSignature(key, timestamp, nonceValue, rawBody, signature)) return 'bad signature';
    return undefined;
  }

  async function call(method: 'GET' | 'POST', path: string, body: string | undefined, extraHeaders: Record<string, string> = {}): Promise<Reply> {
    const timestamp = String(nowSeconds());
    const nonceValue = nonce();
    const signature = signWechatMessage(merchantKey, wechatRequestMessage(method, path, timestamp, nonceValue, body ?? ''));
    let status: number;
    let raw: Buffer;
    let headers: Headers;
    try {
      const res = await doFetch(baseUrl + path, {
        method,
        headers: {
          Authorization: wechatAuthorization({ mchId: config.mchId, nonce: nonceValue, timestamp, serialNo: config.merchantSerialNo, signature }),
          Accept: 'application/json',
          'User-Agent': 'fenxiao-payout',
          ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
          ...extraHeaders,
        },
        body,
        signal: AbortSignal.timeout(timeoutMs),
      });
      status = res.status;
      headers = res.headers;
      raw = Buffer.from(await res.arrayBuffer());
    } catch (err) {
      return { kind: 'no_reply', error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) };
    }
    const text = raw.toString('utf8');
    const refused = checkSigned(
      headers.get('wechatpay-timestamp') ?? undefined,
      headers.get('wechatpay-nonce') ?? undefined,
      headers.get('wechatpay-signature') ?? undefined,
      headers.get('wechatpay-serial') ?? undefined,
      raw,
    );
    if (refused) return { kind: 'unverified', status, body: text, reason: refused };
    let json: Record<string, unknown> | undefined;
    if (text !== '') {
      try {
        const parsed: unknown = JSON.parse(text);
        if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) json = parsed as Record<string, unknown>;
      } catch {
        json = undefined;
      }
    }
    return { kind: 'verified', status, body: text, json };
  }

  /** Reads a verified bill (create, query or cancel answer) that must be about `outNo`. */
  function billResult(outNo: string, json: Record<string, unknown>, raw: unknown): PayoutResult & { amountFen?: number | undefined } {
    if (json.out_bill_no !== outNo) return { outcome: 'unknown', raw };
    const outcome = wechatStateOutcome(json.state);
    const amount = json.transfer_amount;
    return {
      outcome,
      providerRef: str(json.transfer_bill_no),
      failCode: outcome === 'failed' ? (str(json.fail_reason) ?? 'FAIL') : undefined,
      packageInfo: outcome === 'wait_user_confirm' ? str(json.package_info) : undefined,
      amountFen: typeof amount === 'number' && Number.isSafeInteger(amount) ? amount : undefined,
      raw,
    };
  }

  function localRefusal(request: PayoutRequest): PayoutResult | undefined {
    const refuse = (failCode: string, failReason: string): PayoutResult => ({ outcome: 'failed', failCode, failReason, raw: { local: failCode } });
    if (!/^[A-Za-z0-9]{1,32}$/.test(request.outNo)) return refuse('LOCAL_INVALID_OUT_NO', 'out_bill_no must be 1-32 letters and digits');
    if (!Number.isSafeInteger(request.amountFen) || request.amountFen <= 0)
      return refuse('LOCAL_INVALID_AMOUNT', 'transfer_amount must be a positive integer of fen');
    if ([...request.remark].length > REMARK_MAX_CHARS) return refuse('LOCAL_REMARK_TOO_LONG', `transfer_remark is limited to ${REMARK_MAX_CHARS} characters`);
    if (request.account.channel === 'wechat' && request.amountFen >= USER_NAME_REQUIRED_FROM_FEN && !request.account.userName) {
      return refuse('LOCAL_USER_NAME_REQUIRED', 'user_name is required from 2,000 yuan');
    }
    return undefined;
  }

  /**
   * A notification's decrypted resource, once its signature holds (verify first, then decrypt),
   * for the one event type the caller handles. The same merchant keys serve transfer callbacks
   * (payouts) and payment notifications (purchase orders an agent pays online).
   */
  function openNotification(headers: Record<string, string | string[] | undefined>, rawBody: Buffer, eventType: string, what: string): Record<string, unknown> {
    const refused = checkSigned(
      headerValue(headers, 'wechatpay-timestamp'),
      headerValue(headers, 'wechatpay-nonce'),
      headerValue(headers, 'wechatpay-signature'),
      headerValue(headers, 'wechatpay-serial'),
      rawBody,
    );
    if (refused) throw new CallbackRejected(`${what}: ${refused}`);

    let envelope: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(rawBody.toString('utf8'));
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
      envelope = parsed as Record<string, unknown>;
    } catch {
      throw new CallbackRejected(`${what}: body is not a JSON object`);
    }
    if (envelope.event_type !== eventType) throw new CallbackRejected(`${what}: unsupported event_type ${String(envelope.event_type)}`);
    const resource = envelope.resource as Record<string, unknown> | undefined;
    if (
      envelope.resource_type !== 'encrypt-resource' ||
      !resource ||
      typeof resource !== 'object' ||
      typeof resource.ciphertext !== 'string' ||
      typeof resource.nonce !== 'string' ||
      typeof resource.algorithm !== 'string' ||
      (resource.associated_data !== undefined && typeof resource.associated_data !== 'string')
    ) {
      throw new CallbackRejected(`${what}: malformed resource`);
    }

    try {
      const plain = decryptWechatResource(config.apiV3Key, {
        algorithm: resource.algorithm,
        ciphertext: resource.ciphertext,
        nonce: resource.nonce,
        associated_data: resource.associated_data as string | undefined,
      });
      const parsed: unknown = JSON.parse(plain);
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
      return parsed as Record<string, unknown>;
    } catch {
      throw new CallbackRejected(`${what}: resource does not decrypt`);
    }
  }

  return {
    name: 'wechat',
    online: true,
    mchId: config.mchId,
    appId: config.appId,

    async submit(request) {
      if (request.account.channel !== 'wechat') throw new TypeError(`wechat channel got a ${request.account.channel} account`);
      // Deterministic checks only: an identical resend is refused the same way, so a payout that
      // was once sent can never be refused here later.
      const refused = localRefusal(request);
      if (refused) return refused;
      const account = request.account;
      const body: Record<string, unknown> = {
        appid: config.appId,
        out_bill_no: request.outNo,
        transfer_scene_id: config.transferSceneId,
        openid: account.openid,
        transfer_amount: request.amountFen,
        transfer_remark: request.remark,
      };
      const extraHeaders: Record<string, string> = {};
      if (account.userName) {
        body.user_name = encryptWechatSensitive(encryptionPublicKey, account.userName);
        // Tells WeChat Pay which of its keys can decrypt user_name.
        extraHeaders['Wechatpay-Serial'] = encryptionKey.serial;
      }
      if (config.notifyUrl) body.notify_url = config.notifyUrl;
      if (config.userRecvPerception) body.user_recv_perception = config.userRecvPerception;
      body.transfer_scene_report_infos = config.transferSceneReportInfos.map((i) => ({ info_type: i.infoType, info_content: i.infoContent }));

      const reply = await call('POST', TRANSFER_PATH, JSON.stringify(body), extraHeaders);
      const raw = rawOf(reply);
      if (reply.kind !== 'verified') return { outcome: 'unknown', raw };
      if (reply.status === 200 && reply.json) {
        const { amountFen: _amount, ...result } = billResult(request.outNo, reply.json, raw);
        return result;
      }
      const code = str(reply.json?.code);
      if (reply.status >= 400 && reply.status < 500 && code && WECHAT_DEFINITE_REJECTIONS.has(code)) {
        return { outcome: 'failed', failCode: code, failReason: str(reply.json?.message), raw };
      }
      return { outcome: 'unknown', failCode: code, raw };
    },

    async query(outNo): Promise<QueryResult> {
      const reply = await call('GET', `${TRANSFER_PATH}/out-bill-no/${encodeURIComponent(outNo)}`, undefined);
      const raw = rawOf(reply);
      // `found: false` is kept for the provider's verified "no such bill": it licenses a resend.
      if (reply.kind !== 'verified') return { found: true, outcome: 'unknown', raw };
      if (reply.status === 200 && reply.json) return { found: true, ...billResult(outNo, reply.json, raw) };
      const code = str(reply.json?.code);
      if (reply.status === 404 && code === 'NOT_FOUND') return { found: false, outcome: 'unknown', raw };
      return { found: true, outcome: 'unknown', failCode: code, raw };
    },

    async cancel(outNo) {
      const reply = await call('POST', `${TRANSFER_PATH}/out-bill-no/${encodeURIComponent(outNo)}/cancel`, '');
      const raw = rawOf(reply);
      if (reply.kind === 'verified' && reply.status === 200 && reply.json) {
        const { amountFen: _amount, ...result } = billResult(outNo, reply.json, raw);
        // A cancel answer only ever says the bill is being or has been cancelled; anything else
        // (even a FAIL it should not send) is left to the query that confirms the cancel.
        if (result.outcome === 'processing' || result.outcome === 'cancelled') return result;
      }
      // A refused cancel never means the transfer failed: the payee may have confirmed already.
      return { outcome: 'unknown', failCode: reply.kind === 'verified' ? str(reply.json?.code) : undefined, raw };
    },

    async verifyCallback(headers, rawBody) {
      const payload = openNotification(headers, rawBody, FINISHED_EVENT, 'wechat callback');
      const outNo = str(payload.out_bill_no);
      if (!outNo) throw new CallbackRejected('wechat callback: no out_bill_no');
      if (payload.mch_id !== undefined && payload.mch_id !== config.mchId) throw new CallbackRejected('wechat callback: for another merchant');
      const amount = payload.transfer_amount;
      if (amount !== undefined && !(typeof amount === 'number' && Number.isSafeInteger(amount) && amount >= 0)) {
        throw new CallbackRejected('wechat callback: malformed transfer_amount');
      }
      const outcome = wechatStateOutcome(payload.state);
      return {
        outNo,
        outcome,
        providerRef: str(payload.transfer_bill_no),
        amountFen: amount as number | undefined,
        failCode: outcome === 'failed' ? (str(payload.fail_reason) ?? 'FAIL') : undefined,
        raw: payload,
      };
    },

    async verifyPayment(headers, rawBody) {
      const payload = openNotification(headers, rawBody, PAYMENT_EVENT, 'wechat payment notification');
      if (payload.mchid !== config.mchId) throw new CallbackRejected('wechat payment notification: for another merchant');
      const outTradeNo = str(payload.out_trade_no);
      if (!outTradeNo) throw new CallbackRejected('wechat payment notification: no out_trade_no');
      const state = str(payload.trade_state) ?? '';
      const amount = payload.amount as Record<string, unknown> | undefined;
      const total = amount && typeof amount === 'object' ? amount.total : undefined;
      const transactionId = str(payload.transaction_id);
      if (state !== 'SUCCESS') return { outTradeNo, transactionId, amountFen: undefined, paid: false, state };
      if (!transactionId) throw new CallbackRejected('wechat payment notification: no transaction_id');
      if (!(typeof total === 'number' && Number.isSafeInteger(total) && total >= 0))
        throw new CallbackRejected('wechat payment notification: malformed amount.total');
      if (amount?.currency !== undefined && amount.currency !== 'CNY')
        throw new CallbackRejected(`wechat payment notification: currency ${String(amount.currency)}`);
      return { outTradeNo, transactionId, amountFen: total, paid: true, state };
    },
  };
}
