import type { Outbox } from '../webhooks/outbox.ts';
import { MESSAGES, zhAction, zhChannel, zhStatus } from '../../core/error-text.ts';
import type { Selectable } from 'kysely';
import type { Db, Executor, Tx } from '../../db/database.ts';
import { inTransaction } from '../../db/database.ts';
import type { Actor, Clock } from '../../core/context.ts';
import { AppError, conflict, invalid, invalidState, notFound } from '../../core/errors.ts';
import { actorOf, requirePermission, tenantOf } from '../../core/principal.ts';
import type { PayoutState, PayoutsTable, WithdrawalChannel, WithdrawalsTable } from '../../db/schema.ts';
import { newId, ulid } from '../../core/ids.ts';
import { claimKey, replayOf, requestHash, withdrawalScope, type ClaimedKey } from '../idempotency/service.ts';
import { localDate } from '../../core/time.ts';
import type { PayoutChannels, PayoutOutcome, PayoutResult } from '../../adapters/payout/index.ts';
import { renderBankBatchFile, type BankBatchLine } from '../../adapters/payout/index.ts';
import type { AuditService } from '../audit/service.ts';
import { postedLegs, type JournalInput, type Ledger } from '../ledger/service.ts';
import type { AnalyticsRecorder } from '../analytics/recorder.ts';
import type { ProgramService } from '../program/service.ts';
import { withdrawalsRepo } from './repo.ts';
import type { PayoutAccountInput, PayoutAccountsService, PayoutAccountView } from './accounts.ts';
import { createDepositRefunds } from './deposit-refunds.ts';

export type WithdrawalRow = Selectable<WithdrawalsTable>;
export type PayoutRow = Selectable<PayoutsTable>;

export interface WithdrawalView {
  id: string;
  distributor_id: string;
  amount_fen: number;
  fee_fen: number;
  status: WithdrawalRow['status'];
  channel: WithdrawalChannel;
  net_fen: number;
  status_reason: string | null;
  reference: string | null;
  payout_account_id: string | null;
  created_at: string;
  approved_at: string | null;
  paid_at: string | null;
  failed_at: string | null;
  payout: {
    id: string;
    out_no: string;
    state: PayoutState;
    provider_ref: string | null;
    package_info: string | null;
    fail_code: string | null;
    fail_reason: string | null;
  } | null;
}

export function withdrawalView(w: WithdrawalRow, p: PayoutRow | undefined | null): WithdrawalView {
  return {
    id: w.id,
    distributor_id: w.distributor_id,
    amount_fen: w.amount_fen,
    fee_fen: w.fee_fen,
    status: w.status,
    channel: w.channel,
    net_fen: w.amount_fen - w.fee_fen,
    status_reason: w.status_reason,
    reference: w.reference,
    payout_account_id: w.payout_account_id,
    created_at: w.created_at.toISOString(),
    approved_at: w.approved_at?.toISOString() ?? null,
    paid_at: w.paid_at?.toISOString() ?? null,
    failed_at: w.failed_at?.toISOString() ?? null,
    payout: p
      ? {
          id: p.id,
          out_no: p.out_no,
          state: p.state,
          provider_ref: p.provider_ref,
          package_info: p.package_info,
          fail_code: p.fail_code,
          fail_reason: p.fail_reason,
        }
      : null,
  };
}

/** floor(amount × fee_bp / 10000) plus the fixed fee, never more than the amount. */
export function withdrawalFee(amountFen: number, feeBp: number, fixedFeeFen: number): number {
  const pct = Number((BigInt(amountFen) * BigInt(feeBp)) / 10000n);
  return Math.min(amountFen, pct + fixedFeeFen);
}

const TERMINAL: PayoutState[] = ['succeeded', 'failed', 'cancelled'];
const OPEN: PayoutState[] = ['created', 'submitted', 'processing', 'wait_user_confirm', 'unknown'];
/** Open payouts an online channel's worker looks at (submitted ones are a person's, offline). */
const WORKABLE: PayoutState[] = ['created', 'processing', 'wait_user_confirm', 'unknown'];
const LEASE_MS = 60_000;

/** When to look at a payout again, by what it is waiting for. */
function nextLook(outcome: PayoutOutcome | 'created', attempts: number, now: Date): Date {
  const base = outcome === 'unknown' ? 15_000 : outcome === 'wait_user_confirm' ? 300_000 : 60_000;
  const backoff = Math.min(base * 2 ** Math.min(attempts, 6), 3_600_000);
  return new Date(now.getTime() + backoff);
}

/** Where the payout worker reports what goes wrong with a payout (the server's log; stderr without one). */
export interface PayoutWorkerLog {
  warn(obj: Record<string, unknown>, msg: string): void;
  error(obj: Record<string, unknown>, msg: string): void;
}

const stderrLog: PayoutWorkerLog = {
  warn: (obj, msg) => {
    console.warn(msg, obj);
  },
  error: (obj, msg) => {
    console.error(msg, obj);
  },
};

/** The system principal that acts for a rule (automatic approvals), with the request that set it off. */
function systemActor(tenantId: string, job: string, requestId: string | null): Actor {
  return { principal: { kind: 'system', tenantId, job }, requestId };
}

/**
 * The four-eyes rule on payouts: the console user who asked for a withdrawal may neither approve
 * it nor record it paid (issue 14: one finance user could request, approve and complete a payout
 * alone). The merchant's API key is the merchant itself, not a person: the contract's flow, a
 * request and its approval by the same key, stays.
 */
function refuseRequester(actor: Actor, w: WithdrawalRow, what: 'approve' | 'complete'): void {
  const p = actor.principal;
  if (p.kind === 'admin' && w.requested_by_type === 'admin' && w.requested_by_id === p.userId) {
    throw new AppError('second_person_required', {
      en: `the user who asked for a withdrawal cannot ${what} it: another finance user must`,
      zh: `申请提现的用户不能${zhAction(what)}该提现：须由另一位财务人员处理`,
    });
  }
}

/**
 * Keys claimed before they were scoped by caller were stored under plain `withdrawal`. A retry of
 * such a request still finds its answer, but only for the caller that made it: the withdrawal it
 * names records who asked for it.
 */
async function legacyReplay(tx: Executor, tenantId: string, key: string, actorType: string, actorId: string | null) {
  const row = await withdrawalsRepo.legacyKey(tx, tenantId, key);
  return row && row.requested_by_type === actorType && row.requested_by_id === actorId ? row : undefined;
}

/**
 * Withdrawals and their payouts. The money path, each step one transaction with its journal:
 * request (withdrawable → withdrawing) · approve, handing it to the channel (withdrawing → the
 * merchant's payout clearing, attributed to the distributor) · paid (clearing → withdrawn, the
 * fee to the merchant's fee income) or failed/rejected (back to withdrawable). Every payout
 * outcome, from the provider's answer, a query, a callback or a person, goes through one
 * compare-and-set transition: a payout reaches a terminal state once, and one withdrawal has one
 * payout, so it is never paid twice.
 */
export function createWithdrawalsService(deps: {
  /** withdrawal.paid and withdrawal.failed for merchants' webhook endpoints, in the payout's closing transaction. */
  outbox: Outbox;
  db: Db;
  clock: Clock;
  audit: AuditService;
  ledger: Ledger;
  /** Told of every journal this module posts, in the journal's transaction. */
  analytics: Pick<AnalyticsRecorder, 'posted'>;
  program: ProgramService;
  channels: PayoutChannels;
  accounts: PayoutAccountsService;
  /** Woken after a payout is handed to an online channel (the worker submits it). */
  onHandoff?: (payoutId: string) => void;
  /** Where the worker reports a provider call that failed or a payout it could not work. */
  log?: PayoutWorkerLog | undefined;
}) {
  const { db, clock, audit, ledger, analytics, program, channels, accounts } = deps;

  /** Posts a journal and tells analytics of it, in the caller's transaction. */
  async function post(tx: Tx, journal: JournalInput): Promise<void> {
    await ledger.post(tx, journal);
    await analytics.posted(tx, journal.tenantId, postedLegs([journal]));
  }
  const log = deps.log ?? stderrLog;

  function scopeFor(actor: Actor, distributorId?: string): string {
    const p = actor.principal;
    if (p.kind === 'distributor') {
      if (distributorId !== undefined && p.distributorId !== distributorId) throw notFound('distributor');
      return p.tenantId;
    }
    return tenantOf(p);
  }

  async function load(ex: Executor, tenantId: string, id: string) {
    const w = await withdrawalsRepo.findWithdrawal(ex, tenantId, id);
    if (!w) throw notFound('withdrawal');
    const p = await withdrawalsRepo.payoutOfWithdrawal(ex, id);
    return { w, p };
  }

  /** Approved: the money goes to the channel (clearing) and the payout is created. */
  async function handoff(tx: Tx, w: WithdrawalRow): Promise<PayoutRow> {
    const now = clock.now();
    const online = channels.get(w.channel).online;
    const payoutId = newId('po');
    // Letters and digits only, ≤ 32: what WeChat (out_bill_no) and Alipay (out_biz_no) accept.
    const outNo = `FX${ulid()}`;
    await withdrawalsRepo.insertPayout(tx, {
      id: payoutId,
      tenant_id: w.tenant_id,
      withdrawal_id: w.id,
      channel: w.channel,
      out_no: outNo,
      amount_fen: w.amount_fen - w.fee_fen,
      state: online ? 'created' : 'submitted',
      next_attempt_at: now,
      created_at: now,
      updated_at: now,
    });
    await post(tx, {
      tenantId: w.tenant_id,
      kind: 'payout_submit',
      refType: 'payout',
      refId: payoutId,
      memo: w.id,
      legs: [
        { owner: w.distributor_id, purpose: 'withdrawing', amount: -w.amount_fen },
        { owner: 'tenant', purpose: 'payout_clearing', amount: w.amount_fen, party: w.distributor_id },
      ],
    });
    return await withdrawalsRepo.payout(tx, payoutId);
  }

  /**
   * The one transition to a payout's outcome. Terminal outcomes post the final journal and
   * close the withdrawal; a payout already terminal ignores everything after (duplicate
   * callbacks, late polls). Answers whether this call changed anything.
   */
  /**
   * Leases a payout in one of `states` for one process to talk to its provider: null when it is
   * in another state or another process holds it. The worker counts the attempt; a cancel does not.
   */
  async function lease(payoutId: string, states: readonly PayoutState[], countAttempt: boolean): Promise<PayoutRow | null> {
    const now = clock.now();
    return withdrawalsRepo.lease(db, payoutId, states, now, new Date(now.getTime() + LEASE_MS), countAttempt);
  }

  /** The withdrawal as it now stands, for merchants' webhook endpoints. */
  async function recordOutcome(tx: Tx, tenantId: string, withdrawalId: string, type: 'withdrawal.paid' | 'withdrawal.failed') {
    // Nobody listening (the usual case): no reads for a payload nobody gets.
    if (!(await deps.outbox.wanted(tx, tenantId, type))) return;
    const w = await withdrawalsRepo.withdrawalForUpdate(tx, withdrawalId);
    if (!w) return;
    const data = withdrawalView(w, await withdrawalsRepo.payoutOfWithdrawal(tx, withdrawalId));
    await deps.outbox.record(tx, w.tenant_id, [{ type, objectType: 'withdrawal', objectId: w.id, data }]);
  }

  async function transition(tx: Tx, payoutId: string, result: PayoutResult & { source: string }): Promise<boolean> {
    const p = await withdrawalsRepo.payoutForUpdate(tx, payoutId);
    if (!p) throw notFound('payout');
    const now = clock.now();
    await withdrawalsRepo.insertPayoutEvent(tx, {
      tenant_id: p.tenant_id,
      payout_id: p.id,
      source: result.source,
      outcome: result.outcome,
      detail: JSON.stringify({
        provider_ref: result.providerRef ?? null,
        fail_code: result.failCode ?? null,
        fail_reason: result.failReason ?? null,
        raw: result.raw ?? null,
      }),
      at: now,
    });
    if (TERMINAL.includes(p.state)) return false;
    if (p.kind === 'deposit_refund' && (result.outcome === 'succeeded' || result.outcome === 'failed' || result.outcome === 'cancelled')) {
      // A deposit refund's payout: the same outcome on the payout, its own journal and record.
      await withdrawalsRepo.updateOpenPayout(tx, p.id, OPEN, {
        state: result.outcome,
        ...(result.outcome === 'succeeded' ? {} : { fail_code: result.failCode ?? null, fail_reason: result.failReason ?? null }),
        provider_ref: result.providerRef ?? p.provider_ref,
        finished_at: now,
        updated_at: now,
        lease_until: null,
      });
      await depositRefunds.close(tx, p, result);
      return true;
    }
    const withdrawal = async () => {
      const w = p.withdrawal_id === null ? undefined : await withdrawalsRepo.withdrawalForUpdate(tx, p.withdrawal_id);
      if (!w) throw new Error(`payout ${p.id} names withdrawal ${p.withdrawal_id ?? '(none)'}, which is not there`);
      return w;
    };
    switch (result.outcome) {
      case 'succeeded': {
        const w = await withdrawal();
        await post(tx, {
          tenantId: p.tenant_id,
          kind: 'payout_success',
          refType: 'payout',
          refId: p.id,
          memo: w.id,
          legs: [
            { owner: 'tenant', purpose: 'payout_clearing', amount: -w.amount_fen, party: w.distributor_id },
            { owner: w.distributor_id, purpose: 'withdrawn', amount: w.amount_fen - w.fee_fen },
            ...(w.fee_fen > 0 ? [{ owner: 'tenant' as const, purpose: 'fee_income' as const, amount: w.fee_fen, party: w.distributor_id }] : []),
          ],
        });
        await withdrawalsRepo.updateOpenPayout(tx, p.id, OPEN, {
          state: 'succeeded',
          provider_ref: result.providerRef ?? p.provider_ref,
          finished_at: now,
          updated_at: now,
          lease_until: null,
        });
        await withdrawalsRepo.updateApprovedWithdrawal(tx, w.id, {
          status: 'paid',
          paid_at: now,
          updated_at: now,
          reference: w.reference ?? result.providerRef ?? null,
        });
        await recordOutcome(tx, p.tenant_id, w.id, 'withdrawal.paid');
        return true;
      }
      case 'failed':
      case 'cancelled': {
        const w = await withdrawal();
        await post(tx, {
          tenantId: p.tenant_id,
          kind: 'payout_fail',
          refType: 'payout',
          refId: p.id,
          memo: w.id,
          legs: [
            { owner: 'tenant', purpose: 'payout_clearing', amount: -w.amount_fen, party: w.distributor_id },
            { owner: w.distributor_id, purpose: 'withdrawable', amount: w.amount_fen },
          ],
        });
        await withdrawalsRepo.updateOpenPayout(tx, p.id, OPEN, {
          state: result.outcome,
          fail_code: result.failCode ?? null,
          fail_reason: result.failReason ?? null,
          provider_ref: result.providerRef ?? p.provider_ref,
          finished_at: now,
          updated_at: now,
          lease_until: null,
        });
        await withdrawalsRepo.updateApprovedWithdrawal(tx, w.id, {
          status: 'failed',
          failed_at: now,
          updated_at: now,
          status_reason: result.failReason ?? result.failCode ?? result.outcome,
        });
        await recordOutcome(tx, p.tenant_id, w.id, 'withdrawal.failed');
        return true;
      }
      case 'processing':
      case 'wait_user_confirm':
      case 'unknown': {
        await withdrawalsRepo.updateOpenPayout(tx, p.id, OPEN, {
          state: result.outcome,
          provider_ref: result.providerRef ?? p.provider_ref,
          package_info: result.packageInfo ?? p.package_info,
          next_attempt_at: nextLook(result.outcome, p.attempts, now),
          updated_at: now,
          lease_until: null,
        });
        return p.state !== result.outcome;
      }
      default: {
        const never: never = result.outcome;
        throw new Error(`unknown payout outcome ${String(never)}`);
      }
    }
  }

  /**
   * Cancels a WeChat transfer still waiting for the payee to confirm (the payee never opened it,
   * or the merchant withdrew it): the cancel is sent under the payout's lease, then the bill is
   * queried, and whatever WeChat says goes through `transition` — cancelled: the money goes back
   * (to withdrawable, or to the deposit held); still CANCELING or unknown: the poll finishes it;
   * confirmed meanwhile: paid.
   */
  async function cancelPayoutRow(actor: Actor, p: PayoutRow, target: { type: string; id: string }, reason: string): Promise<void> {
    const channel = channels.get(p.channel as WithdrawalChannel);
    if (p.state !== 'wait_user_confirm' || !channel.cancel)
      throw invalidState({ en: 'only a transfer waiting for the payee to confirm can be cancelled', zh: '只有等待收款人确认的转账才能取消' });
    if (!(await lease(p.id, ['wait_user_confirm'], false)))
      throw conflict({ en: 'the payout is being worked on; try again in a minute', zh: '该打款正在处理中，请一分钟后再试' });
    let result: PayoutResult & { source: string };
    try {
      result = { source: 'cancel', ...(await channel.cancel(p.out_no)) };
      if (result.outcome !== 'cancelled') {
        const q = await channel.query(p.out_no);
        if (q.found) result = { source: 'query', ...q };
      }
    } catch (err) {
      // Recorded as the payout's event; the poll finds out what became of the cancel.
      log.warn({ err, payout_id: p.id, out_no: p.out_no, channel: p.channel }, 'payout cancel failed at the provider; the poll finishes it');
      result = { source: 'error', outcome: 'unknown', failReason: err instanceof Error ? err.message : String(err) };
    }
    await inTransaction(db, async (tx) => {
      await transition(tx, p.id, result);
      await audit.record(tx, actor, {
        action: 'payout.cancel',
        targetType: target.type,
        targetId: target.id,
        before: { payout_state: p.state },
        after: { outcome: result.outcome },
        reason,
      });
    });
  }

  const depositRefunds = createDepositRefunds({
    db,
    clock,
    audit,
    ledger,
    channels,
    accounts,
    transition,
    cancelPayout: cancelPayoutRow,
    onHandoff: deps.onHandoff,
  });

  async function create(
    actor: Actor,
    body: { distributor_id: string; amount_fen: number; channel: WithdrawalChannel; payout_account_id?: string | undefined },
    idempotencyKey: string | undefined,
  ) {
    const p = actor.principal;
    if (p.kind !== 'distributor') requirePermission(p, 'finance:write');
    const tenantId = scopeFor(actor, body.distributor_id);
    const settings = await program.read(db, tenantId);
    const w = settings.withdrawal;
    if (body.amount_fen < w.min_fen) throw invalid({ en: `the minimum withdrawal is ${w.min_fen} fen`, zh: `最低提现金额为 ${w.min_fen} 分` });
    if (!channels.configured.includes(body.channel))
      throw invalid({ en: `payout channel ${body.channel} is not available`, zh: `打款渠道 ${zhChannel(body.channel)} 不可用` });
    const hash = requestHash(body);
    const { actorType, actorId } = actorOf(actor.principal);
    const scope = withdrawalScope(actorType, actorId);
    const result = await inTransaction(db, async (tx) => {
      let claim: ClaimedKey | null = null;
      if (idempotencyKey) {
        const legacy = await legacyReplay(tx, tenantId, idempotencyKey, actorType, actorId);
        if (legacy) return { replay: true as const, view: replayOf<WithdrawalView>(legacy, hash) };
        // Claim the key first, in this transaction: a concurrent duplicate waits here, then
        // finds the finished answer; a crash releases the claim with everything else.
        const claimed = await claimKey<WithdrawalView>(tx, tenantId, scope, idempotencyKey, hash);
        if (claimed.replay) return { replay: true as const, view: claimed.answer };
        claim = claimed.claim;
      }
      const d = await withdrawalsRepo.distributorStanding(tx, tenantId, body.distributor_id);
      if (!d) throw notFound('distributor');
      if (d.status !== 'active') throw invalidState({ en: `a ${d.status} distributor cannot withdraw`, zh: `状态为${zhStatus(d.status)}的分销员不能提现` });
      if (d.risk_hold)
        throw invalidState({
          en: 'the distributor is under risk review; withdrawals wait until the review ends',
          zh: '该分销员正在接受风险审核；提现须等审核结束',
        });
      const account = body.channel === 'manual' ? null : await accounts.pick(tx, tenantId, body.distributor_id, body.channel, body.payout_account_id);
      // The balance is read under its row lock: concurrent withdrawals queue here, and each
      // sees what the one before left. Never read, decide, then write blind.
      const withdrawable = await ledger.lockBalance(tx, tenantId, body.distributor_id, 'withdrawable');
      if (body.amount_fen > withdrawable) throw new AppError('insufficient_balance', MESSAGES.insufficientBalance(withdrawable));
      const now = clock.now();
      const day = localDate(now, settings.timezone);
      if (w.daily_count_limit > 0 || w.daily_amount_limit_fen > 0) {
        const today = await withdrawalsRepo.dayTotals(tx, body.distributor_id, day);
        if (w.daily_count_limit > 0 && Number(today.n) + 1 > w.daily_count_limit)
          throw new AppError('limit_exceeded', { en: `at most ${w.daily_count_limit} withdrawals a day`, zh: `每天至多提现 ${w.daily_count_limit} 次` });
        if (w.daily_amount_limit_fen > 0 && Number(today.total) + body.amount_fen > w.daily_amount_limit_fen)
          throw new AppError('limit_exceeded', { en: `at most ${w.daily_amount_limit_fen} fen a day`, zh: `每天至多提现 ${w.daily_amount_limit_fen} 分` });
      }
      const id = newId('wd');
      const fee = withdrawalFee(body.amount_fen, w.fee_bp, w.fixed_fee_fen);
      // A console user's request always waits for a second person: the rule approves only what a
      // distributor or the merchant's integration asks for.
      const autoApprove = body.amount_fen <= w.auto_approve_max_fen && actor.principal.kind !== 'admin';
      await withdrawalsRepo.insertWithdrawal(tx, {
        id,
        tenant_id: tenantId,
        distributor_id: body.distributor_id,
        amount_fen: body.amount_fen,
        fee_fen: fee,
        channel: body.channel,
        payout_account_id: account?.id ?? null,
        status: autoApprove ? 'approved' : 'pending_review',
        requested_by_type: actorType,
        requested_by_id: actorId,
        local_day: day,
        created_at: now,
        updated_at: now,
        ...(autoApprove ? { approved_at: now } : {}),
      });
      await post(tx, {
        tenantId,
        kind: 'withdraw_request',
        refType: 'withdrawal',
        refId: id,
        legs: [
          { owner: body.distributor_id, purpose: 'withdrawable', amount: -body.amount_fen },
          { owner: body.distributor_id, purpose: 'withdrawing', amount: body.amount_fen },
        ],
      });
      let payout: PayoutRow | undefined;
      const row = await withdrawalsRepo.withdrawal(tx, id);
      if (actor.principal.kind === 'admin') {
        await audit.record(tx, actor, {
          action: 'withdrawal.request',
          targetType: 'withdrawal',
          targetId: id,
          after: { distributor_id: body.distributor_id, amount_fen: body.amount_fen, channel: body.channel, payout_account_id: account?.id ?? null },
        });
      }
      if (autoApprove) {
        payout = await handoff(tx, row);
        // No person approved it: the rule did. The entry names the rule and the values that allowed it.
        await audit.record(tx, systemActor(tenantId, 'withdrawal-auto-approve', actor.requestId), {
          action: 'withdrawal.auto_approve',
          targetType: 'withdrawal',
          targetId: id,
          before: { status: 'requested' },
          after: {
            status: 'approved',
            payout_id: payout.id,
            rule: 'withdrawal.auto_approve_max_fen',
            auto_approve_max_fen: w.auto_approve_max_fen,
            amount_fen: body.amount_fen,
            distributor_id: body.distributor_id,
            channel: body.channel,
            requested_by: { type: actorType, id: actorId },
          },
        });
      }
      const view = withdrawalView(row, payout);
      await deps.outbox.record(tx, tenantId, [
        { type: 'withdrawal.requested', objectType: 'withdrawal', objectId: id, data: view },
        ...(autoApprove ? [{ type: 'withdrawal.approved' as const, objectType: 'withdrawal', objectId: id, data: view }] : []),
      ]);
      await claim?.save(201, view);
      return { replay: false as const, view };
    });
    if (!result.replay && result.view.payout?.state === 'created') deps.onHandoff?.(result.view.payout.id);
    return result.view;
  }

  return {
    handoff,
    transition,
    create,

    async get(actor: Actor, id: string): Promise<WithdrawalView> {
      const p = actor.principal;
      if (p.kind !== 'distributor') requirePermission(p, 'read');
      const tenantId = scopeFor(actor);
      const { w, p: payout } = await load(db, tenantId, id);
      if (p.kind === 'distributor' && w.distributor_id !== p.distributorId) throw notFound('withdrawal');
      return withdrawalView(w, payout);
    },

    async list(
      actor: Actor,
      q: { status?: string | undefined; distributor_id?: string | undefined; channel?: string | undefined; cursor?: string | undefined; limit: number },
    ) {
      const p = actor.principal;
      if (p.kind !== 'distributor') requirePermission(p, 'read');
      const tenantId = scopeFor(actor);
      const rows = await withdrawalsRepo.page(db, tenantId, { ...q, distributor_id: p.kind === 'distributor' ? p.distributorId : q.distributor_id });
      const page = rows.slice(0, q.limit);
      const payouts = page.length
        ? await withdrawalsRepo.payoutsOfWithdrawals(
            db,
            page.map((w) => w.id),
          )
        : [];
      const byW = new Map(payouts.map((x) => [x.withdrawal_id, x]));
      return { items: page.map((w) => withdrawalView(w, byW.get(w.id))), next_cursor: rows.length > q.limit ? (page.at(-1)?.id ?? null) : null };
    },

    async approve(actor: Actor, id: string): Promise<WithdrawalView> {
      requirePermission(actor.principal, 'finance:approve');
      const tenantId = tenantOf(actor.principal);
      const view = await inTransaction(db, async (tx) => {
        const w = await withdrawalsRepo.findWithdrawalForUpdate(tx, tenantId, id);
        if (!w) throw notFound('withdrawal');
        if (w.status !== 'pending_review') {
          if (w.status === 'approved' || w.status === 'paid') return withdrawalView(w, await withdrawalsRepo.payoutOfWithdrawal(tx, id));
          throw invalidState({ en: `a ${w.status} withdrawal cannot be approved`, zh: `状态为${zhStatus(w.status)}的提现申请不能批准` });
        }
        refuseRequester(actor, w, 'approve');
        const now = clock.now();
        const { actorId } = actorOf(actor.principal);
        await withdrawalsRepo.updateWithdrawal(tx, id, { status: 'approved', approved_at: now, reviewed_by: actorId, updated_at: now });
        const row = await withdrawalsRepo.withdrawal(tx, id);
        const payout = await handoff(tx, row);
        await audit.record(tx, actor, {
          action: 'withdrawal.approve',
          targetType: 'withdrawal',
          targetId: id,
          before: { status: w.status },
          after: { status: 'approved', payout_id: payout.id },
        });
        const approved = withdrawalView(row, payout);
        await deps.outbox.record(tx, tenantId, [{ type: 'withdrawal.approved', objectType: 'withdrawal', objectId: id, data: approved }]);
        return approved;
      });
      if (view.payout?.state === 'created') deps.onHandoff?.(view.payout.id);
      return view;
    },

    async reject(actor: Actor, id: string, reason: string): Promise<WithdrawalView> {
      requirePermission(actor.principal, 'finance:approve');
      const tenantId = tenantOf(actor.principal);
      return inTransaction(db, async (tx) => {
        const w = await withdrawalsRepo.findWithdrawalForUpdate(tx, tenantId, id);
        if (!w) throw notFound('withdrawal');
        if (w.status !== 'pending_review')
          throw invalidState({ en: `a ${w.status} withdrawal cannot be rejected`, zh: `状态为${zhStatus(w.status)}的提现申请不能驳回` });
        const now = clock.now();
        const { actorId } = actorOf(actor.principal);
        await post(tx, {
          tenantId,
          kind: 'withdraw_reject',
          refType: 'withdrawal',
          refId: id,
          legs: [
            { owner: w.distributor_id, purpose: 'withdrawing', amount: -w.amount_fen },
            { owner: w.distributor_id, purpose: 'withdrawable', amount: w.amount_fen },
          ],
        });
        await withdrawalsRepo.updateWithdrawal(tx, id, { status: 'rejected', rejected_at: now, status_reason: reason, reviewed_by: actorId, updated_at: now });
        await audit.record(tx, actor, {
          action: 'withdrawal.reject',
          targetType: 'withdrawal',
          targetId: id,
          before: { status: w.status },
          after: { status: 'rejected' },
          reason,
        });
        const row = await withdrawalsRepo.withdrawal(tx, id);
        const rejected = withdrawalView(row, null);
        await deps.outbox.record(tx, tenantId, [{ type: 'withdrawal.rejected', objectType: 'withdrawal', objectId: id, data: rejected }]);
        return rejected;
      });
    },

    /** Offline channels (manual, bank): a person records the outcome. */
    async record(actor: Actor, id: string, outcome: { paid: true; reference: string } | { paid: false; reason: string }): Promise<WithdrawalView> {
      requirePermission(actor.principal, 'finance:approve');
      const tenantId = tenantOf(actor.principal);
      return inTransaction(db, async (tx) => {
        const { w, p } = await load(tx, tenantId, id);
        if (channels.get(w.channel).online)
          throw invalidState({
            en: `${w.channel} payouts are settled by the provider, not by hand`,
            zh: `${zhChannel(w.channel)}打款由支付机构结算，不能手动处理`,
          });
        if (w.status !== 'approved' || !p)
          throw invalidState({
            en: `a ${w.status} withdrawal cannot be ${outcome.paid ? 'completed' : 'failed'}`,
            zh: `状态为${zhStatus(w.status)}的提现申请不能标记为${outcome.paid ? '已完成' : '失败'}`,
          });
        // Failing gives the money back; completing says it left: not by the person who asked for it.
        if (outcome.paid) refuseRequester(actor, w, 'complete');
        if (outcome.paid) {
          await withdrawalsRepo.updateWithdrawal(tx, id, { reference: outcome.reference });
        }
        const changed = await transition(
          tx,
          p.id,
          outcome.paid
            ? { source: 'manual', outcome: 'succeeded', providerRef: outcome.reference }
            : { source: 'manual', outcome: 'failed', failCode: 'MANUAL', failReason: outcome.reason },
        );
        if (!changed) throw invalidState({ en: 'the payout already has its outcome', zh: '该打款已有结果' });
        await audit.record(tx, actor, {
          action: outcome.paid ? 'withdrawal.complete' : 'withdrawal.fail',
          targetType: 'withdrawal',
          targetId: id,
          before: { status: 'approved' },
          after: { status: outcome.paid ? 'paid' : 'failed' },
          reason: outcome.paid ? outcome.reference : outcome.reason,
        });
        const after = await load(tx, tenantId, id);
        return withdrawalView(after.w, after.p);
      });
    },

    /**
     * The payout worker's step for one payout: take a lease, talk to the provider outside any
     * transaction, then apply what it said through `transition`. Unknown outcomes are queried
     * before anything is sent again; only a query that finds no record allows an identical
     * resend with the same out number.
     */
    async work(payoutId: string): Promise<PayoutState | null> {
      const p = await lease(payoutId, WORKABLE, true);
      if (!p) return null;
      const now = clock.now();
      const channel = channels.get(p.channel as WithdrawalChannel);
      let result: PayoutResult & { source: string };
      try {
        if (p.state === 'created' && p.attempts === 1) {
          result = { source: 'submit', ...(await channel.submit(await requestFor(p))) };
        } else {
          // A submit may have reached the provider before a crash or a lost reply: ask first.
          const q = await channel.query(p.out_no);
          if (!q.found) result = { source: 'resubmit', ...(await channel.submit(await requestFor(p))) };
          else result = { source: 'query', ...q };
          await withdrawalsRepo.markQueried(db, p.id, now);
        }
      } catch (err) {
        // The provider's answer is unknown: recorded as the payout's event, and it is queried
        // again at its next look before anything is sent again.
        log.warn(
          { err, payout_id: p.id, out_no: p.out_no, channel: p.channel, attempts: p.attempts },
          'payout provider call failed; the payout is looked at again',
        );
        result = { source: 'error', outcome: 'unknown', failReason: err instanceof Error ? err.message : String(err) };
      }
      await inTransaction(db, (tx) => transition(tx, p.id, result));
      return withdrawalsRepo.payoutState(db, p.id);
    },

    /**
     * Cancels a WeChat transfer still waiting for the payee to confirm (the payee never opened it,
     * or the merchant withdrew it): the cancel is sent under the payout's lease, then the bill is
     * queried, and whatever WeChat says goes through `transition` — cancelled: the money goes back
     * to withdrawable; still CANCELING or unknown: the poll finishes it; confirmed meanwhile: paid.
     */
    async cancelPayout(actor: Actor, withdrawalId: string, reason: string): Promise<WithdrawalView> {
      requirePermission(actor.principal, 'finance:approve');
      const tenantId = tenantOf(actor.principal);
      const w = await withdrawalsRepo.findWithdrawal(db, tenantId, withdrawalId);
      if (!w) throw notFound('withdrawal');
      const p = await withdrawalsRepo.latestPayoutOfWithdrawal(db, w.id);
      if (!p) throw invalidState({ en: 'only a transfer waiting for the payee to confirm can be cancelled', zh: '只有等待收款人确认的转账才能取消' });
      await cancelPayoutRow(actor, p, { type: 'withdrawal', id: w.id }, reason);
      return this.get(actor, w.id);
    },

    /** Deposit refunds: the admission deposit paid back through this payout path (deposit-refunds.ts). */
    depositRefunds,

    /** Every online payout due for a look, a batch at a time (the scheduler and tests call this). */
    async workDue(limit = 50): Promise<number> {
      const now = clock.now();
      const due = await withdrawalsRepo.duePayouts(db, WORKABLE, now, limit);
      // One payout that cannot be worked (its transaction failed) does not stop the others; the
      // batch then fails with every payout named, so the scheduler records the job as failed.
      const failures: { id: string; err: unknown }[] = [];
      for (const { id } of due) {
        try {
          await this.work(id);
        } catch (err) {
          log.error({ err, payout_id: id }, 'payout could not be worked; it is looked at again once its lease ends');
          failures.push({ id, err });
        }
      }
      if (failures.length > 0) {
        throw new AggregateError(
          failures.map((f) => f.err),
          `${failures.length} of ${due.length} payouts could not be worked: ${failures.map((f) => f.id).join(', ')}`,
        );
      }
      return due.length;
    },

    /**
     * Submits a payout just handed off, off the request. It never rejects: a failure is logged
     * with the payout, and the scheduler's poll picks the payout up (its lease runs out).
     */
    workInBackground(payoutId: string): void {
      this.work(payoutId).catch((err: unknown) => {
        log.error({ err, payout_id: payoutId }, 'payout submit after hand-off failed; the scheduled poll retries it');
      });
    },

    /** The channels of this deployment that notify (each has a callback route). */
    callbackChannels(): ('wechat' | 'alipay')[] {
      return (['wechat', 'alipay'] as const).filter((c) => channels.configured.includes(c));
    },

    /** A distributor's payout accounts, masked. */
    listAccounts(actor: Actor, distributorId: string): Promise<PayoutAccountView[]> {
      return accounts.list(actor, distributorId);
    },

    addAccount(actor: Actor, distributorId: string, input: PayoutAccountInput): Promise<PayoutAccountView> {
      return accounts.add(actor, distributorId, input);
    },

    confirmAccount(actor: Actor, distributorId: string, accountId: string): Promise<PayoutAccountView> {
      return accounts.confirm(actor, distributorId, accountId);
    },

    disableAccount(actor: Actor, distributorId: string, accountId: string): Promise<void> {
      return accounts.disable(actor, distributorId, accountId);
    },

    /**
     * GET /v1/payouts/bank-file: the bank batch upload file of the bank payouts waiting to be sent,
     * with full account numbers (finance only), audited.
     */
    async bankFile(actor: Actor): Promise<Buffer> {
      requirePermission(actor.principal, 'pii:read');
      const tenantId = tenantOf(actor.principal);
      const rows = await withdrawalsRepo.bankPayoutsWaiting(db, tenantId);
      // Payouts without a bank account on file cannot be in the upload; finance pays those by hand.
      const lines: BankBatchLine[] = [];
      for (const r of rows) {
        if (!r.payout_account_id) continue;
        const account = await accounts.decrypt(db, r.payout_account_id);
        if (account.channel !== 'bank') continue;
        lines.push({ outNo: r.out_no, amountFen: r.amount_fen, remark: r.kind === 'deposit_refund' ? '保证金退还' : '佣金提现', account });
      }
      await audit.record(db, actor, { action: 'payout.bank_file', targetType: 'payout', targetId: null, after: { rows: lines.length } });
      return renderBankBatchFile(lines);
    },

    /** A provider's notification, verified on its raw bytes by the channel, then applied. */
    async callback(channelName: 'wechat' | 'alipay', headers: Record<string, string | string[] | undefined>, rawBody: Buffer): Promise<{ applied: boolean }> {
      const channel = channels.get(channelName);
      if (!channel.verifyCallback) throw invalid({ en: `${channelName} sends no callbacks`, zh: `${zhChannel(channelName)}不发送回调通知` });
      const cb = await channel.verifyCallback(headers, rawBody);
      const p = await withdrawalsRepo.payoutByOutNo(db, cb.outNo, channelName);
      if (!p) throw notFound('payout');
      if (cb.amountFen !== undefined && cb.amountFen !== p.amount_fen) {
        await withdrawalsRepo.insertPayoutEvent(db, {
          tenant_id: p.tenant_id,
          payout_id: p.id,
          source: 'callback',
          outcome: 'amount_mismatch',
          detail: JSON.stringify({ amount_fen: cb.amountFen, raw: cb.raw }),
          at: clock.now(),
        });
        throw invalid({ en: "the notification's amount does not match the payout", zh: '通知中的金额与打款金额不符' });
      }
      const applied = await inTransaction(db, (tx) =>
        transition(tx, p.id, {
          source: 'callback',
          outcome: cb.outcome,
          providerRef: cb.providerRef,
          failCode: cb.failCode,
          failReason: cb.failReason,
          raw: cb.raw,
        }),
      );
      return { applied };
    },
  };

  async function requestFor(p: PayoutRow) {
    if (p.kind === 'deposit_refund' || p.withdrawal_id === null) return depositRefunds.requestFor(p);
    const w = await withdrawalsRepo.withdrawal(db, p.withdrawal_id);
    const account = w.payout_account_id ? await accounts.decrypt(db, w.payout_account_id) : { channel: 'manual' as const };
    return { outNo: p.out_no, amountFen: p.amount_fen, account, remark: '佣金提现' };
  }
}

export type WithdrawalsService = ReturnType<typeof createWithdrawalsService>;
