import { createHash } from 'node:crypto';
import { compactFixed, type FixedRates, type RulesSnapshot } from '../commissions/calculator.ts';
import type { LocalText } from '../../core/error-text.ts';

/**
 * Pilots (灰度): who is in a cohort and what a pilot's changes do to the rules. Pure: a batch of
 * orders reads the running pilots once and decides each order in memory.
 */
export interface Cohort {
  distributor_ids?: string[] | undefined;
  grades?: string[] | undefined;
  region_codes?: string[] | undefined;
  percent?: number | undefined;
}

export interface PilotGradeChange extends FixedRates {
  name?: string | undefined;
  rank?: number | undefined;
  sales_bp?: number | undefined;
  override_bp?: number[] | undefined;
  tiers?: RulesSnapshot['grades'][string]['tiers'] | undefined;
}

export interface PilotChanges {
  program?:
    | {
        levels?: number | undefined;
        default_rates?: ({ sales_bp?: number | null | undefined; override_bp?: (number | null)[] | undefined } & FixedRates) | undefined;
        caps?: { per_order_fen?: number | undefined; per_day_fen?: number | undefined } | undefined;
      }
    | undefined;
  grades?: Record<string, PilotGradeChange> | undefined;
}

export interface RunningPilot {
  id: string;
  cohort: Cohort;
  changes: PilotChanges;
  started_at: Date;
  ends_at: Date | null;
  created_at: Date;
}

/** A distributor's stable bucket 0..99 within its tenant: the same seller is always in or out of a percent cohort. */
export function hashBucket(tenantId: string, distributorId: string): number {
  const h = createHash('sha256').update(`${tenantId}:${distributorId}`).digest();
  return h.readUInt32BE(0) % 100;
}

export function cohortIsEmpty(c: Cohort): boolean {
  return !(c.distributor_ids?.length || c.grades?.length || c.region_codes?.length || (c.percent ?? 0) > 0);
}

/** A seller (by id and grade) is in the cohort by its own attributes: listed, of a listed grade, or in the percent. */
export function sellerInCohort(tenantId: string, c: Cohort, seller: { id: string; grade_code: string }): boolean {
  if (c.distributor_ids?.includes(seller.id)) return true;
  if (c.grades?.includes(seller.grade_code)) return true;
  return (c.percent ?? 0) > 0 && hashBucket(tenantId, seller.id) < (c.percent ?? 0);
}

/** An order is in the cohort when its seller is, or when it ships to a listed region (the order's region_code). */
export function orderInCohort(tenantId: string, c: Cohort, seller: { id: string; grade_code: string }, regionCode: string | null): boolean {
  if (sellerInCohort(tenantId, c, seller)) return true;
  return regionCode !== null && (c.region_codes ?? []).includes(regionCode);
}

/**
 * The pilot an order is computed under: among the pilots running now and started by its payment
 * time, the first (oldest) whose cohort holds it. Starting a pilot that shares a seller with a
 * running one is refused, so at most one matches by seller; a region cohort can meet a seller
 * cohort, and then the older pilot wins.
 */
export function pilotFor<P extends RunningPilot>(
  tenantId: string,
  pilots: readonly P[],
  seller: { id: string; grade_code: string } | null,
  regionCode: string | null,
  paidAt: Date,
  now: Date,
): P | undefined {
  if (!seller) return undefined;
  for (const p of pilots) {
    if (paidAt.getTime() < p.started_at.getTime()) continue;
    if (p.ends_at && (now.getTime() >= p.ends_at.getTime() || paidAt.getTime() >= p.ends_at.getTime())) continue;
    if (orderInCohort(tenantId, p.cohort, seller, regionCode)) return p;
  }
  return undefined;
}

/** The rules in force with a pilot's changes laid over them. */
export function withPilot(rules: RulesSnapshot, changes: PilotChanges): RulesSnapshot {
  const out: RulesSnapshot = structuredClone(rules);
  const p = changes.program ?? {};
  if (p.levels !== undefined) out.levels = p.levels;
  if (p.default_rates) {
    if (p.default_rates.sales_bp !== undefined) out.default_rates.sales_bp = p.default_rates.sales_bp;
    if (p.default_rates.override_bp !== undefined) out.default_rates.override_bp = [...p.default_rates.override_bp];
    // As PUT /v1/program merges them: each fixed field given replaces the default's (null clears one).
    if (p.default_rates.sales_fixed_fen !== undefined) out.default_rates.sales_fixed_fen = p.default_rates.sales_fixed_fen;
    if (p.default_rates.override_fixed_fen !== undefined) out.default_rates.override_fixed_fen = [...p.default_rates.override_fixed_fen];
    if (p.default_rates.fixed_per !== undefined) out.default_rates.fixed_per = p.default_rates.fixed_per;
  }
  if (p.caps) out.caps = { ...out.caps, ...Object.fromEntries(Object.entries(p.caps).filter(([, v]) => v !== undefined)) };
  for (const [code, g] of Object.entries(changes.grades ?? {})) {
    const was = out.grades[code];
    if (!was) continue;
    const { sales_fixed_fen: _s, override_fixed_fen: _o, fixed_per: _p, ...base } = was;
    out.grades[code] = {
      ...base,
      // As PUT /v1/grades/{code}: the grade's fixed amounts kept unless given (null clears one).
      ...gradeFixed(was, g),
      ...(g.rank !== undefined ? { rank: g.rank } : {}),
      ...(g.sales_bp !== undefined ? { sales_bp: g.sales_bp } : {}),
      ...(g.override_bp !== undefined ? { override_bp: [...g.override_bp] } : {}),
      ...(g.tiers !== undefined ? { tiers: structuredClone(g.tiers) } : {}),
    };
  }
  return out;
}

/** A grade's fixed amounts once a change is laid over them, as PUT /v1/grades/{code} keeps them. */
export function gradeFixed(was: FixedRates, g: FixedRates): FixedRates {
  return compactFixed({
    sales_fixed_fen: g.sales_fixed_fen !== undefined ? g.sales_fixed_fen : was.sales_fixed_fen,
    override_fixed_fen: g.override_fixed_fen ?? was.override_fixed_fen,
    fixed_per: g.fixed_per ?? was.fixed_per,
  });
}

/** Two cohorts share a seller: a listed id, a grade, a region, or both take a percent (the same buckets). */
export function cohortsOverlap(tenantId: string, a: Cohort, b: Cohort, distributors: readonly { id: string; grade_code: string }[]): LocalText | null {
  if ((a.percent ?? 0) > 0 && (b.percent ?? 0) > 0) return { en: 'both take a percentage of the distributors', zh: '两者都按百分比选取分销员' };
  const region = (a.region_codes ?? []).find((r) => (b.region_codes ?? []).includes(r));
  if (region) return { en: `both hold region ${region}`, zh: `两者都包含地区 ${region}` };
  const shared = distributors.find((d) => sellerInCohort(tenantId, a, d) && sellerInCohort(tenantId, b, d));
  return shared ? { en: `distributor ${shared.id} is in both`, zh: `分销员 ${shared.id} 同时在两者之中` } : null;
}

/** Normal-approximation 95 % interval of a difference of two means (Welch), from sums. */
export function differenceInterval(
  a: { n: number; mean: number; variance: number },
  b: { n: number; mean: number; variance: number },
): { difference: number; low: number; high: number } | null {
  if (a.n < 2 || b.n < 2) return null;
  const difference = a.mean - b.mean;
  const se = Math.sqrt(a.variance / a.n + b.variance / b.n);
  return { difference, low: difference - 1.96 * se, high: difference + 1.96 * se };
}
