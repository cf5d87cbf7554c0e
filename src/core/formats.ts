import type { Ajv, SchemaValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { fullFormats } from 'ajv-formats/dist/formats.js';
import { holdsBidiControl } from './text.ts';
import { isValidTimeZone } from './time.ts';

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
  // `x-no-bidi` (schema.ts's Text): no bidirectional control characters, which reorder what a
  // screen shows (text.ts). A keyword rather than a pattern, so a Text keeps a pattern of its own.
  const noBidi: SchemaValidateFunction = (on: boolean, data: string) => {
    if (!on || !holdsBidiControl(data)) return true;
    noBidi.errors = [
      {
        keyword: 'x-no-bidi',
        message: 'must not contain bidirectional control characters (U+202A-U+202E, U+2066-U+2069, U+200E, U+200F, U+061C): they reorder what screens show',
        params: {},
      },
    ];
    return false;
  };
  ajv.addKeyword({ keyword: 'x-no-bidi', type: 'string', schemaType: 'boolean', errors: true, validate: noBidi });
  return ajv;
}
