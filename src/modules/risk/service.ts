import type { Db, Executor } from '../../db/database.ts';
import type { Actor, Clock } from '../../core/context.ts';
import { AppError, invalidState, notFound } from '../../core/errors.ts';
import { inTransaction } from '../../db/database.ts';
import { postedLegs, type JournalInput, type Ledger, type Leg } from '../ledger/service.ts';
import type { AnalyticsRecorder } from '../analytics/recorder.ts';
import type { AuditService } from '../audit/service.ts';
import { actorOf, requirePermission, tenantOf } from '../../core/principal.ts';
import type { RateLimiter } from '../../adapters/ratelimit/types.ts';
import { newId } from '../../core/ids.ts';
import { riskRepo } from './repo.ts';
import { commissionsRepo } from '../commissions/repo.ts';
import { distributorsRepo } from '../distributors/repo.ts';
import { createRiskEngine, riskEventView as eventView } from './engine.ts';
import type { Outbox } from '../webhooks/outbox.ts';
import type { ProgramSettings } from '../program/schema.ts';
import { zhStatus } from '../../core/error-text.ts';

import type { RiskEventView } from './engine.ts';
export type { RiskEventView };

export interface WindowLimit {
  limit: number;
  window_seconds: number;
}

export function createRiskService(deps: {
  db: Db;
  clock: Clock;
  limiter: RateLimiter;
  ledger: Ledger;
  /** Told of every journal this module posts, in the journal's transaction. */
  analytics: Pick<AnalyticsRecorder, 'posted'>;
  audit: AuditService;
  /** The program's settings: its risk rules. */
  program: { read(ex: Executor, tenantId: string): Promise<ProgramSettings> };
  /** Where `risk_event.opened` is recorded, in the transaction that opens the event. */
  outbox: Pick<Outbox, 'record'>;
}) {
  const { db, clock, limiter, ledger, analytics, audit, program } = deps;
  // The rules that decide on orders, refunds and identities, in the caller's transaction.
  const engine = createRiskEngine({ clock, limiter, outbox: deps.outbox });

  async function record(
    ex: Executor,
    tenantId: string,
    e: { kind: string; severity?: 'flag' | 'hold' | 'block'; subjectType: string; subjectId: string | null; details: Record<string, unknown> },
  ): Promise<string> {
    const id = newId('rsk');
    await engine.openEvents(ex, tenantId, [
      {
        id,
        tenant_id: tenantId,
        kind: e.kind,
        severity: e.severity ?? 'flag',
        subject_type: e.subjectType,
        subject_id: e.subjectId,
        details: e.details,
        created_at: clock.now(),
      },
    ]);
    return id;
  }

  return {
    record,

    // The order path's risk decisions, made inside its batch's transaction (see engine.ts): an
    // order's lines blocked or held, the events that records, the holds still open, and a
    // seller's refund rate after a refund.
    assessOrder: engine.assessOrder,
    recordOrderEvents: engine.recordOrderEvents,
    openHolds: engine.openHolds,
    assessRefund: engine.assessRefund,
    /** Takes back the limiter hits of orders whose transaction did not commit (OrderRiskDecision.hits). */
    async forgetHits(hits: readonly { key: string; id: string }[]): Promise<void> {
      for (const h of hits) await limiter.undo(h.key, h.id);
    },

    /**
     * A phone number or ID number a distributor now holds that belongs to another distributor:
     * flagged, or held, under the program's shared-identity rule; under `block`, refused
     * (risk_blocked) and the change rolls back. In the caller's transaction.
     */
    async refuseSharedIdentity(
      tx: Executor,
      tenantId: string,
      distributorId: string,
      identities: { kind: 'phone' | 'id_number'; bidx: string }[],
    ): Promise<void> {
      const blocked = await engine.assessIdentity(tx, tenantId, await program.read(tx, tenantId), distributorId, identities);
      if (blocked)
        throw new AppError('risk_blocked', {
          en: 'this phone number or ID number already belongs to another distributor',
          zh: '此手机号或身份证号已属于另一位分销员',
        });
    },

    /** The same for a payout account being added (compared by its identity's blind index). */
    async refuseSharedPayoutAccount(tx: Executor, tenantId: string, distributorId: string, identityBidx: string): Promise<void> {
      const blocked = await engine.assessIdentity(tx, tenantId, await program.read(tx, tenantId), distributorId, [
        { kind: 'payout_account', bidx: identityBidx },
      ]);
      if (blocked) throw new AppError('risk_blocked', { en: 'this payout account already belongs to another distributor', zh: '此收款账户已属于另一位分销员' });
    },

    /**
     * Anti-cheat on registration and binding: the end user's IP and device id (which the
     * merchant's backend passes on) each get a sliding window. Over a limit: 429 rate_limited,
     * and a risk event for the first refusal of the address or device in a window only. A
     * refused request writes nothing else: an anonymous caller repeating it (the portal's
     * application page is public) must not get a row inserted per request.
     */
    async enforceLimits(
      tenantId: string,
      scope: 'registration' | 'binding',
      subject: { ip?: string | undefined; deviceId?: string | undefined; subjectId?: string | undefined },
      limits: { per_ip: WindowLimit | null; per_device: WindowLimit | null },
    ): Promise<void> {
      const nowMs = clock.now().getTime();
      const checks: { dimension: 'ip' | 'device'; value: string; limit: WindowLimit }[] = [];
      if (subject.ip && limits.per_ip) checks.push({ dimension: 'ip', value: subject.ip, limit: limits.per_ip });
      if (subject.deviceId && limits.per_device) checks.push({ dimension: 'device', value: subject.deviceId, limit: limits.per_device });
      for (const c of checks) {
        const r = await limiter.hit(`${tenantId}:${scope}:${c.dimension}:${c.value}`, c.limit.limit, c.limit.window_seconds * 1000, nowMs);
        if (!r.allowed) {
          // One event per window per subject: the limiter itself says whether this window has one
          // (the same store, so every process agrees, Redis included).
          const firstRefusal = await limiter.hit(`${tenantId}:${scope}:${c.dimension}:${c.value}:event`, 1, c.limit.window_seconds * 1000, nowMs);
          if (firstRefusal.allowed)
            await inTransaction(db, (tx) =>
              record(tx, tenantId, {
                kind: `${scope}_${c.dimension}_limit`,
                subjectType: c.dimension,
                subjectId: c.value,
                details: {
                  scope,
                  limit: c.limit.limit,
                  window_seconds: c.limit.window_seconds,
                  ...(subject.subjectId ? { attempted_for: subject.subjectId } : {}),
                },
              }),
            );
          throw new AppError(
            'rate_limited',
            {
              en: `too many ${scope === 'registration' ? 'registrations' : 'bindings'} from this ${c.dimension === 'ip' ? 'IP address' : 'device'}; try again later`,
              zh: `来自此${c.dimension === 'ip' ? ' IP 地址' : '设备'}的${scope === 'registration' ? '注册' : '绑定'}过多，请稍后再试`,
            },
            {
              retry_after_seconds: Math.ceil(r.retryAfterMs / 1000),
            },
          );
        }
      }
    },

    /**
     * The review queue's decision on an open event. release: its held lines go back to normal
     * (unless another open event still holds them) and a distributor-level hold is lifted when
     * no other holds remain. confirm: fraud — its held lines are reversed, with journal entries,
     * and a distributor-level hold stays until someone lifts it (liftHold). dismiss: nothing was
     * wrong — as release, recorded as a false alarm.
     */
    async review(actor: Actor, eventId: string, action: 'release' | 'confirm' | 'dismiss', note: string) {
      requirePermission(actor.principal, 'risk:write');
      const tenantId = tenantOf(actor.principal);
      return inTransaction(db, async (tx) => {
        const ev = await riskRepo.findForUpdate(tx, tenantId, eventId);
        if (!ev) throw notFound('risk event');
        if (ev.status !== 'open') throw invalidState({ en: `the event is already ${ev.status}`, zh: `该事件已是${zhStatus(ev.status)}状态` });
        const lines = await riskRepo.linesOfEventForUpdate(tx, eventId);
        const now = clock.now();
        const { actorId } = actorOf(actor.principal);
        let changed: number;
        if (action === 'release' || action === 'dismiss') {
          const stillHeld =
            lines.length === 0
              ? []
              : await riskRepo.heldByOtherOpenEvents(
                  tx,
                  eventId,
                  lines.map((c) => c.id),
                );
          const keep = new Set(stillHeld.map((r) => r.commission_id));
          const release = lines.filter((c) => c.held && !keep.has(c.id) && (c.status === 'pending' || c.status === 'available'));
          if (release.length > 0)
            await commissionsRepo.setHeld(
              tx,
              release.map((c) => c.id),
              false,
            );
          changed = release.length;
        } else {
          const reverse = lines.filter((c) => c.status === 'pending' || c.status === 'available');
          const legs: Leg[] = [];
          for (const c of reverse) {
            if (c.amount_fen > 0)
              legs.push({ owner: c.beneficiary_id, purpose: c.status as 'pending' | 'available', amount: -c.amount_fen, commissionId: c.id });
          }
          if (reverse.length > 0) {
            await commissionsRepo.reverse(
              tx,
              reverse.map((c) => c.id),
              now,
            );
          }
          const total = legs.reduce((sum, l) => sum - l.amount, 0);
          if (total > 0) {
            legs.push({ owner: 'tenant', purpose: 'commission_expense', amount: total });
            const journal: JournalInput = { tenantId, kind: 'risk_reverse', refType: 'risk_event', refId: eventId, memo: note, legs };
            await ledger.post(tx, journal);
            await analytics.posted(tx, tenantId, postedLegs([journal]));
          }
          changed = reverse.length;
        }
        // A distributor-level hold ends when no open hold on the distributor remains.
        if (ev.subject_type === 'distributor' && ev.subject_id && ev.severity === 'hold' && action !== 'confirm') {
          const others = await riskRepo.otherOpenHolds(tx, tenantId, ev.subject_id, eventId);
          if (others.length === 0) await distributorsRepo.setRiskHold(tx, ev.subject_id, false);
        }
        const status = action === 'release' ? 'released' : action === 'confirm' ? 'confirmed' : 'dismissed';
        await riskRepo.setReviewed(tx, eventId, { status, reviewed_by: actorId, review_note: note, reviewed_at: now });
        await audit.record(tx, actor, {
          action: `risk_event.${action}`,
          targetType: 'risk_event',
          targetId: eventId,
          before: { status: ev.status },
          after: { status, lines: changed },
          reason: note,
        });
        return { id: eventId, status, lines: changed };
      });
    },

    /**
     * Lifts a distributor-level hold that no open event keeps (after fraud was confirmed and dealt
     * with): the distributor may withdraw again and its held lines that no open event holds are
     * released. Refused while an open hold event on the distributor waits for review.
     */
    async liftHold(actor: Actor, distributorId: string, note: string) {
      requirePermission(actor.principal, 'risk:write');
      const tenantId = tenantOf(actor.principal);
      return inTransaction(db, async (tx) => {
        const d = await riskRepo.distributorHoldForUpdate(tx, tenantId, distributorId);
        if (!d) throw notFound('distributor');
        if (!d.risk_hold) throw invalidState({ en: 'the distributor is not on hold', zh: '该分销员未被冻结' });
        const open = await riskRepo.anyOpenHold(tx, tenantId, distributorId);
        if (open)
          throw invalidState({ en: `risk event ${open.id} still holds the distributor: review it`, zh: `风险事件 ${open.id} 仍在冻结该分销员：请先审核它` });
        const held = await riskRepo.heldLinesNoOpenEventHolds(tx, tenantId, distributorId);
        if (held.length > 0)
          await commissionsRepo.setHeld(
            tx,
            held.map((c) => c.id),
            false,
          );
        await distributorsRepo.setRiskHold(tx, distributorId, false);
        await audit.record(tx, actor, {
          action: 'distributor.risk_hold_lift',
          targetType: 'distributor',
          targetId: distributorId,
          before: { risk_hold: true },
          after: { risk_hold: false, lines: held.length },
          reason: note,
        });
        return { distributor_id: distributorId, risk_hold: false, lines: held.length };
      });
    },

    async get(actor: Actor, id: string) {
      requirePermission(actor.principal, 'read');
      const tenantId = tenantOf(actor.principal);
      const r = await riskRepo.find(db, tenantId, id);
      if (!r) throw notFound('risk event');
      const lines = await riskRepo.linesOfEvent(db, id);
      return { ...eventView(r), review_note: r.review_note, reviewed_at: r.reviewed_at?.toISOString() ?? null, lines };
    },

    async list(
      actor: Actor,
      opts: { status?: string | undefined; kind?: string | undefined; cursor?: string | undefined; limit: number },
    ): Promise<{ items: RiskEventView[]; next_cursor: string | null }> {
      requirePermission(actor.principal, 'read');
      const rows = await riskRepo.list(db, tenantOf(actor.principal), {
        ...(opts.status ? { status: opts.status } : {}),
        ...(opts.kind ? { kind: opts.kind } : {}),
        ...(opts.cursor ? { beforeId: opts.cursor } : {}),
        limit: opts.limit + 1,
      });
      const page = rows.slice(0, opts.limit);
      return {
        items: page.map(eventView),
        next_cursor: rows.length > opts.limit ? (page.at(-1)?.id ?? null) : null,
      };
    },
  };
}

export type RiskService = ReturnType<typeof createRiskService>;

/** What the order path asks of the risk service. */
export type OrderPathRisk = Pick<RiskService, 'assessOrder' | 'recordOrderEvents' | 'openHolds' | 'assessRefund' | 'forgetHits'>;
