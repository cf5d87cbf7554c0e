import type { Db } from '../db/database.ts';
import type { Clock } from '../core/context.ts';
import type { KeyRing } from '../lib/crypto.ts';
import type { RateLimiter } from '../adapters/ratelimit/types.ts';
import type { SmsSender } from '../adapters/sms/types.ts';
import type { FileStorage } from '../adapters/storage/types.ts';
import type { Principal } from '../core/principal.ts';
import { safeEqual } from '../lib/crypto.ts';
import { createAuditService } from '../modules/audit/service.ts';
import { createTenantsService } from '../modules/tenants/service.ts';
import { createAdminService } from '../modules/admin/service.ts';
import { createProgramService } from '../modules/program/service.ts';
import { createRiskService } from '../modules/risk/service.ts';
import { createCustomersService } from '../modules/customers/service.ts';
import { createDistributorsService } from '../modules/distributors/service.ts';
import type { DocumentLimits } from '../modules/distributors/documents.ts';
import { createReferralService } from '../modules/referral/service.ts';
import { createLandingDomains, type ResolveTxt } from '../modules/referral/landing.ts';
import { systemResolveTxt } from '../adapters/dns.ts';
import { createPortalService } from '../modules/portal/service.ts';
import { createLedger } from '../modules/ledger/service.ts';
import type { LedgerCheck } from '../modules/ledger/verify.ts';
import { createRulesService } from '../modules/rules/service.ts';
import { createGradesService } from '../modules/grades/service.ts';
import { createOrdersService } from '../modules/orders/service.ts';
import { createCommissionsService } from '../modules/commissions/service.ts';
import { createSettlementService } from '../modules/settlement/service.ts';
import { createJobs } from '../modules/jobs/service.ts';
import { createWithdrawalsService, type PayoutWorkerLog } from '../modules/withdrawals/service.ts';
import { createComplianceService } from '../modules/compliance/service.ts';
import { createPayoutAccountsService } from '../modules/withdrawals/accounts.ts';
import { createPiiService } from '../modules/pii/service.ts';
import { createAnalyticsRecorder } from '../modules/analytics/recorder.ts';
import { createAnalyticsService } from '../modules/analytics/service.ts';
import { createReconciliationService } from '../modules/reconciliation/service.ts';
import { RECONCILIATION_LEDGER_CHECKS } from '../modules/reconciliation/checks.ts';
import { AGENT_LEDGER_CHECKS } from '../modules/agents/checks.ts';
import { DEPOSIT_LEDGER_CHECKS } from '../modules/distributors/checks.ts';
import { createAgentOrderPath } from '../modules/agents/order-path.ts';
import { createAgentsService } from '../modules/agents/service.ts';
import { createAgentApplications } from '../modules/agents/applications.ts';
import { createExportsService } from '../modules/exports/service.ts';
import { createIngestService } from '../modules/ingest/service.ts';
import { createPilotsService } from '../modules/pilots/service.ts';
import type { PayoutChannels } from '../adapters/payout/index.ts';
import { createOutbox } from '../modules/webhooks/outbox.ts';
import { createWebhooksService } from '../modules/webhooks/service.ts';
import { createLogisticsService } from '../modules/logistics/service.ts';
import { systemResolveHost, type ResolveHost } from '../adapters/webhooks/http.ts';
import { createWechatMpClient, type WechatMpClient } from '../adapters/wechat/mp.ts';
import type { TokenCache } from '../adapters/wechat/token-cache.ts';
import { createWechatService } from '../modules/wechat/service.ts';
import { createDbTokenCache } from '../modules/wechat/token-cache-db.ts';
import { createPhoneVerificationService } from '../modules/verification/service.ts';

export interface ServiceDeps {
  db: Db;
  /** Database.keyed: the order path's batch transactions (generic plans). Default: db. */
  keyedDb?: Db | undefined;
  clock: Clock;
  keyring: KeyRing;
  limiter: RateLimiter;
  sms: SmsSender;
  storage: FileStorage;
  publicUrl: string;
  rootToken: string | undefined;
  payoutChannels: PayoutChannels;
  /** Group commit of orders: the most orders one transaction writes, and batches of a tenant at once. */
  orderBatchMax?: number | undefined;
  orderBatchesInFlight?: number | undefined;
  /** Settlement runs: distributors per transaction, and how long a run may go unrenewed before another process takes it over. */
  settlementBatch?: number | undefined;
  /** Batches of a settlement run in flight at once, each on its own connection. */
  settlementWorkers?: number | undefined;
  settlementLeaseMs?: number | undefined;
  /** Called after each committed batch of a settlement run (tests stop a run between batches). */
  settlementAfterBatch?: ((runId: string, batch: number) => void | Promise<void>) | undefined;
  /** Where the payout worker reports failures (the server's log); stderr when left out. */
  payoutLog?: PayoutWorkerLog | undefined;
  /** Submit a payout as soon as it is handed off (default); tests drive the worker themselves. */
  submitPayoutsInline?: boolean;
  /** DNS TXT lookups for landing domain verification (tests hand in their own records); the system resolver otherwise. */
  resolveTxt?: ResolveTxt | undefined;
  /** Caps on identity documents (FENXIAO_DOCUMENT_*); the defaults when left out. */
  documentLimits?: DocumentLimits | undefined;
  /** Outbound webhooks: host lookups (tests hand in their own), loopback/private targets allowed, and the worker's wake-up. */
  webhooks?: { resolve?: ResolveHost | undefined; allowPrivate?: boolean | undefined; nudge?: (() => void) | undefined } | undefined;
  /** WeChat's official-account API (base URLs from the config) and where its tokens are cached (Redis, else the database). */
  wechatMp?: WechatMpClient | undefined;
  wechatTokens?: TokenCache | undefined;
}

/** The composition root: every service, built once with exactly what it uses. */
export function createServices(deps: ServiceDeps) {
  const { db, clock } = deps;
  // Business events for merchants' webhook endpoints, each recorded in its cause's transaction.
  const outbox = createOutbox({ clock });
  const audit = createAuditService({ clock });
  const rules = createRulesService({ db, clock, audit, program: { read: (ex, tenantId) => program.read(ex, tenantId) } });
  // Where the invite links may land: verified domains, checked when landing_url is set and at each redirect.
  const landing = createLandingDomains({
    db,
    clock,
    audit,
    publicUrl: deps.publicUrl,
    resolveTxt: deps.resolveTxt ?? systemResolveTxt,
    landingUrlOf: async (ex, tenantId) => (await program.read(ex, tenantId)).landing_url,
  });
  const program = createProgramService({
    db,
    clock,
    audit,
    // Every change of the program or a grade is recorded with its effective time (issue 11).
    timeline: rules.timeline,
    validate: [
      (tx, tenantId, before, after) => (after.landing_url === before.landing_url ? Promise.resolve() : landing.check(tx, tenantId, after.landing_url)),
    ],
  });
  // Rollups kept in the transaction of each event: whoever writes an event tells it, explicitly (the
  // order path its orders and refunds, settlement, withdrawals, commissions and risk their journals).
  const analyticsRecorder = createAnalyticsRecorder({ clock, program });
  // Invariant checks other modules own (withdrawals, payouts), run by `ledger verify` after the ledger's own.
  const ledgerChecks: LedgerCheck[] = [...RECONCILIATION_LEDGER_CHECKS, ...AGENT_LEDGER_CHECKS, ...DEPOSIT_LEDGER_CHECKS];
  // Background jobs (settlement, exports, ledger verification) are rows any process answers.
  const jobs = createJobs({ db, clock });
  const ledger = createLedger({
    db,
    clock,
    jobs,
    checks: ledgerChecks,
  });
  const admin = createAdminService({ db, clock, audit, limiter: deps.limiter, keyring: deps.keyring });
  const tenants = createTenantsService({
    db,
    clock,
    audit,
    onSuspended: [
      async (tx, tenantId) => {
        await admin.endTenantSessions(tx, tenantId);
      },
    ],
    setup: [
      program,
      {
        initialize: async (tx, tenantId) => {
          await rules.timeline.start(tx, tenantId);
        },
      },
      { initialize: (tx, tenantId) => ledger.openTenant(tx, tenantId) },
    ],
  });
  const risk = createRiskService({ db, clock, limiter: deps.limiter, ledger, analytics: analyticsRecorder, audit, program, outbox });
  const customers = createCustomersService({
    clock,
    onBound: [(tx, tenantId, bindings) => analyticsRecorder.record(tx, { type: 'bound', tenantId, bindings })],
  });
  const phoneVerifications = createPhoneVerificationService({ db, clock, keyring: deps.keyring, limiter: deps.limiter, sms: deps.sms, tenants });
  const distributors = createDistributorsService({
    phoneVerifications,
    db,
    clock,
    audit,
    ledger,
    keyring: deps.keyring,
    risk,
    customers,
    program,
    storage: deps.storage,
    publicUrl: deps.publicUrl,
    documentLimits: deps.documentLimits,
    outbox,
    // Referral builds on this service; its part of a distributor's pages is called late, once both exist.
    referrals: {
      visitStats: (actor, id) => referral.visitStats(actor, id),
      listCustomers: (actor, id, cursor, limit) => referral.listCustomers(actor, id, cursor, limit),
      qrCode: (actor, id, format, size) => referral.qrCode(actor, id, format, size),
    },
    onCreated: [
      (tx, tenantId, id) => ledger.openDistributor(tx, tenantId, id),
      (tx, tenantId, id) => analyticsRecorder.record(tx, { type: 'distributor_created', tenantId, distributorId: id }),
    ],
    // A suspended or rejected distributor's sessions end with the change.
    onShutOut: [(tx, tenantId, id) => admin.endSessionsOf(tx, tenantId, 'distributor', id)],
    // One identity behind several distributors: flagged, held, or (block) refused here.
    onIdentity: [risk.refuseSharedIdentity],
  });
  const referral = createReferralService({
    db,
    clock,
    audit,
    risk,
    customers,
    distributors,
    program,
    publicUrl: deps.publicUrl,
    landing,
    secureCookies: deps.publicUrl.startsWith('https:'),
    onVisit: [(tx, tenantId, distributorId, at, timezone) => analyticsRecorder.record(tx, { type: 'visit', tenantId, distributorId, at, timezone })],
  });

  const grades = createGradesService({ db, clock });
  // Pilots (灰度): rule changes for a cohort of sellers, read by the order batch.
  const pilots = createPilotsService({ db, clock, audit, timeline: rules.timeline });
  const orders = createOrdersService({
    pilots: pilots.orderPath,
    db,
    batchDb: deps.keyedDb,
    clock,
    program,
    rules,
    ledger,
    customers,
    referral,
    distributors,
    grades,
    risk,
    deviceIndex: (deviceId) => deps.keyring.blindIndex(`device:${deviceId}`),
    analytics: analyticsRecorder,
    outbox,
    agents: createAgentOrderPath({ ledger }),
    maxBatch: deps.orderBatchMax,
    maxInFlight: deps.orderBatchesInFlight,
  });
  const portal = createPortalService({
    db,
    clock,
    keyring: deps.keyring,
    storage: deps.storage,
    audit,
    admin,
    tenants,
    distributors,
    referral,
    publicUrl: deps.publicUrl,
    limiter: deps.limiter,
    sms: deps.sms,
    program,
    payoutChannels: deps.payoutChannels,
    orders,
  });
  const agents = createAgentsService({ db, clock, audit, ledger, outbox, program });
  const agentApplications = createAgentApplications({
    db,
    clock,
    audit,
    outbox,
    appointIn: agents.appointIn,
    documents: { ownedBy: distributors.documentsOwnedBy, readOwnedBy: distributors.readDocumentOwnedBy },
  });
  const commissions = createCommissionsService({ db, clock, ledger, analytics: analyticsRecorder, program, rules, grades, audit, outbox });

  const settlement = createSettlementService({
    db,
    clock,
    audit,
    ledger,
    analytics: analyticsRecorder,
    program,
    commissions,
    jobs,
    outbox,
    batchSize: deps.settlementBatch,
    workers: deps.settlementWorkers,
    leaseMs: deps.settlementLeaseMs,
    afterBatch: deps.settlementAfterBatch,
  });
  const analytics = createAnalyticsService({ db, clock, program, ledger });
  const payoutAccounts = createPayoutAccountsService({
    db,
    clock,
    keyring: deps.keyring,
    audit,
    // The same for a payout account's holder.
    onAdded: [risk.refuseSharedPayoutAccount],
  });
  // Payouts handed to an online channel are submitted at once, off the request; the scheduler's
  // poll picks up anything this misses (a crash, a busy process).
  const withdrawals = createWithdrawalsService({
    db,
    clock,
    audit,
    ledger,
    analytics: analyticsRecorder,
    program,
    channels: deps.payoutChannels,
    accounts: payoutAccounts,
    outbox,
    log: deps.payoutLog,
    ...(deps.submitPayoutsInline === false
      ? {}
      : {
          onHandoff: (payoutId: string) => {
            setImmediate(() => {
              withdrawals.workInBackground(payoutId);
            });
          },
        }),
  });
  const pii = createPiiService({ db, clock, audit, keyring: deps.keyring, storage: deps.storage, ledger, program, distributors });

  const reconciliation = createReconciliationService({ db, program });
  const compliance = createComplianceService({ db, clock, program, moreFindings: [(tenantId) => agents.complianceFindings(tenantId)] });
  const exportsService = createExportsService({ db, program, reconciliation });
  // Orders from merchants' shops by signed webhook, and the RabbitMQ consumer's shared part.
  // A purchase order paid online through the deployment's WeChat Pay merchant or Alipay app is
  // verified with the keys its payouts use.
  const ingest = createIngestService({
    db,
    clock,
    keyring: deps.keyring,
    audit,
    orders,
    agents,
    publicUrl: deps.publicUrl,
    paymentChannels: deps.payoutChannels,
  });
  const webhooks = createWebhooksService({
    db,
    clock,
    keyring: deps.keyring,
    audit,
    resolve: deps.webhooks?.resolve ?? systemResolveHost,
    allowPrivate: deps.webhooks?.allowPrivate ?? false,
    nudge: () => deps.webhooks?.nudge?.(),
  });
  // Carriers' tracking pushes move orders to shipped and received through the order path.
  const logistics = createLogisticsService({ db, clock, keyring: deps.keyring, audit, orders, publicUrl: deps.publicUrl });

  // WeChat sign-in (网页授权), the JS-SDK signature and the transfer confirmation (docs/wechat.md).
  const wechat = createWechatService({
    db,
    clock,
    keyring: deps.keyring,
    audit,
    admin,
    tenants,
    distributors,
    payoutAccounts,
    withdrawals,
    wechatPay: () => deps.payoutChannels.wechat,
    mp: deps.wechatMp ?? createWechatMpClient(),
    tokens: deps.wechatTokens ?? createDbTokenCache(db, clock),
    publicUrl: deps.publicUrl,
  });

  async function authenticate(token: string): Promise<Principal | null> {
    if (deps.rootToken && safeEqual(token, deps.rootToken)) return { kind: 'root' };
    if (token.startsWith('fxk_')) return tenants.authenticateKey(token);
    return admin.authenticateSession(token);
  }

  return {
    db,
    clock,
    sms: deps.sms,
    phoneVerifications,
    audit,
    ledger,
    rules,
    program,
    pilots,
    tenants,
    admin,
    risk,
    customers,
    distributors,
    referral,
    landing,
    portal,
    grades,
    orders,
    agents,
    agentApplications,
    commissions,
    settlement,
    jobs,
    analytics,
    payoutAccounts,
    withdrawals,
    pii,
    payoutChannels: deps.payoutChannels,
    authenticate,
    reconciliation,
    compliance,
    exports: exportsService,
    ingest,
    outbox,
    webhooks,
    logistics,
    wechat,
    /** Invariant checks other modules add to `ledger verify` (withdrawals, payouts). */
    ledgerChecks,
  };
}

export type Services = ReturnType<typeof createServices>;
