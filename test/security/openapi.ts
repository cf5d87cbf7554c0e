/**
 * Reading the OpenAPI document the server serves at run time: its operations, who may call each
 * (x-auth, x-permission), and a valid request for each, built from its schemas. The security
 * walker and the fuzzer both start from here, so a route added tomorrow is walked tomorrow.
 */

import type { JsonBody } from '../support/json.ts';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type Schema = Record<string, JsonBody>;

export interface OpenApiDoc {
  paths: Record<string, Record<string, JsonBody>>;
  components?: { schemas?: Record<string, Schema> };
}

export interface Operation {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** As in the document: /v1/distributors/{id}. */
  path: string;
  /** x-auth: root, tenant, distributor, tenant_or_distributor or public. */
  auth: string;
  /** x-permission: what a tenant caller needs, or 'any'. */
  permission: string | undefined;
  pathParams: { name: string; schema: Schema }[];
  queryParams: { name: string; schema: Schema; required: boolean }[];
  headerParams: { name: string; schema: Schema; required: boolean }[];
  /** The JSON body's schema, when the operation takes one. */
  body: Schema | undefined;
  bodyRequired: boolean;
  /** Other request content types the operation takes (uploads): x-consumes or requestBody. */
  consumes: string[];
  label: string;
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

export function operationsOf(doc: OpenApiDoc): Operation[] {
  const out: Operation[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const m of METHODS) {
      const op = item[m];
      if (!op) continue;
      const params: JsonBody[] = [...(item.parameters ?? []), ...(op.parameters ?? [])];
      const content: Record<string, { schema?: Schema }> = op.requestBody?.content ?? {};
      const json = content['application/json'];
      const consumes = [...Object.keys(content).filter((c) => c !== 'application/json'), ...((op['x-consumes'] as string[] | undefined) ?? [])];
      out.push({
        method: m.toUpperCase() as Operation['method'],
        path,
        auth: op['x-auth'] ?? (Array.isArray(op.security) && op.security.length === 0 ? 'public' : 'unknown'),
        permission: op['x-permission'],
        pathParams: params.filter((p) => p.in === 'path').map((p) => ({ name: p.name, schema: p.schema ?? {} })),
        queryParams: params.filter((p) => p.in === 'query').map((p) => ({ name: p.name, schema: p.schema ?? {}, required: !!p.required })),
        headerParams: params
          .filter((p) => p.in === 'header')
          .map((p) => ({ name: String(p.name).toLowerCase(), schema: p.schema ?? {}, required: !!p.required })),
        body: json?.schema,
        bodyRequired: !!op.requestBody?.required,
        consumes,
        label: `${m.toUpperCase()} ${path}`,
      });
    }
  }
  return out;
}

/** Follows local `$ref`s into components.schemas. */
export function deref(doc: OpenApiDoc, schema: Schema | undefined): Schema {
  let s = schema ?? {};
  for (let i = 0; i < 20 && typeof s.$ref === 'string'; i++) {
    const name = s.$ref.replace(/^#\/components\/schemas\//, '');
    s = doc.components?.schemas?.[name] ?? {};
  }
  return s;
}

/** The non-null alternatives of anyOf/oneOf, or the schema itself. */
export function alternatives(doc: OpenApiDoc, schema: Schema | undefined): Schema[] {
  const s = deref(doc, schema);
  const alts = (s.anyOf ?? s.oneOf) as Schema[] | undefined;
  if (!alts) return [s];
  return alts.map((a) => deref(doc, a)).filter((a) => a.type !== 'null');
}

export function typeOf(s: Schema): string | undefined {
  if (Array.isArray(s.type)) return s.type.find((x: string) => x !== 'null');
  if (s.type) return s.type;
  if (s.properties) return 'object';
  if (s.const !== undefined) return typeof s.const;
  return undefined;
}

/** Strings tried, in order, against a pattern nobody gave an example for. */
const PATTERN_CANDIDATES = [
  'walker',
  'Walker1',
  'abc',
  'a_b',
  'ABCDEFGH',
  '13900000000',
  '440305',
  '110101199003074578',
  '2088123412341234',
  'sku-1',
  'W1',
  '0001',
  '6222020200112233445',
  'ab-12',
  'o_walker',
  '127.0.0.1',
  'device-1',
  'A',
  '1',
  'a',
];

function patternTest(pattern: string, value: string): boolean {
  try {
    return new RegExp(pattern, 'u').test(value);
  } catch {
    return new RegExp(pattern).test(value);
  }
}

/** A string the schema accepts (length, pattern, format). */
export function validString(s: Schema, preferred?: string): string {
  const min = s.minLength ?? 0;
  const max = s.maxLength ?? 10_000;
  const ok = (v: string) => v.length >= min && v.length <= max && (!s.pattern || patternTest(s.pattern, v));
  if (s.format === 'date-time') return '2026-03-01T08:00:00.000Z';
  if (s.format === 'date') return '2026-03-01';
  if (s.format === 'email') return 'walker@example.com';
  if (s.format === 'uri') return 'https://example.com/';
  if (preferred !== undefined && ok(preferred)) return preferred;
  for (const c of PATTERN_CANDIDATES) {
    if (ok(c)) return c;
    const padded = c.padEnd(min, c.at(-1) ?? 'a');
    if (ok(padded)) return padded;
  }
  if (!s.pattern) return 'w'.repeat(Math.max(min, Math.min(max, 6)));
  return 'w'.repeat(Math.max(min, 1));
}

export function validNumber(s: Schema): number {
  let lo: number = s.minimum ?? (s.exclusiveMinimum !== undefined ? s.exclusiveMinimum + 1 : 0);
  const hi: number = s.maximum ?? (s.exclusiveMaximum !== undefined ? s.exclusiveMaximum - 1 : Number.MAX_SAFE_INTEGER);
  if (s.default !== undefined && typeof s.default === 'number') return s.default;
  if (lo < 1 && hi >= 1) lo = 1;
  return Math.min(lo, hi);
}

/**
 * What a field is for, from its name: the walker and the fuzzer give real ids and sensible
 * values here, so a request reaches the rules behind the schema. Undefined: build from the schema.
 */
export type Hints = (name: string, schema: Schema) => Json | undefined;

/**
 * A valid value for the schema: required properties only (so a PATCH is a no-op and no optional
 * switch is flipped), the first alternative of a union, the first member of an enum.
 */
export function example(doc: OpenApiDoc, schema: Schema | undefined, hints: Hints, name = '', depth = 0): Json {
  const s = deref(doc, schema);
  if (name) {
    const h = hints(name, s);
    if (h !== undefined) return h;
  }
  if (s.const !== undefined) return s.const;
  if (Array.isArray(s.enum) && s.enum.length > 0) return s.enum[0];
  if (s.anyOf || s.oneOf) {
    const alts = alternatives(doc, s);
    return alts.length > 0 ? example(doc, alts[0], hints, name, depth + 1) : null;
  }
  switch (typeOf(s)) {
    case 'object': {
      const out: { [k: string]: Json } = {};
      const required: string[] = s.required ?? [];
      for (const key of required) out[key] = example(doc, s.properties?.[key], hints, key, depth + 1);
      return out;
    }
    case 'array': {
      const n = Math.max(s.minItems ?? 0, 0);
      return Array.from({ length: n }, () => example(doc, s.items, hints, name.replace(/s$/, ''), depth + 1));
    }
    case 'string':
      return validString(s);
    case 'integer':
    case 'number':
      return validNumber(s);
    case 'boolean':
      return false;
    case 'null':
      return null;
    default:
      return {};
  }
}

/** Percent-encodes any string, unpaired surrogates too (as U+FFFD, as a UTF-8 encoder would send them). */
export const pct = (v: string) => encodeURIComponent((v as string & { toWellFormed(): string }).toWellFormed());

/** Fills a path template: /v1/distributors/{id} with { id: 'dst_1' }. */
export function fillPath(path: string, values: Record<string, string>): string {
  return path.replace(/\{([^}]+)\}/g, (_m, name: string) => {
    const v = values[name];
    if (v === undefined) throw new Error(`no value for {${name}} of ${path}`);
    return pct(v);
  });
}

/** The path segment before each parameter: what kind of id it is (distributors → {id}). */
export function paramCollections(path: string): Record<string, string> {
  const segments = path.split('/');
  const out: Record<string, string> = {};
  segments.forEach((seg, i) => {
    const m = /^\{(.+)\}$/.exec(seg);
    if (m) out[m[1]!] = segments[i - 1] ?? '';
  });
  return out;
}

export function queryString(values: Record<string, Json | undefined>): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(values)) {
    if (v === undefined) continue;
    if (Array.isArray(v)) for (const x of v) parts.push(`${pct(k)}=${pct(String(x))}`);
    else parts.push(`${pct(k)}=${pct(typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v))}`);
  }
  return parts.length ? `?${parts.join('&')}` : '';
}

/** A 1×1 PNG: the smallest real image, for document and poster uploads. */
export const TINY_PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');

export function multipartBody(
  fields: Record<string, string>,
  file: { field: string; filename: string; contentType: string; data: Buffer },
): { payload: Buffer; contentType: string } {
  const boundary = `----fenxiao-walker-${Math.random().toString(16).slice(2)}`;
  const parts: Buffer[] = [];
  for (const [k, v] of Object.entries(fields)) {
    parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`));
  }
  parts.push(
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="${file.field}"; filename="${file.filename}"\r\nContent-Type: ${file.contentType}\r\n\r\n`,
    ),
  );
  parts.push(file.data);
  parts.push(Buffer.from(`\r\n--${boundary}--\r\n`));
  return { payload: Buffer.concat(parts), contentType: `multipart/form-data; boundary=${boundary}` };
}
