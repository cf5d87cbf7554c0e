import { isDeepStrictEqual } from 'node:util';
import type { ProgramSettings } from './schema.ts';

/**
 * The program's money controls: the settings that decide when money becomes withdrawable and
 * when it leaves without a person looking at it. Changing one needs program:money (finance, the
 * owner, the merchant's API key); anyone else's change to one waits for such a person to confirm
 * it (issue 14: an operator raised the automatic-approval limits, set a threshold cycle and took
 * money out with no finance user involved).
 *
 * Rates (grades, SKU rules, default rates, caps, levels) are not among them: an operator sets
 * them as part of running the program, and since an operator also records orders, a bound on
 * rates would stop nothing that the size of an order does not undo. What stands between a rate
 * and a payout is these controls: a statement above the review threshold and a withdrawal above
 * the automatic limit wait for finance, and only finance may move those limits.
 */
export const MONEY_CONTROLS = ['freeze_days', 'review_threshold_fen', 'withdrawal', 'settlement'] as const;
type MoneyControl = (typeof MONEY_CONTROLS)[number];

/** One money control a change touches, by dotted name (`withdrawal.auto_approve_max_fen`). */
export interface MoneyChange {
  field: string;
  from: unknown;
  to: unknown;
}

/** Every money control whose value differs between two programs, in a stable order. */
export function moneyChanges(before: ProgramSettings, after: ProgramSettings): MoneyChange[] {
  const out: MoneyChange[] = [];
  for (const key of MONEY_CONTROLS) {
    const b = before[key] as unknown;
    const a = after[key] as unknown;
    if (isObject(b) && isObject(a)) {
      for (const k of Object.keys(a)) if (!isDeepStrictEqual(b[k], a[k])) out.push({ field: `${key}.${k}`, from: b[k], to: a[k] });
    } else if (!isDeepStrictEqual(b, a)) {
      out.push({ field: key, from: b, to: a });
    }
  }
  return out;
}

/** The value of a money control by dotted name. */
export function moneyValue(settings: ProgramSettings, field: string): unknown {
  const [key, sub] = field.split('.') as [MoneyControl, string | undefined];
  const v = settings[key] as unknown;
  return sub === undefined ? v : isObject(v) ? v[sub] : undefined;
}

/** A copy of `settings` with each change's `from` (or `to`) value put back. */
export function withMoneyValues(settings: ProgramSettings, changes: readonly MoneyChange[], which: 'from' | 'to'): ProgramSettings {
  const out = structuredClone(settings) as unknown as Record<string, unknown>;
  for (const c of changes) {
    const [key, sub] = c.field.split('.') as [string, string | undefined];
    if (!(MONEY_CONTROLS as readonly string[]).includes(key)) throw new Error(`${key} is not a money control`);
    if (sub === undefined) out[key] = c[which];
    else (out[key] as Record<string, unknown>)[sub] = c[which];
  }
  return out as unknown as ProgramSettings;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
