import { sql, type RawBuilder } from 'kysely';
import type { Db, Executor } from '../../db/database.ts';
import { newId } from '../../core/ids.ts';
import { inTransaction } from '../../db/database.ts';
import type { Actor, Clock } from '../../core/context.ts';
import { AppError, jobErrorOf, notFound, type JobError } from '../../core/errors.ts';
import { actorOf, requirePermission, tenantOf } from '../../core/principal.ts';
import type { Job, JobsService } from '../jobs/service.ts';
import { checkpointRepo, ledgerRepo } from './repo.ts';
import { FULL_ONLY_INVARIANTS, postingFence, verifyLedger, verifyLedgerSince, type LedgerCheck, type VerifyReport } from './verify.ts';

/**
 * The double-entry ledger. Amounts are signed integers in fen: a credit is positive, a debit
 * negative, and every journal sums to zero (the database refuses one that does not, and refuses
 * any UPDATE or DELETE of a posting). This is the only writer of journals: each is one statement
 * of postings, written in the caller's transaction together with the change that caused it.
 */

export const DISTRIBUTOR_PURPOSES = ['pending', 'available', 'withdrawable', 'withdrawing', 'withdrawn'] as const;
export const TENANT_PURPOSES = ['commission_expense', 'payout_clearing', 'fee_income'] as const;
export type DistributorPurpose = (typeof DISTRIBUTOR_PURPOSES)[number];
export type TenantPurpose = (typeof TENANT_PURPOSES)[number];
/**
 * Agent mode (src/modules/agents): an agent's stock at what it paid (a bounded account, opened when
 * it is appointed), and the merchant's side: what agents paid for stock less buybacks, the cost
 * of agent stock that orders sold, and the cost of units a stocktake found missing.
 */
export const AGENT_DISTRIBUTOR_PURPOSES = ['agent_stock'] as const;
export const AGENT_TENANT_PURPOSES = ['agent_purchases', 'agent_stock_sold', 'agent_stock_corrections'] as const;
export type AgentDistributorPurpose = (typeof AGENT_DISTRIBUTOR_PURPOSES)[number];
export type AgentTenantPurpose = (typeof AGENT_TENANT_PURPOSES)[number];
/**
 * Admission deposits (src/modules/distributors): what the merchant holds for a distributor (a
 * bounded liability account, credited when finance records a deposit received), the part of it on
 * its way back (`deposit_refunding`: a refund asked for, until its payout is paid or fails;
 * src/modules/withdrawals/deposit-refunds.ts), and the merchant's side: the cash it holds for
 * deposits (a debit balance), credited when a refund's payout is paid.
 */
export const DEPOSIT_DISTRIBUTOR_PURPOSES = ['deposit', 'deposit_refunding'] as const;
export const DEPOSIT_TENANT_PURPOSES = ['deposit_cash'] as const;
export type DepositDistributorPurpose = (typeof DEPOSIT_DISTRIBUTOR_PURPOSES)[number];
export type DepositTenantPurpose = (typeof DEPOSIT_TENANT_PURPOSES)[number];

export type Leg =
  | {
      owner: 'tenant';
      purpose: TenantPurpose | AgentTenantPurpose | DepositTenantPurpose;
      amount: number;
      party?: string | undefined;
      commissionId?: string | undefined;
    }
  | {
      owner: string;
      purpose: DistributorPurpose | AgentDistributorPurpose | DepositDistributorPurpose;
      amount: number;
      party?: string | undefined;
      commissionId?: string | undefined;
    };

export interface JournalInput {
  tenantId: string;
  kind: string;
  refType: string;
  refId: string;
  memo?: string | undefined;
  legs: Leg[];
}

export class UnbalancedJournal extends Error {}

interface AccountInfo {
  id: string;
  cached: boolean;
}

/** A value the code above guarantees (a map filled for every key, an array of the same length): its absence is a bug, named. */
function must<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`ledger: ${what} is missing`);
  return value;
}

/** Distributor accounts are bounded at zero except withdrawable, which a clawback may overdraw. */
function isBounded(purpose: string): boolean {
  return (
    purpose !== 'withdrawable' &&
    !(TENANT_PURPOSES as readonly string[]).includes(purpose) &&
    !(AGENT_TENANT_PURPOSES as readonly string[]).includes(purpose) &&
    !(DEPOSIT_TENANT_PURPOSES as readonly string[]).includes(purpose)
  );
}

/** A leg as written, with its journal's kind: what analytics is told of each journal posted. */
export interface PostedLeg {
  kind: string;
  owner: string;
  purpose: string;
  amount: number;
  commissionId: string | null;
}

/**
 * The legs `journals` write (zero legs are not written), for the caller to tell analytics in the
 * same transaction: `await analytics.posted(tx, tenantId, postedLegs(journals))`. The ledger tells
 * nobody itself; each module that posts says so where it posts.
 */
export function postedLegs(journals: readonly JournalInput[]): PostedLeg[] {
  return journals.flatMap((j) =>
    j.legs
      .filter((l) => l.amount !== 0)
      .map((l) => ({ kind: j.kind, owner: l.owner, purpose: l.purpose, amount: l.amount, commissionId: l.commissionId ?? null })),
  );
}

/** What GET /v1/journal-entries answers for each journal. */
export interface JournalView {
  id: string;
  kind: string;
  ref_type: string;
  ref_id: string;
  memo: string | null;
  created_at: string;
  postings: {
    account_id: string;
    owner_id: string;
    purpose: string;
    amount_fen: number;
    commission_id: string | null;
    balance_after: number | null;
  }[];
}

export type VerifyMode = 'full' | 'incremental';

/** A verification as GET /v1/ledger/verify and the console's background job answer it. */
export interface LedgerVerification extends VerifyReport {
  /** What ran: a full pass, or the postings after the checkpoint (a first pass is always full). */
  mode: VerifyMode;
  /** The checkpoint an incremental pass started from (null for a full pass). */
  since_posting_id: number | null;
  /** The checkpoint after this pass: moved to the fence when clean, left where it was when not. */
  checkpoint_posting_id: number | null;
  /** Invariants an incremental pass leaves to the full pass. */
  full_only: string[];
  started_at: string;
  finished_at: string;
  duration_ms: number;
}

/** What the console's ledger page shows on opening: the last result, the checkpoint, a verification under way. */
export interface VerifyStatus {
  last: LedgerVerification | null;
  checkpoint: { posting_id: number; at: string } | null;
  last_full_at: string | null;
  job: VerifyJob | null;
}

export interface VerifyJob {
  id: string;
  status: 'queued' | 'running' | 'done' | 'failed' | 'cancelled';
  mode: VerifyMode;
  /** Checks run of those to run. */
  done: number;
  total: number | null;
  started_at: string;
  finished_at: string | null;
  result: LedgerVerification | null;
  error: JobError | null;
}

export const VERIFY_JOB_KIND = 'ledger-verify';
/** The scheduler's full pass: once a week per tenant. */
export const FULL_VERIFY_EVERY_MS = 7 * 24 * 3600_000;
/** A claimed weekly pass not finished after this long belongs to a process that died: another may run it. */
const FULL_CLAIM_STALE_MS = 6 * 3600_000;
const JOB_TTL_MS = 60 * 60_000;

function verifyJobOf(j: Job): VerifyJob {
  return {
    id: j.id,
    status: j.status,
    mode: (j.params['mode'] as VerifyMode | undefined) ?? 'incremental',
    done: j.done,
    total: j.total,
    started_at: (j.startedAt ?? j.createdAt).toISOString(),
    finished_at: j.finishedAt?.toISOString() ?? null,
    result: (j.result ?? null) as LedgerVerification | null,
    error: j.error,
  };
}

export function createLedger(options: {
  /** Where the ledger's readers (verify, journal entries) read; the writer runs in the caller's transaction. */
  db: Db;
  /** Invariant checks other modules own (withdrawals, payouts), run by `verify` after the ledger's own. */
  checks?: LedgerCheck[];
  /** The verification's clock and background jobs (the console runs it as a job). */
  clock?: Clock;
  jobs?: JobsService;
}) {
  const { db } = options;
  const now = () => options.clock?.now() ?? new Date();

  /**
   * One verification of a tenant: incremental from its checkpoint (a full pass when it has none),
   * or full. The fence is taken first; a clean pass moves the checkpoint to it, a pass with
   * breaks leaves it (the next incremental pass sees the same rows again). The result is kept.
   */
  async function runVerify(tenantId: string, asked: VerifyMode, onProgress?: (done: number, total: number) => void): Promise<LedgerVerification> {
    const startedAt = now();
    const t0 = performance.now();
    const cp = await checkpointRepo.get(db, tenantId);
    const since = cp?.posting_id ?? null;
    const mode: VerifyMode = asked === 'incremental' && since !== null ? 'incremental' : 'full';
    const fence = await postingFence(db, tenantId);
    const report =
      mode === 'incremental' && since !== null
        ? await verifyLedgerSince(db, tenantId, since, options.checks, onProgress)
        : { ...(await verifyLedger(db, tenantId, options.checks, onProgress)), since_posting_id: null, full_only: [] };
    return inTransaction(db, async (tx) => {
      const row = await checkpointRepo.lock(tx, tenantId);
      let checkpoint = row.posting_id === null ? null : Number(row.posting_id);
      const finishedAt = now();
      // Without a fence (a long writer held postings) the pass has checked, and the checkpoint stays.
      if (report.ok && fence !== null) {
        if (mode === 'full' && (checkpoint === null || fence >= checkpoint)) {
          await checkpointRepo.resetBalances(tx, tenantId, fence);
          checkpoint = fence;
        } else if (mode === 'incremental' && checkpoint === since && since !== null && fence > since) {
          // Another process may have moved it meanwhile: then its balances stand and these are not added twice.
          await checkpointRepo.advanceBalances(tx, tenantId, since, fence);
          checkpoint = fence;
        }
      }
      const result: LedgerVerification = {
        ...report,
        mode,
        since_posting_id: mode === 'incremental' ? since : null,
        checkpoint_posting_id: checkpoint,
        full_only: mode === 'incremental' ? FULL_ONLY_INVARIANTS : [],
        started_at: startedAt.toISOString(),
        finished_at: finishedAt.toISOString(),
        duration_ms: Math.round(performance.now() - t0),
      };
      await checkpointRepo.update(tx, tenantId, {
        ...(checkpoint !== (row.posting_id === null ? null : Number(row.posting_id)) ? { posting_id: checkpoint, checkpoint_at: finishedAt } : {}),
        last_mode: mode,
        last_ok: report.ok,
        last_report: JSON.stringify(result),
        last_started_at: startedAt,
        last_finished_at: finishedAt,
        last_duration_ms: result.duration_ms,
        ...(mode === 'full' ? { last_full_at: finishedAt, full_claimed_at: null } : {}),
      });
      return result;
    });
  }
  // Account ids never change once made, so a process remembers them.
  const accountIds = new Map<string, AccountInfo>();
  const keyOf = (tenantId: string, owner: string, purpose: string) => `${tenantId}|${owner}|${purpose}`;

  async function openAccounts(
    ex: Executor,
    tenantId: string,
    ownerType: 'distributor' | 'tenant',
    ownerId: string,
    purposes: readonly string[],
  ): Promise<void> {
    await ex
      .insertInto('accounts')
      .values(
        purposes.map((purpose) => ({
          id: newId('acc'),
          tenant_id: tenantId,
          owner_type: ownerType,
          owner_id: ownerId,
          purpose,
          cached: ownerType === 'distributor',
          bounded: ownerType === 'distributor' && isBounded(purpose),
        })),
      )
      .onConflict((oc) => oc.columns(['tenant_id', 'owner_id', 'purpose']).doNothing())
      .execute();
  }

  async function resolve(ex: Executor, tenantId: string, legs: Leg[]): Promise<Map<string, AccountInfo>> {
    const wanted = new Map<string, { owner: string; purpose: string }>();
    for (const l of legs) {
      const k = keyOf(tenantId, l.owner, l.purpose);
      if (!accountIds.has(k)) wanted.set(k, { owner: l.owner, purpose: l.purpose });
    }
    if (wanted.size > 0) {
      const owners = [...new Set([...wanted.values()].map((w) => w.owner))];
      let rows = await ex
        .selectFrom('accounts')
        .select(['id', 'owner_id', 'purpose', 'cached'])
        .where('tenant_id', '=', tenantId)
        .where('owner_id', 'in', owners)
        .execute();
      const found = new Set(rows.map((r) => r.owner_id));
      const missing = owners.filter((o) => !found.has(o));
      if (missing.length > 0) {
        for (const o of missing) {
          if (o === 'tenant') await openAccounts(ex, tenantId, 'tenant', 'tenant', TENANT_PURPOSES);
          else await openAccounts(ex, tenantId, 'distributor', o, DISTRIBUTOR_PURPOSES);
        }
        rows = await ex
          .selectFrom('accounts')
          .select(['id', 'owner_id', 'purpose', 'cached'])
          .where('tenant_id', '=', tenantId)
          .where('owner_id', 'in', owners)
          .execute();
      }
      for (const r of rows) accountIds.set(keyOf(tenantId, r.owner_id, r.purpose), { id: r.id, cached: r.cached });
    }
    const out = new Map<string, AccountInfo>();
    for (const l of legs) {
      const k = keyOf(tenantId, l.owner, l.purpose);
      const info = accountIds.get(k);
      if (!info) throw new Error(`no account ${k}`);
      out.set(k, info);
    }
    return out;
  }

  return {
    openAccounts,

    /** Opens the five accounts of a new distributor (pending … withdrawn). */
    openDistributor(ex: Executor, tenantId: string, distributorId: string) {
      return openAccounts(ex, tenantId, 'distributor', distributorId, DISTRIBUTOR_PURPOSES);
    },

    /** Opens the merchant's accounts (commission expense, payout clearing, fee income). */
    openTenant(ex: Executor, tenantId: string) {
      return openAccounts(ex, tenantId, 'tenant', 'tenant', TENANT_PURPOSES);
    },

    /** Writes one balanced journal (see postMany). */
    async post(ex: Executor, j: JournalInput): Promise<string> {
      return must((await this.postMany(ex, [j]))[0], 'the journal id of a one-journal batch');
    },

    /**
     * Writes balanced journals of one tenant. Cached accounts are locked in id order (concurrent
     * journals over the same accounts queue instead of deadlocking) and their balances move in
     * the same transaction; a bounded account that would go below zero fails the transaction.
     * All legs go in as one statement of arrays, so the balance trigger sees whole journals and
     * a batch of thousands (a settlement run) costs a handful of round trips.
     */
    async postMany(ex: Executor, journals: JournalInput[]): Promise<string[]> {
      if (journals.length === 0) return [];
      const plan = await this.plan(ex, journals);
      await sql`with ${sql.join(plan.ctes)} select count(*) from ledger_postings`.execute(ex);
      return plan.journalIds;
    },

    /**
     * The same as postMany, as common table expressions for the caller to run in a statement of
     * its own (a batch of orders writes its journals together with other rows in one round trip).
     * Accounts are resolved here (a query only for accounts this process has not seen yet).
     */
    async plan(ex: Executor, journals: JournalInput[]): Promise<{ ctes: RawBuilder<unknown>[]; journalIds: string[]; tenantId: string }> {
      if (journals.length === 0) return { ctes: [], journalIds: [], tenantId: '' };
      const tenantId = must(journals[0], 'the first journal').tenantId;
      const all: { j: number; leg: Leg }[] = [];
      journals.forEach((j, k) => {
        if (j.tenantId !== tenantId) throw new UnbalancedJournal('postMany takes journals of one tenant');
        const legs = j.legs.filter((l) => l.amount !== 0);
        if (legs.length === 0) throw new UnbalancedJournal('a journal needs at least one non-zero leg');
        let sum = 0;
        for (const l of legs) {
          if (!Number.isSafeInteger(l.amount)) throw new UnbalancedJournal(`leg amount ${l.amount} is not an integer in fen`);
          sum += l.amount;
          all.push({ j: k, leg: l });
        }
        if (sum !== 0) throw new UnbalancedJournal(`journal ${j.kind} ${j.refId} is off by ${sum} fen`);
      });

      const accounts = await resolve(
        ex,
        tenantId,
        all.map((x) => x.leg),
      );
      const deltas = new Map<string, { delta: number; n: number }>();
      for (const { leg } of all) {
        const a = must(accounts.get(keyOf(tenantId, leg.owner, leg.purpose)), `the account of ${leg.owner} ${leg.purpose}`);
        if (!a.cached) continue;
        const d = deltas.get(a.id) ?? { delta: 0, n: 0 };
        d.delta += leg.amount;
        d.n += 1;
        deltas.set(a.id, d);
      }
      const ids = [...deltas.keys()].sort();
      const journalIds = journals.map(() => newId('je'));
      const cols = {
        journal: [] as string[],
        account: [] as string[],
        amount: [] as number[],
        party: [] as (string | null)[],
        commission: [] as (string | null)[],
        cached: [] as boolean[],
      };
      for (const { j, leg } of all) {
        const a = must(accounts.get(keyOf(tenantId, leg.owner, leg.purpose)), `the account of ${leg.owner} ${leg.purpose}`);
        cols.journal.push(must(journalIds[j], `journal id ${j}`));
        cols.account.push(a.id);
        cols.amount.push(leg.amount);
        cols.party.push(leg.party ?? (leg.owner === 'tenant' ? null : leg.owner));
        cols.commission.push(leg.commissionId ?? null);
        cols.cached.push(a.cached);
      }
      // The cached accounts are locked in id order (ledger_locked takes each before the UPDATE
      // can reach it) and each moves once by the sum of its legs; each posting's balance_after
      // is the balance before these journals plus the running sum of that account's legs up to
      // it, in the order the legs were given.
      const ctes = [
        sql`ledger_locked as materialized (select id from accounts where id = any(${ids}::text[]) order by id for no key update)`,
        sql`ledger_moved as (
          update accounts a set balance = a.balance + v.delta, version = a.version + v.n
            from ledger_locked l join unnest(${ids}::text[], ${ids.map((id) => must(deltas.get(id), `the delta of ${id}`).delta)}::bigint[], ${ids.map((id) => must(deltas.get(id), `the delta of ${id}`).n)}::bigint[]) as v(id, delta, n) on v.id = l.id
           where a.id = l.id
          returning a.id, a.balance - v.delta as before)`,
        sql`ledger_journals as (
          insert into journal_entries (id, tenant_id, kind, ref_type, ref_id, memo)
          select id, ${tenantId}, kind, ref_type, ref_id, memo
            from unnest(${journalIds}::text[], ${journals.map((j) => j.kind)}::text[], ${journals.map((j) => j.refType)}::text[],
                        ${journals.map((j) => j.refId)}::text[], ${journals.map((j) => j.memo ?? null)}::text[]) as v(id, kind, ref_type, ref_id, memo)
          returning id)`,
        sql`ledger_legs as (
          select * from unnest(${cols.journal}::text[], ${cols.account}::text[], ${cols.amount}::bigint[], ${cols.party}::text[],
                               ${cols.commission}::text[], ${cols.cached}::boolean[]) with ordinality as v(journal_id, account_id, amount, party_id, commission_id, cached, n))`,
        sql`ledger_postings as (
          insert into postings (journal_id, tenant_id, account_id, amount, party_id, commission_id, balance_after)
          select l.journal_id, ${tenantId}, l.account_id, l.amount, l.party_id, l.commission_id,
                 case when l.cached then m.before + sum(l.amount) over (partition by l.account_id order by l.n) end
            from ledger_legs l left join ledger_moved m on m.id = l.account_id
           where exists (select 1 from ledger_journals j where j.id = l.journal_id)
           order by l.n
          returning 1)`,
      ];
      return {
        ctes,
        journalIds,
        tenantId,
      };
    },

    /** Locks a distributor account and answers its balance (a withdrawal checks it under the lock). */
    async lockBalance(ex: Executor, tenantId: string, owner: string, purpose: DistributorPurpose): Promise<number> {
      const accounts = await resolve(ex, tenantId, [{ owner, purpose, amount: 0 }]);
      const id = must(accounts.get(keyOf(tenantId, owner, purpose)), `the account of ${owner} ${purpose}`).id;
      const r = await sql<{ balance: number }>`select balance from accounts where id = ${id} for update`.execute(ex);
      return must(r.rows[0], `the locked balance of ${owner} ${purpose}`).balance;
    },

    /** A distributor's five balances, from the cached accounts (ledger verify proves them). */
    async balances(ex: Executor, tenantId: string, distributorId: string): Promise<Record<DistributorPurpose, number> & { in_flight: number }> {
      const rows = await ledgerRepo.accountsOf(ex, tenantId, distributorId);
      const out = { pending: 0, available: 0, withdrawable: 0, withdrawing: 0, withdrawn: 0, in_flight: 0 };
      for (const r of rows) if ((DISTRIBUTOR_PURPOSES as readonly string[]).includes(r.purpose)) out[r.purpose as DistributorPurpose] = r.balance;
      // Money handed to a payout channel and not yet confirmed sits in the merchant's clearing
      // account, attributed to the distributor it belongs to.
      const clearing =
        accountIds.get(keyOf(tenantId, 'tenant', 'payout_clearing'))?.id ?? (await ledgerRepo.tenantAccount(ex, tenantId, 'payout_clearing'))?.id;
      if (clearing) {
        out.in_flight = await ledgerRepo.partySum(ex, clearing, distributorId);
      }
      return out;
    },

    /** The deposit the merchant holds for a distributor: its cached `deposit` account (0 before any). */
    async depositHeld(ex: Executor, tenantId: string, distributorId: string): Promise<number> {
      const rows = await ledgerRepo.accountsOf(ex, tenantId, distributorId);
      return rows.find((r) => r.purpose === 'deposit')?.balance ?? 0;
    },

    /** The part of a distributor's deposit on its way back (a refund asked for, not yet paid or failed). */
    async depositRefunding(ex: Executor, tenantId: string, distributorId: string): Promise<number> {
      const rows = await ledgerRepo.accountsOf(ex, tenantId, distributorId);
      return rows.find((r) => r.purpose === 'deposit_refunding')?.balance ?? 0;
    },

    /** The merchant-side balance of one purpose: the sum of its postings. */
    async tenantBalance(ex: Executor, tenantId: string, purpose: TenantPurpose): Promise<number> {
      return ledgerRepo.tenantSum(ex, tenantId, purpose);
    },

    /** The withdrawable balance of each of these distributors that has the account. */
    async withdrawableBalances(ex: Executor, tenantId: string, owners: string[]): Promise<Map<string, number>> {
      const rows = await ledgerRepo.withdrawableBalances(ex, tenantId, owners);
      return new Map(rows.map((r) => [r.owner_id, r.balance]));
    },

    /** GET /v1/ledger/verify: every invariant checked for the caller's tenant (or, asked, what changed since the checkpoint), each break named. */
    async verify(actor: Actor, mode: VerifyMode = 'full'): Promise<LedgerVerification> {
      requirePermission(actor.principal, 'read');
      return runVerify(tenantOf(actor.principal), mode);
    },

    /** One tenant's verification (the CLI, the scheduler). */
    verifyTenant: runVerify,

    /** The scheduler's weekly full pass of a tenant, when due and claimed by this process; null when not. */
    async verifyWeekly(tenantId: string): Promise<LedgerVerification | null> {
      const at = now();
      const claimed = await checkpointRepo.claimFull(
        db,
        tenantId,
        at,
        new Date(at.getTime() - FULL_VERIFY_EVERY_MS),
        new Date(at.getTime() - FULL_CLAIM_STALE_MS),
      );
      return claimed ? runVerify(tenantId, 'full') : null;
    },

    /** GET /v1/ledger/verifications/last: the last result at once (nothing is checked), and a verification under way. */
    async verifyStatus(actor: Actor): Promise<VerifyStatus> {
      requirePermission(actor.principal, 'read');
      const tenantId = tenantOf(actor.principal);
      const row = await checkpointRepo.get(db, tenantId);
      const job = row?.job_id && options.jobs ? await options.jobs.get(tenantId, VERIFY_JOB_KIND, row.job_id) : undefined;
      return {
        last: (row?.last_report ?? null) as LedgerVerification | null,
        checkpoint: row?.posting_id != null && row.checkpoint_at ? { posting_id: Number(row.posting_id), at: row.checkpoint_at.toISOString() } : null,
        last_full_at: row?.last_full_at?.toISOString() ?? null,
        job: job ? verifyJobOf(job) : null,
      };
    },

    /** POST /v1/ledger/verify/jobs: a verification in the background, its progress in the jobs table (any process answers it). */
    async startVerifyJob(actor: Actor, mode: VerifyMode, log?: { error(obj: object, msg: string): void }): Promise<VerifyJob> {
      requirePermission(actor.principal, 'read');
      const jobs = options.jobs;
      if (!jobs) throw new Error('ledger: background verification needs the jobs service');
      const tenantId = tenantOf(actor.principal);
      const running = await this.verifyStatus(actor);
      if (running.job && (running.job.status === 'queued' || running.job.status === 'running')) return running.job;
      const expired = await jobs.finishedBefore(VERIFY_JOB_KIND, new Date(now().getTime() - JOB_TTL_MS));
      await jobs.remove(expired.map((j) => j.id));
      const { actorType, actorId } = actorOf(actor.principal);
      const { job, run } = await jobs.create({
        id: newId('job'),
        tenantId,
        kind: VERIFY_JOB_KIND,
        status: 'running',
        params: { mode },
        createdBy: `${actorType}:${actorId ?? ''}`,
      });
      await checkpointRepo.lock(db, tenantId);
      await checkpointRepo.update(db, tenantId, { job_id: job.id });
      runVerify(tenantId, mode, (done, total) => run.progress(done, total))
        .then(
          (r) => run.finish('done', { result: r }),
          (err: unknown) => {
            if (!(err instanceof AppError)) log?.error({ err, job: job.id }, 'ledger verification job failed');
            return run.finish('failed', {
              error: jobErrorOf(err, { en: 'the verification failed (see the server log)', zh: '账本校验失败（原因见服务器日志）' }),
            });
          },
        )
        .catch((err: unknown) => log?.error({ err, job: job.id }, 'ledger verification job outcome not written'));
      return verifyJobOf(job);
    },

    async getVerifyJob(actor: Actor, id: string): Promise<VerifyJob> {
      requirePermission(actor.principal, 'read');
      const job = await options.jobs?.get(tenantOf(actor.principal), VERIFY_JOB_KIND, id);
      if (!job) throw notFound('verification job');
      return verifyJobOf(job);
    },

    /** GET /v1/journal-entries: the journals a cause wrote, with their postings. */
    async journalEntries(actor: Actor, refId: string): Promise<{ items: JournalView[]; next_cursor: null }> {
      requirePermission(actor.principal, 'read');
      const tenantId = tenantOf(actor.principal);
      const journals = await ledgerRepo.journalsByRef(db, tenantId, refId);
      const postings =
        journals.length === 0
          ? []
          : await ledgerRepo.postingsOfJournals(
              db,
              journals.map((j) => j.id),
            );
      return {
        items: journals.map((j) => ({
          id: j.id,
          kind: j.kind,
          ref_type: j.ref_type,
          ref_id: j.ref_id,
          memo: j.memo,
          created_at: j.created_at.toISOString(),
          postings: postings
            .filter((p) => p.journal_id === j.id)
            .map((p) => ({
              account_id: p.account_id,
              owner_id: p.owner_id,
              purpose: p.purpose,
              amount_fen: p.amount,
              commission_id: p.commission_id,
              balance_after: p.balance_after,
            })),
        })),
        next_cursor: null,
      };
    },

    /** Forgets cached account ids (tests that drop databases). */
    reset() {
      accountIds.clear();
    },
  };
}

export type Ledger = ReturnType<typeof createLedger>;
