/**
 * A flood of refused registrations (issue 14, item 9): the portal's public application page over
 * its per-IP limit answers 429, and the risk queue gets one event per window per address, not a
 * row per refused request (each one was an insert an anonymous caller could repeat at will).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ManualClock } from '../../src/app/context.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

let t: TestServer;
beforeAll(async () => { t = await startTestServer(); });
afterAll(async () => { await t?.close(); });

describe('refused anonymous registrations', () => {
  it('record one risk event per window per address, however many are refused', async () => {
    const { id: tenantId, key } = await t.tenant('Flooded merchant');
    const window = { limit: 2, window_seconds: 600 };
    expect((await t.call('PUT', '/v1/program', { token: key, body: { anti_cheat: { registration: { per_ip: window, per_device: window } } } })).statusCode).toBe(200);
    let n = 0;
    const apply = (headers: Record<string, string> = {}, device?: string) => t.call('POST', '/v1/portal/apply', {
      headers, body: { tenant_id: tenantId, name: `Flood ${n}`, phone: `1390000${String(n++).padStart(4, '0')}`, password: 'flood-password-1', consent: true, ...(device ? { device_id: device } : {}) },
    });
    const events = async () => (await t.database.db.selectFrom('risk_events').select(['kind', 'subject_id']).where('tenant_id', '=', tenantId).orderBy('id').execute());

    expect((await apply()).statusCode).toBe(201);
    expect((await apply()).statusCode).toBe(201);
    const statuses: number[] = [];
    for (let i = 0; i < 40; i++) statuses.push((await apply()).statusCode);
    expect(new Set(statuses)).toEqual(new Set([429]));
    expect(await events()).toEqual([{ kind: 'registration_ip_limit', subject_id: '127.0.0.1' }]);

    // More refusals from the address, with a device id or without, add nothing.
    for (let i = 0; i < 3; i++) expect((await apply({}, 'device-flood-1')).statusCode).toBe(429);
    expect((await events()).length).toBe(1);

    // The window slides on: the next refusals make one more event, then none again.
    (t.clock as ManualClock).advance(601_000);
    expect((await apply()).statusCode).toBe(201);
    expect((await apply()).statusCode).toBe(201);
    for (let i = 0; i < 20; i++) expect((await apply()).statusCode).toBe(429);
    expect((await events()).map((e) => e.kind)).toEqual(['registration_ip_limit', 'registration_ip_limit']);
  });
});
