import type { Executor } from '../../db/database.ts';
import type { Clock } from '../../core/context.ts';
import type { RateLimiter } from '../../adapters/ratelimit/types.ts';
import { newId } from '../../core/ids.ts';
import type { ProgramSettings } from '../program/schema.ts';
import { commissionsRepo } from '../commissions/repo.ts';
import { distributorsRepo } from '../distributors/repo.ts';
import type { Outbox } from '../webhooks/outbox.ts';
import { riskRepo, type NewRiskEvent } from './repo.ts';

export type Effect = 'flag' | 'hold' | 'block';

/** What the rules decided about one order's lines, by beneficiary. */
export interface OrderRiskDecision {
  /** Beneficiaries whose lines are created held (not settled or withdrawn until reviewed). */
  hold: Set<string>;
  /** Beneficiaries whose lines are not credited at all. */
  block: Set<string>;
  /** Events to write once the lines exist (they link the lines they held). */
  events: PendingEvent[];
  /**
   * The hits this order put in the limiter's windows (outside the database): taken back by the
   * caller when the transaction that assessed it does not commit, so a retried or split batch
   * counts each order once.
   */
  hits: { key: string; id: string }[];
}

export interface PendingEvent {
  /** The id it is written under: made when the rules decide, so later orders of a batch can name it. */
  id: string;
  kind: string;
  severity: Effect;
  subjectType: string;
  subjectId: string | null;
  details: Record<string, unknown>;
  /** Beneficiaries whose lines of this order belong to the event. */
  beneficiaries: string[];
  /** An open event to attach the lines to instead of writing a new one. */
  existingId?: string;
}

export interface OrderRiskInput {
  tenantId: string;
  now: Date;
  orderExternalId: string;
  settings: ProgramSettings;
  buyerDistributorId: string | null;
  /** The chain frozen on the order, seller first, with each member's risk state. */
  chain: { id: string; riskHold: boolean; deviceBidx: string | null }[];
  /** What each beneficiary would earn from this order before risk, and the capped part. */
  earning: Map<string, { amount: number; capped: number }>;
  /** Commission already credited today per beneficiary (for surges), when tracked. */
  earnedToday: Map<string, number> | null;
  clientIp: string | null;
  deviceBidx: string | null;
  deviceId: string | null;
  day: string;
  /** The newest open distributor-level hold event of each chain member on hold. */
  openHolds: ReadonlyMap<string, string>;
  /** Each beneficiary's commission on each of the 7 days before `day` (surge rule), when tracked. */
  earnedOn: (distributorId: string, day: string) => number;
}

/** The day `n` days before an ISO date (YYYY-MM-DD). */
export function daysBefore(day: string, n: number): string {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() - n);
  return d.toISOString().slice(0, 10);
}

export interface RiskEventView {
  id: string;
  kind: string;
  severity: string;
  subject_type: string;
  subject_id: string | null;
  details: Record<string, unknown>;
  status: string;
  created_at: string;
}

/** A risk event as the API (and the `risk_event.opened` webhook) shows it. */
export function riskEventView(r: {
  id: string;
  kind: string;
  severity: string;
  subject_type: string;
  subject_id: string | null;
  details: Record<string, unknown>;
  status: string;
  created_at: Date;
}): RiskEventView {
  return {
    id: r.id,
    kind: r.kind,
    severity: r.severity,
    subject_type: r.subject_type,
    subject_id: r.subject_id,
    details: r.details,
    status: r.status,
    created_at: r.created_at.toISOString(),
  };
}

export const DISTRIBUTOR_HOLD_KINDS = ['refund_rate', 'shared_identity', 'surge'];

/**
 * The risk rules an order goes through, in its own transaction, before its lines are written:
 * too many orders from one buyer IP or device, a beneficiary's commission surging against its
 * 7-day average, a buyer earning on its own purchase (self-purchase loops), caps that cut a
 * line, and beneficiaries already on hold. Each rule's effect is the program's choice.
 */
export function createRiskEngine(deps: { clock: Clock; limiter: RateLimiter; outbox: Pick<Outbox, 'record'> }) {
  const { clock, limiter } = deps;

  async function insertEvent(ex: Executor, tenantId: string, e: Omit<PendingEvent, 'id'>): Promise<string> {
    const id = newId('rsk');
    await openEvents(ex, tenantId, [
      {
        id,
        tenant_id: tenantId,
        kind: e.kind,
        severity: e.severity,
        subject_type: e.subjectType,
        subject_id: e.subjectId,
        details: e.details,
        created_at: clock.now(),
      },
    ]);
    return id;
  }

  /**
   * Every risk event this module opens is written here, with its `risk_event.opened` for
   * merchants' webhook endpoints in the same executor: the caller's transaction, so an event the
   * transaction rolls back (a refused identity under `block`) is never announced.
   */
  async function openEvents(ex: Executor, tenantId: string, events: (NewRiskEvent & { created_at: Date })[]): Promise<void> {
    if (events.length === 0) return;
    await riskRepo.insertMany(ex, events);
    await deps.outbox.record(
      ex,
      tenantId,
      events.map((e) => ({ type: 'risk_event.opened' as const, objectType: 'risk_event', objectId: e.id, data: riskEventView({ ...e, status: 'open' }) })),
    );
  }

  return {
    openEvents,

    async assessOrder(input: OrderRiskInput): Promise<OrderRiskDecision> {
      const risk = input.settings.risk;
      const decision: OrderRiskDecision = { hold: new Set(), block: new Set(), events: [], hits: [] };
      const beneficiaries = [...input.earning.keys()];
      const apply = (effect: Effect, who: string[]) => {
        for (const id of who) {
          if (effect === 'block') decision.block.add(id);
          else if (effect === 'hold') decision.hold.add(id);
        }
      };

      // Beneficiaries under a distributor-level hold: their new lines wait too.
      for (const m of input.chain) {
        if (!m.riskHold || !input.earning.has(m.id)) continue;
        decision.hold.add(m.id);
        const open = input.openHolds.get(m.id);
        if (open)
          decision.events.push({
            id: open,
            kind: 'held',
            severity: 'hold',
            subjectType: 'distributor',
            subjectId: m.id,
            details: {},
            beneficiaries: [m.id],
            existingId: open,
          });
      }

      // Many orders from one buyer IP or device in a window.
      const windows: ['ip' | 'device', string | null, { limit: number; window_seconds: number; effect: Effect }][] = [
        ['ip', input.clientIp, risk.order_ip],
        ['device', input.deviceId, risk.order_device],
      ];
      for (const [dimension, value, rule] of windows) {
        if (!value || rule.limit <= 0) continue;
        const key = `${input.tenantId}:order:${dimension}:${value}`;
        const r = await limiter.hit(key, rule.limit, rule.window_seconds * 1000, input.now.getTime());
        if (r.id !== undefined) decision.hits.push({ key, id: r.id });
        if (r.allowed) continue;
        apply(rule.effect, beneficiaries);
        decision.events.push({
          id: newId('rsk'),
          kind: `order_${dimension}_limit`,
          severity: rule.effect,
          subjectType: dimension,
          subjectId: dimension === 'ip' ? value : input.deviceBidx,
          details: { order: input.orderExternalId, limit: rule.limit, window_seconds: rule.window_seconds },
          beneficiaries,
        });
      }

      // Self-purchase loops: the buyer earning on its own purchase through its own team, or a
      // beneficiary who registered from the device the order came from.
      if (risk.self_purchase_loop.enabled) {
        const loopers = input.chain
          .filter((m, level) => (level > 0 && m.id === input.buyerDistributorId) || (input.deviceBidx !== null && m.deviceBidx === input.deviceBidx))
          .map((m) => m.id)
          .filter((id) => input.earning.has(id));
        if (loopers.length > 0) {
          apply(risk.self_purchase_loop.effect, loopers);
          decision.events.push({
            id: newId('rsk'),
            kind: 'self_purchase_loop',
            severity: risk.self_purchase_loop.effect,
            subjectType: 'order',
            subjectId: input.orderExternalId,
            details: {
              beneficiaries: loopers,
              buyer_distributor: input.buyerDistributorId,
              same_device: input.deviceBidx !== null && input.chain.some((m) => m.deviceBidx === input.deviceBidx),
            },
            beneficiaries: loopers,
          });
        }
      }

      // A surge: today's commission far above the beneficiary's 7-day daily average.
      if (risk.surge.multiplier > 0 && input.earnedToday) {
        const week = (id: string) => {
          let total = 0;
          for (let n = 1; n <= 7; n++) total += input.earnedOn(id, daysBefore(input.day, n));
          return total;
        };
        for (const id of beneficiaries) {
          const today = (input.earnedToday.get(id) ?? 0) + (input.earning.get(id)?.amount ?? 0);
          const average = Math.floor(week(id) / 7);
          if (today < risk.surge.min_fen || today <= risk.surge.multiplier * average) continue;
          apply(risk.surge.effect, [id]);
          const open = risk.surge.effect === 'hold' ? input.openHolds.get(id) : undefined;
          decision.events.push({
            id: open ?? newId('rsk'),
            kind: 'surge',
            severity: risk.surge.effect,
            subjectType: 'distributor',
            subjectId: id,
            details: { day: input.day, today_fen: today, seven_day_average_fen: average, multiplier: risk.surge.multiplier, order: input.orderExternalId },
            beneficiaries: [id],
            ...(open ? { existingId: open } : {}),
          });
        }
      }

      // Caps that cut a line are worth a look.
      if (risk.caps_hit.enabled) {
        const capped = beneficiaries.filter((id) => (input.earning.get(id)?.capped ?? 0) > 0);
        for (const id of capped) {
          decision.events.push({
            id: newId('rsk'),
            kind: 'cap_hit',
            severity: 'flag',
            subjectType: 'distributor',
            subjectId: id,
            details: { order: input.orderExternalId, capped_fen: input.earning.get(id)?.capped ?? 0 },
            beneficiaries: [],
          });
        }
      }
      return decision;
    },

    /**
     * Writes the events of a batch of orders, in the orders' order, and links the lines each one
     * held: the new events in one statement, the distributors they put on hold in another, the
     * links in a third.
     */
    async recordOrderEvents(
      ex: Executor,
      tenantId: string,
      orders: { decision: OrderRiskDecision; lines: { id: string; beneficiary_id: string; held?: boolean | undefined }[] }[],
    ) {
      const now = clock.now();
      const fresh: PendingEvent[] = [];
      const holds: string[] = [];
      const links: { event_id: string; commission_id: string }[] = [];
      for (const { decision, lines } of orders) {
        for (const e of decision.events) {
          if (!e.existingId) fresh.push(e);
          if (e.severity === 'hold' && e.subjectType === 'distributor' && e.subjectId && !e.existingId) holds.push(e.subjectId);
          for (const l of lines) if (l.held && e.beneficiaries.includes(l.beneficiary_id)) links.push({ event_id: e.id, commission_id: l.id });
        }
      }
      if (fresh.length > 0) {
        await openEvents(
          ex,
          tenantId,
          fresh.map((e) => ({
            id: e.id,
            tenant_id: tenantId,
            kind: e.kind,
            severity: e.severity,
            subject_type: e.subjectType,
            subject_id: e.subjectId,
            details: e.details,
            created_at: now,
          })),
        );
      }
      if (holds.length > 0) await riskRepo.holdDistributors(ex, [...new Set(holds)].sort());
      if (links.length > 0) await riskRepo.link(ex, links);
    },

    /** The newest open distributor-level hold event of each of these distributors. */
    async openHolds(ex: Executor, tenantId: string, distributorIds: string[]): Promise<Map<string, string>> {
      if (distributorIds.length === 0) return new Map();
      const rows = await riskRepo.openHolds(ex, tenantId, distributorIds, DISTRIBUTOR_HOLD_KINDS);
      return new Map(rows.flatMap((r): [string, string][] => (r.subject_id === null ? [] : [[r.subject_id, r.id]])));
    },

    /**
     * After a refund: a seller whose refunded share of sales over the window reaches the
     * threshold is flagged or held — its unsettled lines wait, and so do its new ones.
     */
    async assessRefund(ex: Executor, tenantId: string, settings: ProgramSettings, sellerId: string): Promise<string | null> {
      const rule = settings.risk.refund_rate;
      if (rule.threshold_bp <= 0) return null;
      const since = new Date(clock.now().getTime() - rule.window_days * 86_400_000);
      const { n, paid, refunded } = await riskRepo.sellerRefundTotals(ex, sellerId, since);
      if (Number(n) < rule.min_orders || Number(paid) === 0) return null;
      const rateBp = Number((BigInt(refunded) * 10000n) / BigInt(paid));
      if (rateBp < rule.threshold_bp) return null;
      const open = await riskRepo.openRefundRateEvent(ex, tenantId, sellerId);
      if (open) return open.id;
      const id = await insertEvent(ex, tenantId, {
        kind: 'refund_rate',
        severity: rule.effect === 'block' ? 'hold' : rule.effect,
        subjectType: 'distributor',
        subjectId: sellerId,
        details: {
          orders: Number(n),
          paid_fen: Number(paid),
          refunded_fen: Number(refunded),
          refund_rate_bp: rateBp,
          threshold_bp: rule.threshold_bp,
          window_days: rule.window_days,
        },
        beneficiaries: [],
      });
      if (rule.effect !== 'flag') await holdDistributor(ex, sellerId, id);
      return id;
    },

    /**
     * One identity (phone, ID number, payout account; compared by blind index) behind several
     * distributors. Flags each, or holds them, or — block — answers true so the caller refuses.
     */
    async assessIdentity(
      ex: Executor,
      tenantId: string,
      settings: ProgramSettings,
      distributorId: string,
      identities: { kind: 'phone' | 'id_number' | 'payout_account'; bidx: string }[],
    ): Promise<boolean> {
      const rule = settings.risk.shared_identity;
      if (!rule.enabled) return false;
      let blocked = false;
      for (const identity of identities) {
        const others =
          identity.kind === 'payout_account'
            ? await riskRepo.sharingPayoutAccount(ex, tenantId, distributorId, identity.bidx)
            : await riskRepo.sharingIdentity(ex, tenantId, distributorId, identity.kind, identity.bidx);
        if (others.length === 0) continue;
        if (rule.effect === 'block') {
          blocked = true;
          continue;
        }
        const id = await insertEvent(ex, tenantId, {
          kind: 'shared_identity',
          severity: rule.effect,
          subjectType: 'distributor',
          subjectId: distributorId,
          details: { identity: identity.kind, shared_with: others.map((o) => o.distributor_id) },
          beneficiaries: [],
        });
        if (rule.effect === 'hold') await holdDistributor(ex, distributorId, id);
      }
      return blocked;
    },
  };

  /** A distributor-level hold: its unsettled lines and every new one wait for review. */
  async function holdDistributor(ex: Executor, distributorId: string, eventId: string) {
    await distributorsRepo.setRiskHold(ex, distributorId, true);
    const lines = await riskRepo.unsettledLinesOf(ex, distributorId);
    if (lines.length === 0) return;
    await commissionsRepo.setHeld(
      ex,
      lines.map((l) => l.id),
      true,
    );
    await riskRepo.link(
      ex,
      lines.map((l) => ({ event_id: eventId, commission_id: l.id })),
    );
  }
}

export type RiskEngine = ReturnType<typeof createRiskEngine>;
