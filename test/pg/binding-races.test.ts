/**
 * Binding policies under races, on a real PostgreSQL (issue 17): invites for one customer in
 * flight at once under override, through two server instances on the same database (as two app
 * processes behind a load balancer), and the lapse job run by both at once. PGlite runs one
 * transaction at a time, so these only mean something on PostgreSQL.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/context.ts';
import { onPostgres } from '../support/db.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

const DAY = 86_400_000;

describe.skipIf(!onPostgres())('binding races on PostgreSQL (needs DATABASE_URL: PostgreSQL only)', () => {
  let a: TestServer;
  let b: TestServer;
  const clock = new ManualClock('2026-06-01T00:00:00Z');

  beforeAll(async () => {
    const env = { FENXIAO_MASTER_KEY: randomBytes(32).toString('base64') };
    [a, b] = await Promise.all([startTestServer({ env, clock }), startTestServer({ env, clock })]);
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
  });

  async function tenant(binding: Record<string, unknown>, n: number) {
    clock.set('2026-06-01T00:00:00Z');
    const { id, key } = await a.tenant();
    expect((await a.call('PUT', '/v1/program', { token: key, body: { levels: 0, binding } })).statusCode).toBe(200);
    await a.call('PUT', '/v1/grades/default', { token: key, body: { name: 'g', rank: 0, sales_bp: 1000, override_bp: [] } });
    const ds: { id: string; invite_code: string }[] = [];
    for (let i = 0; i < n; i++) ds.push((await a.call('POST', '/v1/distributors', { token: key, body: { external_id: `D${i}`, name: `D${i}` } })).data);
    return { id, key, ds };
  }

  interface Event {
    kind: string;
    from_distributor_id: string | null;
    to_distributor_id: string | null;
  }

  /** The customer's binding and its history read back: each event starts where the one before it ended, and the last is the binding. */
  async function expectConsistent(key: string, customer: string) {
    const c = (await a.call('GET', `/v1/customers/${customer}`, { token: key })).data as { distributor_id: string | null; history: Event[] };
    let at: string | null = null;
    for (const e of c.history) {
      expect(e.from_distributor_id).toBe(at);
      at = e.to_distributor_id;
    }
    expect(c.distributor_id).toBe(at);
    return c;
  }

  it('override without protection: invites racing through two processes all apply, one after another; one final binding, the history a chain', async () => {
    for (let round = 0; round < 5; round++) {
      const { key, ds } = await tenant({ mode: 'override' }, 5);
      const [first, ...others] = ds;
      expect((await a.call('POST', '/v1/bindings', { token: key, body: { customer_external_id: 'x', invite_code: first!.invite_code } })).statusCode).toBe(201);
      const results = await Promise.all(
        others.map((d, i) =>
          (i % 2 === 0 ? a : b).call('POST', '/v1/bindings', { token: key, body: { customer_external_id: 'x', invite_code: d.invite_code } }),
        ),
      );
      expect(results.map((r) => r.statusCode)).toEqual([201, 201, 201, 201]);
      const c = await expectConsistent(key, 'x');
      expect(c.history.map((e) => e.kind)).toEqual(['bind', 'rebind', 'rebind', 'rebind', 'rebind']);
      expect(new Set(c.history.slice(1).map((e) => e.to_distributor_id))).toEqual(new Set(others.map((d) => d.id)));
    }
  });

  it('override with a protection window: of two invites racing for a customer whose window is over, exactly one wins; the other is refused', async () => {
    for (let round = 0; round < 5; round++) {
      const { key, ds } = await tenant({ mode: 'override', protection_days: 7 }, 3);
      const [A, B, C] = ds as [(typeof ds)[0], (typeof ds)[0], (typeof ds)[0]];
      expect((await a.call('POST', '/v1/bindings', { token: key, body: { customer_external_id: 'x', invite_code: A.invite_code } })).statusCode).toBe(201);
      clock.advance(7 * DAY);
      // One by POST /v1/bindings on one process, one by an order's invite code on the other.
      const [viaBinding, viaOrder] = await Promise.all([
        a.call('POST', '/v1/bindings', { token: key, body: { customer_external_id: 'x', invite_code: B.invite_code } }),
        b.call('POST', '/v1/orders', {
          token: key,
          body: {
            external_id: `o${round}`,
            buyer_external_id: 'x',
            invite_code: C.invite_code,
            items: [{ sku: 's', quantity: 1, unit_price_fen: 10_000, paid_fen: 10_000 }],
          },
        }),
      ]);
      expect(viaOrder.statusCode).toBe(201);
      const c = await expectConsistent(key, 'x');
      expect(c.history.map((e) => e.kind)).toEqual(['bind', 'rebind']);
      if (viaBinding.statusCode === 201) {
        // The binding came first: the order found B protected, and B earned it.
        expect(c.distributor_id).toBe(B.id);
        expect(viaOrder.data.seller_id).toBe(B.id);
      } else {
        expect(viaBinding.statusCode).toBe(409);
        expect(c.distributor_id).toBe(C.id);
        expect(viaOrder.data.seller_id).toBe(C.id);
      }
    }
  });

  it('orders with invite codes racing in batches on two processes: each order is paid to the binding it saw, and the final binding is the last in the history', async () => {
    const { key, ds } = await tenant({ mode: 'override' }, 6);
    const orders = await Promise.all(
      ds.map((d, i) =>
        (i % 2 === 0 ? a : b).call('POST', '/v1/orders', {
          token: key,
          body: {
            external_id: `r${i}`,
            buyer_external_id: 'y',
            invite_code: d.invite_code,
            items: [{ sku: 's', quantity: 1, unit_price_fen: 10_000, paid_fen: 10_000 }],
          },
        }),
      ),
    );
    expect(orders.map((o) => o.statusCode)).toEqual(ds.map(() => 201));
    // Override without protection: every order's own invite took the customer, so it paid that distributor.
    orders.forEach((o, i) => expect(o.data.seller_id).toBe(ds[i]!.id));
    const c = await expectConsistent(key, 'y');
    expect(c.history.map((e) => e.kind)).toEqual(['bind', 'rebind', 'rebind', 'rebind', 'rebind', 'rebind']);
  });

  it('the lapse job run by both processes at once ends each due binding exactly once', async () => {
    const { id, key, ds } = await tenant({ mode: 'permanent', validity_days: 3 }, 1);
    const customers = Array.from({ length: 60 }, (_, i) => `c${i}`);
    for (const c of customers) await a.call('POST', '/v1/bindings', { token: key, body: { customer_external_id: c, invite_code: ds[0]!.invite_code } });
    clock.advance(3 * DAY);
    const [ra, rb] = await Promise.all([a.services.referral.lapseDue(id, clock.now(), 7), b.services.referral.lapseDue(id, clock.now(), 7)]);
    expect(ra.lapsed + rb.lapsed).toBe(60);
    const events = await a.database.db
      .selectFrom('binding_events')
      .select(['customer_external_id'])
      .where('tenant_id', '=', id)
      .where('kind', '=', 'lapse')
      .execute();
    expect(events.map((e) => e.customer_external_id).sort()).toEqual([...customers].sort());
    for (const c of customers.slice(0, 5)) expect((await expectConsistent(key, c)).distributor_id).toBeNull();
  });
});
