import { sql } from 'kysely';
import type { LedgerCheck } from '../ledger/verify.ts';

/**
 * Admission deposits' invariants, run by `ledger verify` with the ledger's own: each distributor's
 * deposit account holds what finance recorded received less what it refunded, and the merchant's
 * deposit cash is the other side of all of them.
 */
export const DEPOSIT_LEDGER_CHECKS: LedgerCheck[] = [
  {
    invariant: "deposits: each distributor's deposit account equals the deposit received less the deposit refunded",
    query: (t) => sql`select d.id as subject, 'deposit account ' || coalesce(a.balance, 0) || ', received ' || d.deposit_paid_fen
        || ' less refunded ' || d.deposit_refunded_fen as detail
      from distributors d
      left join accounts a on a.tenant_id = d.tenant_id and a.owner_id = d.id and a.purpose = 'deposit'
      where ${t('d')} and coalesce(a.balance, 0) <> d.deposit_paid_fen - d.deposit_refunded_fen`,
  },
  {
    invariant: "deposits: the merchant's deposit cash equals the deposits its distributors hold, with the opposite sign",
    query: (t) => sql`select x.tenant_id as subject, 'deposit_cash ' || x.cash || ', deposits held ' || coalesce(y.held, 0) as detail
      from (select a.tenant_id, sum(p.amount) as cash from postings p join accounts a on a.id = p.account_id
             where a.owner_id = 'tenant' and a.purpose = 'deposit_cash' and ${t('a')} group by a.tenant_id) x
      left join (select b.tenant_id, sum(b.balance) as held from accounts b where b.purpose = 'deposit' and b.owner_id <> 'tenant' and ${t('b')} group by b.tenant_id) y
        on y.tenant_id = x.tenant_id
      where x.cash <> -coalesce(y.held, 0)`,
  },
];
