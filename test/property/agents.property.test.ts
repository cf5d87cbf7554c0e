import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ManualClock } from '../../src/core/context.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

/**
 * Model-based property test of agents' stock and its money. fast-check draws a sequence of
 * purchases (paid purchase orders, at prices that change between them), sales from the agent's
 * stock (sometimes more than it holds), refunds of sales by units and by amount, buybacks
 * (sometimes more than it holds, or than it bought within the window), stocktake corrections
 * (units found at no cost, units missing written off) and the passing of days;
 * each runs against the real server, and a tiny model keeps the purchase lots (FIFO out, refunded
 * units back into the lots they came from, buybacks of lots within 30 days at their cost). Then:
 * - each request succeeds or is refused (422 insufficient_stock) exactly when the model says;
 * - a buyback's amount and every price-difference line equal the model's;
 * - the inventory per SKU equals the model's, equals the sum of the agent's stock movements, and
 *   is never below 0;
 * - the ledger holds every invariant (agent mode's too: the stock account is what the units held
 *   cost, lots equal their movements, a price-difference line is paid less cost).
 */

const clock = new ManualClock('2026-03-01T08:00:00Z');
let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ clock });
});
afterAll(async () => {
  await t?.close();
});

const SKUS = ['tea', 'wine'] as const;
type Sku = (typeof SKUS)[number];

type Action =
  | { kind: 'purchase'; sku: Sku; quantity: number; price: number }
  | { kind: 'sale'; sku: Sku; quantity: number; unitPaid: number }
  | { kind: 'refund_units'; sale: number; quantity: number }
  | { kind: 'refund_fen'; sale: number; fen: number }
  | { kind: 'buyback'; sku: Sku; quantity: number }
  | { kind: 'correction'; sku: Sku; quantity: number }
  | { kind: 'days'; days: number };

const skuArb = fc.constantFrom(...SKUS);
const actionArb: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('purchase' as const),
      sku: skuArb,
      quantity: fc.integer({ min: 1, max: 6 }),
      price: fc.integer({ min: 100, max: 9000 }),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('sale' as const),
      sku: skuArb,
      quantity: fc.integer({ min: 1, max: 4 }),
      unitPaid: fc.integer({ min: 0, max: 12000 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('refund_units' as const), sale: fc.nat(20), quantity: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('refund_fen' as const), sale: fc.nat(20), fen: fc.integer({ min: 1, max: 20000 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('buyback' as const), sku: skuArb, quantity: fc.integer({ min: 1, max: 4 }) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('correction' as const),
      sku: skuArb,
      quantity: fc.integer({ min: -4, max: 4 }).filter((q) => q !== 0),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('days' as const), days: fc.integer({ min: 1, max: 40 }) }) },
);

interface ModelLot {
  n: number;
  sku: Sku;
  cost: number;
  remaining: number;
  at: number;
}
interface ModelSale {
  externalId: string;
  sku: Sku;
  quantity: number;
  paid: number;
  refundedFen: number;
  refundedUnits: number;
  /** Units still sold per lot (lot n → units). */
  takes: Map<number, number>;
  line: number | null;
  /** Refunded in full (status refunded): no event applies any more. */
  closed: boolean;
}

const held = (lots: ModelLot[], sku: Sku) => lots.filter((l) => l.sku === sku).reduce((s, l) => s + l.remaining, 0);

describe('agents: stock and money against a model', () => {
  it('inventory equals the movements and the model, never below 0; lines and buybacks as the model says; the ledger holds', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(actionArb, { minLength: 1, maxLength: 14 }), async (actions) => {
        run += 1;
        const { key } = await t.tenant(`agents property ${run}`);
        const call = (method: string, url: string, body?: unknown, headers?: Record<string, string>) =>
          t.call(method, url, { token: key, ...(body !== undefined ? { body } : {}), ...(headers ? { headers } : {}) });
        expect((await call('PUT', '/v1/agent-program', { enabled: true, buyback_days: 30 })).statusCode).toBe(200);
        const d = (await call('POST', '/v1/distributors', { external_id: 'agent', name: 'Agent' })).data;
        const agent = (await call('POST', '/v1/agents', { distributor_id: d.id, rank: 'district', region_code: '440305' })).data;
        const lots: ModelLot[] = [];
        const sales: ModelSale[] = [];
        let lotN = 0;

        for (const [step, act] of actions.entries()) {
          switch (act.kind) {
            case 'purchase': {
              const price = act.price;
              expect(
                (await call('PUT', `/v1/agent-prices/${act.sku}`, { retail_fen: 20000, province_fen: price, city_fen: price, district_fen: price })).statusCode,
              ).toBe(200);
              const po = await call(
                'POST',
                '/v1/purchase-orders',
                { agent_id: agent.id, items: [{ sku: act.sku, quantity: act.quantity }] },
                { 'idempotency-key': `k${step}` },
              );
              expect(po.statusCode).toBe(201);
              expect(po.data.amount_fen).toBe(price * act.quantity);
              expect((await call('POST', `/v1/purchase-orders/${po.data.id}/pay`, { reference: `r${step}` })).statusCode).toBe(200);
              lots.push({ n: lotN++, sku: act.sku, cost: price, remaining: act.quantity, at: clock.now().getTime() });
              // Lots of one moment would tie; the model and the server agree on time order.
              clock.advance(60_000);
              break;
            }
            case 'sale': {
              const externalId = `o${step}`;
              const paid = act.unitPaid * act.quantity;
              const r = await call('POST', '/v1/orders', {
                external_id: externalId,
                buyer_external_id: `b${step}`,
                fulfilled_by: agent.id,
                items: [{ sku: act.sku, quantity: act.quantity, unit_price_fen: act.unitPaid, paid_fen: paid }],
              });
              if (held(lots, act.sku) < act.quantity) {
                expect(r.statusCode).toBe(422);
                expect(r.data.error.code).toBe('insufficient_stock');
                break;
              }
              expect(r.statusCode).toBe(201);
              const takes = new Map<number, number>();
              let left = act.quantity;
              let cost = 0;
              for (const l of lots.filter((x) => x.sku === act.sku).sort((a, b) => a.at - b.at || a.n - b.n)) {
                const q = Math.min(l.remaining, left);
                if (q === 0) continue;
                l.remaining -= q;
                left -= q;
                cost += q * l.cost;
                takes.set(l.n, q);
              }
              const line = paid - cost > 0 ? paid - cost : null;
              sales.push({ externalId, sku: act.sku, quantity: act.quantity, paid, refundedFen: 0, refundedUnits: 0, takes, line, closed: false });
              const lines = (r.data.commissions as { kind: string; amount_fen: number }[]).filter((c) => c.kind === 'price_difference');
              expect(lines.map((c) => c.amount_fen)).toEqual(line === null ? [] : [line]);
              break;
            }
            case 'refund_units':
            case 'refund_fen': {
              const sale = sales[act.sale % Math.max(1, sales.length)];
              if (!sale) break;
              const unitsHeld = sale.quantity - sale.refundedUnits;
              const remaining = sale.paid - sale.refundedFen;
              const body =
                act.kind === 'refund_units'
                  ? { type: 'refunded', items: [{ sku: sale.sku, quantity: act.quantity }] }
                  : { type: 'refunded', refund_fen: act.fen };
              const r = await call('POST', `/v1/orders/${sale.externalId}/events`, body);
              if (sale.closed) {
                expect(r.statusCode).toBe(409);
                break;
              }
              if (act.kind === 'refund_units') {
                if (unitsHeld < act.quantity) {
                  expect(r.statusCode).toBeGreaterThanOrEqual(400);
                  break;
                }
                const fen = act.quantity >= unitsHeld ? remaining : Math.floor((remaining * act.quantity) / unitsHeld);
                expect(r.statusCode, JSON.stringify(r.data)).toBe(200);
                sale.refundedFen += fen;
                sale.refundedUnits += act.quantity;
                // Back into the lots the sale took them from, the latest acquired first.
                let left = act.quantity;
                for (const l of lots.filter((x) => sale.takes.has(x.n)).sort((a, b) => b.at - a.at || b.n - a.n)) {
                  const q = Math.min(sale.takes.get(l.n) ?? 0, left);
                  if (q === 0) continue;
                  l.remaining += q;
                  sale.takes.set(l.n, (sale.takes.get(l.n) ?? 0) - q);
                  left -= q;
                }
              } else {
                if (remaining === 0) {
                  expect(r.statusCode).toBe(409);
                  break;
                }
                if (act.fen > remaining) {
                  expect(r.statusCode).toBe(400);
                  break;
                }
                expect(r.statusCode, JSON.stringify(r.data)).toBe(200);
                sale.refundedFen += act.fen;
              }
              if (sale.refundedFen >= sale.paid) sale.closed = true;
              if (sale.line !== null) {
                const cost = [...sale.takes].reduce((s, [n, q]) => s + q * (lots.find((l) => l.n === n)?.cost ?? 0), 0);
                sale.line = Math.min(sale.line, Math.max(0, sale.paid - sale.refundedFen - cost));
                const lines = (r.data.commissions as { kind: string; amount_fen: number }[]).filter((c) => c.kind === 'price_difference');
                expect(lines.map((c) => c.amount_fen)).toEqual([sale.line]);
              }
              break;
            }
            case 'buyback': {
              const r = await call('POST', `/v1/agents/${agent.id}/stock-returns`, { items: [{ sku: act.sku, quantity: act.quantity }] });
              const since = clock.now().getTime() - 30 * 86_400_000;
              const eligible = lots.filter((l) => l.sku === act.sku && l.at >= since && l.remaining > 0).sort((a, b) => a.at - b.at || a.n - b.n);
              if (eligible.reduce((s, l) => s + l.remaining, 0) < act.quantity) {
                expect(r.statusCode).toBe(422);
                expect(r.data.error.code).toBe('insufficient_stock');
                break;
              }
              expect(r.statusCode).toBe(201);
              let left = act.quantity;
              let amount = 0;
              for (const l of eligible) {
                const q = Math.min(l.remaining, left);
                l.remaining -= q;
                left -= q;
                amount += q * l.cost;
              }
              expect(r.data.amount_fen).toBe(amount);
              break;
            }
            case 'correction': {
              // A stocktake: units found join as a lot that cost nothing; units missing leave the
              // oldest lots and their cost is written off.
              const r = await call(
                'POST',
                `/v1/agents/${agent.id}/stock-corrections`,
                { items: [{ sku: act.sku, quantity: act.quantity }], reason: `count ${step}` },
                { 'idempotency-key': `c${step}` },
              );
              if (act.quantity > 0) {
                expect(r.statusCode).toBe(201);
                expect(r.data.amount_fen).toBe(0);
                lots.push({ n: lotN++, sku: act.sku, cost: 0, remaining: act.quantity, at: clock.now().getTime() });
                clock.advance(60_000);
                break;
              }
              if (held(lots, act.sku) < -act.quantity) {
                expect(r.statusCode).toBe(422);
                expect(r.data.error.code).toBe('insufficient_stock');
                break;
              }
              expect(r.statusCode).toBe(201);
              let left = -act.quantity;
              let amount = 0;
              for (const l of lots.filter((x) => x.sku === act.sku && x.remaining > 0).sort((a, b) => a.at - b.at || a.n - b.n)) {
                const q = Math.min(l.remaining, left);
                l.remaining -= q;
                left -= q;
                amount += q * l.cost;
              }
              expect(r.data.amount_fen).toBe(amount);
              break;
            }
            case 'days':
              clock.advance(act.days * 86_400_000);
              break;
          }
          for (const l of lots) expect(l.remaining).toBeGreaterThanOrEqual(0);
        }

        const inventory = (await call('GET', `/v1/agents/${agent.id}/inventory`)).data.items as { sku: string; quantity: number; value_fen: number }[];
        const moves = (await call('GET', `/v1/agents/${agent.id}/stock-movements?limit=500`)).data.items as { sku: string; quantity: number }[];
        for (const sku of SKUS) {
          const got = inventory.find((i) => i.sku === sku);
          const want = held(lots, sku);
          expect(got?.quantity ?? 0).toBe(want);
          expect(got?.quantity ?? 0).toBeGreaterThanOrEqual(0);
          expect(moves.filter((m) => m.sku === sku).reduce((s, m) => s + m.quantity, 0)).toBe(want);
          expect(got?.value_fen ?? 0).toBe(lots.filter((l) => l.sku === sku).reduce((s, l) => s + l.remaining * l.cost, 0));
        }
        const v = (await call('GET', '/v1/ledger/verify')).data;
        expect(v.breaks).toEqual([]);
      }),
      {
        numRuns: Number(process.env.FENXIAO_PROPERTY_RUNS ?? 15),
        endOnFailure: true,
        examples: [
          // Found by this test: a price-difference line at 0 (reversed) whose line paid less than its
          // units still cost; ledger verify's check took that negative difference as its bound.
          [
            [
              { kind: 'sale', sku: 'wine', quantity: 2, unitPaid: 7522 },
              { kind: 'purchase', sku: 'wine', quantity: 5, price: 7221 },
              { kind: 'sale', sku: 'wine', quantity: 2, unitPaid: 8619 },
              { kind: 'refund_fen', sale: 0, fen: 15427 },
            ],
          ],
        ],
      },
    );
  }, 600_000);
});
