import { MESSAGES } from '../../core/error-text.ts';
import QRCode from 'qrcode';
import type { Db, Executor, Tx } from '../../db/database.ts';
import { advisoryXactLock, advisoryXactLockShared, inTransaction, RetryTransaction } from '../../db/database.ts';
import type { Actor, Clock } from '../../core/context.ts';
import { compliance, conflict, invalid, invalidState, notFound, type AppError } from '../../core/errors.ts';
import { requirePermission, tenantOf } from '../../core/principal.ts';
import { normalizeInviteCode } from '../../lib/invite-code.ts';
import type { AuditService } from '../audit/service.ts';
import type { CustomersService } from '../customers/service.ts';
import { TREE_LOCK, type DistributorsService } from '../distributors/service.ts';
import { distributorsRepo, type DistributorRow } from '../distributors/repo.ts';
import type { ProgramService } from '../program/service.ts';
import type { ProgramSettings } from '../program/schema.ts';
import type { RiskService } from '../risk/service.ts';
import type { LandingDomains } from './landing.ts';
import { referralRepo } from './repo.ts';
import { hasLapsed } from '../customers/rules.ts';

export interface BindInput {
  customer_external_id: string;
  invite_code: string;
  client_ip?: string | undefined;
  device_id?: string | undefined;
}

export interface BindingResult {
  customer_external_id: string;
  distributor_id: string;
  status: 'bound' | 'tentative';
  bound_at: string | null;
}

/** A customer claiming a distributor of its own external id: it is that distributor. */
export function selfBindingRefusal(target: DistributorRow, customerExternalId: string): AppError | null {
  return target.external_id === customerExternalId ? compliance({ en: 'a distributor cannot bind to itself', zh: '分销员不能绑定自己' }) : null;
}

/**
 * Why distributor `me` may not be attached under `target` (the tree must stay a forest, and a
 * distributor that has a referrer keeps it), or null. `target` as it stands under the tree lock.
 */
export function attachRefusal(me: DistributorRow, target: DistributorRow): AppError | null {
  if (target.ancestors.includes(me.id))
    return compliance({
      en: "the invite code belongs to this distributor's own downline: that would close a cycle",
      zh: '该邀请码属于此分销员自己的下线：这会形成循环',
    });
  if (me.referrer_id !== null) return conflict(MESSAGES.customerAlreadyBound());
  if (target.status !== 'active') return invalidState({ en: 'the distributor of this invite code is not active', zh: '该邀请码所属的分销员不是正常状态' });
  return null;
}

/** Why a plain customer may not be bound to `target`, or null. */
export function bindingTargetRefusal(target: DistributorRow): AppError | null {
  return target.status !== 'active' ? invalidState({ en: 'the distributor of this invite code is not active', zh: '该邀请码所属的分销员不是正常状态' }) : null;
}

export function createReferralService(deps: {
  db: Db;
  clock: Clock;
  audit: AuditService;
  risk: RiskService;
  customers: CustomersService;
  distributors: DistributorsService;
  program: ProgramService;
  publicUrl: string;
  /** Where a landing page may be: checked again at each redirect (landing.ts). */
  landing: LandingDomains;
  /** The public URL is https: the visitor cookie of the invite link is sent over https only. */
  secureCookies?: boolean | undefined;
  /** Run in the visit's transaction (analytics counts visits per day). */
  onVisit?: ((tx: Executor, tenantId: string, distributorId: string, at: Date, timezone: string) => Promise<void>)[];
}) {
  const { db, clock, audit, risk, customers, distributors, program } = deps;

  /**
   * Binds a customer to `target` within the caller's transaction. Every check comes before any
   * write, so a refusal (an AppError) leaves the transaction clean: an order that carried a
   * code it may not use still goes through, just without that binding.
   * A plain customer is bound (or, in bind-at-first-order mode and unless `final`, claimed).
   * A customer who is itself a distributor without a referrer gets one: its whole team moves
   * under the new referrer, which may not be itself or anyone below it.
   */
  async function bindWithin(
    tx: Tx,
    actor: Actor,
    tenantId: string,
    settings: ProgramSettings,
    customerExternalId: string,
    target: DistributorRow,
    opts: { source: string; final: boolean },
  ): Promise<BindingResult> {
    const self = selfBindingRefusal(target, customerExternalId);
    if (self) throw self;
    const asDistributor = await distributorsRepo.findByExternalId(tx, tenantId, customerExternalId);
    if (asDistributor) {
      // Attaching an existing distributor changes the tree: take the tree lock alone so no
      // concurrent attach or registration sees a half-moved subtree.
      await advisoryXactLock(tx, TREE_LOCK, tenantId);
      // Distributors are never deleted (erasure keeps the row): both are still there.
      const me = await distributorsRepo.findForUpdate(tx, tenantId, asDistributor.id);
      const fresh = await distributorsRepo.find(tx, tenantId, target.id);
      if (!me || !fresh) throw new Error('a distributor row vanished while binding');
      const refusal = attachRefusal(me, fresh);
      if (refusal) throw refusal;
      const customer = await customers.lock(tx, tenantId, customerExternalId);
      await distributors.reparent(tx, me, fresh);
      await customers.apply(tx, actor, tenantId, {
        customerExternalId,
        distributorId: fresh.id,
        source: opts.source,
        // A distributor's referrer is the tree: it neither moves by invite nor lapses.
        rules: { mode: 'permanent', rebind_after_days: settings.binding.rebind_after_days, protection_days: 0, validity_days: 0, validity_from: 'bound' },
        current: { ...customer, distributor_id: null },
      });
      return { customer_external_id: customerExternalId, distributor_id: fresh.id, status: 'bound', bound_at: clock.now().toISOString() };
    }
    await advisoryXactLockShared(tx, TREE_LOCK, tenantId);
    const refusal = bindingTargetRefusal(target);
    if (refusal) throw refusal;
    const customer = await customers.lock(tx, tenantId, customerExternalId);
    // A registration of this customer may have committed between the lookup above and the row
    // lock (it holds that row until it commits). Then this must be the distributor path, which
    // needs the tree lock alone: start the transaction over.
    if (await distributorsRepo.findByExternalId(tx, tenantId, customerExternalId)) throw new RetryTransaction('the customer became a distributor');
    // A lapsed binding is none: the claim waits for the first order as it would for a new customer.
    const unbound =
      customer.distributor_id === null ||
      hasLapsed({ distributorId: customer.distributor_id, boundAt: customer.bound_at, lastOrderAt: customer.last_order_at }, settings.binding, clock.now());
    const tentative = !opts.final && settings.binding.bind_on === 'first_order' && unbound;
    const decision = await customers.apply(tx, actor, tenantId, {
      customerExternalId,
      distributorId: target.id,
      source: opts.source,
      rules: settings.binding,
      current: customer,
      tentative,
    });
    if (decision.action === 'keep') throw conflict(MESSAGES.customerAlreadyBound());
    return {
      customer_external_id: customerExternalId,
      distributor_id: target.id,
      status: tentative ? 'tentative' : 'bound',
      bound_at: tentative ? null : clock.now().toISOString(),
    };
  }

  return {
    /**
     * POST /v1/bindings. A plain customer is bound (or, in bind-at-first-order mode, claimed).
     * A customer who is itself a distributor without a referrer gets one: its whole team moves
     * under the new referrer, which may not be itself or anyone below it.
     */
    async bind(actor: Actor, input: BindInput): Promise<BindingResult> {
      requirePermission(actor.principal, 'distributors:write');
      const tenantId = tenantOf(actor.principal);
      const settings = await program.read(db, tenantId);
      await risk.enforceLimits(
        tenantId,
        'binding',
        { ip: input.client_ip, deviceId: input.device_id, subjectId: input.customer_external_id },
        settings.anti_cheat.binding,
      );
      return inTransaction(db, async (tx) => {
        const target = await distributors.byInviteCode(tx, tenantId, input.invite_code);
        if (!target) throw invalid({ en: 'unknown invite_code', zh: '未知的邀请码（invite_code）' });
        return bindWithin(tx, actor, tenantId, settings, input.customer_external_id, target, { source: 'invite_code', final: false });
      });
    },

    bindWithin,

    /**
     * The lapse job for one tenant: bindings past the program's validity window end, in batches
     * of `batch` (each its own transaction), at most `maxBatches` per run. Several processes may
     * run it at once: each skips the rows another holds, and a binding ends once.
     */
    async lapseDue(tenantId: string, now: Date, batch = 500, maxBatches = 20): Promise<{ lapsed: number; batches: number }> {
      const settings = await program.read(db, tenantId);
      if (settings.binding.validity_days <= 0) return { lapsed: 0, batches: 0 };
      const actor: Actor = { principal: { kind: 'system', tenantId, job: 'binding-lapse' }, requestId: null };
      let lapsed = 0;
      let batches = 0;
      while (batches < maxBatches) {
        const n = await inTransaction(db, (tx) => customers.sweepLapsed(tx, actor, tenantId, settings.binding, now, batch));
        batches++;
        lapsed += n;
        if (n < batch) break;
      }
      return { lapsed, batches };
    },

    async getCustomer(actor: Actor, externalId: string) {
      requirePermission(actor.principal, 'read');
      const tenantId = tenantOf(actor.principal);
      const row = await customers.find(db, tenantId, externalId);
      if (!row) throw notFound('customer');
      return { ...customers.view(row), history: await customers.history(db, tenantId, externalId) };
    },

    /**
     * An admin moves a customer's binding, with a reason. A customer who is a distributor is
     * moved through the tree (DistributorsService.move) so its team follows.
     */
    async moveCustomer(actor: Actor, externalId: string, input: { distributor_id: string | null; reason: string }) {
      requirePermission(actor.principal, 'distributors:write');
      const tenantId = tenantOf(actor.principal);
      const asDistributor = await distributorsRepo.findByExternalId(db, tenantId, externalId);
      if (asDistributor) {
        await distributors.move(actor, asDistributor.id, { referrer_id: input.distributor_id, reason: input.reason });
        return this.getCustomer(actor, externalId);
      }
      await inTransaction(db, async (tx) => {
        const customer = await customers.find(tx, tenantId, externalId);
        if (!customer) throw notFound('customer');
        const locked = await customers.lock(tx, tenantId, externalId);
        if (input.distributor_id !== null && !(await distributorsRepo.find(tx, tenantId, input.distributor_id)))
          throw invalid({ en: 'unknown distributor_id', zh: '未知的 distributor_id' });
        if (locked.distributor_id === input.distributor_id) throw invalidState({ en: 'the customer is already bound there', zh: '该客户已绑定到这位分销员' });
        await customers.move(tx, actor, tenantId, externalId, locked.distributor_id, input.distributor_id, input.reason);
        await audit.record(tx, actor, {
          action: 'binding.move',
          targetType: 'customer',
          targetId: externalId,
          before: { distributor_id: locked.distributor_id },
          after: { distributor_id: input.distributor_id },
          reason: input.reason,
        });
      });
      return this.getCustomer(actor, externalId);
    },

    async listCustomers(actor: Actor, distributorId: string, cursor: string | undefined, limit: number) {
      requirePermission(actor.principal, 'read');
      const tenantId = tenantOf(actor.principal);
      await distributors.load(db, tenantId, distributorId);
      const rows = await customers.listBoundTo(db, tenantId, distributorId, cursor, limit + 1);
      const page = rows.slice(0, limit);
      return { items: page.map(customers.view), next_cursor: rows.length > limit ? (page.at(-1)?.external_id ?? null) : null };
    },

    /**
     * The public invite link: records the visit and sends the visitor on to the merchant's
     * landing page with the code (or to the portal's application page when none is set, or when
     * it is not on a domain the merchant verified).
     */
    async visit(codeInput: string, visitor: { visitorId: string; ip: string | null; userAgent: string | null; referer: string | null }) {
      const code = normalizeInviteCode(codeInput);
      if (!code) throw notFound('invite link');
      const d = await distributorsRepo.findByInviteCode(db, code);
      if (!d || d.status !== 'active') throw notFound('invite link');
      const settings = await program.read(db, d.tenant_id);
      const at = clock.now();
      await inTransaction(db, async (tx) => {
        await referralRepo.insertVisit(tx, {
          tenant_id: d.tenant_id,
          distributor_id: d.id,
          visitor_id: visitor.visitorId,
          ip: visitor.ip,
          user_agent: visitor.userAgent?.slice(0, 512) ?? null,
          referer: visitor.referer?.slice(0, 2000) ?? null,
          at,
        });
        for (const hook of deps.onVisit ?? []) await hook(tx, d.tenant_id, d.id, at, settings.timezone);
      });
      // Followed only while it is on a domain the tenant has verified (or the platform): a value
      // stored before the rule, or a domain removed since, sends the visitor to the portal.
      const landingUrl = settings.landing_url !== null && (await deps.landing.allowed(db, d.tenant_id, settings.landing_url)) ? settings.landing_url : null;
      const landing = new URL(landingUrl ?? `${deps.publicUrl}/portal/`);
      landing.searchParams.set('invite_code', code);
      if (landingUrl === null) landing.searchParams.set('tenant', d.tenant_id);
      return { location: landing.toString(), code };
    },

    async visitStats(actor: Actor, distributorId: string) {
      requirePermission(actor.principal, 'read');
      const tenantId = tenantOf(actor.principal);
      await distributors.load(db, tenantId, distributorId);
      const r = await referralRepo.visitStats(db, distributorId);
      return { visits: Number(r.visits), unique_visitors: Number(r.visitors) };
    },

    /** The invite link's visitor cookie goes over https only (the public URL is https). */
    secureCookies: deps.secureCookies ?? false,

    /** Risk events, newest first (bindings and registrations raise most of them). */
    listRiskEvents: (actor: Actor, query: Parameters<RiskService['list']>[1]) => risk.list(actor, query),

    /** The domains the landing page may be on, proved by a DNS TXT record (landing.ts). */
    listLandingDomains: (actor: Actor) => deps.landing.list(actor),
    addLandingDomain: (actor: Actor, domain: string) => deps.landing.add(actor, domain),
    verifyLandingDomain: (actor: Actor, id: string) => deps.landing.verify(actor, id),
    removeLandingDomain: (actor: Actor, id: string) => deps.landing.remove(actor, id),

    /** The invite link as a QR code, PNG or SVG. */
    async qrCode(actor: Actor, distributorId: string, format: 'png' | 'svg', size: number): Promise<{ body: Buffer | string; contentType: string }> {
      if (actor.principal.kind === 'distributor') {
        if (actor.principal.distributorId !== distributorId) throw notFound('distributor');
      } else {
        requirePermission(actor.principal, 'read');
      }
      const d = await distributors.load(db, tenantOf(actor.principal), distributorId);
      const url = `${deps.publicUrl}/i/${d.invite_code}`;
      if (format === 'svg') {
        return { body: await QRCode.toString(url, { type: 'svg', errorCorrectionLevel: 'M', margin: 2, width: size }), contentType: 'image/svg+xml' };
      }
      return { body: await QRCode.toBuffer(url, { type: 'png', errorCorrectionLevel: 'M', margin: 2, width: size }), contentType: 'image/png' };
    },
  };
}

export type ReferralService = ReturnType<typeof createReferralService>;
