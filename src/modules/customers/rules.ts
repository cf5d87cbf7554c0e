/**
 * Whether a claimed invitation becomes the customer's binding, and when a binding lapses. Pure:
 * the service supplies the customer's current binding and the program's rules.
 */
export interface CurrentBinding {
  distributorId: string | null;
  boundAt: Date | null;
  lastOrderAt: Date | null;
}

export interface BindingRules {
  /**
   * permanent: a binding stays (an admin may move it); rebindable: another invite may take a
   * customer who ordered nothing for rebind_after_days; override: the latest valid invite wins.
   */
  mode: 'permanent' | 'rebindable' | 'override';
  rebind_after_days: number;
  /** A new binding cannot be taken by another invite for this many days (抢客保护); 0: none. */
  protection_days: number;
  /** A binding lapses this many days after `validity_from`; 0: never. */
  validity_days: number;
  /** bound: counted from when it was made; last_order: from the customer's last order (or when it was made, if later). */
  validity_from: 'bound' | 'last_order';
}

export type BindingDecision = { action: 'bind' } | { action: 'rebind'; from: string } | { action: 'keep'; why: 'same' | 'permanent' | 'recent' | 'protected' };

export const DAY_MS = 86_400_000;

/** When the binding lapses under the validity window, or null (unbound, or no window). */
export function lapsesAt(current: CurrentBinding, rules: Pick<BindingRules, 'validity_days' | 'validity_from'>): Date | null {
  if (current.distributorId === null || rules.validity_days <= 0 || current.boundAt === null) return null;
  const from =
    rules.validity_from === 'last_order' && current.lastOrderAt !== null && current.lastOrderAt > current.boundAt ? current.lastOrderAt : current.boundAt;
  return new Date(from.getTime() + rules.validity_days * DAY_MS);
}

/** The binding has lapsed at `now` (it no longer earns, and the lapse job ends it). */
export function hasLapsed(current: CurrentBinding, rules: Pick<BindingRules, 'validity_days' | 'validity_from'>, now: Date): boolean {
  const at = lapsesAt(current, rules);
  return at !== null && now.getTime() >= at.getTime();
}

/** Why the lapse ended a binding, for the customer's history. */
export function lapseReason(rules: Pick<BindingRules, 'validity_days' | 'validity_from'>, at: Date): string {
  return `validity window: ${rules.validity_days} days after ${rules.validity_from === 'bound' ? 'the binding was made' : 'the last order'}, lapsed at ${at.toISOString()}`;
}

/**
 * The decision on a binding that has not lapsed (the caller ends a lapsed one first, and the
 * customer is then unbound).
 */
export function decideBinding(current: CurrentBinding | undefined, targetId: string, rules: BindingRules, now: Date): BindingDecision {
  if (!current || current.distributorId === null) return { action: 'bind' };
  if (current.distributorId === targetId) return { action: 'keep', why: 'same' };
  if (rules.mode === 'permanent') return { action: 'keep', why: 'permanent' };
  // The protection window holds a new binding against every other invite, in each mode that rebinds.
  if (rules.protection_days > 0 && current.boundAt !== null && now.getTime() - current.boundAt.getTime() < rules.protection_days * DAY_MS)
    return { action: 'keep', why: 'protected' };
  if (rules.mode === 'override') return { action: 'rebind', from: current.distributorId };
  // Rebindable: the binding may be taken after N days in which the customer ordered nothing.
  const lastActive = Math.max(current.boundAt?.getTime() ?? 0, current.lastOrderAt?.getTime() ?? 0);
  if (now.getTime() - lastActive >= rules.rebind_after_days * DAY_MS) return { action: 'rebind', from: current.distributorId };
  return { action: 'keep', why: 'recent' };
}
