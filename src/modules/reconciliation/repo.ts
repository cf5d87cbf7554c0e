import { sql, type RawBuilder } from 'kysely';
import type { Executor } from '../../db/database.ts';
import type { WithdrawalChannel, WithdrawalStatus } from '../../db/schema.ts';
import type { Period } from '../exports/period.ts';
import type { MismatchRow, ReconciliationCheck } from './checks.ts';

/**
 * One withdrawal as finance checks it: who, where to (masked), how much, what the payout and
 * the provider say, when each step happened, and what its journals moved. Times are ISO strings
 * and amounts safe integers, so a row survives a JSON spool (see exports/snapshot.ts).
 */
export interface WithdrawalLedgerRow {
  withdrawal_id: string;
  distributor_id: string;
  distributor_external_id: string;
  distributor_name: string;
  channel: WithdrawalChannel;
  /** The payout account as stored for screens: masked (bank: last four digits only). */
  account_display: string | null;
  amount_fen: number;
  fee_fen: number;
  net_fen: number;
  status: WithdrawalStatus;
  status_reason: string | null;
  payout_id: string | null;
  out_no: string | null;
  provider_ref: string | null;
  payout_state: string | null;
  /** The outcome of the payout's last query or callback event, if any. */
  provider_state: string | null;
  requested_at: string;
  approved_at: string | null;
  paid_at: string | null;
  failed_at: string | null;
  rejected_at: string | null;
  finished_at: string | null;
  request_journal_id: string | null;
  submit_journal_id: string | null;
  /** payout_success, payout_fail or withdraw_reject. */
  final_journal_id: string | null;
  /** Credits of the withdraw_request journal (the amount set aside). */
  requested_fen: number;
  /** Credits of the payout_submit journal (the amount handed to the channel). */
  submitted_fen: number;
  /** payout_success's credit to the distributor's withdrawn account (what was paid out). */
  paid_fen: number;
  /** payout_success's credit to the merchant's fee income. */
  fee_income_fen: number;
  /** Credits back to withdrawable (withdraw_reject, payout_fail). */
  returned_fen: number;
  /** The payout's journals' net on payout clearing: 0 once finished, the amount while in flight. */
  clearing_fen: number;
}

export interface WithdrawalFilter {
  tenantId: string;
  period: Period;
  statuses?: readonly WithdrawalStatus[] | undefined;
  channels?: readonly WithdrawalChannel[] | undefined;
  distributorId?: string | undefined;
}

const iso = (d: Date | string | null): string | null => (d === null ? null : new Date(d).toISOString());

export function periodSql(column: string, p: Period): RawBuilder<unknown> {
  const col = sql.ref(column);
  if (p.from && p.to) return sql`(${col} >= ${p.from} and ${col} < ${p.to})`;
  if (p.from) return sql`${col} >= ${p.from}`;
  if (p.to) return sql`${col} < ${p.to}`;
  return sql`true`;
}

function withdrawalWhere(f: WithdrawalFilter): RawBuilder<unknown> {
  const parts: RawBuilder<unknown>[] = [sql`w.tenant_id = ${f.tenantId}`, periodSql('w.created_at', f.period)];
  if (f.statuses?.length) parts.push(sql`w.status = any(${[...f.statuses]}::text[])`);
  if (f.channels?.length) parts.push(sql`w.channel = any(${[...f.channels]}::text[])`);
  if (f.distributorId) parts.push(sql`w.distributor_id = ${f.distributorId}`);
  return sql.join(parts, sql` and `);
}

type RawRow = Omit<WithdrawalLedgerRow, 'requested_at' | 'approved_at' | 'paid_at' | 'failed_at' | 'rejected_at' | 'finished_at'> & {
  requested_at: Date;
  approved_at: Date | null;
  paid_at: Date | null;
  failed_at: Date | null;
  rejected_at: Date | null;
  finished_at: Date | null;
};

export const reconciliationRepo = {
  /** What each check finds in the period, in the order of the checks. */
  async mismatches(ex: Executor, tenantId: string, period: Period, checks: readonly ReconciliationCheck[]): Promise<MismatchRow[]> {
    const t = (alias: string) => sql`${sql.ref(`${alias}.tenant_id`)} = ${tenantId}`;
    const within = (column: string) => periodSql(column, period);
    const out: MismatchRow[] = [];
    for (const check of checks) {
      const r = await check.query(t, within).execute(ex);
      out.push(...r.rows);
    }
    return out;
  },

  /** The time of the snapshot the report reads (the transaction's start). */
  async snapshotTime(ex: Executor): Promise<Date> {
    return required((await sql<{ now: Date }>`select now() as now`.execute(ex)).rows[0], 'select now()').now;
  },

  /** A keyset page of withdrawals (by id, which is time-ordered) with their payout and journals. */
  async withdrawalPage(ex: Executor, f: WithdrawalFilter, after: string | null, limit: number): Promise<WithdrawalLedgerRow[]> {
    const r = await sql<RawRow>`
      select w.id as withdrawal_id, w.distributor_id, d.external_id as distributor_external_id, d.name as distributor_name,
             w.channel, pa.display as account_display, w.amount_fen, w.fee_fen, (w.amount_fen - w.fee_fen)::bigint as net_fen,
             w.status, w.status_reason, p.id as payout_id, p.out_no, coalesce(p.provider_ref, w.reference) as provider_ref,
             p.state as payout_state, pe.outcome as provider_state,
             w.created_at as requested_at, w.approved_at, w.paid_at, w.failed_at, w.rejected_at, p.finished_at,
             j.request_journal_id, j.submit_journal_id, j.final_journal_id,
             j.requested_fen, j.submitted_fen, j.paid_fen, j.fee_income_fen, j.returned_fen, j.clearing_fen
        from withdrawals w
        join distributors d on d.id = w.distributor_id
        left join payout_accounts pa on pa.id = w.payout_account_id
        left join payouts p on p.withdrawal_id = w.id
        left join lateral (
          select e.outcome from payout_events e where e.payout_id = p.id and e.source in ('query', 'callback') order by e.id desc limit 1) pe on true
        cross join lateral (
          select max(je.id) filter (where je.kind = 'withdraw_request') as request_journal_id,
                 max(je.id) filter (where je.kind = 'payout_submit') as submit_journal_id,
                 max(je.id) filter (where je.kind in ('payout_success', 'payout_fail', 'withdraw_reject')) as final_journal_id,
                 coalesce(sum(x.amount) filter (where je.kind = 'withdraw_request' and x.amount > 0), 0)::bigint as requested_fen,
                 coalesce(sum(x.amount) filter (where je.kind = 'payout_submit' and x.amount > 0), 0)::bigint as submitted_fen,
                 coalesce(sum(x.amount) filter (where je.kind = 'payout_success' and a.purpose = 'withdrawn'), 0)::bigint as paid_fen,
                 coalesce(sum(x.amount) filter (where je.kind = 'payout_success' and a.owner_id = 'tenant' and a.purpose = 'fee_income'), 0)::bigint as fee_income_fen,
                 coalesce(sum(x.amount) filter (where je.kind in ('withdraw_reject', 'payout_fail') and a.purpose = 'withdrawable'), 0)::bigint as returned_fen,
                 coalesce(sum(x.amount) filter (where je.ref_type = 'payout' and a.owner_id = 'tenant' and a.purpose = 'payout_clearing'), 0)::bigint as clearing_fen
            from journal_entries je join postings x on x.journal_id = je.id join accounts a on a.id = x.account_id
           where je.tenant_id = w.tenant_id
             and ((je.ref_type = 'withdrawal' and je.ref_id = w.id) or (je.ref_type = 'payout' and je.ref_id = p.id))) j
       where ${withdrawalWhere(f)} ${after === null ? sql`` : sql`and w.id > ${after}`}
       order by w.id
       limit ${limit}`.execute(ex);
    return r.rows.map((row) => ({
      ...row,
      requested_at: required(iso(row.requested_at), 'requested_at'),
      approved_at: iso(row.approved_at),
      paid_at: iso(row.paid_at),
      failed_at: iso(row.failed_at),
      rejected_at: iso(row.rejected_at),
      finished_at: iso(row.finished_at),
    }));
  },

  async countWithdrawals(ex: Executor, f: WithdrawalFilter): Promise<number> {
    const r = await sql<{ n: number }>`select count(*)::bigint as n from withdrawals w where ${withdrawalWhere(f)}`.execute(ex);
    return r.rows[0]?.n ?? 0;
  },

  /** Count, amount and fee of the period's withdrawals by channel and status. */
  async totals(ex: Executor, tenantId: string, period: Period) {
    const r = await sql<{ channel: WithdrawalChannel; status: WithdrawalStatus; n: number; amount_fen: number; fee_fen: number }>`
      select w.channel, w.status, count(*)::bigint as n, sum(w.amount_fen)::bigint as amount_fen, sum(w.fee_fen)::bigint as fee_fen
        from withdrawals w where w.tenant_id = ${tenantId} and ${periodSql('w.created_at', period)}
       group by w.channel, w.status order by w.channel, w.status`.execute(ex);
    return r.rows;
  },

  /** The merchant's payout clearing and fee income as the ledger has them, and what they should be. */
  async ledgerTotals(ex: Executor, tenantId: string) {
    const r = await sql<{
      payout_clearing_fen: number;
      in_flight_fen: number;
      fee_income_fen: number;
      paid_fees_fen: number;
      deposit_cash_fen: number;
      deposits_held_fen: number;
      deposits_refunding_fen: number;
    }>`
      select (select coalesce(sum(x.amount), 0) from postings x join accounts a on a.id = x.account_id
               where a.tenant_id = ${tenantId} and a.owner_id = 'tenant' and a.purpose = 'payout_clearing')::bigint as payout_clearing_fen,
             (select coalesce(sum(w.amount_fen), 0) from payouts p join withdrawals w on w.id = p.withdrawal_id
               where p.tenant_id = ${tenantId} and p.state in ('created', 'submitted', 'processing', 'wait_user_confirm', 'unknown'))::bigint as in_flight_fen,
             (select coalesce(sum(x.amount), 0) from postings x join accounts a on a.id = x.account_id
               where a.tenant_id = ${tenantId} and a.owner_id = 'tenant' and a.purpose = 'fee_income')::bigint as fee_income_fen,
             (select coalesce(sum(w.fee_fen), 0) from withdrawals w where w.tenant_id = ${tenantId} and w.status = 'paid')::bigint as paid_fees_fen,
             (select coalesce(-sum(x.amount), 0) from postings x join accounts a on a.id = x.account_id
               where a.tenant_id = ${tenantId} and a.owner_id = 'tenant' and a.purpose = 'deposit_cash')::bigint as deposit_cash_fen,
             (select coalesce(sum(d.deposit_paid_fen - d.deposit_refunded_fen), 0) from distributors d where d.tenant_id = ${tenantId})::bigint as deposits_held_fen,
             (select coalesce(sum(x.amount), 0) from postings x join accounts a on a.id = x.account_id
               where a.tenant_id = ${tenantId} and a.owner_type = 'distributor' and a.purpose = 'deposit_refunding')::bigint as deposits_refunding_fen`.execute(
      ex,
    );
    return required(r.rows[0], 'the totals row');
  },

  /** The journals of some withdrawals and their payouts: id, kind, amount moved (its credits), when. */
  async journalsOf(ex: Executor, tenantId: string, withdrawalIds: readonly string[]) {
    if (withdrawalIds.length === 0) return [];
    const r = await sql<{ withdrawal_id: string; id: string; kind: string; amount_fen: number; created_at: Date }>`
      select w.id as withdrawal_id, je.id, je.kind, coalesce(sum(x.amount) filter (where x.amount > 0), 0)::bigint as amount_fen, je.created_at
        from withdrawals w
        left join payouts p on p.withdrawal_id = w.id
        join journal_entries je on je.tenant_id = w.tenant_id
         and ((je.ref_type = 'withdrawal' and je.ref_id = w.id) or (je.ref_type = 'payout' and je.ref_id = p.id))
        join postings x on x.journal_id = je.id
       where w.tenant_id = ${tenantId} and w.id = any(${[...withdrawalIds]}::text[])
       group by w.id, je.id, je.kind, je.created_at
       order by w.id, je.id`.execute(ex);
    return r.rows;
  },
};

/** What the query always answers (an aggregate's one row, a column that is never null): its absence is a bug, named. */
function required<T>(value: T | null | undefined, what: string): T {
  if (value === null || value === undefined) throw new Error(`reconciliation: ${what} is missing`);
  return value;
}
