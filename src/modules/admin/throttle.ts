import type { Clock } from '../../app/context.ts';
import { AppError } from '../../app/errors.ts';
import type { RateLimiter } from '../../adapters/ratelimit/types.ts';

/**
 * Failed logins per client IP address, across every account and tenant: the per-account lockout
 * (five failures, 15 minutes) stops guessing one password, this stops trying a few passwords on
 * many accounts from one place (credential stuffing). Only failures count, so an office or a
 * carrier NAT full of people who type their passwords right is never slowed down. The portal's
 * limit is higher: distributors on mobile networks share carrier addresses.
 *
 * Behind a reverse proxy, set FENXIAO_TRUST_PROXY so the address is the client's, not the
 * proxy's (docs/security.md).
 */
export const LOGIN_FAILURE_LIMITS = {
  console: { limit: 20, windowMs: 15 * 60_000 },
  portal: { limit: 50, windowMs: 15 * 60_000 },
} as const;

export type LoginScope = keyof typeof LOGIN_FAILURE_LIMITS;

export interface LoginThrottle {
  /** Refuses (429 rate_limited, with Retry-After) an address with too many recent failures, before any password is checked. */
  check(scope: LoginScope, ip: string | undefined): Promise<void>;
  /** Counts one failed login of the address. */
  failed(scope: LoginScope, ip: string | undefined): Promise<void>;
}

export function createLoginThrottle(deps: { limiter: RateLimiter | undefined; clock: Clock }): LoginThrottle {
  const { limiter, clock } = deps;
  const key = (scope: LoginScope, ip: string) => `login:${scope}:ip:${ip}`;
  return {
    async check(scope, ip) {
      if (!limiter || !ip) return;
      const { limit, windowMs } = LOGIN_FAILURE_LIMITS[scope];
      // A hit with limit 0 is over the limit, so it is refused and not counted: it reads the window.
      const seen = await limiter.hit(key(scope, ip), 0, windowMs, clock.now().getTime());
      if (seen.count >= limit) {
        throw new AppError('rate_limited', 'too many failed logins from this address; try again later', {
          retry_after_seconds: Math.max(1, Math.ceil(seen.retryAfterMs / 1000)),
        });
      }
    },
    async failed(scope, ip) {
      if (!limiter || !ip) return;
      const { limit, windowMs } = LOGIN_FAILURE_LIMITS[scope];
      await limiter.hit(key(scope, ip), limit, windowMs, clock.now().getTime());
    },
  };
}
