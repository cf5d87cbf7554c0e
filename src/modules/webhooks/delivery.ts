import { hmac } from '../ingest/signatures.ts';

/**
 * The pure parts of a delivery: when to try again, and the signature. No I/O; labelled cases in
 * delivery.test.ts.
 */

/** Waits after the n-th failed attempt (n = 1, 2, …), before jitter; the last repeats. */
export const RETRY_DELAYS_MS = [10_000, 30_000, 120_000, 600_000, 1_800_000, 3_600_000, 7_200_000, 14_400_000] as const;
/** Jitter adds up to this share of the wait, so endpoints that failed together do not all come back at once. */
export const JITTER = 0.25;
/** A delivery still failing this long after its event was recorded is given up (dead). */
export const GIVE_UP_AFTER_MS = 24 * 3_600_000;
/** No answer within this long is a failure. */
export const DELIVERY_TIMEOUT_MS = 10_000;
/** An endpoint whose every attempt failed for this long is disabled, and the console says so. */
export const DISABLE_AFTER_MS = 5 * 24 * 3_600_000;

/**
 * What follows a failed attempt: the next try (`at`), or `dead` once the delivery has been
 * failing for GIVE_UP_AFTER_MS since its event. `random` is in [0, 1).
 */
export function afterFailure(input: { failures: number; createdAt: Date; now: Date; random: number }): { dead: true } | { dead: false; at: Date } {
  if (input.now.getTime() - input.createdAt.getTime() >= GIVE_UP_AFTER_MS) return { dead: true };
  const base = RETRY_DELAYS_MS[Math.min(Math.max(input.failures, 1), RETRY_DELAYS_MS.length) - 1] as number;
  const wait = Math.floor(base * (1 + JITTER * Math.min(Math.max(input.random, 0), 0.999999)));
  return { dead: false, at: new Date(input.now.getTime() + wait) };
}

/**
 * `Fenxiao-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`, one `v1` per
 * secret that signs (the current one first; the previous one too during a rotation's grace).
 */
export function signatureHeader(secrets: readonly string[], unixSeconds: number, body: string): string {
  const signed = `${unixSeconds}.${body}`;
  return [`t=${unixSeconds}`, ...secrets.map((s) => `v1=${hmac(s, signed).toString('hex')}`)].join(',');
}

/** The body of a delivery, the contract's envelope. */
export function envelope(event: { id: string; type: string; created_at: Date; data: unknown }): string {
  return JSON.stringify({ id: event.id, type: event.type, created_at: event.created_at.toISOString(), data: event.data });
}
