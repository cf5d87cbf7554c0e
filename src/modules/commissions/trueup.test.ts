import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { chooseRate, computeOrderCommissions, percentOf, type RulesSnapshot, type Tier } from './calculator.ts';
import { tierRateAt, trueUpAdjustments, type TrueUpLine } from './trueup.ts';

// 5% from the first fen, 8% from 1,000 yuan, 10% from 5,000 yuan of own sales this month; overrides 2% then 3% at level 1.
const tiers: Tier[] = [
  { min_monthly_sales_fen: 0, sales_bp: 500, override_bp: [200] },
  { min_monthly_sales_fen: 100_000, sales_bp: 800, override_bp: [300] },
  { min_monthly_sales_fen: 500_000, sales_bp: 1000 },
];

const line = (id: string, baseFen: number, bp: number, extra: Partial<TrueUpLine> = {}): TrueUpLine => ({
  id,
  level: 0,
  rateKind: 'percent',
  rateBp: bp,
  fixedFen: 0,
  units: 1,
  baseFen,
  amountFen: percentOf(baseFen, bp),
  adjustedFen: 0,
  cappedFen: 0,
  ...extra,
});

describe('month-end tier true-up: labelled cases', () => {
  it('three orders in a month, the bracket reached on the third: the first two are raised to 8%, to the fen', () => {
    // Order A 600.00 at 0 before (5%) = 30.00; B 450.01 at 600.00 before (5%) = 22.50; C 333.33 at 1,050.01 before (8%) = 26.66.
    const lines = [line('A', 60_000, 500), line('B', 45_001, 500), line('C', 33_333, 800)];
    expect(lines.map((l) => l.amountFen)).toEqual([3000, 2250, 2666]);
    const adj = trueUpAdjustments(tiers, 138_334, lines);
    expect(adj.map((a) => [a.lineId, a.targetFen, a.adjustmentFen])).toEqual([
      ['A', 4800, 1800],
      ['B', 3600, 1350], // floor(450.01 × 8%) = 36.00, not 36.0008
    ]);
    expect(adj.every((a) => a.rate.kind === 'percent' && a.rate.bp === 800)).toBe(true);
    // The adjustments sum exactly: every line ends at floor(its base × 8%), line by line.
    const sum = adj.reduce((s, a) => s + a.adjustmentFen, 0);
    expect(sum).toBe(3150);
    expect(lines.reduce((s, l) => s + l.amountFen, 0) + sum).toBe(percentOf(60_000, 800) + percentOf(45_001, 800) + percentOf(33_333, 800));
  });

  it('the same lines as the order path priced them (calculator), trued up to the bracket finally reached', () => {
    const rules: RulesSnapshot = {
      version: 1,
      levels: 1,
      self_purchase: false,
      default_rates: { sales_bp: null, override_bp: [] },
      grades: { default: { rank: 0, sales_bp: 0, override_bp: [], tiers } },
      sku: {},
      caps: { per_order_fen: 0, per_day_fen: 0 },
    };
    const orders = [70_001, 29_999, 123_457, 401_234];
    let before = 0;
    const lines: TrueUpLine[] = [];
    for (const [i, paid] of orders.entries()) {
      const seller = { id: 's', level: 0, grade: 'default', active: true, monthly_sales_fen: before, earned_today_fen: 0 };
      const upline = { ...seller, id: 'u', level: 1, monthly_sales_fen: 0 };
      for (const c of computeOrderCommissions([{ id: `i${i}`, sku: 'x', quantity: 1, paid_fen: paid }], [seller, upline], rules)) {
        if (c.beneficiaryId !== 's' || c.source !== 'tier') continue;
        lines.push(line(`i${i}`, c.baseFen, c.rateBp, { amountFen: c.amountFen }));
      }
      before += paid;
    }
    expect(lines.map((l) => l.rateBp)).toEqual([500, 500, 800, 800]);
    expect(chooseRate(rules, 'x', { level: 0, grade: 'default', monthly_sales_fen: before })?.rate).toEqual({ kind: 'percent', bp: 1000 });
    const adj = trueUpAdjustments(tiers, before, lines);
    // 10%: 7000 − 3500, 2999 − 1499, 12345 − 9876, 40123 − 32098
    expect(adj.map((a) => a.adjustmentFen)).toEqual([3500, 1500, 2469, 8025]);
    const total = lines.reduce((s, l) => s + l.amountFen, 0) + adj.reduce((s, a) => s + a.adjustmentFen, 0);
    expect(total).toBe(orders.reduce((s, p) => s + percentOf(p, 1000), 0));
  });

  it('an upline: the level-1 line follows the upline’s own final bracket', () => {
    const adj = trueUpAdjustments(tiers, 150_000, [line('o', 12_345, 200, { level: 1 })]);
    expect(adj).toEqual([{ lineId: 'o', level: 1, rate: { kind: 'percent', bp: 300 }, targetFen: 370, adjustmentFen: 124 }]);
    // The 10% bracket has no level-1 rate: the highest bracket reached with one (3%) is used.
    expect(tierRateAt(tiers, 1, 900_000)).toEqual({ kind: 'percent', bp: 300 });
  });

  it('fixed per unit: fen per unit × units still paid for at the final bracket', () => {
    const fixedTiers: Tier[] = [
      { min_monthly_sales_fen: 0, sales_fixed_fen: 100 },
      { min_monthly_sales_fen: 50_000, sales_fixed_fen: 150 },
    ];
    const l = line('f', 30_000, 0, { rateKind: 'fixed', fixedFen: 100, units: 3, amountFen: 300 });
    expect(trueUpAdjustments(fixedTiers, 60_000, [l])).toEqual([
      { lineId: 'f', level: 0, rate: { kind: 'fixed', fen: 150 }, targetFen: 450, adjustmentFen: 150 },
    ]);
    // A fixed amount per order at the final bracket is not recomputed (its split depends on the whole order).
    const perOrder: Tier[] = [fixedTiers[0]!, { min_monthly_sales_fen: 50_000, sales_fixed_fen: 900, fixed_per: 'order' }];
    expect(trueUpAdjustments(perOrder, 60_000, [l])).toEqual([]);
  });

  it('a line paid at a percentage, final bracket fen per unit: fen × the units still paid, when above what it holds', () => {
    const mixed: Tier[] = [
      { min_monthly_sales_fen: 0, sales_bp: 500 },
      { min_monthly_sales_fen: 100_000, sales_fixed_fen: 1500 },
    ];
    // 600.00 for 3 units at 5% = 30.00; at 15.00 per unit: 45.00. One unit of 450.01 at 5% = 22.50: above 15.00, nothing.
    expect(trueUpAdjustments(mixed, 105_001, [line('P', 60_000, 500, { units: 3 }), line('Q', 45_001, 500, { units: 1 })])).toEqual([
      { lineId: 'P', level: 0, rate: { kind: 'fixed', fen: 1500 }, targetFen: 4500, adjustmentFen: 1500 },
    ]);
  });

  it('only raises: a month whose refunds left the beneficiary below the bracket, or a higher bracket paying less, takes nothing back', () => {
    expect(trueUpAdjustments(tiers, 90_000, [line('A', 50_000, 800)])).toEqual([]);
    const lower: Tier[] = [
      { min_monthly_sales_fen: 0, sales_bp: 900 },
      { min_monthly_sales_fen: 100_000, sales_bp: 700 },
    ];
    expect(trueUpAdjustments(lower, 200_000, [line('A', 50_000, 900)])).toEqual([]);
  });

  it('a refunded line is priced on what it still has; a line held back by a cap is left alone; a second run adds nothing', () => {
    // 600.00 paid, 200.00 refunded: 5% of 400.00 = 20.00 now; 8% of 400.00 = 32.00.
    expect(trueUpAdjustments(tiers, 120_000, [line('r', 40_000, 500)]).map((a) => a.adjustmentFen)).toEqual([1200]);
    expect(trueUpAdjustments(tiers, 120_000, [line('c', 60_000, 500, { amountFen: 2000, cappedFen: 1000 })])).toEqual([]);
    expect(trueUpAdjustments(tiers, 120_000, [line('A', 60_000, 500, { adjustedFen: 1800 })])).toEqual([]);
  });

  it('property: the adjustments sum exactly to Σ max(0, final share − held), and no line ends above its final share', () => {
    const lineArb = fc.record({
      base: fc.integer({ min: 0, max: 5_000_000 }),
      level: fc.integer({ min: 0, max: 1 }),
      bp: fc.constantFrom(200, 300, 500, 800),
      adjusted: fc.integer({ min: 0, max: 5000 }),
    });
    fc.assert(
      fc.property(fc.array(lineArb, { maxLength: 20 }), fc.integer({ min: 0, max: 2_000_000 }), (raw, finalSales) => {
        const lines = raw.map((r, i) => line(`l${i}`, r.base, r.bp, { level: r.level, adjustedFen: r.adjusted }));
        const adj = trueUpAdjustments(tiers, finalSales, lines);
        let expected = 0;
        for (const l of lines) {
          const rate = tierRateAt(tiers, l.level, finalSales);
          const share = rate && rate.kind === 'percent' ? percentOf(l.baseFen, rate.bp) : 0;
          expected += Math.max(0, share - l.amountFen - l.adjustedFen);
          const a = adj.find((x) => x.lineId === l.id);
          if (a) {
            expect(a.adjustmentFen).toBeGreaterThan(0);
            expect(l.amountFen + l.adjustedFen + a.adjustmentFen).toBe(share);
          }
        }
        expect(adj.reduce((s, a) => s + a.adjustmentFen, 0)).toBe(expected);
      }),
      { numRuns: 300 },
    );
  });
});
