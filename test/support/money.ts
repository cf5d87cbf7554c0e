/**
 * A tenant whose money the security tests try to move: an API key, console users of each role
 * with their sessions, a distributor with a withdrawable balance and its portal session.
 */
import { expect } from 'vitest';
import type { TestServer } from './server.ts';
import { portalSession } from '../security/world.ts';

export type StaffRole = 'owner' | 'operator' | 'finance' | 'auditor';

export interface MoneyTenant {
  tenantId: string;
  key: string;
  /** A console session per user name: owner, operator, finance, finance2 (a second finance user), auditor. */
  staff: Record<'owner' | 'operator' | 'finance' | 'finance2' | 'auditor', { id: string; token: string }>;
  /** A distributor with `funded` fen withdrawable, and its portal session. */
  d: { id: string; external_id: string; invite_code: string; portal: string };
  secret: string;
  call(method: string, url: string, token: string, body?: unknown, headers?: Record<string, string>): ReturnType<TestServer['call']>;
}

/** `program`: what the merchant's key sets first (default: one level, no freeze, a review threshold no test reaches, 1 fen minimum). */
export async function moneyTenant(
  t: TestServer,
  funded = 100_000,
  program: Record<string, unknown> = { levels: 1, freeze_days: 0, review_threshold_fen: 100_000_000, withdrawal: { min_fen: 1 } },
): Promise<MoneyTenant> {
  const { id: tenantId, key } = await t.tenant();
  const call = (method: string, url: string, token: string, body?: unknown, headers?: Record<string, string>) =>
    t.call(method, url, { token, ...(body !== undefined ? { body } : {}), ...(headers ? { headers } : {}) });
  const must = async (method: string, url: string, token: string, body?: unknown) => {
    const res = await call(method, url, token, body);
    expect(res.statusCode, `${method} ${url} → ${res.statusCode} ${res.body}`).toBeLessThan(300);
    return res.data;
  };
  await must('PUT', '/v1/program', key, program);
  await must('PUT', '/v1/grades/default', key, { name: 'g', rank: 0, sales_bp: 10000, override_bp: [] });
  const d = await must('POST', '/v1/distributors', key, { external_id: `d-${tenantId}`, name: '张三' });
  if (funded > 0) {
    await must('POST', '/v1/bindings', key, { customer_external_id: `buyer-${tenantId}`, invite_code: d.invite_code });
    await must('POST', '/v1/orders', key, {
      external_id: `o-${tenantId}`,
      buyer_external_id: `buyer-${tenantId}`,
      items: [{ sku: 's', quantity: 1, unit_price_fen: funded, paid_fen: funded }],
    });
    await must('POST', `/v1/orders/o-${tenantId}/events`, key, { type: 'received', at: new Date(t.clock.now().getTime() - 1000).toISOString() });
    await must('POST', '/v1/settlements/run', key, { as_of: t.clock.now().toISOString() });
  }
  const staff = {} as MoneyTenant['staff'];
  for (const [name, role] of [
    ['owner', 'owner'],
    ['operator', 'operator'],
    ['finance', 'finance'],
    ['finance2', 'finance'],
    ['auditor', 'auditor'],
  ] as const) {
    const email = `${name}-${tenantId.toLowerCase()}@example.com`;
    const password = `pw-${name}-0123456789`;
    const u = await must('POST', '/v1/admin-users', key, { email, password, role, name });
    const login = await t.call('POST', '/v1/auth/login', { body: { tenant_id: tenantId, email, password } });
    expect(login.statusCode, login.body).toBe(200);
    staff[name] = { id: u.id as string, token: login.data.token as string };
  }
  const secret = (await must('POST', '/v1/portal/signing-secret', key)).secret as string;
  const portal = await portalSession(t, tenantId, secret, d.external_id);
  return { tenantId, key, staff, d: { id: d.id, external_id: d.external_id, invite_code: d.invite_code, portal }, secret, call };
}
