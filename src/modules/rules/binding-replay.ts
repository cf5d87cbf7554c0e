import { decideBinding, hasLapsed, type BindingRules } from '../customers/rules.ts';

/** A plain customer's binding as the replay carries it. */
export interface ReplayedBinding {
  distributorId: string | null;
  boundAt: Date | null;
  lastOrderAt: Date | null;
  /** A claim waiting for the first order (bind_on first_order). */
  tentative: string | null;
}

/** A recorded binding event, as the replay reads it. */
export interface RecordedBindingEvent {
  customer: string;
  kind: 'bind' | 'rebind' | 'tentative' | 'move' | 'unbind' | 'lapse';
  to: string | null;
  at: Date;
}

/**
 * Attribution of plain customers' orders replayed under one binding policy (the rule simulator,
 * issue 17). Pure: the simulator feeds each customer's binding as it stood when the period began,
 * then the recorded binding events and the orders in time order. Invites, whether they came by
 * POST /v1/bindings (their bind and rebind events) or on an order, are claims decided by the
 * policy's own rules; an admin's move is applied as it was; the lapses the policy in force
 * recorded are not replayed (the policy replayed decides its own). An invite the policy in force
 * refused left no trace unless an order carried it: the replay cannot see it.
 */
export class BindingReplay {
  private readonly state = new Map<string, ReplayedBinding>();
  constructor(readonly rules: BindingRules & { bind_on: 'registration' | 'first_order' }) {}

  known(customer: string): boolean {
    return this.state.has(customer);
  }

  seed(customer: string, binding: ReplayedBinding): void {
    this.state.set(customer, { ...binding });
  }

  private of(customer: string): ReplayedBinding {
    let s = this.state.get(customer);
    if (!s) this.state.set(customer, (s = { distributorId: null, boundAt: null, lastOrderAt: null, tentative: null }));
    return s;
  }

  private lapse(s: ReplayedBinding, now: Date): void {
    if (hasLapsed(s, this.rules, now)) Object.assign(s, { distributorId: null, boundAt: null });
  }

  private claim(s: ReplayedBinding, to: string, now: Date): void {
    const d = decideBinding(s, to, this.rules, now);
    if (d.action !== 'keep') Object.assign(s, { distributorId: to, boundAt: now, tentative: null });
  }

  event(e: RecordedBindingEvent): void {
    const s = this.of(e.customer);
    switch (e.kind) {
      case 'bind':
      case 'rebind':
        this.lapse(s, e.at);
        if (e.to !== null) this.claim(s, e.to, e.at);
        return;
      case 'tentative':
        this.lapse(s, e.at);
        if (s.distributorId === null && this.rules.bind_on === 'first_order') s.tentative = e.to;
        else if (e.to !== null) this.claim(s, e.to, e.at);
        return;
      case 'move':
      case 'unbind':
        Object.assign(s, { distributorId: e.to, boundAt: e.to === null ? null : e.at, tentative: null });
        return;
      case 'lapse':
        return;
    }
  }

  /** An order of a plain customer at `at`, with the distributor its invite code names (if any): the distributor it is credited to. */
  order(customer: string, invite: string | null, at: Date): string | null {
    const s = this.of(customer);
    this.lapse(s, at);
    if (invite !== null) this.claim(s, invite, at);
    if (s.distributorId === null && s.tentative !== null) this.claim(s, s.tentative, at);
    if (s.lastOrderAt === null || s.lastOrderAt < at) s.lastOrderAt = at;
    return s.distributorId;
  }
}
