import fsp from 'node:fs/promises';
import path from 'node:path';
import { Type } from '@sinclair/typebox';
import { actor, type App } from './http.ts';
import { IdParams, Nullable, Strict, Timestamp, errors } from '../core/schema.ts';
import { requirePermission, tenantOf } from '../core/principal.ts';
import { invalidState, notFound } from '../core/errors.ts';
import type { Services } from './services.ts';
import { createExportJobs, type ExportJob, type ExportJobs } from '../lib/export/jobs.ts';
import { contentDisposition } from '../lib/export/format.ts';

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * Export jobs of this server: a business route starts one with
     * `app.exportJobs.start({ tenantId, spec, rows: () => pages, format, tz, filename })` and
     * answers 202 with its id; the console polls GET /v1/exports/{id} and downloads.
     */
    exportJobs: ExportJobs;
  }
}

export const ExportJobResponse = Strict(
  {
    id: Type.String(),
    name: Type.String(),
    title: Type.String(),
    format: Type.Union([Type.Literal('xlsx'), Type.Literal('csv')]),
    filename: Type.String(),
    status: Type.Union([Type.Literal('queued'), Type.Literal('running'), Type.Literal('done'), Type.Literal('failed'), Type.Literal('cancelled')]),
    rows_written: Type.Integer({ minimum: 0 }),
    total: Nullable(Type.Integer({ minimum: 0 })),
    percent: Nullable(Type.Integer({ minimum: 0, maximum: 100, description: 'null while the total is unknown; 100 once done' })),
    totals: Nullable(Type.Record(Type.String(), Type.String({ description: 'integer sum, in fen for amount columns' }))),
    size: Nullable(Type.Integer({ minimum: 0 })),
    created_at: Timestamp(),
    started_at: Nullable(Timestamp()),
    finished_at: Nullable(Timestamp()),
    expires_at: Nullable(Timestamp('the file and the job are deleted then')),
    error: Nullable(Strict({ code: Type.String(), message: Type.String() })),
    download_url: Nullable(Type.String()),
  },
  { title: 'Export job' },
);

export function exportJobView(job: ExportJob) {
  const percent =
    job.status === 'done'
      ? 100
      : job.total !== null && job.total > 0
        ? Math.min(99, Math.floor((job.rowsWritten * 100) / job.total))
        : job.total === 0
          ? 0
          : null;
  return {
    id: job.id,
    name: job.name,
    title: job.title,
    format: job.format,
    filename: job.filename,
    status: job.status,
    rows_written: job.rowsWritten,
    total: job.total,
    percent,
    totals: job.totals,
    size: job.size,
    created_at: job.createdAt.toISOString(),
    started_at: job.startedAt?.toISOString() ?? null,
    finished_at: job.finishedAt?.toISOString() ?? null,
    expires_at: job.expiresAt?.toISOString() ?? null,
    error: job.error,
    download_url: job.status === 'done' ? `/v1/exports/${job.id}/download` : null,
  };
}

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
