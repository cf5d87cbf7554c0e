/**
 * The route walker: every operation of the OpenAPI document the server serves, read at run time,
 * is called (a) with one tenant's key and another tenant's ids, (b) with no, a garbage or a
 * cookie-only credential, (c) with each console role's session, (d) with a distributor's portal
 * session. The expected answer comes from the document itself: each operation's x-auth and
 * x-permission (declared on the route, enforced by the auth hook) against principal.ts's role
 * table. Every failure names its route; the test fails with all of them at once.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ManualClock } from '../../src/core/context.ts';
import { ERROR_STATUS } from '../../src/core/errors.ts';
import { roleHas, scopeHas, type ApiKeyScope, type Permission } from '../../src/core/principal.ts';
import { ARTIFACTS } from '../support/global-setup.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { deref, operationsOf, type Json, type OpenApiDoc, type Operation } from './openapi.ts';
import { hintsFor, idFieldsOf, ID_FIELDS, pathValues, requestFor, send, type Sent } from './walk.ts';
import { buildWorld, diffSnapshots, identifiers, portalSession, ROLES, tenantSnapshot, type Role, type World } from './world.ts';

let t: TestServer;
let doc: OpenApiDoc;
let ops: Operation[];
let w1: World;
let w2: World;

const TENANT_MODES = ['tenant', 'tenant_or_distributor'];
const isWrite = (op: Operation) => op.method !== 'GET';
/** Writes every role may make: ending one's own session. */
const SESSION_ROUTES = new Set(['POST /v1/auth/logout']);
/** POSTs that change no business data: starting an export job reads; the rule simulator replays and writes nothing. */
const READS_BY_POST = new Set(['POST /v1/exports', 'POST /v1/rules/simulate', 'POST /v1/ledger/verify/jobs']);
const READ_PERMISSIONS = new Set(['read', 'finance:read', 'pii:read']);
const writes = (op: Operation) => isWrite(op) && !SESSION_ROUTES.has(op.label) && !READS_BY_POST.has(op.label);

beforeAll(async () => {
  t = await startTestServer();
  w1 = await buildWorld(t, 't1');
  w2 = await buildWorld(t, 't2');
  await t.services.risk.record(t.database.db, w1.tenantId, { kind: 'walker_check', subjectType: 'distributor', subjectId: w1.distributors.C.id, details: {} });
  await t.services.risk.record(t.database.db, w2.tenantId, { kind: 'walker_check', subjectType: 'distributor', subjectId: w2.distributors.C.id, details: {} });
  const res = await t.call('GET', '/openapi.json');
  expect(res.statusCode).toBe(200);
  doc = res.data as OpenApiDoc;
  ops = operationsOf(doc);
}, 300_000);
afterAll(async () => {
  await t?.close();
});

const now = () => t.clock.now();
const leaks = (sent: Sent, secretsOf: string[]) =>
  secretsOf.filter((v) => sent.res.body.includes(v) && !sent.url.includes(encodeURIComponent(v)) && !JSON.stringify(sent.body ?? null).includes(v));
const errorShape = (sent: Sent): string | null => {
  try {
    const body = JSON.parse(sent.res.body) as { error?: { code?: unknown; message?: unknown } };
    if (typeof body.error?.code !== 'string' || typeof body.error.message !== 'string') return 'no {"error":{"code","message"}}';
    if (!(body.error.code in ERROR_STATUS)) return `unknown code ${body.error.code}`;
    return null;
  } catch {
    return 'not JSON';
  }
};

describe('the OpenAPI document', () => {
  it('lists the operations, each with who may call it', () => {
    expect(ops.length).toBeGreaterThan(80);
    const undeclared = ops.filter((op) => op.auth === 'unknown').map((op) => op.label);
    expect(undeclared, 'operations without x-auth').toEqual([]);
    // Public operations say so to clients too (security: []), and are exactly the public routes.
    for (const op of ops) {
      const security = doc.paths[op.path]![op.method.toLowerCase()].security;
      expect(op.auth === 'public', `${op.label}: x-auth ${op.auth}, security ${JSON.stringify(security)}`).toBe(
        Array.isArray(security) && security.length === 0,
      );
    }
  });

  it('declares the permission of every merchant operation, and no write needs only read', () => {
    const problems: string[] = [];
    for (const op of ops.filter((o) => TENANT_MODES.includes(o.auth))) {
      if (!op.permission) problems.push(`${op.label}: no x-permission (add config.permission to the route)`);
      else if (writes(op) && READ_PERMISSIONS.has(op.permission)) problems.push(`${op.label}: a write that needs only ${op.permission}`);
      else if (op.permission === 'any' && !SESSION_ROUTES.has(op.label)) problems.push(`${op.label}: 'any' is for ending one's own session only`);
    }
    expect(problems).toEqual([]);
  });
});

describe('(b) credentials', () => {
  it('answers 401 to no token, a garbage token, a wrong key or session, and a cookie-only session on every non-public route', async () => {
    const failures: string[] = [];
    const forged = ['garbage', 'fxk_01ARZ3NDEKTSV4RRFFQ69G5FAVxxxxxxxxxxxxxxxxxxxxxxxx', `fxs_${'A'.repeat(43)}`, `${w1.key.slice(0, -3)}zzz`];
    for (const op of ops) {
      const { values } = await pathValues(t, w1, op);
      const fill = Object.fromEntries(op.pathParams.map((p) => [p.name, values[p.name] ?? 'x']));
      const { body, query } = requestFor(doc, op, hintsFor(w1, now));
      if (op.auth === 'public') {
        const sent = await send(t, op, { path: fill, body, query });
        // Logins and signed pushes (shops' order webhooks, carriers' tracking) check credentials of
        // their own, and say 401 when they fail.
        if (sent.res.statusCode === 401 && !op.path.includes('login') && !/^\/v1\/(webhooks|logistics)\/\{tenant_id\}\//.test(op.path))
          failures.push(`public, yet 401 without a token: ${sent.describe()}`);
        if (sent.res.statusCode >= 500) failures.push(`5xx: ${sent.describe()}`);
        continue;
      }
      const attempts: [string, Record<string, string>, string | undefined][] = [
        ['no token', {}, undefined],
        ...forged.map((f): [string, Record<string, string>, string | undefined] => [`token ${f.slice(0, 12)}…`, {}, f]),
        ['Basic auth', { authorization: `Basic ${Buffer.from(`${w1.key}:x`).toString('base64')}` }, undefined],
        [
          'cookie-only session',
          { cookie: `session=${w1.sessions.owner}; token=${w1.sessions.owner}; fxs=${w1.sessions.owner}; authorization=Bearer%20${w1.key}` },
          undefined,
        ],
        ['key in the query', {}, undefined],
      ];
      for (const [label, headers, token] of attempts) {
        const q = label === 'key in the query' ? { ...query, access_token: w1.key, token: w1.key, api_key: w1.key } : query;
        const sent = await send(t, op, { path: fill, body, query: q, headers, token });
        if (sent.res.statusCode !== 401) failures.push(`${label}: ${sent.describe()}`);
        else if (JSON.parse(sent.res.body).error?.code !== 'unauthorized') failures.push(`${label}: not unauthorized: ${sent.describe()}`);
      }
    }
    expect(failures).toEqual([]);
  });
});

describe('(a) tenant isolation', () => {
  it("answers 404 to one tenant's key with another tenant's ids on every route, and changes nothing of the other tenant", async () => {
    const before = await tenantSnapshot(t, w2.tenantId);
    const secrets2 = identifiers(w2);
    const failures: string[] = [];
    const untested: string[] = [];
    let walked = 0;
    // PUT last: it creates the caller's own grade or SKU rule under the other tenant's key, which a
    // DELETE after it would then find.
    const aimed = ops.filter((o) => TENANT_MODES.includes(o.auth) && o.pathParams.length > 0);
    for (const op of [...aimed.filter((o) => o.method !== 'PUT'), ...aimed.filter((o) => o.method === 'PUT')]) {
      const { values, missing } = await pathValues(t, w2, op);
      if (missing.length > 0) {
        untested.push(`${op.label}: no tenant-2 id for ${missing.join(', ')}`);
        continue;
      }
      const { body, query } = requestFor(doc, op, hintsFor(w1, now));
      const sent = await send(t, op, { token: w1.key, path: values, body, query });
      walked++;
      const status = sent.res.statusCode;
      // PUT names a key in the caller's own namespace (a grade code, a SKU): it creates the
      // caller's own row, never touches the other tenant's (the snapshot below proves it).
      const upsert = op.method === 'PUT' && status >= 200 && status < 300;
      if (status !== 404 && !upsert) failures.push(`expected 404: ${sent.describe()}`);
      const leaked = leaks(sent, secrets2);
      if (leaked.length > 0) failures.push(`answer shows tenant 2's ${leaked.join(', ')}: ${sent.describe()}`);
    }
    const after = await tenantSnapshot(t, w2.tenantId);
    expect(untested, 'operations the walker could not aim').toEqual([]);
    expect(failures).toEqual([]);
    expect(diffSnapshots(before, after), 'tenant 2 changed').toEqual([]);
    expect(walked).toBeGreaterThan(50);
  });

  it("refuses another tenant's ids in bodies and query strings, or answers without them", async () => {
    const before = await tenantSnapshot(t, w2.tenantId);
    const secrets2 = identifiers(w2);
    const failures: string[] = [];
    let walked = 0;
    for (const op of ops.filter((o) => TENANT_MODES.includes(o.auth))) {
      const fields = idFieldsOf(doc, op, (s) => deref(doc, s));
      if (fields.length === 0) continue;
      const { values, missing } = await pathValues(t, w1, op);
      if (missing.length > 0) continue;
      const foreign: Record<string, Json> = {};
      for (const f of fields) {
        const v = ID_FIELDS[f]!(w2);
        if (v) foreign[f] = v;
      }
      const { body, query } = requestFor(doc, op, hintsFor(w1, now, foreign));
      const q = { ...query };
      for (const p of op.queryParams) if (foreign[p.name] !== undefined) q[p.name] = foreign[p.name];
      const b = body && typeof body === 'object' && !Array.isArray(body) ? { ...body } : body;
      if (b && typeof b === 'object' && !Array.isArray(b)) {
        const props = deref(doc, op.body).properties ?? {};
        for (const [f, v] of Object.entries(foreign)) if (f in props) b[f] = v;
      }
      const sent = await send(t, op, { token: w1.key, path: values, body: b, query: q });
      walked++;
      const status = sent.res.statusCode;
      if (status >= 500) failures.push(`5xx: ${sent.describe()}`);
      if (status >= 200 && status < 300) {
        const shown = secrets2.filter((v) => sent.res.body.includes(v));
        if (shown.length > 0) failures.push(`accepted and shows tenant 2's ${shown.join(', ')}: ${sent.describe()}`);
      }
    }
    expect(failures).toEqual([]);
    expect(diffSnapshots(before, await tenantSnapshot(t, w2.tenantId)), 'tenant 2 changed').toEqual([]);
    expect(walked).toBeGreaterThan(5);
  });
});

describe("(d) a distributor's portal session", () => {
  it('is refused on merchant routes (403), and finds nothing of another distributor or tenant (404)', async () => {
    const failures: string[] = [];
    const otherIds = [
      ...identifiers(w2),
      w1.distributors.A.id,
      w1.other.withdrawal!,
      w1.other.statement!,
      w1.other.commission!,
      w1.other.payout_account!,
      w1.other.agent!,
      w1.other.agent_application!,
      w1.other.purchase_order!,
    ];
    const token = w1.portal.C;
    for (const op of ops) {
      if (op.auth === 'public' || op.auth === 'distributor') continue;
      if (SESSION_ROUTES.has(op.label)) {
        // Ending a session: a session of its own, so the walk goes on with C's.
        const own = await portalSession(t, w1.tenantId, w1.signingSecret, w1.distributors.C.external_id);
        const sent = await send(t, op, { token: own, path: {} });
        if (sent.res.statusCode !== 204) failures.push(`expected 204: ${sent.describe()}`);
        continue;
      }
      const { values } = await pathValues(t, w1, op);
      const fill = Object.fromEntries(op.pathParams.map((p) => [p.name, values[p.name] ?? 'x']));
      const { body, query } = requestFor(doc, op, hintsFor(w1, now));
      if (op.auth !== 'tenant_or_distributor') {
        const sent = await send(t, op, { token, path: fill, body, query });
        const expected = op.auth === 'root' ? 401 : 403;
        if (sent.res.statusCode !== expected) failures.push(`expected ${expected}: ${sent.describe()}`);
        continue;
      }
      if (op.pathParams.length === 0) {
        // Lists and creations: another distributor's id in the query or body is not its own.
        const foreign: Record<string, Json> = {
          distributor_id: w1.distributors.A.id,
          payout_account_id: w1.other.payout_account!,
          agent_id: w1.other.agent!,
        };
        const { body: b2, query: q2 } = requestFor(doc, op, hintsFor(w1, now, foreign));
        const q = { ...q2 };
        for (const p of op.queryParams) if (p.name === 'distributor_id' || p.name === 'agent_id') q[p.name] = foreign[p.name];
        const sent = await send(t, op, { token, path: {}, body: b2, query: q });
        const status = sent.res.statusCode;
        const aimsAtOthers = [w1.distributors.A.id, w1.other.agent!].some((v) => JSON.stringify(b2 ?? null).includes(v));
        if (status >= 200 && status < 300) {
          const shown = otherIds.filter((v) => sent.res.body.includes(v) && !JSON.stringify(b2 ?? null).includes(v));
          const created = op.method !== 'GET' && aimsAtOthers;
          if (shown.length > 0 || created) failures.push(`another distributor's data: ${shown.join(', ')} ${sent.describe()}`);
        } else if (status !== 404 && status !== 403 && !(op.method === 'POST' && status < 500 && !aimsAtOthers)) {
          failures.push(`expected 404, 403 or an answer without the others' data: ${sent.describe()}`);
        }
        continue;
      }
      for (const [who, source] of [
        ['another distributor', w1.other],
        ['another tenant', w2.own],
      ] as const) {
        const { values: foreign, missing } = await pathValues(t, who === 'another tenant' ? w2 : w1, op, source);
        if (missing.length > 0) {
          failures.push(`${op.label}: no ${who}'s id for ${missing.join(', ')}`);
          continue;
        }
        const sent = await send(t, op, { token, path: foreign, body, query });
        if (sent.res.statusCode !== 404) failures.push(`${who}'s ids, expected 404: ${sent.describe()}`);
      }
      const { values: mine, missing } = await pathValues(t, w1, op, w1.own);
      if (missing.length === 0) {
        const sent = await send(t, op, { token, path: mine, body, query });
        if ([401, 403, 404].includes(sent.res.statusCode) || sent.res.statusCode >= 500) failures.push(`its own ids, refused: ${sent.describe()}`);
      }
    }
    expect(failures).toEqual([]);
  });
});

describe('(c) console roles', () => {
  it("allows or forbids each operation for owner, operator, finance and auditor exactly as principal.ts's role table says", async () => {
    const failures: string[] = [];
    const seen: string[] = [];
    const sessions = { ...w1.sessions };
    // Least privilege first: objects are still in their first state when the lower roles try.
    const order: Role[] = ['auditor', 'operator', 'finance', 'owner'];
    expect([...order].sort()).toEqual([...ROLES].sort());
    for (const op of ops.filter((o) => TENANT_MODES.includes(o.auth))) {
      const { values, missing } = await pathValues(t, w1, op);
      if (missing.length > 0) {
        failures.push(`${op.label}: no id for ${missing.join(', ')}`);
        continue;
      }
      for (const role of order) {
        const { body, query } = requestFor(doc, op, hintsFor(w1, now));
        const sent = await send(t, op, { token: sessions[role], path: values, body, query });
        const status = sent.res.statusCode;
        const allowed = op.permission === 'any' || (!!op.permission && roleHas(role, op.permission as Permission));
        seen.push(`${role} ${op.label} ${status}`);
        if (status >= 500) failures.push(`${role}: 5xx ${sent.describe()}`);
        if (allowed && (status === 401 || status === 403)) failures.push(`${role} may (${op.permission}), refused: ${sent.describe()}`);
        if (!allowed && status !== 403) failures.push(`${role} may not (${op.permission}), expected 403: ${sent.describe()}`);
        if (status >= 400 && errorShape(sent)) failures.push(`${role}: ${errorShape(sent)}: ${sent.describe()}`);
        // The issue's own words, independent of the declarations.
        if (role === 'auditor' && writes(op) && status !== 403) failures.push(`an auditor wrote: ${sent.describe()}`);
        if (role === 'operator' && /^POST \/v1\/(withdrawals|statements)\/\{id\}\/(approve|reject|complete|fail)$/.test(op.label) && status !== 403) {
          failures.push(`an operator decided a payout or statement: ${sent.describe()}`);
        }
        // A route that ended the session (logout, a changed user): log in again.
        if ((await t.call('GET', '/v1/tenant', { token: sessions[role] })).statusCode === 401) sessions[role] = await w1.login(role);
      }
    }
    // What each role got, for a reader of the run (and to see bodies the walker should improve).
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    fs.writeFileSync(path.join(ARTIFACTS, 'security-roles.txt'), `${seen.join('\n')}\n`);
    expect(failures).toEqual([]);
    expect(seen.length).toBeGreaterThan(300);
  });
});

describe('(e) API key scopes', () => {
  it("allows or forbids each operation for a read-only and an orders-only key exactly as principal.ts's scope table says", async () => {
    const failures: string[] = [];
    const seen: string[] = [];
    const scopes = ['read', 'orders'] as const satisfies readonly ApiKeyScope[];
    for (const op of ops.filter((o) => TENANT_MODES.includes(o.auth) && !SESSION_ROUTES.has(o.label))) {
      const { values, missing } = await pathValues(t, w1, op);
      if (missing.length > 0) {
        failures.push(`${op.label}: no id for ${missing.join(', ')}`);
        continue;
      }
      for (const scope of scopes) {
        const { body, query } = requestFor(doc, op, hintsFor(w1, now));
        const sent = await send(t, op, { token: w1.scopedKeys[scope], path: values, body, query });
        const status = sent.res.statusCode;
        const allowed = !!op.permission && scopeHas(scope, op.permission as Permission);
        seen.push(`key:${scope} ${op.label} ${status}`);
        if (status >= 500) failures.push(`${scope} key: 5xx ${sent.describe()}`);
        if (allowed && (status === 401 || status === 403)) failures.push(`${scope} key may (${op.permission}), refused: ${sent.describe()}`);
        if (!allowed && status !== 403) failures.push(`${scope} key may not (${op.permission}), expected 403: ${sent.describe()}`);
        // The issue's own words: a read-only key writes nothing; an orders key touches nothing but orders.
        if (scope === 'read' && writes(op) && status !== 403) failures.push(`a read-only key wrote: ${sent.describe()}`);
        // (Orders: creating them and their events, their tracking, receiving them in bulk, replaying a shop's order webhook.)
        if (
          scope === 'orders' &&
          status < 400 &&
          !/^(POST \/v1\/(orders|jobs\/auto-receive|webhooks\/deliveries\/\{id\}\/replay)|PUT \/v1\/orders\/\{external_id\}\/tracking$)/.test(op.label)
        )
          failures.push(`an orders key reached beyond orders: ${sent.describe()}`);
      }
    }
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    fs.writeFileSync(path.join(ARTIFACTS, 'security-key-scopes.txt'), `${seen.join('\n')}\n`);
    expect(failures).toEqual([]);
    expect(seen.length).toBeGreaterThan(100);
  });
});

describe('sessions end', () => {
  it('a console session and a portal session stop working after 12 hours (401), and so does a logged-out one', async () => {
    const clock = t.clock as ManualClock;
    const console = await w1.login('auditor');
    const portal = w1.portal.A;
    expect((await t.call('GET', '/v1/tenant', { token: console })).statusCode).toBe(200);
    expect((await t.call('GET', '/v1/me', { token: portal })).statusCode).toBe(200);
    const gone = await w1.login('finance');
    expect((await t.call('POST', '/v1/auth/logout', { token: gone })).statusCode).toBe(204);
    expect((await t.call('GET', '/v1/tenant', { token: gone })).statusCode).toBe(401);
    clock.advance(12 * 3600_000 - 60_000);
    expect((await t.call('GET', '/v1/tenant', { token: console })).statusCode).toBe(200);
    clock.advance(61_000);
    const expired = await t.call('GET', '/v1/tenant', { token: console });
    expect(expired.statusCode).toBe(401);
    expect(expired.data.error.code).toBe('unauthorized');
    expect((await t.call('GET', '/v1/me', { token: portal })).statusCode).toBe(401);
    // The API key does not expire with sessions.
    expect((await t.call('GET', '/v1/tenant', { token: w1.key })).statusCode).toBe(200);
  });
});
