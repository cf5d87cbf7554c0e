import { createPrivateKey, createPublicKey, createSign, createVerify, randomBytes, X509Certificate, type KeyObject } from 'node:crypto';
import type http from 'node:http';
import { alipayCertSn, alipayRootCertSn, generateRsaKeyPair, issueCert, makeRootCert, type IssuedCert } from './pki.ts';
import { beijingPlain, canonicalJson, listen, type RunningServer } from './http.ts';

/**
 * A local Alipay OpenAPI v1 gateway (`/gateway.do`) in public-key certificate mode, playing
 * `alipay.fund.trans.uni.transfer` and `alipay.fund.trans.common.query` by the published
 * specification. It owns a small PKI made with openssl (an RSA root and an ECDSA root in the root
 * bundle, the Alipay public-key certificate, and app certificates it issues to tests), checks
 * app_cert_sn / alipay_root_cert_sn and the RSA2 signature of every request (computing the SNs
 * itself, not through alipay-sdk), keeps one order per out_biz_no, signs every answer with the
 * Alipay key, and sends signed `alipay.fund.trans.order.changed` notifications.
 */

export type AlipayOrderStatus = 'SUCCESS' | 'DEALING' | 'FAIL' | 'WAIT_PAY' | 'CLOSED' | 'REFUND';

/**
 * Where a new transfer lands: paid, in progress, recorded as FAIL, or refused with a business
 * sub_code (no order is created).
 */
export type AlipayOutcome = 'succeed' | 'processing' | 'fail' | 'reject';

/**
 * - timeout: record the order, hold the socket, never answer;
 * - lost_reply: record the order, drop the connection;
 * - bad_signature: record the order, answer signed with a key that is not Alipay's;
 * - http_500: a bare 500, nothing recorded;
 * - system_error: 40004 SYSTEM_ERROR, nothing recorded;
 * - service_unavailable: 20000 (服务不可用), nothing recorded;
 * - unfamiliar_code: 40004 with a sub_code no document lists, nothing recorded.
 */
export type AlipayFault = 'none' | 'timeout' | 'lost_reply' | 'bad_signature' | 'http_500' | 'system_error' | 'service_unavailable' | 'unfamiliar_code';

export interface AlipayBehaviour {
  outcome?: AlipayOutcome;
  /** sub_code for `reject`, error_code for `fail`. */
  failCode?: string;
  fault?: AlipayFault;
  queryFault?: AlipayFault;
}

export interface AlipayOrder {
  outBizNo: string;
  orderId: string;
  payFundOrderId: string;
  transAmount: string;
  identity: string;
  identityType: string;
  name?: string | undefined;
  orderTitle: string;
  status: AlipayOrderStatus;
  errorCode?: string | undefined;
  failReason?: string | undefined;
  createdAt: number;
  updatedAt: number;
  fingerprint: string;
}

export interface AlipaySimulatorOptions {
  appId: string;
  now?: () => number;
}

export interface NotifyForgery {
  /** Sign with this key instead of Alipay's. */
  signWith?: KeyObject;
  /** Change biz_content after signing. */
  tamperBizContent?: (biz: Record<string, unknown>) => void;
  appId?: string;
  signType?: string;
  /** Another notification type, signed properly. */
  msgMethod?: string;
  /** Add alipay_cert_sn with this value (signed along). */
  alipayCertSn?: string;
  /** Fields to override in biz_content before signing. */
  biz?: Record<string, unknown>;
  /** Change any parameter after signing. */
  tamper?: (params: Map<string, string>) => void;
}

export interface RecordedRequest {
  method: string;
  status: number | 'held' | 'dropped';
  outBizNo?: string | undefined;
  code?: string | undefined;
  subCode?: string | undefined;
}

const SUBJECT_ORG = '/C=CN/O=Fenxiao Simulated Alipay/OU=Certification Authority';

export class AlipaySimulator {
  readonly root: IssuedCert;
  /** alipayRootCert.crt: the RSA root plus an ECDSA root that the SN rule must skip. */
  readonly rootCertBundlePem: string;
  /** alipayCertPublicKey_RSA2.crt */
  readonly alipayPublicCertPem: string;
  readonly alipayCertSn: string;
  readonly rootCertSn: string;
  readonly orders = new Map<string, AlipayOrder>();
  readonly requests: RecordedRequest[] = [];
  readonly transferRequests = new Map<string, number>();
  /** Orders created per out_biz_no: above 1 would be a double payment. */
  readonly created = new Map<string, number>();
  gatewayUrl = '';

  private readonly alipayPrivateKey: KeyObject;
  private readonly strangerKey: KeyObject;
  private readonly appKeys = new Map<string, KeyObject>();
  private readonly behaviours = new Map<string, AlipayBehaviour>();
  private globalBehaviour: AlipayBehaviour = {};
  private readonly now: () => number;
  private server: RunningServer | undefined;
  private seq = 0;

  private constructor(private readonly options: AlipaySimulatorOptions) {
    this.now = options.now ?? Date.now;
    this.root = makeRootCert(`${SUBJECT_ORG}/CN=Fenxiao Simulated Alipay Root CA`);
    const ecRoot = makeRootCert(`${SUBJECT_ORG}/CN=Fenxiao Simulated Alipay Root CA EC`, 'ec');
    this.rootCertBundlePem = `${this.root.certPem}${ecRoot.certPem}`;
    const alipayKey = generateRsaKeyPair();
    this.alipayPrivateKey = createPrivateKey(alipayKey.privateKeyPem);
    this.alipayPublicCertPem = issueCert(this.root, '/C=CN/O=Fenxiao Simulated Alipay/OU=Alipay/CN=alipay-rsa2', alipayKey.privateKeyPem);
    this.alipayCertSn = alipayCertSn(this.alipayPublicCertPem);
    this.rootCertSn = alipayRootCertSn(this.rootCertBundlePem);
    this.strangerKey = createPrivateKey(generateRsaKeyPair().privateKeyPem);
  }

  static async start(options: AlipaySimulatorOptions): Promise<AlipaySimulator> {
    const sim = new AlipaySimulator(options);
    sim.server = await listen((req, res, body) => sim.handle(req, res, body));
    sim.gatewayUrl = `${sim.server.origin}/gateway.do`;
    return sim;
  }

  async close(): Promise<void> {
    await this.server?.close();
  }

  /**
   * The application public-key certificate, as the open platform issues it from the merchant's
   * key (CSR → certificate signed by the root). The SN is registered for request checks.
   */
  issueAppCert(appPrivateKeyPem: string): string {
    const certPem = issueCert(this.root, `/C=CN/O=Fenxiao Test Merchant/OU=Alipay/CN=${this.options.appId}`, appPrivateKeyPem);
    this.appKeys.set(alipayCertSn(certPem), new X509Certificate(certPem).publicKey);
    return certPem;
  }

  behave(outBizNo: string | '*', behaviour: AlipayBehaviour): void {
    if (outBizNo === '*') this.globalBehaviour = behaviour;
    else this.behaviours.set(outBizNo, behaviour);
  }

  createdCount(outBizNo?: string): number {
    if (outBizNo !== undefined) return this.created.get(outBizNo) ?? 0;
    let total = 0;
    for (const n of this.created.values()) total += n;
    return total;
  }

  setStatus(outBizNo: string, status: AlipayOrderStatus, errorCode?: string): void {
    const order = this.orders.get(outBizNo);
    if (!order) throw new Error(`no order ${outBizNo}`);
    order.status = status;
    order.errorCode = status === 'FAIL' ? (errorCode ?? 'PAYEE_ACCOUNT_STATUS_ERROR') : undefined;
    order.failReason = status === 'FAIL' ? '收款账户状态异常' : undefined;
    order.updatedAt = this.now();
  }

  private behaviourOf(outBizNo: string | undefined): AlipayBehaviour {
    return (outBizNo !== undefined ? this.behaviours.get(outBizNo) : undefined) ?? this.globalBehaviour;
  }

  /* ------------------------------------------------------------------ answers */

  /**
   * `{"<method>_response":{…},"alipay_cert_sn":"…","sign":"…"}`, the signature over the exact
   * text of the response object, as the gateway writes it.
   */
  private reply(res: http.ServerResponse, record: RecordedRequest, responseKey: string, payload: Record<string, unknown>, key = this.alipayPrivateKey): void {
    const inner = JSON.stringify(payload);
    const sign = createSign('RSA-SHA256').update(inner, 'utf8').sign(key, 'base64');
    const body = `{"${responseKey}":${inner},"alipay_cert_sn":"${this.alipayCertSn}","sign":"${sign}"}`;
    record.status = 200;
    record.code = String(payload.code);
    record.subCode = typeof payload.sub_code === 'string' ? payload.sub_code : undefined;
    res.writeHead(200, {
      'content-type': 'text/html;charset=utf-8',
      'content-length': String(Buffer.byteLength(body)),
      trace_id: randomBytes(12).toString('hex'),
    });
    res.end(body);
  }

  private gatewayError(
    res: http.ServerResponse,
    record: RecordedRequest,
    responseKey: string,
    code: string,
    msg: string,
    subCode: string,
    subMsg: string,
  ): void {
    this.reply(res, record, responseKey, { code, msg, sub_code: subCode, sub_msg: subMsg });
  }

  private preRecordFault(fault: AlipayFault | undefined, res: http.ServerResponse, record: RecordedRequest, responseKey: string): boolean {
    switch (fault) {
      case 'http_500':
        record.status = 500;
        res.writeHead(500, { 'content-type': 'text/html' });
        res.end('<html><body>500 Internal Server Error</body></html>');
        return true;
      case 'system_error':
        this.gatewayError(res, record, responseKey, '40004', 'Business Failed', 'SYSTEM_ERROR', '系统繁忙');
        return true;
      case 'service_unavailable':
        this.reply(res, record, responseKey, { code: '20000', msg: 'Service Currently Unavailable', sub_code: 'isp.unknow-error', sub_msg: '系统繁忙' });
        return true;
      case 'unfamiliar_code':
        this.gatewayError(res, record, responseKey, '40004', 'Business Failed', 'BRAND_NEW_CONDITION', '文档中没有的错误');
        return true;
      default:
        return false;
    }
  }

  private postRecordReply(
    fault: AlipayFault | undefined,
    res: http.ServerResponse,
    record: RecordedRequest,
    responseKey: string,
    payload: Record<string, unknown>,
  ): void {
    switch (fault) {
      case 'timeout':
        record.status = 'held';
        return;
      case 'lost_reply':
        record.status = 'dropped';
        res.socket?.destroy();
        return;
      case 'bad_signature':
        this.reply(res, record, responseKey, payload, this.strangerKey);
        return;
      default:
        this.reply(res, record, responseKey, payload);
    }
  }

  /* ------------------------------------------------------------------ requests */

  private async handle(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://gateway.local');
    // Common parameters ride in the query string and biz_content in the form body (alipay-sdk);
    // the gateway reads them as one set.
    const params = new Map<string, string>();
    for (const [k, v] of url.searchParams) params.set(k, v);
    if ((req.headers['content-type'] ?? '').includes('application/x-www-form-urlencoded')) {
      for (const [k, v] of new URLSearchParams(body.toString('utf8'))) params.set(k, v);
    }
    const method = params.get('method') ?? '';
    const responseKey = method ? `${method.replace(/\./g, '_')}_response` : 'error_response';
    const record: RecordedRequest = { method, status: 0 };
    this.requests.push(record);
    if (req.method !== 'POST' || url.pathname !== '/gateway.do') {
      res.writeHead(404);
      res.end();
      record.status = 404;
      return;
    }
    const refused = this.checkRequest(params);
    if (refused) {
      this.gatewayError(res, record, responseKey, '40002', 'Invalid Arguments', refused.subCode, refused.subMsg);
      return;
    }
    let biz: Record<string, unknown>;
    try {
      biz = JSON.parse(params.get('biz_content') ?? '') as Record<string, unknown>;
    } catch {
      this.gatewayError(res, record, responseKey, '40002', 'Invalid Arguments', 'isv.invalid-biz-content', 'biz_content 不是合法 JSON');
      return;
    }
    switch (method) {
      case 'alipay.fund.trans.uni.transfer':
        return this.transfer(biz, res, record, responseKey);
      case 'alipay.fund.trans.common.query':
        return this.query(biz, res, record, responseKey);
      default:
        this.gatewayError(res, record, responseKey, '40002', 'Invalid Arguments', 'isv.invalid-method', '不存在的方法名');
    }
  }

  /** The gateway's checks before any business logic; the refusal, or undefined. */
  private checkRequest(params: Map<string, string>): { subCode: string; subMsg: string } | undefined {
    if (params.get('app_id') !== this.options.appId) return { subCode: 'isv.invalid-app-id', subMsg: '无效的AppID参数' };
    if (params.get('charset')?.toLowerCase() !== 'utf-8') return { subCode: 'isv.invalid-charset', subMsg: '字符集错误' };
    if (params.get('format') !== undefined && params.get('format') !== 'JSON') return { subCode: 'isv.invalid-format', subMsg: '参数格式错误' };
    if (params.get('sign_type') !== 'RSA2') return { subCode: 'isv.invalid-signature-type', subMsg: '无效的签名类型' };
    if (params.get('version') !== '1.0') return { subCode: 'isv.invalid-version', subMsg: '版本号错误' };
    // timestamp is Beijing time; allow a generous skew, but not a whole time zone.
    const ts = params.get('timestamp') ?? '';
    const parsed = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/.exec(ts);
    const at = parsed ? Date.UTC(+parsed[1]!, +parsed[2]! - 1, +parsed[3]!, +parsed[4]!, +parsed[5]!, +parsed[6]!) - 8 * 3_600_000 : NaN;
    if (!Number.isFinite(at) || Math.abs(at - this.now()) > 30 * 60_000) return { subCode: 'isv.invalid-timestamp', subMsg: '非法的时间戳参数' };
    const appKey = this.appKeys.get(params.get('app_cert_sn') ?? '');
    if (!appKey) return { subCode: 'isv.app-cert-sn-invalid', subMsg: '应用公钥证书序列号不匹配' };
    if (params.get('alipay_root_cert_sn') !== this.rootCertSn) return { subCode: 'isv.alipay-root-cert-sn-invalid', subMsg: '支付宝根证书序列号不匹配' };
    const sign = params.get('sign') ?? '';
    // Request signing keeps sign_type; only sign itself is left out.
    const content = [...params.entries()]
      .filter(([k, v]) => k !== 'sign' && v !== '')
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([k, v]) => `${k}=${v}`)
      .join('&');
    if (!createVerify('RSA-SHA256').update(content, 'utf8').verify(appKey, sign, 'base64')) {
      return { subCode: 'isv.invalid-signature', subMsg: '验签出错' };
    }
    return undefined;
  }

  private transfer(biz: Record<string, unknown>, res: http.ServerResponse, record: RecordedRequest, responseKey: string): void {
    const outBizNo = typeof biz.out_biz_no === 'string' ? biz.out_biz_no : undefined;
    record.outBizNo = outBizNo;
    if (outBizNo) this.transferRequests.set(outBizNo, (this.transferRequests.get(outBizNo) ?? 0) + 1);
    const behaviour = this.behaviourOf(outBizNo);
    if (this.preRecordFault(behaviour.fault, res, record, responseKey)) return;
    const invalid = (subMsg: string) => this.gatewayError(res, record, responseKey, '40004', 'Business Failed', 'INVALID_PARAMETER', subMsg);

    if (!outBizNo || outBizNo.length > 64) return invalid('out_biz_no 必填且不超过64位');
    const amount = biz.trans_amount;
    // Yuan with exactly two decimals, as a string: a number or "1e2" is the unit mistake this catches.
    if (typeof amount !== 'string' || !/^(0|[1-9]\d*)\.\d{2}$/.test(amount)) return invalid('trans_amount 必须为两位小数的元金额');
    if (BigInt(amount.replace('.', '')) < 10n) {
      this.gatewayError(res, record, responseKey, '40004', 'Business Failed', 'EXCEED_LIMIT_SM_MIN_AMOUNT', '单笔最低转账金额0.1元');
      return;
    }
    if (biz.product_code !== 'TRANS_ACCOUNT_NO_PWD') return invalid('product_code 错误');
    if (biz.biz_scene !== 'DIRECT_TRANSFER') return invalid('biz_scene 错误');
    if (typeof biz.order_title !== 'string' || biz.order_title === '') return invalid('order_title 必填');
    const payee = biz.payee_info as Record<string, unknown> | undefined;
    if (!payee || typeof payee.identity !== 'string' || payee.identity === '') return invalid('payee_info.identity 必填');
    if (!['ALIPAY_USER_ID', 'ALIPAY_LOGON_ID', 'ALIPAY_OPEN_ID'].includes(String(payee.identity_type))) return invalid('payee_info.identity_type 错误');
    if (payee.identity_type === 'ALIPAY_LOGON_ID' && (typeof payee.name !== 'string' || payee.name === '')) return invalid('ALIPAY_LOGON_ID 时 name 必填');

    const fingerprint = canonicalJson(biz);
    const existing = this.orders.get(outBizNo);
    if (existing) {
      if (existing.fingerprint !== fingerprint) {
        this.gatewayError(res, record, responseKey, '40004', 'Business Failed', 'PAYMENT_INFO_INCONSISTENCY', '两次请求商户单号一样，但是参数不一致');
        return;
      }
      // The same out_biz_no with the same details returns the original result.
      this.postRecordReply(behaviour.fault, res, record, responseKey, this.transferAnswer(existing));
      return;
    }
    const outcome = behaviour.outcome ?? 'succeed';
    if (outcome === 'reject') {
      this.gatewayError(res, record, responseKey, '40004', 'Business Failed', behaviour.failCode ?? 'PAYEE_NOT_EXIST', '收款账号不存在');
      return;
    }
    const now = this.now();
    this.seq += 1;
    const stamp = beijingPlain(now).replace(/\D/g, '').slice(0, 8);
    const order: AlipayOrder = {
      outBizNo,
      orderId: `${stamp}1100700000${String(this.seq).padStart(10, '0')}`,
      payFundOrderId: `${stamp}1100730000${String(this.seq).padStart(10, '0')}`,
      transAmount: amount,
      identity: payee.identity,
      identityType: String(payee.identity_type),
      name: typeof payee.name === 'string' ? payee.name : undefined,
      orderTitle: biz.order_title,
      status: outcome === 'succeed' ? 'SUCCESS' : outcome === 'processing' ? 'DEALING' : 'FAIL',
      errorCode: outcome === 'fail' ? (behaviour.failCode ?? 'PAYEE_ACCOUNT_STATUS_ERROR') : undefined,
      failReason: outcome === 'fail' ? '收款账户状态异常' : undefined,
      createdAt: now,
      updatedAt: now,
      fingerprint,
    };
    this.orders.set(outBizNo, order);
    this.created.set(outBizNo, (this.created.get(outBizNo) ?? 0) + 1);
    this.postRecordReply(behaviour.fault, res, record, responseKey, this.transferAnswer(order));
  }

  private transferAnswer(order: AlipayOrder): Record<string, unknown> {
    return {
      code: '10000',
      msg: 'Success',
      out_biz_no: order.outBizNo,
      order_id: order.orderId,
      pay_fund_order_id: order.payFundOrderId,
      status: order.status,
      trans_date: beijingPlain(order.createdAt),
    };
  }

  private query(biz: Record<string, unknown>, res: http.ServerResponse, record: RecordedRequest, responseKey: string): void {
    const outBizNo = typeof biz.out_biz_no === 'string' ? biz.out_biz_no : undefined;
    record.outBizNo = outBizNo;
    const fault = this.behaviourOf(outBizNo).queryFault;
    if (this.preRecordFault(fault, res, record, responseKey)) return;
    if (!outBizNo) {
      this.gatewayError(res, record, responseKey, '40004', 'Business Failed', 'INVALID_PARAMETER', '参数有误');
      return;
    }
    // With out_biz_no the product and scene are required, or the order cannot be located.
    if (biz.product_code !== 'TRANS_ACCOUNT_NO_PWD' || biz.biz_scene !== 'DIRECT_TRANSFER') {
      this.gatewayError(res, record, responseKey, '40004', 'Business Failed', 'INVALID_PARAMETER', 'product_code 和 biz_scene 必填');
      return;
    }
    const order = this.orders.get(outBizNo);
    if (!order) {
      // The reply faults (held, dropped, forged) apply to "not found" as much as to an order.
      this.postRecordReply(fault, res, record, responseKey, { code: '40004', msg: 'Business Failed', sub_code: 'ORDER_NOT_EXIST', sub_msg: '转账订单不存在' });
      return;
    }
    this.postRecordReply(fault, res, record, responseKey, {
      code: '10000',
      msg: 'Success',
      order_id: order.orderId,
      pay_fund_order_id: order.payFundOrderId,
      out_biz_no: order.outBizNo,
      trans_amount: order.transAmount,
      status: order.status,
      pay_date: beijingPlain(order.updatedAt),
      order_fee: '0.00',
      ...(order.errorCode ? { error_code: order.errorCode, fail_reason: order.failReason } : {}),
    });
  }

  /* ------------------------------------------------------------------ notifications */

  /** The form body of an `alipay.fund.trans.order.changed` notification for the order. */
  buildNotify(outBizNo: string, forgery: NotifyForgery = {}): Buffer {
    const order = this.orders.get(outBizNo);
    if (!order) throw new Error(`no order ${outBizNo}`);
    const biz: Record<string, unknown> = {
      action_type: order.status === 'SUCCESS' ? 'FINISH' : order.status === 'FAIL' ? 'FAIL' : 'DEALING',
      biz_scene: 'DIRECT_TRANSFER',
      order_id: order.orderId,
      origin_interface: 'alipay.fund.trans.uni.transfer',
      out_biz_no: order.outBizNo,
      pay_date: beijingPlain(order.updatedAt),
      pay_fund_order_id: order.payFundOrderId,
      product_code: 'TRANS_ACCOUNT_NO_PWD',
      status: order.status,
      trans_amount: order.transAmount,
      ...(order.errorCode ? { error_code: order.errorCode, fail_reason: order.failReason } : {}),
      ...forgery.biz,
    };
    const params = new Map<string, string>([
      ['notify_id', randomBytes(16).toString('hex')],
      ['utc_timestamp', String(this.now())],
      ['msg_method', forgery.msgMethod ?? 'alipay.fund.trans.order.changed'],
      ['app_id', forgery.appId ?? this.options.appId],
      ['version', '1.1'],
      ['biz_content', JSON.stringify(biz)],
      ['charset', 'utf-8'],
    ]);
    return this.signNotify(params, forgery);
  }

  /**
   * A trade's 异步通知 (notify_type trade_status_sync) as Alipay posts it to the payment's
   * notify_url, signed with Alipay's key. `totalAmount` is the yuan text Alipay sends.
   */
  buildTradeNotify(trade: { outTradeNo: string; tradeNo: string; totalAmount: string; tradeStatus?: string }, forgery: NotifyForgery = {}): Buffer {
    const now = beijingPlain(this.now());
    const params = new Map<string, string>([
      ['gmt_create', now],
      ['charset', 'utf-8'],
      ['seller_email', 'merchant@example.com'],
      ['subject', '进货单'],
      ['buyer_id', '2088102177846880'],
      ['invoice_amount', trade.totalAmount],
      ['notify_id', randomBytes(16).toString('hex')],
      ['fund_bill_list', JSON.stringify([{ amount: trade.totalAmount, fundChannel: 'ALIPAYACCOUNT' }])],
      ['notify_type', 'trade_status_sync'],
      ['trade_status', trade.tradeStatus ?? 'TRADE_SUCCESS'],
      ['receipt_amount', trade.totalAmount],
      ['app_id', forgery.appId ?? this.options.appId],
      ['buyer_pay_amount', trade.totalAmount],
      ['gmt_payment', now],
      ['notify_time', now],
      ['version', '1.0'],
      ['out_trade_no', trade.outTradeNo],
      ['total_amount', trade.totalAmount],
      ['trade_no', trade.tradeNo],
      ['auth_app_id', forgery.appId ?? this.options.appId],
      ['point_amount', '0.00'],
      ['seller_id', '2088102177649450'],
    ]);
    return this.signNotify(params, forgery);
  }

  private signNotify(params: Map<string, string>, forgery: NotifyForgery): Buffer {
    if (forgery.alipayCertSn !== undefined) params.set('alipay_cert_sn', forgery.alipayCertSn);
    // Notifications are signed without sign and sign_type, and without empty values.
    const content = [...params.entries()]
      .filter(([, v]) => v !== '')
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([k, v]) => `${k}=${v}`)
      .join('&');
    const sign = createSign('RSA-SHA256')
      .update(content, 'utf8')
      .sign(forgery.signWith ?? this.alipayPrivateKey, 'base64');
    params.set('sign_type', forgery.signType ?? 'RSA2');
    params.set('sign', sign);
    if (forgery.tamperBizContent && params.has('biz_content')) {
      const tampered = JSON.parse(params.get('biz_content')!) as Record<string, unknown>;
      forgery.tamperBizContent(tampered);
      params.set('biz_content', JSON.stringify(tampered));
    }
    if (forgery.tamper) forgery.tamper(params);
    return Buffer.from(new URLSearchParams([...params.entries()]).toString(), 'utf8');
  }

  /** POSTs a notification to the app gateway URL; answers the merchant's reply text. */
  async sendNotify(outBizNo: string, url: string, forgery: NotifyForgery = {}): Promise<{ status: number; text: string }> {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
      body: this.buildNotify(outBizNo, forgery),
      signal: AbortSignal.timeout(5_000),
    });
    return { status: res.status, text: await res.text() };
  }

  /** The Alipay public key (for tests that verify something independently of the SDK). */
  get alipayPublicKey(): KeyObject {
    return createPublicKey(new X509Certificate(this.alipayPublicCertPem).publicKey.export({ type: 'spki', format: 'pem' }));
  }
}
