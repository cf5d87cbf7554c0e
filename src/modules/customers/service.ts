import type { Executor } from '../../db/database.ts';
import type { Actor, Clock } from '../../core/context.ts';
import { actorOf } from '../../core/principal.ts';
import { newId } from '../../core/ids.ts';
import type { Insertable, RawBuilder } from 'kysely';
import type { BindingEventsTable } from '../../db/schema.ts';
import { customersRepo, type CustomerRow } from './repo.ts';
import { decideBinding, hasLapsed, lapseReason, lapsesAt, type BindingDecision, type BindingRules } from './rules.ts';

export interface CustomerBindingView {
  customer_external_id: string;
  distributor_id: string | null;
  bound_at: string | null;
  source: string | null;
  tentative_distributor_id: string | null;
}

/**
 * The customer → distributor bindings and their history. Every change goes through `apply` or
 * `move` inside the caller's transaction, with the customer row locked.
 */
/** The lapse event of a binding past its validity window at `now`, or undefined while it stands. */
function lapseOf(
  actor: Actor,
  tenantId: string,
  customerExternalId: string,
  current: { distributorId: string | null; boundAt: Date | null; lastOrderAt: Date | null },
  rules: BindingRules,
  now: Date,
): Insertable<BindingEventsTable> | undefined {
  if (current.distributorId === null || !hasLapsed(current, rules, now)) return undefined;
  const at = lapsesAt(current, rules) ?? now;
  const { actorType, actorId } = actorOf(actor.principal);
  return {
    id: newId('bnd'),
    tenant_id: tenantId,
    customer_external_id: customerExternalId,
    kind: 'lapse',
    from_distributor_id: current.distributorId,
    to_distributor_id: null,
    source: 'validity',
    reason: lapseReason(rules, at),
    actor_type: actorType,
    actor_id: actorId,
    request_id: actor.requestId,
    at: now,
  };
}

export function createCustomersService(deps: {
  clock: Clock;
  /** Run in the binding's transaction when customers are bound or rebound (analytics counts them). */
  onBound?: ((tx: Executor, tenantId: string, bindings: { distributorId: string; at: Date }[]) => Promise<void>)[];
}) {
  const { clock } = deps;

  function view(row: {
    external_id: string;
    distributor_id: string | null;
    bound_at: Date | null;
    binding_source: string | null;
    tentative_distributor_id: string | null;
  }): CustomerBindingView {
    return {
      customer_external_id: row.external_id,
      distributor_id: row.distributor_id,
      bound_at: row.bound_at?.toISOString() ?? null,
      source: row.binding_source,
      tentative_distributor_id: row.tentative_distributor_id,
    };
  }

  return {
    view,

    async lock(tx: Executor, tenantId: string, externalId: string) {
      return customersRepo.lockOrCreate(tx, tenantId, externalId, clock.now());
    },

    async find(ex: Executor, tenantId: string, externalId: string) {
      return customersRepo.find(ex, tenantId, externalId);
    },

    /**
     * Decides and applies one claimed binding. The customer row must be locked by `lock` in the
     * same transaction. `tentative` records a claim that the first order makes final.
     */
    async apply(
      tx: Executor,
      actor: Actor,
      tenantId: string,
      input: {
        customerExternalId: string;
        distributorId: string;
        source: string;
        rules: BindingRules;
        tentative?: boolean;
        current: { distributor_id: string | null; bound_at: Date | null; last_order_at: Date | null };
      },
    ): Promise<BindingDecision> {
      const now = clock.now();
      let current = { distributorId: input.current.distributor_id, boundAt: input.current.bound_at, lastOrderAt: input.current.last_order_at };
      const lapse = lapseOf(actor, tenantId, input.customerExternalId, current, input.rules, now);
      if (lapse) {
        // A lapsed binding the job has not ended yet: it ends here, in the history, before the claim.
        await customersRepo.setBinding(tx, tenantId, input.customerExternalId, { distributor_id: null, bound_at: null, binding_source: null });
        await customersRepo.insertEvent(tx, lapse);
        current = { ...current, distributorId: null, boundAt: null };
      }
      const decision = decideBinding(current, input.distributorId, input.rules, now);
      if (decision.action === 'keep') return decision;
      const { actorType, actorId } = actorOf(actor.principal);
      if (input.tentative) {
        await customersRepo.setTentative(tx, tenantId, input.customerExternalId, input.distributorId, now);
        await customersRepo.insertEvent(tx, {
          id: newId('bnd'),
          tenant_id: tenantId,
          customer_external_id: input.customerExternalId,
          kind: 'tentative',
          from_distributor_id: current.distributorId,
          to_distributor_id: input.distributorId,
          source: input.source,
          actor_type: actorType,
          actor_id: actorId,
          request_id: actor.requestId,
          at: now,
        });
        return decision;
      }
      await customersRepo.setBinding(tx, tenantId, input.customerExternalId, {
        distributor_id: input.distributorId,
        bound_at: now,
        binding_source: input.source,
        tentative_distributor_id: null,
        tentative_at: null,
      });
      await customersRepo.insertEvent(tx, {
        id: newId('bnd'),
        tenant_id: tenantId,
        customer_external_id: input.customerExternalId,
        kind: decision.action === 'rebind' ? 'rebind' : 'bind',
        from_distributor_id: decision.action === 'rebind' ? decision.from : null,
        to_distributor_id: input.distributorId,
        source: input.source,
        actor_type: actorType,
        actor_id: actorId,
        request_id: actor.requestId,
        at: now,
      });
      for (const hook of deps.onBound ?? []) await hook(tx, tenantId, [{ distributorId: input.distributorId, at: now }]);
      return decision;
    },

    /** Many customers created where missing and locked, in one go (a batch of orders); by external id. */
    async lockMany(tx: Executor, tenantId: string, externalIds: string[]): Promise<Map<string, CustomerRow>> {
      return (await this.lockManyWith(tx, tenantId, externalIds, {})).rows;
    },

    /** The same, reading `extra` scalar subqueries (other modules' reads) in the same round trip. */
    async lockManyWith(
      tx: Executor,
      tenantId: string,
      externalIds: string[],
      extra: Record<string, RawBuilder<unknown>>,
    ): Promise<{ rows: Map<string, CustomerRow>; extra: Record<string, unknown>; created: string[] }> {
      const r = await customersRepo.lockOrCreateMany(tx, tenantId, externalIds, clock.now(), extra);
      return { rows: new Map(r.rows.map((x) => [x.external_id, x])), extra: r.extra, created: r.created };
    },

    /** Buyers created by `lockManyWith` in this transaction whose orders were all refused: removed again. */
    forgetUntouched(tx: Executor, tenantId: string, externalIds: string[]): Promise<void> {
      return customersRepo.deleteUntouched(tx, tenantId, externalIds);
    },

    /**
     * A binding decided in memory by a batch of orders (the same decideBinding as `apply`): changes
     * the locked row in place and answers the binding event to write with `saveMany`.
     */
    bindInMemory(
      actor: Actor,
      row: CustomerRow,
      input: { distributorId: string; source: string; rules: BindingRules; now: Date },
    ): { decision: BindingDecision; event?: Insertable<BindingEventsTable> } {
      // The batch ends a lapsed binding (lapseInMemory) before it claims anew.
      const decision = decideBinding(
        { distributorId: row.distributor_id, boundAt: row.bound_at, lastOrderAt: row.last_order_at },
        input.distributorId,
        input.rules,
        input.now,
      );
      if (decision.action === 'keep') return { decision };
      const { actorType, actorId } = actorOf(actor.principal);
      const event: Insertable<BindingEventsTable> = {
        id: newId('bnd'),
        tenant_id: row.tenant_id,
        customer_external_id: row.external_id,
        kind: decision.action === 'rebind' ? 'rebind' : 'bind',
        from_distributor_id: decision.action === 'rebind' ? decision.from : null,
        to_distributor_id: input.distributorId,
        source: input.source,
        actor_type: actorType,
        actor_id: actorId,
        request_id: actor.requestId,
        at: input.now,
      };
      Object.assign(row, {
        distributor_id: input.distributorId,
        bound_at: input.now,
        binding_source: input.source,
        tentative_distributor_id: null,
        tentative_at: null,
      });
      return { decision, event };
    },

    /**
     * A batch's order finds its buyer's binding lapsed (the validity window passed, the job has not
     * ended it yet): it ends on the locked row in place, and the lapse event to write with the
     * batch is answered. Nothing when the binding stands.
     */
    lapseInMemory(actor: Actor, row: CustomerRow, rules: BindingRules, now: Date): Insertable<BindingEventsTable> | undefined {
      const event = lapseOf(
        actor,
        row.tenant_id,
        row.external_id,
        { distributorId: row.distributor_id, boundAt: row.bound_at, lastOrderAt: row.last_order_at },
        rules,
        now,
      );
      if (event) Object.assign(row, { distributor_id: null, bound_at: null, binding_source: null });
      return event;
    },

    /**
     * The lapse job's step: up to `limit` bindings of plain customers (a distributor's binding to
     * its referrer is the tree, which does not lapse) past the validity window at `now` are ended,
     * each with a lapse event giving the reason. Rows another process holds are skipped (it is
     * ending them, or binding them anew); a row is ended only if it is still the binding that was
     * found (compare-and-set), so a run repeated or racing changes each binding once.
     */
    async sweepLapsed(tx: Executor, actor: Actor, tenantId: string, rules: BindingRules, now: Date, limit: number): Promise<number> {
      if (rules.validity_days <= 0) return 0;
      const due = await customersRepo.lockLapsed(tx, tenantId, rules.validity_from, new Date(now.getTime() - rules.validity_days * 86_400_000), limit);
      if (due.length === 0) return 0;
      const events: Insertable<BindingEventsTable>[] = [];
      for (const row of due) {
        const event = lapseOf(
          actor,
          tenantId,
          row.external_id,
          { distributorId: row.distributor_id, boundAt: row.bound_at, lastOrderAt: row.last_order_at },
          rules,
          now,
        );
        if (event) events.push(event);
      }
      return customersRepo.endBindings(tx, tenantId, due, events);
    },

    /**
     * What a batch changed in memory, to be written as part of the batch's statement (`ctes` go
     * into its WITH), and when the bindings it made were made: the batch counts them with its
     * rollups in the same statements instead of calling onBound once more.
     */
    batchWrite(tenantId: string, rows: CustomerRow[], events: Insertable<BindingEventsTable>[]) {
      const ctes = [customersRepo.saveCte(tenantId, rows), ...(events.length > 0 ? [customersRepo.eventsCte(events)] : [])];
      return { ctes, bindings: events.filter((e) => e.to_distributor_id).map((e) => new Date(e.at as Date)) };
    },

    /** An admin's move of a binding, with its reason: the only way to change a permanent one. */
    async move(tx: Executor, actor: Actor, tenantId: string, externalId: string, from: string | null, to: string | null, reason: string): Promise<void> {
      const now = clock.now();
      const { actorType, actorId } = actorOf(actor.principal);
      await customersRepo.setBinding(tx, tenantId, externalId, {
        distributor_id: to,
        bound_at: to === null ? null : now,
        binding_source: to === null ? null : 'admin_move',
        tentative_distributor_id: null,
        tentative_at: null,
      });
      await customersRepo.insertEvent(tx, {
        id: newId('bnd'),
        tenant_id: tenantId,
        customer_external_id: externalId,
        kind: to === null ? 'unbind' : 'move',
        from_distributor_id: from,
        to_distributor_id: to,
        source: 'admin',
        reason,
        actor_type: actorType,
        actor_id: actorId,
        request_id: actor.requestId,
        at: now,
      });
    },

    listBoundTo(ex: Executor, tenantId: string, distributorId: string, afterExternalId: string | undefined, limit: number) {
      return customersRepo.listBoundTo(ex, tenantId, distributorId, afterExternalId, limit);
    },

    async history(ex: Executor, tenantId: string, externalId: string) {
      return (await customersRepo.events(ex, tenantId, externalId)).map((e) => ({
        id: e.id,
        kind: e.kind,
        from_distributor_id: e.from_distributor_id,
        to_distributor_id: e.to_distributor_id,
        source: e.source,
        reason: e.reason,
        actor_type: e.actor_type,
        actor_id: e.actor_id,
        at: e.at.toISOString(),
      }));
    },
  };
}

export type CustomersService = ReturnType<typeof createCustomersService>;
