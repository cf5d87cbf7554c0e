/**
 * Sliding-window limiter: at most `limit` hits in any `windowMs`. A hit over the limit is refused
 * and not counted, so a client that stops trying is let in again once the window has slid on.
 *
 * A hit is counted the moment it is admitted, atomically, so many concurrent callers never get
 * more than `limit` admitted between them: count first, then do the costly thing (check a
 * password), and take the hit back with `undo` if it turns out not to count (a login that
 * succeeded).
 */
export interface RateLimiter {
  hit(key: string, limit: number, windowMs: number, nowMs: number): Promise<RateLimitHit>;
  /** Takes one admitted hit (its `id`) back out of the key's window. */
  undo(key: string, id: string): Promise<void>;
  /** Forgets every hit of the key. */
  reset(key: string): Promise<void>;
  close(): Promise<void>;
}

export interface RateLimitHit {
  allowed: boolean;
  /** Hits in the window, this one included when it was admitted. */
  count: number;
  retryAfterMs: number;
  /** The admitted hit, for `undo`; absent when refused. */
  id?: string;
}
