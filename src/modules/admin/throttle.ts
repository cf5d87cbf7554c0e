import { MESSAGES } from '../../core/error-text.ts';
import type { Clock } from '../../core/context.ts';
import { AppError } from '../../core/errors.ts';
import type { RateLimiter, RateLimitHit } from '../../adapters/ratelimit/types.ts';

/** The id of an admitted hit, which the limiter always gives one. */
function admitted(hit: RateLimitHit): string {
  if (hit.id === undefined) throw new Error('the rate limiter admitted a hit without an id');
  return hit.id;
}

/**
 * Failed logins per client IP address, across every account and tenant: this stops trying a few
 * passwords on many accounts from one place (credential stuffing). Only failures count, so an
 * office or a carrier NAT full of people who type their passwords right is never slowed down.
 * The portal's limit is higher: distributors on mobile networks share carrier addresses.
 *
 * Behind a reverse proxy, set FENXIAO_TRUST_PROXY so the address is the client's, not the
 * proxy's (docs/security.md).
 */
export const LOGIN_FAILURE_LIMITS = {
  console: { limit: 20, windowMs: 15 * 60_000 },
  portal: { limit: 50, windowMs: 15 * 60_000 },
} as const;

/**
 * Failed logins per (login name, address): five wrong passwords for one email or phone from one
 * address lock that pair for 15 minutes. Per pair and not per account, so that nobody can lock
 * someone else (the owner included) out of their own account from elsewhere; and per login name,
 * known or not, so that the lock answers an unknown email exactly as it answers a real one.
 */
export const ACCOUNT_LOCKOUT = { failures: 5, windowMs: 15 * 60_000 } as const;

export type LoginScope = keyof typeof LOGIN_FAILURE_LIMITS;

export interface LoginAttempt {
  /** The password was right: the attempt is taken back (successes do not count) and the pair's failures are forgotten. */
  succeeded(): Promise<void>;
  /** The attempt turned out not to be a guess (a right password for an account that may not sign in): taken back. */
  void(): Promise<void>;
}

export interface LoginThrottle {
  /**
   * Counts one attempt against the address and against the (login name, address) pair, before
   * any password is checked, and refuses (429 rate_limited, with Retry-After) when either is over
   * its limit. Counting first, atomically in the limiter (memory or Redis), is what keeps a burst
   * of concurrent guesses within the limits: each guess takes a place before its password is
   * checked, and an attempt that fails simply keeps its place. Nothing is written to the database.
   *
   * `account` names the login (tenant and email, tenant and phone); it is passed through `hash`
   * so no email or phone number is kept in the limiter's keys.
   */
  begin(scope: LoginScope, input: { ip: string | undefined; account: string }): Promise<LoginAttempt>;
}

export function createLoginThrottle(deps: { limiter: RateLimiter; clock: Clock; hash: (account: string) => string }): LoginThrottle {
  const { limiter, clock } = deps;
  const refuse = (retryAfterMs: number) =>
    new AppError('rate_limited', MESSAGES.tooManyFailedLogins(), {
      retry_after_seconds: Math.max(1, Math.ceil(retryAfterMs / 1000)),
    });
  return {
    async begin(scope, input) {
      // Without an address (never over HTTP) the pair still counts, under one shared name.
      const ip = input.ip ?? 'unknown';
      const nowMs = clock.now().getTime();
      const addressKey = `login:${scope}:ip:${ip}`;
      const pairKey = `login:${scope}:account:${deps.hash(`${scope}:${input.account}`)}:ip:${ip}`;
      const { limit, windowMs } = LOGIN_FAILURE_LIMITS[scope];
      const byAddress = await limiter.hit(addressKey, limit, windowMs, nowMs);
      if (!byAddress.allowed) throw refuse(byAddress.retryAfterMs);
      const byPair = await limiter.hit(pairKey, ACCOUNT_LOCKOUT.failures, ACCOUNT_LOCKOUT.windowMs, nowMs);
      if (!byPair.allowed) {
        // Refused before any password was checked: it is no failure of the address either.
        await limiter.undo(addressKey, admitted(byAddress));
        throw refuse(byPair.retryAfterMs);
      }
      const takeBack = async () => {
        await limiter.undo(addressKey, admitted(byAddress));
        await limiter.undo(pairKey, admitted(byPair));
      };
      return {
        async succeeded() {
          await limiter.undo(addressKey, admitted(byAddress));
          await limiter.reset(pairKey);
        },
        void: takeBack,
      };
    },
  };
}
