import { isDeepStrictEqual } from 'node:util';
import { fixedFields, type FixedRates, type RulesSnapshot } from '../commissions/calculator.ts';
import type { ProgramSettings } from '../program/schema.ts';
import type { SkuRates } from './schema.ts';
import { programDiffLeaves } from '../program/leaves.ts';

export { programLeaves } from '../program/leaves.ts';

/**
 * The rules of a tenant as a whole at one moment: the program settings, the grades and the SKU
 * overrides. The rules in force at a moment are the starting rules with every change effective by
 * then applied in order of effective time (then of creation). Pure: no I/O here.
 */
export interface GradeState {
  name: string;
  rank: number;
  sales_bp: number;
  override_bp: number[];
  settings: Record<string, unknown>;
}

export interface RulesState {
  program: ProgramSettings;
  grades: Record<string, GradeState>;
  sku: Record<string, SkuRates>;
}

/**
 * What one change sets: program fields by dotted path (a leaf: a scalar, an array or an object
 * that replaced a null), whole grades by code, whole SKU overrides by SKU (null: removed). A later
 * change overrides exactly what it sets.
 */
export interface RulesPatch {
  program?: Record<string, unknown>;
  grades?: Record<string, GradeState>;
  sku?: Record<string, SkuRates | null>;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function clone<T>(v: T): T {
  return structuredClone(v);
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let at = target;
  for (const k of keys.slice(0, -1)) {
    if (!isPlainObject(at[k])) at[k] = {};
    at = at[k] as Record<string, unknown>;
  }
  at[keys[keys.length - 1] as string] = clone(value);
}

export function applyPatch(state: RulesState, patch: RulesPatch): RulesState {
  const next = clone(state);
  for (const [path, value] of Object.entries(patch.program ?? {})) setPath(next.program as unknown as Record<string, unknown>, path, value);
  for (const [code, g] of Object.entries(patch.grades ?? {})) next.grades[code] = clone(g);
  const sku = patch.sku ?? {};
  next.sku = Object.fromEntries([
    ...Object.entries(next.sku).filter(([k]) => !(k in sku)),
    ...Object.entries(sku).flatMap(([k, rates]) => (rates === null ? [] : [[k, clone(rates)] as const])),
  ]);
  return next;
}

/** What turns `a` into `b`, as a patch (for versions written before changes were recorded). */
export function diffStates(a: RulesState, b: RulesState): RulesPatch {
  const program = programDiffLeaves(a.program, b.program);
  const grades: Record<string, GradeState> = {};
  for (const [code, g] of Object.entries(b.grades)) if (!isDeepStrictEqual(a.grades[code], g)) grades[code] = clone(g);
  const sku: Record<string, SkuRates | null> = {};
  for (const s of new Set([...Object.keys(a.sku), ...Object.keys(b.sku)])) {
    if (!isDeepStrictEqual(a.sku[s], b.sku[s])) sku[s] = b.sku[s] === undefined ? null : clone(b.sku[s] as SkuRates);
  }
  return { program, grades, sku };
}

export function patchIsEmpty(p: RulesPatch): boolean {
  return Object.keys(p.program ?? {}).length === 0 && Object.keys(p.grades ?? {}).length === 0 && Object.keys(p.sku ?? {}).length === 0;
}

export function sameState(a: RulesState, b: RulesState): boolean {
  return isDeepStrictEqual(a, b);
}

interface GradeSettingsLike extends FixedRates {
  tiers?: RulesSnapshot['grades'][string]['tiers'];
  upgrade?: { metric: string; min_fen: number } | null;
}

/** The calculator's view of a state: what an order of this version is computed with. */
export function snapshotOf(state: RulesState, version: number): RulesSnapshot {
  const s = state.program;
  return {
    version,
    levels: s.levels,
    self_purchase: s.self_purchase,
    default_rates: { sales_bp: s.default_rates.sales_bp, override_bp: [...s.default_rates.override_bp], ...fixedFields(s.default_rates) },
    grades: Object.fromEntries(
      Object.entries(state.grades).map(([code, g]) => {
        const gs = g.settings as GradeSettingsLike;
        // Only sales metrics can be stored (head-count upgrades are refused by compliance).
        const upgrade =
          gs.upgrade && (gs.upgrade.metric === 'sales_fen' || gs.upgrade.metric === 'settled_sales_fen')
            ? { metric: gs.upgrade.metric as 'sales_fen' | 'settled_sales_fen', min_fen: gs.upgrade.min_fen }
            : null;
        return [code, { rank: g.rank, sales_bp: g.sales_bp, override_bp: [...g.override_bp], tiers: gs.tiers ?? [], upgrade, ...fixedFields(gs) }];
      }),
    ),
    sku: clone(state.sku),
    caps: { ...s.caps },
  };
}

/**
 * A version written before whole states were kept: its calculator snapshot over what is known
 * of the rest (the program's other settings and the grades' names were not versioned then).
 */
export function stateFromSnapshot(snapshot: RulesSnapshot, known: RulesState): RulesState {
  return {
    program: {
      ...clone(known.program),
      levels: snapshot.levels,
      self_purchase: snapshot.self_purchase,
      default_rates: clone(snapshot.default_rates),
      caps: { ...snapshot.caps },
    },
    grades: Object.fromEntries(
      Object.entries(snapshot.grades).map(([code, g]) => {
        const knownUpgrade = (known.grades[code]?.settings as GradeSettingsLike | undefined)?.upgrade;
        return [
          code,
          {
            name: known.grades[code]?.name ?? code,
            rank: g.rank,
            sales_bp: g.sales_bp,
            override_bp: [...g.override_bp],
            settings: { tiers: clone(g.tiers), upgrade: knownUpgrade ?? g.upgrade ?? null, ...fixedFields(g) },
          },
        ];
      }),
    ),
    sku: clone(snapshot.sku),
  };
}

export interface TimelineVersion {
  version: number;
  effective_from: Date;
  state: RulesState;
  /** The recorded change it was written for; null for a version written before changes were recorded, or rebuilt. */
  legacy: boolean;
}

export interface TimelineChange {
  id: string;
  effective_from: Date;
  seq: number;
  patch: RulesPatch;
}

/** The version in force at `at`: the newest-numbered among those with the latest effective time at or before it; before all, the first. */
export function versionAt(versions: readonly TimelineVersion[], at: Date, strictlyBefore = false): TimelineVersion | undefined {
  let best: TimelineVersion | undefined;
  for (const v of versions) {
    const t = v.effective_from.getTime();
    if (strictlyBefore ? t >= at.getTime() : t > at.getTime()) continue;
    if (!best || t > best.effective_from.getTime() || (t === best.effective_from.getTime() && v.version > best.version)) best = v;
  }
  if (best) return best;
  return versions.reduce<TimelineVersion | undefined>((m, v) => (!m || v.version < m.version ? v : m), undefined);
}

/**
 * The states the timeline must hold from `from` on, given every version so far and the active
 * recorded changes effective at or after `from`: for each moment something takes effect (and
 * `from` itself), the state in force then. Versions written before changes were recorded count as
 * changes of what they differ in from the version before them. Answers only the moments whose
 * state differs from what the versions say now: the new versions to write.
 */
export function rebuild(
  versions: readonly TimelineVersion[],
  changes: readonly TimelineChange[],
  from: Date,
): { effective_from: Date; state: RulesState; changeIds: string[] }[] {
  const base = versionAt(versions, from, true);
  if (!base) return [];
  // Events: recorded changes, and legacy versions (as their difference from the one before).
  const events: { at: number; order: number; patch: RulesPatch; id: string | null }[] = [];
  for (const c of changes) {
    if (c.effective_from.getTime() < from.getTime()) continue;
    events.push({ at: c.effective_from.getTime(), order: c.seq, patch: c.patch, id: c.id });
  }
  const legacy = versions.filter((v) => v.legacy && v.effective_from.getTime() >= from.getTime());
  for (const v of legacy) {
    // Only the version in force at its moment matters.
    if (versionAt(versions, v.effective_from)?.version !== v.version) continue;
    const before = versionAt(versions, v.effective_from, true);
    if (!before || before.version === v.version) continue;
    events.push({ at: v.effective_from.getTime(), order: -1_000_000 + v.version, patch: diffStates(before.state, v.state), id: null });
  }
  events.sort((a, b) => a.at - b.at || a.order - b.order);
  const moments = [...new Set([from.getTime(), ...events.map((e) => e.at)])].sort((a, b) => a - b);
  const out: { effective_from: Date; state: RulesState; changeIds: string[] }[] = [];
  // Before the first version, the starting rules are the first version's.
  let state = base.state;
  let k = 0;
  for (const m of moments) {
    const ids: string[] = [];
    while (k < events.length && (events[k] as (typeof events)[number]).at === m) {
      const e = events[k] as (typeof events)[number];
      state = applyPatch(state, e.patch);
      if (e.id) ids.push(e.id);
      k++;
    }
    const current = versionAt(versions, new Date(m));
    if (!current || !sameState(current.state, state)) out.push({ effective_from: new Date(m), state, changeIds: ids });
  }
  return out;
}
