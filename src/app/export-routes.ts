import fsp from 'node:fs/promises';
import path from 'node:path';
import { actor, type App } from './http.ts';
import { IdParams, errors } from '../core/schema.ts';
import { requirePermission, tenantOf } from '../core/principal.ts';
import { invalidState, notFound } from '../core/errors.ts';
import type { Services } from './services.ts';
import { createExportJobs, type ExportJob } from '../lib/export/jobs.ts';
import { ExportJobResponse, exportJobView } from '../modules/exports/jobs.ts';
import { contentDisposition } from '../lib/export/format.ts';

/**
 * Export jobs: the registry (as `app.exportJobs`, files under `<data dir>/exports`, removed an
 * hour after they finish) and the two generic routes a page polls and downloads with. A job
 * belongs to a tenant: another tenant's id is a 404, like an id that never existed.
 */
export function exportRoutes(app: App, s: Services, options: { dataDir: string; ttlMs?: number }) {
  const tags = ['exports'];
  const jobs = createExportJobs({
    dir: path.resolve(options.dataDir, 'exports'),
    clock: s.clock,
    ...(options.ttlMs !== undefined ? { ttlMs: options.ttlMs } : {}),
    log: { info: (obj, msg) => app.log.info(obj, msg), error: (obj, msg) => app.log.error(obj, msg) },
  });
  app.decorate('exportJobs', jobs);
  app.addHook('onClose', async () => {
    await jobs.close();
  });

  function jobFor(principal: ReturnType<typeof actor>['principal'], id: string): ExportJob {
    const job = jobs.get(tenantOf(principal), id);
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
    async (req) => exportJobView(jobFor(actor(req).principal, req.params.id)),
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
      const job = jobFor(actor(req).principal, req.params.id);
      const file = jobs.file(job.tenantId, job.id);
      if (!file) throw invalidState(`the export is ${job.status}, not ready for download`);
      // Opened before answering: a file swept meanwhile is a 404, not a broken stream.
      const handle = await fsp.open(file.path, 'r').catch(() => null);
      if (!handle) throw notFound('export');
      const { size } = await handle.stat();
      return reply
        .header('content-type', file.contentType)
        .header('content-disposition', contentDisposition(file.filename))
        .header('content-length', String(size))
        .header('cache-control', 'no-store')
        .send(handle.createReadStream());
    },
  );
}
