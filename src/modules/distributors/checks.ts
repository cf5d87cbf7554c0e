import { sql } from 'kysely';
import type { LedgerCheck } from '../ledger/verify.ts';

/**
 * Admission deposits' invariants, run by `ledger verify` with the ledger's own: each distributor's
 * deposit account holds what finance recorded received less what was paid back and what is on its
 * way back, and its deposit_refunding account holds the refund under way. The merchant's side
 * (deposit cash against all deposits not yet paid back) is reconciliation's `deposit_mismatch`,
 * and each refund against its journals and payout `deposit_refund_mismatch`: ledger checks too.
 */
export const DEPOSIT_LEDGER_CHECKS: LedgerCheck[] = [
  {
    invariant: "deposits: each distributor's deposit account equals the deposit received less the deposit refunded and the refund under way",
    query: (t) => sql`select d.id as subject, 'deposit account ' || coalesce(a.balance, 0) || ', received ' || d.deposit_paid_fen
        || ' less refunded ' || d.deposit_refunded_fen || ' less refunding ' || d.deposit_refunding_fen as detail
      from distributors d
      left join accounts a on a.tenant_id = d.tenant_id and a.owner_id = d.id and a.purpose = 'deposit'
      where ${t('d')} and coalesce(a.balance, 0) <> d.deposit_paid_fen - d.deposit_refunded_fen - d.deposit_refunding_fen`,
  },
];
