/**
 * One interface for every payout channel (WeChat Pay merchant transfer, Alipay single transfer,
 * bank batch file, manual). The withdrawal state machine (src/modules/withdrawals) drives it;
 * adapters never touch the database and never decide money: they say what the provider said.
 *
 * The rules every adapter keeps (reference/payout-channels.md):
 * - `outNo` is the idempotency key at the provider and is never reused for another attempt;
 * - a timeout, a 5xx, SYSTEM_ERROR or an unfamiliar code is `unknown`, never `failed`: the
 *   caller queries before anything else, and resends the identical request with the same outNo
 *   only when the query finds nothing;
 * - only a provider's explicit terminal answer is `succeeded`, `failed` or `cancelled`.
 */

export type PayoutChannelName = 'manual' | 'bank' | 'alipay' | 'wechat';

/** Where the money goes, decrypted just for the call (stored encrypted, see payout accounts). */
export type PayoutAccount =
  | { channel: 'alipay'; identity: string; identityType: 'ALIPAY_USER_ID' | 'ALIPAY_LOGON_ID' | 'ALIPAY_OPEN_ID'; name?: string | undefined }
  | { channel: 'wechat'; openid: string; userName?: string | undefined }
  | { channel: 'bank'; accountNo: string; accountName: string; bankName: string; branch?: string | undefined }
  | { channel: 'manual'; note?: string | undefined };

export interface PayoutRequest {
  /** out_bill_no / out_biz_no: ≤ 32 letters and digits, unique per merchant, never reused. */
  outNo: string;
  /** What the payee receives, integer fen (the fee is already kept back). */
  amountFen: number;
  account: PayoutAccount;
  /** Shown to the payee, e.g. "佣金提现". */
  remark: string;
}

export type PayoutOutcome =
  /** Accepted, not final yet (ACCEPTED, PROCESSING, TRANSFERING, DEALING, CANCELING). */
  | 'processing'
  /** The payee must confirm in WeChat (WAIT_USER_CONFIRM); `packageInfo` is for the portal. */
  | 'wait_user_confirm'
  | 'succeeded'
  | 'failed'
  | 'cancelled'
  /** Nobody knows: timeout, dropped reply, 5xx, SYSTEM_ERROR, unfamiliar code. Query next. */
  | 'unknown';

export interface PayoutResult {
  outcome: PayoutOutcome;
  /** transfer_bill_no (WeChat) / order_id or pay_fund_order_id (Alipay). */
  providerRef?: string | undefined;
  /** The provider's code for a failure (never its message text) and a readable reason. */
  failCode?: string | undefined;
  failReason?: string | undefined;
  packageInfo?: string | undefined;
  /** The provider's answer as received, kept on the payout row for reconciliation. */
  raw?: unknown;
}

export interface QueryResult extends PayoutResult {
  /**
   * False only when the provider said, verifiably, that it has no record of outNo (then an
   * identical resend is safe). A query that itself failed is `found: true, outcome: 'unknown'`.
   */
  found: boolean;
  /** The amount the provider holds for outNo, integer fen, to check against the payout row. */
  amountFen?: number | undefined;
}

export interface CallbackResult {
  outNo: string;
  outcome: PayoutOutcome;
  providerRef?: string | undefined;
  amountFen?: number | undefined;
  failCode?: string | undefined;
  failReason?: string | undefined;
  raw: unknown;
}

export interface PayoutChannel {
  readonly name: PayoutChannelName;
  /** Online channels are driven by submit/query; offline ones (manual, bank) by a person. */
  readonly online: boolean;
  submit(request: PayoutRequest): Promise<PayoutResult>;
  query(outNo: string): Promise<QueryResult>;
  cancel?(outNo: string): Promise<PayoutResult>;
  /**
   * Verifies a provider notification on its raw bytes (signature, timestamp tolerance), then
   * decrypts it. Throws CallbackRejected for anything forged, stale or malformed.
   */
  verifyCallback?(headers: Record<string, string | string[] | undefined>, rawBody: Buffer): Promise<CallbackResult>;
}

export class CallbackRejected extends Error {}

/**
 * A payment to the merchant reported by the provider (WeChat Pay 支付成功通知, Alipay 异步通知),
 * its signature verified. Only `paid` moves money; other states are acknowledged and ignored.
 */
export interface PaymentNotification {
  /** The merchant's order number the payment was made for (out_trade_no). */
  outTradeNo: string;
  /** The provider's number for the payment (transaction_id, trade_no): the reference recorded. */
  transactionId: string | undefined;
  /** Integer fen; set when paid. */
  amountFen: number | undefined;
  paid: boolean;
  /** The provider's state as sent (SUCCESS, TRADE_SUCCESS, TRADE_CLOSED …), for the log. */
  state: string;
}
