import type { FastifyBaseLogger } from 'fastify';
import type { Services } from './services.ts';
import { sql } from 'kysely';
import { ulid } from '../core/ids.ts';
import { isDatabaseUnavailable } from '../core/errors.ts';

export type JobName = 'auto-receive' | 'binding-lapse' | 'tier-true-up' | 'settlement' | 'payouts' | 'maintenance' | 'documents' | 'ledger-verify';
export type JobOutcome = 'done' | 'skipped' | 'failed';

export interface JobResult {
  job: JobName;
  tenant_id: string | null;
  run_id: string;
  outcome: JobOutcome;
  detail: Record<string, unknown>;
}

/**
 * The scheduled work of every process: confirm receipt of shipped orders after
 * auto_receive_days, end bindings past the program's validity window, run settlement cycles that are due, and look at payouts waiting on a
 * provider, and encrypt identity documents an earlier version left in plaintext. Any number of
 * processes may run it at once: settlement takes a per-tenant advisory
 * lock and skips a cycle another process already ran, auto-receipt and the binding lapse skip
 * locked rows, and
 * payouts are leased one at a time. Each run logs its run id and an outcome: done, skipped or
 * failed.
 */
export function createScheduler(deps: {
  services: Services;
  log: FastifyBaseLogger;
  tickMs?: number;
  /**
   * The embedded database has no autovacuum: without this, its statistics are never refreshed
   * (or go stale after a manual ANALYZE of small tables, and foreign-key checks scan whole
   * tables) and dead rows are never reclaimed. `analyzeEveryMs` ANALYZEs, `vacuumEveryMs`
   * VACUUMs (which holds the one connection meanwhile, so rarely). PostgreSQL does both itself.
   */
  maintenance?: { analyzeEveryMs: number; vacuumEveryMs: number } | undefined;
}) {
  const { services, log } = deps;
  const tickMs = deps.tickMs ?? 30_000;
  const started = Date.now();
  let analyzedAt = started;
  let vacuumedAt = started;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<JobResult[]> | undefined;
  let stopped = false;

  async function runJob(
    job: JobName,
    tenantId: string | null,
    fn: () => Promise<{ outcome: JobOutcome; detail: Record<string, unknown> }>,
  ): Promise<JobResult> {
    const runId = `job_${ulid()}`;
    try {
      const { outcome, detail } = await fn();
      const result = { job, tenant_id: tenantId, run_id: runId, outcome, detail };
      if (outcome === 'done') log.info(result, `job ${job} done`);
      else log.debug(result, `job ${job} ${outcome}`);
      return result;
    } catch (err) {
      // The database away fails every job of the pass the same way: a line each, no stack.
      if (isDatabaseUnavailable(err))
        log.warn(
          { job, tenant_id: tenantId, run_id: runId, reason: err instanceof Error ? err.message : String(err) },
          `job ${job} failed: the database is unavailable`,
        );
      else log.error({ job, tenant_id: tenantId, run_id: runId, err }, `job ${job} failed`);
      return { job, tenant_id: tenantId, run_id: runId, outcome: 'failed', detail: { error: err instanceof Error ? err.message : String(err) } };
    }
  }

  /** One pass over every job and active tenant. */
  async function tick(): Promise<JobResult[]> {
    const now = services.clock.now();
    const results: JobResult[] = [];
    const tenants = await services.db.selectFrom('tenants').select('id').where('status', '=', 'active').orderBy('id').execute();
    for (const { id } of tenants) {
      if (stopped) break;
      results.push(
        await runJob('auto-receive', id, async () => {
          const r = await services.orders.autoReceive(id, now);
          return { outcome: r.received > 0 ? 'done' : 'skipped', detail: r };
        }),
      );
      // Bindings past the program's validity window end (attribution already ignores them).
      results.push(
        await runJob('binding-lapse', id, async () => {
          const r = await services.referral.lapseDue(id, now);
          return { outcome: r.lapsed > 0 ? 'done' : 'skipped', detail: r };
        }),
      );
      // The month-end tier true-up of last month (program setting tier_true_up), before settlement in the same pass.
      results.push(
        await runJob('tier-true-up', id, async () => {
          const r = await services.commissions.trueUpDue(id, now);
          return { outcome: r.beneficiaries > 0 ? 'done' : 'skipped', detail: r };
        }),
      );
      results.push(
        await runJob('settlement', id, async () => {
          const r = await services.settlement.runDue(id, now);
          return { outcome: r.ran ? 'done' : 'skipped', detail: r };
        }),
      );
      // The weekly full ledger pass (one process claims it); incremental passes run on demand.
      results.push(
        await runJob('ledger-verify', id, async () => {
          const r = await services.ledger.verifyWeekly(id);
          if (!r) return { outcome: 'skipped', detail: {} };
          if (!r.ok) log.error({ tenant_id: id, breaks: r.breaks }, 'the weekly ledger verification found breaks');
          return { outcome: 'done', detail: { ok: r.ok, breaks: r.breaks.length, postings: r.checked.postings, ms: r.duration_ms } };
        }),
      );
    }
    if (!stopped && deps.maintenance) {
      const m = deps.maintenance;
      const due = Date.now();
      if (due - vacuumedAt >= m.vacuumEveryMs || due - analyzedAt >= m.analyzeEveryMs) {
        const vacuum = due - vacuumedAt >= m.vacuumEveryMs;
        results.push(
          await runJob('maintenance', null, async () => {
            const t0 = Date.now();
            // Only tables past a few pages: statistics of an empty table say "no rows" for good
            // (estimates scale its density, zero, by its size), and foreign-key checks into it would
            // scan it however large it grows.
            const tables = await sql<{ name: string }>`select quote_ident(c.relname) as name from pg_class c
            where c.relkind = 'r' and c.relnamespace = 'public'::regnamespace and pg_relation_size(c.oid) > 65536 order by c.relname`.execute(services.db);
            if (tables.rows.length > 0) {
              await sql.raw(`${vacuum ? 'vacuum (analyze)' : 'analyze'} ${tables.rows.map((t) => t.name).join(', ')}`).execute(services.db);
            }
            analyzedAt = Date.now();
            if (vacuum) vacuumedAt = analyzedAt;
            return { outcome: 'done', detail: { vacuum, tables: tables.rows.length, ms: Date.now() - t0 } };
          }),
        );
      }
    }
    if (!stopped) {
      results.push(
        await runJob('payouts', null, async () => {
          const worked = await services.withdrawals.workDue(200);
          return { outcome: worked > 0 ? 'done' : 'skipped', detail: { payouts: worked } };
        }),
      );
    }
    if (!stopped) {
      // Identity documents an earlier version stored in plaintext, a batch per pass until none
      // is left (then one empty index probe); processes share the work (SKIP LOCKED).
      results.push(
        await runJob('documents', null, async () => {
          const r = await services.distributors.encryptLegacyDocuments(100);
          return { outcome: r.encrypted > 0 || r.failed > 0 ? 'done' : 'skipped', detail: r };
        }),
      );
    }
    return results;
  }

  return {
    tick,

    start() {
      stopped = false;
      const loop = () => {
        if (stopped) return;
        // A pass that fails outside a job (the list of tenants, with the database away) is
        // logged and the next one comes at the next tick: a rejection left unhandled here ended
        // the process (issue 15).
        running = tick()
          .catch((err: unknown): JobResult[] => {
            if (isDatabaseUnavailable(err))
              log.warn({ reason: err instanceof Error ? err.message : String(err) }, 'scheduled jobs skipped this pass: the database is unavailable');
            else log.error({ err }, 'scheduled jobs pass failed');
            return [];
          })
          .finally(() => {
            running = undefined;
            if (!stopped) timer = setTimeout(loop, tickMs);
          });
      };
      timer = setTimeout(loop, Math.min(tickMs, 1_000));
      timer.unref();
    },

    /** Stops scheduling and waits for a pass in progress (graceful shutdown). */
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running?.catch(() => undefined);
    },
  };
}

export type Scheduler = ReturnType<typeof createScheduler>;
