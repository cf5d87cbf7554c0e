import path from 'node:path';
import type { FileStorage } from '../adapters/storage/types.ts';
import { actor, type App } from './http.ts';
import { IdParams, errors } from '../core/schema.ts';
import { requirePermission, tenantOf } from '../core/principal.ts';
import { invalidState, notFound } from '../core/errors.ts';
import type { Services } from './services.ts';
import { createExportJobs, type ExportJob } from '../lib/export/jobs.ts';
import { databaseExportJobStore, storageExportFileStore } from '../modules/jobs/exports.ts';
import { ExportJobResponse, exportJobView } from '../modules/exports/jobs.ts';
import { contentDisposition } from '../lib/export/format.ts';
import { zhStatus } from '../core/error-text.ts';
import { languageOf } from '../core/route.ts';

/**
 * Export jobs: the registry (as `app.exportJobs`: state in the jobs table, finished files in the
 * storage adapter under `exports/`, both removed an hour after they finish, so any process answers
 * the polling and the download) and the two generic routes a page polls and downloads with. A job
 * belongs to a tenant: another tenant's id is a 404, like an id that never existed.
 */
export function exportRoutes(app: App, s: Services, options: { dataDir: string; storage: FileStorage; ttlMs?: number }) {
  const tags = ['exports'];
  const jobs = createExportJobs({
    dir: path.resolve(options.dataDir, 'exports'),
    store: databaseExportJobStore(s.jobs),
    files: storageExportFileStore(options.storage),
    clock: s.clock,
    ...(options.ttlMs !== undefined ? { ttlMs: options.ttlMs } : {}),
    log: { info: (obj, msg) => app.log.info(obj, msg), error: (obj, msg) => app.log.error(obj, msg) },
  });
  app.decorate('exportJobs', jobs);
  app.addHook('onClose', async () => {
    await jobs.close();
  });

  async function jobFor(principal: ReturnType<typeof actor>['principal'], id: string): Promise<ExportJob> {
    const job = await jobs.get(tenantOf(principal), id);
    if (!job) throw notFound('export');
    requirePermission(principal, job.permission);
    return job;
  }

  app.get(
    '/v1/exports/:id',
    {
      config: { auth: 'tenant', permission: 'read' },
      schema: {
        tags,
        summary: 'An export job: its status and progress (rows written of the total)',
        params: IdParams,
        response: { 200: ExportJobResponse, ...errors(403, 404) },
      },
    },
    async (req) => exportJobView(await jobFor(actor(req).principal, req.params.id), languageOf(req)),
  );

  app.get(
    '/v1/exports/:id/download',
    {
      config: { auth: 'tenant', permission: 'read' },
      schema: {
        tags,
        summary: 'The finished export file (.xlsx or .csv); 409 until the job is done',
        params: IdParams,
        response: { ...errors(403, 404, 409) },
      },
    },
    async (req, reply) => {
      const job = await jobFor(actor(req).principal, req.params.id);
      const file = await jobs.file(job.tenantId, job.id);
      if (!file) throw invalidState({ en: `the export is ${job.status}, not ready for download`, zh: `导出任务状态为${zhStatus(job.status)}，尚不能下载` });
      // Read before answering: a file swept meanwhile is a 404, not a broken stream.
      const data = await file.read().catch(() => null);
      if (!data) throw notFound('export');
      return reply
        .header('content-type', file.contentType)
        .header('content-disposition', contentDisposition(file.filename))
        .header('content-length', String(data.length))
        .header('cache-control', 'no-store')
        .send(data);
    },
  );
}
