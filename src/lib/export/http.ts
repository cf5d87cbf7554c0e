import { PassThrough } from 'node:stream';
import type { FastifyReply } from 'fastify';
import { invalid } from '../../core/errors.ts';
import { isValidTimeZone } from '../../core/time.ts';
import { isExportFormat, isLang, type ExportFormat, type ExportSpec, type Lang, type RowSource } from './spec.ts';
import { plan } from './cells.ts';
import { contentDisposition, withExtension } from './format.ts';
import { ExportAbortedError, type ExportResult } from './flow.ts';
import { primeRows } from './source.ts';
import { contentTypeOf, writeExport } from './write.ts';

export interface SendExportOptions {
  format: ExportFormat;
  /** zh by default. */
  lang?: Lang;
  /** IANA time zone for datetimes: the tenant's program time zone. */
  tz: string;
  /** The download's name, extension added when missing; any Unicode (sent per RFC 5987). */
  filename: string;
  /** Filters the export was made with, for the about sheet. */
  params?: Record<string, unknown>;
  generatedAt?: Date;
  onProgress?: (rowsWritten: number) => void;
  /** Told how the export ended (rows, or the error), after the response has been handed over. */
  onDone?: (outcome: { ok: true; result: ExportResult } | { ok: false; error: Error; aborted: boolean }) => void;
}

/**
 * Streams an export as the response: Content-Type and an RFC 5987 Content-Disposition, rows
 * pulled only as fast as the client reads (Fastify pipes with backpressure), and a client that
 * goes away stops the row source (its `return()` runs, so a keyset pager stops querying).
 *
 * The first row is read before the response starts, so a failing first query is an ordinary
 * JSON error. A failure after that destroys the connection: the client sees a broken download,
 * never a file that merely looks complete. Return the promise from the handler:
 *
 *   return sendExport(reply, withdrawalsExport, rows, { format: q.format, tz, filename: '提现台账' });
 */
export async function sendExport<Row>(reply: FastifyReply, spec: ExportSpec<Row>, rows: RowSource<Row>, options: SendExportOptions): Promise<FastifyReply> {
  const { format } = options;
  const lang = options.lang ?? 'zh';
  if (!isExportFormat(format)) throw invalid({ en: 'format must be xlsx or csv', zh: 'format 应为 xlsx 或 csv' });
  if (!isLang(lang)) throw invalid({ en: 'lang must be zh or en', zh: 'lang 应为 zh 或 en' });
  if (!isValidTimeZone(options.tz)) throw invalid({ en: `unknown time zone "${options.tz}"`, zh: `未知的时区 "${options.tz}"` });
  plan(spec, lang, options.tz);

  const primed = await primeRows(rows);
  const res = reply.raw;
  const controller = new AbortController();
  const onClose = () => {
    if (!res.writableFinished) controller.abort(new ExportAbortedError('the client went away'));
  };
  res.on('close', onClose);

  const body = new PassThrough();
  const log = reply.log;
  const writeOptions = {
    lang,
    tz: options.tz,
    signal: controller.signal,
    ...(options.params ? { params: options.params } : {}),
    ...(options.generatedAt ? { generatedAt: options.generatedAt } : {}),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
  };
  void (async () => {
    let outcome: Parameters<NonNullable<SendExportOptions['onDone']>>[0];
    try {
      const result = await writeExport(format, spec, primed, body, writeOptions);
      log.info({ export: spec.name, format, rows: result.rows }, 'export sent');
      outcome = { ok: true, result };
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      const aborted = error instanceof ExportAbortedError;
      if (aborted) log.info({ export: spec.name, format }, `export stopped: ${error.message}`);
      else log.error({ err: error, export: spec.name, format }, 'export failed while streaming');
      outcome = { ok: false, error, aborted };
    } finally {
      res.off('close', onClose);
      await primed.close().catch((err: unknown) => log.warn({ err, export: spec.name }, 'closing the export row source failed'));
    }
    try {
      options.onDone?.(outcome);
    } catch (err) {
      log.error({ err, export: spec.name }, 'export onDone callback failed');
    }
  })();

  return reply
    .header('content-type', contentTypeOf(format))
    .header('content-disposition', contentDisposition(withExtension(options.filename, format)))
    .header('cache-control', 'no-store')
    .send(body);
}
