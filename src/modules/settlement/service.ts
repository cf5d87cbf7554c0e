import type { Outbox } from '../webhooks/outbox.ts';
import type { Selectable } from 'kysely';
import type { Db, Tx } from '../../db/database.ts';
import { advisoryXactLock, inTransaction } from '../../db/database.ts';
import type { Actor, Clock } from '../../core/context.ts';
import { AppError, invalid, invalidState, notFound } from '../../core/errors.ts';
import { actorOf, requirePermission, tenantOf } from '../../core/principal.ts';
import type { StatementsTable } from '../../db/schema.ts';
import { newId } from '../../core/ids.ts';
import type { Job, JobsService } from '../jobs/service.ts';
import { addCalendarDays, isoWeekday, localDate, zonedTime } from '../../core/time.ts';
import type { AuditService } from '../audit/service.ts';
import type { CommissionsService } from '../commissions/service.ts';
import { commissionsRepo } from '../commissions/repo.ts';
import { settlementRepo } from './repo.ts';
import { postedLegs, type JournalInput, type Ledger, type Leg } from '../ledger/service.ts';
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

const BATCH = 1000;

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
export const SETTLEMENT_LOCK = 'settlement';

/**
 * Settlement: final commissions become one statement per distributor per run. A statement up to
 * the review threshold is approved at once and its amount moves from available to withdrawable
 * (which first pays off any clawback debt, since withdrawable may stand below zero); above the
 * threshold it waits for a person. A run is one transaction under a per-tenant lock, so two runs
 * started at once make one set of statements, and a crash leaves all of a run or none of it.
 */
export function createSettlementService(deps: {
  /** statement.approved for merchants' webhook endpoints, in the approving transaction. */
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
}) {
  const { db, clock, audit, ledger, analytics, program, commissions, jobs } = deps;

  /** Settles the unsettled available lines of the given distributors (all when omitted). */
  async function settleWithin(
    tx: Tx,
    tenantId: string,
    runId: string,
    asOf: Date,
    settings: ProgramSettings,
    threshold: number | null,
    onProgress?: Progress,
    requestId: string | null = null,
  ): Promise<StatementRow[]> {
    const ids = await commissionsRepo.settlementCandidates(tx, tenantId, threshold);
    const made: StatementRow[] = [];
    onProgress?.(0, ids.length);
    for (let i = 0; i < ids.length; i += BATCH) {
      const batch = ids.slice(i, i + BATCH);
      const lines = await commissionsRepo.settleableForUpdate(tx, tenantId, batch);
      const byDistributor = new Map<string, { id: string; amount_fen: number }[]>();
      for (const l of lines) {
        const list = byDistributor.get(l.beneficiary_id);
        if (list) list.push(l);
        else byDistributor.set(l.beneficiary_id, [l]);
      }
      const withdrawable = await ledger.withdrawableBalances(tx, tenantId, batch);
      const statements = [...byDistributor.entries()].map(([distributorId, ls]) => {
        const amount = ls.reduce((s, l) => s + l.amount_fen, 0);
        const approved = amount <= settings.review_threshold_fen;
        const debt = Math.max(0, -(withdrawable.get(distributorId) ?? 0));
        return { id: newId('stm'), distributorId, amount, lines: ls, approved, debtOffset: approved ? Math.min(amount, debt) : 0 };
      });
      if (statements.length === 0) continue;
      await settlementRepo.insertStatements(
        tx,
        { tenantId, runId, periodEnd: asOf, createdAt: clock.now(), approvedAt: clock.now() },
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
      for (const s of statements)
        for (const l of s.lines) {
          lineIds.push(l.id);
          lineStatements.push(s.id);
          lineSettled.push(s.approved);
        }
      await commissionsRepo.assignToStatements(tx, { ids: lineIds, statementIds: lineStatements, settled: lineSettled }, asOf);
      const journals: JournalInput[] = statements
        .filter((s) => s.approved)
        .map((s) =>
          settleJournal(
            tenantId,
            s.id,
            s.lines.map((l) => ({ ...l, beneficiary_id: s.distributorId })),
          ),
        );
      await ledger.postMany(tx, journals);
      if (journals.length > 0) await analytics.posted(tx, tenantId, postedLegs(journals));
      const automatic = statements.filter((s) => s.approved);
      if (automatic.length > 0) {
        // No person approved these: the threshold did. One entry per batch names the rule, its
        // value and every statement it let through.
        await audit.record(
          tx,
          { principal: { kind: 'system', tenantId, job: 'statement-auto-approve' }, requestId },
          {
            action: 'statement.auto_approve',
            targetType: 'settlement_run',
            targetId: runId,
            after: {
              rule: 'review_threshold_fen',
              review_threshold_fen: settings.review_threshold_fen,
              statements: automatic.length,
              amount_fen: automatic.reduce((sum, x) => sum + x.amount, 0),
              approved: automatic.map((x) => ({ statement_id: x.id, distributor_id: x.distributorId, amount_fen: x.amount })),
            },
          },
        );
      }
      const rows = await settlementRepo.statementsByIds(
        tx,
        statements.map((x) => x.id),
      );
      made.push(...rows);
      await deps.outbox.record(
        tx,
        tenantId,
        rows
          .filter((r) => r.status === 'approved')
          .map((r) => ({ type: 'statement.approved' as const, objectType: 'statement', objectId: r.id, data: statementView(r) })),
      );
      onProgress?.(Math.min(i + BATCH, ids.length), ids.length);
    }
    return made;
  }

  /** available → withdrawable, line by line, so each fen still names the line it came from. */
  function settleJournal(tenantId: string, statementId: string, lines: { id: string; beneficiary_id: string; amount_fen: number }[]): JournalInput {
    return {
      tenantId,
      kind: 'settle',
      refType: 'statement',
      refId: statementId,
      legs: lines.flatMap((l): Leg[] => [
        { owner: l.beneficiary_id, purpose: 'available', amount: -l.amount_fen, commissionId: l.id },
        { owner: l.beneficiary_id, purpose: 'withdrawable', amount: l.amount_fen, commissionId: l.id },
      ]),
    };
  }

  async function run(actor: Actor, input: { asOf: Date; trigger: string; thresholdOnly?: boolean; onceFor?: boolean; onProgress?: Progress }) {
    const tenantId = tenantOf(actor.principal);
    return inTransaction(db, async (tx) => {
      // One run at a time per tenant: a second waits here, then finds nothing left to settle.
      await advisoryXactLock(tx, SETTLEMENT_LOCK, tenantId);
      // A scheduled cycle runs once per boundary, whichever process gets here first.
      if (input.onceFor) {
        const done = await settlementRepo.runCovers(tx, tenantId, input.trigger, input.asOf);
        if (done) return null;
      }
      const runId = newId('job');
      const now = clock.now();
      await settlementRepo.insertRun(tx, { id: runId, tenant_id: tenantId, as_of: input.asOf, trigger: input.trigger, started_at: now });
      const made = await commissions.makeAvailableWithin(tx, tenantId, input.asOf);
      const settings = await program.read(tx, tenantId);
      const threshold = input.thresholdOnly ? settings.settlement.threshold_fen : null;
      const statements = await settleWithin(tx, tenantId, runId, input.asOf, settings, threshold, input.onProgress, actor.requestId);
      const lines = statements.reduce((s, x) => s + x.line_count, 0);
      const amount = statements.reduce((s, x) => s + x.amount_fen, 0);
      if (input.trigger === 'threshold' && statements.length === 0 && made.lines === 0) {
        // The threshold cycle looks on every tick; a look that found nothing leaves no run behind.
        await settlementRepo.deleteRun(tx, runId);
        return { run_id: runId, made_available: 0, statements: [] };
      }
      await settlementRepo.finishRun(tx, runId, {
        statements: statements.length,
        lines,
        amount_fen: amount,
        made_available: made.lines,
        finished_at: clock.now(),
      });
      // A run the scheduler started is audited too, with the cycle that made it due: it is what
      // settles (and, under the threshold, approves) money without a person.
      const rule = actor.principal.kind === 'system' ? { rule: 'settlement.cycle', settlement: settings.settlement, freeze_days: settings.freeze_days } : {};
      await audit.record(tx, actor, {
        action: 'settlement.run',
        targetType: 'settlement_run',
        targetId: runId,
        after: {
          as_of: input.asOf.toISOString(),
          trigger: input.trigger,
          statements: statements.length,
          lines,
          amount_fen: amount,
          made_available: made.lines,
          ...rule,
        },
      });
      return { run_id: runId, made_available: made.lines, statements: statements.map(statementView) };
    });
  }

  return {
    settleWithin,
    run,

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
      run(actor, { asOf, trigger: 'api', onProgress: (done, total) => handle.progress(done, total) })
        .then(
          (r) => handle.finish('done', { result: r }),
          (err: unknown) => {
            if (!(err instanceof AppError)) log?.error({ err, job: job.id }, 'settlement job failed');
            return handle.finish('failed', {
              error:
                err instanceof AppError
                  ? { code: err.code, message: err.message }
                  : { code: 'internal', message: 'the run failed; nothing of it was kept (see the server log)' },
            });
          },
        )
        .catch((err: unknown) => log?.error({ err, job: job.id }, 'settlement job outcome not written'));
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
        if (s.status !== 'pending_review') throw invalidState(`a ${s.status} statement cannot be approved`);
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
          );
          const payable = lines.filter((l) => l.amount_fen > 0);
          if (payable.length > 0) {
            const journal = settleJournal(tenantId, id, payable);
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
      if (!input.reason.trim()) throw invalid('a reason is required');
      return inTransaction(db, async (tx) => {
        const s = await settlementRepo.findStatementForUpdate(tx, tenantId, id);
        if (!s) throw notFound('statement');
        if (s.status !== 'pending_review') throw invalidState(`a ${s.status} statement cannot be rejected`);
        const now = clock.now();
        await commissionsRepo.releaseFromStatement(tx, id, input.lines === 'hold');
        const { actorId } = actorOf(actor.principal);
        await settlementRepo.rejectStatement(tx, id, { rejected_at: now, reviewed_by: actorId, review_reason: input.reason });
        const after = await settlementRepo.statement(tx, id);
        await audit.record(tx, actor, {
          action: 'statement.reject',
          targetType: 'statement',
          targetId: id,
          before: statementView(s),
          after: { ...statementView(after), lines: input.lines },
          reason: input.reason,
        });
        await deps.outbox.record(tx, tenantId, [{ type: 'statement.rejected', objectType: 'statement', objectId: id, data: statementView(after) }]);
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
    async runDue(tenantId: string, now: Date): Promise<{ ran: boolean; statements: number }> {
      const settings = await program.read(db, tenantId);
      const due = settlementDue(settings.settlement, settings.timezone, now, null);
      if (!due) return { ran: false, statements: 0 };
      const system: Actor = { principal: { kind: 'system', tenantId, job: `settlement-${settings.settlement.cycle}` }, requestId: null };
      const r = await run(system, {
        asOf: due,
        trigger: settings.settlement.cycle,
        thresholdOnly: settings.settlement.cycle === 'threshold',
        onceFor: settings.settlement.cycle !== 'threshold',
      });
      return { ran: r !== null && (settings.settlement.cycle !== 'threshold' || r.statements.length > 0), statements: r?.statements.length ?? 0 };
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
