import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ManualClock } from '../../src/core/context.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { tierRateAt } from '../../src/modules/commissions/trueup.ts';
import { paidUnits, type Tier } from '../../src/modules/commissions/calculator.ts';

/**
 * Month-end tier true-up against the real server (issue 17 item 2, the property test extended):
 * random brackets (percentages or fen per unit), a month of orders of several units for one
 * seller, refunds before and after the true-up. After the true-up each tier line's adjustment is
 * exactly max(0, the final bracket's share of what it still has − what it holds), the share being
 * floor(base × bp / 10000) or fen × the units still paid, whatever the line's own rate, so the month's lines with their adjustments sum exactly to the
 * final bracket's share line by line; a second pass adds nothing; a later refund never raises an
 * adjustment; and the ledger verifies clean after every step.
 */
let t: TestServer;
const clock = new ManualClock('2026-05-10T04:00:00Z');
beforeAll(async () => {
  t = await startTestServer({ clock });
});
afterAll(async () => {
  await t?.close();
});

/** A bracket's rate for the seller: basis points, or fen per unit. */
const rateArb = fc.oneof(
  fc.integer({ min: 0, max: 3000 }).map((bp) => ({ sales_bp: bp })),
  fc.integer({ min: 1, max: 3000 }).map((fen) => ({ sales_fixed_fen: fen })),
);
const tiersArb = fc
  .tuple(rateArb, fc.array(fc.record({ step: fc.integer({ min: 1, max: 300_000 }), rate: rateArb }), { minLength: 1, maxLength: 3 }))
  .map(([rate0, rest]) => {
    const tiers: Tier[] = [{ min_monthly_sales_fen: 0, ...rate0 }];
    let min = 0;
    for (const r of rest) tiers.push({ min_monthly_sales_fen: (min += r.step), ...r.rate });
    return tiers;
  });
const refundArb = fc.record({ which: fc.nat(7), fraction: fc.double({ min: 0.05, max: 1, noNaN: true }) });

type Row = { id: string; kind: string; adjusts: string | null; amount_fen: number; base_fen: number; rate_source: string; status: string; order_id: string };

describe('tier true-up properties', () => {
  it('adjustments sum exactly to the final bracket’s share, once, never raised by refunds; ledger clean throughout', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        tiersArb,
        fc.array(fc.record({ fen: fc.integer({ min: 1, max: 300_000 }), quantity: fc.integer({ min: 1, max: 5 }) }), { minLength: 1, maxLength: 6 }),
        fc.array(refundArb, { maxLength: 3 }),
        fc.array(refundArb, { maxLength: 3 }),
        async (tiers, orders, before, afterwards) => {
          run++;
          clock.set('2026-05-10T04:00:00Z');
          const { id, key } = await t.tenant(`trueup ${run}`);
          const call = (method: string, url: string, body?: unknown) => t.call(method, url, { token: key, body });
          const verify = async () => expect((await call('GET', '/v1/ledger/verify')).data.breaks).toEqual([]);
          expect((await call('PUT', '/v1/program', { levels: 0, tier_true_up: true })).statusCode).toBe(200);
          expect((await call('PUT', '/v1/grades/default', { name: 'g', rank: 0, sales_bp: 0, override_bp: [], tiers })).statusCode).toBe(200);
          const A = (await call('POST', '/v1/distributors', { external_id: 'A', name: 'A' })).data;
          expect((await call('POST', '/v1/bindings', { customer_external_id: 'c', invite_code: A.invite_code })).statusCode).toBe(201);
          const paid: number[] = [];
          const quantities: number[] = [];
          const refunded: number[] = [];
          for (const [i, { fen, quantity }] of orders.entries()) {
            const r = await call('POST', '/v1/orders', {
              external_id: `o${i}`,
              buyer_external_id: 'c',
              items: [{ sku: 's', quantity, unit_price_fen: Math.ceil(fen / quantity), paid_fen: fen }],
            });
            expect(r.statusCode, r.body).toBe(201);
            paid.push(fen);
            quantities.push(quantity);
            refunded.push(0);
          }
          const refund = async (r: { which: number; fraction: number }) => {
            const i = r.which % paid.length;
            const fen = Math.min(paid[i]! - refunded[i]!, Math.max(1, Math.floor((paid[i]! - refunded[i]!) * r.fraction)));
            if (fen <= 0) return;
            const res = await call('POST', `/v1/orders/o${i}/events`, { type: 'refunded', refund_fen: fen });
            expect(res.statusCode, res.body).toBeLessThan(300);
            refunded[i]! += fen;
          };
          for (const r of before) await refund(r);
          await verify();

          clock.set('2026-05-31T16:00:00Z');
          await t.services.commissions.trueUpDue(id, clock.now());
          await verify();
          const rows = (await t.services.db
            .selectFrom('commissions')
            .select(['id', 'kind', 'adjusts', 'amount_fen', 'base_fen', 'rate_source', 'status', 'order_id'])
            .where('tenant_id', '=', id)
            .execute()) as Row[];
          const orderIndex = new Map(
            (await t.services.db.selectFrom('orders').select(['id', 'external_id']).where('tenant_id', '=', id).execute()).map((o) => [
              o.id,
              Number(o.external_id.slice(1)),
            ]),
          );
          const finalSales = paid.reduce((s, p, i) => s + p - refunded[i]!, 0);
          const finalRate = tierRateAt(tiers, 0, finalSales);
          const adjustments = new Map(rows.filter((r) => r.kind === 'adjustment').map((r) => [r.adjusts, Number(r.amount_fen)]));
          let expectedTotal = 0;
          for (const l of rows.filter((r) => r.kind === 'commission')) {
            expect(l.rate_source).toBe('tier');
            const i = orderIndex.get(l.order_id)!;
            const share =
              finalRate === null
                ? 0
                : finalRate.kind === 'percent'
                  ? Number((BigInt(l.base_fen) * BigInt(finalRate.bp)) / 10000n)
                  : finalRate.fen * paidUnits(quantities[i]!, paid[i]!, paid[i]! - refunded[i]!);
            const expected = l.status === 'reversed' ? 0 : Math.max(0, share - Number(l.amount_fen));
            expect(adjustments.get(l.id) ?? 0).toBe(expected);
            expectedTotal += expected;
          }
          expect([...adjustments.values()].reduce((s, x) => s + x, 0)).toBe(expectedTotal);

          // Once: another pass writes nothing.
          expect((await t.services.commissions.trueUpDue(id, clock.now())).lines).toBe(0);

          // Refunds afterwards never raise an adjustment, and keep the ledger clean.
          let last = adjustments;
          for (const r of afterwards) {
            await refund(r);
            await verify();
            const now = (await t.services.db
              .selectFrom('commissions')
              .select(['adjusts', 'amount_fen'])
              .where('tenant_id', '=', id)
              .where('kind', '=', 'adjustment')
              .execute()) as {
              adjusts: string;
              amount_fen: number;
            }[];
            for (const a of now) expect(Number(a.amount_fen)).toBeLessThanOrEqual(last.get(a.adjusts) ?? 0);
            last = new Map(now.map((a) => [a.adjusts, Number(a.amount_fen)]));
          }
        },
      ),
      { numRuns: 20 },
    );
  }, 600_000);
});
