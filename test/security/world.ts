/**
 * A tenant with a realistic population, built through the API as a merchant would: a chain of
 * distributors, a pending application with a document, customers, orders with commission lines,
 * a settlement with statements (approved and under review), withdrawals in every state, payout
 * accounts, SKU rules, admin users of each role with sessions, distributor portal sessions, an
 * export job. The security tests then aim every route of the OpenAPI document at it.
 */
import { createHmac } from 'node:crypto';
import { sql } from 'kysely';
import { SignJWT } from 'jose';
import { expect } from 'vitest';
import type { TestServer } from '../support/server.ts';
import { sampleRows, sampleSpec } from '../../src/lib/export/test-fixtures.ts';
import { multipartBody, TINY_PNG } from './openapi.ts';
import type { JsonBody } from '../support/json.ts';

/** Where outbound webhooks of the world point: a public address, so no name is looked up. */
export const WALKER_HOOK_URL = 'https://93.184.216.34/walker-hook';

export const ROLES = ['owner', 'operator', 'finance', 'auditor'] as const;
export type Role = (typeof ROLES)[number];

/** Kinds of ids a path may carry, named after the collection segment before them. */
export type Kind =
  | 'distributor'
  | 'commission'
  | 'statement'
  | 'withdrawal'
  | 'document'
  | 'api_key'
  | 'admin_user'
  | 'export'
  | 'order'
  | 'customer'
  | 'grade'
  | 'sku'
  | 'payout_account'
  | 'risk_event'
  | 'payout'
  | 'settlement_run'
  | 'settlement_job'
  | 'journal'
  | 'delivery'
  | 'agent'
  | 'agent_application'
  | 'phone_verification'
  | 'agent_price'
  | 'purchase_order'
  | 'pilot'
  | 'rule_change'
  | 'webhook_endpoint'
  | 'webhook_event'
  | 'deposit_refund';

export const KIND_OF_COLLECTION: Record<string, Kind> = {
  distributors: 'distributor',
  commissions: 'commission',
  statements: 'statement',
  withdrawals: 'withdrawal',
  documents: 'document',
  'api-keys': 'api_key',
  'admin-users': 'admin_user',
  exports: 'export',
  orders: 'order',
  customers: 'customer',
  grades: 'grade',
  'sku-rules': 'sku',
  'payout-accounts': 'payout_account',
  'risk-events': 'risk_event',
  payouts: 'payout',
  'settlement-runs': 'settlement_run',
  settlements: 'settlement_run',
  'journal-entries': 'journal',
  deliveries: 'delivery',
  jobs: 'settlement_job',
  agents: 'agent',
  'agent-applications': 'agent_application',
  'phone-verifications': 'phone_verification',
  'agent-prices': 'agent_price',
  'purchase-orders': 'purchase_order',
  pilots: 'pilot',
  'rule-changes': 'rule_change',
  'webhook-endpoints': 'webhook_endpoint',
  events: 'webhook_event',
  'deposit-refunds': 'deposit_refund',
};

export interface World {
  tag: string;
  tenantId: string;
  key: string;
  /** One id of each kind, for the merchant's own requests. */
  ids: Partial<Record<Kind, string>>;
  /** Ids belonging to distributor C (its portal session's own) and to A (another distributor of the tenant). */
  own: Partial<Record<Kind, string>>;
  other: Partial<Record<Kind, string>>;
  distributors: { A: Dist; B: Dist; C: Dist; D: Dist; P: Dist };
  /** Console sessions by role, and how to log in again. */
  sessions: Record<Role, string>;
  login(role: Role): Promise<string>;
  passwords: Record<Role, string>;
  emails: Record<Role, string>;
  /** API keys limited to a scope (principal.ts SCOPE_PERMISSIONS); `key` is the tenant's full one. */
  scopedKeys: { read: string; orders: string };
  /** Portal sessions: C's (own), A's (another distributor). */
  portal: { C: string; A: string };
  signingSecret: string;
  /** Every secret handed out while building this world (for the log scan). */
  secrets: string[];
}

interface Dist {
  id: string;
  invite_code: string;
  external_id: string;
}

async function ok<T = JsonBody>(
  t: TestServer,
  method: string,
  url: string,
  opts: { token?: string; body?: unknown; headers?: Record<string, string> },
  status = [200, 201, 204],
): Promise<T> {
  const res = await t.call(method, url, opts);
  expect(status, `${method} ${url} → ${res.statusCode} ${res.body}`).toContain(res.statusCode);
  return res.data as T;
}

export async function mintPortalToken(secret: string, sub: string, nowMs: number): Promise<string> {
  const iat = Math.floor(nowMs / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuedAt(iat)
    .setExpirationTime(iat + 300)
    .setSubject(sub)
    .setJti(`jti-${sub}-${Math.random().toString(36).slice(2)}-${iat}`)
    .sign(new TextEncoder().encode(secret));
}

export async function portalSession(t: TestServer, tenantId: string, secret: string, externalId: string): Promise<string> {
  const token = await mintPortalToken(secret, externalId, t.clock.now().getTime());
  const data = await ok(t, 'POST', '/v1/portal/token-login', { body: { tenant_id: tenantId, token } });
  return data.token as string;
}

export async function buildWorld(t: TestServer, tag: string): Promise<World> {
  const { id: tenantId, key } = await t.tenant(`Security ${tag} 商城`);
  const secrets: string[] = [key];
  const k = { token: key };
  const now = () => t.clock.now();
  const iso = (offsetMs = 0) => new Date(now().getTime() + offsetMs).toISOString();

  await ok(t, 'PUT', '/v1/program', {
    ...k,
    body: { levels: 2, freeze_days: 0, review_threshold_fen: 25000, withdrawal: { min_fen: 100, auto_approve_max_fen: 0 } },
  });
  await ok(t, 'PUT', '/v1/grades/default', { ...k, body: { name: '普通', rank: 0, sales_bp: 1000, override_bp: [500, 200] } });
  await ok(t, 'PUT', `/v1/grades/gold-${tag}`, { ...k, body: { name: '金牌', rank: 10, sales_bp: 2000, override_bp: [800, 300] } });
  await ok(t, 'PUT', `/v1/sku-rules/SKU-${tag}`, { ...k, body: { rates: { '0': { kind: 'percent', bp: 1500 } } } });

  const dist = async (name: string, body: Record<string, unknown>): Promise<Dist> =>
    ok(t, 'POST', '/v1/distributors', { ...k, body: { external_id: `${name}-${tag}`, name: `${name} ${tag}`, ...body } });
  const A = await dist('A', { phone: '13800000001' });
  const B = await dist('B', { referrer_code: A.invite_code, phone: '13800000002' });
  const C = await dist('C', { referrer_code: B.invite_code, phone: '13800000003' });
  const D = await dist('D', {});

  // A landing domain, not yet verified (its routes take its id).
  await ok(t, 'POST', '/v1/landing-domains', { ...k, body: { domain: `shop-${tag}.example.com` } });

  // A pending application with a document.
  await ok(t, 'PUT', '/v1/program', { ...k, body: { admission: 'review' } });
  const P = await ok<Dist>(t, 'POST', '/v1/applications', {
    ...k,
    body: { external_id: `P-${tag}`, name: `P ${tag}`, phone: '13800000009', consent: true, referrer_code: A.invite_code },
  });
  await ok(t, 'PUT', '/v1/program', { ...k, body: { admission: 'open' } });
  const upload = multipartBody({ kind: 'id_card' }, { field: 'file', filename: 'id.png', contentType: 'image/png', data: TINY_PNG });
  const docRes = await t.app.inject({
    method: 'POST',
    url: `/v1/distributors/${P.id}/documents`,
    headers: { authorization: `Bearer ${key}`, 'content-type': upload.contentType },
    payload: upload.payload,
  });
  expect(docRes.statusCode, docRes.body).toBe(201);
  const documentId = (JSON.parse(docRes.body) as { id: string }).id;

  // Customers and orders: C sells to buyer-1, B to buyer-2, A to buyer-3.
  const buyers = [`buyer-1-${tag}`, `buyer-2-${tag}`, `buyer-3-${tag}`];
  await ok(t, 'POST', '/v1/bindings', { ...k, body: { customer_external_id: buyers[0], invite_code: C.invite_code } });
  await ok(t, 'POST', '/v1/bindings', { ...k, body: { customer_external_id: buyers[1], invite_code: B.invite_code } });
  await ok(t, 'POST', '/v1/bindings', { ...k, body: { customer_external_id: buyers[2], invite_code: A.invite_code } });
  const order = async (id: string, buyer: string, fen: number, sku = 'S') =>
    ok(t, 'POST', '/v1/orders', {
      ...k,
      body: { external_id: `${id}-${tag}`, buyer_external_id: buyer, items: [{ sku, quantity: 1, unit_price_fen: fen, paid_fen: fen }] },
    });
  const o1 = await order('o1', buyers[0]!, 100000);
  await order('o2', buyers[1]!, 300000);
  await order('o3', buyers[2]!, 50000);
  const o4 = await order('o4', buyers[0]!, 20000, `SKU-${tag}`);
  await order('o5', buyers[1]!, 40000);
  for (const o of ['o1', 'o2', 'o3', 'o5']) await ok(t, 'POST', `/v1/orders/${o}-${tag}/events`, { ...k, body: { type: 'received', at: iso() } });
  await ok(t, 'POST', `/v1/orders/o5-${tag}/events`, { ...k, body: { type: 'refunded', refund_fen: 10000 } });
  void o4;

  const run = await ok(t, 'POST', '/v1/settlements/run', { ...k, body: { as_of: iso(60_000) } });
  const statements = run.statements as { id: string; distributor_id: string; status: string }[];
  const stC = statements.find((s) => s.distributor_id === C.id);
  const stA = statements.find((s) => s.distributor_id === A.id);
  const pending = statements.find((s) => s.status === 'pending_review');
  expect(stC && stA && pending, JSON.stringify(statements)).toBeTruthy();

  // Payout accounts and withdrawals of C in every state, and one of A.
  const accC = await ok(t, 'POST', `/v1/distributors/${C.id}/payout-accounts`, {
    ...k,
    body: { channel: 'bank', account_no: '6222020200112233445', account_name: `C ${tag}`, bank_name: '工商银行' },
  });
  const accA = await ok(t, 'POST', `/v1/distributors/${A.id}/payout-accounts`, {
    ...k,
    body: { channel: 'alipay', identity: '2088123412341234', identity_type: 'ALIPAY_USER_ID', name: `A ${tag}` },
  });
  const withdraw = async (d: Dist) => ok(t, 'POST', '/v1/withdrawals', { ...k, body: { distributor_id: d.id, amount_fen: 500, channel: 'manual' } });
  const wPending = await withdraw(C);
  const wApproved = await withdraw(C);
  await ok(t, 'POST', `/v1/withdrawals/${wApproved.id}/approve`, k);
  const wPaid = await withdraw(C);
  await ok(t, 'POST', `/v1/withdrawals/${wPaid.id}/approve`, k);
  await ok(t, 'POST', `/v1/withdrawals/${wPaid.id}/complete`, { ...k, body: { reference: `BANK-${tag}` } });
  const wFailed = await withdraw(C);
  await ok(t, 'POST', `/v1/withdrawals/${wFailed.id}/approve`, k);
  await ok(t, 'POST', `/v1/withdrawals/${wFailed.id}/fail`, { ...k, body: { reason: 'bank refused' } });
  const wRejected = await withdraw(C);
  await ok(t, 'POST', `/v1/withdrawals/${wRejected.id}/reject`, { ...k, body: { reason: 'check' } });
  const wA = await withdraw(A);

  // Admin users of each role, and one to be changed by the walker.
  const passwords = {} as Record<Role, string>;
  const emails = {} as Record<Role, string>;
  const userIds = {} as Record<Role, string>;
  for (const role of ROLES) {
    passwords[role] = `pw-${role}-${tag}-0123456789`;
    emails[role] = `${role}-${tag}@example.com`;
    const u = await ok(t, 'POST', '/v1/admin-users', { ...k, body: { email: emails[role], password: passwords[role], role, name: `${role} ${tag}` } });
    userIds[role] = u.id;
    secrets.push(passwords[role]);
  }
  const victim = await ok(t, 'POST', '/v1/admin-users', {
    ...k,
    body: { email: `victim-${tag}@example.com`, password: `pw-victim-${tag}-0123456789`, role: 'auditor' },
  });
  const victimKey = await ok(t, 'POST', '/v1/api-keys', { ...k, body: { name: `victim ${tag}` } });
  secrets.push(victimKey.api_key, `pw-victim-${tag}-0123456789`);
  const scopedKeys = {
    read: (await ok(t, 'POST', '/v1/api-keys', { ...k, body: { name: `read ${tag}`, scope: 'read' } })).api_key as string,
    orders: (await ok(t, 'POST', '/v1/api-keys', { ...k, body: { name: `orders ${tag}`, scope: 'orders' } })).api_key as string,
  };
  secrets.push(scopedKeys.read, scopedKeys.orders);

  const login = async (role: Role): Promise<string> => {
    const data = await ok(t, 'POST', '/v1/auth/login', { body: { tenant_id: tenantId, email: emails[role], password: passwords[role] } });
    secrets.push(data.token);
    return data.token as string;
  };
  const sessions = {} as Record<Role, string>;
  for (const role of ROLES) sessions[role] = await login(role);
  // An operator's change to a money control waits for finance: a proposal for the walker to decide.
  const proposed = await ok(t, 'PUT', '/v1/program', { token: sessions.operator, body: { settlement: { hour: 3 } } });
  expect(proposed.pending_proposal?.status).toBe('pending');

  const signing = await ok(t, 'POST', '/v1/portal/signing-secret', k);
  secrets.push(signing.secret);
  const portal = { C: await portalSession(t, tenantId, signing.secret, C.external_id), A: await portalSession(t, tenantId, signing.secret, A.external_id) };
  secrets.push(portal.C, portal.A);

  // A webhook delivery Fenxiao records and does nothing with (a topic it does not act on).
  const shopSecret = `shpss_walker_${tag}_0123456789abcdef`;
  secrets.push(shopSecret);
  await ok(t, 'POST', '/v1/webhooks/secret', { ...k, body: { format: 'shopify', secret: shopSecret } });
  const hookBody = JSON.stringify({ id: 1 });
  await ok(t, 'POST', `/v1/webhooks/${tenantId}/orders/shopify`, {
    body: { id: 1 },
    headers: {
      'x-shopify-topic': 'app/uninstalled',
      'x-shopify-webhook-id': `walker-${tag}`,
      'x-shopify-hmac-sha256': createHmac('sha256', shopSecret).update(hookBody).digest('base64'),
    },
  });
  const delivery = (await ok(t, 'GET', '/v1/webhooks/deliveries', k)).items[0] as { id: string };

  // A background settlement run, finished (it settles nothing new) before anything else is looked at.
  let settlementJob = await ok<{ id: string; status: string }>(t, 'POST', '/v1/settlements/jobs', { ...k, body: { as_of: iso(60_000) } }, [202]);
  for (let i = 0; i < 500 && settlementJob.status === 'running'; i++) {
    await new Promise((r) => setTimeout(r, 10));
    settlementJob = await ok(t, 'GET', `/v1/settlements/jobs/${settlementJob.id}`, k);
  }
  expect(settlementJob.status).toBe('done');

  // An export job, finished too: its progress and outcome are rows of the jobs table.
  const job = await t.app.exportJobs.start({ tenantId, spec: sampleSpec, rows: sampleRows(3), format: 'csv', tz: 'Asia/Shanghai', filename: `walker-${tag}` });
  expect((await t.app.exportJobs.settled(tenantId, job.id)).status).toBe('done');

  // Agent applications: C and A each apply for a district with a document of their own, before
  // the merchant appoints them below (so both stay pending: a reviewer's approval is refused, 409).
  const applyAsAgent = async (d: Dist, session: string, region_code: string) => {
    const up = multipartBody({ kind: 'business_licence' }, { field: 'file', filename: 'licence.png', contentType: 'image/png', data: TINY_PNG });
    const res = await t.app.inject({
      method: 'POST',
      url: `/v1/distributors/${d.id}/documents`,
      headers: { authorization: `Bearer ${session}`, 'content-type': up.contentType },
      payload: up.payload,
    });
    expect(res.statusCode, res.body).toBe(201);
    const doc = (JSON.parse(res.body) as { id: string }).id;
    const app = await ok(t, 'POST', '/v1/agent-applications', { token: session, body: { rank: 'district', region_code, note: 'walker', document_ids: [doc] } });
    return { doc, app: app.id as string };
  };
  const applicationC = await applyAsAgent(C, portal.C, '110101');
  const applicationA = await applyAsAgent(A, portal.A, '110102');

  // Regional agents: C and A each an agent of a district, a SKU's price list, purchase orders (C's
  // first paid, so C holds stock; its second and A's waiting for payment).
  await ok(t, 'PUT', '/v1/agent-program', { ...k, body: { enabled: true } });
  const agentSku = `SKU-${tag}`;
  await ok(t, 'PUT', `/v1/agent-prices/${agentSku}`, { ...k, body: { retail_fen: 10000, province_fen: 5000, city_fen: 6000, district_fen: 7000 } });
  const agentC = await ok(t, 'POST', '/v1/agents', { ...k, body: { distributor_id: C.id, rank: 'district', region_code: '110105' } });
  const agentA = await ok(t, 'POST', '/v1/agents', { ...k, body: { distributor_id: A.id, rank: 'district', region_code: '110108' } });
  const purchase = async (agentId: string, n: string) =>
    ok(t, 'POST', '/v1/purchase-orders', {
      ...k,
      body: { agent_id: agentId, items: [{ sku: agentSku, quantity: 10 }] },
      headers: { 'idempotency-key': `po-${n}-${tag}` },
    });
  const poPaid = await purchase(agentC.id, 'c1');
  await ok(t, 'POST', `/v1/purchase-orders/${poPaid.id}/pay`, { ...k, body: { reference: `PO-${tag}` } });
  const poC = await purchase(agentC.id, 'c2');
  const poA = await purchase(agentA.id, 'a1');

  // A pilot of a grade change for D, and a change to the gold grade scheduled a year ahead.
  const pilot = await ok(t, 'POST', '/v1/pilots', {
    ...k,
    body: { name: `pilot ${tag}`, cohort: { distributor_ids: [D.id] }, grades: { default: { sales_bp: 300 } } },
  });
  const scheduled = await ok(t, 'PUT', `/v1/grades/gold-${tag}?effective_from=${encodeURIComponent(iso(365 * 86_400_000))}`, {
    ...k,
    body: { name: '金牌', rank: 10, sales_bp: 2100, override_bp: [800, 300] },
  });
  const ruleChange = scheduled.change as { id: string };
  expect(ruleChange?.id, JSON.stringify(scheduled)).toBeTruthy();

  // An outbound webhook endpoint (a public address: no lookup), and a test event sent to it.
  const endpoint = await ok(t, 'POST', '/v1/webhook-endpoints', { ...k, body: { url: WALKER_HOOK_URL, events: ['order.credited'] } });
  secrets.push(endpoint.secret);
  const testEvent = await ok(t, 'POST', `/v1/webhook-endpoints/${endpoint.id}/test`, k, [200, 201, 202]);
  expect(testEvent.event_id, JSON.stringify(testEvent)).toBeTruthy();

  // A code texted to an applicant's phone (the SMS simulator keeps it).
  const phoneVerification = await ok(t, 'POST', '/v1/phone-verifications', { ...k, body: { phone: '13700009999' } });

  // An admission deposit on its way back: R paid one while the program asked it, then left; the
  // refund (paid outside Fenxiao) waits for its approval. The program asks no deposit afterwards.
  const R = await dist('R', {});
  await ok(t, 'PUT', '/v1/program', { ...k, body: { admission_conditions: { deposit_fen: 10000 } } });
  await ok(t, 'POST', `/v1/distributors/${R.id}/deposit`, { ...k, body: { amount_fen: 10000 } });
  await ok(t, 'PUT', '/v1/program', { ...k, body: { admission_conditions: { deposit_fen: 0 } } });
  await ok(t, 'POST', `/v1/distributors/${R.id}/suspend`, { ...k, body: { reason: 'left' } });
  const depositRefund = await ok(t, 'POST', `/v1/distributors/${R.id}/deposit/refund`, { ...k, body: { reason: 'left', channel: 'manual' } });

  const lineOf = (o: { commissions: { id: string; beneficiary_id: string }[] }, d: Dist) => o.commissions.find((c) => c.beneficiary_id === d.id)?.id;
  const commissionC = lineOf(o1, C);
  const commissionA = lineOf(o1, A);
  expect(commissionC && commissionA).toBeTruthy();

  const riskEvent = await t.database.db.selectFrom('risk_events').select('id').where('tenant_id', '=', tenantId).executeTakeFirst();
  const payout = await t.database.db.selectFrom('payouts').select('id').where('tenant_id', '=', tenantId).executeTakeFirst();
  const journal = await t.database.db.selectFrom('journal_entries').select('id').where('tenant_id', '=', tenantId).executeTakeFirst();

  const ids: Partial<Record<Kind, string>> = {
    distributor: C.id,
    commission: commissionC,
    statement: pending!.id,
    withdrawal: wPending.id,
    document: documentId,
    api_key: victimKey.id,
    admin_user: victim.id,
    export: job.id,
    order: `o1-${tag}`,
    customer: buyers[0],
    grade: `gold-${tag}`,
    sku: `SKU-${tag}`,
    payout_account: accC.id,
    settlement_run: run.run_id,
    settlement_job: settlementJob.id,
    ...(riskEvent ? { risk_event: riskEvent.id } : {}),
    ...(payout ? { payout: payout.id } : {}),
    ...(journal ? { journal: journal.id } : {}),
    delivery: delivery.id,
    agent: agentC.id,
    agent_application: applicationC.app,
    agent_price: agentSku,
    purchase_order: poC.id,
    pilot: pilot.id,
    rule_change: ruleChange.id,
    webhook_endpoint: endpoint.id,
    webhook_event: testEvent.event_id,
    phone_verification: phoneVerification.id,
    deposit_refund: depositRefund.id,
  };
  const own: Partial<Record<Kind, string>> = {
    distributor: C.id,
    commission: commissionC,
    statement: stC!.id,
    withdrawal: wPending.id,
    payout_account: accC.id,
    agent: agentC.id,
    agent_application: applicationC.app,
    document: applicationC.doc,
    purchase_order: poC.id,
  };
  const other: Partial<Record<Kind, string>> = {
    distributor: A.id,
    commission: commissionA,
    statement: stA!.id,
    withdrawal: wA.id,
    payout_account: accA.id,
    document: documentId,
    agent: agentA.id,
    agent_application: applicationA.app,
    purchase_order: poA.id,
  };
  void wApproved;
  void wPaid;
  void wFailed;
  void wRejected;
  void userIds;

  return {
    tag,
    tenantId,
    key,
    scopedKeys,
    ids,
    own,
    other,
    distributors: { A, B, C, D, P },
    sessions,
    login,
    passwords,
    emails,
    portal,
    signingSecret: signing.secret,
    secrets,
  };
}

/** Tables with a tenant_id column (every table of tenant data), found at run time. */
export async function tenantTables(t: TestServer): Promise<string[]> {
  const r = await sql<{ table_name: string }>`select c.table_name from information_schema.columns c
    join information_schema.tables x on x.table_schema = c.table_schema and x.table_name = c.table_name and x.table_type = 'BASE TABLE'
    where c.table_schema = 'public' and c.column_name = 'tenant_id' order by 1`.execute(t.database.db);
  return r.rows.map((x) => x.table_name);
}

/**
 * Everything stored for one tenant: an md5 of each table's rows (and the tenant's own row). Two
 * equal snapshots mean nothing of the tenant was written in between.
 */
export async function tenantSnapshot(t: TestServer, tenantId: string, tables?: string[]): Promise<Record<string, string>> {
  const names = tables ?? (await tenantTables(t));
  const parts = names.map(
    (n) =>
      sql`select ${n}::text as name, md5(coalesce(string_agg(x::text, '|' order by x::text), '')) as hash, count(*)::int as n from ${sql.table(n)} x where x.tenant_id = ${tenantId}`,
  );
  parts.push(sql`select 'tenants' as name, md5(coalesce(string_agg(x::text, '|'), '')) as hash, count(*)::int as n from tenants x where x.id = ${tenantId}`);
  const r = await sql<{ name: string; hash: string; n: number }>`${sql.join(parts, sql` union all `)}`.execute(t.database.db);
  return Object.fromEntries(r.rows.map((x) => [x.name, `${x.n}:${x.hash}`]));
}

export function diffSnapshots(before: Record<string, string>, after: Record<string, string>): string[] {
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...keys].filter((k) => before[k] !== after[k]).map((k) => `${k}: ${before[k]} → ${after[k]}`);
}

/** Values of a world that must never appear in another tenant's answers. */
export function identifiers(w: World): string[] {
  // Names the merchant chooses (a grade code, a SKU) are not secrets: another tenant may name its
  // own the same (the walker's PUTs with this world's names do), and then sees its own.
  const named = new Set([w.ids.grade, w.ids.sku, w.ids.agent_price]);
  const all = [w.tenantId, ...Object.values(w.ids), ...Object.values(w.own), ...Object.values(w.other)];
  const values = new Set<string>(all.filter((x): x is string => !!x && !named.has(x)));
  for (const d of Object.values(w.distributors)) {
    values.add(d.id);
    values.add(d.invite_code);
  }
  return [...values].filter((v) => v.length >= 6);
}
