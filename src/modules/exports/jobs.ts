import { Type } from '@sinclair/typebox';
import type { Language } from '../../core/error-text.ts';
import { jobErrorIn } from '../../core/errors.ts';
import { Nullable, Strict, Timestamp } from '../../core/schema.ts';
import type { ExportJob, ExportJobs } from '../../lib/export/jobs.ts';

/*
 * What the exports' routes and the generic job routes (src/app/export-routes.ts) share: the
 * server's job registry as `app.exportJobs` (decorated by the job routes before the module's
 * routes are registered), and a job as the API answers it.
 */
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

/** The job as the API answers it, a failure's message in `lang` (the job keeps both). */
export function exportJobView(job: ExportJob, lang: Language) {
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
    error: jobErrorIn(job.error, lang),
    download_url: job.status === 'done' ? `/v1/exports/${job.id}/download` : null,
  };
}
