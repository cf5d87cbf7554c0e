/**
 * Sliding-window limiter: at most `limit` hits in any `windowMs`. A hit over the limit is refused
 * and not counted, so a client that stops trying is let in again once the window has slid on.
 */
export interface RateLimiter {
  hit(key: string, limit: number, windowMs: number, nowMs: number): Promise<{ allowed: boolean; count: number; retryAfterMs: number }>;
  close(): Promise<void>;
}
