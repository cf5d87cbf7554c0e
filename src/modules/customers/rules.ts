/**
 * Whether a claimed invitation becomes the customer's binding. Pure: the service supplies the
 * customer's current binding and the program's rules.
 */
export interface CurrentBinding {
  distributorId: string | null;
  boundAt: Date | null;
  lastOrderAt: Date | null;
}

export interface BindingRules {
  mode: 'permanent' | 'rebindable';
  rebind_after_days: number;
}

export type BindingDecision = { action: 'bind' } | { action: 'rebind'; from: string } | { action: 'keep'; why: 'same' | 'permanent' | 'recent' };

const DAY_MS = 86_400_000;

export function decideBinding(current: CurrentBinding | undefined, targetId: string, rules: BindingRules, now: Date): BindingDecision {
  if (!current || current.distributorId === null) return { action: 'bind' };
  if (current.distributorId === targetId) return { action: 'keep', why: 'same' };
  if (rules.mode === 'permanent') return { action: 'keep', why: 'permanent' };
  // Rebindable: the binding lapses after N days in which the customer ordered nothing.
  const lastActive = Math.max(current.boundAt?.getTime() ?? 0, current.lastOrderAt?.getTime() ?? 0);
  if (now.getTime() - lastActive >= rules.rebind_after_days * DAY_MS) return { action: 'rebind', from: current.distributorId };
  return { action: 'keep', why: 'recent' };
}
