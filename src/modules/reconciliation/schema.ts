import { Type } from '@sinclair/typebox';
import { Nullable, SignedFen, Strict, Timestamp } from '../../core/schema.ts';
import { PERIOD_PATTERN } from '../exports/period.ts';
import { MISMATCH_CODES } from './checks.ts';

export const PeriodBound = (what: string) =>
  Type.String({
    maxLength: 40,
    pattern: PERIOD_PATTERN,
    description: `${what}: a date (YYYY-MM-DD, midnight in the tenant's time zone) or an ISO 8601 date-time`,
  });

export const ReconciliationQuery = Strict({
  from: Type.Optional(PeriodBound('start of the period, inclusive (by withdrawal request time)')),
  to: Type.Optional(PeriodBound('end of the period, exclusive')),
  limit: Type.Optional(
    Type.Integer({ minimum: 1, maximum: 1000, default: 100, description: 'withdrawals per page; totals and mismatches always cover the whole period' }),
  ),
  cursor: Type.Optional(Type.String({ maxLength: 64 })),
});

const Sum = Strict({ count: Type.Integer({ minimum: 0 }), amount_fen: SignedFen(), fee_fen: SignedFen(), net_fen: SignedFen() });
const StatusTotals = {
  requested: Sum,
  pending_review: Sum,
  in_flight: Sum,
  paid: Sum,
  failed: Sum,
  rejected: Sum,
  returned: Sum,
  fees_fen: SignedFen('fees kept from paid withdrawals'),
};

export const Mismatch = Strict(
  {
    code: Type.Union(MISMATCH_CODES.map((c) => Type.Literal(c))),
    subject: Type.String({ description: 'the withdrawal, payout or journal concerned, or the tenant for a tenant-wide figure' }),
    withdrawal_id: Nullable(Type.String()),
    payout_id: Nullable(Type.String()),
    journal_id: Nullable(Type.String()),
    expected_fen: Nullable(SignedFen()),
    actual_fen: Nullable(SignedFen()),
    detail: Type.String(),
  },
  { title: 'Reconciliation mismatch' },
);

const T = Nullable(Timestamp());
export const ReconciliationItem = Strict({
  withdrawal_id: Type.String(),
  distributor_id: Type.String(),
  distributor_external_id: Type.String(),
  distributor_name: Type.String(),
  channel: Type.String(),
  account_display: Nullable(Type.String({ description: 'masked' })),
  amount_fen: SignedFen(),
  fee_fen: SignedFen(),
  net_fen: SignedFen(),
  status: Type.String(),
  status_reason: Nullable(Type.String()),
  payout_id: Nullable(Type.String()),
  out_no: Nullable(Type.String()),
  provider_ref: Nullable(Type.String()),
  payout_state: Nullable(Type.String()),
  provider_state: Nullable(Type.String({ description: 'outcome of the last query or callback' })),
  requested_at: Timestamp(),
  approved_at: T,
  paid_at: T,
  failed_at: T,
  rejected_at: T,
  finished_at: T,
  request_journal_id: Nullable(Type.String()),
  submit_journal_id: Nullable(Type.String()),
  final_journal_id: Nullable(Type.String()),
  requested_fen: SignedFen(),
  submitted_fen: SignedFen(),
  paid_fen: SignedFen(),
  fee_income_fen: SignedFen(),
  returned_fen: SignedFen(),
  clearing_fen: SignedFen("the payout journals' net on payout clearing: 0 once finished, the amount while in flight"),
  journals: Type.Array(Strict({ id: Type.String(), kind: Type.String(), amount_fen: SignedFen('what it moved (its credits)'), created_at: Timestamp() })),
  mismatches: Type.Array(Type.String()),
});

export const ReconciliationReport = Strict(
  {
    tenant_id: Type.String(),
    from: Nullable(Timestamp()),
    to: Nullable(Timestamp()),
    basis: Type.Literal('withdrawal_requested_at'),
    as_of: Timestamp('the database time of the snapshot every figure comes from'),
    ok: Type.Boolean(),
    totals: Strict({
      overall: Strict(StatusTotals),
      by_channel: Type.Array(Strict({ channel: Type.String(), ...StatusTotals })),
    }),
    ledger: Strict({
      payout_clearing_fen: SignedFen("the merchant's payout clearing balance (all periods)"),
      in_flight_fen: SignedFen('amounts of the payouts not yet finished (all periods)'),
      fee_income_fen: SignedFen("the merchant's fee income balance"),
      paid_fees_fen: SignedFen('fees of every paid withdrawal'),
      deposit_cash_fen: SignedFen("admission deposits: the merchant's deposit cash on the ledger (received less paid back)"),
      deposits_held_fen: SignedFen("admission deposits: received less paid back, by the distributors' records (including those on their way back)"),
      deposits_refunding_fen: SignedFen("admission deposits on their way back: the distributors' deposit_refunding accounts (refunds not yet paid or failed)"),
    }),
    mismatches: Type.Array(Mismatch),
    items: Type.Array(ReconciliationItem),
    next_cursor: Nullable(Type.String()),
  },
  { title: 'Reconciliation' },
);
