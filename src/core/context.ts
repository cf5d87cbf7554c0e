import type { Principal } from './principal.ts';

/** The acting principal and the request it came in (for the audit log and logs). */
export interface Actor {
  principal: Principal;
  requestId: string | null;
}

/** One clock for the whole process so tests can drive time (freeze days, auto-receipt, cycles). */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** A clock tests move by hand. */
export class ManualClock implements Clock {
  private current: Date;
  constructor(start: Date | string = '2026-01-01T00:00:00Z') {
    this.current = new Date(start);
  }
  now(): Date {
    return new Date(this.current);
  }
  set(at: Date | string): void {
    this.current = new Date(at);
  }
  advance(ms: number): void {
    this.current = new Date(this.current.getTime() + ms);
  }
}
