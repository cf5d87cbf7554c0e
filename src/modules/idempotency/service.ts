import { MESSAGES } from '../../core/error-text.ts';
import { conflict, type AppError } from '../../core/errors.ts';
import type { Executor } from '../../db/database.ts';
import { idempotencyRepo } from './repo.ts';

export { requestHash } from '../../lib/hash.ts';

/**
 * Idempotency-Keys, one mechanism for every write that takes one (order events, withdrawals,
 * and next purchase orders): the first answer under a key is kept with the fingerprint of its
 * request body (requestHash); the same key with the same body answers the kept answer again, with
 * another body it is a 409 conflict. Keys live in a scope, so one caller's keys never meet another's.
 * (Orders themselves are idempotent by their external id, checked by the order batch.)
 */

/** The refusal of a key reused with another body. */
export function keyConflict(): AppError {
  return conflict(MESSAGES.idempotencyKeyReused());
}

/** The answer kept under a key for a request with fingerprint `hash`; a conflict when the key was used with another body. */
export function replayOf<T>(kept: { request_hash: string; response_body: unknown }, hash: string): T {
  if (kept.request_hash !== hash) throw keyConflict();
  return kept.response_body as T;
}

/** The same, as a result for a batch that answers each request on its own. */
export function replayOrConflict<T>(
  kept: { request_hash: string; response_body: unknown },
  hash: string,
): { ok: true; value: T } | { ok: false; error: AppError } {
  return kept.request_hash === hash ? { ok: true, value: kept.response_body as T } : { ok: false, error: keyConflict() };
}

/**
 * Each caller has its own Idempotency-Keys for withdrawals: one API key, one console user, one
 * distributor. In one namespace per tenant a distributor could take the key a merchant's
 * integration uses next, or learn from a 409 that a key was used (issue 14).
 */
export function withdrawalScope(actorType: string, actorId: string | null): string {
  return `withdrawal:${actorType}:${actorId ?? ''}`;
}

/** An order's events: keys are per order (the caller is the merchant that owns it). */
export function orderEventScope(orderId: string): string {
  return `order_event:${orderId}`;
}

/** A key claimed for a write in progress: save its answer in the same transaction. */
export interface ClaimedKey {
  save(status: number, body: unknown): Promise<void>;
}

/**
 * Claims `key` in `scope` for a single write, in its transaction. A concurrent duplicate waits on
 * the claim, then finds the finished answer; a crash releases the claim with everything else.
 * Answers the kept answer (a replay) or the claim; throws a conflict for another body.
 */
export async function claimKey<T>(
  tx: Executor,
  tenantId: string,
  scope: string,
  key: string,
  hash: string,
): Promise<{ replay: true; answer: T } | { replay: false; claim: ClaimedKey }> {
  if (await idempotencyRepo.claim(tx, tenantId, scope, key, hash)) {
    return { replay: false, claim: { save: (status, body) => idempotencyRepo.saveAnswer(tx, tenantId, scope, key, status, body) } };
  }
  return { replay: true, answer: replayOf<T>(await idempotencyRepo.get(tx, tenantId, scope, key), hash) };
}
