/**
 * A program time zone the runtime does not know (issue 14, item 8): it used to be stored (the
 * schema checked only its shape), and then every order, withdrawal and analytics call of the
 * tenant failed with 500 as each computed a local day. It is refused at PUT time now, and a zone
 * stored before is repaired by a migration.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { up as repairTimeZones } from '../../src/db/migrations/2026_12_06_0710_program_time_zones.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.close();
});

const order = (key: string, id: string, buyer: string) =>
  t.call('POST', '/v1/orders', {
    token: key,
    body: { external_id: id, buyer_external_id: buyer, items: [{ sku: 's', quantity: 1, unit_price_fen: 1000, paid_fen: 1000 }] },
  });

describe('the program time zone', () => {
  it('refuses a zone the runtime does not know, and the tenant keeps working', async () => {
    const { key } = await t.tenant('Zone merchant');
    const d = (await t.call('POST', '/v1/distributors', { token: key, body: { external_id: 'tz-d', name: 'D' } })).data;
    await t.call('POST', '/v1/bindings', { token: key, body: { customer_external_id: 'tz-buyer', invite_code: d.invite_code } });
    for (const zone of ['Mars/Olympus', 'Asia/Shang_hai', 'Etc/Nowhere', 'Factory_Reset']) {
      const res = await t.call('PUT', '/v1/program', { token: key, body: { timezone: zone } });
      expect(res.statusCode, `${zone}: ${res.body}`).toBe(400);
      expect(res.data.error.code).toBe('invalid_request');
    }
    expect((await t.call('GET', '/v1/program', { token: key })).data.timezone).toBe('Asia/Shanghai');
    expect((await order(key, 'tz-1', 'tz-buyer')).statusCode).toBe(201);
    expect((await t.call('GET', '/v1/analytics/kpis', { token: key })).statusCode).toBe(200);
    // Zones the runtime knows, aliases included, are taken.
    for (const zone of ['Europe/Berlin', 'UTC', 'America/Argentina/Buenos_Aires', 'Etc/GMT-8']) {
      expect((await t.call('PUT', '/v1/program', { token: key, body: { timezone: zone } })).statusCode, zone).toBe(200);
    }
  });

  it('a zone stored before the check is repaired by the migration', async () => {
    const { id: tenantId, key } = await t.tenant('Stored zone merchant');
    const d = (await t.call('POST', '/v1/distributors', { token: key, body: { external_id: 'tz-d2', name: 'D2' } })).data;
    await t.call('POST', '/v1/bindings', { token: key, body: { customer_external_id: 'tz-buyer2', invite_code: d.invite_code } });
    const row = await t.database.db.selectFrom('programs').select('settings').where('tenant_id', '=', tenantId).executeTakeFirstOrThrow();
    await t.database.db
      .updateTable('programs')
      .set({ settings: JSON.stringify({ ...(row.settings as object), timezone: 'Mars/Olympus' }) })
      .where('tenant_id', '=', tenantId)
      .execute();
    await repairTimeZones(t.database.db);
    expect((await t.call('GET', '/v1/program', { token: key })).data.timezone).toBe('Asia/Shanghai');
    expect((await order(key, 'tz-2', 'tz-buyer2')).statusCode).toBe(201);
  });
});
