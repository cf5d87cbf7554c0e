import { invalid } from '../../core/errors.ts';
import type { ChangeTiming } from './service.ts';

/** An `effective_from` query: an ISO 8601 time in the years 1900–9999, else 400. */
export function parseEffectiveFrom(text: string): Date {
  const ms = Date.parse(text);
  if (!/^\d{4}-\d{2}-\d{2}/.test(text) || Number.isNaN(ms)) throw invalid('effective_from must be an ISO 8601 time');
  const year = new Date(ms).getUTCFullYear();
  if (year < 1900 || year > 9999) throw invalid('effective_from must be between the years 1900 and 9999');
  return new Date(ms);
}

/** `?effective_from=…&reason=…` as a service takes it. */
export function timingOf(q: { effective_from?: string | undefined; reason?: string | undefined }): ChangeTiming {
  return { effectiveFrom: q.effective_from === undefined ? undefined : parseEffectiveFrom(q.effective_from), reason: q.reason };
}
