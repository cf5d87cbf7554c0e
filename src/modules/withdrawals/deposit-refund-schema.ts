import { Type } from '@sinclair/typebox';
import { Nullable, Strict, Timestamp } from '../../core/schema.ts';

export const PayoutChannel = Type.Union([Type.Literal('manual'), Type.Literal('alipay'), Type.Literal('wechat'), Type.Literal('bank')]);

/** A payout as the API answers it, within the withdrawal or deposit refund it pays. */
export const PayoutSummary = Strict({
  id: Type.String(),
  out_no: Type.String(),
  state: Type.String(),
  provider_ref: Nullable(Type.String()),
  package_info: Nullable(Type.String({ description: 'WeChat: what the portal passes to wx.requestMerchantTransfer when the payee must confirm' })),
  fail_code: Nullable(Type.String()),
  fail_reason: Nullable(Type.String()),
});

/** The refund of a distributor's admission deposit, paid through the payout path. */
export const DepositRefund = Strict({
  id: Type.String(),
  distributor_id: Type.String(),
  amount_fen: Type.Integer({ description: 'the whole deposit held when the refund was asked for' }),
  channel: PayoutChannel,
  status: Type.Union([Type.Literal('pending_review'), Type.Literal('approved'), Type.Literal('paid'), Type.Literal('failed'), Type.Literal('rejected')], {
    description:
      'pending_review until a second finance user approves; approved while its payout is under way; then paid or failed (the money back in the deposit held)',
  }),
  reason: Type.String(),
  status_reason: Nullable(Type.String()),
  reference: Nullable(Type.String()),
  payout_account_id: Nullable(Type.String()),
  requested_by: Strict({ type: Type.String(), id: Nullable(Type.String()) }),
  reviewed_by: Nullable(Type.String()),
  created_at: Timestamp(),
  approved_at: Nullable(Timestamp()),
  paid_at: Nullable(Timestamp()),
  failed_at: Nullable(Timestamp()),
  rejected_at: Nullable(Timestamp()),
  payout: Nullable(PayoutSummary),
});
