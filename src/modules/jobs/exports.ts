import type { FileStorage } from '../../adapters/storage/types.ts';
import type { ErrorCode } from '../../core/errors.ts';
import type { Permission } from '../../core/principal.ts';
import fsp from 'node:fs/promises';
import type { ExportFileStore, ExportJob, ExportJobStore } from '../../lib/export/jobs.ts';
import type { ExportFormat } from '../../lib/export/spec.ts';
import type { Job, JobsService } from './service.ts';

export const EXPORT_JOB_KIND = 'export';

interface ExportParams {
  name: string;
  title: string;
  format: ExportFormat;
  filename: string;
  content_type: string;
  permission: Permission;
}

interface ExportResultJson {
  totals: Record<string, string> | null;
  size: number | null;
}

function exportJobOf(j: Job): ExportJob {
  const p = j.params as unknown as ExportParams;
  const r = (j.result ?? { totals: null, size: null }) as ExportResultJson;
  return {
    id: j.id,
    tenantId: j.tenantId,
    name: p.name,
    title: p.title,
    format: p.format,
    filename: p.filename,
    contentType: p.content_type,
    status: j.status,
    rowsWritten: j.done,
    total: j.total,
    permission: p.permission,
    createdAt: j.createdAt,
    startedAt: j.startedAt,
    finishedAt: j.finishedAt,
    expiresAt: null,
    error: j.error as { code: ErrorCode; message: string } | null,
    totals: r.totals,
    size: r.size,
  };
}

/** Export jobs' state in the jobs table, so any process answers their status. */
export function databaseExportJobStore(jobs: JobsService): ExportJobStore {
  return {
    persistent: true,
    async create(job) {
      const params: ExportParams = {
        name: job.name,
        title: job.title,
        format: job.format,
        filename: job.filename,
        content_type: job.contentType,
        permission: job.permission,
      };
      const { run } = await jobs.create({ id: job.id, tenantId: job.tenantId, kind: EXPORT_JOB_KIND, total: job.total, params: { ...params } });
      return {
        start: (_at, total) => run.start(total),
        progress: (n) => run.progress(n),
        async finish(final) {
          const result: ExportResultJson = { totals: final.totals, size: final.size };
          await run.finish(final.status === 'done' ? 'done' : final.status === 'cancelled' ? 'cancelled' : 'failed', {
            result: final.status === 'done' ? result : null,
            error: final.error,
            done: final.rowsWritten,
            total: final.total,
          });
        },
      };
    },
    async get(tenantId, id) {
      const j = await jobs.get(tenantId, EXPORT_JOB_KIND, id);
      return j && exportJobOf(j);
    },
    activeCount: (tenantId) => jobs.activeCount(tenantId, EXPORT_JOB_KIND),
    async finishedBefore(before) {
      return (await jobs.finishedBefore(EXPORT_JOB_KIND, before)).map(exportJobOf);
    },
    remove: (ids) => jobs.remove(ids),
  };
}

/** Export files in the storage adapter (a local folder or S3), so any process serves a download. */
export function storageExportFileStore(storage: FileStorage): ExportFileStore {
  return {
    async put(key, localPath, contentType) {
      await storage.put(key, await fsp.readFile(localPath), contentType);
    },
    read: (key) => storage.get(key),
    delete: (key) => storage.delete(key),
  };
}
