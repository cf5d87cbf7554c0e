/**
 * Logistics: carriers' tracking pushes move orders to shipped and received (签收) exactly once,
 * in the generic format and in Kuaidi100's; forged or replayed pushes change nothing; the
 * distributor portal shows the state and tracking number of the orders a distributor earns from,
 * and of no other. On both databases.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash, createHmac } from 'node:crypto';
import { SignJWT } from 'jose';
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

describe("the portal: my commission lines' orders", () => {
  /** A merchant whose distributors log in to the portal: A invites B; C stands alone. */
  async function network() {
    const m = await merchant();
    const signing = ok(await t.call('POST', '/v1/portal/signing-secret', { token: m.key })).data.secret as string;
    const dist = async (external_id: string, referrer_code?: string) =>
      ok(await t.call('POST', '/v1/distributors', { token: m.key, body: { external_id, name: external_id, ...(referrer_code ? { referrer_code } : {}) } }))
        .data as { id: string; invite_code: string };
    ok(await t.call('PUT', '/v1/grades/default', { token: m.key, body: { name: '普通', rank: 0, sales_bp: 1000, override_bp: [500] } }));
    const up = await dist('up');
    const seller = await dist('seller', up.invite_code);
    const alone = await dist('alone');
    const sell = async (ext: string, buyer: string, inviteCode: string) =>
      ok(
        await t.call('POST', '/v1/orders', {
          token: m.key,
          body: {
            external_id: ext,
            buyer_external_id: buyer,
            invite_code: inviteCode,
            items: [{ sku: 'S', quantity: 1, unit_price_fen: 2000, paid_fen: 2000 }],
          },
        }),
      );
    const login = async (sub: string) => {
      const iat = Math.floor(clock.now().getTime() / 1000);
      const jwt = await new SignJWT({})
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject(sub)
        .setIssuedAt(iat)
        .setExpirationTime(iat + 300)
        .setJti(`jti-${sub}-${Math.random().toString(36).slice(2)}`)
        .sign(new TextEncoder().encode(signing));
      return ok(await t.call('POST', '/v1/portal/token-login', { body: { tenant_id: m.tenantId, token: jwt } })).data.token as string;
    };
    return { ...m, up, seller, alone, sell, login };
  }

  const mine = async (token: string, ...externalIds: string[]) => {
    const r = await t.call('GET', `/v1/me/orders?${externalIds.map((x) => `external_id=${encodeURIComponent(x)}`).join('&')}`, { token });
    expect(r.statusCode, r.body).toBe(200);
    return { body: r.body, items: r.data.items as Record<string, unknown>[] };
  };

  it('shows the tracking number and state after signed pushes, to the seller and its upline only, and nothing of the buyer', async () => {
    const m = await network();
    await m.sell('p-1', 'buyer-13912345678', m.seller.invite_code);
    await m.sell('p-2', 'buyer-other', m.alone.invite_code);
    const seller = await m.login('seller');
    const up = await m.login('up');
    const alone = await m.login('alone');

    // Paid, no tracking yet.
    expect((await mine(seller, 'p-1')).items).toEqual([
      {
        external_id: 'p-1',
        status: 'paid',
        logistics: 'not_shipped',
        paid_at: expect.any(String),
        shipped_at: null,
        received_at: null,
        tracking_carrier: null,
        tracking_number: null,
      },
    ]);

    ok(await t.call('PUT', '/v1/orders/p-1/tracking', { token: m.key, body: { carrier: 'yuantong', tracking_number: 'YT7000001' } }));
    const shipped = await generic(m.tenantId, m.secret, { event_id: 'p-ship', tracking_number: 'YT7000001', status: 'shipped', at: '2026-03-01T09:00:00Z' });
    expect(shipped.data).toMatchObject({ outcome: 'applied', order_external_id: 'p-1' });
    expect((await mine(seller, 'p-1', 'p-2')).items).toEqual([
      expect.objectContaining({
        external_id: 'p-1',
        status: 'shipped',
        logistics: 'shipped',
        shipped_at: '2026-03-01T09:00:00.000Z',
        tracking_carrier: 'yuantong',
        tracking_number: 'YT7000001',
      }),
    ]);

    const signed = await generic(m.tenantId, m.secret, { event_id: 'p-sign', tracking_number: 'YT7000001', status: 'signed', at: '2026-03-02T10:00:00Z' });
    expect(signed.data).toMatchObject({ outcome: 'applied' });
    const afterSign = await mine(seller, 'p-1', 'p-2', 'no-such-order');
    expect(afterSign.items).toEqual([
      expect.objectContaining({
        external_id: 'p-1',
        status: 'received',
        logistics: 'received',
        received_at: '2026-03-02T10:00:00.000Z',
        tracking_number: 'YT7000001',
      }),
    ]);
    // Nothing of the buyer: not its id, not the order's amounts.
    expect(afterSign.body).not.toContain('buyer');
    expect(afterSign.body).not.toContain('13912345678');
    expect(afterSign.body).not.toContain('2000');

    // The upline earns from p-1 too (level 1) and sees it; the distributor who earns nothing from it does not.
    expect((await mine(up, 'p-1')).items.map((o) => o.tracking_number)).toEqual(['YT7000001']);
    const theirs = await mine(alone, 'p-1', 'p-2');
    expect(theirs.items.map((o) => o.external_id)).toEqual(['p-2']);
    expect(theirs.body).not.toContain('YT7000001');
  });

  it("never answers another tenant's order of the same number; refuses the merchant's key and bad queries", async () => {
    const one = await network();
    const two = await network();
    await one.sell('same-1', 'b1', one.seller.invite_code);
    await two.sell('same-1', 'b2', two.seller.invite_code);
    ok(await t.call('PUT', '/v1/orders/same-1/tracking', { token: one.key, body: { carrier: 'shunfeng', tracking_number: 'SF8000001' } }));
    ok(await t.call('PUT', '/v1/orders/same-1/tracking', { token: two.key, body: { carrier: 'zhongtong', tracking_number: 'ZT8000002' } }));
    expect((await generic(two.tenantId, two.secret, { event_id: 's', tracking_number: 'ZT8000002', status: 'shipped' })).data.outcome).toBe('applied');

    const mineOne = await mine(await one.login('seller'), 'same-1');
    expect(mineOne.items).toEqual([expect.objectContaining({ logistics: 'not_shipped', tracking_carrier: 'shunfeng', tracking_number: 'SF8000001' })]);
    expect(mineOne.body).not.toContain('ZT8000002');
    expect((await mine(await two.login('seller'), 'same-1')).items).toEqual([expect.objectContaining({ logistics: 'shipped', tracking_number: 'ZT8000002' })]);
    // Tenant two's distributor who earns nothing from its own same-1: nothing.
    expect((await mine(await two.login('alone'), 'same-1')).items).toEqual([]);

    expect((await t.call('GET', '/v1/me/orders?external_id=same-1', { token: one.key })).statusCode).toBe(403);
    expect((await t.call('GET', '/v1/me/orders?external_id=same-1')).statusCode).toBe(401);
    const token = await one.login('seller');
    for (const url of ['/v1/me/orders', `/v1/me/orders?${Array.from({ length: 51 }, (_, i) => `external_id=x${i}`).join('&')}`, '/v1/me/orders?external_id=']) {
      const r = await t.call('GET', url, { token });
      expect(r.statusCode, url).toBe(400);
      expect(r.data.error.code).toBe('invalid_request');
    }
  });
});
