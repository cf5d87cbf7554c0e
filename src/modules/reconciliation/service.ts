import type { Db, Executor } from '../../db/database.ts';
import type { Actor } from '../../core/context.ts';
import { requirePermission, tenantOf } from '../../core/principal.ts';
import type { WithdrawalChannel, WithdrawalStatus } from '../../db/schema.ts';
import { keysetPages } from '../../lib/export/index.ts';
import type { ProgramService } from '../program/service.ts';
import { inSnapshot } from '../exports/snapshot.ts';
import { periodOf, type Period } from '../exports/period.ts';
import { MISMATCH_CODES, RECONCILIATION_CHECKS, type MismatchRow } from './checks.ts';
import { reconciliationRepo as repo, type WithdrawalFilter, type WithdrawalLedgerRow } from './repo.ts';

export interface Sum {
  count: number;
  amount_fen: number;
  fee_fen: number;
  net_fen: number;
}

/** Withdrawals by where they stand: requested is all of them; returned is failed + rejected. */
export interface StatusTotals {
  requested: Sum;
  pending_review: Sum;
  in_flight: Sum;
  paid: Sum;
  failed: Sum;
  rejected: Sum;
  returned: Sum;
  /** Fees kept from paid withdrawals: the merchant's fee income of the period. */
  fees_fen: number;
}

export interface ReconciliationRow extends WithdrawalLedgerRow {
  journals: { id: string; kind: string; amount_fen: number; created_at: string }[];
  mismatches: string[];
}

export interface ReconciliationReport {
  tenant_id: string;
  from: string | null;
  to: string | null;
  basis: 'withdrawal_requested_at';
  /** The database time of the snapshot every figure was read in. */
  as_of: string;
  ok: boolean;
  totals: { overall: StatusTotals; by_channel: (StatusTotals & { channel: WithdrawalChannel })[] };
  ledger: {
    payout_clearing_fen: number;
    in_flight_fen: number;
    fee_income_fen: number;
    paid_fees_fen: number;
    /** Admission deposits: the merchant's deposit cash on the ledger, and received less refunded (paid back) by the distributors' records. */
    deposit_cash_fen: number;
    deposits_held_fen: number;
    /** Admission deposits on their way back: the distributors' deposit_refunding accounts (refunds asked for, not yet paid or failed). */
    deposits_refunding_fen: number;
  };
  mismatches: MismatchRow[];
  items: ReconciliationRow[];
  next_cursor: string | null;
}

const zero = (): Sum => ({ count: 0, amount_fen: 0, fee_fen: 0, net_fen: 0 });
const emptyTotals = (): StatusTotals => ({
  requested: zero(),
  pending_review: zero(),
  in_flight: zero(),
  paid: zero(),
  failed: zero(),
  rejected: zero(),
  returned: zero(),
  fees_fen: 0,
});

function add(s: Sum, n: number, amount: number, fee: number): void {
  s.count += n;
  s.amount_fen += amount;
  s.fee_fen += fee;
  s.net_fen += amount - fee;
}

function bucketOf(t: StatusTotals, status: WithdrawalStatus): Sum {
  switch (status) {
    case 'pending_review':
      return t.pending_review;
    case 'approved':
      return t.in_flight;
    case 'paid':
      return t.paid;
    case 'failed':
      return t.failed;
    case 'rejected':
      return t.rejected;
    default: {
      const never: never = status;
      throw new Error(`unknown withdrawal status ${String(never)}`);
    }
  }
}

/** Sorted by the order of MISMATCH_CODES, then subject: a stable list for people and diffs. */
function byCode(a: MismatchRow, b: MismatchRow): number {
  return (
    MISMATCH_CODES.indexOf(a.code) - MISMATCH_CODES.indexOf(b.code) ||
    a.subject.localeCompare(b.subject) ||
    (a.journal_id ?? '').localeCompare(b.journal_id ?? '') ||
    a.detail.localeCompare(b.detail)
  );
}

/**
 * Reconciliation: every withdrawal of a period against the ledger and the payout channels.
 *
 * The period is by withdrawal request time (`created_at`), [from, to): a withdrawal belongs to
 * the period it was asked for in, whatever became of it later, so a payout still in flight is in
 * the report (as in flight) and shows up finished in the next run of the same period. Its
 * journals count whenever they were written. Tenant-wide figures (the clearing balance against
 * the payouts in flight, fee income against the fees of paid withdrawals) are as of the
 * snapshot, all periods. Everything is read in one REPEATABLE READ snapshot, so the rows, the
 * totals and the mismatches describe one instant of the ledger.
 */
export function createReconciliationService(deps: { db: Db; program: ProgramService }) {
  const { db, program } = deps;

  /** Every mismatch of the period, run in the caller's snapshot. */
  async function mismatchesWithin(ex: Executor, tenantId: string, period: Period): Promise<MismatchRow[]> {
    return (await repo.mismatches(ex, tenantId, period, RECONCILIATION_CHECKS)).sort(byCode);
  }

  /** The period's withdrawals, page by page, in the caller's snapshot. */
  function withdrawalsWithin(ex: Executor, filter: WithdrawalFilter, pageSize = 1000): AsyncGenerator<WithdrawalLedgerRow, void, undefined> {
    return keysetPages({ pageSize, fetch: (after: string | null, limit) => repo.withdrawalPage(ex, filter, after, limit), cursorOf: (r) => r.withdrawal_id });
  }

  async function totalsWithin(ex: Executor, tenantId: string, period: Period) {
    const overall = emptyTotals();
    const channels = new Map<WithdrawalChannel, StatusTotals>();
    for (const r of await repo.totals(ex, tenantId, period)) {
      let c = channels.get(r.channel);
      if (!c) channels.set(r.channel, (c = emptyTotals()));
      for (const t of [overall, c]) {
        add(t.requested, r.n, r.amount_fen, r.fee_fen);
        add(bucketOf(t, r.status), r.n, r.amount_fen, r.fee_fen);
        if (r.status === 'failed' || r.status === 'rejected') add(t.returned, r.n, r.amount_fen, r.fee_fen);
        if (r.status === 'paid') t.fees_fen += r.fee_fen;
      }
    }
    return { overall, by_channel: [...channels.entries()].map(([channel, t]) => ({ channel, ...t })) };
  }

  /** finance, owner and auditor (and the merchant's key): the money read. */
  function authorize(actor: Actor): string {
    requirePermission(actor.principal, 'finance:read');
    return tenantOf(actor.principal);
  }

  /** The period of a query, dates read in the tenant's time zone. */
  async function periodFor(ex: Executor, tenantId: string, q: { from?: string | undefined; to?: string | undefined }): Promise<Period> {
    return periodOf(q, (await program.read(ex, tenantId)).timezone);
  }

  return {
    mismatchesWithin,
    withdrawalsWithin,
    authorize,
    periodFor,
    countWithdrawals: (ex: Executor, filter: WithdrawalFilter) => repo.countWithdrawals(ex, filter),

    /** GET /v1/reconciliation: totals, ledger figures and every mismatch of the period, and a page of its withdrawals. */
    async report(
      actor: Actor,
      q: { from?: string | undefined; to?: string | undefined; limit: number; cursor?: string | undefined },
    ): Promise<ReconciliationReport> {
      const tenantId = authorize(actor);
      const period = await periodFor(db, tenantId, q);
      return inSnapshot(db, async (tx) => {
        const asOf = await repo.snapshotTime(tx);
        const mismatches = await mismatchesWithin(tx, tenantId, period);
        const totals = await totalsWithin(tx, tenantId, period);
        const ledger = await repo.ledgerTotals(tx, tenantId);
        const rows = await repo.withdrawalPage(tx, { tenantId, period }, q.cursor ?? null, q.limit + 1);
        const page = rows.slice(0, q.limit);
        const journals = await repo.journalsOf(
          tx,
          tenantId,
          page.map((r) => r.withdrawal_id),
        );
        const codesOf = mismatchIndex(mismatches);
        return {
          tenant_id: tenantId,
          from: period.from?.toISOString() ?? null,
          to: period.to?.toISOString() ?? null,
          basis: 'withdrawal_requested_at' as const,
          as_of: new Date(asOf).toISOString(),
          ok: mismatches.length === 0,
          totals,
          ledger,
          mismatches,
          items: page.map((r) => ({
            ...r,
            journals: journals
              .filter((j) => j.withdrawal_id === r.withdrawal_id)
              .map((j) => ({ id: j.id, kind: j.kind, amount_fen: j.amount_fen, created_at: new Date(j.created_at).toISOString() })),
            mismatches: codesOf(r.withdrawal_id, r.payout_id),
          })),
          next_cursor: rows.length > q.limit ? (page.at(-1)?.withdrawal_id ?? null) : null,
        };
      });
    },

    /** For `fenxiao reconcile`: the same report's summary for any tenant, without the rows. */
    async summary(tenantId: string, q: { from?: string | undefined; to?: string | undefined }) {
      const period = await periodFor(db, tenantId, q);
      return inSnapshot(db, async (tx) => {
        const mismatches = await mismatchesWithin(tx, tenantId, period);
        return {
          tenant_id: tenantId,
          from: period.from?.toISOString() ?? null,
          to: period.to?.toISOString() ?? null,
          basis: 'withdrawal_requested_at' as const,
          ok: mismatches.length === 0,
          totals: await totalsWithin(tx, tenantId, period),
          ledger: await repo.ledgerTotals(tx, tenantId),
          mismatches,
        };
      });
    },
  };
}

/** The codes of the mismatches that name a withdrawal (or its payout), for its row. */
export function mismatchIndex(mismatches: readonly MismatchRow[]): (withdrawalId: string, payoutId: string | null) => string[] {
  const byKey = new Map<string, Set<string>>();
  for (const m of mismatches) {
    for (const key of [m.withdrawal_id, m.payout_id]) {
      if (!key) continue;
      const set = byKey.get(key) ?? new Set<string>();
      set.add(m.code);
      byKey.set(key, set);
    }
  }
  return (withdrawalId, payoutId) => {
    const codes = new Set([...(byKey.get(withdrawalId) ?? []), ...(payoutId ? (byKey.get(payoutId) ?? []) : [])]);
    return MISMATCH_CODES.filter((c) => codes.has(c));
  };
}

export type ReconciliationService = ReturnType<typeof createReconciliationService>;
