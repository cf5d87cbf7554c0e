/**
 * Exports of tables as .xlsx (streamed through exceljs) and CSV, to an HTTP response, a file or
 * a background job. A business module defines a spec, pages its query, and calls one of:
 *
 *   const withdrawalsExport = defineExport<WithdrawalRow>({
 *     name: 'withdrawals', title: { zh: '提现台账', en: 'Withdrawals' },
 *     columns: [
 *       { key: 'id', header: { zh: '提现单号', en: 'Withdrawal' }, type: 'text' },
 *       { key: 'amount_fen', header: { zh: '金额（元）', en: 'Amount (CNY)' }, type: 'fen' },
 *       { key: 'requested_at', header: { zh: '申请时间', en: 'Requested at' }, type: 'datetime' },
 *     ],
 *     totals: ['amount_fen'],
 *   });
 *   const rows = keysetPages({ fetch: (after, limit) => repo.page(tenantId, filters, after, limit), cursorOf: (r) => r.id });
 *   return sendExport(reply, withdrawalsExport, rows, { format: 'xlsx', tz, filename: '提现台账-2026-03', params: filters });
 */
export * from './spec.ts';
export { fenToYuan, bpToPercent, contentDisposition, guardFormula, XLSX_EXACT_LIMIT, ExportDataError } from './format.ts';
export { ExportAbortedError, type ExportResult, type WriteOptions } from './flow.ts';
export { writeXlsx, XLSX_CONTENT_TYPE } from './xlsx.ts';
export { writeCsv, CSV_CONTENT_TYPE } from './csv.ts';
export { writeExport, contentTypeOf } from './write.ts';
export { keysetPages, primeRows, type KeysetPagesOptions } from './source.ts';
export { sendExport, type SendExportOptions } from './http.ts';
export { createExportJobs, EXPORT_TTL_MS, type ExportJob, type ExportJobs, type ExportJobStatus, type StartExportJob } from './jobs.ts';
