import type { Outbox } from '../webhooks/outbox.ts';
import { MESSAGES, zhStatus } from '../../core/error-text.ts';
import type { RawBuilder, Selectable } from 'kysely';
import type { Db, Tx } from '../../db/database.ts';
import { advisoryXactLock, inTransaction } from '../../db/database.ts';
import type { Actor, Clock } from '../../core/context.ts';
import type { Principal } from '../../core/principal.ts';
import { AppError, invalid, invalidState, jobErrorOf, notFound } from '../../core/errors.ts';
import { actorOf, requirePermission, tenantOf } from '../../core/principal.ts';
import type { SettlementRunsTable, StatementsTable } from '../../db/schema.ts';
import { newId, ulid } from '../../core/ids.ts';
import type { Job, JobRun, JobsService } from '../jobs/service.ts';
import { addCalendarDays, isoWeekday, localDate, zonedTime } from '../../core/time.ts';
import type { AuditService } from '../audit/service.ts';
import { lineEventData, type CommissionsService } from '../commissions/service.ts';
import { commissionsRepo } from '../commissions/repo.ts';
import { settlementRepo } from './repo.ts';
import { postedLegs, type JournalInput, type Ledger } from '../ledger/service.ts';
import type { AnalyticsRecorder } from '../analytics/recorder.ts';
import type { ProgramService } from '../program/service.ts';
import type { ProgramSettings } from '../program/schema.ts';

type StatementRow = Selectable<StatementsTable>;

export interface StatementView {
  id: string;
  distributor_id: string;
  amount_fen: number;
  status: 'approved' | 'pending_review' | 'rejected';
  line_count: number;
  debt_offset_fen: number;
  period_end: string;
  run_id: string;
  review_reason: string | null;
  created_at: string;
  approved_at: string | null;
}

export function statementView(s: StatementRow): StatementView {
  return {
    id: s.id,
    distributor_id: s.distributor_id,
    amount_fen: s.amount_fen,
    status: s.status,
    line_count: s.line_count,
    debt_offset_fen: s.debt_offset_fen,
    period_end: s.period_end.toISOString(),
    run_id: s.run_id,
    review_reason: s.review_reason,
    created_at: s.created_at.toISOString(),
    approved_at: s.approved_at?.toISOString() ?? null,
  };
}

/** Distributors settled so far of those the run found (a run's progress, for a page to show). */
type Progress = (done: number, total: number) => void;

/** A settlement run started in the background from the console, with its progress. */
export interface SettlementJob {
  id: string;
  tenantId: string;
  status: 'running' | 'done' | 'failed';
  as_of: string;
  done: number;
  total: number | null;
  started_at: string;
  finished_at: string | null;
  result: { run_id: string; made_available: number; statements: StatementView[] } | null;
  error: { code: string; message: string } | null;
}

/** Finished jobs are kept this long for the page that polls them, then forgotten. */
const JOB_TTL_MS = 60 * 60_000;
const JOB_KIND = 'settlement';

function settlementJobOf(j: Job): SettlementJob {
  return {
    id: j.id,
    tenantId: j.tenantId,
    status: j.status === 'done' ? 'done' : j.status === 'failed' || j.status === 'cancelled' ? 'failed' : 'running',
    as_of: String(j.params.as_of),
    done: j.done,
    total: j.total,
    started_at: (j.startedAt ?? j.createdAt).toISOString(),
    finished_at: j.finishedAt?.toISOString() ?? null,
    result: j.result as SettlementJob['result'],
    error: j.error,
  };
}

/** Distributors settled per transaction of a run. */
export const SETTLEMENT_BATCH = 1000;
/** Batches of a run in flight at once (one: a run leaves the other cores to orders). */
export const SETTLEMENT_WORKERS = 1;
/** Orders made final per transaction of a run's first phase. */
const MAKE_AVAILABLE_BATCH = 1000;
/** A run's owner renews its lease at every batch; a run not renewed for this long was abandoned. */
export const SETTLEMENT_LEASE_MS = 60_000;
/** How often a run asked for while another is under way looks again. */
const WAIT_MS = 100;

type RunRow = Selectable<SettlementRunsTable>;
type RunResult = { run_id: string; made_available: number; statements: StatementView[] };

/** The run's owner changed under it (its lease ran out and another process took it over). */
class RunTakenOver extends Error {}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export const SETTLEMENT_LOCK = 'settlement';

/**
 * Settlement: final commissions become one statement per distributor per run. A statement up to
 * the review threshold is approved at once and its amount moves from available to withdrawable
 * (which first pays off any clawback debt, since withdrawable may stand below zero); above the
 * threshold it waits for a person.
 *
 * A run is a durable row (settlement_runs) worked in batches, each its own transaction: first the
 * commissions past their freeze days are made final, a thousand orders at a time, then a thousand
 * distributors at a time (in id order) are settled, and each batch moves the run's cursor in its
 * own transaction. So a run holds no lock for its whole length (orders keep flowing), and a
 * process that stops mid-run leaves whole batches behind: the run's lease runs out and the next
 * run asked for, or the next scheduler pass of any process, takes it over and goes on from its
 * cursor. Lines are locked and given their statement in the batch that settles them, and a
 * distributor has at most one statement per run (a unique index), so no line is settled twice and
 * none that was settleable when its batch came is left out: the result is the one a single
 * transaction would have made. One run is under way per tenant (a unique index); a second one asked
 * for waits for it, then finds nothing left to settle.
 */
export function createSettlementService(deps: {
  /** statement.approved, statement.rejected and commission.settled for merchants' webhook endpoints, in the deciding transaction. */
  outbox: Outbox;
  db: Db;
  clock: Clock;
  audit: AuditService;
  ledger: Ledger;
  /** Told of every journal this module posts, in the journal's transaction. */
  analytics: Pick<AnalyticsRecorder, 'posted'>;
  program: ProgramService;
  commissions: CommissionsService;
  jobs: JobsService;
  /** Distributors per batch (FENXIAO_SETTLEMENT_BATCH). */
  batchSize?: number | undefined;
  /** Batches of a run in flight at once, each on its own connection (FENXIAO_SETTLEMENT_WORKERS). */
  workers?: number | undefined;
  /** How long a run's owner may go without finishing a batch before another process may take the run over (FENXIAO_SETTLEMENT_LEASE_SECONDS). */
  leaseMs?: number | undefined;
  /** Failures between batches, for tests of resumption: called after each committed batch. */
  afterBatch?: ((runId: string, batch: number) => void | Promise<void>) | undefined;
}) {
  const { db, clock, audit, ledger, analytics, program, commissions, jobs } = deps;
  const batchSize = deps.batchSize ?? SETTLEMENT_BATCH;
  const workers = deps.workers ?? SETTLEMENT_WORKERS;
  const leaseMs = deps.leaseMs ?? SETTLEMENT_LEASE_MS;
  const lease = () => new Date(clock.now().getTime() + leaseMs);

  /**
   * commission.settled of each line settled (by an automatic approval or a person's), as the line
   * then stands, keyed by its order so an endpoint gets it after the order's earlier events: WITH
   * entries for the statement that settles them. One read of the batch's lines, and only when an
   * endpoint of the tenant wants the type; nothing otherwise.
   */
  async function settledEvents(tx: Tx, tenantId: string, lines: { id: string; statementId: string }[], at: Date): Promise<RawBuilder<unknown>[]> {
    if (lines.length === 0 || !(await deps.outbox.wanted(tx, tenantId, 'commission.settled'))) return [];
    const statementOf = new Map(lines.map((l) => [l.id, l.statementId]));
    const rows = await commissionsRepo.withOrderOf(
      tx,
      lines.map((l) => l.id),
    );
    return deps.outbox.ctes(
      tenantId,
      rows.map((r) => ({
        type: 'commission.settled' as const,
        objectType: 'order',
        objectId: r.order_id,
        data: lineEventData({ ...r, status: 'settled', settled_at: at, statement_id: statementOf.get(r.id) ?? r.statement_id }, r.order_external_id, r.sku),
      })),
      { name: 'settled' },
    );
  }

  /** Settles one batch of distributors' unsettled available lines, in the caller's transaction. */
  async function settleBatch(tx: Tx, run: RunRow, distributorIds: string[]): Promise<{ statements: number; lines: number; amount: number }> {
    const tenantId = run.tenant_id;
    const reviewThreshold = run.review_threshold_fen ?? 0;
    // A batch past the run's cursor may have committed before a stop: its distributors have their statement in this run.
    const done = new Set(await settlementRepo.distributorsWithStatementIn(tx, tenantId, run.id, distributorIds));
    const todo = done.size === 0 ? distributorIds : distributorIds.filter((id) => !done.has(id));
    const lines = await commissionsRepo.settleableForUpdate(tx, tenantId, todo);
    const byDistributor = new Map<string, { id: string; amount_fen: number }[]>();
    for (const l of lines) {
      const list = byDistributor.get(l.beneficiary_id);
      if (list) list.push(l);
      else byDistributor.set(l.beneficiary_id, [l]);
    }
    const withdrawable = await ledger.withdrawableBalances(tx, tenantId, todo);
    const statements = [...byDistributor.entries()].map(([distributorId, ls]) => {
      const amount = ls.reduce((sum, l) => sum + l.amount_fen, 0);
      const approved = amount <= reviewThreshold;
      const debt = Math.max(0, -(withdrawable.get(distributorId) ?? 0));
      return { id: newId('stm'), distributorId, amount, lines: ls, approved, debtOffset: approved ? Math.min(amount, debt) : 0 };
    });
    if (statements.length === 0) return { statements: 0, lines: 0, amount: 0 };
    const now = clock.now();
    await settlementRepo.insertStatements(
      tx,
      { tenantId, runId: run.id, periodEnd: run.as_of, createdAt: now, approvedAt: now },
      statements.map((x) => ({
        id: x.id,
        distributorId: x.distributorId,
        amount: x.amount,
        lineCount: x.lines.length,
        debtOffset: x.debtOffset,
        status: x.approved ? 'approved' : 'pending_review',
      })),
    );
    const lineIds: string[] = [];
    const lineStatements: string[] = [];
    const lineSettled: boolean[] = [];
    const settledLines: { id: string; statementId: string }[] = [];
    for (const st of statements)
      for (const l of st.lines) {
        lineIds.push(l.id);
        lineStatements.push(st.id);
        lineSettled.push(st.approved);
        if (st.approved) settledLines.push({ id: l.id, statementId: st.id });
      }
    // The batch's commission.settled events go in the same statement as the lines they announce.
    const events = await settledEvents(tx, tenantId, settledLines, run.as_of);
    await commissionsRepo.assignToStatements(tx, { ids: lineIds, statementIds: lineStatements, settled: lineSettled }, run.as_of, events);
    const automatic = statements.filter((x) => x.approved);
    const journals: JournalInput[] = automatic.map((x) => settleJournal(tenantId, x.id, x.distributorId, x.amount));
    await ledger.postMany(tx, journals);
    if (journals.length > 0) await analytics.posted(tx, tenantId, postedLegs(journals));
    if (automatic.length > 0) {
      // No person approved these: the threshold did. One entry per batch names the rule, its
      // value and every statement it let through.
      await audit.record(
        tx,
        { principal: { kind: 'system', tenantId, job: 'statement-auto-approve' }, requestId: run.request_id },
        {
          action: 'statement.auto_approve',
          targetType: 'settlement_run',
          targetId: run.id,
          after: {
            rule: 'review_threshold_fen',
            review_threshold_fen: reviewThreshold,
            statements: automatic.length,
            amount_fen: automatic.reduce((sum, x) => sum + x.amount, 0),
            approved: automatic.map((x) => ({ statement_id: x.id, distributor_id: x.distributorId, amount_fen: x.amount })),
          },
        },
      );
      // Their statement.approved events: read back and built only when an endpoint wants them
      // (one index probe; the outbox's own check would discard them, after 1,000 payloads).
      const approved = (await deps.outbox.wanted(tx, tenantId, 'statement.approved'))
        ? await settlementRepo.statementsByIds(
            tx,
            automatic.map((x) => x.id),
          )
        : [];
      await deps.outbox.record(
        tx,
        tenantId,
        approved.map((r) => ({ type: 'statement.approved' as const, objectType: 'statement', objectId: r.id, data: statementView(r) })),
      );
    }
    return { statements: statements.length, lines: lineIds.length, amount: statements.reduce((sum, x) => sum + x.amount, 0) };
  }

  /**
   * available → withdrawable, one journal of two legs per statement: the statement names its
   * lines (each line's statement_id), so each fen still traces to the line it came from, and
   * ledger verify proves that the journal moved exactly the lines the statement settled. (Until
   * 2026-12-07 the journal had two legs per line: ten times the postings for the same money.)
   */
  function settleJournal(tenantId: string, statementId: string, distributorId: string, amount: number): JournalInput {
    return {
      tenantId,
      kind: 'settle',
      refType: 'statement',
      refId: statementId,
      legs: [
        { owner: distributorId, purpose: 'available', amount: -amount },
        { owner: distributorId, purpose: 'withdrawable', amount },
      ],
    };
  }

  /** The run, locked for a batch, still this owner's and under way; otherwise RunTakenOver. */
  async function lockOwned(tx: Tx, runId: string, owner: string): Promise<RunRow> {
    const run = await settlementRepo.runForUpdate(tx, runId);
    if (!run || run.status !== 'running' || run.owner !== owner) throw new RunTakenOver(runId);
    return run;
  }

  /**
   * The settle phase of a run this process owns: batches of distributors (in id order from the
   * run's cursor) handed out one after another by a cursor in memory and settled by `workers`
   * transactions at once, each ending with a compare-and-set on the run (still running, still
   * this owner's) that moves its counters: a batch that finds the run taken over rolls back. No
   * batch holds the run's row while it works, so batches overlap, and their distributors are
   * disjoint. The durable cursor (`settled_through`) moves only over batches that all committed,
   * so a run resumed after a stop starts at or before every batch it did not finish; a batch past
   * that cursor which did commit left a statement per distributor in the run, and settleBatch
   * leaves those distributors out.
   */
  async function settleInBatches(run: RunRow, owner: string, onProgress: Progress | undefined, after: () => Promise<void>): Promise<void> {
    const runId = run.id;
    let cursor = run.settled_through;
    let handedOut = 0;
    let stop = false;
    // The durable cursor: the last distributor of the longest run of committed batches from the start.
    let committedThrough = run.settled_through;
    let contiguous = 0;
    const committed = new Map<number, string>();
    let queue: Promise<unknown> = Promise.resolve();
    const take = (): Promise<{ seq: number; ids: string[]; through: string } | null> => {
      const next = queue.then(async () => {
        if (stop) return null;
        const ids = await commissionsRepo.nextSettlementCandidates(db, run.tenant_id, cursor, run.threshold_fen, batchSize);
        const through = ids.at(-1);
        if (through === undefined) {
          stop = true;
          return null;
        }
        cursor = through;
        return { seq: ++handedOut, ids, through };
      });
      queue = next.catch(() => undefined);
      return next;
    };
    const worker = async () => {
      for (;;) {
        const batch = await take();
        if (!batch) return;
        const progress = await inTransaction(db, async (tx) => {
          const made = await settleBatch(tx, run, batch.ids);
          const moved = await settlementRepo.advanceOwned(tx, runId, owner, {
            settled_through: committedThrough,
            done: batch.ids.length,
            statements: made.statements,
            lines: made.lines,
            amount_fen: made.amount,
            lease_until: lease(),
          });
          if (!moved) throw new RunTakenOver(runId);
          return moved;
        });
        committed.set(batch.seq, batch.through);
        for (let next = committed.get(contiguous + 1); next !== undefined; next = committed.get(contiguous + 1)) {
          committed.delete(++contiguous);
          committedThrough = next;
        }
        onProgress?.(progress.done, Math.max(progress.total ?? 0, progress.done));
        await after();
      }
    };
    const results = await Promise.allSettled(
      Array.from({ length: workers }, () =>
        worker().catch((err: unknown) => {
          stop = true;
          throw err;
        }),
      ),
    );
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    // Every batch committed: the cursor stands at the last one.
    if (committedThrough !== null) await settlementRepo.advanceOwned(db, runId, owner, { settled_through: committedThrough, lease_until: lease() });
  }

  /**
   * Works a run this process owns to its end, batch after batch from where it stands, and
   * answers its statements. Null when a threshold cycle's look found nothing (its run is deleted).
   */
  async function drive(runId: string, owner: string, onProgress?: Progress): Promise<RunResult | null> {
    let batch = 0;
    const after = async () => {
      batch++;
      await deps.afterBatch?.(runId, batch);
    };
    // Phase 1: commissions past their freeze days become final, a batch of orders at a time.
    for (;;) {
      const more = await inTransaction(db, async (tx) => {
        const run = await lockOwned(tx, runId, owner);
        if (run.phase !== 'make_available') return false;
        const made = await commissions.makeAvailableWithin(tx, run.tenant_id, run.as_of, MAKE_AVAILABLE_BATCH);
        const last = made.orders < MAKE_AVAILABLE_BATCH;
        await settlementRepo.advance(tx, runId, {
          made_available: made.lines,
          lease_until: lease(),
          ...(last ? { phase: 'settle' as const, total: await commissionsRepo.countSettlementCandidates(tx, run.tenant_id, run.threshold_fen) } : {}),
        });
        return !last;
      });
      await after();
      if (!more) break;
    }
    // How many distributors it found (and has settled, when resumed), before the first batch.
    const found = await settlementRepo.run(db, runId);
    if (!found || found.status !== 'running' || found.owner !== owner) throw new RunTakenOver(runId);
    onProgress?.(found.done, found.total ?? 0);
    // Phase 2: batches of distributors in id order from the run's cursor, `workers` at a time.
    await settleInBatches(found, owner, onProgress, after);
    return inTransaction(db, async (tx) => {
      const run = await lockOwned(tx, runId, owner);
      if (run.trigger === 'threshold' && run.statements === 0 && run.made_available === 0) {
        // The threshold cycle looks on every tick; a look that found nothing leaves no run behind.
        await settlementRepo.deleteRun(tx, runId);
        return null;
      }
      await settlementRepo.finishRun(tx, runId, clock.now());
      const settings = await program.read(tx, run.tenant_id);
      const principal = run.requested_by as Principal;
      // A run the scheduler started is audited too, with the cycle that made it due: it is what
      // settles (and, under the threshold, approves) money without a person.
      const rule = principal.kind === 'system' ? { rule: 'settlement.cycle', settlement: settings.settlement, freeze_days: settings.freeze_days } : {};
      await audit.record(
        tx,
        { principal, requestId: run.request_id },
        {
          action: 'settlement.run',
          targetType: 'settlement_run',
          targetId: runId,
          after: {
            as_of: run.as_of.toISOString(),
            trigger: run.trigger,
            statements: run.statements,
            lines: run.lines,
            amount_fen: run.amount_fen,
            made_available: run.made_available,
            ...rule,
          },
        },
      );
      const statements = await settlementRepo.statementsOfRun(tx, run.tenant_id, runId);
      return { run_id: runId, made_available: run.made_available, statements: statements.map(statementView) };
    });
  }

  /** Waits for a run another process works, and answers its result once it is done. */
  async function awaitRun(runId: string): Promise<RunResult | null> {
    for (;;) {
      const run = await settlementRepo.run(db, runId);
      if (!run) return null;
      if (run.status === 'done') {
        const statements = await settlementRepo.statementsOfRun(db, run.tenant_id, runId);
        return { run_id: runId, made_available: run.made_available, statements: statements.map(statementView) };
      }
      if (run.lease_until && run.lease_until.getTime() <= clock.now().getTime()) {
        // Its new owner stopped too: this process takes it over and finishes it.
        const r = await resume(run);
        if (r) return r;
        continue;
      }
      await sleep(WAIT_MS);
    }
  }

  /**
   * Takes over a run whose owner stopped and works it to its end, reporting through its job if it
   * had one. Answers its result; null when another process got it first.
   */
  async function resume(run: { id: string; owner: string | null }): Promise<RunResult | null> {
    const owner = ulid();
    if (!(await settlementRepo.takeOver(db, run.id, run.owner, owner, lease()))) return null;
    const row = await settlementRepo.run(db, run.id);
    const handle = row?.job_id ? await jobs.resume(row.job_id) : undefined;
    return work(run.id, owner, handle);
  }

  /** drive() with its outcome told to the run's job, if it has one; a failure gives the lease back. */
  async function work(runId: string, owner: string, handle: JobRun | undefined, onProgress?: Progress): Promise<RunResult | null> {
    try {
      const r = await drive(runId, owner, (done, total) => {
        handle?.progress(done, total);
        onProgress?.(done, total);
      });
      await handle?.finish('done', { result: r ?? { run_id: runId, made_available: 0, statements: [] } });
      return r;
    } catch (err) {
      if (err instanceof RunTakenOver) {
        // Another process took the run over (this one was too slow to renew its lease): it
        // reports the job now; wait for the result it makes.
        handle?.release();
        return awaitRun(runId);
      }
      // What was committed stays; the run is picked up again at once by the next run or pass.
      await settlementRepo.releaseLease(db, runId, owner, clock.now()).catch(() => undefined);
      await handle?.finish('failed', {
        error: jobErrorOf(err, {
          en: 'the run stopped; its settled batches are kept and it resumes with the next run (see the server log)',
          zh: '结算运行中断：已结算的批次会保留，下次运行时从中断处继续（原因见服务器日志）',
        }),
      });
      throw err;
    }
  }

  /** Every run of the tenant whose process stopped, taken over and finished here. */
  async function resumeAbandoned(tenantId: string): Promise<number> {
    let n = 0;
    for (const r of await settlementRepo.abandoned(db, tenantId, clock.now())) if (await resume(r)) n++;
    return n;
  }

  async function run(
    actor: Actor,
    input: { asOf: Date; trigger: string; thresholdOnly?: boolean; onceFor?: boolean; onProgress?: Progress; job?: JobRun },
  ): Promise<RunResult | null> {
    const tenantId = tenantOf(actor.principal);
    const owner = ulid();
    let handed = false;
    try {
      return await startAndWork();
    } catch (err) {
      // Once work() has the job it reports the outcome; before that, a failure is told here.
      if (input.job && !handed)
        await input.job.finish('failed', {
          error: jobErrorOf(err, { en: 'the run failed to start (see the server log)', zh: '结算运行未能开始（原因见服务器日志）' }),
        });
      throw err;
    }

    async function startAndWork(): Promise<RunResult | null> {
      for (;;) {
        const next = await inTransaction(db, async (tx) => {
          // Starting a run is one at a time per tenant: the check and the insert under one lock.
          await advisoryXactLock(tx, SETTLEMENT_LOCK, tenantId);
          const running = await settlementRepo.runningForUpdate(tx, tenantId);
          if (running) {
            const stale = running.lease_until === null || running.lease_until.getTime() <= clock.now().getTime();
            return stale ? { kind: 'resume' as const, run: { id: running.id, owner: running.owner } } : { kind: 'wait' as const };
          }
          // A scheduled cycle runs once per boundary, whichever process gets here first.
          if (input.onceFor && (await settlementRepo.runCovers(tx, tenantId, input.trigger, input.asOf))) return { kind: 'skip' as const };
          const settings = await program.read(tx, tenantId);
          const runId = newId('job');
          await settlementRepo.insertRun(tx, {
            id: runId,
            tenant_id: tenantId,
            as_of: input.asOf,
            trigger: input.trigger,
            started_at: clock.now(),
            review_threshold_fen: settings.review_threshold_fen,
            threshold_fen: input.thresholdOnly ? settings.settlement.threshold_fen : null,
            owner,
            lease_until: lease(),
            job_id: input.job?.id ?? null,
            requested_by: JSON.stringify(actor.principal),
            request_id: actor.requestId,
          });
          return { kind: 'start' as const, runId };
        });
        if (next.kind === 'skip') return null;
        if (next.kind === 'wait') {
          await sleep(WAIT_MS);
          continue;
        }
        if (next.kind === 'resume') {
          // A run whose process stopped comes first: finished here, then this one starts.
          await resume(next.run);
          continue;
        }
        handed = true;
        const r = await work(next.runId, owner, input.job, input.onProgress);
        return r ?? { run_id: next.runId, made_available: 0, statements: [] };
      }
    }
  }

  return {
    run,
    resumeAbandoned,

    /**
     * POST /v1/settlements/jobs: the same run as POST /v1/settlements/run, in the background, so
     * the console can show how far a large run has got (distributors settled of those found) and
     * no proxy times the request out. Jobs are rows of the jobs table, kept an hour after they finish.
     */
    async startJob(actor: Actor, asOf: Date, log?: { error(obj: object, msg: string): void }): Promise<SettlementJob> {
      requirePermission(actor.principal, 'finance:write');
      const tenantId = tenantOf(actor.principal);
      const expired = await jobs.finishedBefore(JOB_KIND, new Date(clock.now().getTime() - JOB_TTL_MS));
      await jobs.remove(expired.map((j) => j.id));
      const { actorType, actorId } = actorOf(actor.principal);
      const { job, run: handle } = await jobs.create({
        id: newId('sjob'),
        tenantId,
        kind: JOB_KIND,
        status: 'running',
        params: { as_of: asOf.toISOString() },
        createdBy: `${actorType}:${actorId ?? ''}`,
      });
      // work() reports the outcome to the job; a run that stops is resumed with its job.
      run(actor, { asOf, trigger: 'api', job: handle }).catch((err: unknown) => {
        if (!(err instanceof AppError)) log?.error({ err, job: job.id }, 'settlement job failed');
      });
      return settlementJobOf(job);
    },

    async getJob(actor: Actor, id: string): Promise<SettlementJob> {
      requirePermission(actor.principal, 'finance:read');
      const job = await jobs.get(tenantOf(actor.principal), JOB_KIND, id);
      if (!job) throw notFound('settlement job');
      return settlementJobOf(job);
    },

    /** POST /v1/settlements/run. */
    async runNow(actor: Actor, asOf: Date) {
      requirePermission(actor.principal, 'finance:write');
      const r = await run(actor, { asOf, trigger: 'api' });
      // Only a scheduled cycle (onceFor) can find its run already done.
      if (!r) throw new Error('a settlement run asked for by a person answered nothing');
      return r;
    },

    async approve(actor: Actor, id: string): Promise<StatementView> {
      requirePermission(actor.principal, 'finance:approve');
      const tenantId = tenantOf(actor.principal);
      return inTransaction(db, async (tx) => {
        const s = await settlementRepo.findStatementForUpdate(tx, tenantId, id);
        if (!s) throw notFound('statement');
        if (s.status === 'approved') return statementView(s);
        if (s.status !== 'pending_review')
          throw invalidState({ en: `a ${s.status} statement cannot be approved`, zh: `状态为${zhStatus(s.status)}的结算单不能批准` });
        // Lines refunded while the statement waited changed themselves; it pays what they are now.
        const lines = await commissionsRepo.availableOfStatementForUpdate(tx, id);
        const amount = lines.reduce((sum, l) => sum + l.amount_fen, 0);
        const withdrawable = await ledger.lockBalance(tx, tenantId, s.distributor_id, 'withdrawable');
        const now = clock.now();
        if (lines.length > 0) {
          await commissionsRepo.settle(
            tx,
            lines.map((l) => l.id),
            now,
            await settledEvents(
              tx,
              tenantId,
              lines.map((l) => ({ id: l.id, statementId: id })),
              now,
            ),
          );
          if (amount > 0) {
            const journal = settleJournal(tenantId, id, s.distributor_id, amount);
            await ledger.post(tx, journal);
            await analytics.posted(tx, tenantId, postedLegs([journal]));
          }
        }
        const { actorId } = actorOf(actor.principal);
        await settlementRepo.approveStatement(tx, id, {
          amount_fen: amount,
          line_count: lines.length,
          debt_offset_fen: Math.min(amount, Math.max(0, -withdrawable)),
          approved_at: now,
          reviewed_by: actorId,
        });
        const after = await settlementRepo.statement(tx, id);
        await deps.outbox.record(tx, tenantId, [{ type: 'statement.approved', objectType: 'statement', objectId: id, data: statementView(after) }]);
        await audit.record(tx, actor, {
          action: 'statement.approve',
          targetType: 'statement',
          targetId: id,
          before: statementView(s),
          after: statementView(after),
        });
        return statementView(after);
      });
    },

    /** Rejects with a reason; its lines go back to available, or are held, as the reviewer chooses. */
    async reject(actor: Actor, id: string, input: { reason: string; lines: 'available' | 'hold' }): Promise<StatementView> {
      requirePermission(actor.principal, 'finance:approve');
      const tenantId = tenantOf(actor.principal);
      if (!input.reason.trim()) throw invalid(MESSAGES.reasonRequired());
      return inTransaction(db, async (tx) => {
        const s = await settlementRepo.findStatementForUpdate(tx, tenantId, id);
        if (!s) throw notFound('statement');
        if (s.status !== 'pending_review')
          throw invalidState({ en: `a ${s.status} statement cannot be rejected`, zh: `状态为${zhStatus(s.status)}的结算单不能驳回` });
        const now = clock.now();
        await commissionsRepo.releaseFromStatement(tx, id, input.lines === 'hold');
        const { actorId } = actorOf(actor.principal);
        await settlementRepo.rejectStatement(tx, id, { rejected_at: now, reviewed_by: actorId, review_reason: input.reason });
        const after = await settlementRepo.statement(tx, id);
        await deps.outbox.record(tx, tenantId, [{ type: 'statement.rejected', objectType: 'statement', objectId: id, data: statementView(after) }]);
        await audit.record(tx, actor, {
          action: 'statement.reject',
          targetType: 'statement',
          targetId: id,
          before: statementView(s),
          after: { ...statementView(after), lines: input.lines },
          reason: input.reason,
        });
        return statementView(after);
      });
    },

    async list(actor: Actor, q: { status?: string | undefined; distributor_id?: string | undefined; cursor?: string | undefined; limit: number }) {
      const p = actor.principal;
      const tenantId = p.kind === 'distributor' ? p.tenantId : (requirePermission(p, 'read'), tenantOf(p));
      const rows = await settlementRepo.page(db, tenantId, { ...q, distributor_id: p.kind === 'distributor' ? p.distributorId : q.distributor_id });
      const page = rows.slice(0, q.limit);
      return { items: page.map(statementView), next_cursor: rows.length > q.limit ? (page.at(-1)?.id ?? null) : null };
    },

    async get(actor: Actor, id: string) {
      const p = actor.principal;
      const tenantId = p.kind === 'distributor' ? p.tenantId : (requirePermission(p, 'read'), tenantOf(p));
      const s = await settlementRepo.findStatement(db, tenantId, id);
      if (!s || (p.kind === 'distributor' && s.distributor_id !== p.distributorId)) throw notFound('statement');
      const lines = await commissionsRepo.linesOfStatement(db, id);
      return { ...statementView(s), lines };
    },

    /** Holds or releases a commission line (POST /v1/commissions/{id}/hold and /release): the commissions module's rule. */
    setCommissionHeld(actor: Actor, id: string, held: boolean, reason: string) {
      return commissions.setHeld(actor, id, held, reason);
    },

    /** Runs the tenant's settlement cycle if one is due (the scheduler calls this on every tick). */
    async runDue(tenantId: string, now: Date): Promise<{ ran: boolean; statements: number; resumed: number }> {
      // A run whose process stopped is finished first, by whichever process looks first.
      const resumed = await resumeAbandoned(tenantId);
      const settings = await program.read(db, tenantId);
      const due = settlementDue(settings.settlement, settings.timezone, now, null);
      if (!due) return { ran: resumed > 0, statements: 0, resumed };
      const system: Actor = { principal: { kind: 'system', tenantId, job: `settlement-${settings.settlement.cycle}` }, requestId: null };
      const r = await run(system, {
        asOf: due,
        trigger: settings.settlement.cycle,
        thresholdOnly: settings.settlement.cycle === 'threshold',
        onceFor: settings.settlement.cycle !== 'threshold',
      });
      return {
        ran: resumed > 0 || (r !== null && (settings.settlement.cycle !== 'threshold' || r.statements.length > 0)),
        statements: r?.statements.length ?? 0,
        resumed,
      };
    },
  };
}

/**
 * The boundary a settlement cycle should run at, if one has passed since the last run: daily at
 * `hour`, weekly on `weekday` at `hour`, monthly on `day_of_month` at `hour` (local time), or —
 * for threshold — every time the scheduler looks. Answers null when nothing is due.
 */
export function settlementDue(s: ProgramSettings['settlement'], timeZone: string, now: Date, lastRunAt: Date | null): Date | null {
  if (s.cycle === 'manual') return null;
  if (s.cycle === 'threshold') return now;
  const boundary = latestBoundary(s, timeZone, now);
  if (boundary === null) return null;
  if (lastRunAt !== null && lastRunAt.getTime() >= boundary.getTime()) return null;
  return boundary;
}

/** The latest local time at or before `now` that matches the cycle, as an instant. */
export function latestBoundary(s: ProgramSettings['settlement'], timeZone: string, now: Date): Date | null {
  // Walk back over local calendar dates (at most 62) and take the first that matches.
  const today = localDate(now, timeZone);
  for (let back = 0; back <= 62; back++) {
    const date = addCalendarDays(today, -back);
    const [year, month, day] = date.split('-').map(Number) as [number, number, number];
    const matches = s.cycle === 'daily' || (s.cycle === 'weekly' && isoWeekday(date) === s.weekday) || (s.cycle === 'monthly' && day === s.day_of_month);
    if (!matches) continue;
    const at = zonedTime({ year, month, day, hour: s.hour }, timeZone);
    if (at.getTime() <= now.getTime()) return at;
  }
  return null;
}

export type SettlementService = ReturnType<typeof createSettlementService>;
