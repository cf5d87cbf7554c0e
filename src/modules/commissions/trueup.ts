/**
 * Month-end tier true-up: pure arithmetic, no I/O.
 *
 * A line paid at a tier rate was priced by the beneficiary's own sales this month *at the time
 * of its order*. When the grade has `tier_true_up` on, once the month is over (in the program's
 * time zone) each such line is priced again at the bracket the beneficiary finally reached that
 * month, and the difference is written as an adjustment line beside it:
 *
 * - the target of a line is computed as any line is: floor(base × bp / 10000) per line for a
 *   percentage, fen per unit × units for a fixed amount per unit, on what the line still has
 *   (its base and units after refunds);
 * - a true-up only raises: a line whose target is not above what it already holds (itself plus
 *   the adjustments already written) gets nothing, and nothing is ever taken back by a true-up;
 * - lines a cap held back (`cappedFen` > 0) are left as they are: a true-up never passes a cap;
 * - a final bracket paying a fixed amount per order is not recomputed (its split depends on the
 *   whole order; the line keeps what it was paid);
 * - so the adjustments sum exactly to Σ max(0, target − held), line by line, to the fen, and each
 *   line plus its adjustments stays within the final bracket's share of what its order line still
 *   paid (the ledger's "no line exceeds its rule's share" invariant, at the adjustment's rate).
 */
import { fixedAt, percentOf, type RateSpec, type Tier } from './calculator.ts';

export interface TrueUpLine {
  id: string;
  /** 0 = the seller, k = the k-th upline. */
  level: number;
  rateKind: 'percent' | 'fixed';
  rateBp: number;
  fixedFen: number;
  /**
   * Units of the order line still paid for, whatever the line's own rate: a line paid at a
   * percentage whose final bracket pays fen per unit is priced on them.
   */
  units: number;
  /** What the order line still paid (percentages). */
  baseFen: number;
  /** What the line holds now. */
  amountFen: number;
  /** Adjustments already written for the line. */
  adjustedFen: number;
  /** What a cap held back when the line was computed. */
  cappedFen: number;
}

export interface TrueUpAdjustment {
  lineId: string;
  level: number;
  /** The final bracket's rate for the line's level. */
  rate: { kind: 'percent'; bp: number } | { kind: 'fixed'; fen: number };
  /** What the line would hold at the final bracket. */
  targetFen: number;
  /** target − (line + adjustments already written), > 0. */
  adjustmentFen: number;
}

/** The tier rate for a level at the given monthly sales (highest bracket reached that has a rate for the level), or null. */
export function tierRateAt(tiers: Tier[], level: number, monthlySalesFen: number): RateSpec | null {
  const bpOf = (t: Tier): number | undefined => (level === 0 ? t.sales_bp : t.override_bp?.[level - 1]);
  const tier = [...tiers]
    .filter((t) => t.min_monthly_sales_fen <= monthlySalesFen)
    .sort((x, y) => y.min_monthly_sales_fen - x.min_monthly_sales_fen)
    .find((t) => fixedAt(t, level) !== null || bpOf(t) !== undefined);
  if (!tier) return null;
  const fixed = fixedAt(tier, level);
  if (fixed) return fixed;
  const bp = bpOf(tier);
  return bp === undefined ? null : { kind: 'percent', bp };
}

/**
 * The adjustments of one beneficiary's month: `lines` are its tier lines of that month, `tiers`
 * its grade's tiers, `finalSalesFen` its own sales for the whole month (net of refunds).
 */
export function trueUpAdjustments(tiers: Tier[], finalSalesFen: number, lines: TrueUpLine[]): TrueUpAdjustment[] {
  const out: TrueUpAdjustment[] = [];
  for (const line of lines) {
    if (line.cappedFen > 0) continue;
    const rate = tierRateAt(tiers, line.level, finalSalesFen);
    if (!rate) continue;
    if (rate.kind === 'fixed' && rate.per === 'order') continue;
    const targetFen = rate.kind === 'percent' ? percentOf(line.baseFen, rate.bp) : rate.fen * line.units;
    const adjustmentFen = targetFen - line.amountFen - line.adjustedFen;
    if (adjustmentFen <= 0) continue;
    out.push({
      lineId: line.id,
      level: line.level,
      rate: rate.kind === 'percent' ? { kind: 'percent', bp: rate.bp } : { kind: 'fixed', fen: rate.fen },
      targetFen,
      adjustmentFen,
    });
  }
  return out;
}
