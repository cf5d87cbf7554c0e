import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { sql } from 'kysely';
import { startTestServer, type TestServer } from '../support/server.ts';
import { verifyLedger } from '../../src/modules/ledger/verify.ts';
import type { Actor } from '../../src/core/context.ts';
import type { CreateOrderBody, OrderEventBody } from '../../src/modules/orders/schema.ts';

/**
 * Group commit applies a batch of order events with the same result as applying them one at a
 * time. A model check: fast-check draws a program (levels, per-day caps, the refund-rate risk
 * rule, review threshold), a chain of distributors, orders of one to three lines (one line may be
 * a SKU the database refuses to refund, by a trigger: a refund that fails midway), some of them
 * received and settled before the sequence (so refunds claw back settled lines), and then a
 * sequence of events: shipped, received, refunded (an amount, possibly more than is left, or
 * lines and units) and cancelled, with and without an Idempotency-Key, replays of earlier events,
 * a key reused with another body, events of unknown orders, transitions the state does not allow.
 * Two tenants set up alike take the sequence: one event at a time, and in chunks of random sizes
 * (each chunk submitted at once, so it is one batch). Then every answer and everything the
 * tenants hold — orders, items, lines and clawbacks, journals with every posting's running
 * balance, accounts, customers, order events, kept answers, sales, daily totals, risk events,
 * analytics rollups — must be the same, ids aside.
 */

let t: TestServer;
const POISON = 'fenxiao-test-poison';
beforeAll(async () => {
  t = await startTestServer();
  // A fault only the database sees: refunding the poison SKU fails after the refund has begun
  // writing (the buyer's row is updated first), so a batch must roll that event back alone.
  await sql
    .raw(
      `create or replace function fenxiao_test_poison_refund() returns trigger language plpgsql as $$
    begin if new.sku = '${POISON}' and new.refunded_fen > old.refunded_fen then raise exception 'refused by the test'; end if; return new; end $$;
    drop trigger if exists fenxiao_test_poison_refund on order_items;
    create trigger fenxiao_test_poison_refund before update on order_items for each row execute function fenxiao_test_poison_refund();`,
    )
    .execute(t.database.db);
});
afterAll(async () => {
  await sql
    .raw('drop trigger if exists fenxiao_test_poison_refund on order_items; drop function if exists fenxiao_test_poison_refund();')
    .execute(t.database.db)
    .catch(() => {});
  await t?.close();
});

const programArb = fc.record({
  levels: fc.integer({ min: 1, max: 3 }),
  per_day_cap: fc.constantFrom(0, 0, 5_000),
  refund_rate: fc.constantFrom(0, 2_000),
  review_threshold: fc.constantFrom(0, 1_000_000),
});
type Program = typeof programArb extends fc.Arbitrary<infer P> ? P : never;

const orderArb = fc.record({
  buyer: fc.nat(3),
  days_back: fc.constantFrom(0, 0, 1, 3),
  items: fc.array(
    fc.record({ sku: fc.constantFrom('plain', 'plain', 'kit', POISON), quantity: fc.integer({ min: 1, max: 3 }), paid: fc.integer({ min: 0, max: 30_000 }) }),
    { minLength: 1, maxLength: 3 },
  ),
  settled: fc.boolean(),
});

type EventAction =
  | { kind: 'event'; order: number; unknown: boolean; type: 'shipped' | 'received' | 'cancelled'; at: number | null; key: number | null; reason: boolean }
  | { kind: 'refund'; order: number; unknown: boolean; by: 'fen'; fen: number; key: number | null }
  | { kind: 'refund'; order: number; unknown: boolean; by: 'items'; position: number; quantity: number; key: number | null }
  | { kind: 'replay'; which: number }
  | { kind: 'conflict'; which: number };

const keyArb = fc.option(fc.nat(1_000_000), { freq: 2 });
const actionArb: fc.Arbitrary<EventAction> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('event' as const),
      order: fc.nat(20),
      unknown: fc.nat(12).map((n) => n === 0),
      type: fc.constantFrom('shipped' as const, 'received' as const, 'cancelled' as const),
      at: fc.option(fc.integer({ min: 0, max: 5 }), { freq: 3 }),
      key: keyArb,
      reason: fc.boolean(),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('refund' as const),
      order: fc.nat(20),
      unknown: fc.constant(false),
      by: fc.constant('fen' as const),
      fen: fc.integer({ min: 1, max: 40_000 }),
      key: keyArb,
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('refund' as const),
      order: fc.nat(20),
      unknown: fc.constant(false),
      by: fc.constant('items' as const),
      position: fc.nat(2),
      quantity: fc.integer({ min: 1, max: 2 }),
      key: keyArb,
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('replay' as const), which: fc.nat(60) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('conflict' as const), which: fc.nat(60) }) },
);

async function setUp(name: string, program: Program, orders: (typeof orderArb extends fc.Arbitrary<infer O> ? O : never)[]) {
  const { id: tenantId, key } = await t.tenant(name);
  const call = async (method: string, url: string, body?: unknown) => {
    const r = await t.call(method, url, { token: key, body });
    if (r.statusCode >= 300)
      throw new Error(
        `${method} ${url}: ${r.statusCode} ${r.body} ${t.logLines
          .filter((l) => l.includes('"level":50'))
          .slice(-1)
          .join('')}`,
      );
    return r.data;
  };
  await call('PUT', '/v1/program', {
    levels: program.levels,
    freeze_days: 0,
    review_threshold_fen: program.review_threshold,
    caps: { per_day_fen: program.per_day_cap },
    risk: { refund_rate: { threshold_bp: program.refund_rate, min_orders: 2, window_days: 30, effect: 'hold' } },
  });
  await call('PUT', '/v1/grades/default', { name: '普通', rank: 0, sales_bp: 800, override_bp: [500, 300, 200] });
  await call('PUT', '/v1/sku-rules/kit', { rates: { '0': { kind: 'fixed', fen: 150 } } });
  let code: string | undefined;
  for (const d of ['d0', 'd1', 'd2', 'd3'])
    code = (await call('POST', '/v1/distributors', { external_id: d, name: d, ...(code ? { referrer_code: code } : {}) })).invite_code;
  for (let i = 0; i < 4; i++) await call('POST', '/v1/bindings', { customer_external_id: `c${i}`, invite_code: code });
  const bodies: CreateOrderBody[] = orders.map((o, i) => ({
    external_id: `o${i}`,
    buyer_external_id: `c${o.buyer}`,
    paid_at: new Date(t.clock.now().getTime() - o.days_back * 86_400_000).toISOString(),
    items: o.items.map((it) => ({ sku: it.sku, quantity: it.quantity, unit_price_fen: it.paid, paid_fen: it.paid })),
  }));
  for (const b of bodies) await call('POST', '/v1/orders', b);
  // Some orders received and settled before the sequence: refunds of theirs claw back.
  if (orders.some((o) => o.settled)) {
    for (const [i, o] of orders.entries()) if (o.settled) await call('POST', `/v1/orders/o${i}/events`, { type: 'received' });
    await call('POST', '/v1/settlements/run', { as_of: t.clock.now().toISOString() });
  }
  return { tenantId, key };
}

/** The sequence as requests: [external id, body, key] (replays and conflicts refer to earlier ones). */
function requestsOf(actions: EventAction[], orderCount: number): { externalId: string; body: OrderEventBody; key: string | undefined }[] {
  const out: { externalId: string; body: OrderEventBody; key: string | undefined }[] = [];
  for (const a of actions) {
    if (a.kind === 'replay' || a.kind === 'conflict') {
      const keyed = out.filter((r) => r.key !== undefined);
      const pool = a.kind === 'replay' ? out : keyed;
      if (pool.length === 0) continue;
      const earlier = pool[a.which % pool.length]!;
      if (a.kind === 'replay') out.push(earlier);
      else out.push({ ...earlier, body: earlier.body.type === 'shipped' ? { type: 'received' } : { type: 'shipped' } });
      continue;
    }
    const externalId = a.unknown ? 'unknown' : `o${a.order % orderCount}`;
    const key = a.key === null ? undefined : `k${a.key % 7}`;
    if (a.kind === 'event') {
      const body: OrderEventBody = {
        type: a.type,
        ...(a.at === null ? {} : { at: new Date(t.clock.now().getTime() - a.at * 3_600_000).toISOString() }),
        ...(a.reason ? { reason: 'r' } : {}),
      };
      out.push({ externalId, body, key });
    } else if (a.by === 'fen') {
      out.push({ externalId, body: { type: 'refunded', refund_fen: a.fen }, key });
    } else {
      out.push({ externalId, body: { type: 'refunded', items: [{ position: a.position, quantity: a.quantity }] }, key });
    }
  }
  return out;
}

describe('group commit of order events', () => {
  it('a sequence of events applied in batches gives exactly what it gives one at a time', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        programArb,
        fc.array(orderArb, { minLength: 1, maxLength: 6 }),
        fc.array(actionArb, { minLength: 3, maxLength: 40 }),
        fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 6 }),
        async (program, orders, actions, chunkSizes) => {
          run++;
          const one = await setUp(`events one ${run}`, program, orders);
          const many = await setUp(`events many ${run}`, program, orders);
          const requests = requestsOf(actions, orders.length);
          const actorOf = (tenantId: string, n: number): Actor => ({ principal: { kind: 'api_key', tenantId, keyId: 'key_test' }, requestId: `req_${n}` });
          const answer = (p: Promise<unknown>) =>
            p.then(
              (order) => ({ order }),
              (e: { code?: string }) => ({ error: e.code ?? 'thrown' }),
            );
          const submit = (tenantId: string, n: number) =>
            answer(t.services.orders.event(actorOf(tenantId, n), requests[n]!.externalId, requests[n]!.body, requests[n]!.key));

          const oneAnswers: unknown[] = [];
          for (let n = 0; n < requests.length; n++) oneAnswers.push(await submit(one.tenantId, n));

          const before = t.services.orders.eventBatchStats();
          const manyAnswers: unknown[] = [];
          for (let start = 0, c = 0; start < requests.length; c++) {
            const size = chunkSizes[c % chunkSizes.length]!;
            const chunk = requests.slice(start, start + size).map((_, k) => start + k);
            // Submitted in one turn of the event loop: one batch, one transaction.
            manyAnswers.push(...(await Promise.all(chunk.map((n) => submit(many.tenantId, n)))));
            start += size;
          }
          const after = t.services.orders.eventBatchStats();
          if (chunkSizes.some((s) => s > 1) && requests.length > 1) expect(after.largest).toBeGreaterThan(1);
          expect(after.items - before.items).toBe(requests.length);

          const a = await stateOf(one.tenantId, oneAnswers);
          const b = await stateOf(many.tenantId, manyAnswers);
          expect(b).toEqual(a);
          expect((await verifyLedger(t.database.db, one.tenantId)).breaks).toEqual([]);
          expect((await verifyLedger(t.database.db, many.tenantId)).breaks).toEqual([]);
        },
      ),
      { numRuns: Number(process.env.FENXIAO_PROPERTY_RUNS ?? 25), endOnFailure: true },
    );
  }, 900_000);
});

/** Everything a tenant holds that order events write, with ids replaced by what names them across tenants. */
async function stateOf(tenantId: string, answers: unknown[]) {
  const db = t.database.db;
  const rows = async <T = Record<string, unknown>>(q: ReturnType<typeof sql>) => (await q.execute(db)).rows as T[];
  const names = new Map<string, string>();
  for (const d of await rows<{ id: string; external_id: string }>(sql`select id, external_id from distributors where tenant_id = ${tenantId}`))
    names.set(d.id, `D:${d.external_id}`);
  for (const o of await rows<{ id: string; external_id: string }>(sql`select id, external_id from orders where tenant_id = ${tenantId}`)) {
    names.set(o.id, `O:${o.external_id}`);
    names.set(`order_event:${o.id}`, `SCOPE:${o.external_id}`);
  }
  for (const i of await rows<{ id: string; ext: string; position: number }>(
    sql`select i.id, o.external_id as ext, i.position from order_items i join orders o on o.id = i.order_id where i.tenant_id = ${tenantId}`,
  ))
    names.set(i.id, `I:${i.ext}/${i.position}`);
  for (const c of await rows<{ id: string; item: string | null; level: number; kind: string; n: number }>(sql`
    select c.id, c.order_item_id as item, c.level, c.kind, row_number() over (partition by c.order_item_id, c.level, c.kind order by c.id) as n
      from commissions c where c.tenant_id = ${tenantId}`))
    names.set(c.id, `C:${names.get(c.item ?? '') ?? '-'}/${c.level}/${c.kind}/${c.n}`);
  for (const s of await rows<{ id: string; distributor_id: string }>(sql`select id, distributor_id from statements where tenant_id = ${tenantId}`))
    names.set(s.id, `S:${names.get(s.distributor_id)}`);
  const ruleVersionBase = Number((await rows<{ v: number }>(sql`select min(version) as v from rule_versions where tenant_id = ${tenantId}`))[0]!.v);
  const rename = (v: unknown): unknown => {
    if (typeof v === 'string') return names.get(v) ?? (/^(rsk|evt|bnd|je|acc|cm|stm)_/.test(v) ? v.slice(0, 3) : v);
    if (v instanceof Date) return v.toISOString();
    if (Array.isArray(v)) return v.map(rename);
    if (v && typeof v === 'object')
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, k === 'rule_version' && typeof x === 'number' ? x - ruleVersionBase : rename(x)]));
    return v;
  };
  const q = async (query: ReturnType<typeof sql>) => rename(await rows(query));
  return {
    answers: rename(answers),
    orders: await q(
      sql`select external_id, status, refunded_fen, shipped_at, received_at, cancelled_at, completed_at, updated_at from orders where tenant_id = ${tenantId} order by external_id`,
    ),
    items: await q(
      sql`select order_id, position, sku, refunded_fen, refunded_quantity from order_items where tenant_id = ${tenantId} order by order_id, position`,
    ),
    lines:
      await q(sql`select id, order_id, order_item_id, beneficiary_id, level, kind, clawback_of, rate_kind, rate_bp, units, base_fen, original_base_fen, amount_fen,
        original_amount_fen, status, held, statement_id, settled_at, reversed_at, created_at from commissions where tenant_id = ${tenantId} order by id`),
    postings: await q(sql`select j.kind, j.ref_type, j.ref_id, j.memo, a.owner_id, a.purpose, p.amount, p.party_id, p.commission_id, p.balance_after
      from postings p join journal_entries j on j.id = p.journal_id join accounts a on a.id = p.account_id where p.tenant_id = ${tenantId} order by p.id`),
    accounts: await q(sql`select owner_id, purpose, balance, version from accounts where tenant_id = ${tenantId} order by owner_id, purpose`),
    customers: await q(sql`select external_id, purchases_fen from customers where tenant_id = ${tenantId} order by external_id`),
    events: await q(
      sql`select e.order_id, e.type, e.at, e.refund_fen, e.details, e.actor_type, e.actor_id, e.request_id from order_events e where e.tenant_id = ${tenantId} and e.actor_id = 'key_test' order by e.id`,
    ),
    keys: await q(sql`select scope, key, request_hash, response_status, response_body from idempotency_keys where tenant_id = ${tenantId} order by scope, key`),
    distributors: await q(sql`select external_id, risk_hold from distributors where tenant_id = ${tenantId} order by external_id`),
    risk: await q(sql`select kind, severity, subject_id, status, details from risk_events where tenant_id = ${tenantId} order by id`),
    sales: await q(
      sql`select distributor_id, month::text, sales_fen, order_count, refunded_fen from sales_monthly where tenant_id = ${tenantId} order by distributor_id, month`,
    ),
    daily: await q(
      sql`select distributor_id, day::text, amount_fen from commission_daily where tenant_id = ${tenantId} and amount_fen <> 0 order by distributor_id, day`,
    ),
    analyticsDaily:
      await q(sql`select day::text, sum(orders)::bigint as orders, sum(gross_sales_fen)::bigint as sales, sum(refunded_fen)::bigint as refunded, sum(refunds)::bigint as refunds,
        sum(commission_fen)::bigint as commission, sum(commission_reversed_fen)::bigint as reversed, sum(ledger_pending_fen)::bigint as pending,
        sum(ledger_available_fen)::bigint as available, sum(ledger_withdrawable_fen)::bigint as withdrawable, sum(ledger_expense_fen)::bigint as expense
      from analytics_daily where tenant_id = ${tenantId} group by day order by day`),
    analyticsBreakdowns:
      await q(sql`select level, day::text, code, sum(orders)::bigint as orders, sum(gross_sales_fen)::bigint as sales, sum(refunded_fen)::bigint as refunded,
        sum(commission_fen)::bigint as commission from analytics_breakdown_daily where tenant_id = ${tenantId} group by 1, 2, 3 order by 1, 2, 3`),
    analyticsMonths:
      await q(sql`select level, month::text, code, sum(orders)::bigint as orders, sum(refunded_fen)::bigint as refunded, sum(commission_fen)::bigint as commission
      from analytics_breakdown_monthly where tenant_id = ${tenantId} group by 1, 2, 3 order by 1, 2, 3`),
    analyticsDistributors: await q(
      sql`select distributor_id, day::text, orders, sales_fen, commission_fen from analytics_distributor_daily where tenant_id = ${tenantId} order by 1, 2`,
    ),
    analyticsDistributorMonths: await q(
      sql`select distributor_id, month::text, orders, sales_fen, commission_fen from analytics_distributor_monthly where tenant_id = ${tenantId} order by 1, 2`,
    ),
  };
}
