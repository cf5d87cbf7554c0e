import type { Clock } from '../../core/context.ts';
import type { JobError } from '../../core/errors.ts';
import type { Db } from '../../db/database.ts';
import type { JobsTable } from '../../db/schema.ts';
import type { Selectable } from 'kysely';
import { jobsRepo } from './repo.ts';

export type JobStatus = JobsTable['status'];

/** A background job as any process reads it from the database. */
export interface Job {
  id: string;
  tenantId: string;
  kind: string;
  status: JobStatus;
  done: number;
  total: number | null;
  /** What the job was started with (a period, a file name): whatever its kind keeps. */
  params: Record<string, unknown>;
  result: unknown;
  error: JobError | null;
  createdBy: string | null;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  updatedAt: Date;
}

/** The handle of a job running in this process: progress (throttled), then its outcome. */
export interface JobRun {
  readonly id: string;
  /** Marks a queued job running. */
  start(total?: number | null): Promise<void>;
  /** Progress, written at most every `progressEveryMs`; the last report is written by finish. */
  progress(done: number, total?: number | null): void;
  /** Stops reporting without an outcome: another process took the work (and its job) over. */
  release(): void;
  finish(status: 'done' | 'failed' | 'cancelled', outcome?: { result?: unknown; error?: JobError | null; done?: number; total?: number | null }): Promise<void>;
}

export interface JobsOptions {
  db: Db;
  clock: Clock;
  /** A queued or running job not heard of for this long belongs to a process that died: it reads as failed. */
  staleAfterMs?: number;
  /** Progress is written at most this often. */
  progressEveryMs?: number;
  /** A running job's row is touched this often, so it never looks stale while its process lives. */
  heartbeatMs?: number;
  log?: { error(obj: object, msg: string): void };
}

export const JOB_STALE_MS = 60_000;

/** What a job whose process died says: the cause is in that process's log, if anywhere. */
export const STALE_ERROR: JobError = {
  code: 'internal_error',
  message: 'the process running this job stopped before it finished',
  zh: '运行此任务的进程在任务完成前停止了',
};

function jobOf(r: Selectable<JobsTable>): Job {
  return {
    id: r.id,
    tenantId: r.tenant_id,
    kind: r.kind,
    status: r.status,
    done: Number(r.done),
    total: r.total === null ? null : Number(r.total),
    params: (r.params ?? {}) as Record<string, unknown>,
    result: r.result ?? null,
    error: (r.error ?? null) as Job['error'],
    createdBy: r.created_by,
    createdAt: r.created_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    updatedAt: r.updated_at,
  };
}

/**
 * The one registry of background jobs: a row in `jobs` per job, so the status of a job started by
 * one process is answered by any other (no sticky sessions). The job itself runs in the process
 * that started it, which writes its progress (throttled) and a heartbeat to the row; a row whose
 * heartbeat stopped reads as failed.
 */
export function createJobs(options: JobsOptions) {
  const { db, clock } = options;
  const staleAfterMs = options.staleAfterMs ?? JOB_STALE_MS;
  const progressEveryMs = options.progressEveryMs ?? 500;
  const heartbeatMs = options.heartbeatMs ?? Math.max(1000, Math.floor(staleAfterMs / 4));
  const staleBefore = () => new Date(clock.now().getTime() - staleAfterMs);
  /** Jobs running in this process: never stale here, even when the database kept their heartbeat waiting (PGlite's one session). */
  const live = new Set<string>();

  function run(id: string): JobRun {
    let last = 0;
    let pending: { done?: number; total?: number | null } | null = null;
    let chain: Promise<void> = Promise.resolve();
    let finished = false;
    let trailing: NodeJS.Timeout | null = null;
    // One write at a time, in order; a failed write is logged, never thrown into the job.
    const write = (p: { done?: number; total?: number | null }) => {
      chain = chain
        .then(() => jobsRepo.progress(db, id, clock.now(), p))
        .catch((err: unknown) => options.log?.error({ err, job: id }, 'job progress not written'));
      return chain;
    };
    const beat = setInterval(() => {
      if (!finished) void write(pending ?? {});
      pending = null;
    }, heartbeatMs);
    beat.unref();
    live.add(id);
    return {
      id,
      async start(total) {
        await chain;
        await jobsRepo.started(db, id, clock.now(), total);
      },
      progress(done, total) {
        pending = total === undefined ? { done } : { done, total };
        if (trailing) return;
        const wait = last + progressEveryMs - Date.now();
        // At most one write per interval; the last report of a burst is written when it ends.
        trailing = setTimeout(
          () => {
            trailing = null;
            last = Date.now();
            const p = pending;
            pending = null;
            if (p && !finished) void write(p);
          },
          Math.max(0, wait),
        );
        trailing.unref();
      },
      release() {
        finished = true;
        live.delete(id);
        clearInterval(beat);
        if (trailing) clearTimeout(trailing);
      },
      async finish(status, outcome = {}) {
        finished = true;
        live.delete(id);
        clearInterval(beat);
        if (trailing) clearTimeout(trailing);
        await chain;
        const p = pending ?? {};
        pending = null;
        await jobsRepo.finish(db, id, clock.now(), {
          status,
          result: outcome.result === undefined ? null : JSON.stringify(outcome.result),
          error: outcome.error ? JSON.stringify(outcome.error) : null,
          ...p,
          ...(outcome.done !== undefined ? { done: outcome.done } : {}),
          ...(outcome.total !== undefined ? { total: outcome.total } : {}),
        });
      },
    };
  }

  return {
    staleAfterMs,

    /** Registers a job (queued, or running at once) and answers its row and the handle to run it with. */
    async create(input: {
      id: string;
      tenantId: string;
      kind: string;
      status?: 'queued' | 'running';
      total?: number | null;
      params?: Record<string, unknown>;
      createdBy?: string | null;
    }): Promise<{ job: Job; run: JobRun }> {
      const row = await jobsRepo.insert(db, {
        id: input.id,
        tenant_id: input.tenantId,
        kind: input.kind,
        status: input.status ?? 'queued',
        total: input.total ?? null,
        params: JSON.stringify(input.params ?? {}),
        created_by: input.createdBy ?? null,
        at: clock.now(),
      });
      return { job: jobOf(row), run: run(row.id) };
    },

    /** The job if it exists, is of this kind and belongs to the tenant; one whose process died reads (and is stored) as failed. */
    async get(tenantId: string, kind: string, id: string): Promise<Job | undefined> {
      const row = await jobsRepo.get(db, tenantId, kind, id);
      if (!row) return undefined;
      if ((row.status === 'queued' || row.status === 'running') && !live.has(id) && row.updated_at.getTime() < staleBefore().getTime()) {
        const [failed] = await jobsRepo.failStale(db, { tenantId, kind, id }, staleBefore(), clock.now(), JSON.stringify(STALE_ERROR));
        return jobOf(failed ?? (await jobsRepo.get(db, tenantId, kind, id)) ?? row);
      }
      return jobOf(row);
    },

    /**
     * Picks up a job whose process stopped (the work it reports on is durable and resumable, as a
     * settlement run is): the job reads as running again and this process reports it. Undefined
     * when the job is gone or finished for another reason.
     */
    async resume(id: string): Promise<JobRun | undefined> {
      const row = await jobsRepo.revive(db, id, clock.now(), STALE_ERROR.code);
      return row ? run(row.id) : undefined;
    },

    /** Queued and running jobs of a tenant, those of dead processes not counted. */
    async activeCount(tenantId: string, kind: string): Promise<number> {
      return jobsRepo.countActive(db, tenantId, kind, staleBefore());
    },

    /** Finished jobs of a kind, finished at or before `before` (at most 1000 a call). */
    async finishedBefore(kind: string, before: Date): Promise<Job[]> {
      return (await jobsRepo.finishedBefore(db, kind, before)).map(jobOf);
    },

    async remove(ids: string[]): Promise<void> {
      await jobsRepo.remove(db, ids);
    },
  };
}

export type JobsService = ReturnType<typeof createJobs>;
