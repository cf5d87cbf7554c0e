import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  allocateRefund,
  applyCap,
  chainOf,
  chooseRate,
  computeOrderCommissions,
  paidUnits,
  percentOf,
  recomputeLine,
  refundForUnits,
  splitPerOrder,
  type Beneficiary,
  type ItemInput,
  type RulesSnapshot,
} from './calculator.ts';

function rules(over: Partial<RulesSnapshot> = {}): RulesSnapshot {
  return {
    version: 1,
    levels: 2,
    self_purchase: false,
    default_rates: { sales_bp: null, override_bp: [] },
    grades: { default: { rank: 0, sales_bp: 0, override_bp: [1000, 500], tiers: [] } },
    sku: {},
    caps: { per_order_fen: 0, per_day_fen: 0 },
    ...over,
  };
}

const who = (id: string, level: number, extra: Partial<Beneficiary> = {}): Beneficiary => ({
  id,
  level,
  grade: 'default',
  active: true,
  monthly_sales_fen: 0,
  earned_today_fen: 0,
  ...extra,
});
const item = (id: string, paid: number, extra: Partial<ItemInput> = {}): ItemInput => ({ id, sku: 'sku-1', quantity: 1, paid_fen: paid, ...extra });
const amounts = (lines: { beneficiaryId: string; level: number; amountFen: number }[]) => lines.map((l) => [l.beneficiaryId, l.level, l.amountFen]);

describe("the article's worked example (levels 2, overrides 10% and 5%, A ← B ← C)", () => {
  it("A earns 10 yuan on B's 100 yuan sale (level 1)", () => {
    const lines = computeOrderCommissions([item('i1', 10000)], [who('B', 0), who('A', 1)], rules());
    expect(amounts(lines)).toEqual([['A', 1, 1000]]);
  });
  it("on C's 50 yuan sale B earns 5 yuan (level 1) and A 2.50 yuan (level 2)", () => {
    const lines = computeOrderCommissions([item('i1', 5000)], [who('C', 0), who('B', 1), who('A', 2)], rules());
    expect(amounts(lines)).toEqual([
      ['B', 1, 500],
      ['A', 2, 250],
    ]);
  });
  it("single-level (levels 1): A earns nothing from C's sale", () => {
    const lines = computeOrderCommissions([item('i1', 5000)], [who('C', 0), who('B', 1), who('A', 2)], rules({ levels: 1 }));
    expect(amounts(lines)).toEqual([['B', 1, 500]]);
  });
  it("levels 0: only the seller's own sales commission", () => {
    const r = rules({ levels: 0, grades: { default: { rank: 0, sales_bp: 800, override_bp: [1000, 500], tiers: [] } } });
    expect(amounts(computeOrderCommissions([item('i1', 5000)], [who('C', 0), who('B', 1)], r))).toEqual([['C', 0, 400]]);
  });
});

describe('labelled calculator cases', () => {
  const cases: { label: string; items: ItemInput[]; chain: Beneficiary[]; rules: RulesSnapshot; expected: (string | number)[][] }[] = [
    {
      label: 'sales commission and two overrides on one line',
      items: [item('i1', 19900)],
      chain: [who('S', 0), who('U1', 1), who('U2', 2)],
      rules: rules({ grades: { default: { rank: 0, sales_bp: 1500, override_bp: [300, 100], tiers: [] } } }),
      expected: [
        ['S', 0, 2985],
        ['U1', 1, 597],
        ['U2', 2, 199],
      ],
    },
    {
      label: 'floor per line, not per order: 3 lines of 33.33 yuan at 10% give 3 × 3.33 = 9.99',
      items: [item('i1', 3333), item('i2', 3333), item('i3', 3333)],
      chain: [who('S', 0), who('U', 1)],
      rules: rules(),
      expected: [
        ['U', 1, 333],
        ['U', 1, 333],
        ['U', 1, 333],
      ],
    },
    {
      label: 'floor rounding never rounds up (1 fen at 99.99%)',
      items: [item('i1', 1)],
      chain: [who('S', 0)],
      rules: rules({ grades: { default: { rank: 0, sales_bp: 9999, override_bp: [], tiers: [] } } }),
      expected: [],
    },
    {
      label: 'fixed amount per unit is multiplied by the quantity',
      items: [item('i1', 30000, { sku: 'kit', quantity: 3 })],
      chain: [who('S', 0), who('U', 1)],
      rules: rules({ sku: { kit: { '0': { kind: 'fixed', fen: 500 }, '1': { kind: 'fixed', fen: 200 } } } }),
      expected: [
        ['S', 0, 1500],
        ['U', 1, 600],
      ],
    },
    {
      label: 'SKU override wins over the grade, other SKUs keep the grade rate',
      items: [item('i1', 10000, { sku: 'promo' }), item('i2', 10000)],
      chain: [who('S', 0), who('U', 1)],
      rules: rules({ sku: { promo: { '1': { kind: 'percent', bp: 2000 } } } }),
      expected: [
        ['U', 1, 2000],
        ['U', 1, 1000],
      ],
    },
    {
      label: 'a SKU override of 0 excludes the product',
      items: [item('i1', 10000, { sku: 'gift-card' })],
      chain: [who('S', 0), who('U', 1)],
      rules: rules({ sku: { 'gift-card': { '1': { kind: 'percent', bp: 0 } } } }),
      expected: [],
    },
    {
      label: "the beneficiary's grade sets its rate (a senior upline earns more)",
      items: [item('i1', 10000)],
      chain: [who('S', 0), who('U', 1, { grade: 'senior' })],
      rules: rules({
        grades: { default: { rank: 0, sales_bp: 0, override_bp: [1000, 500], tiers: [] }, senior: { rank: 10, sales_bp: 0, override_bp: [1500], tiers: [] } },
      }),
      expected: [['U', 1, 1500]],
    },
    {
      label: 'program default fills a level the grade leaves out',
      items: [item('i1', 10000)],
      chain: [who('S', 0), who('U1', 1), who('U2', 2)],
      rules: rules({
        default_rates: { sales_bp: null, override_bp: [null, 300] },
        grades: { default: { rank: 0, sales_bp: 0, override_bp: [1000], tiers: [] } },
      }),
      expected: [
        ['U1', 1, 1000],
        ['U2', 2, 300],
      ],
    },
    {
      label: 'tier: sales this month at or above the bracket raise the rate',
      items: [item('i1', 10000)],
      chain: [who('S', 0, { monthly_sales_fen: 5_000_000 }), who('U', 1, { monthly_sales_fen: 100 })],
      rules: rules({
        grades: {
          default: {
            rank: 0,
            sales_bp: 500,
            override_bp: [1000],
            tiers: [
              { min_monthly_sales_fen: 1_000_000, sales_bp: 800 },
              { min_monthly_sales_fen: 5_000_000, sales_bp: 1200 },
            ],
          },
        },
      }),
      expected: [
        ['S', 0, 1200],
        ['U', 1, 1000],
      ],
    },
    {
      label: 'tier: just below the bracket keeps the grade rate',
      items: [item('i1', 10000)],
      chain: [who('S', 0, { monthly_sales_fen: 999_999 })],
      rules: rules({ grades: { default: { rank: 0, sales_bp: 500, override_bp: [], tiers: [{ min_monthly_sales_fen: 1_000_000, sales_bp: 800 }] } } }),
      expected: [['S', 0, 500]],
    },
    {
      label: 'per-order cap per beneficiary, spread over its lines in order',
      items: [item('i1', 100000), item('i2', 100000)],
      chain: [who('S', 0), who('U', 1)],
      rules: rules({ caps: { per_order_fen: 15000, per_day_fen: 0 } }),
      expected: [
        ['U', 1, 10000],
        ['U', 1, 5000],
      ],
    },
    {
      label: 'per-day cap counts what the beneficiary already earned today',
      items: [item('i1', 100000)],
      chain: [who('S', 0), who('U', 1, { earned_today_fen: 95000 })],
      rules: rules({ caps: { per_order_fen: 0, per_day_fen: 100000 } }),
      expected: [['U', 1, 5000]],
    },
    {
      label: 'an inactive upline earns nothing and the level is not compressed',
      items: [item('i1', 10000)],
      chain: [who('S', 0), who('U1', 1, { active: false }), who('U2', 2)],
      rules: rules(),
      expected: [['U2', 2, 500]],
    },
    {
      label: 'fixed per grade, per unit: the grade pays fen per unit at each level, replacing its percentage',
      items: [item('i1', 30000, { quantity: 3 }), item('i2', 5000)],
      chain: [who('S', 0), who('U', 1), who('U2', 2)],
      rules: rules({ grades: { default: { rank: 0, sales_bp: 1000, override_bp: [1000, 500], tiers: [], sales_fixed_fen: 400, override_fixed_fen: [150] } } }),
      // Level 2 has no fixed amount: it keeps the grade's 5%.
      expected: [
        ['S', 0, 1200],
        ['S', 0, 400],
        ['U', 1, 450],
        ['U', 1, 150],
        ['U2', 2, 1500],
        ['U2', 2, 250],
      ],
    },
    {
      label: 'fixed per grade, per order: 10 yuan once per order, split by units (floor), the rounding fen on the last line',
      items: [item('i1', 30000, { quantity: 2 }), item('i2', 5000), item('i3', 100)],
      chain: [who('S', 0)],
      rules: rules({ grades: { default: { rank: 0, sales_bp: 1000, override_bp: [], tiers: [], sales_fixed_fen: 1000, fixed_per: 'order' } } }),
      expected: [
        ['S', 0, 500],
        ['S', 0, 250],
        ['S', 0, 250],
      ],
    },
    {
      label: 'fixed per order with indivisible units: 1000 fen over 3 units is 333 + 333 + 334',
      items: [item('i1', 100), item('i2', 100), item('i3', 100)],
      chain: [who('S', 0)],
      rules: rules({ grades: { default: { rank: 0, sales_bp: 0, override_bp: [], tiers: [], sales_fixed_fen: 1000, fixed_per: 'order' } } }),
      expected: [
        ['S', 0, 333],
        ['S', 0, 333],
        ['S', 0, 334],
      ],
    },
    {
      label: 'fixed per program default: used where the grade has no rate for the level (level 2 here)',
      items: [item('i1', 10000, { quantity: 2 })],
      chain: [who('S', 0), who('U', 1), who('U2', 2)],
      rules: rules({
        default_rates: { sales_bp: null, override_bp: [null, 300], sales_fixed_fen: 999, override_fixed_fen: [null, 120] },
        grades: { default: { rank: 0, sales_bp: 500, override_bp: [1000], tiers: [] } },
      }),
      expected: [
        ['S', 0, 500],
        ['U', 1, 1000],
        ['U2', 2, 240],
      ],
    },
    {
      label: 'fixed per program default, per order: paid once for the whole order, a SKU rule still wins on its line',
      items: [item('i1', 10000, { quantity: 3 }), item('i2', 10000, { sku: 'promo', quantity: 5 })],
      chain: [who('S', 0)],
      rules: rules({
        default_rates: { sales_bp: null, override_bp: [], sales_fixed_fen: 800, fixed_per: 'order' },
        grades: {},
        sku: { promo: { '0': { kind: 'percent', bp: 100 } } },
      }),
      expected: [
        ['S', 0, 800],
        ['S', 0, 100],
      ],
    },
    {
      label: 'fixed per order is capped like any line (per-order cap)',
      items: [item('i1', 100), item('i2', 100)],
      chain: [who('S', 0)],
      rules: rules({
        grades: { default: { rank: 0, sales_bp: 0, override_bp: [], tiers: [], sales_fixed_fen: 1001, fixed_per: 'order' } },
        caps: { per_order_fen: 600, per_day_fen: 0 },
      }),
      expected: [
        ['S', 0, 500],
        ['S', 0, 100],
      ],
    },
    {
      label: 'tier with a fixed rate: reached, it pays fen per unit instead of the grade percentage',
      items: [item('i1', 10000, { quantity: 4 })],
      chain: [who('S', 0, { monthly_sales_fen: 500000 }), who('U', 1, { monthly_sales_fen: 0 })],
      rules: rules({
        grades: {
          default: {
            rank: 0,
            sales_bp: 1000,
            override_bp: [1000],
            tiers: [
              { min_monthly_sales_fen: 100000, sales_fixed_fen: 300, override_fixed_fen: [50] },
              { min_monthly_sales_fen: 400000, sales_fixed_fen: 450, sales_bp: 9000 },
            ],
          },
        },
      }),
      // S reached the 4000-yuan bracket (fixed wins over its percentage); U reached none.
      expected: [
        ['S', 0, 1800],
        ['U', 1, 1000],
      ],
    },
    {
      label: 'tier with a fixed rate per order, and a higher tier with a percentage',
      items: [item('i1', 10000, { quantity: 1 }), item('i2', 10000, { quantity: 1 })],
      chain: [who('S', 0, { monthly_sales_fen: 150000 }), who('U', 1, { monthly_sales_fen: 999999 })],
      rules: rules({
        grades: {
          default: {
            rank: 0,
            sales_bp: 0,
            override_bp: [0],
            tiers: [
              { min_monthly_sales_fen: 100000, sales_fixed_fen: 777, override_fixed_fen: [333], fixed_per: 'order' },
              { min_monthly_sales_fen: 900000, override_bp: [2000] },
            ],
          },
        },
      }),
      expected: [
        ['S', 0, 388],
        ['S', 0, 389],
        ['U', 1, 2000],
        ['U', 1, 2000],
      ],
    },
    {
      label: 'a free line (paid 0) earns nothing, even at a fixed rate',
      items: [item('i1', 0, { sku: 'kit', quantity: 2 })],
      chain: [who('S', 0)],
      rules: rules({ sku: { kit: { '0': { kind: 'fixed', fen: 500 } } } }),
      expected: [],
    },
  ];
  for (const c of cases) {
    it(c.label, () => {
      expect(amounts(computeOrderCommissions(c.items, c.chain, c.rules))).toEqual(c.expected);
    });
  }

  it('self-purchase on: the buyer is its own seller (chain built by the caller)', () => {
    const r = rules({ self_purchase: true, grades: { default: { rank: 0, sales_bp: 500, override_bp: [1000, 500], tiers: [] } } });
    expect(amounts(computeOrderCommissions([item('i1', 10000)], [who('BUYER', 0), who('REF', 1)], r))).toEqual([
      ['BUYER', 0, 500],
      ['REF', 1, 1000],
    ]);
  });
  it("self-purchase off: the buyer's referrer is the seller", () => {
    const r = rules({ grades: { default: { rank: 0, sales_bp: 500, override_bp: [1000, 500], tiers: [] } } });
    expect(amounts(computeOrderCommissions([item('i1', 10000)], [who('REF', 0), who('REF_UP', 1)], r))).toEqual([
      ['REF', 0, 500],
      ['REF_UP', 1, 1000],
    ]);
  });

  it("chainOf stops at the program's levels and never beyond three", () => {
    expect(chainOf('S', ['A', 'B', 'C', 'D'], 2)).toEqual(['S', 'A', 'B']);
    expect(chainOf('S', ['A', 'B', 'C', 'D'], 9)).toEqual(['S', 'A', 'B', 'C']);
    expect(chainOf(null, ['A'], 2)).toEqual([]);
  });
});

describe('rate lookup order', () => {
  it('SKU > tier > grade > default, each named', () => {
    const r = rules({
      default_rates: { sales_bp: 100, override_bp: [100, 100] },
      grades: { default: { rank: 0, sales_bp: 200, override_bp: [], tiers: [{ min_monthly_sales_fen: 10, sales_bp: 300 }] } },
      sku: { x: { '0': { kind: 'percent', bp: 400 } } },
    });
    expect(chooseRate(r, 'x', { level: 0, grade: 'default', monthly_sales_fen: 0 })).toEqual({ source: 'sku', rate: { kind: 'percent', bp: 400 } });
    expect(chooseRate(r, 'y', { level: 0, grade: 'default', monthly_sales_fen: 10 })).toEqual({ source: 'tier', rate: { kind: 'percent', bp: 300 } });
    expect(chooseRate(r, 'y', { level: 0, grade: 'default', monthly_sales_fen: 9 })).toEqual({ source: 'grade', rate: { kind: 'percent', bp: 200 } });
    expect(chooseRate(r, 'y', { level: 1, grade: 'default', monthly_sales_fen: 0 })).toEqual({ source: 'default', rate: { kind: 'percent', bp: 100 } });
    expect(chooseRate(rules(), 'y', { level: 3, grade: 'default', monthly_sales_fen: 0 })).toBeNull();
  });
});

describe('fixed rates per grade and program', () => {
  it('a fixed amount wins over the percentage of the same tier, grade or default; SKU > tier > grade > default still holds', () => {
    const r = rules({
      default_rates: { sales_bp: 100, override_bp: [100], sales_fixed_fen: 11, override_fixed_fen: [12] },
      grades: {
        default: {
          rank: 0,
          sales_bp: 200,
          override_bp: [],
          tiers: [{ min_monthly_sales_fen: 10, sales_fixed_fen: 33, fixed_per: 'order' }],
          sales_fixed_fen: 22,
        },
      },
      sku: { x: { '0': { kind: 'percent', bp: 400 } } },
    });
    expect(chooseRate(r, 'x', { level: 0, grade: 'default', monthly_sales_fen: 10 })).toEqual({ source: 'sku', rate: { kind: 'percent', bp: 400 } });
    expect(chooseRate(r, 'y', { level: 0, grade: 'default', monthly_sales_fen: 10 })).toEqual({
      source: 'tier',
      rate: { kind: 'fixed', fen: 33, per: 'order' },
    });
    expect(chooseRate(r, 'y', { level: 0, grade: 'default', monthly_sales_fen: 9 })).toEqual({ source: 'grade', rate: { kind: 'fixed', fen: 22 } });
    expect(chooseRate(r, 'y', { level: 1, grade: 'default', monthly_sales_fen: 0 })).toEqual({ source: 'default', rate: { kind: 'fixed', fen: 12 } });
    expect(chooseRate(r, 'y', { level: 0, grade: 'none', monthly_sales_fen: 0 })).toEqual({ source: 'default', rate: { kind: 'fixed', fen: 11 } });
  });

  it('a per-order split sums exactly to the amount, each line within fixed_fen × units (ledger verify), and refunds never raise it', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 10_000_000 }),
        fc.array(fc.record({ quantity: fc.integer({ min: 1, max: 50 }), paid: fc.integer({ min: 0, max: 1_000_000 }) }), { minLength: 1, maxLength: 6 }),
        fc.integer({ min: 0, max: 100 }),
        (fen, its, refundPct) => {
          const items = its.map((x, i) => item(`i${i}`, x.paid, { quantity: x.quantity }));
          const r = rules({ grades: { default: { rank: 0, sales_bp: 0, override_bp: [], tiers: [], sales_fixed_fen: fen, fixed_per: 'order' } } });
          const lines = computeOrderCommissions(items, [who('S', 0)], r);
          const anyPaid = its.some((x) => x.paid > 0);
          expect(lines.reduce((s, l) => s + l.amountFen, 0)).toBe(anyPaid ? fen : 0);
          for (const l of lines) {
            const it = its[Number(l.itemId.slice(1))]!;
            expect(l.rateKind).toBe('fixed');
            expect(l.amountFen).toBeLessThanOrEqual(l.fixedFen * l.units);
            expect(l.amountFen).toBeLessThanOrEqual(l.fixedFen * it.quantity);
            const remaining = Math.floor((it.paid * (100 - refundPct)) / 100);
            const after = recomputeLine(
              { rateKind: 'fixed', rateBp: 0, fixedFen: l.fixedFen, currentFen: l.amountFen },
              {
                quantity: it.quantity,
                paid_fen: it.paid,
                remaining_fen: remaining,
                refunded_quantity: 0,
              },
            );
            expect(after.amountFen).toBeLessThanOrEqual(l.amountFen);
            expect(after.amountFen).toBeLessThanOrEqual(l.fixedFen * after.units);
            if (remaining === 0) expect(after.amountFen).toBe(0);
          }
        },
      ),
    );
  });

  it('splitPerOrder: floor by units, the rest on the last line with units', () => {
    expect(splitPerOrder(1000, [1, 1, 1])).toEqual([333, 333, 334]);
    expect(splitPerOrder(1000, [1, 1, 0])).toEqual([500, 500, 0]);
    expect(splitPerOrder(7, [0, 0])).toEqual([0, 0]);
  });
});

describe('refunds', () => {
  it('splits an order refund over lines in proportion, exactly', () => {
    expect(allocateRefund([10000, 5000], 3000)).toEqual([2000, 1000]);
    expect(allocateRefund([1, 1, 1], 2)).toEqual([1, 1, 0]);
    expect(allocateRefund([3333, 3333, 3334], 10000)).toEqual([3333, 3333, 3334]);
    expect(allocateRefund([100, 0, 50], 0)).toEqual([0, 0, 0]);
    expect(() => allocateRefund([100], 101)).toThrow(RangeError);
  });

  it('partial refunds sum exactly to the original (10% of 100 yuan refunded in three parts)', () => {
    let remaining = 10000;
    let current = percentOf(remaining, 1000);
    const original = current;
    let reversed = 0;
    for (const refund of [3333, 3333, 3334]) {
      remaining -= refund;
      const next = recomputeLine(
        { rateKind: 'percent', rateBp: 1000, fixedFen: 0, currentFen: current },
        { quantity: 1, paid_fen: 10000, remaining_fen: remaining, refunded_quantity: 0 },
      );
      reversed += current - next.amountFen;
      current = next.amountFen;
    }
    expect(current).toBe(0);
    expect(reversed).toBe(original);
  });

  it('a refund by units of a fixed-amount line takes back those units', () => {
    const before = { quantity: 3, paid_fen: 30000, remaining_fen: 30000, refunded_quantity: 0 };
    const refund = refundForUnits(before.remaining_fen, 3, 1);
    expect(refund).toBe(10000);
    const after = recomputeLine({ rateKind: 'fixed', rateBp: 0, fixedFen: 500, currentFen: 1500 }, { ...before, remaining_fen: 20000, refunded_quantity: 1 });
    expect(after).toEqual({ baseFen: 20000, units: 2, amountFen: 1000 });
  });

  it('a partial refund by amount of a fixed line rounds the units down', () => {
    expect(paidUnits(3, 30000, 25000)).toBe(2);
    expect(paidUnits(1, 100, 99)).toBe(0);
    expect(paidUnits(5, 0, 0)).toBe(0);
  });

  it('a capped line never rises on a refund', () => {
    const next = recomputeLine(
      { rateKind: 'percent', rateBp: 1000, fixedFen: 0, currentFen: 5000 },
      { quantity: 1, paid_fen: 100000, remaining_fen: 90000, refunded_quantity: 0 },
    );
    expect(next.amountFen).toBe(5000);
  });

  it('the last units of a line refund all that remains', () => {
    expect(refundForUnits(9999, 3, 3)).toBe(9999);
    expect(refundForUnits(10000, 3, 1)).toBe(3333);
  });
});

describe('properties', () => {
  it('floor(base × bp / 10000) is exact for every base up to 10 billion yuan', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1_000_000_000_000 }), fc.integer({ min: 0, max: 10000 }), (base, bp) => {
        const a = percentOf(base, bp);
        // a ≤ base·bp/10000 < a + 1, checked in BigInt.
        return BigInt(a) * 10000n <= BigInt(base) * BigInt(bp) && (BigInt(a) + 1n) * 10000n > BigInt(base) * BigInt(bp);
      }),
    );
  });

  it('any sequence of partial refunds reverses exactly what was credited', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10_000_000 }),
        fc.integer({ min: 0, max: 10000 }),
        fc.array(fc.integer({ min: 1, max: 1000 }), { minLength: 1, maxLength: 8 }),
        (paid, bp, parts) => {
          const total = parts.reduce((s, p) => s + p, 0);
          let remaining = paid;
          let current = percentOf(paid, bp);
          const original = current;
          let reversed = 0;
          let given = 0;
          parts.forEach((p, i) => {
            const refund = i === parts.length - 1 ? paid - given : Math.floor((paid * p) / total);
            given += refund;
            remaining -= refund;
            const next = recomputeLine(
              { rateKind: 'percent', rateBp: bp, fixedFen: 0, currentFen: current },
              { quantity: 1, paid_fen: paid, remaining_fen: remaining, refunded_quantity: 0 },
            );
            if (next.amountFen > current) throw new Error('a refund raised a line');
            reversed += current - next.amountFen;
            current = next.amountFen;
          });
          return remaining === 0 && current === 0 && reversed === original;
        },
      ),
    );
  });

  it('a refund allocation sums to the refund and never exceeds a line', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 1_000_000 }), { minLength: 1, maxLength: 10 }), fc.double({ min: 0, max: 1, noNaN: true }), (rem, f) => {
        const total = rem.reduce((s, r) => s + r, 0);
        const refund = Math.floor(total * f);
        const shares = allocateRefund(rem, refund);
        return shares.reduce((s, x) => s + x, 0) === refund && shares.every((s, i) => s >= 0 && s <= rem[i]!);
      }),
    );
  });

  it('caps never give more than the cap nor more than a line', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 100000 }), { maxLength: 8 }), fc.integer({ min: -10, max: 500000 }), (a, cap) => {
        const out = applyCap(a, cap);
        return out.reduce((s, x) => s + x, 0) <= Math.max(0, cap) && out.every((x, i) => x >= 0 && x <= a[i]!);
      }),
    );
  });
});
