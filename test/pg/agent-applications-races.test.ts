/**
 * Races on agent applications, on a real PostgreSQL: two server instances (two pools, as two app
 * processes) approving applications for one territory at once, and one distributor submitting
 * twice at once. PGlite runs one transaction at a time, so these only mean something here.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { onPostgres } from '../support/db.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { openDatabase, type Database } from '../../src/db/database.ts';
import { portalSession } from '../security/world.ts';

describe.skipIf(!onPostgres())('agent application races on PostgreSQL (needs DATABASE_URL: PostgreSQL only)', () => {
  let a: TestServer;
  let b: TestServer;
  const pools: Database[] = [];

  beforeAll(async () => {
    const url = inject('databaseUrl');
    pools.push(await openDatabase({ databaseUrl: url, poolSize: 10 }), await openDatabase({ databaseUrl: url, poolSize: 10 }));
    const env = { FENXIAO_MASTER_KEY: randomBytes(32).toString('base64') };
    [a, b] = await Promise.all([startTestServer({ env, database: pools[0]! }), startTestServer({ env, database: pools[1]! })]);
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await Promise.all(pools.map((p) => p.close()));
  });

  /** A tenant with the agent program on and `n` distributors with portal sessions. */
  async function tenantWith(n: number) {
    const { key, id: tenantId } = await a.tenant();
    expect((await a.call('PUT', '/v1/agent-program', { token: key, body: { enabled: true } })).statusCode).toBe(200);
    const secret = (await a.call('POST', '/v1/portal/signing-secret', { token: key })).data.secret as string;
    const ds: { id: string; session: string }[] = [];
    for (let i = 0; i < n; i++) {
      const d = (await a.call('POST', '/v1/distributors', { token: key, body: { external_id: `d-${i}`, name: `D${i}` } })).data as {
        id: string;
        external_id: string;
      };
      ds.push({ id: d.id, session: await portalSession(a, tenantId, secret, d.external_id) });
    }
    return { key, ds };
  }

  it('approvals of 8 applications for one territory at once, from two processes: exactly one agent, the rest 409 and still pending', async () => {
    const { key, ds } = await tenantWith(8);
    const apps: string[] = [];
    for (const d of ds) {
      const r = await a.call('POST', '/v1/agent-applications', { token: d.session, body: { rank: 'district', region_code: '110105', document_ids: [] } });
      expect(r.statusCode, r.body).toBe(201);
      apps.push(r.data.id);
    }
    const results = await Promise.all(apps.map((id, i) => (i % 2 === 0 ? a : b).call('POST', `/v1/agent-applications/${id}/approve`, { token: key })));
    const codes = results.map((r) => r.statusCode);
    expect(codes.filter((c) => c === 200)).toHaveLength(1);
    expect(codes.filter((c) => c === 409)).toHaveLength(7);
    const agents = (await a.call('GET', '/v1/agents', { token: key })).data.items as { id: string; region_code: string; status: string }[];
    expect(agents).toHaveLength(1);
    expect(agents[0]).toMatchObject({ region_code: '110105', status: 'active' });
    const winner = results.find((r) => r.statusCode === 200)!.data;
    expect(winner.agent_id).toBe(agents[0]!.id);
    const listed = (await a.call('GET', '/v1/agent-applications', { token: key })).data.items as { status: string; agent_id: string | null }[];
    expect(listed.filter((x) => x.status === 'approved')).toHaveLength(1);
    expect(listed.filter((x) => x.status === 'pending' && x.agent_id === null)).toHaveLength(7);
    // Every loser rolled back whole: one appointment in the history, one approval audited.
    expect((await a.call('GET', `/v1/agents/${agents[0]!.id}/events`, { token: key })).data.items).toHaveLength(1);
    expect((await a.call('GET', '/v1/audit-log?action=agent_application.approve', { token: key })).data.items).toHaveLength(1);
    expect((await a.call('GET', '/v1/audit-log?action=agent.appointed', { token: key })).data.items).toHaveLength(1);
  });

  it('one distributor submitting 6 applications at once from two processes: exactly one is open', async () => {
    const { key, ds } = await tenantWith(1);
    const d = ds[0]!;
    const codes = (
      await Promise.all(
        ['110105', '110108', '110101', '110102', '110106', '110107'].map((region_code, i) =>
          (i % 2 === 0 ? a : b).call('POST', '/v1/agent-applications', { token: d.session, body: { rank: 'district', region_code, document_ids: [] } }),
        ),
      )
    ).map((r) => r.statusCode);
    expect(codes.filter((c) => c === 201)).toHaveLength(1);
    expect(codes.filter((c) => c === 409)).toHaveLength(5);
    expect((await a.call('GET', '/v1/agent-applications?status=pending', { token: key })).data.items).toHaveLength(1);
  });
});
