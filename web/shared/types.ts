import type { Static } from '@sinclair/typebox';
import type * as DistributorSchemas from '../../src/modules/distributors/schema.ts';
import type * as ProgramSchemas from '../../src/modules/program/schema.ts';
import type * as PortalSchemas from '../../src/modules/portal/schema.ts';
import type * as OrderSchemas from '../../src/modules/orders/schema.ts';
import type * as ReconciliationSchemas from '../../src/modules/reconciliation/schema.ts';
import type * as AnalyticsSchemas from '../../src/modules/analytics/schema.ts';
import type * as RulesSchemas from '../../src/modules/rules/schema.ts';
import type * as PiiSchemas from '../../src/modules/pii/schema.ts';
import type * as AgentSchemas from '../../src/modules/agents/schema.ts';
import type { AdminRole } from '../../src/db/schema.ts';

/**
 * The API's shapes, taken from the server's TypeBox schemas (type-only imports: nothing of the
 * server is bundled). A change of a route schema shows up here at `npm run typecheck:web`.
 */
export type Distributor = Static<typeof DistributorSchemas.Distributor>;
export type ApplicationReview = Static<typeof DistributorSchemas.ApplicationReview>;
export type DistributorStatus = Distributor['status'];
export type TeamMember = Static<typeof DistributorSchemas.TeamMember>;
export type TeamCounts = Static<typeof DistributorSchemas.TeamCounts>;
export type Conditions = Static<typeof DistributorSchemas.Conditions>;
/** GET /v1/distributors/{id}/deposit (the merchant's view). */
export type Deposit = Static<typeof DistributorSchemas.Deposit>;
/** The portal's GET /v1/me/deposit (no internal fields of the refund). */
export type MyDeposit = Static<typeof PortalSchemas.MyDeposit>;
export type DocumentView = Static<typeof DistributorSchemas.DocumentView>;
export type ProgramSettings = Static<typeof ProgramSchemas.ProgramSettings>;
export type Grade = Static<typeof ProgramSchemas.Grade>;
export type GradeBody = Static<typeof ProgramSchemas.GradeBody>;
export type Tier = Static<typeof ProgramSchemas.TierSchema>;
export type UpgradeRule = Static<typeof ProgramSchemas.UpgradeRule>;
export type OrderView = Static<typeof OrderSchemas.OrderView>;
export type OrderStatus = OrderView['status'];
export type OrderItem = OrderView['items'][number];
export type CommissionLine = Static<typeof OrderSchemas.CommissionLine>;
export type CommissionStatus = CommissionLine['status'];
export type WithdrawalRules = Static<typeof PortalSchemas.WithdrawalRules>;
export type AnalyticsKpis = Static<typeof AnalyticsSchemas.Kpis>;
export type AnalyticsSeries = Static<typeof AnalyticsSchemas.Series>;
export type AnalyticsBreakdown = Static<typeof AnalyticsSchemas.Breakdown>;
export type AnalyticsTop = Static<typeof AnalyticsSchemas.Top>;
export type AnalyticsFunnel = Static<typeof AnalyticsSchemas.Funnel>;
export type TerritorySales = Static<typeof AgentSchemas.TerritorySales>;
export type TerritoryReport = Static<typeof AgentSchemas.TerritoryReport>;
export type MyEarnings = Static<typeof AnalyticsSchemas.Earnings>;
export type SeriesMetric = (typeof AnalyticsSchemas.METRICS)[number];
export type ReconciliationReport = Static<typeof ReconciliationSchemas.ReconciliationReport>;
export type ReconciliationItem = ReconciliationReport['items'][number];
export type Mismatch = ReconciliationReport['mismatches'][number];
export type ReconciliationTotals = ReconciliationReport['totals']['overall'];
export type Me = Static<typeof PortalSchemas.Me>;
export type PortalTeamMember = Static<typeof PortalSchemas.PortalTeamMember>;
export type Invite = Static<typeof PortalSchemas.Invite>;
export type PortalSession = Static<typeof PortalSchemas.PortalSession>;
export type ApplyStarted = Static<typeof PortalSchemas.ApplyStarted>;
export type PortalSettingsView = Static<typeof PortalSchemas.PortalSettingsView>;
export type PortalOrder = Static<typeof PortalSchemas.PortalOrder>;
export type { AdminRole };

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

// Shapes declared inline in their routes (src/modules/admin/routes.ts, referral/routes.ts,
// distributors/routes.ts); kept in step by hand.
export interface AdminUser {
  id: string;
  email: string;
  name: string;
  role: AdminRole;
  disabled: boolean;
  created_at: string;
}
export type ApiKeyScope = 'full' | 'read' | 'orders';
export interface ApiKeyView {
  id: string;
  name: string;
  scope: ApiKeyScope;
  created_at: string;
  revoked_at: string | null;
  last_used_at: string | null;
}
export interface LoginResponse {
  token: string;
  expires_at: string;
  tenant_id: string;
  tenant_slug: string | null;
  user: AdminUser;
}
export interface AuditEntry {
  id: string;
  actor_type: string;
  actor_id: string | null;
  action: string;
  target_type: string;
  target_id: string | null;
  before: unknown;
  after: unknown;
  reason: string | null;
  request_id: string | null;
  at: string;
}
export interface RiskEvent {
  id: string;
  kind: string;
  severity: string;
  subject_type: string;
  subject_id: string | null;
  details: Record<string, unknown>;
  status: string;
  created_at: string;
}
export interface RiskEventDetail extends RiskEvent {
  review_note: string | null;
  reviewed_at: string | null;
  lines: { id: string; beneficiary_id: string; amount_fen: number; status: string; held: boolean; order_id: string }[];
}
export interface CustomerBinding {
  customer_external_id: string;
  distributor_id: string | null;
  bound_at: string | null;
  source: string | null;
  tentative_distributor_id: string | null;
  history: {
    id: string;
    kind: string;
    from_distributor_id: string | null;
    to_distributor_id: string | null;
    source: string;
    reason: string | null;
    actor_type: string;
    actor_id: string | null;
    at: string;
  }[];
}
export interface ComplianceReport {
  tenant_id: string;
  generated_at: string;
  compliant: boolean;
  rules: { rule: string; status: 'compliant' | 'violation' | 'advisory'; title: { zh: string; en: string }; setting: unknown; detail: string }[];
}
export interface AuditVerification {
  ok: boolean;
  entries: number;
  breaks: { chain: string; seq: number | null; audit_id: string | null; problem: string }[];
  heads: { chain: string; seq: number; hash: string }[];
}
export interface PlatformTenant {
  id: string;
  name: string;
  status: string;
  created_at: string;
}
export interface UplineMember {
  level: number;
  id: string;
  external_id: string;
  name: string;
  status: string;
  grade: string;
  invite_code: string;
  joined_at: string;
}
export interface Profile {
  distributor: Distributor;
  team: TeamCounts;
  conditions: Conditions;
  visits: { visits: number; unique_visitors: number };
}

// The money routes declare these shapes in their route files, not in schema files the web can
// import without the server (commissions/routes.ts Balance and Explained, settlement/routes.ts Statement, withdrawals/routes.ts Withdrawal and AccountView,
// rules/routes.ts, ledger/routes.ts); kept in step with them by hand.
export type PayoutChannel = 'manual' | 'alipay' | 'wechat' | 'bank';

/** GET /v1/distributors/{id}/balance (commissions/routes.ts Balance); withdrawable may be negative after a clawback. */
export interface Balance {
  pending_fen: number;
  available_fen: number;
  withdrawable_fen: number;
  withdrawing_fen: number;
  withdrawn_fen: number;
}
export type RateSource = 'sku' | 'tier' | 'grade' | 'default' | 'clawback';

/** GET /v1/commissions/{id}. `explanation` is typed loosely on the server; this is its shape. */
export interface CommissionExplained extends CommissionLine {
  original_base_fen: number;
  original_amount_fen: number;
  capped_fen: number;
  beneficiary_grade: string;
  explanation: Explanation;
  clawbacks: { id: string; amount_fen: number; created_at: string }[];
  postings: { journal_id: string; kind: string; account: string; amount_fen: number; at: string }[];
}
export interface Explanation {
  level: number;
  level_meaning: string;
  base: { order_line_paid_fen: number; refunded_fen: number; base_fen: number; note: string } | null;
  rate: {
    kind: 'percent' | 'fixed';
    rate_bp: number;
    fixed_fen: number;
    source: string;
    rule_version: number;
    rule_effective_from: string | null;
    rule_reason: string | null;
  };
  formula: string;
  capped_fen: number;
  chain: { level: number; distributor_id: string; name: string | null }[];
  order: { external_id: string; status: string; paid_at: string; buyer_external_id: string; attribution: string };
}

export type StatementStatus = 'approved' | 'pending_review' | 'rejected';
export interface Statement {
  id: string;
  distributor_id: string;
  amount_fen: number;
  status: StatementStatus;
  line_count: number;
  debt_offset_fen: number;
  period_end: string;
  run_id: string;
  review_reason: string | null;
  created_at: string;
  approved_at: string | null;
}
export interface StatementLine {
  id: string;
  level: number;
  amount_fen: number;
  base_fen: number;
  rate_bp: number;
  status: string;
  order_external_id: string;
}
export interface StatementDetail extends Statement {
  lines: StatementLine[];
}
export interface SettlementRun {
  run_id: string;
  made_available: number;
  statements: Statement[];
}
/** POST /v1/settlements/jobs: a run in the background, polled for its progress. */
export interface SettlementJob {
  id: string;
  status: 'running' | 'done' | 'failed';
  as_of: string;
  done: number;
  total: number | null;
  started_at: string;
  finished_at: string | null;
  result: SettlementRun | null;
  error: { code: string; message: string } | null;
}

export type WithdrawalStatus = 'pending_review' | 'approved' | 'paid' | 'failed' | 'rejected';
export type PayoutState = 'created' | 'submitted' | 'processing' | 'wait_user_confirm' | 'unknown' | 'succeeded' | 'failed' | 'cancelled';
export interface Payout {
  id: string;
  out_no: string;
  state: string;
  provider_ref: string | null;
  /** WeChat: what wx.requestMerchantTransfer needs when the payee must confirm. */
  package_info: string | null;
  fail_code: string | null;
  fail_reason: string | null;
}
export interface Withdrawal {
  id: string;
  distributor_id: string;
  amount_fen: number;
  fee_fen: number;
  status: WithdrawalStatus;
  channel: PayoutChannel;
  net_fen: number;
  status_reason: string | null;
  reference: string | null;
  payout_account_id: string | null;
  created_at: string;
  approved_at: string | null;
  paid_at: string | null;
  failed_at: string | null;
  payout: Payout | null;
}
/** `confirmed` false: a console user added it and it waits for the distributor (or a second person); nothing is paid to it. */
export interface PayoutAccount {
  id: string;
  distributor_id: string;
  channel: string;
  display: string;
  is_default: boolean;
  confirmed: boolean;
  added_by: string | null;
  created_at: string;
}
export type PayoutAccountInput =
  | { channel: 'alipay'; identity: string; identity_type: 'ALIPAY_USER_ID' | 'ALIPAY_LOGON_ID' | 'ALIPAY_OPEN_ID'; name?: string }
  | { channel: 'wechat'; openid: string; user_name?: string }
  | { channel: 'bank'; account_no: string; account_name: string; bank_name: string; branch?: string };

export type RateSpec = { kind: 'percent'; bp: number } | { kind: 'fixed'; fen: number };
export type LevelKey = '0' | '1' | '2' | '3';
export type SkuRates = Partial<Record<LevelKey, RateSpec>>;
export interface SkuRule {
  sku: string;
  rates: SkuRates;
  updated_at: string;
}
export interface RulesSnapshot {
  version: number;
  levels: number;
  self_purchase: boolean;
  default_rates: { sales_bp: number | null; override_bp: (number | null)[] };
  grades: Record<
    string,
    {
      rank: number;
      sales_bp: number;
      override_bp: number[];
      tiers: Tier[];
      upgrade?: UpgradeRule | null;
      sales_fixed_fen?: number | null;
      override_fixed_fen?: (number | null)[];
      fixed_per?: 'unit' | 'order';
    }
  >;
  sku: Record<string, SkuRates>;
  caps: { per_order_fen: number; per_day_fen: number };
}
export interface RuleVersion {
  version: number;
  effective_from: string;
  reason: string;
  snapshot: unknown;
}

export interface LedgerReport {
  ok: boolean;
  tenant_id: string | null;
  checked: { journals: number; postings: number; accounts: number; commissions: number };
  breaks: { invariant: string; subject: string; detail: string }[];
}
export interface JournalEntry {
  id: string;
  kind: string;
  ref_type: string;
  ref_id: string;
  memo: string | null;
  created_at: string;
  postings: { account_id: string; owner_id: string; purpose: string; amount_fen: number; commission_id: string | null; balance_after: number | null }[];
}
export interface GradeChange {
  from_grade: string;
  to_grade: string;
  reason: string;
  actor_type: string;
  actor_id: string | null;
  at: string;
}

/** An export job (src/app/export-routes.ts ExportJobResponse, which lives beside the Fastify app). */
export type ExportKind = 'statements' | 'withdrawals' | 'commissions' | 'reconciliation' | 'reconciliation-mismatches';
export interface ExportFilters {
  from?: string;
  to?: string;
  status?: string[];
  channel?: string[];
  distributor_id?: string;
}
export interface ExportJob {
  id: string;
  name: string;
  title: string;
  format: 'xlsx' | 'csv';
  filename: string;
  status: 'queued' | 'running' | 'done' | 'failed' | 'cancelled';
  rows_written: number;
  total: number | null;
  percent: number | null;
  totals: Record<string, string> | null;
  size: number | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  expires_at: string | null;
  error: { code: string; message: string } | null;
  download_url: string | null;
}

/** POST /v1/rules/simulate. */
export type SimulateBody = Static<typeof RulesSchemas.SimulateBody>;
export type RuleSimulation = Static<typeof RulesSchemas.Simulation>;

/** GET /v1/distributors/{id}/pii and POST /v1/distributors/{id}/erase. */
export type RevealedPersonalData = Static<typeof PiiSchemas.Revealed>;
export type Erasure = Static<typeof PiiSchemas.Erasure>;
