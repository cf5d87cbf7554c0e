import fs from 'node:fs';
import fsp from 'node:fs/promises';
import { once } from 'node:events';
import path from 'node:path';
import { AppError, jobErrorOf, type JobError } from '../../core/errors.ts';
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
  error: JobError | null;
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

/** A finished export's file, for a download. */
export interface ExportJobFile {
  filename: string;
  contentType: string;
  size: number;
  /** The file's bytes; throws when it is gone (swept meanwhile). */
  read(): Promise<Buffer>;
}

/** What a job's store writes while the job runs in this process. */
export interface ExportJobHandle {
  start(at: Date, total: number | null): Promise<void>;
  /** Rows written so far; the store decides how often it writes them. */
  progress(rowsWritten: number): void;
  /** The job's final state (done, failed or cancelled). */
  finish(job: ExportJob): Promise<void>;
}

/**
 * Where export jobs' state is kept. The default keeps it in this process; the server keeps it in
 * the database (src/modules/jobs), so any process answers a job's status and serves its file.
 * Jobs come back without `expiresAt`: the registry derives it from `finishedAt` and its ttl.
 */
export interface ExportJobStore {
  /** Persistent stores outlive this registry: close leaves their finished jobs and files for the sweep. */
  readonly persistent: boolean;
  create(job: ExportJob): Promise<ExportJobHandle>;
  get(tenantId: string, id: string): Promise<ExportJob | undefined>;
  /** Queued and running jobs of a tenant (in any process sharing the store). */
  activeCount(tenantId: string): Promise<number>;
  /** Finished jobs, finished at or before `before`. */
  finishedBefore(before: Date): Promise<ExportJob[]>;
  remove(ids: string[]): Promise<void>;
}

/** Where finished files are kept: a folder by default, the storage adapter (local folder or S3) in the server. */
export interface ExportFileStore {
  /** Takes the finished file at `localPath` (moved or copied; the registry removes what is left). */
  put(key: string, localPath: string, contentType: string): Promise<void>;
  read(key: string): Promise<Buffer>;
  delete(key: string): Promise<void>;
}

export interface ExportJobs {
  /** Where files are written while a job runs (and, by default, kept). */
  readonly dir: string;
  /** Registers a job and starts it in this process when a slot is free; answers once it is registered. */
  start<Row>(input: StartExportJob<Row>): Promise<ExportJob>;
  /** The job if it exists and belongs to the tenant; another tenant's job is not there. */
  get(tenantId: string, id: string): Promise<ExportJob | undefined>;
  /** The finished file of a done job. */
  file(tenantId: string, id: string): Promise<ExportJobFile | undefined>;
  /** Resolves when the job has finished (done, failed or cancelled). */
  settled(tenantId: string, id: string): Promise<ExportJob>;
  /** Stops a queued or running job of this process; false when there was nothing to stop here. */
  cancel(tenantId: string, id: string): boolean;
  /** Forgets expired jobs and deletes their files, and work files no job owns older than the ttl. */
  sweep(): Promise<void>;
  /** Stops every job of this process (and, with the in-process store, deletes every file it made). */
  close(): Promise<void>;
}

export interface ExportJobsOptions {
  /** Where files are written while a job runs (and kept, with the default file store): `<data dir>/exports`. */
  dir: string;
  /** Job state: in this process by default. */
  store?: ExportJobStore;
  /** Finished files: in `dir` by default. */
  files?: ExportFileStore;
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
  handle: ExportJobHandle;
  controller: AbortController;
  done: Promise<void>;
  resolve: () => void;
}

export const EXPORT_TTL_MS = 60 * 60 * 1000;

/** The key of a job's finished file in its file store. */
export function exportFileKey(job: Pick<ExportJob, 'id' | 'format'>): string {
  return `exports/${job.id}.${job.format}`;
}

const copy = (job: ExportJob): ExportJob => ({
  ...job,
  ...(job.error ? { error: { ...job.error } } : {}),
  ...(job.totals ? { totals: { ...job.totals } } : {}),
});

/** Job state in this process only: what a single process (or a test) needs. */
export function memoryExportJobStore(): ExportJobStore {
  const jobs = new Map<string, ExportJob>();
  return {
    persistent: false,
    create(job) {
      const kept = copy(job);
      jobs.set(job.id, kept);
      return Promise.resolve({
        start(at, total) {
          kept.status = 'running';
          kept.startedAt = at;
          kept.total = total;
          return Promise.resolve();
        },
        progress(n) {
          kept.rowsWritten = n;
        },
        finish(final) {
          if (jobs.has(final.id)) jobs.set(final.id, copy(final));
          return Promise.resolve();
        },
      });
    },
    get(tenantId, id) {
      const job = jobs.get(id);
      return Promise.resolve(job && job.tenantId === tenantId ? copy(job) : undefined);
    },
    activeCount(tenantId) {
      let n = 0;
      for (const j of jobs.values()) if (j.tenantId === tenantId && (j.status === 'queued' || j.status === 'running')) n++;
      return Promise.resolve(n);
    },
    finishedBefore(before) {
      return Promise.resolve([...jobs.values()].filter((j) => j.finishedAt !== null && j.finishedAt.getTime() <= before.getTime()).map(copy));
    },
    remove(ids) {
      for (const id of ids) jobs.delete(id);
      return Promise.resolve();
    },
  };
}

/** Finished files as plain files in a folder (keys `exports/<id>.<ext>` become `<dir>/<id>.<ext>`). */
export function folderExportFileStore(dir: string): ExportFileStore {
  const fileOf = (key: string) => path.join(dir, path.basename(key));
  return {
    async put(key, localPath) {
      if (path.resolve(localPath) !== fileOf(key)) await fsp.rename(localPath, fileOf(key));
    },
    read: (key) => fsp.readFile(fileOf(key)),
    delete: (key) => fsp.rm(fileOf(key), { force: true }),
  };
}

/**
 * The registry of export jobs for exports too large to stream in one request: the console starts
 * one, polls `GET /v1/exports/{id}` for rows written, then downloads the file. A job runs in the
 * process that started it; its state is in the store and its file in the file store, so with the
 * server's (the database and the storage adapter) any process answers the polling and the download.
 * Files are written to `<dir>/<id>.<ext>.part` first, so a download never gets a partial file.
 */
export function createExportJobs(options: ExportJobsOptions): ExportJobs {
  const dir = path.resolve(options.dir);
  const store = options.store ?? memoryExportJobStore();
  const files = options.files ?? folderExportFileStore(dir);
  const clock = options.clock ?? { now: () => new Date() };
  const ttlMs = options.ttlMs ?? EXPORT_TTL_MS;
  const maxRunning = options.maxRunning ?? 2;
  const maxActivePerTenant = options.maxActivePerTenant ?? 3;
  const log = options.log;
  const entries = new Map<string, Entry>();
  /** Files this registry stored, for close to delete when its store dies with it. */
  const made = new Set<string>();
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

  const withExpiry = (job: ExportJob): ExportJob => ({ ...job, expiresAt: job.finishedAt ? new Date(job.finishedAt.getTime() + ttlMs) : null });

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

  async function finish(e: Entry, status: ExportJobStatus): Promise<void> {
    const now = clock.now();
    e.job.status = status;
    e.job.finishedAt = now;
    e.job.expiresAt = new Date(now.getTime() + ttlMs);
    try {
      await e.handle.finish(copy(e.job));
    } catch (err) {
      log?.error({ err, export_job: e.job.id }, 'export job state not written');
    } finally {
      entries.delete(e.job.id);
      e.resolve();
    }
  }

  async function run(e: Entry): Promise<void> {
    const { job, input, controller } = e;
    if (!input) return;
    const signal = controller.signal;
    job.status = 'running';
    job.startedAt = clock.now();
    const part = path.join(dir, `${job.id}.${job.format}.part`);
    const key = exportFileKey(job);
    let out: fs.WriteStream | null = null;
    try {
      if (input.total !== undefined) job.total = await Promise.resolve(input.total).catch(() => null);
      await e.handle.start(job.startedAt, job.total);
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
          e.handle.progress(n);
        },
        ...(input.params ? { params: input.params } : {}),
      });
      if (!out.closed) await once(out, 'close');
      job.size = (await fsp.stat(part)).size;
      await files.put(key, part, job.contentType);
      made.add(key);
      await fsp.rm(part, { force: true });
      job.rowsWritten = result.rows;
      job.totals = Object.fromEntries(Object.entries(result.totals).map(([k, v]) => [k, v.toString()]));
      await finish(e, 'done');
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
        await finish(e, 'cancelled');
      } else {
        job.error = jobErrorOf(err, {
          en: `the export failed (job ${job.id}); the server log has the cause`,
          zh: `导出失败（任务 ${job.id}），原因见服务器日志`,
        });
        log?.error({ err, export_job: job.id, export: job.name, tenant_id: job.tenantId }, 'export job failed');
        await finish(e, 'failed');
      }
    }
  }

  async function start<Row>(input: StartExportJob<Row>): Promise<ExportJob> {
    if (closed) throw new AppError('service_unavailable', { en: 'the server is shutting down', zh: '服务器正在关闭' });
    const lang = input.lang ?? 'zh';
    if (!isExportFormat(input.format)) throw new AppError('invalid_request', { en: 'format must be xlsx or csv', zh: 'format 应为 xlsx 或 csv' });
    if (!isLang(lang)) throw new AppError('invalid_request', { en: 'lang must be zh or en', zh: 'lang 应为 zh 或 en' });
    if (!isValidTimeZone(input.tz)) throw new AppError('invalid_request', { en: `unknown time zone "${input.tz}"`, zh: `未知的时区 "${input.tz}"` });
    const p = plan(input.spec, lang, input.tz);
    // A count query that fails is no reason to fail the export (the percentage is just unknown).
    if (input.total instanceof Promise) input.total.catch(() => {});
    const active = await store.activeCount(input.tenantId);
    if (active >= maxActivePerTenant) {
      throw new AppError(
        'rate_limited',
        { en: `${active} exports are already in progress; wait for one to finish`, zh: `已有 ${active} 个导出任务在进行中，请等待其中一个完成` },
        { retry_after_seconds: 30 },
      );
    }
    if (closed) throw new AppError('service_unavailable', { en: 'the server is shutting down', zh: '服务器正在关闭' });
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
    const handle = await store.create(job);
    let resolve: () => void = () => {};
    const done = new Promise<void>((r) => {
      resolve = r;
    });
    const e: Entry = { job, input: input as StartExportJob<unknown>, handle, controller: new AbortController(), done, resolve };
    entries.set(job.id, e);
    queue.push(e);
    pump();
    return copy(job);
  }

  async function get(tenantId: string, id: string): Promise<ExportJob | undefined> {
    const job = await store.get(tenantId, id);
    return job && withExpiry(job);
  }

  async function sweep(): Promise<void> {
    const expired = await store.finishedBefore(new Date(clock.now().getTime() - ttlMs));
    for (const job of expired) {
      if (job.status === 'done') await files.delete(exportFileKey(job));
      made.delete(exportFileKey(job));
    }
    await store.remove(expired.map((j) => j.id));
    // Work files of a process that died mid-write (or files of an older version kept here), by
    // their age on disk; a running job's file is younger, since it is being written.
    let names: string[];
    try {
      names = await fsp.readdir(dir);
    } catch {
      return;
    }
    const cutoff = Date.now() - ttlMs;
    for (const name of names) {
      if (!/^exp_[0-9A-Z]{26}\.(xlsx|csv)(\.part)?$/.test(name) || entries.has(name.slice(0, name.indexOf('.')))) continue;
      if (made.has(`exports/${name}`)) continue;
      const file = path.join(dir, name);
      const st = await fsp.stat(file).catch(() => null);
      if (st && st.mtimeMs < cutoff) await fsp.rm(file, { force: true });
    }
  }

  return {
    dir,
    start,
    get,
    async file(tenantId, id) {
      const job = await get(tenantId, id);
      if (!job || job.status !== 'done') return undefined;
      const key = exportFileKey(job);
      return { filename: job.filename, contentType: job.contentType, size: job.size ?? 0, read: () => files.read(key) };
    },
    async settled(tenantId, id) {
      const e = entries.get(id);
      if (e && e.job.tenantId === tenantId) await e.done;
      // A job of another process: its row says when it has finished.
      for (;;) {
        const job = await get(tenantId, id);
        if (!job) throw new AppError('not_found', { en: 'export not found', zh: '导出任务不存在' });
        if (job.status !== 'queued' && job.status !== 'running') return job;
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    cancel(tenantId, id) {
      const e = entries.get(id);
      if (!e || e.job.tenantId !== tenantId || (e.job.status !== 'queued' && e.job.status !== 'running')) return false;
      e.controller.abort(new ExportAbortedError('the export was cancelled'));
      if (e.job.status === 'queued') {
        e.input = null;
        void finish(e, 'cancelled');
      }
      return true;
    },
    sweep,
    async close() {
      if (closed) return;
      closed = true;
      if (timer) clearInterval(timer);
      const waiting = [...entries.values()];
      for (const e of waiting) {
        e.controller.abort(new ExportAbortedError('the server is shutting down'));
        if (e.job.status === 'queued') {
          e.input = null;
          void finish(e, 'cancelled');
        }
      }
      await Promise.all(waiting.map((e) => e.done));
      // The in-process store dies with this registry: nothing could find its files again.
      if (!store.persistent) await Promise.all([...made].map((key) => files.delete(key)));
      made.clear();
    },
  };
}
