import {
  constants,
  createCipheriv,
  createPrivateKey,
  createPublicKey,
  createSign,
  createVerify,
  privateDecrypt,
  randomBytes,
  randomUUID,
  type KeyObject,
} from 'node:crypto';
import type http from 'node:http';
import { generateRsaKeyPair } from './pki.ts';
import { beijingIso, canonicalJson, listen, type RunningServer } from './http.ts';

/**
 * A local WeChat Pay API v3 playing 商家转账 (merchant transfer) by the published specification,
 * written from the documents rather than from Fenxiao's adapter: it checks every request's
 * WECHATPAY2-SHA256-RSA2048 signature with the merchant public key the test hands it (401 when
 * wrong), keeps one bill per out_bill_no (identical repeat → the same bill, different details →
 * an error), signs every answer with its own platform key, and sends callbacks signed and
 * encrypted with the APIv3 key. Tests steer it per out_bill_no or globally into each outcome and
 * each fault a real provider can show.
 */

const TRANSFER_PATH = '/v3/fund-app/mch-transfer/transfer-bills';

export type WechatBillState = 'ACCEPTED' | 'PROCESSING' | 'WAIT_USER_CONFIRM' | 'TRANSFERING' | 'SUCCESS' | 'FAIL' | 'CANCELING' | 'CANCELLED';

/** Where a new bill lands. */
export type WechatOutcome = 'succeed' | 'fail' | 'processing' | 'accepted' | 'wait_user_confirm';

/**
 * - timeout: record the bill, then hold the socket and never answer;
 * - lost_reply: record the bill, then drop the connection without an answer;
 * - bad_signature: record the bill and answer normally, signed with a key that is not the platform's;
 * - http_500: a bare 500 from the gateway, nothing recorded;
 * - system_error: 500 SYSTEM_ERROR, nothing recorded;
 * - frequency_limited: 429 FREQUENCY_LIMITED, nothing recorded;
 * - unfamiliar_code: 400 with a code no document lists, nothing recorded.
 */
export type WechatFault = 'none' | 'timeout' | 'lost_reply' | 'bad_signature' | 'http_500' | 'system_error' | 'frequency_limited' | 'unfamiliar_code';

export interface WechatBehaviour {
  outcome?: WechatOutcome;
  /** fail_reason of a failing bill. */
  failReason?: string;
  /** Fault on create. */
  fault?: WechatFault;
  /** Fault on query (the bill, if any, is untouched). */
  queryFault?: WechatFault;
}

export interface WechatBill {
  outBillNo: string;
  transferBillNo: string;
  appid: string;
  openid: string;
  amountFen: number;
  remark: string;
  /** Decrypted with the platform private key, as WeChat Pay would. */
  userName?: string | undefined;
  sceneId: string;
  notifyUrl?: string | undefined;
  state: WechatBillState;
  failReason?: string | undefined;
  packageInfo?: string | undefined;
  createdAt: number;
  updatedAt: number;
  /** The request's contents, to tell an identical resend from a reuse of the number. */
  fingerprint: string;
}

export interface WechatSimulatorOptions {
  mchId: string;
  appId: string;
  /** The merchant API public key the test generated (SPKI PEM). */
  merchantPublicKeyPem: string;
  merchantSerialNo: string;
  apiV3Key: string;
  /** ms since epoch; tests move it to make stale timestamps. */
  now?: () => number;
  /** Send the callback to the bill's notify_url whenever it reaches a final state. */
  autoNotify?: boolean;
}

export interface BuiltCallback {
  headers: Record<string, string>;
  body: Buffer;
}

export interface CallbackForgery {
  /** Wechatpay-Timestamp in seconds (default: now). */
  timestamp?: number;
  /** Wechatpay-Serial (default: the platform key id). */
  serial?: string;
  /** Sign with this private key instead of the platform's. */
  signWith?: KeyObject;
  /** Flip one ciphertext byte before signing, so only the GCM tag can catch it. */
  tamperCiphertext?: boolean;
  /** Encrypt with this APIv3 key instead of the merchant's. */
  apiV3Key?: string;
  /** Override fields of the decrypted payload (e.g. a different amount). */
  payload?: Record<string, unknown>;
}

export interface RecordedRequest {
  method: string;
  path: string;
  status: number | 'held' | 'dropped';
  outBillNo?: string | undefined;
}

function send(res: http.ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(body)), ...headers });
  res.end(body);
}

export class WechatPaySimulator {
  readonly platformPublicKeyPem: string;
  readonly platformPublicKeyId: string;
  readonly bills = new Map<string, WechatBill>();
  readonly requests: RecordedRequest[] = [];
  /** Create requests received per out_bill_no (including refused and faulted ones). */
  readonly createRequests = new Map<string, number>();
  /** Bills created per out_bill_no: a value above 1 would be a double payment. */
  readonly created = new Map<string, number>();
  /** Callbacks that autoNotify tried to deliver. */
  readonly deliveries: Array<{ outBillNo: string; url: string; status: number | string }> = [];
  origin = '';

  private readonly platformPrivateKey: KeyObject;
  private readonly strangerKey: KeyObject;
  private readonly merchantPublicKey: KeyObject;
  private readonly now: () => number;
  private readonly behaviours = new Map<string, WechatBehaviour>();
  private globalBehaviour: WechatBehaviour = {};
  private server: RunningServer | undefined;
  private billSeq = 0;

  private constructor(private readonly options: WechatSimulatorOptions) {
    const platform = generateRsaKeyPair();
    this.platformPrivateKey = createPrivateKey(platform.privateKeyPem);
    this.platformPublicKeyPem = platform.publicKeyPem;
    this.platformPublicKeyId = `PUB_KEY_ID_01${randomBytes(15).toString('hex').toUpperCase()}`;
    this.strangerKey = createPrivateKey(generateRsaKeyPair().privateKeyPem);
    this.merchantPublicKey = createPublicKey(options.merchantPublicKeyPem);
    this.now = options.now ?? Date.now;
  }

  static async start(options: WechatSimulatorOptions): Promise<WechatPaySimulator> {
    const sim = new WechatPaySimulator(options);
    sim.server = await listen((req, res, body) => sim.handle(req, res, body));
    sim.origin = sim.server.origin;
    return sim;
  }

  async close(): Promise<void> {
    await this.server?.close();
  }

  /** Steer one out_bill_no, or every bill with '*'. A per-number behaviour wins over the global one. */
  behave(outBillNo: string | '*', behaviour: WechatBehaviour): void {
    if (outBillNo === '*') this.globalBehaviour = behaviour;
    else this.behaviours.set(outBillNo, behaviour);
  }

  createdCount(outBillNo?: string): number {
    if (outBillNo !== undefined) return this.created.get(outBillNo) ?? 0;
    let total = 0;
    for (const n of this.created.values()) total += n;
    return total;
  }

  /** What the payee actually received: the sum of SUCCESS bills to this openid. */
  paidToFen(openid: string): number {
    let total = 0;
    for (const bill of this.bills.values()) if (bill.openid === openid && bill.state === 'SUCCESS') total += bill.amountFen;
    return total;
  }

  /** Moves a bill (the payee confirmed, the bank settled, the user never came…). */
  async setState(outBillNo: string, state: WechatBillState, failReason?: string): Promise<void> {
    const bill = this.bills.get(outBillNo);
    if (!bill) throw new Error(`no bill ${outBillNo}`);
    bill.state = state;
    bill.failReason = state === 'FAIL' ? (failReason ?? 'NAME_NOT_CORRECT') : undefined;
    bill.updatedAt = this.now();
    await this.maybeNotify(bill);
  }

  private behaviourOf(outBillNo: string | undefined): WechatBehaviour {
    return (outBillNo !== undefined ? this.behaviours.get(outBillNo) : undefined) ?? this.globalBehaviour;
  }

  /* ------------------------------------------------------------------ answers */

  private signedHeaders(body: string, key: KeyObject = this.platformPrivateKey): Record<string, string> {
    const timestamp = String(Math.floor(this.now() / 1000));
    const nonce = randomBytes(16).toString('hex');
    const signature = createSign('RSA-SHA256').update(`${timestamp}\n${nonce}\n${body}\n`, 'utf8').sign(key, 'base64');
    return {
      'Wechatpay-Timestamp': timestamp,
      'Wechatpay-Nonce': nonce,
      'Wechatpay-Signature': signature,
      'Wechatpay-Serial': this.platformPublicKeyId,
      'Request-ID': randomUUID(),
    };
  }

  private answer(res: http.ServerResponse, record: RecordedRequest, status: number, payload: unknown, key?: KeyObject): void {
    const body = payload === undefined ? '' : JSON.stringify(payload);
    record.status = status;
    send(res, status, body, this.signedHeaders(body, key));
  }

  private error(res: http.ServerResponse, record: RecordedRequest, status: number, code: string, message: string): void {
    this.answer(res, record, status, { code, message });
  }

  /** Answers a fault that happens before anything is recorded; false when there is none. */
  private preRecordFault(fault: WechatFault | undefined, res: http.ServerResponse, record: RecordedRequest): boolean {
    switch (fault) {
      case 'http_500':
        record.status = 500;
        res.writeHead(500, { 'content-type': 'text/html' });
        res.end('<html><body>500 Internal Server Error</body></html>');
        return true;
      case 'system_error':
        this.error(res, record, 500, 'SYSTEM_ERROR', '系统异常，请稍后重试');
        return true;
      case 'frequency_limited':
        this.error(res, record, 429, 'FREQUENCY_LIMITED', '频率超限');
        return true;
      case 'unfamiliar_code':
        this.error(res, record, 400, 'BRAND_NEW_CONDITION', '一个文档中没有的错误');
        return true;
      default:
        return false;
    }
  }

  /** After the bill is recorded: hold, drop, or answer with a foreign signature. */
  private postRecordReply(fault: WechatFault | undefined, res: http.ServerResponse, record: RecordedRequest, status: number, payload: unknown): void {
    switch (fault) {
      case 'timeout':
        record.status = 'held';
        return;
      case 'lost_reply':
        record.status = 'dropped';
        res.socket?.destroy();
        return;
      case 'bad_signature':
        this.answer(res, record, status, payload, this.strangerKey);
        return;
      default:
        this.answer(res, record, status, payload);
    }
  }

  /* ------------------------------------------------------------------ requests */

  /** Checks the Authorization header the way the API does; a reason when it fails. */
  private authFailure(req: http.IncomingMessage, body: Buffer): string | undefined {
    const header = req.headers.authorization;
    if (!header) return 'no Authorization';
    const match = /^WECHATPAY2-SHA256-RSA2048\s+(.+)$/.exec(header);
    if (!match) return 'wrong schema';
    const fields = new Map<string, string>();
    for (const part of match[1]!.matchAll(/(\w+)="([^"]*)"/g)) fields.set(part[1]!, part[2]!);
    const { mchId, merchantSerialNo } = this.options;
    if (fields.get('mchid') !== mchId) return 'mchid';
    if (fields.get('serial_no') !== merchantSerialNo) return 'serial_no';
    const timestamp = fields.get('timestamp') ?? '';
    const nonce = fields.get('nonce_str') ?? '';
    const signature = fields.get('signature') ?? '';
    if (!/^\d+$/.test(timestamp) || Math.abs(this.now() / 1000 - Number(timestamp)) > 300) return 'timestamp';
    if (!nonce) return 'nonce';
    const message = Buffer.concat([Buffer.from(`${req.method}\n${req.url}\n${timestamp}\n${nonce}\n`, 'utf8'), body, Buffer.from('\n')]);
    if (!createVerify('RSA-SHA256').update(message).verify(this.merchantPublicKey, signature, 'base64')) return 'signature';
    return undefined;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer): Promise<void> {
    const url = req.url ?? '/';
    const path = url.split('?')[0]!;
    const record: RecordedRequest = { method: req.method ?? '', path, status: 0 };
    this.requests.push(record);
    const failure = this.authFailure(req, body);
    if (failure) {
      this.error(res, record, 401, 'SIGN_ERROR', `签名错误 (${failure})`);
      return;
    }
    const byNumber = /^\/v3\/fund-app\/mch-transfer\/transfer-bills\/out-bill-no\/([^/]+)(\/cancel)?$/.exec(path);
    if (req.method === 'POST' && path === TRANSFER_PATH) return this.create(req, res, body, record);
    if (byNumber && req.method === 'GET' && !byNumber[2]) return this.query(decodeURIComponent(byNumber[1]!), res, record);
    if (byNumber && req.method === 'POST' && byNumber[2]) return this.cancel(decodeURIComponent(byNumber[1]!), res, record);
    this.error(res, record, 404, 'NOT_FOUND', '接口不存在');
  }

  private async create(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer, record: RecordedRequest): Promise<void> {
    let input: Record<string, unknown>;
    try {
      input = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
    } catch {
      this.error(res, record, 400, 'PARAM_ERROR', '请求体不是合法的 JSON');
      return;
    }
    const outBillNo = typeof input.out_bill_no === 'string' ? input.out_bill_no : undefined;
    record.outBillNo = outBillNo;
    if (outBillNo) this.createRequests.set(outBillNo, (this.createRequests.get(outBillNo) ?? 0) + 1);
    const behaviour = this.behaviourOf(outBillNo);
    if (this.preRecordFault(behaviour.fault, res, record)) return;

    const invalid = (message: string) => this.error(res, record, 400, 'PARAM_ERROR', message);
    if (input.appid !== this.options.appId) return invalid('appid 与商户号不匹配');
    if (!outBillNo || !/^[A-Za-z0-9]{1,32}$/.test(outBillNo)) return invalid('out_bill_no 格式错误');
    if (typeof input.transfer_scene_id !== 'string' || input.transfer_scene_id === '') return invalid('transfer_scene_id 必填');
    if (typeof input.openid !== 'string' || input.openid === '') return invalid('openid 必填');
    const amount = input.transfer_amount;
    if (typeof amount !== 'number' || !Number.isSafeInteger(amount) || amount <= 0) return invalid('transfer_amount 必须为正整数（分）');
    if (typeof input.transfer_remark !== 'string' || input.transfer_remark === '' || [...input.transfer_remark].length > 32) {
      return invalid('transfer_remark 必填且不超过32个字符');
    }
    const reportInfos = input.transfer_scene_report_infos;
    if (
      !Array.isArray(reportInfos) ||
      reportInfos.length === 0 ||
      !reportInfos.every(
        (i: unknown) =>
          i &&
          typeof i === 'object' &&
          typeof (i as Record<string, unknown>).info_type === 'string' &&
          typeof (i as Record<string, unknown>).info_content === 'string',
      )
    ) {
      return invalid('transfer_scene_report_infos 必填');
    }
    let userName: string | undefined;
    if (input.user_name !== undefined) {
      if (req.headers['wechatpay-serial'] !== this.platformPublicKeyId) return invalid('Wechatpay-Serial 与加密公钥不一致');
      try {
        userName = privateDecrypt(
          { key: this.platformPrivateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' },
          Buffer.from(String(input.user_name), 'base64'),
        ).toString('utf8');
      } catch {
        return invalid('user_name 解密失败');
      }
    }
    if (amount >= 200_000 && !userName) return invalid('转账金额 >= 2000 元时 user_name 必填');

    // Compared on plain values: user_name's OAEP ciphertext differs on every identical resend.
    const fingerprint = canonicalJson({ ...input, user_name: userName });
    const existing = this.bills.get(outBillNo);
    if (existing) {
      if (existing.fingerprint !== fingerprint) {
        this.error(res, record, 400, 'INVALID_REQUEST', '商户单号已存在但信息不一致');
        return;
      }
      this.postRecordReply(behaviour.fault, res, record, 200, this.createAnswer(existing));
      return;
    }

    const now = this.now();
    const outcome = behaviour.outcome ?? 'succeed';
    const state: WechatBillState = (
      {
        succeed: 'SUCCESS',
        fail: 'FAIL',
        processing: 'PROCESSING',
        accepted: 'ACCEPTED',
        wait_user_confirm: 'WAIT_USER_CONFIRM',
      } as const
    )[outcome];
    this.billSeq += 1;
    const bill: WechatBill = {
      outBillNo,
      transferBillNo: `1330000${String(now).slice(-10)}${String(this.billSeq).padStart(6, '0')}`,
      appid: String(input.appid),
      openid: input.openid,
      amountFen: amount,
      remark: input.transfer_remark,
      userName,
      sceneId: input.transfer_scene_id,
      notifyUrl: typeof input.notify_url === 'string' ? input.notify_url : undefined,
      state,
      failReason: state === 'FAIL' ? (behaviour.failReason ?? 'NAME_NOT_CORRECT') : undefined,
      packageInfo: state === 'WAIT_USER_CONFIRM' ? randomBytes(48).toString('base64') : undefined,
      createdAt: now,
      updatedAt: now,
      fingerprint,
    };
    this.bills.set(outBillNo, bill);
    this.created.set(outBillNo, (this.created.get(outBillNo) ?? 0) + 1);
    this.postRecordReply(behaviour.fault, res, record, 200, this.createAnswer(bill));
    await this.maybeNotify(bill);
  }

  private createAnswer(bill: WechatBill): Record<string, unknown> {
    return {
      out_bill_no: bill.outBillNo,
      transfer_bill_no: bill.transferBillNo,
      create_time: beijingIso(bill.createdAt),
      state: bill.state,
      ...(bill.failReason ? { fail_reason: bill.failReason } : {}),
      ...(bill.state === 'WAIT_USER_CONFIRM' ? { package_info: bill.packageInfo } : {}),
    };
  }

  private query(outBillNo: string, res: http.ServerResponse, record: RecordedRequest): void {
    record.outBillNo = outBillNo;
    const fault = this.behaviourOf(outBillNo).queryFault;
    if (this.preRecordFault(fault, res, record)) return;
    const bill = this.bills.get(outBillNo);
    if (!bill) {
      // The reply faults (held, dropped, forged) apply to "not found" as much as to a bill.
      this.postRecordReply(fault, res, record, 404, { code: 'NOT_FOUND', message: '记录不存在' });
      return;
    }
    this.postRecordReply(fault, res, record, 200, {
      mch_id: this.options.mchId,
      out_bill_no: bill.outBillNo,
      transfer_bill_no: bill.transferBillNo,
      appid: bill.appid,
      state: bill.state,
      transfer_amount: bill.amountFen,
      transfer_remark: bill.remark,
      ...(bill.failReason ? { fail_reason: bill.failReason } : {}),
      openid: bill.openid,
      create_time: beijingIso(bill.createdAt),
      update_time: beijingIso(bill.updatedAt),
    });
  }

  private async cancel(outBillNo: string, res: http.ServerResponse, record: RecordedRequest): Promise<void> {
    record.outBillNo = outBillNo;
    const bill = this.bills.get(outBillNo);
    if (!bill) {
      this.error(res, record, 404, 'NOT_FOUND', '记录不存在');
      return;
    }
    if (bill.state === 'SUCCESS' || bill.state === 'FAIL' || bill.state === 'TRANSFERING') {
      this.error(res, record, 400, 'INVALID_REQUEST', '当前状态不支持撤销');
      return;
    }
    // The API answers CANCELING and finishes later; here "later" is right away, so the query the
    // caller makes next already sees CANCELLED.
    bill.state = 'CANCELLED';
    bill.updatedAt = this.now();
    this.answer(res, record, 200, {
      out_bill_no: bill.outBillNo,
      transfer_bill_no: bill.transferBillNo,
      state: 'CANCELING',
      update_time: beijingIso(bill.updatedAt),
    });
    await this.maybeNotify(bill);
  }

  /* ------------------------------------------------------------------ callbacks */

  /** A MCHTRANSFER.BILL.FINISHED notification for the bill as it stands, optionally forged. */
  buildCallback(outBillNo: string, forgery: CallbackForgery = {}): BuiltCallback {
    const bill = this.bills.get(outBillNo);
    if (!bill) throw new Error(`no bill ${outBillNo}`);
    const payload = {
      out_bill_no: bill.outBillNo,
      transfer_bill_no: bill.transferBillNo,
      state: bill.state,
      mch_id: this.options.mchId,
      transfer_amount: bill.amountFen,
      openid: bill.openid,
      ...(bill.failReason ? { fail_reason: bill.failReason } : {}),
      create_time: beijingIso(bill.createdAt),
      update_time: beijingIso(bill.updatedAt),
      ...forgery.payload,
    };
    return this.seal(
      { eventType: 'MCHTRANSFER.BILL.FINISHED', summary: '商家转账单据终态通知', originalType: 'mch_payment', associatedData: 'mch_payment' },
      payload,
      forgery,
    );
  }

  /**
   * A 支付成功通知 (TRANSACTION.SUCCESS) of a payment the merchant collected, as WeChat Pay sends
   * it to the payment's notify_url: the transaction encrypted with the APIv3 key, signed with the
   * platform key.
   */
  buildPaymentNotification(
    tx: { outTradeNo: string; transactionId: string; totalFen: number; tradeState?: string; appId?: string },
    forgery: CallbackForgery = {},
  ): BuiltCallback {
    const payload = {
      appid: tx.appId ?? this.options.appId,
      mchid: this.options.mchId,
      out_trade_no: tx.outTradeNo,
      transaction_id: tx.transactionId,
      trade_type: 'JSAPI',
      trade_state: tx.tradeState ?? 'SUCCESS',
      trade_state_desc: '支付成功',
      bank_type: 'OTHERS',
      attach: '',
      success_time: beijingIso(this.now()),
      payer: { openid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o' },
      amount: { total: tx.totalFen, payer_total: tx.totalFen, currency: 'CNY', payer_currency: 'CNY' },
      ...forgery.payload,
    };
    return this.seal({ eventType: 'TRANSACTION.SUCCESS', summary: '支付成功', originalType: 'transaction', associatedData: 'transaction' }, payload, forgery);
  }

  private seal(
    kind: { eventType: string; summary: string; originalType: string; associatedData: string },
    payload: Record<string, unknown>,
    forgery: CallbackForgery,
  ): BuiltCallback {
    const nonce = randomBytes(9).toString('base64url').slice(0, 12);
    const associatedData = kind.associatedData;
    const cipher = createCipheriv('aes-256-gcm', Buffer.from(forgery.apiV3Key ?? this.options.apiV3Key, 'utf8'), Buffer.from(nonce, 'utf8'));
    cipher.setAAD(Buffer.from(associatedData, 'utf8'));
    const sealed = Buffer.concat([cipher.update(JSON.stringify(payload), 'utf8'), cipher.final(), cipher.getAuthTag()]);
    if (forgery.tamperCiphertext) sealed[0] = sealed[0]! ^ 0x01;
    const envelope = {
      id: randomUUID(),
      create_time: beijingIso(this.now()),
      resource_type: 'encrypt-resource',
      event_type: kind.eventType,
      summary: kind.summary,
      resource: {
        original_type: kind.originalType,
        algorithm: 'AEAD_AES_256_GCM',
        ciphertext: sealed.toString('base64'),
        associated_data: associatedData,
        nonce,
      },
    };
    const body = JSON.stringify(envelope);
    const timestamp = String(forgery.timestamp ?? Math.floor(this.now() / 1000));
    const signNonce = randomBytes(16).toString('hex');
    const signature = createSign('RSA-SHA256')
      .update(`${timestamp}\n${signNonce}\n${body}\n`, 'utf8')
      .sign(forgery.signWith ?? this.platformPrivateKey, 'base64');
    return {
      headers: {
        'content-type': 'application/json',
        'wechatpay-timestamp': timestamp,
        'wechatpay-nonce': signNonce,
        'wechatpay-signature': signature,
        'wechatpay-serial': forgery.serial ?? this.platformPublicKeyId,
      },
      body: Buffer.from(body, 'utf8'),
    };
  }

  /** POSTs a callback to `url` as WeChat Pay would; answers the merchant's HTTP status. */
  async sendCallback(outBillNo: string, url: string, forgery: CallbackForgery = {}): Promise<number> {
    const { headers, body } = this.buildCallback(outBillNo, forgery);
    const res = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(5_000) });
    await res.arrayBuffer();
    return res.status;
  }

  private async maybeNotify(bill: WechatBill): Promise<void> {
    if (!this.options.autoNotify || !bill.notifyUrl) return;
    if (bill.state !== 'SUCCESS' && bill.state !== 'FAIL' && bill.state !== 'CANCELLED') return;
    try {
      this.deliveries.push({ outBillNo: bill.outBillNo, url: bill.notifyUrl, status: await this.sendCallback(bill.outBillNo, bill.notifyUrl) });
    } catch (err) {
      this.deliveries.push({ outBillNo: bill.outBillNo, url: bill.notifyUrl, status: err instanceof Error ? err.message : String(err) });
    }
  }
}
