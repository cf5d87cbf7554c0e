import { describe, expect, it } from 'vitest';
import { defaultProgramSettings } from '../program/schema.ts';
import { applyPatch, diffStates, rebuild, versionAt, type RulesState, type TimelineChange, type TimelineVersion } from './timeline.ts';

const grade = (sales: number, override: number[]) => ({ name: 'g', rank: 0, sales_bp: sales, override_bp: override, settings: {} });
const start: RulesState = { program: defaultProgramSettings(), grades: { default: grade(0, [0, 0, 0]) }, sku: {} };
const at = (day: number) => new Date(Date.UTC(2026, 0, day));
const v = (version: number, day: number, state: RulesState, legacy = false): TimelineVersion => ({ version, effective_from: at(day), state, legacy });
const c = (id: string, day: number, seq: number, patch: TimelineChange['patch']): TimelineChange => ({ id, effective_from: at(day), seq, patch });

describe('rules timeline', () => {
  const cases: {
    name: string;
    versions: TimelineVersion[];
    changes: TimelineChange[];
    from: number;
    expect: { day: number; levels: number; sales: number }[];
  }[] = [
    {
      name: 'a scheduled change writes one version at its time',
      versions: [v(1, 1, start)],
      changes: [c('a', 10, 1, { program: { levels: 1 } })],
      from: 10,
      expect: [{ day: 10, levels: 1, sales: 0 }],
    },
    {
      name: 'a back-dated change before a later one: the later one still overrides what it sets, and keeps the back-dated field it does not set',
      versions: [v(1, 1, start), v(2, 10, applyPatch(start, { grades: { default: grade(300, [1000]) } }))],
      changes: [
        c('later', 10, 1, { grades: { default: grade(300, [1000]) } }),
        c('back', 5, 2, { program: { levels: 1 }, grades: { default: grade(100, [500]) } }),
      ],
      from: 5,
      expect: [
        { day: 5, levels: 1, sales: 100 },
        { day: 10, levels: 1, sales: 300 },
      ],
    },
    {
      name: 'a version written before changes were recorded counts as what it differs in',
      versions: [v(1, 1, start, true), v(2, 10, applyPatch(start, { program: { levels: 3 } }), true)],
      changes: [c('back', 5, 1, { program: { levels: 1 }, grades: { default: grade(100, []) } })],
      from: 5,
      expect: [
        { day: 5, levels: 1, sales: 100 },
        { day: 10, levels: 3, sales: 100 },
      ],
    },
    {
      name: 'before the first version, the starting rules are the first version',
      versions: [v(1, 20, start)],
      changes: [c('old', 2, 1, { grades: { default: grade(50, []) } })],
      from: 2,
      expect: [{ day: 2, levels: 2, sales: 50 }],
    },
    {
      name: 'cancelled (no longer among the changes): the moment goes back to the state before it',
      versions: [v(1, 1, start), v(2, 10, applyPatch(start, { program: { levels: 0 } }))],
      changes: [],
      from: 10,
      expect: [{ day: 10, levels: 2, sales: 0 }],
    },
  ];
  for (const k of cases) {
    it(k.name, () => {
      const out = rebuild(k.versions, k.changes, at(k.from));
      expect(out.map((o) => ({ day: o.effective_from.getUTCDate(), levels: o.state.program.levels, sales: o.state.grades.default?.sales_bp }))).toEqual(
        k.expect,
      );
    });
  }

  it('writes nothing when the state at each moment is already what the versions say', () => {
    const s = applyPatch(start, { program: { levels: 1 } });
    expect(rebuild([v(1, 1, start), v(2, 5, s)], [c('a', 5, 1, { program: { levels: 1 } })], at(5))).toEqual([]);
  });

  it('picks the newest-numbered version of the latest moment at or before a time', () => {
    const vs = [v(1, 1, start), v(2, 5, start), v(3, 5, start), v(4, 9, start)];
    expect(versionAt(vs, at(6))?.version).toBe(3);
    expect(versionAt(vs, at(5), true)?.version).toBe(1);
    expect(versionAt(vs, new Date(0))?.version).toBe(1);
  });

  it('a diff applied to the state before gives the state after; a SKU removed is null', () => {
    const a = applyPatch(start, { sku: { tea: { '1': { kind: 'percent', bp: 100 } } } });
    const b = applyPatch(a, { program: { 'caps.per_order_fen': 500 }, sku: { tea: null } });
    const d = diffStates(a, b);
    expect(d.sku).toEqual({ tea: null });
    expect(d.program).toEqual({ 'caps.per_order_fen': 500 });
    expect(applyPatch(a, d)).toEqual(b);
  });
});
