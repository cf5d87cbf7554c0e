import type { Static, TSchema } from '@sinclair/typebox';
import { Ajv, type ErrorObject } from 'ajv';
import { addFenxiaoFormats } from '../../core/formats.ts';
import { MESSAGES, type LocalText } from '../../core/error-text.ts';
import { MappingError } from './formats/types.ts';

/**
 * The same validation the HTTP layer applies to request bodies (app/http.ts): Ajv with formats,
 * no type coercion, defaults applied, unknown fields refused by the schemas themselves. A
 * message from the queue or a mapped webhook passes exactly what POST /v1/orders would.
 */
const ajv = new Ajv({ strict: false, allErrors: false, useDefaults: true, removeAdditional: false, coerceTypes: false });
addFenxiaoFormats(ajv);
ajv.addKeyword({ keyword: 'x-pii' });

/** Field names only when they look like one: a key is caller input and may hold personal data. */
const fieldName = (name: string) => (/^[A-Za-z_][A-Za-z0-9_-]{0,63}$|^[0-9]{1,6}$/.test(name) ? name : '…');

function message(where: string, e: ErrorObject): LocalText {
  const path = `${where}${e.instancePath
    .split('/')
    .map((p, i) => (i === 0 ? p : fieldName(p)))
    .join('/')}`;
  if (e.keyword === 'additionalProperties')
    return MESSAGES.unknownField(path, fieldName(String((e.params as { additionalProperty?: string }).additionalProperty)));
  if (e.keyword === 'required') return MESSAGES.missingField(path, fieldName(String((e.params as { missingProperty?: string }).missingProperty)));
  return MESSAGES.invalidValue(path, e.keyword, e.params as Record<string, unknown>, e.message);
}

/** A checker for one schema: answers the value typed, or throws MappingError with the first problem. */
export function validator<T extends TSchema>(schema: T, where: string): (value: unknown) => Static<T> {
  const check = ajv.compile(schema);
  return (value) => {
    if (check(value)) return value as Static<T>;
    const first = check.errors?.[0];
    throw new MappingError(first ? message(where, first) : { en: `${where} is invalid`, zh: `${where} 无效` });
  };
}
