import type { Outbox } from '../webhooks/outbox.ts';
import { regionFullName } from '../../lib/regions.ts';
import { MESSAGES, zhStatus } from '../../core/error-text.ts';
import type { Db, Executor, Tx } from '../../db/database.ts';
import { advisoryXactLock, advisoryXactLockShared, inTransaction } from '../../db/database.ts';
import type { Actor, Clock } from '../../core/context.ts';
import { AppError, compliance, conflict, invalid, invalidState, isUniqueViolation, notFound } from '../../core/errors.ts';
import { requirePermission, tenantOf } from '../../core/principal.ts';
import type { DistributorStatus } from '../../db/schema.ts';
import type { KeyRing } from '../../lib/crypto.ts';
import { newId } from '../../core/ids.ts';
import { generateInviteCode, normalizeInviteCode } from '../../lib/invite-code.ts';
import type { FileStorage } from '../../adapters/storage/types.ts';
import type { AuditService } from '../audit/service.ts';
import type { CustomerBindingView, CustomersService } from '../customers/service.ts';
import type { ProgramService } from '../program/service.ts';
import { programRepo } from '../program/repo.ts';
import type { RiskService } from '../risk/service.ts';
import { checkIdNumber, createPersonalFields, PROFILE_PERSONAL_KEYS, type PersonalColumns } from '../pii/fields.ts';
import { maskName } from '../pii/mask.ts';
import { distributorsRepo, type DistributorRow } from './repo.ts';
import { createDocuments, DEFAULT_DOCUMENT_LIMITS, type DocumentLimits } from './documents.ts';
import type { ApplicationProfile, ApplicationReview, Conditions, Deposit, DepositBody, Distributor } from './schema.ts';
import { reviewApplication } from './review.ts';
import { unmetConditions } from './admission.ts';
import { normalizeIdNumber } from '../pii/idnumber.ts';
import type { ProgramSettings } from '../program/schema.ts';
import { DEPOSIT_DISTRIBUTOR_PURPOSES, DEPOSIT_TENANT_PURPOSES, type Ledger } from '../ledger/service.ts';
import { latestDepositRefund } from '../withdrawals/deposit-refunds.ts';
import { claimKey, requestHash } from '../idempotency/service.ts';

export const TREE_LOCK = 'tree';

export function normalizePhone(phone: string): string {
  return phone.replace(/[\s-]/g, '');
}

export interface CreateInput {
  external_id: string;
  name: string;
  phone?: string | undefined;
  referrer_code?: string | undefined;
  region_code?: string | undefined;
  real_name?: string | undefined;
  id_number?: string | undefined;
  /** The merchant obtained the person's consent (PIPL); POST /v1/distributors may say so. */
  consent?: boolean | undefined;
  client_ip?: string | undefined;
  device_id?: string | undefined;
  /** A verified one-time code of this phone (POST /v1/phone-verifications), used up by this application. */
  phone_verification_id?: string | undefined;
}

interface CreateOptions {
  source: 'api' | 'application' | 'admin';
  profile?: ApplicationProfile | undefined;
  consent?: boolean;
  /** The caller proved the phone itself (the portal's form texts a code before it applies). */
  phoneVerified?: boolean;
}

/** What the distributors service needs of the phone verifications (modules/verification). */
export interface PhoneVerifications {
  consume(tx: Executor, tenantId: string, id: string, phone: string, distributorId: string): Promise<void>;
}

/**
 * What a distributor's pages show of the referral module: link visits, bound customers, the invite
 * link as a QR code. Handed in by the composition root, since referral itself builds on this service.
 */
export interface DistributorReferrals {
  visitStats(actor: Actor, distributorId: string): Promise<{ visits: number; unique_visitors: number }>;
  listCustomers(
    actor: Actor,
    distributorId: string,
    cursor: string | undefined,
    limit: number,
  ): Promise<{ items: CustomerBindingView[]; next_cursor: string | null }>;
  qrCode(actor: Actor, distributorId: string, format: 'png' | 'svg', size: number): Promise<{ body: Buffer | string; contentType: string }>;
}

export function createDistributorsService(deps: {
  /** distributor.approved for merchants' webhook endpoints, in the approving transaction. */
  outbox: Outbox;
  db: Db;
  clock: Clock;
  audit: AuditService;
  keyring: KeyRing;
  risk: RiskService;
  customers: CustomersService;
  program: ProgramService;
  storage: FileStorage;
  publicUrl: string;
  /** Caps on identity documents (FENXIAO_DOCUMENT_*); the defaults otherwise. */
  documentLimits?: DocumentLimits | undefined;
  /** The referral module's part of a distributor's pages (visits, customers, QR code). */
  referrals?: DistributorReferrals | undefined;
  /** Run in the creating transaction (the ledger opens the distributor's accounts). */
  onCreated?: ((tx: Executor, tenantId: string, distributorId: string) => Promise<void>)[];
  /**
   * Run in the transaction that gave a distributor a phone or ID number, at creation or by a
   * change, with the blind indexes now held (the shared-identity risk rule); may refuse by throwing.
   */
  onIdentity?: ((tx: Executor, tenantId: string, distributorId: string, identities: { kind: 'phone' | 'id_number'; bidx: string }[]) => Promise<void>)[];
  /** Verified phones (the review's phone check); without it, phone_verification_id is refused. */
  phoneVerifications?: PhoneVerifications | undefined;
  /** Run in the transaction that suspended or rejected a distributor (the admin module ends its sessions). */
  onShutOut?: ((tx: Executor, tenantId: string, distributorId: string) => Promise<void>)[];
  /** The ledger: admission deposits are held in each distributor's `deposit` account. */
  ledger?: Ledger | undefined;
}) {
  const { db, clock, audit, keyring, risk, customers, program, storage } = deps;
  // Personal data (phone, real name, ID number, contact) is encrypted at rest and masked here,
  // in every response; whole values only through the pii module (pii:read, audited).
  const personal = createPersonalFields(keyring);
  const documents = createDocuments({
    db,
    audit,
    keyring,
    storage,
    limits: deps.documentLimits ?? DEFAULT_DOCUMENT_LIMITS,
    loadDistributor: (ex, tenantId, id) => load(ex, tenantId, id),
  });

  /** Tells onIdentity of the phone and ID number a distributor holds now and did not before (`before` null: all it holds). */
  async function identityChanged(tx: Executor, tenantId: string, id: string, before: { phone_bidx: string | null; id_number_bidx: string | null } | null) {
    if (!deps.onIdentity?.length) return;
    const now = await distributorsRepo.identityIndexes(tx, id);
    const identities = [
      ...(now.phone_bidx && now.phone_bidx !== before?.phone_bidx ? [{ kind: 'phone' as const, bidx: now.phone_bidx }] : []),
      ...(now.id_number_bidx && now.id_number_bidx !== before?.id_number_bidx ? [{ kind: 'id_number' as const, bidx: now.id_number_bidx }] : []),
    ];
    if (identities.length === 0) return;
    for (const hook of deps.onIdentity) await hook(tx, tenantId, id, identities);
  }

  function referrals(): DistributorReferrals {
    if (!deps.referrals) throw new Error('distributors service: no referrals given (createServices hands them in)');
    return deps.referrals;
  }

  function view(d: DistributorRow): Distributor {
    const masked = personal.mask(d);
    const text = (v: unknown) => (typeof v === 'string' && v !== '' ? v : null);
    return {
      id: d.id,
      external_id: d.external_id,
      name: d.name,
      invite_code: d.invite_code,
      status: d.status,
      referrer_id: d.referrer_id,
      grade: d.grade_code,
      phone: masked.phone,
      real_name: masked.real_name,
      id_number: masked.id_number,
      profile: {
        company: text(d.profile.company),
        licence_no: text(d.profile.licence_no),
        note: text(d.profile.note),
        wechat: masked.wechat,
        email: masked.email,
        address: masked.address,
      },
      consent_at: d.consent_at?.toISOString() ?? null,
      region_code: d.region_code,
      region_name: regionFullName(d.region_code),
      invite_url: `${deps.publicUrl}/i/${d.invite_code}`,
      source: d.source,
      status_reason: d.status_reason,
      created_at: d.created_at.toISOString(),
      approved_at: d.approved_at?.toISOString() ?? null,
    };
  }

  /**
   * What the audit log keeps of a distributor: the view, with the display name masked too. The
   * audit log is append-only and hash-chained, so erasure cannot rewrite it: it must never hold
   * personal data in the first place.
   */
  function auditView(d: DistributorRow) {
    return { ...view(d), name: maskName(d.name) };
  }

  /**
   * The personal columns of a new distributor. Beyond the phone (needed to log in and to perform
   * the distributor agreement), PIPL wants a legal basis; Fenxiao asks for recorded consent before
   * it stores a legal name, an ID number (sensitive personal information) or contact details.
   */
  function personalColumnsOf(input: CreateInput, profile: ApplicationProfile | undefined, consent: boolean): PersonalColumns {
    const realName = input.real_name ?? profile?.real_name;
    const idNumber = input.id_number ?? profile?.id_number;
    const contact = { wechat: profile?.wechat, email: profile?.email, address: profile?.address };
    const beyondPhone = !!realName?.trim() || !!idNumber || Object.values(contact).some((v) => !!v?.trim());
    if (beyondPhone && !consent)
      throw compliance({
        en: "real_name, id_number and contact details need the person's consent: send consent: true once the merchant has obtained it",
        zh: 'real_name、id_number 和联系方式须取得本人同意：商户取得同意后请发送 consent: true',
      });
    return {
      ...personal.phone(input.phone ?? null),
      ...personal.realName(realName ?? null),
      ...personal.idNumber(idNumber ? checkIdNumber(idNumber) : null),
      ...personal.contact(null, contact),
    };
  }

  /** The application profile without its personal fields, which live encrypted in their own columns. */
  function businessProfile(profile: ApplicationProfile | undefined): Record<string, unknown> {
    const personalKeys: readonly string[] = PROFILE_PERSONAL_KEYS;
    return Object.fromEntries(Object.entries(profile ?? {}).filter(([k]) => !personalKeys.includes(k)));
  }

  async function load(ex: Executor, tenantId: string, id: string): Promise<DistributorRow> {
    const d = await distributorsRepo.find(ex, tenantId, id);
    if (!d) throw notFound('distributor');
    return d;
  }

  /** Resolves an invite code within the tenant; codes of other tenants do not exist here. */
  async function byInviteCode(ex: Executor, tenantId: string, input: string): Promise<DistributorRow | undefined> {
    const code = normalizeInviteCode(input);
    if (!code) return undefined;
    const d = await distributorsRepo.findByInviteCode(ex, code);
    return d && d.tenant_id === tenantId ? d : undefined;
  }

  async function insertWithFreshCode(tx: Tx, row: Omit<Parameters<typeof distributorsRepo.insert>[1], 'invite_code'>): Promise<string> {
    for (let attempt = 0; attempt < 8; attempt++) {
      const code = generateInviteCode();
      const taken = await distributorsRepo.findByInviteCode(tx, code);
      if (taken) continue;
      await distributorsRepo.insert(tx, { ...row, invite_code: code });
      return code;
    }
    throw new AppError('internal_error', { en: 'could not draw a free invite code', zh: '未能生成可用的邀请码' });
  }

  function ledgerOf(): Ledger {
    if (!deps.ledger) throw new Error('distributors service: no ledger given (createServices hands it in)');
    return deps.ledger;
  }

  /**
   * Moves `amount` (signed) into the deposit the merchant holds for a distributor, in the caller's
   * transaction: the distributor's `deposit` account (a liability, bounded at zero) is credited
   * and the merchant's `deposit_cash` (the money it holds) debited; a refund the other way.
   */
  async function postDeposit(tx: Tx, tenantId: string, distributorId: string, amount: number, kind: string, memo: string | null): Promise<void> {
    if (amount === 0) return;
    const ledger = ledgerOf();
    await ledger.openAccounts(tx, tenantId, 'tenant', 'tenant', DEPOSIT_TENANT_PURPOSES);
    await ledger.openAccounts(tx, tenantId, 'distributor', distributorId, DEPOSIT_DISTRIBUTOR_PURPOSES);
    await ledger.post(tx, {
      tenantId,
      kind,
      refType: 'distributor',
      refId: distributorId,
      memo: memo ?? undefined,
      legs: [
        { owner: distributorId, purpose: 'deposit', amount },
        { owner: 'tenant', purpose: 'deposit_cash', amount: -amount },
      ],
    });
  }

  async function depositOf(ex: Executor, d: DistributorRow, settings: ProgramSettings): Promise<Deposit> {
    return {
      distributor_id: d.id,
      status: d.status,
      required_fen: settings.admission_conditions.deposit_fen,
      paid_fen: d.deposit_paid_fen,
      refunded_fen: d.deposit_refunded_fen,
      refunding_fen: await ledgerOf().depositRefunding(ex, d.tenant_id, d.id),
      held_fen: await ledgerOf().depositHeld(ex, d.tenant_id, d.id),
      refund: await latestDepositRefund(ex, d.tenant_id, d.id),
    };
  }

  /**
   * Open admission with admission conditions: a distributor waits `pending` until they are met,
   * then becomes active here (under review admission a person approves it once they are met).
   */
  async function admitIfMet(tx: Tx, actor: Actor, d: DistributorRow, settings: ProgramSettings): Promise<DistributorRow> {
    if (settings.admission !== 'open' || d.status !== 'pending') return d;
    if (!(await conditionsOf(tx, d, settings)).met) return d;
    return admit(tx, actor, d, 'open admission: the admission conditions are met');
  }

  /**
   * A pending distributor (`d`, locked by the caller) admitted by itself under open admission,
   * its conditions met: active, a `distributor.approved` event, audited as `distributor.admit`
   * with `reason`. (new_distributors counts registrations, not admissions: nothing for analytics;
   * an application review, if one was stored, keeps its outcome, as on approval.)
   */
  async function admit(tx: Tx, actor: Actor, d: DistributorRow, reason: string): Promise<DistributorRow> {
    const now = clock.now();
    if (!(await distributorsRepo.updateStatus(tx, d.tenant_id, d.id, ['pending'], 'active', { approved_at: now, updated_at: now })))
      throw new Error(`distributor ${d.id} admitted while not pending: its row was not locked`);
    const after = await load(tx, d.tenant_id, d.id);
    await deps.outbox.record(tx, d.tenant_id, [{ type: 'distributor.approved', objectType: 'distributor', objectId: d.id, data: view(after) }]);
    await audit.record(tx, actor, {
      action: 'distributor.admit',
      targetType: 'distributor',
      targetId: d.id,
      before: auditView(d),
      after: auditView(after),
      reason,
    });
    return after;
  }

  async function conditionsOf(ex: Executor, d: DistributorRow, settings: ProgramSettings): Promise<Conditions> {
    const c = settings.admission_conditions;
    const customer = await customers.find(ex, d.tenant_id, d.external_id);
    const purchases = customer?.purchases_fen ?? 0;
    const unmet = unmetConditions(c, d, purchases);
    return {
      deposit_required_fen: c.deposit_fen,
      deposit_paid_fen: d.deposit_paid_fen,
      deposit_refunded_fen: d.deposit_refunded_fen,
      training_required: c.training_required,
      training_completed_at: d.training_completed_at?.toISOString() ?? null,
      min_purchases_fen: c.min_purchases_fen,
      purchases_fen: purchases,
      met: unmet.length === 0,
      unmet,
    };
  }

  /**
   * Moves `d` (and everyone under it) below `newReferrer`. The caller holds the exclusive tree
   * lock. Refuses self-binding and any cycle: the new referrer may not be `d` or below it.
   */
  async function reparent(tx: Tx, d: DistributorRow, newReferrer: DistributorRow | null): Promise<void> {
    if (newReferrer) {
      if (newReferrer.id === d.id) throw compliance({ en: 'a distributor cannot be its own referrer', zh: '分销员不能是自己的推荐人' });
      if (newReferrer.ancestors.includes(d.id))
        throw compliance({
          en: "the new referrer is in this distributor's own downline: that would close a cycle",
          zh: '新推荐人在该分销员自己的下线中：这会形成循环',
        });
    }
    await distributorsRepo.lockSubtree(tx, d.tenant_id, d.id);
    const chain = newReferrer ? [newReferrer.id, ...newReferrer.ancestors] : [];
    await distributorsRepo.rewriteSubtree(tx, d.tenant_id, d.id, newReferrer?.id ?? null, chain, clock.now());
  }

  /**
   * The program's automatic review of a new pending application, in its transaction: the checks
   * (review.ts), the decision stored with its reasons and audited; approved or rejected here, or
   * left pending for a person.
   */
  async function autoReview(
    tx: Tx,
    actor: Actor,
    row: DistributorRow,
    settings: ProgramSettings,
    facts: { phoneVerified: boolean; profile: ApplicationProfile | undefined; idNumber: string | undefined },
  ) {
    const rules = settings.application_review;
    const shared = await distributorsRepo.sharingIdentity(tx, row.tenant_id, row.id, row.phone_bidx, row.id_number_bidx);
    const conditions = await conditionsOf(tx, row, settings);
    const decision = reviewApplication(rules, {
      phoneVerified: facts.phoneVerified,
      company: facts.profile?.company ?? null,
      licenceNo: facts.profile?.licence_no ?? null,
      idNumber: facts.idNumber ? normalizeIdNumber(facts.idNumber) : null,
      sharedPhone: shared.phone,
      sharedIdNumber: shared.idNumber,
      conditionsUnmet: conditions.unmet,
    });
    const now = clock.now();
    await distributorsRepo.insertReview(tx, {
      tenant_id: row.tenant_id,
      distributor_id: row.id,
      outcome: decision.outcome,
      checks: decision.checks,
      rules,
      decided_at: now,
    });
    const failedChecks = decision.checks.filter((c) => c.outcome === 'failed');
    if (decision.outcome === 'approved')
      await distributorsRepo.updateStatus(tx, row.tenant_id, row.id, ['pending'], 'active', { approved_at: now, updated_at: now });
    if (decision.outcome === 'rejected')
      await distributorsRepo.updateStatus(tx, row.tenant_id, row.id, ['pending'], 'rejected', {
        status_reason: `automatic review: ${failedChecks.map((c) => c.reason.en).join('; ')}`,
        updated_at: now,
      });
    const reviewer: Actor = { principal: { kind: 'system', tenantId: row.tenant_id, job: 'application_review' }, requestId: actor.requestId };
    await audit.record(tx, reviewer, {
      action: 'distributor.auto_review',
      targetType: 'distributor',
      targetId: row.id,
      after: { outcome: decision.outcome, checks: decision.checks.map((c) => ({ check: c.check, outcome: c.outcome, reason: c.reason.en })) },
      reason: failedChecks.length ? failedChecks.map((c) => c.reason.en).join('; ') : null,
    });
    const after = await load(tx, row.tenant_id, row.id);
    if (decision.outcome === 'approved')
      await deps.outbox.record(tx, row.tenant_id, [{ type: 'distributor.approved', objectType: 'distributor', objectId: row.id, data: view(after) }]);
    return after;
  }

  async function create(actor: Actor, input: CreateInput, options: CreateOptions): Promise<Distributor> {
    const tenantId = tenantOf(actor.principal);
    const settings = await program.read(db, tenantId);
    if (input.phone_verification_id !== undefined && !input.phone)
      throw invalid({ en: 'phone_verification_id needs the phone it verified', zh: 'phone_verification_id 须与其验证的手机号（phone）一同提交' });
    const pii = personalColumnsOf(input, options.profile, options.consent === true);
    await risk.enforceLimits(
      tenantId,
      'registration',
      { ip: input.client_ip, deviceId: input.device_id, subjectId: input.external_id },
      settings.anti_cheat.registration,
    );
    const now = clock.now();
    try {
      return await inTransaction(db, async (tx) => {
        // Inserts share the tree lock; moves of existing subtrees take it alone (see reparent).
        await advisoryXactLockShared(tx, TREE_LOCK, tenantId);
        let claimed: DistributorRow | undefined;
        if (input.referrer_code !== undefined) {
          claimed = await byInviteCode(tx, tenantId, input.referrer_code);
          if (!claimed) throw invalid(MESSAGES.unknownReferrerCode());
          if (claimed.status !== 'active') throw invalidState({ en: 'the referrer is not an active distributor', zh: '推荐人不是正常状态的分销员' });
        }
        const customer = await customers.lock(tx, tenantId, input.external_id);
        if (await distributorsRepo.findByExternalId(tx, tenantId, input.external_id)) {
          throw conflict(MESSAGES.distributorExists());
        }
        // A customer already bound keeps its binding under the program's rules; the referrer of
        // the new distributor is whoever the customer ends up bound to.
        let referrerId = customer.distributor_id;
        if (claimed && referrerId !== claimed.id) {
          const decision = await customers.apply(tx, actor, tenantId, {
            customerExternalId: input.external_id,
            distributorId: claimed.id,
            source: 'registration',
            rules: settings.binding,
            current: customer,
          });
          if (decision.action !== 'keep') referrerId = claimed.id;
        }
        let ancestors: string[] = [];
        if (referrerId) {
          const referrer = await distributorsRepo.findForShare(tx, tenantId, referrerId);
          if (!referrer) throw notFound('referrer');
          ancestors = [referrer.id, ...referrer.ancestors];
        }
        const grade = await programRepo.lowestGrade(tx, tenantId);
        // Open admission admits at once only when nothing is asked first: with a deposit, training
        // or purchases required, the distributor waits pending until they are met (admitIfMet).
        const ac = settings.admission_conditions;
        const nothingAsked = ac.deposit_fen === 0 && !ac.training_required && customer.purchases_fen >= ac.min_purchases_fen;
        const status: DistributorStatus = settings.admission === 'open' && nothingAsked ? 'active' : 'pending';
        const id = newId('dst');
        await insertWithFreshCode(tx, {
          id,
          tenant_id: tenantId,
          external_id: input.external_id,
          name: input.name,
          ...pii,
          status,
          referrer_id: referrerId,
          ancestors,
          grade_code: grade?.code ?? 'default',
          region_code: input.region_code ?? null,
          // The registering device, as a blind index: the risk rules spot a buyer on the same device.
          device_bidx: input.device_id ? keyring.blindIndex(`device:${input.device_id}`) : null,
          profile: businessProfile(options.profile),
          source: options.source,
          consent_at: options.consent ? now : null,
          approved_at: status === 'active' ? now : null,
          // The service's clock, not the database's: a demo or an import written along its own
          // timeline has its distributors join when they did (issue 16 item 5).
          created_at: now,
        });
        for (const hook of deps.onCreated ?? []) await hook(tx, tenantId, id);
        await identityChanged(tx, tenantId, id, null);
        let phoneVerified = options.phoneVerified === true;
        if (input.phone_verification_id !== undefined && input.phone) {
          if (!deps.phoneVerifications) throw new Error('distributors service: no phoneVerifications given (createServices hands them in)');
          await deps.phoneVerifications.consume(tx, tenantId, input.phone_verification_id, input.phone, id);
          phoneVerified = true;
        }
        let row = await load(tx, tenantId, id);
        // An application that waits for review (admission review): the merchant's systems may review it.
        if (status === 'pending')
          await deps.outbox.record(tx, tenantId, [{ type: 'distributor.applied', objectType: 'distributor', objectId: id, data: view(row) }]);
        if (status === 'pending' && settings.admission !== 'open' && settings.application_review.enabled)
          row = await autoReview(tx, actor, row, settings, {
            phoneVerified,
            profile: options.profile,
            idNumber: input.id_number ?? options.profile?.id_number,
          });
        if (actor.principal.kind === 'admin') {
          await audit.record(tx, actor, { action: 'distributor.create', targetType: 'distributor', targetId: id, after: auditView(row) });
        }
        return view(row);
      });
    } catch (err) {
      if (isUniqueViolation(err, 'distributors_external')) throw conflict(MESSAGES.distributorExists());
      throw err;
    }
  }

  type Transition = { from: DistributorStatus[]; to: DistributorStatus; action: string; needsReason: boolean };
  const TRANSITIONS = {
    approve: { from: ['pending'], to: 'active', action: 'distributor.approve', needsReason: false },
    reject: { from: ['pending'], to: 'rejected', action: 'distributor.reject', needsReason: true },
    suspend: { from: ['active'], to: 'suspended', action: 'distributor.suspend', needsReason: true },
    reactivate: { from: ['suspended'], to: 'active', action: 'distributor.reactivate', needsReason: false },
  } satisfies Record<string, Transition>;

  async function transition(actor: Actor, id: string, name: keyof typeof TRANSITIONS, reason: string | undefined): Promise<Distributor> {
    requirePermission(actor.principal, 'distributors:write');
    const tenantId = tenantOf(actor.principal);
    const t: Transition = TRANSITIONS[name];
    if (t.needsReason && !reason?.trim()) throw invalid(MESSAGES.reasonRequired());
    return inTransaction(db, async (tx) => {
      const before = await distributorsRepo.findForUpdate(tx, tenantId, id);
      if (!before) throw notFound('distributor');
      // Approving an active distributor again answers as the first approval did.
      if (name === 'approve' && before.status === 'active') return view(before);
      if (!t.from.includes(before.status))
        throw invalidState({
          en: `a ${before.status} distributor cannot be ${t.to === 'active' ? 'activated' : t.to}`,
          zh: `状态为${zhStatus(before.status)}的分销员不能${t.to === 'active' ? '激活' : `改为${zhStatus(t.to)}`}`,
        });
      // Approval, and reactivation (a deposit refunded on exit is paid again before coming back).
      if (name === 'approve' || name === 'reactivate') {
        const settings = await program.read(tx, tenantId);
        const c = await conditionsOf(tx, before, settings);
        if (!c.met)
          throw new AppError('admission_conditions_unmet', {
            en: `admission conditions not met: ${c.unmet.join('; ')}`,
            zh: `未满足准入条件：${c.unmet.join('；')}`,
          });
      }
      const now = clock.now();
      await distributorsRepo.updateStatus(tx, tenantId, id, t.from, t.to, {
        status_reason: reason ?? null,
        ...(t.to === 'active' && before.approved_at === null ? { approved_at: now } : {}),
        updated_at: now,
      });
      if (t.to === 'suspended' || t.to === 'rejected') for (const hook of deps.onShutOut ?? []) await hook(tx, tenantId, id);
      const after = await load(tx, tenantId, id);
      if (name === 'approve' || name === 'suspend')
        await deps.outbox.record(tx, tenantId, [
          { type: name === 'approve' ? 'distributor.approved' : 'distributor.suspended', objectType: 'distributor', objectId: id, data: view(after) },
        ]);
      await audit.record(tx, actor, {
        action: t.action,
        targetType: 'distributor',
        targetId: id,
        before: auditView(before),
        after: auditView(after),
        reason: reason ?? null,
      });
      return view(after);
    });
  }

  return {
    view,
    load,
    byInviteCode,
    reparent,
    conditionsOf,

    /**
     * Pending distributors an order batch admits (open admission): the order of `requestId`
     * brought the distributor's own purchases to the minimum with every other condition met, as
     * the batch decided under the distributor's row lock (the `before` row). In the batch's
     * transaction, after its orders and the buyers' purchases are written.
     */
    async admitByPurchases(tx: Tx, tenantId: string, admitted: { before: DistributorRow; requestId: string | null }[]): Promise<void> {
      for (const a of admitted) {
        const actor: Actor = { principal: { kind: 'system', tenantId, job: 'admission' }, requestId: a.requestId };
        await admit(tx, actor, a.before, 'admission conditions met: purchases');
      }
    },

    create(actor: Actor, input: CreateInput): Promise<Distributor> {
      requirePermission(actor.principal, 'distributors:write');
      return create(actor, input, { source: actor.principal.kind === 'admin' ? 'admin' : 'api', consent: input.consent === true });
    },

    /** An application: the profile and documents a reviewer reads, and consent to use them. */
    /** `phoneVerified`: the caller texted the phone a code and got it back (the portal's form). */
    apply(
      actor: Actor,
      input: CreateInput & { profile?: ApplicationProfile | undefined; consent: true },
      opts: { phoneVerified?: boolean } = {},
    ): Promise<Distributor> {
      if (actor.principal.kind !== 'distributor') requirePermission(actor.principal, 'distributors:write');
      return create(actor, input, { source: 'application', profile: input.profile, consent: input.consent, phoneVerified: opts.phoneVerified === true });
    },

    async get(actor: Actor, id: string): Promise<Distributor> {
      requirePermission(actor.principal, 'read');
      return view(await load(db, tenantOf(actor.principal), id));
    },

    async list(
      actor: Actor,
      q: {
        status?: DistributorStatus | undefined;
        grade?: string | undefined;
        q?: string | undefined;
        referrer_id?: string | undefined;
        cursor?: string | undefined;
        limit: number;
      },
    ) {
      requirePermission(actor.principal, 'read');
      const tenantId = tenantOf(actor.principal);
      const phoneLike = q.q && /^\+?[0-9][0-9 -]{3,18}[0-9]$/.test(q.q) ? personal.phoneIndexes(q.q) : undefined;
      const idNumberLike = q.q && /^[1-9][0-9]{16}[0-9Xx]$/.test(q.q) ? personal.idNumberIndexes(q.q) : undefined;
      const rows = await distributorsRepo.list(db, tenantId, {
        ...(q.status ? { status: q.status } : {}),
        ...(q.grade ? { grade: q.grade } : {}),
        ...(q.q ? { q: q.q } : {}),
        ...(phoneLike ? { phoneBidx: phoneLike } : {}),
        ...(idNumberLike ? { idNumberBidx: idNumberLike } : {}),
        ...(q.referrer_id ? { referrerId: q.referrer_id } : {}),
        ...(q.cursor ? { afterId: q.cursor } : {}),
        limit: q.limit + 1,
      });
      const page = rows.slice(0, q.limit);
      return { items: page.map(view), next_cursor: rows.length > q.limit ? (page.at(-1)?.id ?? null) : null };
    },

    async update(
      actor: Actor,
      id: string,
      patch: {
        name?: string | undefined;
        phone?: string | null | undefined;
        region_code?: string | null | undefined;
        grade?: string | undefined;
        reason?: string | undefined;
        real_name?: string | null | undefined;
        id_number?: string | null | undefined;
        wechat?: string | null | undefined;
        email?: string | null | undefined;
        address?: string | null | undefined;
        consent?: true | undefined;
      },
    ): Promise<Distributor> {
      requirePermission(actor.principal, 'distributors:write');
      const tenantId = tenantOf(actor.principal);
      const idNumber = patch.id_number ? checkIdNumber(patch.id_number) : patch.id_number;
      return inTransaction(db, async (tx) => {
        const before = await distributorsRepo.findForUpdate(tx, tenantId, id);
        if (!before) throw notFound('distributor');
        if (before.status === 'erased') throw invalidState({ en: 'an erased distributor cannot be changed', zh: '已删除个人信息的分销员不能修改' });
        if (patch.grade !== undefined && !(await programRepo.findGrade(tx, tenantId, patch.grade))) throw invalid({ en: 'unknown grade', zh: '未知的等级' });
        const contactChanged = patch.wechat !== undefined || patch.email !== undefined || patch.address !== undefined;
        const adds = [patch.real_name, idNumber, patch.wechat, patch.email, patch.address].some((v) => typeof v === 'string' && v.trim() !== '');
        if (adds && before.consent_at === null && patch.consent !== true)
          throw compliance({
            en: "real_name, id_number and contact details need the person's consent: send consent: true once the merchant has obtained it",
            zh: 'real_name、id_number 和联系方式须取得本人同意：商户取得同意后请发送 consent: true',
          });
        const now = clock.now();
        await distributorsRepo.update(tx, tenantId, id, {
          ...(patch.name !== undefined ? { name: patch.name } : {}),
          ...(patch.phone !== undefined ? personal.phone(patch.phone) : {}),
          ...(patch.real_name !== undefined ? personal.realName(patch.real_name) : {}),
          ...(idNumber !== undefined ? personal.idNumber(idNumber) : {}),
          ...(contactChanged ? personal.contact(before, { wechat: patch.wechat, email: patch.email, address: patch.address }) : {}),
          ...(patch.consent === true && before.consent_at === null ? { consent_at: now } : {}),
          ...(patch.region_code !== undefined ? { region_code: patch.region_code } : {}),
          ...(patch.grade !== undefined ? { grade_code: patch.grade } : {}),
          updated_at: now,
        });
        await identityChanged(tx, tenantId, id, before);
        const after = await load(tx, tenantId, id);
        await audit.record(tx, actor, {
          action: 'distributor.update',
          targetType: 'distributor',
          targetId: id,
          before: auditView(before),
          after: auditView(after),
          reason: patch.reason ?? null,
        });
        return view(after);
      });
    },

    /** The automatic review of an application, as stored when it was decided. */
    async review(actor: Actor, id: string): Promise<ApplicationReview> {
      requirePermission(actor.principal, 'read');
      const tenantId = tenantOf(actor.principal);
      await load(db, tenantId, id);
      const r = await distributorsRepo.findReview(db, tenantId, id);
      if (!r) throw notFound('application review');
      return {
        distributor_id: r.distributor_id,
        outcome: r.outcome,
        checks: r.checks as ApplicationReview['checks'],
        rules: r.rules,
        decided_at: r.decided_at.toISOString(),
      };
    },

    approve: (actor: Actor, id: string) => transition(actor, id, 'approve', undefined),
    reject: (actor: Actor, id: string, reason: string) => transition(actor, id, 'reject', reason),
    suspend: (actor: Actor, id: string, reason: string) => transition(actor, id, 'suspend', reason),
    reactivate: (actor: Actor, id: string, reason?: string) => transition(actor, id, 'reactivate', reason),

    async conditions(actor: Actor, id: string): Promise<Conditions> {
      requirePermission(actor.principal, 'read');
      const tenantId = tenantOf(actor.principal);
      return conditionsOf(db, await load(db, tenantId, id), await program.read(db, tenantId));
    },

    /** Records what the applicant has done towards admission: deposit received, training. */
    async recordConditions(
      actor: Actor,
      id: string,
      input: { deposit_paid_fen?: number | undefined; training_completed?: boolean | undefined },
    ): Promise<Conditions> {
      requirePermission(actor.principal, 'distributors:write');
      const tenantId = tenantOf(actor.principal);
      return inTransaction(db, async (tx) => {
        const before = await distributorsRepo.findForUpdate(tx, tenantId, id);
        if (!before) throw notFound('distributor');
        // Money received is finance's to record (as on POST /v1/distributors/{id}/deposit); the
        // console's form sends the total unchanged with the training, which anyone may record.
        if (input.deposit_paid_fen !== undefined && input.deposit_paid_fen !== before.deposit_paid_fen) requirePermission(actor.principal, 'finance:write');
        if (input.deposit_paid_fen !== undefined && input.deposit_paid_fen !== before.deposit_paid_fen && before.deposit_refunding_fen > 0)
          throw invalidState({ en: 'a refund of the deposit is under way', zh: '保证金退还正在进行中' });
        if (input.deposit_paid_fen !== undefined && input.deposit_paid_fen < before.deposit_refunded_fen)
          throw invalid({ en: 'deposit paid cannot be less than what was refunded', zh: '已缴保证金不能少于已退还的金额' });
        const now = clock.now();
        if (input.deposit_paid_fen !== undefined)
          await postDeposit(
            tx,
            tenantId,
            id,
            input.deposit_paid_fen - before.deposit_paid_fen,
            'deposit_received',
            'deposit received: total set by the conditions',
          );
        await distributorsRepo.update(tx, tenantId, id, {
          ...(input.deposit_paid_fen !== undefined ? { deposit_paid_fen: input.deposit_paid_fen } : {}),
          ...(input.training_completed !== undefined ? { training_completed_at: input.training_completed ? (before.training_completed_at ?? now) : null } : {}),
          updated_at: now,
        });
        const after = await load(tx, tenantId, id);
        await audit.record(tx, actor, {
          action: 'distributor.conditions',
          targetType: 'distributor',
          targetId: id,
          before: { deposit_paid_fen: before.deposit_paid_fen, training_completed_at: before.training_completed_at },
          after: { deposit_paid_fen: after.deposit_paid_fen, training_completed_at: after.training_completed_at },
        });
        const settings = await program.read(tx, tenantId);
        return conditionsOf(tx, await admitIfMet(tx, actor, after, settings), settings);
      });
    },

    /**
     * Finance records a deposit received (POST /v1/distributors/{id}/deposit, Idempotency-Key):
     * added to what was received before, held on the ledger; never more than the program asks.
     * Under open admission a pending distributor whose conditions are now met becomes active.
     */
    async recordDeposit(actor: Actor, id: string, body: DepositBody, idempotencyKey: string | undefined): Promise<Deposit> {
      requirePermission(actor.principal, 'finance:write');
      const tenantId = tenantOf(actor.principal);
      return inTransaction(db, async (tx) => {
        let claim: { save(status: number, body: unknown): Promise<void> } | null = null;
        if (idempotencyKey !== undefined) {
          const claimed = await claimKey<Deposit>(tx, tenantId, `deposit:${id}`, idempotencyKey, requestHash(body));
          if (claimed.replay) return claimed.answer;
          claim = claimed.claim;
        }
        const before = await distributorsRepo.findForUpdate(tx, tenantId, id);
        if (!before) throw notFound('distributor');
        if (before.status === 'erased' || before.status === 'rejected')
          throw invalidState({ en: `a ${before.status} distributor pays no deposit`, zh: `状态为${zhStatus(before.status)}的分销员无需缴纳保证金` });
        if (before.deposit_refunding_fen > 0)
          throw invalidState({
            en: 'a refund of the deposit is under way: record money received once it is paid or has failed',
            zh: '保证金退还正在进行中：请在退还完成或失败后再登记收款',
          });
        const settings = await program.read(tx, tenantId);
        const required = settings.admission_conditions.deposit_fen;
        const held = before.deposit_paid_fen - before.deposit_refunded_fen;
        if (held + body.amount_fen > required)
          throw invalidState({
            en: `the deposit required is ${required} fen and ${held} fen is held: at most ${Math.max(0, required - held)} fen more can be received`,
            zh: `所需保证金为 ${required} 分，已持有 ${held} 分：至多还可收取 ${Math.max(0, required - held)} 分`,
          });
        await distributorsRepo.update(tx, tenantId, id, { deposit_paid_fen: before.deposit_paid_fen + body.amount_fen, updated_at: clock.now() });
        await postDeposit(tx, tenantId, id, body.amount_fen, 'deposit_received', body.reference ?? null);
        const after = await load(tx, tenantId, id);
        await audit.record(tx, actor, {
          action: 'distributor.deposit_received',
          targetType: 'distributor',
          targetId: id,
          before: { deposit_paid_fen: before.deposit_paid_fen, held_fen: held },
          after: { deposit_paid_fen: after.deposit_paid_fen, held_fen: held + body.amount_fen, reference: body.reference ?? null },
        });
        const answer = await depositOf(tx, await admitIfMet(tx, actor, after, settings), settings);
        await claim?.save(200, answer);
        return answer;
      });
    },

    /** The deposit held for a distributor, from its ledger account. */
    async deposit(actor: Actor, id: string): Promise<Deposit> {
      requirePermission(actor.principal, 'read');
      const tenantId = tenantOf(actor.principal);
      return depositOf(db, await load(db, tenantId, id), await program.read(db, tenantId));
    },

    /**
     * An admin moves a distributor (and its team) to another referrer, or to none, with a reason.
     * Audited; orders already paid keep the chain frozen on them.
     */
    async move(actor: Actor, id: string, input: { referrer_id: string | null; reason: string }): Promise<Distributor> {
      requirePermission(actor.principal, 'distributors:write');
      const tenantId = tenantOf(actor.principal);
      return inTransaction(db, async (tx) => {
        await advisoryXactLock(tx, TREE_LOCK, tenantId);
        const before = await distributorsRepo.findForUpdate(tx, tenantId, id);
        if (!before) throw notFound('distributor');
        const target = input.referrer_id === null ? null : await distributorsRepo.find(tx, tenantId, input.referrer_id);
        if (input.referrer_id !== null && !target) throw invalid({ en: 'unknown referrer_id', zh: '未知的 referrer_id' });
        if (before.referrer_id === (target?.id ?? null))
          throw invalidState({ en: 'the distributor already has this referrer', zh: '该分销员的推荐人已是此人' });
        await reparent(tx, before, target ?? null);
        await customers.lock(tx, tenantId, before.external_id);
        await customers.move(tx, actor, tenantId, before.external_id, before.referrer_id, target?.id ?? null, input.reason);
        const after = await load(tx, tenantId, id);
        await audit.record(tx, actor, {
          action: 'distributor.move',
          targetType: 'distributor',
          targetId: id,
          before: { referrer_id: before.referrer_id, ancestors: before.ancestors },
          after: { referrer_id: after.referrer_id, ancestors: after.ancestors },
          reason: input.reason,
        });
        return view(after);
      });
    },

    async upline(actor: Actor, id: string) {
      requirePermission(actor.principal, 'read');
      const tenantId = tenantOf(actor.principal);
      const d = await load(db, tenantId, id);
      const rows = await distributorsRepo.findMany(db, tenantId, d.ancestors);
      const byId = new Map(rows.map((r) => [r.id, r]));
      return d.ancestors.map((aid, i) => {
        const a = byId.get(aid);
        if (!a) throw new Error(`ancestor ${aid} of ${id} is missing`);
        return {
          level: i + 1,
          id: a.id,
          external_id: a.external_id,
          name: a.name,
          status: a.status,
          grade: a.grade_code,
          invite_code: a.invite_code,
          joined_at: a.created_at.toISOString(),
        };
      });
    },

    async downline(actor: Actor, id: string, level: 1 | 2 | 3, cursor: string | undefined, limit: number) {
      requirePermission(actor.principal, 'read');
      const tenantId = tenantOf(actor.principal);
      await load(db, tenantId, id);
      const rows = await distributorsRepo.downline(db, tenantId, id, level, cursor, limit + 1);
      const page = rows.slice(0, limit);
      return {
        items: page.map((a) => ({
          id: a.id,
          external_id: a.external_id,
          name: a.name,
          status: a.status,
          grade: a.grade_code,
          level,
          invite_code: a.invite_code,
          joined_at: a.created_at.toISOString(),
        })),
        next_cursor: rows.length > limit ? (page.at(-1)?.id ?? null) : null,
      };
    },

    async team(actor: Actor, id: string) {
      requirePermission(actor.principal, 'read');
      const tenantId = tenantOf(actor.principal);
      await load(db, tenantId, id);
      const [direct, level2, level3, total] = await Promise.all([
        distributorsRepo.countLevel(db, tenantId, id, 1),
        distributorsRepo.countLevel(db, tenantId, id, 2),
        distributorsRepo.countLevel(db, tenantId, id, 3),
        distributorsRepo.countSubtree(db, tenantId, id),
      ]);
      return { direct, level2, level3, total };
    },

    /** Identity documents: typed by their bytes, encrypted at rest, capped, deleted by a reviewer (documents.ts). */
    uploadDocument: (actor: Actor, id: string, file: { kind: string; filename: string; claimedType: string; data: Buffer }) =>
      documents.upload(actor, id, file),
    listDocuments: (actor: Actor, id: string) => documents.list(actor, id),
    readDocument: (actor: Actor, docId: string) => documents.read(actor, docId),
    documentsOwnedBy: (tenantId: string, distributorId: string) => documents.ownedBy(tenantId, distributorId),
    readDocumentOwnedBy: (actor: Actor, tenantId: string, distributorId: string, docId: string) => documents.readOwnedBy(actor, tenantId, distributorId, docId),
    deleteDocument: (actor: Actor, docId: string, reason: string | undefined) => documents.remove(actor, docId, reason),
    encryptLegacyDocuments: (limit: number) => documents.encryptLegacy(limit),
    plaintextDocuments: () => documents.plaintextCount(),
    documentLimits: documents.limits,

    /** The profile page: the distributor, its team counts, admission conditions and link visits. */
    async profile(actor: Actor, id: string) {
      const [distributor, teamCounts, conds, visits] = await Promise.all([
        this.get(actor, id),
        this.team(actor, id),
        this.conditions(actor, id),
        referrals().visitStats(actor, id),
      ]);
      return { distributor, team: teamCounts, conditions: conds, visits };
    },
    /** Customers bound to the distributor (the referral module's bindings). */
    listCustomers: (actor: Actor, id: string, cursor: string | undefined, limit: number) => referrals().listCustomers(actor, id, cursor, limit),
    /** The invite link as a QR code, PNG or SVG. */
    qrCode: (actor: Actor, id: string, format: 'png' | 'svg', size: number) => referrals().qrCode(actor, id, format, size),
  };
}

export type DistributorsService = ReturnType<typeof createDistributorsService>;
