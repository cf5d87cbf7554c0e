/**
 * The commission arithmetic: pure functions, no I/O, integer fen and basis points throughout.
 *
 * - The base of a line is what the order line actually paid (shipping and tax are never part
 *   of it), less what was refunded.
 * - Each commission line is floor(base × bp / 10000), per order line — never per unit, never
 *   per order — or, for a fixed rate, fen per unit × units.
 * - A fixed rate per order (grade, tier or program default with fixed_per 'order') pays its
 *   amount once per order and beneficiary, split over the order lines it applies to in
 *   proportion to their units: floor each share, the fen left by rounding on the last such
 *   line. Each such line is kept as a per-unit fixed line at ceil(share / units) fen per unit,
 *   so a refund recomputes it per unit like any fixed line (and it never rises).
 * - A refund recomputes each line on the remaining base; the line can only go down, so a
 *   sequence of partial refunds reverses exactly what was credited, to the fen.
 */

export type FixedPer = 'unit' | 'order';
export type RateSpec = { kind: 'percent'; bp: number } | { kind: 'fixed'; fen: number; per?: FixedPer | undefined };

/**
 * Fixed amounts beside the percentages of a grade, a tier or the program default. Where one is
 * set for a level it replaces the percentage of the same grade, tier or default at that level.
 */
export interface FixedRates {
  sales_fixed_fen?: number | null | undefined;
  override_fixed_fen?: (number | null)[] | undefined;
  /** unit (default): fen per unit paid for; order: fen once per order, split over its lines. */
  fixed_per?: FixedPer | undefined;
}
export type RateSource = 'sku' | 'tier' | 'grade' | 'default';

export interface Tier extends FixedRates {
  /** The bracket applies once the beneficiary's own sales this month reach this. */
  min_monthly_sales_fen: number;
  sales_bp?: number | undefined;
  override_bp?: number[] | undefined;
}

export interface GradeRules extends FixedRates {
  rank: number;
  sales_bp: number;
  override_bp: number[];
  tiers: Tier[];
  /** Automatic upgrade into this grade on the distributor's own sales (never on head count). */
  upgrade?: { metric: 'sales_fen' | 'settled_sales_fen'; min_fen: number } | null | undefined;
}

export interface RulesSnapshot {
  version: number;
  /** Override levels above the seller, 0..3. */
  levels: number;
  self_purchase: boolean;
  /** Program defaults, used where a grade has no rate for a level. */
  default_rates: { sales_bp: number | null; override_bp: (number | null)[] } & FixedRates;
  grades: Record<string, GradeRules>;
  /** SKU overrides by level ("0".."3"); they win over everything else. */
  sku: Record<string, Partial<Record<'0' | '1' | '2' | '3', RateSpec>>>;
  caps: { per_order_fen: number; per_day_fen: number };
}

export interface ItemInput {
  id: string;
  sku: string;
  quantity: number;
  paid_fen: number;
}

export interface Beneficiary {
  id: string;
  /** 0 = the seller, k = the seller's k-th upline. */
  level: number;
  grade: string;
  /** Suspended, pending or rejected distributors earn nothing; their level is not compressed. */
  active: boolean;
  /** Own sales this month before this order (tiers). */
  monthly_sales_fen: number;
  /** Commission already credited today (per-day cap). */
  earned_today_fen: number;
}

export interface RateChoice {
  source: RateSource;
  rate: RateSpec;
}

export interface ComputedLine {
  itemId: string;
  beneficiaryId: string;
  level: number;
  grade: string;
  source: RateSource;
  rateKind: 'percent' | 'fixed';
  rateBp: number;
  fixedFen: number;
  units: number;
  baseFen: number;
  /** What the rate gives before caps. */
  uncappedFen: number;
  amountFen: number;
}

const BP_SCALE = 10_000n;

/** floor(base × bp / 10000), exact: the product is taken in BigInt. */
export function percentOf(baseFen: number, bp: number): number {
  if (baseFen <= 0 || bp <= 0) return 0;
  return Number((BigInt(baseFen) * BigInt(bp)) / BP_SCALE);
}

/**
 * Units a fixed-amount rate pays on: the units still paid for. A refund by amount takes units
 * away in proportion, rounding down, so a line never pays for a unit that was given back.
 */
export function paidUnits(quantity: number, paidFen: number, remainingFen: number, refundedQuantity = 0): number {
  if (paidFen <= 0 || remainingFen <= 0) return 0;
  const byAmount = Number((BigInt(quantity) * BigInt(remainingFen)) / BigInt(paidFen));
  return Math.max(0, Math.min(quantity - refundedQuantity, byAmount));
}

export function amountFor(rate: RateSpec, baseFen: number, units: number): number {
  return rate.kind === 'percent' ? percentOf(baseFen, rate.bp) : rate.fen * units;
}

/** The fixed amount `r` sets for a level, if any. */
export function fixedAt(r: FixedRates, level: number): RateSpec | null {
  const fen = level === 0 ? r.sales_fixed_fen : r.override_fixed_fen?.[level - 1];
  if (fen === undefined || fen === null) return null;
  return r.fixed_per === 'order' ? { kind: 'fixed', fen, per: 'order' } : { kind: 'fixed', fen };
}

/** Only the fixed-rate fields that are set: snapshots of rules without them stay as they were. */
export function fixedFields(r: FixedRates): FixedRates {
  return {
    ...(r.sales_fixed_fen !== undefined ? { sales_fixed_fen: r.sales_fixed_fen } : {}),
    ...(r.override_fixed_fen !== undefined ? { override_fixed_fen: [...r.override_fixed_fen] } : {}),
    ...(r.fixed_per !== undefined ? { fixed_per: r.fixed_per } : {}),
  };
}

/** The fixed amounts that pay something: nulls and empty lists left out, and `fixed_per` only beside an amount. */
export function compactFixed(r: FixedRates): FixedRates {
  const sales = r.sales_fixed_fen ?? null;
  const over = [...(r.override_fixed_fen ?? [])];
  while (over.length && over.at(-1) === null) over.pop();
  if (sales === null && over.length === 0) return {};
  return { ...(sales !== null ? { sales_fixed_fen: sales } : {}), ...(over.length ? { override_fixed_fen: over } : {}), fixed_per: r.fixed_per ?? 'unit' };
}

/**
 * Rate lookup: SKU override > the beneficiary's tier > its grade > the program default. Within
 * a tier, a grade or the default, a fixed amount set for the level wins over its percentage.
 */
export function chooseRate(rules: RulesSnapshot, sku: string, b: Pick<Beneficiary, 'level' | 'grade' | 'monthly_sales_fen'>): RateChoice | null {
  const key = String(b.level) as '0' | '1' | '2' | '3';
  const skuRate = rules.sku[sku]?.[key];
  if (skuRate) return { source: 'sku', rate: skuRate };
  const grade = rules.grades[b.grade];
  if (grade) {
    const tierBp = (t: Tier): number | undefined => (b.level === 0 ? t.sales_bp : t.override_bp?.[b.level - 1]);
    const tier = [...grade.tiers]
      .filter((t) => t.min_monthly_sales_fen <= b.monthly_sales_fen)
      .sort((x, y) => y.min_monthly_sales_fen - x.min_monthly_sales_fen)
      .find((t) => fixedAt(t, b.level) !== null || tierBp(t) !== undefined);
    if (tier) {
      const fixed = fixedAt(tier, b.level);
      if (fixed) return { source: 'tier', rate: fixed };
      const bp = tierBp(tier);
      if (bp === undefined) throw new Error(`the tier found for level ${b.level} has no rate for it`);
      return { source: 'tier', rate: { kind: 'percent', bp } };
    }
    const gradeFixed = fixedAt(grade, b.level);
    if (gradeFixed) return { source: 'grade', rate: gradeFixed };
    const gradeBp = b.level === 0 ? grade.sales_bp : grade.override_bp[b.level - 1];
    if (gradeBp !== undefined) return { source: 'grade', rate: { kind: 'percent', bp: gradeBp } };
  }
  const defaultFixed = fixedAt(rules.default_rates, b.level);
  if (defaultFixed) return { source: 'default', rate: defaultFixed };
  const defaultBp = b.level === 0 ? rules.default_rates.sales_bp : rules.default_rates.override_bp[b.level - 1];
  if (defaultBp !== undefined && defaultBp !== null) return { source: 'default', rate: { kind: 'percent', bp: defaultBp } };
  return null;
}

/**
 * A fixed amount per order over the units of the lines it applies to: floor(amount × units /
 * all units) each, the fen left by rounding on the last line with units. Sums to the amount.
 */
export function splitPerOrder(amountFen: number, units: number[]): number[] {
  const total = units.reduce((s, u) => s + u, 0);
  if (amountFen <= 0 || total <= 0) return units.map(() => 0);
  const shares = units.map((u) => Number((BigInt(amountFen) * BigInt(u)) / BigInt(total)));
  const last = units.findLastIndex((u) => u > 0);
  shares[last] = (shares[last] ?? 0) + amountFen - shares.reduce((s, x) => s + x, 0);
  return shares;
}

/**
 * Spreads a cap over a beneficiary's lines in order: each line keeps what still fits. Returns
 * the amounts after the cap, in the same order.
 */
export function applyCap(amounts: number[], cap: number): number[] {
  let room = Math.max(0, cap);
  return amounts.map((a) => {
    const kept = Math.min(a, room);
    room -= kept;
    return kept;
  });
}

/**
 * Every commission line of a newly paid order. `chain[k]` is the beneficiary at level k (the
 * seller at 0); levels above the program's `levels` earn nothing. Lines of amount 0 are left out.
 */
export function computeOrderCommissions(items: ItemInput[], chain: Beneficiary[], rules: RulesSnapshot): ComputedLine[] {
  const lines: ComputedLine[] = [];
  for (const b of chain) {
    if (b.level > rules.levels || !b.active) continue;
    const perOrder: { line: number; fen: number }[] = [];
    const own: ComputedLine[] = [];
    for (const item of items) {
      const choice = chooseRate(rules, item.sku, b);
      if (!choice) continue;
      const units = paidUnits(item.quantity, item.paid_fen, item.paid_fen);
      const uncapped = amountFor(choice.rate, item.paid_fen, units);
      own.push({
        itemId: item.id,
        beneficiaryId: b.id,
        level: b.level,
        grade: b.grade,
        source: choice.source,
        rateKind: choice.rate.kind,
        rateBp: choice.rate.kind === 'percent' ? choice.rate.bp : 0,
        fixedFen: choice.rate.kind === 'fixed' ? choice.rate.fen : 0,
        units: choice.rate.kind === 'fixed' ? units : 0,
        baseFen: item.paid_fen,
        uncappedFen: uncapped,
        amountFen: uncapped,
      });
      if (choice.rate.kind === 'fixed' && choice.rate.per === 'order') perOrder.push({ line: own.length - 1, fen: choice.rate.fen });
    }
    // A per-order amount (one rate per beneficiary: SKU rules are per unit) split over its lines.
    if (perOrder.length > 0) {
      const fen = Math.max(...perOrder.map((p) => p.fen));
      const lineOf = (i: number): ComputedLine => {
        const l = own[i];
        if (!l) throw new Error('a per-order share for a line that is not there');
        return l;
      };
      const shares = splitPerOrder(
        fen,
        perOrder.map((p) => lineOf(p.line).units),
      );
      perOrder.forEach((p, k) => {
        const l = lineOf(p.line);
        const share = shares[k] ?? 0;
        l.fixedFen = l.units > 0 ? Math.ceil(share / l.units) : 0;
        l.uncappedFen = share;
        l.amountFen = share;
      });
    }
    let amounts = own.map((l) => l.amountFen);
    if (rules.caps.per_order_fen > 0) amounts = applyCap(amounts, rules.caps.per_order_fen);
    if (rules.caps.per_day_fen > 0) amounts = applyCap(amounts, rules.caps.per_day_fen - b.earned_today_fen);
    own.forEach((l, i) => {
      const capped = amounts[i];
      if (capped === undefined) throw new Error('a cap answers one amount per line');
      l.amountFen = capped;
    });
    lines.push(...own.filter((l) => l.amountFen > 0));
  }
  return lines;
}

/**
 * The beneficiary chain for an order: the seller, then its uplines up to `levels` deep.
 * `ancestors` is the seller's materialised path, nearest first.
 */
export function chainOf(sellerId: string | null, ancestors: string[], levels: number): string[] {
  if (sellerId === null) return [];
  return [sellerId, ...ancestors.slice(0, Math.max(0, Math.min(levels, 3)))];
}

/**
 * Splits an order-level refund over its lines in proportion to what each still has paid,
 * exactly: the shares sum to the refund and none exceeds its line's remainder. The fen left
 * by rounding go to the largest fractional parts (ties: earlier line first).
 */
export function allocateRefund(remaining: number[], refundFen: number): number[] {
  const total = remaining.reduce((s, r) => s + r, 0);
  if (refundFen < 0 || refundFen > total) throw new RangeError('refund exceeds what is still paid');
  if (refundFen === 0 || total === 0) return remaining.map(() => 0);
  const bigTotal = BigInt(total);
  const shares = remaining.map((r) => (BigInt(refundFen) * BigInt(r)) / bigTotal);
  const fractions = remaining.map((r, i) => ({ i, frac: (BigInt(refundFen) * BigInt(r)) % bigTotal }));
  let left = refundFen - shares.reduce((s, x) => s + Number(x), 0);
  fractions.sort((a, b) => (a.frac === b.frac ? a.i - b.i : a.frac > b.frac ? -1 : 1));
  for (const f of fractions) {
    if (left === 0) break;
    const share = shares[f.i];
    const most = remaining[f.i];
    if (share === undefined || most === undefined) throw new Error('a share per remaining line');
    if (share < BigInt(most)) {
      shares[f.i] = share + 1n;
      left--;
    }
  }
  return shares.map(Number);
}

/**
 * What a line is worth after its order line's remaining paid amount changed. It never rises
 * (a cap that held it down still does): min(what it is now, the rate on the new base).
 */
export function recomputeLine(
  line: { rateKind: 'percent' | 'fixed'; rateBp: number; fixedFen: number; currentFen: number },
  item: { quantity: number; paid_fen: number; remaining_fen: number; refunded_quantity: number },
): { baseFen: number; units: number; amountFen: number } {
  const units = paidUnits(item.quantity, item.paid_fen, item.remaining_fen, item.refunded_quantity);
  const byRate = line.rateKind === 'percent' ? percentOf(item.remaining_fen, line.rateBp) : line.fixedFen * units;
  return { baseFen: item.remaining_fen, units: line.rateKind === 'fixed' ? units : 0, amountFen: Math.min(line.currentFen, byRate) };
}

/** The refund for `quantity` of the units still held on a line: all that remains when it is the last. */
export function refundForUnits(remainingFen: number, unitsHeld: number, quantity: number): number {
  if (quantity <= 0 || unitsHeld <= 0) return 0;
  if (quantity >= unitsHeld) return remainingFen;
  return Number((BigInt(remainingFen) * BigInt(quantity)) / BigInt(unitsHeld));
}
