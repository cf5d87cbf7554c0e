import { sql, type RawBuilder } from 'kysely';
import type { LedgerCheck } from '../ledger/verify.ts';

/**
 * What reconciliation checks: every withdrawal and payout against the ledger (DESIGN.md
 * "Reconciliation", ledger notes invariant 8, "clearing nets to zero"). Each check is one SQL
 * query that lists what breaks it, so the same queries serve the period report
 * (GET /v1/reconciliation) and `ledger verify` (registered as ledger checks over all time).
 *
 * Amounts the checks expect, per withdrawal of amount A and fee F (signed fen, credit +):
 *
 *   withdraw_request  withdrawable −A, withdrawing +A
 *   withdraw_reject   withdrawing −A, withdrawable +A
 *   payout_submit     withdrawing −A, payout_clearing +A (party: the distributor)
 *   payout_success    payout_clearing −A, withdrawn +(A − F), fee_income +F
 *   payout_fail       payout_clearing −A, withdrawable +A
 *
 * The clearing account carries A (the gross amount) while a payout is in flight, although the
 * payout row's amount_fen is what the payee gets (A − F): the fee leaves clearing only when the
 * payout succeeds.
 *
 * Admission deposits refunded through a payout (src/modules/withdrawals/deposit-refunds.ts), per
 * refund of amount A, each journal referring to the refund:
 *
 *   deposit_refund_request  deposit −A, deposit_refunding +A
 *   deposit_refund_reject   deposit_refunding −A, deposit +A
 *   deposit_refunded        deposit_refunding −A, deposit_cash +A (party: the distributor)
 *   deposit_refund_fail     deposit_refunding −A, deposit +A
 *
 * So the merchant's deposit cash holds the deposits received less those paid back, and the
 * distributors' deposit_refunding accounts hold the refunds under way.
 */

export const MISMATCH_CODES = [
  'journal_amount_mismatch',
  'paid_without_payout_success',
  'journal_missing',
  'journal_unexpected',
  'journal_duplicated',
  'journal_without_payout',
  'journal_payout_state_mismatch',
  'payout_without_terminal_journal',
  'withdrawal_payout_status_mismatch',
  'clearing_not_zero',
  'clearing_not_in_flight',
  'clearing_balance_mismatch',
  'fee_income_mismatch',
  'provider_state_mismatch',
  'deposit_mismatch',
  'deposit_in_flight_mismatch',
  'deposit_refund_mismatch',
] as const;
export type MismatchCode = (typeof MISMATCH_CODES)[number];

export interface MismatchRow {
  code: MismatchCode;
  /** What the break is about: a withdrawal, payout or journal id, or the tenant for totals. */
  subject: string;
  withdrawal_id: string | null;
  payout_id: string | null;
  journal_id: string | null;
  expected_fen: number | null;
  actual_fen: number | null;
  detail: string;
}

/** The tenant filter on a table alias (`t('w')` → `w.tenant_id = $1`), as verifyLedger passes it. */
export type Scope = (alias: string) => RawBuilder<unknown>;
/** The period filter on a timestamp column (`within('w.created_at')`); `true` for all time. */
export type Within = (column: string) => RawBuilder<unknown>;

export interface ReconciliationCheck {
  /** The codes this query can answer with. */
  codes: readonly MismatchCode[];
  invariant: string;
  /** Per withdrawal (filtered by the period) or tenant-wide (as of the snapshot). */
  scope: 'period' | 'tenant';
  query: (t: Scope, within: Within) => RawBuilder<MismatchRow>;
}

const TERMINAL = sql`('succeeded', 'failed', 'cancelled')`;
const OPEN = sql`('created', 'submitted', 'processing', 'wait_user_confirm', 'unknown')`;

/** The withdrawals of the period with their payout (at most one, ever). */
function withdrawalsIn(t: Scope, within: Within) {
  return sql`w as (
    select w.id, w.tenant_id, w.distributor_id, w.amount_fen, w.fee_fen, w.status, w.created_at, p.id as payout_id, p.state as payout_state
      from withdrawals w left join payouts p on p.withdrawal_id = w.id
     where ${t('w')} and ${within('w.created_at')})`;
}

export const RECONCILIATION_CHECKS: readonly ReconciliationCheck[] = [
  {
    codes: ['journal_amount_mismatch'],
    invariant: "each withdrawal journal moves exactly the withdrawal's amount and fee",
    scope: 'period',
    query: (t, within) => sql<MismatchRow>`
      with ${withdrawalsIn(t, within)},
      j as (
        select w.id as wid, w.payout_id, w.distributor_id, w.amount_fen, w.fee_fen, je.id as jid, je.kind
          from w join journal_entries je on je.tenant_id = w.tenant_id and je.ref_type = 'withdrawal' and je.ref_id = w.id
         where je.kind in ('withdraw_request', 'withdraw_reject')
        union all
        select w.id, w.payout_id, w.distributor_id, w.amount_fen, w.fee_fen, je.id, je.kind
          from w join journal_entries je on je.tenant_id = w.tenant_id and je.ref_type = 'payout' and je.ref_id = w.payout_id
         where je.kind in ('payout_submit', 'payout_success', 'payout_fail')
      ),
      legs(kind, leg, per_amount, per_fee) as (values
        ('withdraw_request', 'withdrawable', -1, 0), ('withdraw_request', 'withdrawing', 1, 0),
        ('withdraw_reject', 'withdrawing', -1, 0), ('withdraw_reject', 'withdrawable', 1, 0),
        ('payout_submit', 'withdrawing', -1, 0), ('payout_submit', 'tenant payout_clearing', 1, 0),
        ('payout_success', 'tenant payout_clearing', -1, 0), ('payout_success', 'withdrawn', 1, -1), ('payout_success', 'tenant fee_income', 0, 1),
        ('payout_fail', 'tenant payout_clearing', -1, 0), ('payout_fail', 'withdrawable', 1, 0)),
      expected as (
        select j.wid, j.payout_id, j.jid, j.kind, l.leg, (l.per_amount * j.amount_fen + l.per_fee * j.fee_fen)::bigint as fen
          from j join legs l on l.kind = j.kind),
      actual as (
        -- A leg on another distributor's account, or a merchant leg attributed to someone else,
        -- gets a name of its own, which no expected leg has.
        select j.wid, j.payout_id, j.jid, j.kind,
               case when a.owner_id = j.distributor_id then a.purpose
                    when a.owner_id = 'tenant' and x.party_id is not distinct from j.distributor_id then 'tenant ' || a.purpose
                    when a.owner_id = 'tenant' then 'tenant ' || a.purpose || ' for ' || coalesce(x.party_id, 'nobody')
                    else a.purpose || ' of ' || a.owner_id end as leg,
               sum(x.amount)::bigint as fen
          from j join postings x on x.journal_id = j.jid join accounts a on a.id = x.account_id
         group by 1, 2, 3, 4, 5)
      select 'journal_amount_mismatch' as code, coalesce(e.wid, a.wid) as subject, coalesce(e.wid, a.wid) as withdrawal_id,
             coalesce(e.payout_id, a.payout_id) as payout_id, coalesce(e.jid, a.jid) as journal_id,
             coalesce(e.fen, 0)::bigint as expected_fen, coalesce(a.fen, 0)::bigint as actual_fen,
             coalesce(e.kind, a.kind) || ' ' || coalesce(e.jid, a.jid) || ': ' || coalesce(e.leg, a.leg) || ' should move '
               || coalesce(e.fen, 0) || ' fen, the journal moves ' || coalesce(a.fen, 0) as detail
        from expected e full join actual a on a.jid = e.jid and a.leg = e.leg
       where coalesce(e.fen, 0) <> coalesce(a.fen, 0)`,
  },
  {
    codes: ['paid_without_payout_success', 'journal_missing', 'journal_unexpected', 'journal_duplicated'],
    invariant: 'each withdrawal has exactly the journals of its status (a paid one its payout_success)',
    scope: 'period',
    query: (t, within) => sql<MismatchRow>`
      with ${withdrawalsIn(t, within)},
      needed(status, kind) as (values
        ('pending_review', 'withdraw_request'),
        ('rejected', 'withdraw_request'), ('rejected', 'withdraw_reject'),
        ('approved', 'withdraw_request'), ('approved', 'payout_submit'),
        ('paid', 'withdraw_request'), ('paid', 'payout_submit'), ('paid', 'payout_success'),
        ('failed', 'withdraw_request'), ('failed', 'payout_submit'), ('failed', 'payout_fail')),
      need as (select w.id as wid, n.kind from w join needed n on n.status = w.status),
      have as (
        select w.id as wid, je.kind, count(*)::bigint as n, min(je.id) as jid
          from w join journal_entries je on je.tenant_id = w.tenant_id and je.ref_type = 'withdrawal' and je.ref_id = w.id group by 1, 2
        union all
        select w.id, je.kind, count(*)::bigint, min(je.id)
          from w join journal_entries je on je.tenant_id = w.tenant_id and je.ref_type = 'payout' and je.ref_id = w.payout_id group by 1, 2)
      select case when h.kind is null and x.kind = 'payout_success' then 'paid_without_payout_success'
                  when h.kind is null then 'journal_missing'
                  when x.kind is null then 'journal_unexpected'
                  else 'journal_duplicated' end as code,
             w.id as subject, w.id as withdrawal_id, w.payout_id, h.jid as journal_id, null::bigint as expected_fen, null::bigint as actual_fen,
             case when h.kind is null then 'a ' || w.status || ' withdrawal has no ' || x.kind || ' journal'
                  when x.kind is null then 'a ' || w.status || ' withdrawal has a ' || h.kind || ' journal (' || h.jid || ')'
                  else 'a ' || w.status || ' withdrawal has ' || h.n || ' ' || h.kind || ' journals' end as detail
        from need x full join have h on h.wid = x.wid and h.kind = x.kind
        join w on w.id = coalesce(x.wid, h.wid)
       where x.kind is null or h.kind is null or h.n <> 1`,
  },
  {
    codes: ['journal_without_payout', 'journal_payout_state_mismatch'],
    invariant: 'each payout_success / payout_fail journal belongs to a payout in that terminal state',
    scope: 'period',
    query: (t, within) => sql<MismatchRow>`
      select case when p.id is null then 'journal_without_payout' else 'journal_payout_state_mismatch' end as code,
             je.id as subject, w.id as withdrawal_id, p.id as payout_id, je.id as journal_id, null::bigint as expected_fen, null::bigint as actual_fen,
             case when p.id is null then je.kind || ' journal ' || je.id || ' names ' || je.ref_type || ' ' || je.ref_id || ', which is no payout of this tenant'
                  else je.kind || ' journal ' || je.id || ', but payout ' || p.id || ' is ' || p.state end as detail
        from journal_entries je
        left join payouts p on je.ref_type = 'payout' and p.id = je.ref_id and p.tenant_id = je.tenant_id
        left join withdrawals w on w.id = p.withdrawal_id
       where ${t('je')} and je.kind in ('payout_success', 'payout_fail')
         and (p.id is null
           or (je.kind = 'payout_success' and p.state <> 'succeeded')
           or (je.kind = 'payout_fail' and p.state not in ('failed', 'cancelled')))
         and (case when w.id is null then ${within('je.created_at')} else ${within('w.created_at')} end)`,
  },
  {
    codes: ['payout_without_terminal_journal'],
    invariant: 'each finished payout has its terminal journal (succeeded: payout_success; failed or cancelled: payout_fail)',
    scope: 'period',
    query: (t, within) => sql<MismatchRow>`
      select 'payout_without_terminal_journal' as code, p.id as subject, w.id as withdrawal_id, p.id as payout_id, null::text as journal_id,
             null::bigint as expected_fen, null::bigint as actual_fen,
             'payout ' || p.id || ' is ' || p.state || ' but has no ' || case when p.state = 'succeeded' then 'payout_success' else 'payout_fail' end || ' journal' as detail
        from payouts p join withdrawals w on w.id = p.withdrawal_id
       where ${t('p')} and ${within('w.created_at')} and p.state in ${TERMINAL}
         and not exists (select 1 from journal_entries je
                          where je.tenant_id = p.tenant_id and je.ref_type = 'payout' and je.ref_id = p.id
                            and je.kind = case when p.state = 'succeeded' then 'payout_success' else 'payout_fail' end)`,
  },
  {
    codes: ['withdrawal_payout_status_mismatch'],
    invariant: "each withdrawal's status agrees with its payout's state",
    scope: 'period',
    query: (t, within) => sql<MismatchRow>`
      with ${withdrawalsIn(t, within)}
      select 'withdrawal_payout_status_mismatch' as code, w.id as subject, w.id as withdrawal_id, w.payout_id, null::text as journal_id,
             null::bigint as expected_fen, null::bigint as actual_fen,
             'a ' || w.status || ' withdrawal whose payout is ' || coalesce(w.payout_state, 'missing') as detail
        from w
       where not ((w.status in ('pending_review', 'rejected') and w.payout_id is null)
               or (w.status = 'approved' and w.payout_state in ${OPEN})
               or (w.status = 'paid' and w.payout_state = 'succeeded')
               or (w.status = 'failed' and w.payout_state in ('failed', 'cancelled')))`,
  },
  {
    codes: ['clearing_not_zero', 'clearing_not_in_flight'],
    invariant: 'payout clearing nets to zero for each finished payout, and holds the amount of each payout in flight',
    scope: 'period',
    query: (t, within) => sql<MismatchRow>`
      select case when p.state in ${TERMINAL} then 'clearing_not_zero' else 'clearing_not_in_flight' end as code,
             p.id as subject, w.id as withdrawal_id, p.id as payout_id, null::text as journal_id,
             (case when p.state in ${TERMINAL} then 0 else w.amount_fen end)::bigint as expected_fen, c.fen as actual_fen,
             'payout ' || p.id || ' (' || p.state || '): its clearing postings net to ' || c.fen || ' fen, expected '
               || case when p.state in ${TERMINAL} then 0 else w.amount_fen end as detail
        from payouts p join withdrawals w on w.id = p.withdrawal_id
        cross join lateral (
          select coalesce(sum(x.amount), 0)::bigint as fen
            from journal_entries je join postings x on x.journal_id = je.id join accounts a on a.id = x.account_id
           where je.tenant_id = p.tenant_id and je.ref_type = 'payout' and je.ref_id = p.id
             and a.owner_id = 'tenant' and a.purpose = 'payout_clearing') c
       where ${t('p')} and ${within('w.created_at')}
         and c.fen <> case when p.state in ${TERMINAL} then 0 else w.amount_fen end`,
  },
  {
    codes: ['clearing_balance_mismatch'],
    invariant: 'the payout clearing balance equals the amounts of the payouts in flight',
    scope: 'tenant',
    query: (t) => sql<MismatchRow>`
      select 'clearing_balance_mismatch' as code, a.tenant_id as subject, null::text as withdrawal_id, null::text as payout_id, null::text as journal_id,
             o.fen as expected_fen, c.fen as actual_fen,
             'payout clearing holds ' || c.fen || ' fen; the payouts in flight amount to ' || o.fen || ' fen' as detail
        from accounts a
        cross join lateral (select coalesce(sum(x.amount), 0)::bigint as fen from postings x where x.account_id = a.id) c
        cross join lateral (
          select coalesce(sum(w.amount_fen), 0)::bigint as fen from payouts p join withdrawals w on w.id = p.withdrawal_id
           where p.tenant_id = a.tenant_id and p.state in ${OPEN}) o
       where ${t('a')} and a.owner_id = 'tenant' and a.purpose = 'payout_clearing' and c.fen <> o.fen`,
  },
  {
    codes: ['fee_income_mismatch'],
    invariant: 'fee income equals the fees of the paid withdrawals',
    scope: 'tenant',
    query: (t) => sql<MismatchRow>`
      select 'fee_income_mismatch' as code, a.tenant_id as subject, null::text as withdrawal_id, null::text as payout_id, null::text as journal_id,
             f.fen as expected_fen, c.fen as actual_fen,
             'fee income is ' || c.fen || ' fen; the paid withdrawals'' fees are ' || f.fen || ' fen' as detail
        from accounts a
        cross join lateral (select coalesce(sum(x.amount), 0)::bigint as fen from postings x where x.account_id = a.id) c
        cross join lateral (select coalesce(sum(w.fee_fen), 0)::bigint as fen from withdrawals w where w.tenant_id = a.tenant_id and w.status = 'paid') f
       where ${t('a')} and a.owner_id = 'tenant' and a.purpose = 'fee_income' and c.fen <> f.fen`,
  },
  {
    codes: ['deposit_mismatch'],
    invariant: "the merchant's deposit cash equals the admission deposits received less those refunded",
    scope: 'tenant',
    // deposit_cash carries a debit (−) for each deposit received and a credit (+) for each refund.
    query: (t) => sql<MismatchRow>`
      select 'deposit_mismatch' as code, a.tenant_id as subject, null::text as withdrawal_id, null::text as payout_id, null::text as journal_id,
             r.fen as expected_fen, -c.fen as actual_fen,
             'deposit cash holds ' || -c.fen || ' fen; the deposits received less refunded are ' || r.fen || ' fen' as detail
        from accounts a
        cross join lateral (select coalesce(sum(x.amount), 0)::bigint as fen from postings x where x.account_id = a.id) c
        cross join lateral (select coalesce(sum(d.deposit_paid_fen - d.deposit_refunded_fen), 0)::bigint as fen
                              from distributors d where d.tenant_id = a.tenant_id) r
       where ${t('a')} and a.owner_id = 'tenant' and a.purpose = 'deposit_cash' and -c.fen <> r.fen`,
  },
  {
    codes: ['deposit_in_flight_mismatch'],
    invariant: 'the deposits on their way back (deposit_refunding) equal the deposit refunds under way, for each distributor',
    scope: 'tenant',
    query: (t) => sql<MismatchRow>`
      select 'deposit_in_flight_mismatch' as code, d.id as subject, null::text as withdrawal_id, null::text as payout_id, null::text as journal_id,
             coalesce(o.fen, 0)::bigint as expected_fen, coalesce(a.balance, 0)::bigint as actual_fen,
             'distributor ' || d.id || ': deposit_refunding holds ' || coalesce(a.balance, 0) || ' fen, the record says ' || d.deposit_refunding_fen
               || ' fen, its refunds under way amount to ' || coalesce(o.fen, 0) || ' fen' as detail
        from distributors d
        left join accounts a on a.tenant_id = d.tenant_id and a.owner_id = d.id and a.purpose = 'deposit_refunding'
        left join lateral (select sum(r.amount_fen)::bigint as fen from deposit_refunds r
                            where r.tenant_id = d.tenant_id and r.distributor_id = d.id and r.status in ('pending_review', 'approved')) o on true
       where ${t('d')}
         and (coalesce(a.balance, 0) <> d.deposit_refunding_fen or d.deposit_refunding_fen <> coalesce(o.fen, 0))`,
  },
  {
    codes: ['deposit_refund_mismatch'],
    invariant: "each deposit refund has exactly the journals of its status, each moving the refund's amount, and a payout in the state its status says",
    scope: 'period',
    query: (t, within) => sql<MismatchRow>`
      with r as (
        select r.id, r.tenant_id, r.distributor_id, r.amount_fen, r.status, p.id as payout_id, p.state as payout_state, p.amount_fen as payout_fen
          from deposit_refunds r left join payouts p on p.tenant_id = r.tenant_id and p.deposit_refund_id = r.id
         where ${t('r')} and ${within('r.created_at')}),
      needed(status, kind) as (values
        ('pending_review', 'deposit_refund_request'), ('approved', 'deposit_refund_request'),
        ('rejected', 'deposit_refund_request'), ('rejected', 'deposit_refund_reject'),
        ('paid', 'deposit_refund_request'), ('paid', 'deposit_refunded'),
        ('failed', 'deposit_refund_request'), ('failed', 'deposit_refund_fail')),
      need as (select r.id as rid, n.kind from r join needed n on n.status = r.status),
      have as (
        select r.id as rid, je.kind, count(*)::bigint as n, min(je.id) as jid
          from r join journal_entries je on je.tenant_id = r.tenant_id and je.ref_type = 'deposit_refund' and je.ref_id = r.id group by 1, 2),
      legs(kind, leg, sign) as (values
        ('deposit_refund_request', 'deposit', -1), ('deposit_refund_request', 'deposit_refunding', 1),
        ('deposit_refund_reject', 'deposit_refunding', -1), ('deposit_refund_reject', 'deposit', 1),
        ('deposit_refunded', 'deposit_refunding', -1), ('deposit_refunded', 'tenant deposit_cash', 1),
        ('deposit_refund_fail', 'deposit_refunding', -1), ('deposit_refund_fail', 'deposit', 1)),
      j as (select r.id as rid, r.payout_id, r.distributor_id, r.amount_fen, je.id as jid, je.kind
              from r join journal_entries je on je.tenant_id = r.tenant_id and je.ref_type = 'deposit_refund' and je.ref_id = r.id),
      expected as (select j.rid, j.payout_id, j.jid, j.kind, l.leg, (l.sign * j.amount_fen)::bigint as fen from j join legs l on l.kind = j.kind),
      actual as (
        select j.rid, j.payout_id, j.jid, j.kind,
               case when a.owner_id = j.distributor_id then a.purpose
                    when a.owner_id = 'tenant' and x.party_id is not distinct from j.distributor_id then 'tenant ' || a.purpose
                    when a.owner_id = 'tenant' then 'tenant ' || a.purpose || ' for ' || coalesce(x.party_id, 'nobody')
                    else a.purpose || ' of ' || a.owner_id end as leg,
               sum(x.amount)::bigint as fen
          from j join postings x on x.journal_id = j.jid join accounts a on a.id = x.account_id
         group by 1, 2, 3, 4, 5)
      select 'deposit_refund_mismatch' as code, r.id as subject, null::text as withdrawal_id, r.payout_id, h.jid as journal_id,
             null::bigint as expected_fen, null::bigint as actual_fen,
             case when h.kind is null then 'a ' || r.status || ' deposit refund has no ' || x.kind || ' journal'
                  when x.kind is null then 'a ' || r.status || ' deposit refund has a ' || h.kind || ' journal (' || h.jid || ')'
                  else 'a ' || r.status || ' deposit refund has ' || h.n || ' ' || h.kind || ' journals' end as detail
        from need x full join have h on h.rid = x.rid and h.kind = x.kind
        join r on r.id = coalesce(x.rid, h.rid)
       where x.kind is null or h.kind is null or h.n <> 1
      union all
      select 'deposit_refund_mismatch', coalesce(e.rid, a.rid), null, coalesce(e.payout_id, a.payout_id), coalesce(e.jid, a.jid),
             coalesce(e.fen, 0)::bigint, coalesce(a.fen, 0)::bigint,
             coalesce(e.kind, a.kind) || ' ' || coalesce(e.jid, a.jid) || ': ' || coalesce(e.leg, a.leg) || ' should move '
               || coalesce(e.fen, 0) || ' fen, the journal moves ' || coalesce(a.fen, 0)
        from expected e full join actual a on a.jid = e.jid and a.leg = e.leg
       where coalesce(e.fen, 0) <> coalesce(a.fen, 0)
      union all
      select 'deposit_refund_mismatch', r.id, null, r.payout_id, null, r.amount_fen::bigint, r.payout_fen::bigint,
             'a ' || r.status || ' deposit refund of ' || r.amount_fen || ' fen whose payout is '
               || coalesce(r.payout_state || ' (' || r.payout_fen || ' fen)', 'missing')
        from r
       where not coalesce((r.status in ('pending_review', 'rejected') and r.payout_id is null)
               or (r.status = 'approved' and r.payout_state in ${OPEN} and r.payout_fen = r.amount_fen)
               or (r.status = 'paid' and r.payout_state = 'succeeded' and r.payout_fen = r.amount_fen)
               or (r.status = 'failed' and r.payout_state in ('failed', 'cancelled') and r.payout_fen = r.amount_fen), false)`,
  },
  {
    codes: ['provider_state_mismatch'],
    invariant: "each payout agrees with the provider's last word on it (its last query or callback with an outcome)",
    scope: 'period',
    // Failed and cancelled are both "not paid" and move the same money back; only paid versus
    // not paid, or a provider outcome on a payout still open, is a disagreement.
    query: (t, within) => sql<MismatchRow>`
      select 'provider_state_mismatch' as code, p.id as subject, w.id as withdrawal_id, p.id as payout_id, null::text as journal_id,
             null::bigint as expected_fen, null::bigint as actual_fen,
             'payout ' || p.id || ' is ' || p.state || '; the provider''s last word (' || e.source || ' event ' || e.id || ') is ' || e.outcome as detail
        from payouts p left join withdrawals w on w.id = p.withdrawal_id
        left join deposit_refunds r on r.tenant_id = p.tenant_id and r.id = p.deposit_refund_id
        cross join lateral (
          select e.id, e.source, e.outcome from payout_events e
           where e.payout_id = p.id and e.source in ('query', 'callback') and e.outcome in ('succeeded', 'failed', 'cancelled')
           order by e.id desc limit 1) e
       where ${t('p')} and (case when w.id is null then ${within('r.created_at')} else ${within('w.created_at')} end)
         and (p.state not in ${TERMINAL} or (p.state = 'succeeded') <> (e.outcome = 'succeeded'))`,
  },
];

export const ALL_TIME: Within = () => sql`true`;

/** The checks as `ledger verify` runs them: every withdrawal and payout, whatever its date. */
export const RECONCILIATION_LEDGER_CHECKS: LedgerCheck[] = RECONCILIATION_CHECKS.map((c) => ({
  invariant: `reconciliation: ${c.invariant}`,
  query: (t) => c.query(t, ALL_TIME),
}));
