/**
 * A flood of refused registrations (issue 14, item 9): registrations over the per-IP limit answer
 * 429, and the risk queue gets one event per window per address, not a row per refused request
 * (each one was an insert a caller could repeat at will: anonymously through the portal's public
 * application, or through a merchant backend relaying its users' requests).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ManualClock } from '../../src/core/context.ts';
import { applyInPortal } from '../support/portal.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.close();
});

async function flooded(name: string) {
  const { id, key } = await t.tenant(name);
  const window = { limit: 2, window_seconds: 600 };
  expect((await t.call('PUT', '/v1/program', { token: key, body: { anti_cheat: { registration: { per_ip: window, per_device: window } } } })).statusCode).toBe(
    200,
  );
  const events = async () => await t.database.db.selectFrom('risk_events').select(['kind', 'subject_id']).where('tenant_id', '=', id).orderBy('id').execute();
  return { id, key, events };
}

describe('refused registrations', () => {
  it("through the portal's public application: one risk event per window per address", async () => {
    const m = await flooded('Flooded portal');
    let n = 0;
    const apply = () =>
      applyInPortal(t, { tenant_id: m.id, name: `Flood ${n}`, phone: `1390000${String(n++).padStart(4, '0')}`, password: 'flood-password-1', consent: true });
    expect((await apply()).statusCode).toBe(201);
    expect((await apply()).statusCode).toBe(201);
    for (let i = 0; i < 15; i++) expect((await apply()).statusCode).toBe(429);
    expect(await m.events()).toEqual([{ kind: 'registration_ip_limit', subject_id: '127.0.0.1' }]);
  });

  it("through the merchant's API: one per window per address, and one more once the window has slid on", async () => {
    const m = await flooded('Flooded API');
    let n = 0;
    const create = (ip: string, device?: string) =>
      t.call('POST', '/v1/distributors', {
        token: m.key,
        body: { external_id: `flood-${n++}`, name: 'F', client_ip: ip, ...(device ? { device_id: device } : {}) },
      });
    expect((await create('203.0.113.9')).statusCode).toBe(201);
    expect((await create('203.0.113.9')).statusCode).toBe(201);
    for (let i = 0; i < 40; i++) expect((await create('203.0.113.9', i % 2 ? 'device-flood' : undefined)).statusCode).toBe(429);
    expect(await m.events()).toEqual([{ kind: 'registration_ip_limit', subject_id: '203.0.113.9' }]);
    // Another address has its own window and its own event.
    expect((await create('198.51.100.4')).statusCode).toBe(201);
    expect((await create('198.51.100.4')).statusCode).toBe(201);
    for (let i = 0; i < 5; i++) expect((await create('198.51.100.4')).statusCode).toBe(429);
    expect((await m.events()).map((e) => e.subject_id)).toEqual(['203.0.113.9', '198.51.100.4']);

    (t.clock as ManualClock).advance(601_000);
    expect((await create('203.0.113.9')).statusCode).toBe(201);
    expect((await create('203.0.113.9')).statusCode).toBe(201);
    for (let i = 0; i < 20; i++) expect((await create('203.0.113.9')).statusCode).toBe(429);
    expect((await m.events()).map((e) => e.subject_id)).toEqual(['203.0.113.9', '198.51.100.4', '203.0.113.9']);
  });
});
