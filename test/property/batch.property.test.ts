import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { sql } from 'kysely';
import { startTestServer, type TestServer } from '../support/server.ts';
import { verifyLedger } from '../../src/modules/ledger/verify.ts';
import type { Actor, ManualClock } from '../../src/core/context.ts';
import type { CreateOrderBody } from '../../src/modules/orders/schema.ts';

/**
 * Group commit writes a batch of orders with the same result as writing them one at a time. A
 * model check: fast-check draws a program (levels, self-purchase, binding mode — permanent,
 * rebindable, override — with protection and validity windows, and when claims become bindings, tiers, fixed amounts per unit or per order on a grade, its tier and the program default, caps, a grade upgrade, risk windows and surges), a forest of
 * distributors with customers bound and claimed, and a sequence of orders (bound, unbound and
 * distributor buyers; invite codes good, unknown and the buyer's own; days back; repeated IPs;
 * replays and conflicting bodies; orders arriving unpaid, then paid by their paid arrival or
 * left unpaid, and the unpaid arrival replayed before and after). Two tenants set up alike take the sequence: one order at a
 * time, and in batches of random sizes (each batch submitted at once, so it is one
 * transaction). Then everything each tenant holds — orders, lines, journals with every
 * posting's running balance, accounts, customers and binding history, the tree, grades and
 * their history, risk events, monthly sales, daily totals, the analytics rollups — and every
 * answer must be the same, ids aside.
 */

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.close();
});

const programArb = fc.record({
  levels: fc.integer({ min: 0, max: 3 }),
  self_purchase: fc.boolean(),
  mode: fc.constantFrom('permanent' as const, 'rebindable' as const, 'override' as const),
  // Set-up bindings are two days old when the orders come: a window of 1 day is over, of 3 not.
  protection_days: fc.constantFrom(0, 1, 3),
  validity_days: fc.constantFrom(0, 0, 1, 3),
  validity_from: fc.constantFrom('bound' as const, 'last_order' as const),
  bind_on: fc.constantFrom('registration' as const, 'first_order' as const),
  per_order_cap: fc.constantFrom(0, 0, 3_000),
  per_day_cap: fc.constantFrom(0, 2_000, 8_000),
  ip_limit: fc.constantFrom(0, 2),
  ip_effect: fc.constantFrom('flag' as const, 'hold' as const, 'block' as const),
  surge: fc.boolean(),
  tiers: fc.boolean(),
  upgrade_at: fc.constantFrom(0, 20_000, 60_000),
  /** Fixed amounts on the default grade, its tier and the program default (issue 17): none, per unit or per order. */
  fixed: fc.constantFrom('none' as const, 'unit' as const, 'order' as const),
});

type OrderAction = {
  kind: 'order';
  buyer: number;
  code: number | null;
  days_back: number;
  ip: number | null;
  items: { sku: 'plain' | 'promo'; quantity: number; paid: number }[];
  /** Arrives unpaid (pending_payment): no commission until a `pay` action pays it. */
  unpaid: boolean;
};
type Action =
  | OrderAction
  | { kind: 'replay'; which: number }
  | { kind: 'conflict'; which: number }
  /** The paid arrival of an earlier unpaid order (the same body, paid `days_back` days ago). */
  | { kind: 'pay'; which: number; days_back: number };

const actionArb: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant('order' as const),
      buyer: fc.nat(40),
      code: fc.option(fc.nat(12), { freq: 3 }),
      days_back: fc.constantFrom(0, 0, 0, 1, 9, 40),
      ip: fc.option(fc.nat(2), { freq: 2 }),
      items: fc.array(
        fc.record({
          sku: fc.constantFrom('plain' as const, 'promo' as const),
          quantity: fc.integer({ min: 1, max: 3 }),
          paid: fc.integer({ min: 0, max: 40_000 }),
        }),
        { minLength: 1, maxLength: 3 },
      ),
      unpaid: fc.constantFrom(false, false, false, true),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('pay' as const), which: fc.nat(60), days_back: fc.constantFrom(0, 0, 1) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('replay' as const), which: fc.nat(60) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('conflict' as const), which: fc.nat(60) }) },
);

const treeArb = fc
  .integer({ min: 3, max: 8 })
  .chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => (i === 0 ? fc.constant(null) : fc.option(fc.integer({ min: 0, max: i - 1 }), { freq: 3 })))));

/** Sets a tenant up; answers what the sequence needs to address it. */
type Program = typeof programArb extends fc.Arbitrary<infer P> ? P : never;

async function setUp(name: string, program: Program, parents: (number | null)[]) {
  const { id: tenantId, key } = await t.tenant(name);
  const call = async (method: string, url: string, body?: unknown) => {
    const r = await t.call(method, url, { token: key, body });
    if (r.statusCode >= 300) throw new Error(`${method} ${url}: ${r.statusCode} ${r.body}`);
    return r.data;
  };
  await call('PUT', '/v1/program', {
    levels: program.levels,
    self_purchase: program.self_purchase,
    binding: {
      mode: program.mode,
      rebind_after_days: 1,
      bind_on: program.bind_on,
      protection_days: program.protection_days,
      validity_days: program.validity_days,
      validity_from: program.validity_from,
    },
    caps: { per_order_fen: program.per_order_cap, per_day_fen: program.per_day_cap },
    ...(program.fixed !== 'none' ? { default_rates: { sales_bp: null, override_bp: [], override_fixed_fen: [null, 90, 40], fixed_per: program.fixed } } : {}),
    risk: {
      order_ip: { limit: program.ip_limit, window_seconds: 3600, effect: program.ip_effect },
      surge: { multiplier: program.surge ? 2 : 0, min_fen: 500, effect: 'hold' },
      caps_hit: { enabled: true },
    },
  });
  await call('PUT', '/v1/grades/default', {
    name: '普通',
    rank: 0,
    sales_bp: 800,
    override_bp: [500, 300, 200],
    ...(program.tiers
      ? {
          tiers: [
            {
              min_monthly_sales_fen: 30_000,
              sales_bp: 1_200,
              override_bp: [700],
              ...(program.fixed !== 'none' ? { override_fixed_fen: [333], fixed_per: program.fixed } : {}),
            },
          ],
        }
      : {}),
    ...(program.fixed !== 'none' ? { sales_fixed_fen: 250, fixed_per: program.fixed } : {}),
  });
  await call('PUT', '/v1/grades/gold', {
    name: '金牌',
    rank: 5,
    sales_bp: 1_500,
    // With fixed amounts drawn, gold's levels 2 and 3 fall to the program default's.
    override_bp: program.fixed !== 'none' ? [900] : [900, 400, 100],
    ...(program.upgrade_at > 0 ? { upgrade: { metric: 'sales_fen', min_fen: program.upgrade_at } } : {}),
  });
  await call('PUT', '/v1/sku-rules/promo', { rates: { '0': { kind: 'fixed', fen: 150 }, '1': { kind: 'percent', bp: 2_000 } } });
  const codes: string[] = [];
  for (let i = 0; i < parents.length; i++) {
    const p = parents[i];
    const d = await call('POST', '/v1/distributors', {
      external_id: `d${i}`,
      name: `d${i}`,
      ...(p !== null && p !== undefined ? { referrer_code: codes[p] } : {}),
    });
    codes.push(d.invite_code);
  }
  // Customers: c{i} bound (or, binding on first order, claimed) to d{i}; u* nobody's.
  for (let i = 0; i < parents.length; i++) await call('POST', '/v1/bindings', { customer_external_id: `c${i}`, invite_code: codes[i] });
  return { tenantId, key, codes };
}

describe('group commit', () => {
  it('a sequence of orders written in batches gives exactly what it gives one at a time', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        programArb,
        treeArb,
        fc.array(actionArb, { minLength: 5, maxLength: 40 }),
        fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 8 }),
        async (program, parents, actions, chunkSizes) => {
          run++;
          const one = await setUp(`one ${run}`, program, parents);
          const many = await setUp(`many ${run}`, program, parents);
          // Bindings made at set-up lapse (rebindable mode) unless an order came since.
          (t.clock as ManualClock).advance(2 * 86_400_000);
          const buyers = [...parents.flatMap((_, i) => [`c${i}`, `d${i}`]), 'u0', 'u1', 'u2'];
          const bodies: CreateOrderBody[] = [];
          const build = (codes: string[]): CreateOrderBody[] => {
            const out: CreateOrderBody[] = [];
            const unpaid: CreateOrderBody[] = [];
            for (const a of actions) {
              if (a.kind === 'pay') {
                if (unpaid.length === 0) continue;
                const { status: _, ...rest } = unpaid[a.which % unpaid.length]!;
                out.push({ ...rest, paid_at: new Date(t.clock.now().getTime() - a.days_back * 86_400_000).toISOString() });
              } else if (a.kind === 'order') {
                const paidAt = new Date(t.clock.now().getTime() - a.days_back * 86_400_000).toISOString();
                out.push({
                  external_id: `o${out.length}`,
                  buyer_external_id: buyers[a.buyer % buyers.length]!,
                  ...(a.unpaid ? { status: 'pending_payment' as const } : { paid_at: paidAt }),
                  ...(a.code === null ? {} : { invite_code: a.code >= codes.length ? 'ZZZZZZZZ' : codes[a.code]! }),
                  ...(a.ip === null ? {} : { client_ip: `10.0.0.${a.ip}` }),
                  items: a.items.map((i) => ({ sku: i.sku, quantity: i.quantity, unit_price_fen: i.paid, paid_fen: i.paid })),
                });
                if (a.unpaid) unpaid.push(out.at(-1)!);
              } else if (out.length > 0) {
                const earlier = out[a.which % out.length]!;
                out.push(
                  a.kind === 'replay' ? earlier : { ...earlier, items: [...earlier.items, { sku: 'extra', quantity: 1, unit_price_fen: 1, paid_fen: 1 }] },
                );
              }
            }
            return out;
          };
          bodies.push(...build(one.codes));
          const actorOf = (tenantId: string, n: number): Actor => ({ principal: { kind: 'api_key', tenantId, keyId: 'key_test' }, requestId: `req_${n}` });
          const answer = async (p: Promise<{ created: boolean; order: unknown }>) =>
            p.then(
              (r) => ({ created: r.created, order: r.order }),
              (e: { code?: string }) => ({ error: e.code ?? 'thrown' }),
            );

          const oneAnswers = [];
          for (const [n, b] of bodies.entries()) oneAnswers.push(await answer(t.services.orders.create(actorOf(one.tenantId, n), b)));

          const manyBodies = build(many.codes);
          const manyAnswers: unknown[] = [];
          const largestBefore = t.services.orders.batchStats().largest;
          for (let start = 0, c = 0; start < manyBodies.length; c++) {
            const size = chunkSizes[c % chunkSizes.length]!;
            const chunk = manyBodies.slice(start, start + size);
            // Submitted in one turn of the event loop: one batch, one transaction.
            manyAnswers.push(...(await Promise.all(chunk.map((b, k) => answer(t.services.orders.create(actorOf(many.tenantId, start + k), b))))));
            start += size;
          }
          if (chunkSizes.some((s) => s > 1) && manyBodies.length > 1)
            expect(t.services.orders.batchStats().largest).toBeGreaterThan(Math.min(1, largestBefore));

          const a = await stateOf(one.tenantId, oneAnswers);
          const b = await stateOf(many.tenantId, manyAnswers);
          expect(b).toEqual(a);
          expect((await verifyLedger(t.database.db, many.tenantId)).breaks).toEqual([]);
        },
      ),
      {
        numRuns: Number(process.env.FENXIAO_PROPERTY_RUNS ?? 25),
        endOnFailure: true,
        ...(process.env.FENXIAO_PROPERTY_SEED ? { seed: Number(process.env.FENXIAO_PROPERTY_SEED), path: process.env.FENXIAO_PROPERTY_PATH } : {}),
      },
    );
  }, 900_000);
});

/** Everything a tenant holds that orders write, with ids replaced by what names them across tenants. */
async function stateOf(tenantId: string, answers: unknown[]) {
  const db = t.database.db;
  const rows = async <T = Record<string, unknown>>(q: ReturnType<typeof sql>) => (await q.execute(db)).rows as T[];
  const names = new Map<string, string>();
  for (const d of await rows<{ id: string; external_id: string; invite_code: string }>(
    sql`select id, external_id, invite_code from distributors where tenant_id = ${tenantId}`,
  )) {
    names.set(d.id, `D:${d.external_id}`);
    names.set(d.invite_code, `CODE:${d.external_id}`);
  }
  for (const o of await rows<{ id: string; external_id: string }>(sql`select id, external_id from orders where tenant_id = ${tenantId}`))
    names.set(o.id, `O:${o.external_id}`);
  for (const i of await rows<{ id: string; ext: string; position: number }>(
    sql`select i.id, o.external_id as ext, i.position from order_items i join orders o on o.id = i.order_id where i.tenant_id = ${tenantId}`,
  ))
    names.set(i.id, `I:${i.ext}/${i.position}`);
  for (const c of await rows<{ id: string; item: string | null; level: number; kind: string; n: number }>(sql`
    select c.id, c.order_item_id as item, c.level, c.kind, row_number() over (partition by c.order_item_id, c.level, c.kind order by c.id) as n
      from commissions c where c.tenant_id = ${tenantId}`))
    names.set(c.id, `C:${names.get(c.item ?? '') ?? '-'}/${c.level}/${c.kind}/${c.n}`);
  const ruleVersionBase = Number((await rows<{ v: number }>(sql`select min(version) as v from rule_versions where tenant_id = ${tenantId}`))[0]!.v);
  const rename = (v: unknown): unknown => {
    if (typeof v === 'string') return names.get(v) ?? (/^(rsk|evt|bnd|je|acc)_/.test(v) ? v.slice(0, 3) : v);
    if (v instanceof Date) return v.toISOString();
    if (Array.isArray(v)) return v.map(rename);
    if (v && typeof v === 'object')
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, k === 'rule_version' && typeof x === 'number' ? x - ruleVersionBase : rename(x)]));
    return v;
  };
  const q = async (query: ReturnType<typeof sql>) => rename(await rows(query));
  return {
    answers: rename(answers),
    orders:
      await q(sql`select external_id, buyer_external_id, invite_code, status, seller_id, chain, rule_version, attribution, paid_fen, paid_at, region_code, client_ip,
        core_hash is not null as has_core_hash
      from orders where tenant_id = ${tenantId} order by external_id`),
    events: await q(
      sql`select e.order_id, e.type, e.at from order_events e join orders o on o.id = e.order_id where e.tenant_id = ${tenantId} order by o.external_id, e.type`,
    ),
    items: await q(
      sql`select i.order_id, i.position, i.sku, i.quantity, i.paid_fen from order_items i join orders o on o.id = i.order_id where i.tenant_id = ${tenantId} order by o.external_id, i.position`,
    ),
    lines:
      await q(sql`select id, order_id, order_item_id, beneficiary_id, level, kind, rule_version, rate_source, rate_kind, rate_bp, fixed_fen, beneficiary_grade,
        units, base_fen, amount_fen, capped_fen, status, held from commissions where tenant_id = ${tenantId} order by id`),
    postings: await q(sql`select j.kind, j.ref_type, j.ref_id, j.memo, a.owner_id, a.purpose, p.amount, p.party_id, p.commission_id, p.balance_after
      from postings p join journal_entries j on j.id = p.journal_id join accounts a on a.id = p.account_id where p.tenant_id = ${tenantId} order by p.id`),
    accounts: await q(sql`select owner_id, purpose, balance, version from accounts where tenant_id = ${tenantId} order by owner_id, purpose`),
    customers: await q(sql`select external_id, distributor_id, bound_at, binding_source, tentative_distributor_id, last_order_at, purchases_fen
      from customers where tenant_id = ${tenantId} order by external_id`),
    bindings: await q(
      sql`select customer_external_id, kind, from_distributor_id, to_distributor_id, source, reason from binding_events where tenant_id = ${tenantId} order by id`,
    ),
    distributors: await q(
      sql`select external_id, referrer_id, ancestors, grade_code, risk_hold from distributors where tenant_id = ${tenantId} order by external_id`,
    ),
    grades: await q(sql`select distributor_id, from_grade, to_grade, reason from grade_changes where tenant_id = ${tenantId} order by id`),
    risk: await q(sql`select e.kind, e.severity, e.subject_type, case when e.subject_type = 'distributor' then e.subject_id else e.subject_type end as subject, e.status,
        (select array_agg(l.commission_id order by l.commission_id) from risk_event_lines l where l.event_id = e.id) as lines
      from risk_events e where e.tenant_id = ${tenantId} order by e.id`),
    sales: await q(
      sql`select distributor_id, month::text, sales_fen, order_count from sales_monthly where tenant_id = ${tenantId} order by distributor_id, month`,
    ),
    daily: await q(
      sql`select distributor_id, day::text, amount_fen from commission_daily where tenant_id = ${tenantId} and amount_fen <> 0 order by distributor_id, day`,
    ),
    analyticsDaily:
      await q(sql`select day::text, sum(orders)::bigint as orders, sum(gross_sales_fen)::bigint as sales, sum(commission_fen)::bigint as commission,
        sum(new_bindings)::bigint as bindings, sum(last_order_distributors)::bigint as active, sum(ledger_pending_fen)::bigint as pending, sum(ledger_expense_fen)::bigint as expense
      from analytics_daily where tenant_id = ${tenantId} group by day order by day`),
    analyticsBreakdowns:
      await q(sql`select level, day::text, code, sum(orders)::bigint as orders, sum(gross_sales_fen)::bigint as sales, sum(commission_fen)::bigint as commission
      from analytics_breakdown_daily where tenant_id = ${tenantId} group by 1, 2, 3 order by 1, 2, 3`),
    analyticsMonths:
      await q(sql`select level, month::text, code, sum(orders)::bigint as orders, sum(gross_sales_fen)::bigint as sales, sum(commission_fen)::bigint as commission
      from analytics_breakdown_monthly where tenant_id = ${tenantId} group by 1, 2, 3 order by 1, 2, 3`),
    analyticsDistributors: await q(
      sql`select distributor_id, day::text, orders, sales_fen, commission_fen from analytics_distributor_daily where tenant_id = ${tenantId} order by 1, 2`,
    ),
    activity: await q(sql`select distributor_id, last_order_day::text from analytics_distributor_activity where tenant_id = ${tenantId} order by 1`),
  };
}
