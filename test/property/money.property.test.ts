import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { startTestServer, type TestServer } from '../support/server.ts';
import { verifyLedger } from '../../src/modules/ledger/verify.ts';

/**
 * Model-based property test of the money engine. fast-check draws a distributor forest (depth up
 * to 5), program rules, and a sequence of orders, events, refunds and replays; each sequence runs
 * against the real server and database, and after every step:
 * - the ledger holds every invariant (`verifyLedger`: balanced journals, cached balances equal
 *   to postings, each line's postings in the account of its status, no line above its rule);
 * - every order's lines equal what a tiny independent model computes (rate × remaining base,
 *   floored per line, per beneficiary level of the chain frozen at payment);
 * - each distributor's balances equal the sums of its lines by status;
 * - a replayed request (same order body, same event Idempotency-Key) changes nothing.
 */

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.close();
});

interface Tree {
  parents: (number | null)[];
}

const treeArb: fc.Arbitrary<Tree> = fc.integer({ min: 2, max: 9 }).chain((n) =>
  fc
    .tuple(...Array.from({ length: n }, (_, i) => (i === 0 ? fc.constant(null) : fc.option(fc.integer({ min: 0, max: i - 1 }), { freq: 4 }))))
    .map((parents) => {
      // Keep depth ≤ 5: a node deeper than that is re-rooted.
      const depth = (i: number): number => (parents[i] === null || parents[i] === undefined ? 0 : 1 + depth(parents[i]!));
      return { parents: parents.map((p, i) => (p !== null && depth(i) > 5 ? null : p)) as (number | null)[] };
    }),
);

const rulesArb = fc.record({
  levels: fc.integer({ min: 0, max: 3 }),
  self_purchase: fc.boolean(),
  sales_bp: fc.integer({ min: 0, max: 3000 }),
  override_bp: fc.array(fc.integer({ min: 0, max: 2000 }), { minLength: 3, maxLength: 3 }),
  promo_bp: fc.integer({ min: 0, max: 5000 }),
});

type Action =
  | { kind: 'order'; buyer: number; items: { sku: 'plain' | 'promo'; quantity: number; paid: number }[] }
  | { kind: 'replay_order'; which: number }
  | { kind: 'ship' | 'receive' | 'cancel'; which: number }
  | { kind: 'refund'; which: number; fraction: number; key: boolean }
  | { kind: 'refund_items'; which: number; position: number }
  | { kind: 'replay_event'; which: number };

const actionArb: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('order' as const),
      buyer: fc.nat(20),
      items: fc.array(
        fc.record({
          sku: fc.constantFrom('plain' as const, 'promo' as const),
          quantity: fc.integer({ min: 1, max: 4 }),
          paid: fc.integer({ min: 0, max: 2_000_000 }),
        }),
        { minLength: 1, maxLength: 3 },
      ),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('replay_order' as const), which: fc.nat(50) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constantFrom('ship' as const, 'receive' as const, 'cancel' as const), which: fc.nat(50) }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('refund' as const),
      which: fc.nat(50),
      fraction: fc.double({ min: 0.01, max: 1, noNaN: true }),
      key: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('refund_items' as const), which: fc.nat(50), position: fc.nat(2) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('replay_event' as const), which: fc.nat(50) }) },
);

interface ModelOrder {
  externalId: string;
  body: unknown;
  chain: string[];
  status: string;
  items: { sku: string; quantity: number; paid: number; refunded: number; refundedQty: number }[];
}

const floorBp = (base: number, bp: number) => Number((BigInt(base) * BigInt(bp)) / 10000n);

describe('money engine properties', () => {
  it('random trees, orders, events, refunds and replays keep every invariant and match the model', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(treeArb, rulesArb, fc.array(actionArb, { minLength: 4, maxLength: 18 }), async (tree, rules, actions) => {
        run++;
        const { key } = await t.tenant(`prop ${run}`);
        const call = (method: string, url: string, body?: unknown, headers?: Record<string, string>) =>
          t.call(method, url, { token: key, body, ...(headers ? { headers } : {}) });
        expect((await call('PUT', '/v1/program', { levels: rules.levels, self_purchase: rules.self_purchase })).statusCode).toBe(200);
        expect((await call('PUT', '/v1/grades/default', { name: 'g', rank: 0, sales_bp: rules.sales_bp, override_bp: rules.override_bp })).statusCode).toBe(
          200,
        );
        expect(
          (await call('PUT', '/v1/sku-rules/promo', { rates: { '0': { kind: 'percent', bp: rules.promo_bp }, '1': { kind: 'percent', bp: rules.promo_bp } } }))
            .statusCode,
        ).toBe(200);

        // The forest: distributor i registers with its parent's code.
        const ids: string[] = [];
        const codes: string[] = [];
        const parent = new Map<string, string | null>();
        for (let i = 0; i < tree.parents.length; i++) {
          const p = tree.parents[i];
          const res = await call('POST', '/v1/distributors', {
            external_id: `d${i}`,
            name: `d${i}`,
            ...(p !== null && p !== undefined ? { referrer_code: codes[p] } : {}),
          });
          expect(res.statusCode).toBe(201);
          ids.push(res.data.id);
          codes.push(res.data.invite_code);
          parent.set(res.data.id, p !== null && p !== undefined ? ids[p]! : null);
        }
        // Buyers: plain customers bound to a distributor, and the distributors themselves.
        const buyers: string[] = [];
        for (let i = 0; i < ids.length; i++) {
          await call('POST', '/v1/bindings', { customer_external_id: `c${i}`, invite_code: codes[i] });
          buyers.push(`c${i}`, `d${i}`);
        }
        buyers.push('stranger');

        const uplines = (id: string) => {
          const out: string[] = [];
          for (let p = parent.get(id) ?? null; p !== null; p = parent.get(p) ?? null) out.push(p);
          return out;
        };
        const byExternal = new Map<string, string>(ids.map((id, i) => [`d${i}`, id]));
        const customerOf = new Map<string, string>(ids.map((id, i) => [`c${i}`, id]));
        const orders: ModelOrder[] = [];
        const eventLog: { externalId: string; body: unknown; key: string; answer: unknown }[] = [];

        /** The lines the model expects: those worth something at payment, at their value now. */
        const modelLines = (o: ModelOrder): [string, number, number][] => {
          const out: [string, number, number][] = [];
          o.chain.forEach((beneficiary, level) => {
            o.items.forEach((it) => {
              const bp = it.sku === 'promo' && level <= 1 ? rules.promo_bp : level === 0 ? rules.sales_bp : rules.override_bp[level - 1]!;
              if (floorBp(it.paid, bp) > 0) out.push([beneficiary, level, floorBp(it.paid - it.refunded, bp)]);
            });
          });
          return out;
        };
        const sorted = (xs: [string, number, number][]) => [...xs].sort((x, y) => x[1] - y[1] || x[0].localeCompare(y[0]) || x[2] - y[2]);

        const check = async () => {
          const report = await verifyLedger(t.database.db, (await call('GET', '/v1/tenant')).data.id);
          expect(report.breaks).toEqual([]);
          const pendingBy = new Map<string, number>();
          for (const o of orders) {
            const got = (await call('GET', `/v1/orders/${o.externalId}`)).data;
            expect(got.chain).toEqual(o.chain);
            const lines = got.commissions.map(
              (l: { beneficiary_id: string; level: number; amount_fen: number }) => [l.beneficiary_id, l.level, l.amount_fen] as [string, number, number],
            );
            expect(sorted(lines)).toEqual(sorted(modelLines(o)));
            for (const l of got.commissions as { beneficiary_id: string; amount_fen: number; status: string }[]) {
              if (l.status === 'pending') pendingBy.set(l.beneficiary_id, (pendingBy.get(l.beneficiary_id) ?? 0) + l.amount_fen);
            }
          }
          for (const id of ids) {
            const bal = (await call('GET', `/v1/distributors/${id}/balance`)).data;
            expect(bal.pending_fen).toBe(pendingBy.get(id) ?? 0);
            expect(bal.available_fen + bal.withdrawable_fen + bal.withdrawing_fen + bal.withdrawn_fen).toBe(0);
          }
        };

        for (const a of actions) {
          const o = orders.length > 0 && 'which' in a ? orders[a.which % orders.length]! : undefined;
          switch (a.kind) {
            case 'order': {
              const buyer = buyers[a.buyer % buyers.length]!;
              const externalId = `o${orders.length}`;
              const body = {
                external_id: externalId,
                buyer_external_id: buyer,
                items: a.items.map((i) => ({ sku: i.sku, quantity: i.quantity, unit_price_fen: i.paid, paid_fen: i.paid })),
              };
              const res = await call('POST', '/v1/orders', body);
              expect(res.statusCode).toBe(201);
              const buyerDistributor = byExternal.get(buyer);
              const seller =
                rules.self_purchase && buyerDistributor
                  ? buyerDistributor
                  : buyerDistributor
                    ? (parent.get(buyerDistributor) ?? null)
                    : (customerOf.get(buyer) ?? null);
              const chain = seller ? [seller, ...uplines(seller)].slice(0, rules.levels + 1) : [];
              orders.push({
                externalId,
                body,
                chain,
                status: 'paid',
                items: a.items.map((i) => ({ sku: i.sku, quantity: i.quantity, paid: i.paid, refunded: 0, refundedQty: 0 })),
              });
              break;
            }
            case 'replay_order': {
              if (!o) break;
              const before = (await call('GET', `/v1/orders/${o.externalId}`)).data;
              const res = await call('POST', '/v1/orders', o.body);
              expect(res.statusCode).toBe(200);
              expect(res.data).toEqual(before);
              break;
            }
            case 'ship':
            case 'receive':
            case 'cancel': {
              if (!o) break;
              const type = a.kind === 'ship' ? 'shipped' : a.kind === 'receive' ? 'received' : 'cancelled';
              const allowed = { shipped: ['paid'], received: ['paid', 'shipped'], cancelled: ['paid', 'shipped'] }[type];
              const res = await call('POST', `/v1/orders/${o.externalId}/events`, { type });
              if (allowed.includes(o.status)) {
                expect(res.statusCode).toBe(200);
                o.status = type;
                if (type === 'cancelled')
                  o.items.forEach((i) => {
                    i.refunded = i.paid;
                    i.refundedQty = i.quantity;
                  });
              } else {
                expect(res.statusCode).toBe(409);
              }
              break;
            }
            case 'refund': {
              if (!o) break;
              const still = o.items.reduce((s, i) => s + i.paid - i.refunded, 0);
              const amount = Math.max(1, Math.floor(still * a.fraction));
              const body = { type: 'refunded', refund_fen: amount };
              const idem = `k-${o.externalId}-${eventLog.length}`;
              const res = await call('POST', `/v1/orders/${o.externalId}/events`, body, a.key ? { 'idempotency-key': idem } : undefined);
              if (['cancelled', 'refunded'].includes(o.status) || still === 0) {
                expect([400, 409]).toContain(res.statusCode);
                break;
              }
              expect(res.statusCode).toBe(200);
              // The model splits the refund in proportion, like the server; the server's item
              // figures are the ones to carry forward (the split itself is table-tested).
              res.data.items.forEach((it: { refunded_fen: number; refunded_quantity: number }, k: number) => {
                o.items[k]!.refunded = it.refunded_fen;
                o.items[k]!.refundedQty = it.refunded_quantity;
              });
              expect(res.data.refunded_fen).toBe(o.items.reduce((s, i) => s + i.refunded, 0));
              if (res.data.refunded_fen === res.data.paid_fen) o.status = 'refunded';
              if (a.key) eventLog.push({ externalId: o.externalId, body, key: idem, answer: res.data });
              break;
            }
            case 'refund_items': {
              if (!o) break;
              const item = o.items[a.position % o.items.length]!;
              const position = o.items.indexOf(item);
              const res = await call('POST', `/v1/orders/${o.externalId}/events`, { type: 'refunded', items: [{ position, quantity: 1 }] });
              if (['cancelled', 'refunded'].includes(o.status) || item.quantity - item.refundedQty < 1) {
                expect([400, 409]).toContain(res.statusCode);
                break;
              }
              expect(res.statusCode).toBe(200);
              res.data.items.forEach((it: { refunded_fen: number; refunded_quantity: number }, k: number) => {
                o.items[k]!.refunded = it.refunded_fen;
                o.items[k]!.refundedQty = it.refunded_quantity;
              });
              if (res.data.refunded_fen === res.data.paid_fen) o.status = 'refunded';
              break;
            }
            case 'replay_event': {
              const e = eventLog.length > 0 ? eventLog[a.which % eventLog.length]! : undefined;
              if (!e) break;
              const res = await call('POST', `/v1/orders/${e.externalId}/events`, e.body, { 'idempotency-key': e.key });
              expect(res.statusCode).toBe(200);
              expect(res.data).toEqual(e.answer);
              break;
            }
            default: {
              const never: never = a;
              throw new Error(String(never));
            }
          }
          await check();
        }
      }),
      { numRuns: Number(process.env.FENXIAO_PROPERTY_RUNS ?? 25), endOnFailure: true },
    );
  }, 600_000);
});
