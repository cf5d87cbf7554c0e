import { describe, expect, it } from 'vitest';
import { decideBinding, hasLapsed, lapsesAt, type BindingRules, type CurrentBinding } from './rules.ts';

const DAY = 86_400_000;
const T0 = new Date('2026-05-01T00:00:00Z');
const at = (days: number, ms = 0) => new Date(T0.getTime() + days * DAY + ms);
const base: BindingRules = { mode: 'permanent', rebind_after_days: 30, protection_days: 0, validity_days: 0, validity_from: 'bound' };
const boundToA: CurrentBinding = { distributorId: 'A', boundAt: T0, lastOrderAt: null };

describe('decideBinding', () => {
  const cases: [string, CurrentBinding | undefined, Partial<BindingRules>, Date, ReturnType<typeof decideBinding>][] = [
    ['unbound binds', undefined, {}, T0, { action: 'bind' }],
    ['permanent keeps', boundToA, { protection_days: 0 }, at(999), { action: 'keep', why: 'permanent' }],
    ['rebindable, idle 29 days: kept', boundToA, { mode: 'rebindable' }, at(30, -1), { action: 'keep', why: 'recent' }],
    ['rebindable, idle 30 days: rebinds', boundToA, { mode: 'rebindable' }, at(30), { action: 'rebind', from: 'A' }],
    [
      'rebindable, idle but protected',
      boundToA,
      { mode: 'rebindable', rebind_after_days: 1, protection_days: 5 },
      at(5, -1),
      { action: 'keep', why: 'protected' },
    ],
    ['rebindable, protection over', boundToA, { mode: 'rebindable', rebind_after_days: 1, protection_days: 5 }, at(5), { action: 'rebind', from: 'A' }],
    ['override without protection rebinds at once', boundToA, { mode: 'override' }, T0, { action: 'rebind', from: 'A' }],
    ['override inside protection keeps', boundToA, { mode: 'override', protection_days: 7 }, at(7, -1), { action: 'keep', why: 'protected' }],
    ['override at the end of protection rebinds', boundToA, { mode: 'override', protection_days: 7 }, at(7), { action: 'rebind', from: 'A' }],
    [
      'protection counts from the binding, not the last order',
      { ...boundToA, lastOrderAt: at(6) },
      { mode: 'override', protection_days: 7 },
      at(7),
      { action: 'rebind', from: 'A' },
    ],
  ];
  for (const [name, current, rules, now, expected] of cases) {
    it(name, () => expect(decideBinding(current, 'B', { ...base, ...rules }, now)).toEqual(expected));
  }
  it('the same distributor: kept as "same"', () =>
    expect(decideBinding(boundToA, 'A', { ...base, mode: 'override' }, at(1))).toEqual({ action: 'keep', why: 'same' }));
});

describe('the validity window', () => {
  const rules = (validity_days: number, validity_from: 'bound' | 'last_order') => ({ validity_days, validity_from });
  it('0 never lapses', () => {
    expect(lapsesAt(boundToA, rules(0, 'bound'))).toBeNull();
    expect(hasLapsed(boundToA, rules(0, 'bound'), at(10_000))).toBe(false);
  });
  it('from the binding: lapses exactly N days after it, orders aside', () => {
    const c = { ...boundToA, lastOrderAt: at(9) };
    expect(lapsesAt(c, rules(10, 'bound'))).toEqual(at(10));
    expect(hasLapsed(c, rules(10, 'bound'), at(10, -1))).toBe(false);
    expect(hasLapsed(c, rules(10, 'bound'), at(10))).toBe(true);
  });
  it('from the last order: N days after it, or after the binding when the last order came before it', () => {
    expect(lapsesAt({ ...boundToA, lastOrderAt: at(9) }, rules(10, 'last_order'))).toEqual(at(19));
    expect(lapsesAt({ ...boundToA, lastOrderAt: at(-5) }, rules(10, 'last_order'))).toEqual(at(10));
    expect(lapsesAt(boundToA, rules(10, 'last_order'))).toEqual(at(10));
  });
  it('an unbound customer has nothing to lapse', () => {
    expect(lapsesAt({ distributorId: null, boundAt: null, lastOrderAt: at(1) }, rules(1, 'bound'))).toBeNull();
  });
});
