import { invalid } from '../../core/errors.ts';
import type { ChangeTiming } from './service.ts';

/** An `effective_from` query: an ISO 8601 time in the years 1900–9999, else 400. */
export function parseEffectiveFrom(text: string): Date {
  const ms = Date.parse(text);
  if (!/^\d{4}-\d{2}-\d{2}/.test(text) || Number.isNaN(ms))
    throw invalid({ en: 'effective_from must be an ISO 8601 time', zh: 'effective_from 须为 ISO 8601 时间' });
  const year = new Date(ms).getUTCFullYear();
  if (year < 1900 || year > 9999)
    throw invalid({ en: 'effective_from must be between the years 1900 and 9999', zh: 'effective_from 须在 1900 年到 9999 年之间' });
  return new Date(ms);
}

/** `?effective_from=…&reason=…` as a service takes it. */
export function timingOf(q: { effective_from?: string | undefined; reason?: string | undefined }): ChangeTiming {
  return { effectiveFrom: q.effective_from === undefined ? undefined : parseEffectiveFrom(q.effective_from), reason: q.reason };
}
