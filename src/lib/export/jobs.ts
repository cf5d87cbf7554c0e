import fs from 'node:fs';
import fsp from 'node:fs/promises';
import { once } from 'node:events';
import path from 'node:path';
import { AppError } from '../../core/errors.ts';
import type { ErrorCode } from '../../core/errors.ts';
import type { Permission } from '../../core/principal.ts';
import { newId } from '../../core/ids.ts';
import { isValidTimeZone } from '../../core/time.ts';
import { isExportFormat, isLang, type ExportFormat, type ExportSpec, type Lang, type RowSource } from './spec.ts';
import { plan } from './cells.ts';
import { withExtension } from './format.ts';
import { ExportAbortedError } from './flow.ts';
import { contentTypeOf, writeExport } from './write.ts';

export type ExportJobStatus = 'queued' | 'running' | 'done' | 'failed' | 'cancelled';

/** A snapshot of one export job, for a status page to poll. */
export interface ExportJob {
  id: string;
  tenantId: string;
  name: string;
  title: string;
  format: ExportFormat;
  /** The download's file name, with its extension. */
  filename: string;
  contentType: string;
  status: ExportJobStatus;
  rowsWritten: number;
  /** Rows expected, when the starter knew (a count query); null otherwise. */
  total: number | null;
  /** What a caller needs, beyond belonging to the tenant, to see and download it. */
  permission: Permission;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  /** When the file and the job are forgotten: an hour (ttl) after it finished. */
  expiresAt: Date | null;
  /** Why it failed, safe to show (internal errors are logged, not shown). */
  error: { code: ErrorCode; message: string } | null;
  /** The totals row's sums by column key, in fen (int columns: units), once done. */
  totals: Record<string, string> | null;
  /** Bytes of the finished file. */
  size: number | null;
}

export interface StartExportJob<Row> {
  tenantId: string;
  spec: ExportSpec<Row>;
  /**
   * The rows, or a function giving them when the job starts (preferred: nothing is queried while
   * the job waits). The job runs after the request that started it has ended: use the database,
   * never a request's transaction.
   */
  rows: RowSource<Row> | ((signal: AbortSignal) => RowSource<Row>);
  /** Rows expected (for a percentage): a number, or a promise of one (a count query). */
  total?: number | null | Promise<number | null>;
  format: ExportFormat;
  lang?: Lang;
  tz: string;
  filename: string;
  params?: Record<string, unknown>;
  /** 'read' by default; e.g. 'pii:read' for an export with bank accounts. */
  permission?: Permission;
}

export interface ExportJobFile {
  path: string;
  filename: string;
  contentType: string;
  size: number;
}

export interface ExportJobs {
  readonly dir: string;
  /** Registers a job and starts it when a slot is free; answers at once. */
  start<Row>(input: StartExportJob<Row>): ExportJob;
  /** The job if it exists and belongs to the tenant; another tenant's job is not there. */
  get(tenantId: string, id: string): ExportJob | undefined;
  /** The finished file of a done job. */
  file(tenantId: string, id: string): ExportJobFile | undefined;
  /** Resolves when the job has finished (done, failed or cancelled). */
  settled(tenantId: string, id: string): Promise<ExportJob>;
  /** Stops a queued or running job; false when there was nothing to stop. */
  cancel(tenantId: string, id: string): boolean;
  /** Forgets expired jobs and deletes their files, and files no job owns older than the ttl. */
  sweep(): Promise<void>;
  /** Stops every job and deletes every file this registry made. */
  close(): Promise<void>;
}

export interface ExportJobsOptions {
  /** Where files go: `<data dir>/exports`. */
  dir: string;
  clock?: { now(): Date };
  /** How long a finished job and its file are kept: an hour by default. */
  ttlMs?: number;
  /** Jobs running at once in this process; more wait in a queue. */
  maxRunning?: number;
  /** Queued and running jobs one tenant may have. */
  maxActivePerTenant?: number;
  /** How often expired jobs are swept; 0 disables the timer (call sweep yourself). */
  sweepEveryMs?: number;
  log?: { info(obj: object, msg: string): void; error(obj: object, msg: string): void };
}

interface Entry {
  job: ExportJob;
  /** Dropped once the job ends, so a finished job holds no query or rows. */
  input: StartExportJob<unknown> | null;
  controller: AbortController;
  done: Promise<void>;
  resolve: () => void;
  path: string | null;
}

export const EXPORT_TTL_MS = 60 * 60 * 1000;

/**
 * The in-process registry of export jobs for exports too large to stream in one request: the
 * console starts one, polls `GET /v1/exports/{id}` for rows written, then downloads the file.
 * Files are written to `<id>.<ext>.part` and renamed when complete, so a download never gets a
 * partial file. State lives in this process: behind a load balancer, route the polling of a job
 * to the process that runs it (or keep exports on one worker).
 */
export function createExportJobs(options: ExportJobsOptions): ExportJobs {
  const dir = path.resolve(options.dir);
  const clock = options.clock ?? { now: () => new Date() };
  const ttlMs = options.ttlMs ?? EXPORT_TTL_MS;
  const maxRunning = options.maxRunning ?? 2;
  const maxActivePerTenant = options.maxActivePerTenant ?? 3;
  const log = options.log;
  const entries = new Map<string, Entry>();
  const queue: Entry[] = [];
  let running = 0;
  let closed = false;

  const timer =
    (options.sweepEveryMs ?? 60_000) > 0
      ? setInterval(() => {
          void sweep().catch((err: unknown) => log?.error({ err }, 'export sweep failed'));
        }, options.sweepEveryMs ?? 60_000)
      : null;
  timer?.unref();

  const snapshot = (e: Entry): ExportJob => ({
    ...e.job,
    ...(e.job.error ? { error: { ...e.job.error } } : {}),
    ...(e.job.totals ? { totals: { ...e.job.totals } } : {}),
  });

  function entryOf(tenantId: string, id: string): Entry | undefined {
    const e = entries.get(id);
    return e && e.job.tenantId === tenantId ? e : undefined;
  }

  function pump(): void {
    while (!closed && running < maxRunning) {
      const e = queue.shift();
      if (e === undefined) break;
      if (e.job.status !== 'queued') continue;
      running++;
      void run(e).finally(() => {
        e.input = null;
        running--;
        pump();
      });
    }
  }

  function finish(e: Entry, status: ExportJobStatus): void {
    const now = clock.now();
    e.job.status = status;
    e.job.finishedAt = now;
    e.job.expiresAt = new Date(now.getTime() + ttlMs);
    e.resolve();
  }

  async function run(e: Entry): Promise<void> {
    const { job, input, controller } = e;
    if (!input) return;
    const signal = controller.signal;
    job.status = 'running';
    job.startedAt = clock.now();
    const final = path.join(dir, `${job.id}.${job.format}`);
    const part = `${final}.part`;
    let out: fs.WriteStream | null = null;
    try {
      if (input.total !== undefined) job.total = await Promise.resolve(input.total).catch(() => null);
      signal.throwIfAborted();
      await fsp.mkdir(dir, { recursive: true });
      out = fs.createWriteStream(part, { flags: 'wx', mode: 0o600 });
      const rows = typeof input.rows === 'function' ? input.rows(signal) : input.rows;
      const result = await writeExport(job.format, input.spec, rows, out, {
        lang: input.lang ?? 'zh',
        tz: input.tz,
        generatedAt: job.startedAt,
        signal,
        progressEvery: 500,
        onProgress: (n) => {
          job.rowsWritten = n;
        },
        ...(input.params ? { params: input.params } : {}),
      });
      if (!out.closed) await once(out, 'close');
      await fsp.rename(part, final);
      e.path = final;
      job.rowsWritten = result.rows;
      job.totals = Object.fromEntries(Object.entries(result.totals).map(([k, v]) => [k, v.toString()]));
      job.size = (await fsp.stat(final)).size;
      finish(e, 'done');
      log?.info({ export_job: job.id, export: job.name, rows: result.rows, tenant_id: job.tenantId }, 'export job done');
    } catch (err) {
      // The stream opens its file asynchronously: wait until it is closed, or the file could be
      // created after it was removed and stay behind.
      if (out && !out.closed) {
        const closed = once(out, 'close').catch(() => {});
        out.destroy();
        await closed;
      }
      await fsp.rm(part, { force: true }).catch(() => {});
      if (signal.aborted || err instanceof ExportAbortedError) {
        finish(e, 'cancelled');
      } else {
        job.error =
          err instanceof AppError
            ? { code: err.code, message: err.message }
            : { code: 'internal_error', message: `the export failed (job ${job.id}); the server log has the cause` };
        log?.error({ err, export_job: job.id, export: job.name, tenant_id: job.tenantId }, 'export job failed');
        finish(e, 'failed');
      }
    }
  }

  function start<Row>(input: StartExportJob<Row>): ExportJob {
    if (closed) throw new AppError('service_unavailable', 'the server is shutting down');
    const lang = input.lang ?? 'zh';
    if (!isExportFormat(input.format)) throw new AppError('invalid_request', 'format must be xlsx or csv');
    if (!isLang(lang)) throw new AppError('invalid_request', 'lang must be zh or en');
    if (!isValidTimeZone(input.tz)) throw new AppError('invalid_request', `unknown time zone "${input.tz}"`);
    const p = plan(input.spec, lang, input.tz);
    let active = 0;
    for (const e of entries.values()) if (e.job.tenantId === input.tenantId && (e.job.status === 'queued' || e.job.status === 'running')) active++;
    if (active >= maxActivePerTenant) {
      throw new AppError('rate_limited', `${active} exports are already in progress; wait for one to finish`, { retry_after_seconds: 30 });
    }
    const job: ExportJob = {
      id: newId('exp'),
      tenantId: input.tenantId,
      name: p.name,
      title: p.title,
      format: input.format,
      filename: withExtension(input.filename, input.format),
      contentType: contentTypeOf(input.format),
      status: 'queued',
      rowsWritten: 0,
      total: typeof input.total === 'number' ? input.total : null,
      permission: input.permission ?? 'read',
      createdAt: clock.now(),
      startedAt: null,
      finishedAt: null,
      expiresAt: null,
      error: null,
      totals: null,
      size: null,
    };
    // A count query that fails is no reason to fail the export (the percentage is just unknown).
    if (input.total instanceof Promise) input.total.catch(() => {});
    let resolve: () => void = () => {};
    const done = new Promise<void>((r) => {
      resolve = r;
    });
    const e: Entry = { job, input: input as StartExportJob<unknown>, controller: new AbortController(), done, resolve, path: null };
    entries.set(job.id, e);
    queue.push(e);
    pump();
    return snapshot(e);
  }

  async function removeFile(e: Entry): Promise<void> {
    if (e.path) await fsp.rm(e.path, { force: true });
    e.path = null;
  }

  async function sweep(): Promise<void> {
    const now = clock.now().getTime();
    for (const [id, e] of entries) {
      if (e.job.expiresAt && e.job.expiresAt.getTime() <= now) {
        entries.delete(id);
        await removeFile(e);
      }
    }
    // Files of a previous process (its registry is gone) or of another process sharing the data
    // dir, by their age on disk; a running job's file is younger, since it is being written.
    let names: string[];
    try {
      names = await fsp.readdir(dir);
    } catch {
      return;
    }
    const owned = new Set([...entries.keys()]);
    const cutoff = Date.now() - ttlMs;
    for (const name of names) {
      if (!/^exp_[0-9A-Z]{26}\.(xlsx|csv)(\.part)?$/.test(name) || owned.has(name.slice(0, name.indexOf('.')))) continue;
      const file = path.join(dir, name);
      const st = await fsp.stat(file).catch(() => null);
      if (st && st.mtimeMs < cutoff) await fsp.rm(file, { force: true });
    }
  }

  return {
    dir,
    start,
    get(tenantId, id) {
      const e = entryOf(tenantId, id);
      return e ? snapshot(e) : undefined;
    },
    file(tenantId, id) {
      const e = entryOf(tenantId, id);
      if (!e || e.job.status !== 'done' || !e.path) return undefined;
      return { path: e.path, filename: e.job.filename, contentType: e.job.contentType, size: e.job.size ?? 0 };
    },
    async settled(tenantId, id) {
      const e = entryOf(tenantId, id);
      if (!e) throw new AppError('not_found', 'export not found');
      await e.done;
      return snapshot(e);
    },
    cancel(tenantId, id) {
      const e = entryOf(tenantId, id);
      if (!e || (e.job.status !== 'queued' && e.job.status !== 'running')) return false;
      e.controller.abort(new ExportAbortedError('the export was cancelled'));
      if (e.job.status === 'queued') {
        e.input = null;
        finish(e, 'cancelled');
      }
      return true;
    },
    sweep,
    async close() {
      if (closed) return;
      closed = true;
      if (timer) clearInterval(timer);
      for (const e of entries.values()) {
        e.controller.abort(new ExportAbortedError('the server is shutting down'));
        if (e.job.status === 'queued') finish(e, 'cancelled');
      }
      await Promise.all([...entries.values()].map((e) => e.done));
      await Promise.all([...entries.values()].map((e) => removeFile(e)));
      entries.clear();
    },
  };
}
