/**
 * Sending one operation of the OpenAPI document with chosen ids and a valid body: the shared
 * machinery of the route walker (and the base requests of the fuzzer).
 */
import { sql } from 'kysely';
import type { LightMyRequestResponse } from 'fastify';
import type { TestServer } from '../support/server.ts';
import {
  example,
  fillPath,
  multipartBody,
  paramCollections,
  queryString,
  TINY_PNG,
  type Hints,
  type Json,
  type OpenApiDoc,
  type Operation,
  type Schema,
} from './openapi.ts';
import { KIND_OF_COLLECTION, WALKER_HOOK_URL, type Kind, type World } from './world.ts';

let counter = 0;
export const unique = () => `${Date.now().toString(36)}${(counter++).toString(36)}`;

/** Fields that carry another object's id or code: the walker aims them at another tenant or distributor. */
export const ID_FIELDS: Record<string, (w: World) => string | undefined> = {
  distributor_id: (w) => w.distributors.C.id,
  referrer_id: (w) => w.distributors.A.id,
  seller_id: (w) => w.distributors.C.id,
  beneficiary_id: (w) => w.distributors.C.id,
  payout_account_id: (w) => w.own.payout_account,
  account_id: (w) => w.own.payout_account,
  statement_id: (w) => w.ids.statement,
  withdrawal_id: (w) => w.ids.withdrawal,
  commission_id: (w) => w.ids.commission,
  invite_code: (w) => w.distributors.A.invite_code,
  referrer_code: (w) => w.distributors.A.invite_code,
  ref_id: (w) => w.ids.order,
  target_id: (w) => w.distributors.C.id,
  agent_id: (w) => w.own.agent,
};

/** Valid values by field name, for requests made as the world's own merchant. */
export function hintsFor(w: World, now: () => Date, overrides: Record<string, Json> = {}): Hints {
  return (name, s) => {
    if (name in overrides) return overrides[name];
    if (s.const !== undefined || Array.isArray(s.enum)) return undefined;
    const idOf = ID_FIELDS[name];
    if (idOf) return idOf(w);
    switch (name) {
      case 'tenant_id':
        return w.tenantId;
      case 'customer_external_id':
      case 'buyer_external_id':
        return `cust-${unique()}`;
      case 'external_id':
        return `ext-${unique()}`;
      case 'email':
        return `walker-${unique()}@example.com`;
      case 'domain':
        return `walker-${unique()}.example.com`;
      case 'password':
      case 'current_password':
        return 'walker-password-0123';
      case 'amount_fen':
        return 100;
      case 'refund_fen':
        return 1;
      case 'as_of':
      case 'at':
      case 'paid_at':
        return now().toISOString();
      case 'from':
        return new Date(now().getTime() - 30 * 86_400_000).toISOString();
      case 'to':
        return now().toISOString();
      case 'reason':
      case 'note':
        return 'security walker';
      case 'rates':
        return { '0': { kind: 'percent', bp: 100 } };
      case 'reference':
        return `WALKER-${unique()}`;
      case 'name':
        return 'Walker';
      case 'phone':
        return '13912345678';
      case 'role':
        return 'auditor';
      case 'url':
        return WALKER_HOOK_URL;
      case 'sku':
        return `SKU-${w.tag}`;
      default:
        return undefined;
    }
  };
}

/** The id of a path parameter's kind, from the world, else from the database (a table named like the collection). */
export async function idFor(t: TestServer, w: World, collection: string, source: Partial<Record<Kind, string>> = w.ids): Promise<string | undefined> {
  const kind = KIND_OF_COLLECTION[collection];
  if (kind && source[kind]) return source[kind];
  if (source !== w.ids) return undefined;
  const table = collection.replace(/-/g, '_');
  try {
    const r = await sql<{ id: string }>`select id::text as id from ${sql.table(table)} where tenant_id = ${w.tenantId} order by 1 limit 1`.execute(
      t.database.db,
    );
    return r.rows[0]?.id;
  } catch {
    return undefined;
  }
}

export interface Sent {
  res: LightMyRequestResponse;
  url: string;
  body: Json | undefined;
  describe(): string;
}

export interface SendOptions {
  token?: string | undefined;
  path: Record<string, string>;
  body?: Json | undefined;
  query?: Record<string, Json | undefined>;
  headers?: Record<string, string>;
}

/** Sends the operation: a JSON body if it takes one, an upload if it takes files, else nothing. */
export async function send(t: TestServer, op: Operation, o: SendOptions): Promise<Sent> {
  const url = fillPath(op.path, o.path) + queryString(o.query ?? {});
  const headers: Record<string, string> = { ...(o.headers ?? {}) };
  if (o.token) headers.authorization = `Bearer ${o.token}`;
  for (const h of op.headerParams) if (h.name === 'idempotency-key' && !headers[h.name]) headers[h.name] = `walker-${unique()}`;
  let payload: string | Buffer | undefined;
  if (op.body !== undefined) {
    payload = JSON.stringify(o.body ?? null);
    headers['content-type'] = 'application/json';
  } else if (op.consumes.includes('multipart/form-data') && !op.consumes.some((c) => c.startsWith('image/'))) {
    const m = multipartBody({ kind: 'id_card' }, { field: 'file', filename: 'walker.png', contentType: 'image/png', data: TINY_PNG });
    payload = m.payload;
    headers['content-type'] = m.contentType;
  } else if (op.consumes.some((c) => c.startsWith('image/'))) {
    payload = TINY_PNG;
    headers['content-type'] = 'image/png';
  }
  const res = await t.app.inject({ method: op.method, url, headers, ...(payload !== undefined ? { payload } : {}) });
  return {
    res,
    url,
    body: o.body,
    describe: () =>
      `${op.method} ${url}${o.body !== undefined ? ` ${JSON.stringify(o.body).slice(0, 300)}` : ''} → ${res.statusCode} ${res.body.slice(0, 300)}`,
  };
}

/** A valid body and the required query of an operation, for the world's merchant. */
export function requestFor(doc: OpenApiDoc, op: Operation, hints: Hints): { body: Json | undefined; query: Record<string, Json | undefined> } {
  const body = op.body ? example(doc, op.body, hints) : undefined;
  const query: Record<string, Json | undefined> = {};
  for (const q of op.queryParams) if (q.required) query[q.name] = example(doc, q.schema, hints, q.name);
  return { body, query };
}

/** Path values of an operation from a source of ids; the names it could not fill. */
export async function pathValues(
  t: TestServer,
  w: World,
  op: Operation,
  source?: Partial<Record<Kind, string>>,
): Promise<{ values: Record<string, string>; missing: string[] }> {
  const collections = paramCollections(op.path);
  const values: Record<string, string> = {};
  const missing: string[] = [];
  for (const p of op.pathParams) {
    const v = await idFor(t, w, collections[p.name] ?? '', source ?? w.ids);
    if (v === undefined) missing.push(`{${p.name}} after /${collections[p.name]}`);
    else values[p.name] = v;
  }
  return { values, missing };
}

/** Every body or query field of an operation (optional ones too) that names another object. */
export function idFieldsOf(doc: OpenApiDoc, op: Operation, deref: (s: Schema | undefined) => Schema): string[] {
  const names = new Set<string>();
  for (const q of op.queryParams) if (ID_FIELDS[q.name]) names.add(q.name);
  const walk = (s: Schema | undefined, depth: number) => {
    const d = deref(s);
    if (depth > 4) return;
    for (const alt of [...(d.anyOf ?? []), ...(d.oneOf ?? [])]) walk(alt, depth + 1);
    for (const [k, v] of Object.entries<Schema>(d.properties ?? {})) {
      if (ID_FIELDS[k]) names.add(k);
      walk(v, depth + 1);
    }
  };
  walk(op.body, 0);
  void doc;
  return [...names];
}
