import { describe, expect, it } from 'vitest';
import { moneyChanges, moneyValue, withMoneyValues } from './money-controls.ts';
import { defaultProgramSettings, type ProgramSettings } from './schema.ts';

const base = defaultProgramSettings();
const edit = (f: (p: ProgramSettings) => void): ProgramSettings => {
  const p = structuredClone(base);
  f(p);
  return p;
};

describe('moneyChanges', () => {
  const cases: [string, ProgramSettings, { field: string; from: unknown; to: unknown }[]][] = [
    ['nothing changed', structuredClone(base), []],
    [
      'a rate is no money control',
      edit((p) => {
        p.default_rates.sales_bp = 5000;
        p.levels = 3;
        p.caps.per_order_fen = 1;
      }),
      [],
    ],
    [
      'a top-level control',
      edit((p) => {
        p.freeze_days = 1;
      }),
      [{ field: 'freeze_days', from: 7, to: 1 }],
    ],
    [
      'the review threshold',
      edit((p) => {
        p.review_threshold_fen = 9;
      }),
      [{ field: 'review_threshold_fen', from: 1_000_000, to: 9 }],
    ],
    [
      'nested controls, each by name',
      edit((p) => {
        p.withdrawal.auto_approve_max_fen = 5;
        p.settlement.cycle = 'threshold';
        p.settlement.threshold_fen = 1;
      }),
      [
        { field: 'withdrawal.auto_approve_max_fen', from: 0, to: 5 },
        { field: 'settlement.cycle', from: 'manual', to: 'threshold' },
        { field: 'settlement.threshold_fen', from: 10000, to: 1 },
      ],
    ],
    [
      'tightening is a change too',
      edit((p) => {
        p.withdrawal.min_fen = 1000;
      }),
      [{ field: 'withdrawal.min_fen', from: 100, to: 1000 }],
    ],
  ];
  for (const [label, after, expected] of cases) it(label, () => expect(moneyChanges(base, after)).toEqual(expected));
});

describe('withMoneyValues and moneyValue', () => {
  it('puts back what was in force, or applies what was proposed, and nothing else', () => {
    const after = edit((p) => {
      p.withdrawal.auto_approve_max_fen = 5;
      p.freeze_days = 0;
      p.levels = 1;
    });
    const changes = moneyChanges(base, after);
    const kept = withMoneyValues(after, changes, 'from');
    expect(moneyChanges(base, kept)).toEqual([]);
    expect(kept.levels).toBe(1);
    const applied = withMoneyValues(base, changes, 'to');
    expect(moneyValue(applied, 'withdrawal.auto_approve_max_fen')).toBe(5);
    expect(moneyValue(applied, 'freeze_days')).toBe(0);
    expect(applied.levels).toBe(base.levels);
    expect(base.withdrawal.auto_approve_max_fen).toBe(0);
  });

  it('refuses a field that is not a money control', () => {
    expect(() => withMoneyValues(base, [{ field: 'levels', from: 2, to: 3 }], 'to')).toThrow(/not a money control/);
  });
});
