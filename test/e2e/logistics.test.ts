/**
 * Logistics: carriers' tracking pushes move orders to shipped and received (签收) exactly once,
 * in the generic format and in Kuaidi100's; forged or replayed pushes change nothing. On both
 * databases.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash, createHmac } from 'node:crypto';
import { startTestServer, type TestServer } from '../support/server.ts';
import { ManualClock } from '../../src/core/context.ts';

let t: TestServer;
const clock = new ManualClock('2026-03-01T08:00:00Z');
beforeAll(async () => {
  t = await startTestServer({ clock });
});
afterAll(async () => {
  await t?.close();
});

const ok = <R extends { statusCode: number; body: string }>(r: R): R => {
  if (r.statusCode >= 300) throw new Error(`${r.statusCode} ${r.body}`);
  return r;
};

async function merchant() {
  const { id: tenantId, key } = await t.tenant('物流商户');
  ok(await t.call('PUT', '/v1/grades/default', { token: key, body: { name: '普通', rank: 0, sales_bp: 1000, override_bp: [0] } }));
  const a = ok(await t.call('POST', '/v1/distributors', { token: key, body: { external_id: 'A', name: 'A' } })).data;
  const secret = ok(await t.call('POST', '/v1/logistics/secret', { token: key })).data.secret as string;
  const order = async (ext: string, tracking: string) => {
    ok(
      await t.call('POST', '/v1/orders', {
        token: key,
        body: {
          external_id: ext,
          buyer_external_id: `b-${ext}`,
          invite_code: a.invite_code,
          items: [{ sku: 'S', quantity: 1, unit_price_fen: 1000, paid_fen: 1000 }],
        },
      }),
    );
    const r = ok(await t.call('PUT', `/v1/orders/${ext}/tracking`, { token: key, body: { carrier: 'yuantong', tracking_number: tracking } }));
    expect(r.data).toMatchObject({ external_id: ext, tracking_carrier: 'yuantong', tracking_number: tracking });
  };
  return { tenantId, key, secret, order };
}

function generic(tenantId: string, secret: string, body: object, ts = Math.floor(clock.now().getTime() / 1000)) {
  const raw = JSON.stringify(body);
  const sig = `v1=${createHmac('sha256', secret).update(`${ts}.${raw}`).digest('hex')}`;
  return t.call('POST', `/v1/logistics/${tenantId}/generic`, { rawBody: raw, headers: { 'x-fenxiao-timestamp': String(ts), 'x-fenxiao-signature': sig } });
}

function kuaidi100(tenantId: string, salt: string, nu: string, state: string, ftime = '2026-03-02 10:00:00', forgeSign?: string) {
  const param = JSON.stringify({
    status: 'polling',
    billstatus: 'got',
    message: '',
    lastResult: {
      message: 'ok',
      state,
      status: '200',
      condition: 'F00',
      ischeck: state === '3' ? '1' : '0',
      com: 'yuantong',
      nu,
      data: [{ context: '已签收', time: ftime, ftime, status: '签收' }],
    },
  });
  const sign =
    forgeSign ??
    createHash('md5')
      .update(param + salt)
      .digest('hex')
      .toUpperCase();
  return t.call('POST', `/v1/logistics/${tenantId}/kuaidi100`, {
    rawBody: new URLSearchParams({ param, sign }).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
}

const events = async (key: string, ext: string) => {
  const o = (await t.call('GET', `/v1/orders/${ext}`, { token: key })).data;
  return { status: o.status as string, shipped_at: o.shipped_at as string | null, received_at: o.received_at as string | null };
};

describe('generic tracking pushes', () => {
  it('shipped then signed moves the order to shipped and received once; forged and replayed pushes change nothing', async () => {
    const { tenantId, key, secret, order } = await merchant();
    await order('g-1', 'YT1000001');
    // Forged: wrong secret, no signature, a stale timestamp: 401, nothing changes.
    expect((await generic(tenantId, 'lgs_not-the-secret-at-all', { event_id: 'e1', tracking_number: 'YT1000001', status: 'signed' })).statusCode).toBe(401);
    expect(
      (
        await t.call('POST', `/v1/logistics/${tenantId}/generic`, {
          rawBody: JSON.stringify({ event_id: 'e1', tracking_number: 'YT1000001', status: 'signed' }),
        })
      ).statusCode,
    ).toBe(401);
    expect(
      (await generic(tenantId, secret, { event_id: 'e1', tracking_number: 'YT1000001', status: 'signed' }, Math.floor(clock.now().getTime() / 1000) - 3600))
        .statusCode,
    ).toBe(401);
    expect((await events(key, 'g-1')).status).toBe('paid');

    const shipped = await generic(tenantId, secret, { event_id: 'e-ship', tracking_number: 'YT1000001', status: 'shipped', at: '2026-03-01T09:00:00Z' });
    expect(shipped.statusCode).toBe(200);
    expect(shipped.data).toMatchObject({ outcome: 'applied', order_external_id: 'g-1' });
    expect(await events(key, 'g-1')).toMatchObject({ status: 'shipped', shipped_at: '2026-03-01T09:00:00.000Z' });

    const signed = await generic(tenantId, secret, { event_id: 'e-sign', tracking_number: 'YT1000001', status: 'signed', at: '2026-03-02T10:00:00Z' });
    expect(signed.data).toMatchObject({ outcome: 'applied' });
    const after = await events(key, 'g-1');
    expect(after).toEqual({ status: 'received', shipped_at: '2026-03-01T09:00:00.000Z', received_at: '2026-03-02T10:00:00.000Z' });

    // Replays: the same signed push again, concurrently, and a late 'shipped': nothing moves.
    const again = await Promise.all(
      [1, 2, 3].map(() => generic(tenantId, secret, { event_id: 'e-sign', tracking_number: 'YT1000001', status: 'signed', at: '2026-03-02T10:00:00Z' })),
    );
    for (const r of again) expect(r.data.outcome).toBe('duplicate');
    expect(
      (await generic(tenantId, secret, { event_id: 'e-ship', tracking_number: 'YT1000001', status: 'shipped', at: '2026-03-01T09:00:00Z' })).data.outcome,
    ).toBe('duplicate');
    expect((await generic(tenantId, secret, { event_id: 'e-late', tracking_number: 'YT1000001', status: 'shipped' })).data.outcome).toBe('ignored');
    expect(await events(key, 'g-1')).toEqual(after);
    const history = await t.services.db
      .selectFrom('order_events as e')
      .innerJoin('orders as o', 'o.id', 'e.order_id')
      .select('e.type')
      .where('o.tenant_id', '=', tenantId)
      .where('o.external_id', '=', 'g-1')
      .execute();
    expect(history.map((h) => h.type).sort()).toEqual(['paid', 'received', 'shipped']);
  });

  it("another tenant's secret or tracking number reaches nothing; malformed pushes are 400", async () => {
    const one = await merchant();
    const two = await merchant();
    await one.order('x-1', 'SF2000001');
    expect((await generic(one.tenantId, two.secret, { event_id: 'z', tracking_number: 'SF2000001', status: 'signed' })).statusCode).toBe(401);
    expect((await generic(two.tenantId, two.secret, { event_id: 'z', tracking_number: 'SF2000001', status: 'signed' })).data).toMatchObject({
      outcome: 'ignored',
      order_external_id: null,
    });
    expect((await events(one.key, 'x-1')).status).toBe('paid');
    const bad = await generic(one.tenantId, one.secret, { event_id: 'z', status: 'signed' });
    expect(bad.statusCode).toBe(400);
    expect(bad.data.error.code).toBe('invalid_request');
    expect((await t.call('PUT', '/v1/orders/x-1/tracking', { token: two.key, body: { carrier: 'sf', tracking_number: 'SF2000001' } })).statusCode).toBe(404);
    expect((await t.call('PUT', '/v1/orders/x-1/tracking', { token: one.key, body: { carrier: 'sf', tracking_number: 'no spaces allowed' } })).statusCode).toBe(
      400,
    );
  });
});

describe('Kuaidi100 pushes', () => {
  it('a signed 签收 (state 3) moves a shipped order to received exactly once; a forged sign or a replay changes nothing', async () => {
    const { tenantId, key, secret, order } = await merchant();
    await order('k-1', 'YT3000001');
    expect((await kuaidi100(tenantId, secret, 'YT3000001', '0', '2026-03-01 18:00:00')).data).toMatchObject({
      result: true,
      returnCode: '200',
      outcome: { outcome: 'applied' },
    });
    expect((await events(key, 'k-1')).status).toBe('shipped');
    const forged = await kuaidi100(tenantId, secret, 'YT3000001', '3', '2026-03-02 10:00:00', 'A'.repeat(32));
    expect(forged.statusCode).toBe(401);
    expect((await kuaidi100(tenantId, 'the-wrong-salt', 'YT3000001', '3')).statusCode).toBe(401);
    expect((await events(key, 'k-1')).status).toBe('shipped');
    const signed = await kuaidi100(tenantId, secret, 'YT3000001', '3', '2026-03-02 10:00:00');
    expect(signed.data.outcome).toMatchObject({ outcome: 'applied', order_external_id: 'k-1' });
    const after = await events(key, 'k-1');
    expect(after).toMatchObject({ status: 'received', received_at: '2026-03-02T02:00:00.000Z' });
    for (let i = 0; i < 2; i++) expect((await kuaidi100(tenantId, secret, 'YT3000001', '3', '2026-03-02 10:00:00')).data.outcome.outcome).toBe('duplicate');
    expect((await kuaidi100(tenantId, secret, 'YT3000001', '5', '2026-03-02 11:00:00')).data.outcome.outcome).toBe('ignored');
    expect(await events(key, 'k-1')).toEqual(after);
  });
});
