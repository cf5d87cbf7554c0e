import type { Selectable } from 'kysely';
import type { Db, Executor, Tx } from '../../db/database.ts';
import { inTransaction } from '../../db/database.ts';
import type { Actor, Clock } from '../../core/context.ts';
import { AppError, invalid, invalidState, notFound } from '../../core/errors.ts';
import { zhAction, zhChannel, zhStatus } from '../../core/error-text.ts';
import { actorOf, requirePermission, tenantOf } from '../../core/principal.ts';
import { newId, ulid } from '../../core/ids.ts';
import type { DepositRefundsTable, PayoutState, PayoutsTable, WithdrawalChannel } from '../../db/schema.ts';
import type { PayoutChannels, PayoutResult } from '../../adapters/payout/index.ts';
import type { AuditService } from '../audit/service.ts';
import { DEPOSIT_DISTRIBUTOR_PURPOSES, DEPOSIT_TENANT_PURPOSES, type JournalInput, type Ledger } from '../ledger/service.ts';
import { claimKey, requestHash, type ClaimedKey } from '../idempotency/service.ts';
import { payoutAccountsRepo, withdrawalsRepo } from './repo.ts';
import type { PayoutAccountsService } from './accounts.ts';

export type DepositRefundRow = Selectable<DepositRefundsTable>;
type PayoutRow = Selectable<PayoutsTable>;

export interface DepositRefundView {
  id: string;
  distributor_id: string;
  amount_fen: number;
  channel: WithdrawalChannel;
  status: DepositRefundRow['status'];
  reason: string;
  status_reason: string | null;
  reference: string | null;
  payout_account_id: string | null;
  requested_by: { type: string; id: string | null };
  reviewed_by: string | null;
  created_at: string;
  approved_at: string | null;
  paid_at: string | null;
  failed_at: string | null;
  rejected_at: string | null;
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

export function depositRefundView(r: DepositRefundRow, p: PayoutRow | undefined | null): DepositRefundView {
  return {
    id: r.id,
    distributor_id: r.distributor_id,
    amount_fen: r.amount_fen,
    channel: r.channel,
    status: r.status,
    reason: r.reason,
    status_reason: r.status_reason,
    reference: r.reference,
    payout_account_id: r.payout_account_id,
    requested_by: { type: r.requested_by_type, id: r.requested_by_id },
    reviewed_by: r.reviewed_by,
    created_at: r.created_at.toISOString(),
    approved_at: r.approved_at?.toISOString() ?? null,
    paid_at: r.paid_at?.toISOString() ?? null,
    failed_at: r.failed_at?.toISOString() ?? null,
    rejected_at: r.rejected_at?.toISOString() ?? null,
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

/** A distributor's newest deposit refund with its payout, or null (GET /v1/distributors/{id}/deposit shows it). */
export async function latestDepositRefund(ex: Executor, tenantId: string, distributorId: string): Promise<DepositRefundView | null> {
  const r = await withdrawalsRepo.latestDepositRefund(ex, tenantId, distributorId);
  if (!r) return null;
  return depositRefundView(r, await withdrawalsRepo.payoutOfDepositRefund(ex, tenantId, r.id));
}

export interface DepositRefundBody {
  reason: string;
  /** The channel to pay through; without it, the channel of the distributor's default payout account on file. */
  channel?: WithdrawalChannel | undefined;
  payout_account_id?: string | undefined;
}

/** The channels a refund looks for a default account in, when the request names none. */
const ACCOUNT_CHANNELS = ['wechat', 'alipay', 'bank'] as const;

/**
 * Money-out by two people, as for withdrawals: the console user who asked for the refund neither
 * approves it nor records it paid. (The merchant's API key is its own system, not a person.)
 */
function refuseRequester(actor: Actor, r: DepositRefundRow, what: 'approve' | 'complete'): void {
  const p = actor.principal;
  if (p.kind === 'admin' && r.requested_by_type === 'admin' && r.requested_by_id === p.userId) {
    throw new AppError('second_person_required', {
      en: `the user who asked for a deposit refund cannot ${what} it: another finance user must`,
      zh: `申请退还保证金的用户不能${zhAction(what)}该退还：须由另一位财务人员处理`,
    });
  }
}

/**
 * Admission deposits paid back through the payout path (issue 17 item 3). The money path, each
 * step one transaction with its journal, all referring to the refund (`ref_type = 'deposit_refund'`):
 *
 *   deposit_refund_request  deposit −A, deposit_refunding +A      (asked for: the whole deposit held)
 *   deposit_refund_reject   deposit_refunding −A, deposit +A      (a second person said no)
 *   deposit_refunded        deposit_refunding −A, deposit_cash +A (its payout succeeded: the money left)
 *   deposit_refund_fail     deposit_refunding −A, deposit +A      (its payout failed or was cancelled)
 *
 * Approval (a second person, `finance:approve`) hands the refund to its channel as a payout of kind
 * `deposit_refund`; from there the withdrawals' machinery (lease, submit, query, callback, poll,
 * bank file, cancel) carries it, and its one compare-and-set transition calls `close` here.
 */
export function createDepositRefunds(deps: {
  db: Db;
  clock: Clock;
  audit: AuditService;
  ledger: Ledger;
  channels: PayoutChannels;
  accounts: PayoutAccountsService;
  /** The withdrawals service's one transition to a payout's outcome. */
  transition: (tx: Tx, payoutId: string, result: PayoutResult & { source: string }) => Promise<boolean>;
  /** The withdrawals service's cancel of a WeChat transfer waiting for its payee. */
  cancelPayout: (actor: Actor, p: PayoutRow, target: { type: string; id: string }, reason: string) => Promise<void>;
  onHandoff?: ((payoutId: string) => void) | undefined;
}) {
  const { db, clock, audit, ledger, channels, accounts } = deps;

  async function load(ex: Executor, tenantId: string, id: string) {
    const r = await withdrawalsRepo.findDepositRefund(ex, tenantId, id);
    if (!r) throw notFound('deposit refund');
    return { r, p: await withdrawalsRepo.payoutOfDepositRefund(ex, tenantId, id) };
  }

  async function journal(tx: Tx, r: DepositRefundRow, kind: string, legs: JournalInput['legs'], memo?: string) {
    await ledger.openAccounts(tx, r.tenant_id, 'tenant', 'tenant', DEPOSIT_TENANT_PURPOSES);
    await ledger.openAccounts(tx, r.tenant_id, 'distributor', r.distributor_id, DEPOSIT_DISTRIBUTOR_PURPOSES);
    // Deposits are not in the analytics' money columns (no commission moves): the ledger only, as for receipts.
    await ledger.post(tx, { tenantId: r.tenant_id, kind, refType: 'deposit_refund', refId: r.id, ...(memo ? { memo } : {}), legs });
  }

  /** Which channel and account a refund pays to: the one named, or the distributor's default on file. */
  async function payee(
    tx: Tx,
    tenantId: string,
    distributorId: string,
    body: DepositRefundBody,
  ): Promise<{ channel: WithdrawalChannel; accountId: string | null }> {
    if (body.channel === 'manual') {
      if (body.payout_account_id) throw invalid({ en: 'a manual refund names no payout account', zh: '手动退还不指定收款账户' });
      return { channel: 'manual', accountId: null };
    }
    if (body.channel) {
      if (!channels.configured.includes(body.channel))
        throw invalid({ en: `payout channel ${body.channel} is not available`, zh: `打款渠道 ${zhChannel(body.channel)} 不可用` });
      // The account named, or the channel's default; refused when it waits for the distributor's confirmation.
      const account = await accounts.pick(tx, tenantId, distributorId, body.channel, body.payout_account_id);
      if (account) return { channel: body.channel, accountId: account.id };
    } else {
      if (body.payout_account_id) throw invalid({ en: 'payout_account_id needs its channel', zh: 'payout_account_id 须同时指定其渠道 channel' });
      // The distributor's default account on file (a default is always a confirmed one), of the first configured channel that has one.
      for (const channel of ACCOUNT_CHANNELS) {
        if (!channels.configured.includes(channel)) continue;
        const row = await payoutAccountsRepo.pick(tx, tenantId, distributorId, channel, undefined);
        if (row && row.confirmed_at !== null) return { channel, accountId: row.id };
      }
    }
    throw invalidState({
      en: 'the distributor has no payout account on file to refund the deposit to: it adds one in the portal, or finance adds one (a second person confirms it), or the refund is paid outside Fenxiao with channel "manual"',
      zh: '该分销员没有可退还保证金的收款账户：请分销员在门户中添加，或由财务添加（须另一人确认），或以 "manual" 渠道在系统外退还',
    });
  }

  return {
    /**
     * POST /v1/distributors/{id}/deposit/refund (Idempotency-Key): asks for the whole deposit held
     * to be paid back, on exit (suspended, rejected or pending). The amount moves to
     * deposit_refunding at once; the payout waits for a second person's approval.
     */
    async request(actor: Actor, distributorId: string, body: DepositRefundBody, idempotencyKey: string | undefined): Promise<DepositRefundView> {
      requirePermission(actor.principal, 'finance:write');
      const tenantId = tenantOf(actor.principal);
      const { actorType, actorId } = actorOf(actor.principal);
      return inTransaction(db, async (tx) => {
        let claim: ClaimedKey | null = null;
        if (idempotencyKey !== undefined) {
          // Keys belong to their caller, as for withdrawals.
          const claimed = await claimKey<DepositRefundView>(
            tx,
            tenantId,
            `deposit-refund:${actorType}:${actorId ?? ''}`,
            idempotencyKey,
            requestHash({ distributorId, ...body }),
          );
          if (claimed.replay) return claimed.answer;
          claim = claimed.claim;
        }
        const d = await withdrawalsRepo.distributorDepositForUpdate(tx, tenantId, distributorId);
        if (!d) throw notFound('distributor');
        if (d.deposit_refunding_fen > 0) throw invalidState({ en: 'a refund of this deposit is already under way', zh: '该保证金的退还已在进行中' });
        const held = d.deposit_paid_fen - d.deposit_refunded_fen;
        if (held <= 0) throw invalidState({ en: 'no deposit is held', zh: '没有持有中的保证金' });
        if (d.status === 'active')
          throw invalidState({ en: 'a deposit is refunded on exit: suspend the distributor first', zh: '保证金在退出时退还：请先暂停该分销员' });
        const { channel, accountId } = await payee(tx, tenantId, distributorId, body);
        const now = clock.now();
        const id = newId('drf');
        await withdrawalsRepo.insertDepositRefund(tx, {
          id,
          tenant_id: tenantId,
          distributor_id: distributorId,
          amount_fen: held,
          channel,
          payout_account_id: accountId,
          status: 'pending_review',
          reason: body.reason,
          requested_by_type: actorType,
          requested_by_id: actorId,
          created_at: now,
          updated_at: now,
        });
        await withdrawalsRepo.setDistributorDeposit(tx, tenantId, distributorId, { deposit_refunding_fen: held, updated_at: now });
        const r = await withdrawalsRepo.findDepositRefund(tx, tenantId, id);
        if (!r) throw new Error(`deposit refund ${id} was just written and is not there`);
        await journal(tx, r, 'deposit_refund_request', [
          { owner: distributorId, purpose: 'deposit', amount: -held },
          { owner: distributorId, purpose: 'deposit_refunding', amount: held },
        ]);
        await audit.record(tx, actor, {
          action: 'distributor.deposit_refund_request',
          targetType: 'distributor',
          targetId: distributorId,
          before: { held_fen: held },
          after: { deposit_refund_id: id, amount_fen: held, channel, payout_account_id: accountId },
          reason: body.reason,
        });
        const view = depositRefundView(r, null);
        await claim?.save(200, view);
        return view;
      });
    },

    /** A refund by id: a merchant's user with read, or the distributor it refunds (another's is 404). */
    async get(actor: Actor, id: string): Promise<DepositRefundView> {
      const principal = actor.principal;
      if (principal.kind !== 'distributor') requirePermission(principal, 'read');
      const { r, p } = await load(db, tenantOf(principal), id);
      if (principal.kind === 'distributor' && r.distributor_id !== principal.distributorId) throw notFound('deposit refund');
      return depositRefundView(r, p);
    },

    async list(actor: Actor, q: { status?: string | undefined; distributor_id?: string | undefined; cursor?: string | undefined; limit: number }) {
      requirePermission(actor.principal, 'read');
      const tenantId = tenantOf(actor.principal);
      const rows = await withdrawalsRepo.depositRefundPage(db, tenantId, q);
      const page = rows.slice(0, q.limit);
      const payouts = page.length
        ? await withdrawalsRepo.payoutsOfDepositRefunds(
            db,
            tenantId,
            page.map((r) => r.id),
          )
        : [];
      const byR = new Map(payouts.map((x) => [x.deposit_refund_id, x]));
      return { items: page.map((r) => depositRefundView(r, byR.get(r.id))), next_cursor: rows.length > q.limit ? (page.at(-1)?.id ?? null) : null };
    },

    /** A second person approves: the refund becomes a payout of kind deposit_refund on its channel. */
    async approve(actor: Actor, id: string): Promise<DepositRefundView> {
      requirePermission(actor.principal, 'finance:approve');
      const tenantId = tenantOf(actor.principal);
      const view = await inTransaction(db, async (tx) => {
        const r = await withdrawalsRepo.findDepositRefundForUpdate(tx, tenantId, id);
        if (!r) throw notFound('deposit refund');
        if (r.status !== 'pending_review') {
          if (r.status === 'approved' || r.status === 'paid') return depositRefundView(r, await withdrawalsRepo.payoutOfDepositRefund(tx, tenantId, id));
          throw invalidState({ en: `a ${r.status} deposit refund cannot be approved`, zh: `状态为${zhStatus(r.status)}的保证金退还不能批准` });
        }
        refuseRequester(actor, r, 'approve');
        const now = clock.now();
        const { actorId } = actorOf(actor.principal);
        const online = channels.get(r.channel).online;
        const payoutId = newId('po');
        await withdrawalsRepo.insertPayout(tx, {
          id: payoutId,
          tenant_id: tenantId,
          kind: 'deposit_refund',
          withdrawal_id: null,
          deposit_refund_id: r.id,
          channel: r.channel,
          // Letters and digits only, ≤ 32, never reused: the provider's idempotency key.
          out_no: `FX${ulid()}`,
          amount_fen: r.amount_fen,
          state: online ? 'created' : 'submitted',
          next_attempt_at: now,
          created_at: now,
          updated_at: now,
        });
        await withdrawalsRepo.updateDepositRefund(tx, tenantId, id, { status: 'approved', approved_at: now, reviewed_by: actorId, updated_at: now });
        await audit.record(tx, actor, {
          action: 'distributor.deposit_refund_approve',
          targetType: 'distributor',
          targetId: r.distributor_id,
          before: { deposit_refund_id: id, status: r.status },
          after: { status: 'approved', payout_id: payoutId, channel: r.channel, amount_fen: r.amount_fen },
        });
        const after = await load(tx, tenantId, id);
        return depositRefundView(after.r, after.p);
      });
      if (view.payout?.state === 'created') deps.onHandoff?.(view.payout.id);
      return view;
    },

    /** Refused: the money goes back to the deposit held. */
    async reject(actor: Actor, id: string, reason: string): Promise<DepositRefundView> {
      requirePermission(actor.principal, 'finance:approve');
      const tenantId = tenantOf(actor.principal);
      return inTransaction(db, async (tx) => {
        const r = await withdrawalsRepo.findDepositRefundForUpdate(tx, tenantId, id);
        if (!r) throw notFound('deposit refund');
        if (r.status !== 'pending_review')
          throw invalidState({ en: `a ${r.status} deposit refund cannot be rejected`, zh: `状态为${zhStatus(r.status)}的保证金退还不能驳回` });
        const now = clock.now();
        const { actorId } = actorOf(actor.principal);
        await withdrawalsRepo.distributorDepositForUpdate(tx, tenantId, r.distributor_id);
        await journal(tx, r, 'deposit_refund_reject', [
          { owner: r.distributor_id, purpose: 'deposit_refunding', amount: -r.amount_fen },
          { owner: r.distributor_id, purpose: 'deposit', amount: r.amount_fen },
        ]);
        await withdrawalsRepo.setDistributorDeposit(tx, tenantId, r.distributor_id, { deposit_refunding_fen: 0, updated_at: now });
        await withdrawalsRepo.updateDepositRefund(tx, tenantId, id, {
          status: 'rejected',
          rejected_at: now,
          status_reason: reason,
          reviewed_by: actorId,
          updated_at: now,
        });
        await audit.record(tx, actor, {
          action: 'distributor.deposit_refund_reject',
          targetType: 'distributor',
          targetId: r.distributor_id,
          before: { deposit_refund_id: id, status: r.status },
          after: { status: 'rejected' },
          reason,
        });
        const after = await load(tx, tenantId, id);
        return depositRefundView(after.r, after.p);
      });
    },

    /** Offline channels (manual, bank): a person records the outcome; paid only by someone other than the requester. */
    async record(actor: Actor, id: string, outcome: { paid: true; reference: string } | { paid: false; reason: string }): Promise<DepositRefundView> {
      requirePermission(actor.principal, 'finance:approve');
      const tenantId = tenantOf(actor.principal);
      return inTransaction(db, async (tx) => {
        const { r, p } = await load(tx, tenantId, id);
        if (channels.get(r.channel).online)
          throw invalidState({
            en: `${r.channel} payouts are settled by the provider, not by hand`,
            zh: `${zhChannel(r.channel)}打款由支付机构结算，不能手动处理`,
          });
        if (r.status !== 'approved' || !p)
          throw invalidState({
            en: `a ${r.status} deposit refund cannot be ${outcome.paid ? 'completed' : 'failed'}`,
            zh: `状态为${zhStatus(r.status)}的保证金退还不能标记为${outcome.paid ? '已完成' : '失败'}`,
          });
        if (outcome.paid) refuseRequester(actor, r, 'complete');
        if (outcome.paid) await withdrawalsRepo.updateDepositRefund(tx, tenantId, id, { reference: outcome.reference });
        const changed = await deps.transition(
          tx,
          p.id,
          outcome.paid
            ? { source: 'manual', outcome: 'succeeded', providerRef: outcome.reference }
            : { source: 'manual', outcome: 'failed', failCode: 'MANUAL', failReason: outcome.reason },
        );
        if (!changed) throw invalidState({ en: 'the payout already has its outcome', zh: '该打款已有结果' });
        await audit.record(tx, actor, {
          action: outcome.paid ? 'distributor.deposit_refund_complete' : 'distributor.deposit_refund_fail',
          targetType: 'distributor',
          targetId: r.distributor_id,
          before: { deposit_refund_id: id, status: 'approved' },
          after: { status: outcome.paid ? 'paid' : 'failed' },
          reason: outcome.paid ? outcome.reference : outcome.reason,
        });
        const after = await load(tx, tenantId, id);
        return depositRefundView(after.r, after.p);
      });
    },

    /** Cancels the refund's WeChat transfer while it waits for the payee (the money goes back to held once WeChat says so). */
    async cancel(actor: Actor, id: string, reason: string): Promise<DepositRefundView> {
      requirePermission(actor.principal, 'finance:approve');
      const tenantId = tenantOf(actor.principal);
      const { r, p } = await load(db, tenantId, id);
      if (!p) throw invalidState({ en: 'only a transfer waiting for the payee to confirm can be cancelled', zh: '只有等待收款人确认的转账才能取消' });
      await deps.cancelPayout(actor, p, { type: 'distributor', id: r.distributor_id }, reason);
      const after = await load(db, tenantId, id);
      return depositRefundView(after.r, after.p);
    },

    /**
     * A deposit refund's payout reached its outcome (called by the withdrawals' transition, in its
     * transaction, once per payout): paid, the money leaves the merchant's deposit cash; failed or
     * cancelled, it goes back to the deposit held.
     */
    async close(tx: Tx, p: PayoutRow, result: PayoutResult): Promise<void> {
      if (!p.deposit_refund_id) throw new Error(`payout ${p.id} is a deposit refund's but names none`);
      const r = await withdrawalsRepo.findDepositRefundForUpdate(tx, p.tenant_id, p.deposit_refund_id);
      if (!r) throw new Error(`payout ${p.id} names deposit refund ${p.deposit_refund_id}, which is not there`);
      const d = await withdrawalsRepo.distributorDepositForUpdate(tx, p.tenant_id, r.distributor_id);
      if (!d) throw new Error(`deposit refund ${r.id} names distributor ${r.distributor_id}, which is not there`);
      const now = clock.now();
      if (result.outcome === 'succeeded') {
        await journal(
          tx,
          r,
          'deposit_refunded',
          [
            { owner: r.distributor_id, purpose: 'deposit_refunding', amount: -r.amount_fen },
            { owner: 'tenant', purpose: 'deposit_cash', amount: r.amount_fen, party: r.distributor_id },
          ],
          p.id,
        );
        await withdrawalsRepo.setDistributorDeposit(tx, p.tenant_id, r.distributor_id, {
          deposit_refunded_fen: d.deposit_refunded_fen + r.amount_fen,
          deposit_refunding_fen: 0,
          updated_at: now,
        });
        await withdrawalsRepo.updateDepositRefund(tx, p.tenant_id, r.id, {
          status: 'paid',
          paid_at: now,
          updated_at: now,
          reference: r.reference ?? result.providerRef ?? p.provider_ref ?? null,
        });
      } else {
        await journal(
          tx,
          r,
          'deposit_refund_fail',
          [
            { owner: r.distributor_id, purpose: 'deposit_refunding', amount: -r.amount_fen },
            { owner: r.distributor_id, purpose: 'deposit', amount: r.amount_fen },
          ],
          p.id,
        );
        await withdrawalsRepo.setDistributorDeposit(tx, p.tenant_id, r.distributor_id, { deposit_refunding_fen: 0, updated_at: now });
        await withdrawalsRepo.updateDepositRefund(tx, p.tenant_id, r.id, {
          status: 'failed',
          failed_at: now,
          updated_at: now,
          status_reason: result.failReason ?? result.failCode ?? result.outcome,
        });
      }
    },

    /** What the channel is asked to pay: the refund's account. */
    async requestFor(p: PayoutRow) {
      if (!p.deposit_refund_id) throw new Error(`payout ${p.id} is a deposit refund's but names none`);
      const r = await withdrawalsRepo.findDepositRefund(db, p.tenant_id, p.deposit_refund_id);
      if (!r) throw new Error(`payout ${p.id} names deposit refund ${p.deposit_refund_id}, which is not there`);
      const account = r.payout_account_id ? await accounts.decrypt(db, r.payout_account_id) : { channel: 'manual' as const };
      return { outNo: p.out_no, amountFen: p.amount_fen, account, remark: '保证金退还' };
    },
  };
}

export type DepositRefunds = ReturnType<typeof createDepositRefunds>;
