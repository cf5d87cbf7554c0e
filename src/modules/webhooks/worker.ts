import type { Db } from '../../db/database.ts';
import { inTransaction, tryAdvisoryXactLock } from '../../db/database.ts';
import type { Clock } from '../../core/context.ts';
import { isDatabaseUnavailable } from '../../core/errors.ts';
import { newId } from '../../core/ids.ts';
import type { KeyRing } from '../../lib/crypto.ts';
import type { OutboundSender } from '../../adapters/webhooks/http.ts';
import { webhooksRepo, type ClaimedDelivery } from './repo.ts';
import { afterFailure, DELIVERY_TIMEOUT_MS, DISABLE_AFTER_MS, envelope, signatureHeader } from './delivery.ts';

export interface WorkerLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

const LOCK_SCOPE = 'webhooks';
/**
 * How long a claimed delivery is this process's: longer than a send can take (the timeout), short
 * enough that a process killed mid-send holds its deliveries back only briefly.
 */
const LEASE_MS = DELIVERY_TIMEOUT_MS + 5_000;

/**
 * The delivery worker: wakes at each commit of new deliveries (NOTIFY, or `nudge` in this
 * process) and every `pollMs` (retries that fall due, a lost notification), then for each
 * tenant with something due claims a batch — under the tenant's advisory lock, so one process
 * at a time claims a tenant's deliveries, and each claimed delivery is leased — sends the batch
 * concurrently outside any transaction, and records each outcome. Nothing here runs on a
 * request's path; a database that is away fails a pass, which is logged once and retried.
 */
export function createDeliveryWorker(deps: {
  db: Db;
  clock: Clock;
  keyring: KeyRing;
  send: OutboundSender;
  log: WorkerLog;
  pollMs?: number | undefined;
  batch?: number | undefined;
  /** Tenants worked at once. */
  tenants?: number | undefined;
  timeoutMs?: number | undefined;
  random?: () => number;
}) {
  const { db, clock, keyring, log } = deps;
  const pollMs = deps.pollMs ?? 2_000;
  const batch = deps.batch ?? 20;
  const tenantsAtOnce = deps.tenants ?? 4;
  const timeoutMs = deps.timeoutMs ?? DELIVERY_TIMEOUT_MS;
  const random = deps.random ?? Math.random;
  let running: Promise<unknown> | undefined;
  let again = false;
  let timer: NodeJS.Timeout | undefined;
  let started = false;
  let stopped = false;
  let away = false;

  /**
   * Signs and sends one delivery. A secret this server cannot decrypt (the endpoint was made under
   * another master key) fails that delivery alone, recorded with the reason and retried like any
   * failure, and every other endpoint's deliveries go on.
   */
  async function send(d: ClaimedDelivery, now: Date): Promise<{ status: number | null; error: string | null; ms: number }> {
    let secrets: string[];
    try {
      secrets = [keyring.decrypt(d.secret_enc)];
      if (d.previous_secret_enc && d.previous_valid_until && d.previous_valid_until > now) secrets.push(keyring.decrypt(d.previous_secret_enc));
    } catch {
      log.error({ tenant_id: d.tenant_id, endpoint_id: d.endpoint_id }, "webhook endpoint's secret cannot be decrypted with this server's master key");
      return { status: null, error: "the endpoint's signing secret cannot be decrypted with this server's master key: rotate the secret", ms: 0 };
    }
    const body = envelope({ id: d.event_id, type: d.type, created_at: d.event_created_at, data: d.data });
    const t = Math.floor(now.getTime() / 1000);
    return deps.send({
      url: d.url,
      body,
      timeoutMs,
      headers: {
        'content-type': 'application/json',
        'user-agent': 'Fenxiao-Webhooks/1',
        'fenxiao-event-id': d.event_id,
        'fenxiao-event-type': d.type,
        'fenxiao-signature': signatureHeader(secrets, t, body),
        'fenxiao-attempt': String(d.attempts + 1),
      },
    });
  }

  async function deliver(d: ClaimedDelivery, leaseUntil: Date): Promise<'delivered' | 'failed'> {
    const now = clock.now();
    const answer = await send(d, now);
    const ok = answer.status !== null && answer.status >= 200 && answer.status < 300;
    const at = clock.now();
    await inTransaction(db, async (tx) => {
      const next = ok ? null : afterFailure({ failures: d.attempts + 1, createdAt: d.created_at, now: at, random: random() });
      const kept = await webhooksRepo.finishAttempt(tx, d.id, leaseUntil, {
        attempts: d.attempts + 1,
        lease_until: null,
        last_http_status: answer.status,
        last_error: answer.error,
        ...(ok ? { status: 'delivered', finished_at: at } : next?.dead ? { status: 'dead', finished_at: at } : { next_attempt_at: next?.at ?? at }),
      });
      // The lease ran out and another pass took the delivery: it records its own attempt.
      if (!kept) return;
      await webhooksRepo.insertAttempt(tx, {
        id: newId('wha'),
        tenant_id: d.tenant_id,
        endpoint_id: d.endpoint_id,
        delivery_id: d.id,
        event_id: d.event_id,
        attempt: d.attempts + 1,
        status: ok ? 'succeeded' : 'failed',
        http_status: answer.status,
        error: answer.error?.slice(0, 500) ?? null,
        duration_ms: Math.max(0, Math.round(answer.ms)),
        created_at: at,
      });
      if (ok) await webhooksRepo.endpointSucceeded(tx, d.endpoint_id);
      else {
        const disabled = await webhooksRepo.endpointFailed(
          tx,
          d.endpoint_id,
          at,
          new Date(at.getTime() - DISABLE_AFTER_MS),
          'every delivery failed for 5 days: fix the endpoint, then enable it again',
        );
        if (disabled) log.warn({ tenant_id: d.tenant_id, endpoint_id: d.endpoint_id }, 'webhook endpoint disabled after failing for 5 days');
        if (next?.dead)
          log.warn({ tenant_id: d.tenant_id, endpoint_id: d.endpoint_id, event_id: d.event_id }, 'webhook delivery given up after 24 hours (dead)');
      }
    });
    return ok ? 'delivered' : 'failed';
  }

  /** Claims and sends a tenant's due deliveries until none is left due (or another process holds the tenant). */
  async function workTenant(tenantId: string, totals: { delivered: number; failed: number }) {
    for (let round = 0; round < 100 && !stopped; round++) {
      const now = clock.now();
      const leaseUntil = new Date(now.getTime() + LEASE_MS);
      const claimed = await inTransaction(db, async (tx) => {
        if (!(await tryAdvisoryXactLock(tx, LOCK_SCOPE, tenantId))) return [];
        return webhooksRepo.claim(tx, tenantId, now, leaseUntil, batch);
      });
      if (claimed.length === 0) return;
      const outcomes = await Promise.allSettled(claimed.map((d) => deliver(d, leaseUntil)));
      for (const o of outcomes) {
        if (o.status === 'fulfilled') totals[o.value]++;
        else throw o.reason;
      }
    }
  }

  /** One pass: every tenant with a delivery due now. */
  async function runOnce(): Promise<{ delivered: number; failed: number }> {
    const totals = { delivered: 0, failed: 0 };
    const tenants = await webhooksRepo.dueTenants(db, clock.now(), 1000);
    let next = 0;
    const lanes = Array.from({ length: Math.min(tenantsAtOnce, tenants.length) }, async () => {
      while (next < tenants.length && !stopped) {
        const tenantId = tenants[next++] as string;
        await workTenant(tenantId, totals);
      }
    });
    const results = await Promise.allSettled(lanes);
    const failure = results.find((r) => r.status === 'rejected');
    if (failure) throw failure.reason;
    return totals;
  }

  /** Runs passes while wake-ups keep coming; never two at once in this process. */
  function wake() {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    again = false;
    running = runOnce()
      .then((r) => {
        if (away) log.info({}, 'webhook deliveries resumed: the database is back');
        away = false;
        if (r.delivered + r.failed > 0) log.info(r, 'webhook deliveries sent');
      })
      .catch((err: unknown) => {
        if (isDatabaseUnavailable(err)) {
          if (!away) log.warn({ reason: err instanceof Error ? err.message : String(err) }, 'webhook deliveries paused: the database is unavailable');
          away = true;
        } else log.error({ err }, 'webhook delivery pass failed');
      })
      .finally(() => {
        running = undefined;
        if (again && !stopped) setImmediate(wake);
      });
  }

  return {
    runOnce,
    /** Something is due now (a commit in this process, a replay): a pass soon. */
    nudge() {
      if (started) setImmediate(wake);
    },
    start() {
      if (started) return;
      started = true;
      stopped = false;
      const loop = () => {
        wake();
        timer = setTimeout(loop, pollMs);
        timer.unref();
      };
      loop();
    },
    /** Stops polling and waits for a pass in progress. */
    async stop() {
      stopped = true;
      started = false;
      if (timer) clearTimeout(timer);
      await running?.catch(() => undefined);
    },
  };
}

export type DeliveryWorker = ReturnType<typeof createDeliveryWorker>;
