/**
 * The fuzzer: at least 10,000 malformed and hostile requests generated from the OpenAPI document
 * the server serves (FENXIAO_FUZZ_REQUESTS to scale, FENXIAO_FUZZ_SEED to replay). Each starts
 * from a valid request for one operation, aimed at a populated tenant, and breaks one thing:
 * a field's type or size, a number's range, a string's characters (control, unpaired surrogates,
 * SQL, HTML, template, formula), a required field, an unknown or prototype-polluting key, the
 * nesting, the JSON itself, the bytes (invalid UTF-8), the content type, the query, a path id, a
 * header. No answer may be a 5xx; every 4xx has the error shape with a code of the catalogue and
 * its status; and a refused request wrote nothing: a row trigger on every table logs each insert,
 * update and delete of the tenant, and the log must not grow across a refusal. Afterwards the
 * ledger and the audit chain verify clean.
 *
 * A failure names the request and how to replay it; FENXIAO_FUZZ_TRACE=12,345 prints those
 * requests and what they wrote as they run.
 */
import fc from 'fast-check';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_STATUS } from '../../src/core/errors.ts';
import { MAX_FEN } from '../../src/core/schema.ts';
import { verifyLedger } from '../../src/modules/ledger/verify.ts';
import { onPostgres } from '../support/db.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import {
  deref,
  fillPath,
  multipartBody,
  operationsOf,
  pct,
  queryString,
  TINY_PNG,
  typeOf,
  type Json,
  type OpenApiDoc,
  type Operation,
  type Schema,
} from './openapi.ts';
import { hintsFor, pathValues, requestFor } from './walk.ts';
import { buildWorld, type World } from './world.ts';

/** Routes that render (PNG, .xlsx), check a whole ledger, or hash a password with scrypt on purpose. */
const HEAVY = /poster|\/exports\/|reconciliation|verify|qrcode|\/me\/invite|bank-file|download|login|admin-users|\/apply|password/;
const REQUESTS = Number(process.env.FENXIAO_FUZZ_REQUESTS ?? 10_000);
const SEED = Number(process.env.FENXIAO_FUZZ_SEED ?? 20261125);

let t: TestServer;
let doc: OpenApiDoc;
let w: World;

beforeAll(async () => {
  t = await startTestServer();
  w = await buildWorld(t, 'fz');
  doc = (await t.call('GET', '/openapi.json')).data as OpenApiDoc;
  await installWriteLog(t, w.tenantId);
}, 300_000);
afterAll(async () => {
  if (t) await removeWriteLog(t).catch(() => {});
  await t?.close();
});

// ------------------------------------------------------------------------------ the write log

/**
 * A row trigger on every table appends (table, operation) to fuzz_writes for each row of the fuzz
 * tenant that is inserted, updated or deleted, in the writer's own transaction: a rolled-back
 * write leaves nothing, a committed one a line. Rows of other tenants (PostgreSQL runs share one
 * database between test files) are not logged.
 */
async function installWriteLog(s: TestServer, tenantId: string) {
  const db = s.database.db;
  await sql`create table if not exists fuzz_writes (id bigserial primary key, tbl text not null, op text not null, row text)`.execute(db);
  const shared = onPostgres();
  await sql
    .raw(
      `create or replace function fuzz_log_write() returns trigger language plpgsql as $$
    declare j jsonb := to_jsonb(coalesce(new, old)); k text;
    begin
      k := coalesce(j->>'tenant_id', case tg_table_name when 'tenants' then j->>'id' when 'audit_heads' then j->>'chain' end);
      if k = '${tenantId}' or (k is null and ${shared ? 'false' : 'true'}) then
        insert into fuzz_writes (tbl, op, row) values (tg_table_name, tg_op, left(j::text, 400));
      end if;
      return null;
    end $$`,
    )
    .execute(db);
  const tables = await sql<{ table_name: string }>`select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE'
    and table_name not in ('fuzz_writes', 'fenxiao_migrations', 'fenxiao_migrations_lock')`.execute(db);
  for (const { table_name } of tables.rows) {
    await sql
      .raw(
        `drop trigger if exists fuzz_log_write on "${table_name}"; create trigger fuzz_log_write after insert or update or delete on "${table_name}" for each row execute function fuzz_log_write()`,
      )
      .execute(db);
  }
}

async function removeWriteLog(s: TestServer) {
  const db = s.database.db;
  const tables = await sql<{
    event_object_table: string;
  }>`select distinct event_object_table from information_schema.triggers where trigger_name = 'fuzz_log_write'`.execute(db);
  for (const { event_object_table } of tables.rows) await sql.raw(`drop trigger if exists fuzz_log_write on "${event_object_table}"`).execute(db);
}

async function writesSince(id: number): Promise<{ last: number; tables: string[]; rows: string[] }> {
  const r = await sql<{
    id: string;
    tbl: string;
    op: string;
    row: string;
  }>`select id::text as id, tbl, op, row from fuzz_writes where fuzz_writes.id > ${id} order by fuzz_writes.id`.execute(t.database.db);
  // What was stored is the net change: a row inserted and deleted again as it was (a buyer created
  // for an order the same transaction then refused) leaves nothing behind.
  const net = [...r.rows];
  for (let i = net.length - 1; i >= 0; i--) {
    const del = net[i]!;
    if (del.op !== 'DELETE') continue;
    const ins = net.findIndex((x, j) => j < i && x.op === 'INSERT' && x.tbl === del.tbl && x.row === del.row);
    if (ins < 0) continue;
    net.splice(i, 1);
    net.splice(ins, 1);
    i--;
  }
  return {
    last: r.rows.length ? Number(r.rows.at(-1)!.id) : id,
    tables: net.map((x) => `${x.op} ${x.tbl}`),
    rows: net.map((x) => `${x.op} ${x.tbl} ${x.row}`),
  };
}

// ----------------------------------------------------------------------------- hostile values

const LONG = 'x'.repeat(100_000);
const SQL = [
  `'; drop table distributors; --`,
  `' or '1'='1`,
  `1; select pg_sleep(5)--`,
  `$$; drop table orders; $$`,
  `\\'; delete from postings; --`,
  `') union select api_keys.secret_hash from api_keys--`,
];
const HTML = [
  '<script>alert(1)</script>',
  '<img src=x onerror=alert(document.cookie)>',
  '"><svg onload=alert(1)>',
  'javascript:alert(1)',
  '{{constructor.constructor("alert(1)")()}}',
  '${7*7}',
];
const CONTROL = [
  '\u0000',
  'a\u0000b',
  '\u0001\u0002\u001f\u007f',
  '\r\n\r\nX-Injected: 1',
  '\u2028\u2029',
  '\u202e\u200f\u200b',
  '\ud800',
  'a\udfffb',
  '\ufeff',
  '\u0085',
];
const OTHER_STRINGS = [
  '',
  ' ',
  '   ',
  '../../etc/passwd',
  '..%2f..%2f',
  '%00',
  "=cmd|' /C calc'!A0",
  '@SUM(1+1)',
  'null',
  'true',
  '-1',
  '1e308',
  'NaN',
  '0000-00-00T00:00:00Z',
  '0000-01-01T00:00:00Z',
  '2026-02-30T00:00:00Z',
  '9999-12-31T23:59:59.999Z',
  '+275760-09-13T00:00:00Z',
  '1970-01-01T00:00:00Z',
  '2026-13-45T25:61:61Z',
  '🙂'.repeat(300),
  '分'.repeat(5000),
  LONG,
];
const NUMBERS = [
  1e308,
  -1e308,
  Number.MAX_VALUE,
  Number.MIN_VALUE,
  -0,
  0.5,
  -1,
  -1.5,
  2 ** 31,
  2 ** 53,
  2 ** 63,
  1e21,
  MAX_FEN + 1,
  -MAX_FEN * 10 - 1,
  -(2 ** 53),
  10001,
  4,
  1e-7,
];
/** Number literals JSON.stringify cannot write: spliced into the raw body text. */
const RAW_NUMBERS = [
  '9007199254740993',
  '1e400',
  '-1e400',
  'NaN',
  'Infinity',
  '-Infinity',
  '0x10',
  '1_000',
  '01',
  '.5',
  '+1',
  '1e',
  '123456789012345678901234567890',
];

const STRINGS = [...SQL, ...HTML, ...CONTROL, ...OTHER_STRINGS];

function deep(depth: number, leaf: Json = 1): Json {
  let v: Json = leaf;
  for (let i = 0; i < depth; i++) v = i % 2 ? [v] : { a: v };
  return v;
}

const hostileValue: fc.Arbitrary<Json | { raw: string }> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...STRINGS) },
  { weight: 3, arbitrary: fc.constantFrom(...NUMBERS) },
  { weight: 2, arbitrary: fc.constantFrom(...RAW_NUMBERS).map((raw) => ({ raw })) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme-composite', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.double() },
  { weight: 1, arbitrary: fc.integer() },
  {
    weight: 2,
    arbitrary: fc.constantFrom<Json>(null, true, false, [], {}, [1, 2], { a: 1 }, [null], ['x'], { __proto__: { polluted: true } } as unknown as Json),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      deep(50),
      deep(2_000),
      Array.from({ length: 20_000 }, (_, i) => i),
      Array.from({ length: 600 }, () => ({ sku: 's', quantity: 1, unit_price_fen: 1, paid_fen: 1 })),
    ),
  },
);

/** Keys that try to pollute prototypes or hide among the real ones. */
const HOSTILE_KEYS = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  '__defineGetter__',
  'tenant_id',
  'id',
  '',
  ' ',
  '\u0000',
  'a'.repeat(10_000),
  '$where',
  'is_admin',
  'role',
];

/** Whole bodies that are not JSON, or not the JSON asked for. */
const RAW_BODIES: (string | Buffer)[] = [
  '{',
  '}',
  '{"a":',
  '[',
  '{"a":1,}',
  "{'a':1}",
  '{"a":1}{"b":2}',
  '{a:1}',
  'null',
  'true',
  '0',
  '"string"',
  '[]',
  '[{}]',
  '{"a":1/*c*/}',
  '\ufeff{}',
  '{"__proto__":{"polluted":true}}',
  '{"constructor":{"prototype":{"polluted":true}}}',
  '{"a":"\\ud800"}',
  '{"a":"\\u0000"}',
  '{"a":1,"a":2}',
  `{"x":${'['.repeat(100_000)}${']'.repeat(100_000)}}`,
  '['.repeat(200_000),
  `{"s":"${'\\u00e9'.repeat(10_000)}"}`,
  Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]),
  Buffer.from([0xc0, 0xaf, 0xed, 0xa0, 0x80]),
  Buffer.from([0xef, 0xbb, 0xbf, 0x7b, 0x7d]),
  Buffer.from([0x7b, 0x22, 0x6e, 0x61, 0x6d, 0x65, 0x22, 0x3a, 0x22, 0xed, 0xa0, 0x80, 0x22, 0x7d]),
  Buffer.alloc(2 * 1024 * 1024, 0x20),
];

const CONTENT_TYPES = [
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data',
  'multipart/form-data; boundary=',
  'application/json; charset=utf-16',
  'application/xml',
  'application/json\u0000',
  'application/json, text/plain',
  '*/*',
  'image/png',
  'application/octet-stream',
  '',
];

type Mutation = 'field' | 'missing' | 'unknown-key' | 'whole-body' | 'raw-body' | 'content-type' | 'query' | 'query-repeat' | 'path' | 'header' | 'upload';
const MUTATIONS: Mutation[] = [
  'field',
  'field',
  'field',
  'field',
  'missing',
  'unknown-key',
  'whole-body',
  'raw-body',
  'content-type',
  'query',
  'query-repeat',
  'path',
  'header',
  'upload',
];

// ----------------------------------------------------------------------------------- requests

interface Base {
  op: Operation;
  path: Record<string, string>;
  body: Json | undefined;
  query: Record<string, Json | undefined>;
}

interface Planned {
  index: number;
  mutation: Mutation;
  method: string;
  url: string;
  headers: Record<string, string>;
  payload?: string | Buffer;
  as: 'key' | 'distributor' | 'owner' | 'none';
  what: string;
}

/** Every field path a schema names (first alternative of unions), so optional fields are fuzzed too. */
function slots(s: Schema | undefined, prefix: string[] = [], depth = 0): string[][] {
  const d = deref(doc, s);
  if (depth > 4) return [];
  const alt = d.anyOf ?? d.oneOf;
  if (alt) return slots((alt as Schema[]).find((a) => deref(doc, a).type !== 'null') ?? alt[0], prefix, depth + 1);
  const out: string[][] = [];
  if (typeOf(d) === 'object') {
    for (const [k, v] of Object.entries<Schema>(d.properties ?? {})) {
      out.push([...prefix, k]);
      out.push(...slots(v, [...prefix, k], depth + 1));
    }
  } else if (typeOf(d) === 'array') {
    out.push(...slots(d.items, [...prefix, '0'], depth + 1));
  }
  return out;
}

const RAW_MARK = '__fuzz_raw_number__';
const RAW_PATH = '__fuzz_raw_path__';

function setAt(body: Json, at: string[], value: Json | { raw: string }): Json {
  const root: Json = body && typeof body === 'object' ? structuredClone(body) : {};
  let cur = root as Record<string, Json>;
  for (let i = 0; i < at.length - 1; i++) {
    const k = at[i]!;
    if (cur[k] === null || typeof cur[k] !== 'object') cur[k] = /^\d+$/.test(at[i + 1]!) ? [] : {};
    cur = cur[k] as Record<string, Json>;
  }
  const last = at[at.length - 1]!;
  const v =
    value && typeof value === 'object' && 'raw' in value && typeof (value as { raw: unknown }).raw === 'string'
      ? `${RAW_MARK}${(value as { raw: string }).raw}${RAW_MARK}`
      : (value as Json);
  if (last === '__proto__') Object.defineProperty(cur, last, { value: v, enumerable: true, writable: true, configurable: true });
  else cur[last] = v;
  return root;
}

/** JSON text, with raw number literals spliced in where a field asked for one. */
function toText(body: Json | undefined): string {
  return JSON.stringify(body ?? null).replace(new RegExp(`"${RAW_MARK}(.*?)${RAW_MARK}"`, 'g'), (_m, raw: string) => raw);
}

function hostileText(v: Json | { raw: string }): string {
  if (v && typeof v === 'object' && 'raw' in v && typeof (v as { raw: unknown }).raw === 'string') return (v as { raw: string }).raw;
  return typeof v === 'string' ? v : JSON.stringify(v);
}

function plan(index: number, base: Base, mutation: Mutation, value: Json | { raw: string }, pick: number, auth: 'key' | 'distributor' | 'owner'): Planned {
  const { op } = base;
  let body = base.body;
  let query: Record<string, Json | undefined> = { ...base.query };
  let path = { ...base.path };
  let payload: string | Buffer | undefined;
  let contentType: string | undefined = op.body !== undefined ? 'application/json' : undefined;
  const headers: Record<string, string> = { 'x-request-id': `fuzz-${index}` };
  let what: string = mutation;
  let extraQuery = '';

  const fields = slots(op.body);
  // An operation without a body takes its hostile values in the query string instead.
  if (op.body === undefined && op.consumes.length === 0 && ['field', 'missing', 'unknown-key', 'whole-body'].includes(mutation)) mutation = 'query';
  switch (mutation) {
    case 'field':
      if (fields.length > 0 && op.body) {
        const at = fields[pick % fields.length]!;
        body = setAt(body ?? {}, at, value);
        what = `field ${at.join('.')} = ${hostileText(value).slice(0, 60)}`;
      } else if (op.queryParams.length > 0) {
        const q = op.queryParams[pick % op.queryParams.length]!;
        query[q.name] = hostileText(value);
        what = `query ${q.name} = ${hostileText(value).slice(0, 60)}`;
      }
      break;
    case 'missing': {
      const required = (deref(doc, op.body).required as string[] | undefined) ?? [];
      if (required.length > 0 && body && typeof body === 'object' && !Array.isArray(body)) {
        const k = required[pick % required.length]!;
        const { [k]: _missing, ...rest } = body as Record<string, Json>;
        body = rest;
        what = `missing ${k}`;
      } else {
        body = undefined;
        contentType = op.body ? 'application/json' : undefined;
        payload = op.body ? '' : undefined;
        what = 'no body';
      }
      break;
    }
    case 'unknown-key': {
      const key = HOSTILE_KEYS[pick % HOSTILE_KEYS.length]!;
      const at = fields.length > 0 && pick % 3 === 0 ? [...fields[pick % fields.length]!.slice(0, -1), key] : [key];
      body = setAt(body ?? {}, at, value);
      what = `unknown key ${at.join('.').slice(0, 40)}`;
      break;
    }
    case 'whole-body':
      body = (value && typeof value === 'object' && 'raw' in value ? value : value) as Json;
      payload = toText(setAt({}, ['v'], value))
        .replace(/^\{"v":/, '')
        .replace(/\}$/, '');
      contentType = 'application/json';
      what = `body ${String(payload).slice(0, 60)}`;
      break;
    case 'raw-body':
      payload = RAW_BODIES[pick % RAW_BODIES.length]!;
      contentType = 'application/json';
      what = `raw ${(Buffer.isBuffer(payload) ? payload.toString('hex') : payload).slice(0, 60)}`;
      break;
    case 'content-type':
      contentType = CONTENT_TYPES[pick % CONTENT_TYPES.length]!;
      payload = pick % 2 ? toText(body) : `a=1&b=${pct(hostileText(value))}`;
      what = `content-type ${JSON.stringify(contentType)}`;
      break;
    case 'query': {
      const names = [...op.queryParams.map((q) => q.name), 'limit', 'cursor', 'status', 'distributor_id', 'q', 'unknown'];
      const name = names[pick % names.length]!;
      query = { ...query, [name]: hostileText(value) };
      what = `query ${name} = ${hostileText(value).slice(0, 60)}`;
      break;
    }
    case 'query-repeat':
      extraQuery = [
        'limit=1&limit=2',
        'limit[]=1',
        'limit[a]=1',
        '%ZZ=1',
        'a=%ZZ',
        '%00=%00',
        'limit=%00',
        `${'a'.repeat(5000)}=1`,
        'cursor=' + 'z'.repeat(20_000),
        '&&&==&',
        'limit=1e3',
        'limit=-0',
        'limit=0x10',
      ][pick % 13]!;
      what = `query ${extraQuery.slice(0, 60)}`;
      break;
    case 'path':
      if (op.pathParams.length > 0) {
        const p = op.pathParams[pick % op.pathParams.length]!;
        // Now and then the bytes as they are: bad escapes, encoded slashes and NULs, overlong UTF-8.
        const raw = ['%ZZ', '%00', '..%2f..%2fetc%2fpasswd', '%c0%af', '%ed%a0%80', '%', '..', '.', '%2e%2e', '%u0000', 'a%0d%0aSet-Cookie:x=1'][pick % 11]!;
        path = { ...path, [p.name]: pick % 4 === 0 ? RAW_PATH + raw : hostileText(value) };
        what = `path {${p.name}} = ${(pick % 4 === 0 ? raw : hostileText(value)).slice(0, 60)}`;
      } else {
        what = 'path (none): trailing junk';
        extraQuery = '';
      }
      break;
    case 'header': {
      const h = [
        ['idempotency-key', hostileText(value).slice(0, 300)],
        ['x-request-id', hostileText(value).slice(0, 300)],
        ['content-length', '-1'],
        ['accept', '\u0000'],
        ['x-forwarded-for', hostileText(value).slice(0, 300)],
        ['cookie', `fx_vid=${hostileText(value).slice(0, 200)}`],
        ['authorization-extra', 'x'],
        ['accept-encoding', 'gzip;q=NaN'],
      ][pick % 8]!;
      // Header values must be Latin-1 without line breaks to be sent at all.
      const v = h[1]!.replace(/[^\x20-\x7e]/g, '?');
      if (h[0] !== 'content-length') headers[h[0]!] = v;
      what = `header ${h[0]}: ${v.slice(0, 40)}`;
      break;
    }
    case 'upload': {
      const m = multipartBody(
        { kind: hostileText(value).slice(0, 100), [HOSTILE_KEYS[pick % HOSTILE_KEYS.length]! || 'x']: 'x' },
        {
          field: 'file',
          filename: hostileText(value).slice(0, 300) || 'f',
          contentType: ['image/png', 'text/html', 'application/pdf', '', 'image/svg+xml'][pick % 5]!,
          data: pick % 2 ? TINY_PNG : Buffer.from(hostileText(value)),
        },
      );
      payload = pick % 7 === 0 ? m.payload.subarray(0, m.payload.length - 10) : m.payload;
      contentType = pick % 11 === 0 ? 'multipart/form-data; boundary=wrong' : m.contentType;
      what = 'upload';
      break;
    }
  }
  if (payload === undefined && op.body !== undefined && mutation !== 'missing') payload = toText(body);
  if (payload !== undefined && contentType !== undefined && contentType !== '') headers['content-type'] = contentType;
  const token =
    op.auth === 'public'
      ? undefined
      : op.auth === 'distributor' || (op.auth === 'tenant_or_distributor' && auth === 'distributor')
        ? w.portal.C
        : auth === 'owner'
          ? w.sessions.owner
          : w.key;
  if (token) headers.authorization = `Bearer ${token}`;
  let url = fillPath(op.path, path);
  url = url.replace(new RegExp(`${encodeURIComponent(RAW_PATH)}([^/?]*)`, 'g'), (_m, raw: string) => decodeURIComponent(raw));
  const qs = queryString(query);
  url += qs + (extraQuery ? `${qs ? '&' : '?'}${extraQuery}` : '');
  return {
    index,
    mutation,
    method: op.method,
    url,
    headers,
    ...(payload !== undefined ? { payload } : {}),
    as: token ? (token === w.key ? 'key' : token === w.portal.C ? 'distributor' : 'owner') : 'none',
    what,
  };
}

function describeRequest(p: Planned, status: number, body: string): string {
  const payload =
    p.payload === undefined
      ? ''
      : Buffer.isBuffer(p.payload)
        ? `<${p.payload.length} bytes ${p.payload.subarray(0, 40).toString('hex')}>`
        : p.payload.slice(0, 200);
  return `#${p.index} [${p.what}] as ${p.as}: ${p.method} ${p.url.slice(0, 200)} ${JSON.stringify(p.headers['content-type'] ?? '')} ${payload} → ${status} ${body.slice(0, 300)} (replay: FENXIAO_FUZZ_SEED=${SEED} FENXIAO_FUZZ_REQUESTS=${p.index + 1})`;
}

/** Who may leave a trace while refusing: failed-login counters, and the risk event a rate limit records. */
function allowedTrace(p: Planned, status: number, tables: string[]): boolean {
  const login = /^\/v1\/(auth|portal)\/(login|token-login)/.test(p.url);
  // A wrong code counts its attempt before it is refused: that is what bounds guessing.
  const codeCheck = /^\/v1\/phone-verifications\/[^/?]+\/verify/.test(p.url) && status === 400;
  return tables.every(
    (x) =>
      (login && (status === 401 || status === 429) && /(admin_users|portal_credentials)$/.test(x)) ||
      (status === 429 && /INSERT risk_events$/.test(x)) ||
      (codeCheck && /UPDATE phone_verifications$/.test(x)),
  );
}

describe('fuzzing every operation of the OpenAPI document', () => {
  it(`answers ${REQUESTS} malformed and hostile requests without a 5xx, with the error shape, storing nothing when it refuses`, async () => {
    // Left out: what ends the sessions the fuzzer sends (logging out, a password change, erasing,
    // suspending or rejecting its distributor), which would turn the rest of the run into 401s.
    const ops = operationsOf(doc).filter(
      (o) =>
        o.path !== '/v1/auth/logout' &&
        o.path !== '/v1/portal/password' &&
        !o.path.endsWith('/erase') &&
        !/^\/v1\/distributors\/\{id\}\/(suspend|reject)$/.test(o.path),
    );
    const bases: Base[] = [];
    for (const op of ops) {
      const { values } = await pathValues(t, w, op);
      const path = Object.fromEntries(op.pathParams.map((p) => [p.name, values[p.name] ?? 'x']));
      const { body, query } = requestFor(
        doc,
        op,
        hintsFor(w, () => t.clock.now()),
      );
      bases.push({ op, path, body, query });
    }
    // Rendering and report routes (PNG posters, .xlsx, whole-ledger checks) cost 10-100 times a
    // plain one: drawn less often, so 10,000 requests stay within a few minutes on PGlite.
    const slots: number[] = [];
    bases.forEach((b, i) => {
      for (let k = HEAVY.test(b.op.path) ? 1 : 6; k > 0; k--) slots.push(i);
    });
    const arb = fc.tuple(
      fc.nat(slots.length - 1).map((n) => slots[n]!),
      fc.constantFrom(...MUTATIONS),
      hostileValue,
      fc.nat(1_000_000),
      fc.constantFrom<'key' | 'distributor' | 'owner'>('key', 'key', 'key', 'key', 'distributor', 'owner'),
    );
    const samples = fc.sample(arb, { seed: SEED, numRuns: REQUESTS });

    /** Routes that answer 202 with a job, each polled at `<route>/<id>`. */
    const JOB_ROUTES = ['/v1/settlements/jobs', '/v1/exports', '/v1/ledger/verify/jobs'];
    const failures: string[] = [];
    const statuses = new Map<number, number>();
    let refused = 0;
    const timing = new Map<string, number>();
    let mark = (await writesSince(0)).last;
    for (let i = 0; i < samples.length; i++) {
      const [opIndex, mutation, value, pick, auth] = samples[i]!;
      const p = plan(i, bases[opIndex]!, mutation, value, pick, auth);
      if (process.env.FENXIAO_FUZZ_TRACE?.split(',').includes(String(i))) console.log('TRACE', describeRequest(p, 0, ''));
      let res;
      const started = performance.now();
      try {
        res = await t.app.inject({ method: p.method as 'GET', url: p.url, headers: p.headers, ...(p.payload !== undefined ? { payload: p.payload } : {}) });
      } catch (err) {
        failures.push(`inject threw ${(err as Error).message}: ${describeRequest(p, 0, '')}`);
        continue;
      }
      const status = res.statusCode;
      // A background job (a settlement run, an export, a ledger verification) writes after its
      // 202: let it finish before the next request, so what it writes is never counted against a
      // request that follows.
      const jobUrl = status === 202 ? (JOB_ROUTES.find((u) => p.url.startsWith(u)) ?? null) : null;
      if (jobUrl) {
        const id = (JSON.parse(res.body) as { id: string }).id;
        for (let k = 0; k < 500; k++) {
          const job = await t.app.inject({ method: 'GET', url: `${jobUrl}/${id}`, headers: { authorization: p.headers.authorization ?? '' } });
          if (job.statusCode !== 200 || !['queued', 'running'].includes((JSON.parse(job.body) as { status: string }).status)) break;
          await new Promise((r) => setTimeout(r, 10));
        }
      }
      const key = `${bases[opIndex]!.op.label}`;
      timing.set(key, (timing.get(key) ?? 0) + performance.now() - started);
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
      const writes = await writesSince(mark);
      if (process.env.FENXIAO_FUZZ_TRACE?.split(',').includes(String(i)))
        console.log(
          'TRACE-W',
          i,
          status,
          mark,
          writes.last,
          writes.rows.map((r) => r.slice(0, 120)),
        );
      mark = writes.last;
      if (status >= 500) {
        failures.push(`5xx: ${describeRequest(p, status, res.body)}`);
        continue;
      }
      if (status >= 400) {
        refused++;
        let shape: string | null = null;
        // Payment channels' own notifications are refused in the channel's own terms (WeChat Pay:
        // {"code":"FAIL","message"}; Alipay: the text `failure`) unless the framework refused first.
        const channel = /^\/v1\/webhooks\/[^/?]*\/purchase-payments\/(wechat|alipay)(?:\?|$)/.exec(p.url)?.[1];
        const nativeRefusal = (() => {
          if (channel === 'alipay') return res.body === 'failure';
          if (channel !== 'wechat') return false;
          try {
            const b = JSON.parse(res.body) as { code?: unknown; message?: unknown };
            return b.code === 'FAIL' && typeof b.message === 'string';
          } catch {
            return false;
          }
        })();
        if (!nativeRefusal)
          try {
            const e = (JSON.parse(res.body) as { error?: { code?: unknown; message?: unknown } }).error;
            if (typeof e?.code !== 'string' || typeof e.message !== 'string') shape = 'no {"error":{"code","message"}}';
            else if (!(e.code in ERROR_STATUS)) shape = `unknown code ${e.code}`;
            else if (ERROR_STATUS[e.code as keyof typeof ERROR_STATUS] !== status) shape = `code ${e.code} with status ${status}`;
          } catch {
            shape = 'not JSON';
          }
        if (shape) failures.push(`${shape}: ${describeRequest(p, status, res.body)}`);
        if (writes.tables.length > 0 && !allowedTrace(p, status, writes.tables))
          failures.push(`refused, yet wrote ${writes.rows.join(' ; ').slice(0, 1500)}: ${describeRequest(p, status, res.body)}`);
      }
      if (failures.length > 200) break;
    }
    console.log(
      `fuzz: slowest operations ${[...timing]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 8)
        .map(([k, v]) => `${k} ${Math.round(v)}ms`)
        .join(', ')}`,
    );
    // Prototype pollution would show on every object of the process.
    expect(({} as Record<string, unknown>).polluted, 'Object.prototype polluted').toBeUndefined();
    console.log(
      `fuzz: ${samples.length} requests (seed ${SEED}), ${refused} refused; statuses ${JSON.stringify(Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0])))}`,
    );
    expect(failures).toEqual([]);
    expect(samples.length).toBeGreaterThanOrEqual(Math.min(REQUESTS, 10_000));
    // Most requests must be refused, or the generator has stopped breaking things.
    expect(refused).toBeGreaterThan(samples.length * 0.4);
  }, 900_000);

  it('leaves the ledger and the audit hash chain verifying clean', async () => {
    const ledger = await verifyLedger(t.database.db, w.tenantId, t.services.ledgerChecks);
    expect(ledger.breaks).toEqual([]);
    expect(ledger.checked.journals).toBeGreaterThan(0);
    const audit = await t.services.audit.verify(t.database.db, w.tenantId);
    expect(audit.breaks).toEqual([]);
    expect(audit.ok).toBe(true);
    // The same through the API, as an operator would check.
    expect((await t.call('GET', '/v1/ledger/verify', { token: w.key })).data.ok).toBe(true);
    expect((await t.call('GET', '/v1/audit-log/verify', { token: w.key })).data.ok).toBe(true);
  });
});
