import type { Static, TSchema } from '@sinclair/typebox';
import { Ajv } from 'ajv';
import { addFenxiaoFormats } from '../../core/formats.ts';
import { validationText } from '../../core/validation-text.ts';
import { MappingError } from './formats/types.ts';

/**
 * The same validation the HTTP layer applies to request bodies (app/http.ts): Ajv with formats,
 * no type coercion, defaults applied, unknown fields refused by the schemas themselves. A
 * message from the queue or a mapped webhook passes exactly what POST /v1/orders would.
 */
const ajv = new Ajv({ strict: false, allErrors: false, useDefaults: true, removeAdditional: false, coerceTypes: false });
addFenxiaoFormats(ajv);
ajv.addKeyword({ keyword: 'x-pii' });

/** A checker for one schema: answers the value typed, or throws MappingError with the first problem. */
export function validator<T extends TSchema>(schema: T, where: string): (value: unknown) => Static<T> {
  const check = ajv.compile(schema);
  return (value) => {
    if (check(value)) return value as Static<T>;
    throw new MappingError(validationText(where, check.errors));
  };
}
