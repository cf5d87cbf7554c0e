import { sql, type Selectable } from 'kysely';
import type { Db, Executor, Tx } from '../../db/database.ts';
import { advisoryXactLock, inTransaction } from '../../db/database.ts';
import type { Actor, Clock } from '../../core/context.ts';
import { AppError, invalid, invalidState, notFound } from '../../core/errors.ts';
import { actorOf, requirePermission, tenantOf } from '../../core/principal.ts';
import type { StatementsTable } from '../../db/schema.ts';
import { newId } from '../../core/ids.ts';
import type { AuditService } from '../audit/service.ts';
import type { CommissionsService } from '../commissions/service.ts';
import type { JournalInput, Ledger, Leg } from '../ledger/service.ts';
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
export const SETTLEMENT_LOCK = 'settlement';

/**
 * Settlement: final commissions become one statement per distributor per run. A statement up to
 * the review threshold is approved at once and its amount moves from available to withdrawable
 * (which first pays off any clawback debt, since withdrawable may stand below zero); above the
 * threshold it waits for a person. A run is one transaction under a per-tenant lock, so two runs
 * started at once make one set of statements, and a crash leaves all of a run or none of it.
 */
export function createSettlementService(deps: {
  db: Db;
  clock: Clock;
  audit: AuditService;
  ledger: Ledger;
  program: ProgramService;
  commissions: CommissionsService;
}) {
  const { db, clock, audit, ledger, program, commissions } = deps;
  const jobs = new Map<string, SettlementJob>();

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
    const candidates = await sql<{ beneficiary_id: string }>`
      select beneficiary_id from commissions
       where tenant_id = ${tenantId} and status = 'available' and statement_id is null and not held and amount_fen > 0
       group by beneficiary_id
       ${threshold !== null ? sql`having sum(amount_fen) >= ${threshold}` : sql``}
       order by beneficiary_id`.execute(tx);
    const ids = candidates.rows.map((r) => r.beneficiary_id);
    const made: StatementRow[] = [];
    onProgress?.(0, ids.length);
    for (let i = 0; i < ids.length; i += BATCH) {
      const batch = ids.slice(i, i + BATCH);
      const lines = await sql<{ id: string; beneficiary_id: string; amount_fen: number }>`
        select id, beneficiary_id, amount_fen from commissions
         where tenant_id = ${tenantId} and beneficiary_id = any(${batch}::text[])
           and status = 'available' and statement_id is null and not held and amount_fen > 0
         order by id for update`.execute(tx);
      const byDistributor = new Map<string, { id: string; amount_fen: number }[]>();
      for (const l of lines.rows) {
        const list = byDistributor.get(l.beneficiary_id);
        if (list) list.push(l);
        else byDistributor.set(l.beneficiary_id, [l]);
      }
      const before = await sql<{ owner_id: string; balance: number }>`
        select owner_id, balance from accounts where tenant_id = ${tenantId} and owner_id = any(${batch}::text[]) and purpose = 'withdrawable'`.execute(tx);
      const withdrawable = new Map(before.rows.map((r) => [r.owner_id, r.balance]));
      const statements = [...byDistributor.entries()].map(([distributorId, ls]) => {
        const amount = ls.reduce((s, l) => s + l.amount_fen, 0);
        const approved = amount <= settings.review_threshold_fen;
        const debt = Math.max(0, -(withdrawable.get(distributorId) ?? 0));
        return { id: newId('stm'), distributorId, amount, lines: ls, approved, debtOffset: approved ? Math.min(amount, debt) : 0 };
      });
      if (statements.length === 0) continue;
      await sql`
        insert into statements (id, tenant_id, distributor_id, run_id, period_end, amount_fen, line_count, debt_offset_fen, status, created_at, approved_at)
        select v.id, ${tenantId}, v.distributor_id, ${runId}, ${asOf}::timestamptz, v.amount, v.n, v.debt, v.status, ${clock.now()}::timestamptz,
               case when v.status = 'approved' then ${clock.now()}::timestamptz end
          from unnest(${statements.map((s) => s.id)}::text[], ${statements.map((s) => s.distributorId)}::text[], ${statements.map((s) => s.amount)}::bigint[],
                      ${statements.map((s) => s.lines.length)}::int[], ${statements.map((s) => s.debtOffset)}::bigint[],
                      ${statements.map((s) => (s.approved ? 'approved' : 'pending_review'))}::text[]) as v(id, distributor_id, amount, n, debt, status)`.execute(
        tx,
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
      await sql`
        update commissions c
           set statement_id = v.sid,
               status = case when v.settled then 'settled' else c.status end,
               settled_at = case when v.settled then ${asOf}::timestamptz else null end
          from unnest(${lineIds}::text[], ${lineStatements}::text[], ${lineSettled}::boolean[]) as v(id, sid, settled)
         where c.id = v.id`.execute(tx);
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
      made.push(
        ...(await tx
          .selectFrom('statements')
          .selectAll()
          .where(
            'id',
            'in',
            statements.map((s) => s.id),
          )
          .orderBy('distributor_id')
          .execute()),
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
        const done = await tx
          .selectFrom('settlement_runs')
          .select('id')
          .where('tenant_id', '=', tenantId)
          .where('trigger', '=', input.trigger)
          .where('as_of', '>=', input.asOf)
          .limit(1)
          .executeTakeFirst();
        if (done) return null;
      }
      const runId = newId('job');
      const now = clock.now();
      await tx.insertInto('settlement_runs').values({ id: runId, tenant_id: tenantId, as_of: input.asOf, trigger: input.trigger, started_at: now }).execute();
      const made = await commissions.makeAvailableWithin(tx, tenantId, input.asOf);
      const settings = await program.read(tx, tenantId);
      const threshold = input.thresholdOnly ? settings.settlement.threshold_fen : null;
      const statements = await settleWithin(tx, tenantId, runId, input.asOf, settings, threshold, input.onProgress, actor.requestId);
      const lines = statements.reduce((s, x) => s + x.line_count, 0);
      const amount = statements.reduce((s, x) => s + x.amount_fen, 0);
      if (input.trigger === 'threshold' && statements.length === 0 && made.lines === 0) {
        // The threshold cycle looks on every tick; a look that found nothing leaves no run behind.
        await tx.deleteFrom('settlement_runs').where('id', '=', runId).execute();
        return { run_id: runId, made_available: 0, statements: [] };
      }
      await tx
        .updateTable('settlement_runs')
        .set({ statements: statements.length, lines, amount_fen: amount, made_available: made.lines, finished_at: clock.now() })
        .where('id', '=', runId)
        .execute();
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
     * no proxy times the request out. Jobs live in this process for an hour after they finish.
     */
    startJob(actor: Actor, asOf: Date, log?: { error(obj: object, msg: string): void }): SettlementJob {
      requirePermission(actor.principal, 'finance:write');
      const tenantId = tenantOf(actor.principal);
      const now = Date.now();
      for (const [id, j] of jobs) if (j.finished_at && Date.parse(j.finished_at) + JOB_TTL_MS < now) jobs.delete(id);
      const job: SettlementJob = {
        id: newId('sjob'),
        tenantId,
        status: 'running',
        as_of: asOf.toISOString(),
        done: 0,
        total: null,
        started_at: clock.now().toISOString(),
        finished_at: null,
        result: null,
        error: null,
      };
      jobs.set(job.id, job);
      run(actor, {
        asOf,
        trigger: 'api',
        onProgress: (done, total) => {
          job.done = done;
          job.total = total;
        },
      }).then(
        (r) => {
          job.result = r;
          job.status = 'done';
          job.finished_at = clock.now().toISOString();
        },
        (err: unknown) => {
          job.status = 'failed';
          job.finished_at = clock.now().toISOString();
          job.error =
            err instanceof AppError
              ? { code: err.code, message: err.message }
              : { code: 'internal', message: 'the run failed; nothing of it was kept (see the server log)' };
          if (!(err instanceof AppError)) log?.error({ err, job: job.id }, 'settlement job failed');
        },
      );
      return { ...job };
    },

    getJob(actor: Actor, id: string): SettlementJob {
      requirePermission(actor.principal, 'finance:read');
      const job = jobs.get(id);
      if (!job || job.tenantId !== tenantOf(actor.principal)) throw notFound('settlement job');
      return { ...job };
    },

    /** POST /v1/settlements/run. */
    async runNow(actor: Actor, asOf: Date) {
      requirePermission(actor.principal, 'finance:write');
      return (await run(actor, { asOf, trigger: 'api' }))!;
    },

    async approve(actor: Actor, id: string): Promise<StatementView> {
      requirePermission(actor.principal, 'finance:approve');
      const tenantId = tenantOf(actor.principal);
      return inTransaction(db, async (tx) => {
        const s = await tx.selectFrom('statements').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).forUpdate().executeTakeFirst();
        if (!s) throw notFound('statement');
        if (s.status === 'approved') return statementView(s);
        if (s.status !== 'pending_review') throw invalidState(`a ${s.status} statement cannot be approved`);
        // Lines refunded while the statement waited changed themselves; it pays what they are now.
        const lines = await tx
          .selectFrom('commissions')
          .select(['id', 'beneficiary_id', 'amount_fen'])
          .where('statement_id', '=', id)
          .where('status', '=', 'available')
          .orderBy('id')
          .forUpdate()
          .execute();
        const amount = lines.reduce((sum, l) => sum + l.amount_fen, 0);
        const withdrawable = await ledger.lockBalance(tx, tenantId, s.distributor_id, 'withdrawable');
        const now = clock.now();
        if (lines.length > 0) {
          await tx
            .updateTable('commissions')
            .set({ status: 'settled', settled_at: now })
            .where(
              'id',
              'in',
              lines.map((l) => l.id),
            )
            .execute();
          const payable = lines.filter((l) => l.amount_fen > 0);
          if (payable.length > 0) await ledger.post(tx, settleJournal(tenantId, id, payable));
        }
        const { actorId } = actorOf(actor.principal);
        await tx
          .updateTable('statements')
          .set({
            status: 'approved',
            amount_fen: amount,
            line_count: lines.length,
            debt_offset_fen: Math.min(amount, Math.max(0, -withdrawable)),
            approved_at: now,
            reviewed_by: actorId,
          })
          .where('id', '=', id)
          .execute();
        const after = await tx.selectFrom('statements').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
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
        const s = await tx.selectFrom('statements').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).forUpdate().executeTakeFirst();
        if (!s) throw notFound('statement');
        if (s.status !== 'pending_review') throw invalidState(`a ${s.status} statement cannot be rejected`);
        const now = clock.now();
        await tx
          .updateTable('commissions')
          .set({ statement_id: null, held: input.lines === 'hold' })
          .where('statement_id', '=', id)
          .where('status', '=', 'available')
          .execute();
        const { actorId } = actorOf(actor.principal);
        await tx
          .updateTable('statements')
          .set({ status: 'rejected', rejected_at: now, reviewed_by: actorId, review_reason: input.reason })
          .where('id', '=', id)
          .execute();
        const after = await tx.selectFrom('statements').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
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
      let query = db.selectFrom('statements').selectAll().where('tenant_id', '=', tenantId);
      if (p.kind === 'distributor') query = query.where('distributor_id', '=', p.distributorId);
      else if (q.distributor_id) query = query.where('distributor_id', '=', q.distributor_id);
      if (q.status) query = query.where('status', '=', q.status as 'approved');
      if (q.cursor) query = query.where('id', '<', q.cursor);
      const rows = await query
        .orderBy('id', 'desc')
        .limit(q.limit + 1)
        .execute();
      const page = rows.slice(0, q.limit);
      return { items: page.map(statementView), next_cursor: rows.length > q.limit ? page[page.length - 1]!.id : null };
    },

    async get(actor: Actor, id: string) {
      const p = actor.principal;
      const tenantId = p.kind === 'distributor' ? p.tenantId : (requirePermission(p, 'read'), tenantOf(p));
      const s = await db.selectFrom('statements').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
      if (!s || (p.kind === 'distributor' && s.distributor_id !== p.distributorId)) throw notFound('statement');
      const lines = await db
        .selectFrom('commissions as c')
        .innerJoin('orders as o', 'o.id', 'c.order_id')
        .select(['c.id', 'c.level', 'c.amount_fen', 'c.base_fen', 'c.rate_bp', 'c.status', 'o.external_id as order_external_id'])
        .where('c.statement_id', '=', id)
        .orderBy('c.id')
        .execute();
      return { ...statementView(s), lines };
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
  // Walk back day by day (at most 62 days) over local dates and take the first that matches.
  for (let back = 0; back <= 62; back++) {
    const probe = new Date(now.getTime() - back * 86_400_000);
    const local = localParts(probe, timeZone);
    const matches = s.cycle === 'daily' || (s.cycle === 'weekly' && local.weekday === s.weekday) || (s.cycle === 'monthly' && local.day === s.day_of_month);
    if (!matches) continue;
    const at = zonedTime(local.year, local.month, local.day, s.hour, timeZone);
    if (at.getTime() <= now.getTime()) return at;
  }
  return null;
}

const partFormatters = new Map<string, Intl.DateTimeFormat>();
function localParts(at: Date, timeZone: string) {
  let f = partFormatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      weekday: 'short',
      hour: 'numeric',
      minute: 'numeric',
      hourCycle: 'h23',
    });
    partFormatters.set(timeZone, f);
  }
  const parts = Object.fromEntries(f.formatToParts(at).map((p) => [p.type, p.value]));
  const weekday = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'].indexOf(parts.weekday!) + 1;
  return { year: Number(parts.year), month: Number(parts.month), day: Number(parts.day), hour: Number(parts.hour), minute: Number(parts.minute), weekday };
}

/** The instant at which the wall clock in `timeZone` reads year-month-day hour:00. */
function zonedTime(year: number, month: number, day: number, hour: number, timeZone: string): Date {
  const guess = Date.UTC(year, month - 1, day, hour);
  const shown = localParts(new Date(guess), timeZone);
  const shownUtc = Date.UTC(shown.year, shown.month - 1, shown.day, shown.hour, shown.minute);
  return new Date(guess - (shownUtc - guess));
}

export type SettlementService = ReturnType<typeof createSettlementService>;
