import type { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { fullFormats } from 'ajv-formats/dist/formats.js';
import { isValidTimeZone } from '../lib/time.ts';

/**
 * The years a timestamp may carry. RFC 3339 allows 0000–9999, but year 0 is 1 BC to PostgreSQL
 * (node-postgres sends it as such and the server accepts it, PGlite refuses it): no business date
 * of Fenxiao's is before 1900, so such a date is the caller's mistake, refused as invalid_request
 * by the schema on either database.
 */
export const MIN_YEAR = 1900;

const dateTime = fullFormats['date-time'] as { validate: (s: string) => boolean } | ((s: string) => boolean);
const isRfc3339 = typeof dateTime === 'function' ? dateTime : dateTime.validate;

/**
 * ajv-formats, with date-time held to years MIN_YEAR..9999, and `time-zone`: an IANA zone the
 * runtime's zone list (Intl, aliases included) knows. A zone of the right shape that it does not
 * know made every local-day computation of a tenant throw. The one set of formats every
 * validator uses.
 */
export function addFenxiaoFormats(ajv: Ajv): Ajv {
  (addFormats as unknown as (a: Ajv) => void)(ajv);
  ajv.addFormat('date-time', { type: 'string', validate: (s: string) => isRfc3339(s) && Number(s.slice(0, 4)) >= MIN_YEAR });
  ajv.addFormat('time-zone', { type: 'string', validate: isValidTimeZone });
  return ajv;
}
