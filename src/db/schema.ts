import type { ColumnType, Generated, JSONColumnType } from 'kysely';
import type { AdminRole, ApiKeyScope } from '../core/principal.ts';

/** Row types of every table, as Kysely sees them. Migrations are the truth; keep these in step. */

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
type Json<T extends object | null> = JSONColumnType<T, T | string, T | string>;
type AnyJson = ColumnType<unknown, string | null, string | null>;

export interface TenantsTable {
  id: string;
  name: string;
  status: Generated<'active' | 'suspended'>;
  created_at: Timestamp;
  /** The short name the console and portal sign in by (null for tenants made before slugs). */
  slug: Generated<string | null>;
}

export interface ApiKeysTable {
  id: string;
  tenant_id: string;
  name: Generated<string>;
  secret_hash: string;
  /** What the key may do (principal.ts SCOPE_PERMISSIONS). */
  scope: Generated<ApiKeyScope>;
  created_at: Timestamp;
  revoked_at: NullableTimestamp;
  last_used_at: NullableTimestamp;
}

export type { AdminRole, ApiKeyScope };

export interface AdminUsersTable {
  id: string;
  tenant_id: string;
  email: string;
  name: Generated<string>;
  password_hash: string;
  role: AdminRole;
  disabled_at: NullableTimestamp;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface SessionsTable {
  id: string;
  token_hash: string;
  tenant_id: string;
  subject_type: 'admin' | 'distributor';
  subject_id: string;
  role: string;
  created_at: Timestamp;
  expires_at: Timestamp;
  revoked_at: NullableTimestamp;
}

export interface AuditLogTable {
  id: Generated<number>;
  tenant_id: string | null;
  actor_type: string;
  actor_id: string | null;
  action: string;
  target_type: string;
  target_id: string | null;
  before: AnyJson;
  after: AnyJson;
  reason: string | null;
  request_id: string | null;
  at: Timestamp;
  chain: string | null;
  seq: number | null;
  prev_hash: string | null;
  hash: string | null;
}

export interface AuditHeadsTable {
  chain: string;
  seq: Generated<number>;
  hash: Generated<string>;
}

export interface RiskEventLinesTable {
  event_id: string;
  commission_id: string;
}

export interface ProgramsTable {
  tenant_id: string;
  settings: Json<Record<string, unknown>>;
  version: Generated<number>;
  updated_at: Timestamp;
  next_change_at: NullableTimestamp;
}

export interface GradesTable {
  tenant_id: string;
  code: string;
  name: string;
  rank: number;
  sales_bp: number;
  override_bp: number[];
  settings: Json<Record<string, unknown>>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

/** `erased`: personal data anonymised at the person's request (PIPL); terminal, the ledger kept. */
export type DistributorStatus = 'pending' | 'active' | 'suspended' | 'rejected' | 'erased';

export interface DistributorsTable {
  id: string;
  tenant_id: string;
  external_id: string;
  name: string;
  phone_enc: string | null;
  phone_bidx: string | null;
  /** AES-256-GCM (KeyRing) ciphertexts; the pii module reads and writes them. */
  real_name_enc: string | null;
  id_number_enc: string | null;
  id_number_bidx: string | null;
  /** {"wechat","email","address"} as one ciphertext. */
  contact_enc: string | null;
  erased_at: NullableTimestamp;
  invite_code: string;
  status: DistributorStatus;
  referrer_id: string | null;
  ancestors: ColumnType<string[], string[] | undefined, string[]>;
  grade_code: string;
  region_code: string | null;
  profile: Json<Record<string, unknown>>;
  source: Generated<'api' | 'application' | 'admin'>;
  status_reason: string | null;
  deposit_paid_fen: Generated<number>;
  deposit_refunded_fen: Generated<number>;
  /** The amount of the distributor's deposit refund under way (asked for, not yet paid or failed). */
  deposit_refunding_fen: Generated<number>;
  risk_hold: Generated<boolean>;
  device_bidx: string | null;
  training_completed_at: NullableTimestamp;
  consent_at: NullableTimestamp;
  approved_at: NullableTimestamp;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface CustomersTable {
  tenant_id: string;
  external_id: string;
  distributor_id: string | null;
  bound_at: NullableTimestamp;
  binding_source: string | null;
  tentative_distributor_id: string | null;
  tentative_at: NullableTimestamp;
  last_order_at: NullableTimestamp;
  purchases_fen: Generated<number>;
  created_at: Timestamp;
}

export interface BindingEventsTable {
  id: string;
  tenant_id: string;
  customer_external_id: string;
  kind: 'bind' | 'rebind' | 'tentative' | 'move' | 'unbind' | 'lapse';
  from_distributor_id: string | null;
  to_distributor_id: string | null;
  source: string;
  reason: string | null;
  actor_type: string;
  actor_id: string | null;
  request_id: string | null;
  at: Timestamp;
}

export interface VisitsTable {
  id: Generated<number>;
  tenant_id: string;
  distributor_id: string;
  visitor_id: string;
  ip: string | null;
  user_agent: string | null;
  referer: string | null;
  at: Timestamp;
}

export interface DocumentsTable {
  id: string;
  tenant_id: string;
  distributor_id: string;
  kind: string;
  filename: string;
  content_type: string;
  size_bytes: number;
  sha256: string;
  storage_key: string;
  /** The document's data key wrapped under the master key; null: stored in plaintext by an earlier version. */
  data_key_enc: string | null;
  created_at: Timestamp;
}

export interface LandingDomainsTable {
  id: string;
  tenant_id: string;
  /** Lower case, ASCII (IDNA), no trailing dot. */
  domain: string;
  /** Published as `fenxiao-verification=<token>` in the TXT record `_fenxiao-challenge.<domain>`. */
  token: string;
  verified_at: Timestamp | null;
  created_at: Timestamp;
}

export interface RiskEventsTable {
  id: string;
  tenant_id: string;
  kind: string;
  severity: Generated<'flag' | 'hold' | 'block'>;
  subject_type: string;
  subject_id: string | null;
  details: Json<Record<string, unknown>>;
  status: Generated<'open' | 'released' | 'confirmed' | 'dismissed'>;
  reviewed_by: string | null;
  review_note: string | null;
  reviewed_at: NullableTimestamp;
  created_at: Timestamp;
}

export interface IdempotencyKeysTable {
  tenant_id: string;
  scope: string;
  key: string;
  request_hash: string;
  response_status: number;
  response_body: AnyJson;
  created_at: Timestamp;
}

/** A background job (src/modules/jobs): its progress and outcome, readable by any process. */
export interface JobsTable {
  id: string;
  tenant_id: string;
  kind: string;
  status: 'queued' | 'running' | 'done' | 'failed' | 'cancelled';
  done: Generated<number>;
  total: number | null;
  params: ColumnType<unknown, string | undefined, string>;
  result: AnyJson | null;
  error: AnyJson | null;
  created_by: string | null;
  created_at: Timestamp;
  started_at: NullableTimestamp;
  finished_at: NullableTimestamp;
  updated_at: Timestamp;
}

/** The last verified point of a tenant's ledger and the last result (incremental verification). */
export interface LedgerCheckpointsTable {
  tenant_id: string;
  posting_id: number | null;
  checkpoint_at: NullableTimestamp;
  last_mode: 'full' | 'incremental' | null;
  last_ok: boolean | null;
  last_report: AnyJson | null;
  last_started_at: NullableTimestamp;
  last_finished_at: NullableTimestamp;
  last_duration_ms: number | null;
  last_full_at: NullableTimestamp;
  full_claimed_at: NullableTimestamp;
  job_id: string | null;
}

/** Each account's balance and posting count at its tenant's checkpoint. */
export interface LedgerCheckpointBalancesTable {
  account_id: string;
  tenant_id: string;
  balance: number;
  version: number;
}

export interface PortalSettingsTable {
  tenant_id: string;
  signing_secret_enc: string | null;
  signing_secret_created_at: NullableTimestamp;
  poster_background_key: string | null;
  poster_background_type: 'image/png' | 'image/jpeg' | null;
  poster_background_updated_at: NullableTimestamp;
  updated_at: Timestamp;
}

export interface PortalCredentialsTable {
  tenant_id: string;
  distributor_id: string;
  password_hash: string;
  /** Made by the portal's public application form: a login token adopts it only once linked_at is set. */
  self_registered: Generated<boolean>;
  linked_at: NullableTimestamp;
  created_at: Timestamp;
  updated_at: Timestamp;
}

/** An application from the portal waiting for its phone's code (migration 2026_12_06_0910). */
export interface PortalApplicationsTable {
  id: string;
  tenant_id: string;
  phone_bidx: string;
  /** The application as typed (name, phone, referrer code, profile, device), encrypted. */
  payload_enc: string;
  password_hash: string;
  /** sha256 of "<id>:<code>". */
  code_hash: string;
  attempts: Generated<number>;
  expires_at: Timestamp;
  consumed_at: NullableTimestamp;
  created_at: Timestamp;
}

/** A one-time code texted to an applicant's phone (migration 2026_12_09_0100). */
export interface PhoneVerificationsTable {
  tenant_id: string;
  id: string;
  phone_bidx: string;
  /** sha256 of "<id>:<code>". */
  code_hash: string;
  attempts: Generated<number>;
  expires_at: Timestamp;
  verified_at: NullableTimestamp;
  consumed_at: NullableTimestamp;
  /** The distributor whose application the verified phone vouched for. */
  consumed_by: string | null;
  idempotency_key: string | null;
  created_at: Timestamp;
}

/** The automatic review of an application (migration 2026_12_09_0100). */
export interface ApplicationReviewsTable {
  tenant_id: string;
  distributor_id: string;
  outcome: 'approved' | 'referred' | 'rejected';
  checks: AnyJson;
  rules: AnyJson;
  decided_at: Timestamp;
}

export interface PortalTokenUsesTable {
  tenant_id: string;
  jti: string;
  distributor_id: string;
  expires_at: Timestamp;
  used_at: Timestamp;
}

// ------------------------------------------------------------------------------ pii

/** A distributor's request that its personal data be erased (migration 2026_12_07_0700). */
export interface ErasureRequestsTable {
  id: string;
  tenant_id: string;
  distributor_id: string;
  status: 'open' | 'done';
  requested_at: Timestamp;
  resolved_at: NullableTimestamp;
}

// ------------------------------------------------------------------------------ wechat

/** A tenant's official account for 网页授权 and the JS-SDK (migration 2026_12_07_0800). */
export interface WechatSettingsTable {
  tenant_id: string;
  app_id: string;
  app_secret_enc: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

/** One OAuth round trip; id is sha256 of the state parameter, browser_hash of the cookie nonce. */
export interface WechatOauthStatesTable {
  id: string;
  tenant_id: string;
  purpose: 'login' | 'link';
  scope: 'snsapi_base' | 'snsapi_userinfo';
  app_id: string;
  distributor_id: string | null;
  browser_hash: string;
  return_to: string | null;
  expires_at: Timestamp;
  used_at: NullableTimestamp;
  created_at: Timestamp;
}

/** An openid WeChat vouched for, linked to a distributor (encrypted, blind-indexed). */
export interface WechatIdentitiesTable {
  id: string;
  tenant_id: string;
  app_id: string;
  openid_bidx: string;
  openid_enc: string;
  distributor_id: string;
  nickname_enc: string | null;
  scope: string;
  linked_at: Timestamp;
  updated_at: Timestamp;
}

/** access_token / jsapi_ticket shared across processes, encrypted. */
export interface WechatApiTokensTable {
  tenant_id: string;
  app_id: string;
  kind: 'access_token' | 'jsapi_ticket';
  value_enc: string;
  expires_at: Timestamp;
  fetched_at: Timestamp;
}

// ------------------------------------------------------------------------------- money

export interface RuleVersionsTable {
  tenant_id: string;
  version: number;
  effective_from: Timestamp;
  snapshot: Json<Record<string, unknown>>;
  reason: string;
  created_at: Timestamp;
  /** The whole rules (program, grades, SKU overrides) this version stands for; null before issue 11. */
  state: Json<Record<string, unknown>> | null;
  recorded: Generated<boolean>;
}

export interface RuleChangesTable {
  id: string;
  tenant_id: string;
  seq: number;
  kind: 'program' | 'grade' | 'sku_rule' | 'pilot';
  target: string | null;
  patch: Json<Record<string, unknown>>;
  effective_from: Timestamp;
  reason: string | null;
  status: 'active' | 'cancelled';
  created_at: Timestamp;
  created_by_type: string;
  created_by_id: string | null;
  cancelled_at: NullableTimestamp;
}

export interface PilotsTable {
  id: string;
  tenant_id: string;
  name: string;
  status: 'running' | 'promoted' | 'stopped';
  cohort: Json<Record<string, unknown>>;
  changes: Json<Record<string, unknown>>;
  started_at: Timestamp;
  ends_at: NullableTimestamp;
  ended_at: NullableTimestamp;
  promoted_change_id: string | null;
  created_by_type: string;
  created_by_id: string | null;
  created_at: Timestamp;
}

export interface SkuRulesTable {
  tenant_id: string;
  sku: string;
  rates: Json<Record<string, unknown>>;
  updated_at: Timestamp;
}

export type OrderStatus = 'pending_payment' | 'paid' | 'shipped' | 'received' | 'completed' | 'cancelled' | 'refunded' | 'closed';

export interface OrdersTable {
  id: string;
  tenant_id: string;
  external_id: string;
  request_hash: string;
  buyer_external_id: string;
  invite_code: string | null;
  status: OrderStatus;
  seller_id: string | null;
  chain: ColumnType<string[], string[] | undefined, string[]>;
  rule_version: number;
  attribution: string;
  /** The pilot whose changes this order's lines were computed with (issue 11). */
  pilot_id: ColumnType<string | null, string | null | undefined, string | null>;
  region_code: string | null;
  /** The agent whose stock served the order (agents). */
  fulfilled_by: ColumnType<string | null, string | null | undefined, never>;
  paid_fen: number;
  refunded_fen: Generated<number>;
  shipping_fen: Generated<number>;
  tax_fen: Generated<number>;
  /** Null while the order awaits payment (pending_payment) and when it was closed unpaid. */
  paid_at: NullableTimestamp;
  /** The hash of the body without status and paid_at: an order's unpaid and paid arrivals share it. */
  core_hash: ColumnType<string | null, string | null | undefined, string | null>;
  closed_at: NullableTimestamp;
  device_bidx: string | null;
  client_ip: string | null;
  shipped_at: NullableTimestamp;
  received_at: NullableTimestamp;
  completed_at: NullableTimestamp;
  cancelled_at: NullableTimestamp;
  created_at: Timestamp;
  updated_at: Timestamp;
  tracking_carrier: ColumnType<string | null, string | null | undefined, string | null>;
  tracking_number: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface OrderItemsTable {
  id: string;
  tenant_id: string;
  order_id: string;
  position: number;
  sku: string;
  quantity: number;
  unit_price_fen: number;
  paid_fen: number;
  refunded_fen: Generated<number>;
  refunded_quantity: Generated<number>;
}

export interface OrderEventsTable {
  id: string;
  tenant_id: string;
  order_id: string;
  type: string;
  at: Timestamp;
  refund_fen: number | null;
  details: Json<Record<string, unknown>>;
  actor_type: string;
  actor_id: string | null;
  request_id: string | null;
  created_at: Timestamp;
}

export type CommissionStatus = 'pending' | 'available' | 'settled' | 'reversed';

export interface CommissionsTable {
  id: string;
  tenant_id: string;
  order_id: string;
  order_item_id: string | null;
  beneficiary_id: string;
  level: number;
  kind: Generated<'commission' | 'clawback' | 'adjustment'>;
  clawback_of: string | null;
  /** An adjustment's tier line (month-end true-up); null on every other line. */
  adjusts: ColumnType<string | null, string | null | undefined, never>;
  rule_version: number;
  rate_source: 'sku' | 'grade' | 'default' | 'tier' | 'clawback' | 'territory' | 'price_difference';
  rate_kind: 'percent' | 'fixed';
  rate_bp: number;
  fixed_fen: Generated<number>;
  beneficiary_grade: string;
  units: Generated<number>;
  base_fen: number;
  original_base_fen: number;
  amount_fen: number;
  original_amount_fen: number;
  capped_fen: Generated<number>;
  status: CommissionStatus;
  held: Generated<boolean>;
  /** A territory line's rank (agents); null on every other line. */
  territory_rank: ColumnType<'province' | 'city' | 'district' | null, 'province' | 'city' | 'district' | null | undefined, never>;
  statement_id: string | null;
  available_at: NullableTimestamp;
  settled_at: NullableTimestamp;
  reversed_at: NullableTimestamp;
  pilot_id: ColumnType<string | null, string | null | undefined, string | null>;
  created_at: Timestamp;
}

/** One month-end tier true-up per beneficiary and month (commissions/trueup.ts). */
export interface TierTrueUpsTable {
  tenant_id: string;
  distributor_id: string;
  month: string;
  final_sales_fen: number;
  lines: number;
  adjusted_fen: number;
  created_at: Timestamp;
}

export interface SalesMonthlyTable {
  tenant_id: string;
  distributor_id: string;
  month: ColumnType<string, string, string>;
  sales_fen: Generated<number>;
  order_count: Generated<number>;
  refunded_fen: Generated<number>;
  settled_sales_fen: Generated<number>;
}

export interface CommissionDailyTable {
  tenant_id: string;
  distributor_id: string;
  day: ColumnType<string, string, string>;
  amount_fen: Generated<number>;
}

export interface GradeChangesTable {
  id: string;
  tenant_id: string;
  distributor_id: string;
  from_grade: string;
  to_grade: string;
  reason: string;
  actor_type: string;
  actor_id: string | null;
  at: Timestamp;
}

export interface AccountsTable {
  id: string;
  tenant_id: string;
  owner_type: 'distributor' | 'tenant';
  owner_id: string;
  purpose: string;
  cached: boolean;
  bounded: boolean;
  balance: Generated<number>;
  version: Generated<number>;
  created_at: Timestamp;
}

export interface JournalEntriesTable {
  id: string;
  tenant_id: string;
  kind: string;
  ref_type: string;
  ref_id: string;
  memo: string | null;
  created_at: Timestamp;
}

export interface PostingsTable {
  id: Generated<number>;
  journal_id: string;
  tenant_id: string;
  account_id: string;
  amount: number;
  party_id: string | null;
  commission_id: string | null;
  balance_after: number | null;
  created_at: Timestamp;
}

// ------------------------------------------------------------------------ settlement

export interface SettlementRunsTable {
  id: string;
  tenant_id: string;
  as_of: Timestamp;
  trigger: string;
  statements: Generated<number>;
  lines: Generated<number>;
  amount_fen: Generated<number>;
  made_available: Generated<number>;
  started_at: Timestamp;
  finished_at: NullableTimestamp;
  status: Generated<'running' | 'done'>;
  phase: Generated<'make_available' | 'settle'>;
  review_threshold_fen: number | null;
  threshold_fen: number | null;
  settled_through: string | null;
  done: Generated<number>;
  total: number | null;
  owner: string | null;
  lease_until: NullableTimestamp;
  job_id: string | null;
  requested_by: AnyJson;
  request_id: string | null;
}

export type StatementStatus = 'pending_review' | 'approved' | 'rejected';

export interface StatementsTable {
  id: string;
  tenant_id: string;
  distributor_id: string;
  run_id: string;
  period_end: Timestamp;
  amount_fen: number;
  line_count: number;
  debt_offset_fen: Generated<number>;
  status: StatementStatus;
  reviewed_by: string | null;
  review_reason: string | null;
  created_at: Timestamp;
  approved_at: NullableTimestamp;
  rejected_at: NullableTimestamp;
}

export interface PayoutAccountsTable {
  id: string;
  tenant_id: string;
  distributor_id: string;
  channel: 'alipay' | 'wechat' | 'bank';
  /** Null once erased (the display then says so). */
  details_enc: string | null;
  display: string;
  identity_bidx: string | null;
  is_default: Generated<boolean>;
  created_at: Timestamp;
  disabled_at: NullableTimestamp;
  /** Who added it (actor type and id, as the audit log names them). */
  added_by_type: string | null;
  added_by_id: string | null;
  /** Null while an account a console user added waits for the distributor or a second person. */
  confirmed_at: NullableTimestamp;
  confirmed_by_type: string | null;
  confirmed_by_id: string | null;
}

/** One money control a proposal changes: its dotted name, what was in force, what it would be. */
export interface ProposalChangeRow {
  field: string;
  from: unknown;
  to: unknown;
}

/** A change to a program's money controls waiting for a second person (program:money). */
export interface ProgramProposalsTable {
  id: string;
  tenant_id: string;
  status: 'pending' | 'confirmed' | 'rejected';
  changes: Json<ProposalChangeRow[]>;
  proposed_by_type: string;
  proposed_by_id: string | null;
  created_at: Timestamp;
  decided_by_type: string | null;
  decided_by_id: string | null;
  decided_at: NullableTimestamp;
  reason: string | null;
}

export type WithdrawalStatus = 'pending_review' | 'approved' | 'paid' | 'failed' | 'rejected';
export type WithdrawalChannel = 'manual' | 'alipay' | 'wechat' | 'bank';

export interface WithdrawalsTable {
  id: string;
  tenant_id: string;
  distributor_id: string;
  amount_fen: number;
  fee_fen: number;
  channel: WithdrawalChannel;
  payout_account_id: string | null;
  status: WithdrawalStatus;
  status_reason: string | null;
  reference: string | null;
  requested_by_type: string;
  requested_by_id: string | null;
  reviewed_by: string | null;
  local_day: ColumnType<string, string, string>;
  created_at: Timestamp;
  approved_at: NullableTimestamp;
  paid_at: NullableTimestamp;
  failed_at: NullableTimestamp;
  rejected_at: NullableTimestamp;
  updated_at: Timestamp;
}

/** The refund of a distributor's admission deposit, paid through the payout path (one payout). */
export interface DepositRefundsTable {
  id: string;
  tenant_id: string;
  distributor_id: string;
  amount_fen: number;
  channel: WithdrawalChannel;
  payout_account_id: string | null;
  status: WithdrawalStatus;
  reason: string;
  status_reason: string | null;
  reference: string | null;
  requested_by_type: string;
  requested_by_id: string | null;
  reviewed_by: string | null;
  created_at: Timestamp;
  approved_at: NullableTimestamp;
  paid_at: NullableTimestamp;
  failed_at: NullableTimestamp;
  rejected_at: NullableTimestamp;
  updated_at: Timestamp;
}

export type PayoutState = 'created' | 'submitted' | 'processing' | 'wait_user_confirm' | 'unknown' | 'succeeded' | 'failed' | 'cancelled';

export type PayoutKind = 'withdrawal' | 'deposit_refund';

export interface PayoutsTable {
  id: string;
  tenant_id: string;
  /** What the payout pays: a withdrawal, or the refund of an admission deposit. */
  kind: ColumnType<PayoutKind, PayoutKind | undefined, never>;
  withdrawal_id: string | null;
  deposit_refund_id: string | null;
  channel: string;
  out_no: string;
  amount_fen: number;
  state: PayoutState;
  provider_ref: string | null;
  package_info: string | null;
  fail_code: string | null;
  fail_reason: string | null;
  attempts: Generated<number>;
  lease_until: NullableTimestamp;
  next_attempt_at: Timestamp;
  last_queried_at: NullableTimestamp;
  created_at: Timestamp;
  updated_at: Timestamp;
  finished_at: NullableTimestamp;
}

export interface PayoutEventsTable {
  id: Generated<number>;
  tenant_id: string;
  payout_id: string;
  source: string;
  outcome: string;
  detail: Json<Record<string, unknown>>;
  at: Timestamp;
}

export interface AnalyticsDailyTable {
  tenant_id: string;
  day: ColumnType<string, string, string>;
  slot: number;
  orders: Generated<number>;
  gross_sales_fen: Generated<number>;
  refunded_fen: Generated<number>;
  refunds: Generated<number>;
  commission_fen: Generated<number>;
  commission_reversed_fen: Generated<number>;
  new_distributors: Generated<number>;
  new_bindings: Generated<number>;
  visits: Generated<number>;
  last_order_distributors: Generated<number>;
  ledger_pending_fen: Generated<number>;
  ledger_available_fen: Generated<number>;
  ledger_withdrawable_fen: Generated<number>;
  ledger_withdrawing_fen: Generated<number>;
  ledger_withdrawn_fen: Generated<number>;
  ledger_clearing_fen: Generated<number>;
  ledger_fee_income_fen: Generated<number>;
  ledger_expense_fen: Generated<number>;
  made_available_fen: Generated<number>;
  settled_fen: Generated<number>;
}

/** A breakdown's rows: one per level (grade, province or city), code, day and slot. */
export interface AnalyticsBreakdownDailyTable {
  tenant_id: string;
  level: 'grade' | 'province' | 'city';
  day: ColumnType<string, string, string>;
  code: string;
  slot: number;
  orders: Generated<number>;
  gross_sales_fen: Generated<number>;
  refunded_fen: Generated<number>;
  commission_fen: Generated<number>;
  new_distributors: Generated<number>;
}

export interface AnalyticsBreakdownMonthlyTable {
  tenant_id: string;
  level: 'grade' | 'province' | 'city';
  month: ColumnType<string, string, string>;
  code: string;
  slot: number;
  orders: Generated<number>;
  gross_sales_fen: Generated<number>;
  refunded_fen: Generated<number>;
  commission_fen: Generated<number>;
  new_distributors: Generated<number>;
}

export interface AnalyticsDistributorDailyTable {
  distributor_id: string;
  day: ColumnType<string, string, string>;
  tenant_id: string;
  orders: Generated<number>;
  sales_fen: Generated<number>;
  commission_fen: Generated<number>;
}

export interface AnalyticsDistributorMonthlyTable {
  distributor_id: string;
  month: ColumnType<string, string, string>;
  tenant_id: string;
  orders: Generated<number>;
  sales_fen: Generated<number>;
  commission_fen: Generated<number>;
}

export interface AnalyticsDistributorActivityTable {
  distributor_id: string;
  tenant_id: string;
  last_order_day: ColumnType<string, string, string>;
  prev_order_day: ColumnType<string | null, string | null | undefined, string | null>;
}

export type IngestFormat = 'generic' | 'shopify' | 'woocommerce';
export type IngestOutcome = 'applied' | 'duplicate' | 'ignored' | 'deferred' | 'rejected' | 'failed';

export interface WebhookSecretsTable {
  id: string;
  tenant_id: string;
  format: IngestFormat;
  secret_enc: string;
  hint: string;
  created_at: Timestamp;
  previous_secret_enc: string | null;
  previous_valid_until: NullableTimestamp;
}

export interface IngestDeliveriesTable {
  id: string;
  tenant_id: string;
  format: IngestFormat;
  topic: string | null;
  delivery_id: string;
  outcome: IngestOutcome;
  reason: string | null;
  order_external_id: string | null;
  attempts: Generated<number>;
  payload_enc: string | null;
  received_at: Timestamp;
  updated_at: Timestamp;
}

export interface DB {
  tenants: TenantsTable;
  api_keys: ApiKeysTable;
  admin_users: AdminUsersTable;
  sessions: SessionsTable;
  audit_log: AuditLogTable;
  programs: ProgramsTable;
  grades: GradesTable;
  distributors: DistributorsTable;
  customers: CustomersTable;
  binding_events: BindingEventsTable;
  visits: VisitsTable;
  documents: DocumentsTable;
  landing_domains: LandingDomainsTable;
  risk_events: RiskEventsTable;
  risk_event_lines: RiskEventLinesTable;
  audit_heads: AuditHeadsTable;
  idempotency_keys: IdempotencyKeysTable;
  jobs: JobsTable;
  ledger_checkpoints: LedgerCheckpointsTable;
  ledger_checkpoint_balances: LedgerCheckpointBalancesTable;
  portal_settings: PortalSettingsTable;
  portal_credentials: PortalCredentialsTable;
  portal_applications: PortalApplicationsTable;
  phone_verifications: PhoneVerificationsTable;
  application_reviews: ApplicationReviewsTable;
  portal_token_uses: PortalTokenUsesTable;
  wechat_settings: WechatSettingsTable;
  erasure_requests: ErasureRequestsTable;
  wechat_oauth_states: WechatOauthStatesTable;
  wechat_identities: WechatIdentitiesTable;
  wechat_api_tokens: WechatApiTokensTable;
  rule_versions: RuleVersionsTable;
  rule_changes: RuleChangesTable;
  pilots: PilotsTable;
  sku_rules: SkuRulesTable;
  orders: OrdersTable;
  order_items: OrderItemsTable;
  order_events: OrderEventsTable;
  commissions: CommissionsTable;
  sales_monthly: SalesMonthlyTable;
  tier_true_ups: TierTrueUpsTable;
  commission_daily: CommissionDailyTable;
  grade_changes: GradeChangesTable;
  accounts: AccountsTable;
  journal_entries: JournalEntriesTable;
  postings: PostingsTable;
  settlement_runs: SettlementRunsTable;
  statements: StatementsTable;
  payout_accounts: PayoutAccountsTable;
  program_proposals: ProgramProposalsTable;
  withdrawals: WithdrawalsTable;
  payouts: PayoutsTable;
  deposit_refunds: DepositRefundsTable;
  payout_events: PayoutEventsTable;
  analytics_daily: AnalyticsDailyTable;
  analytics_breakdown_daily: AnalyticsBreakdownDailyTable;
  analytics_breakdown_monthly: AnalyticsBreakdownMonthlyTable;
  analytics_distributor_daily: AnalyticsDistributorDailyTable;
  analytics_distributor_monthly: AnalyticsDistributorMonthlyTable;
  analytics_distributor_activity: AnalyticsDistributorActivityTable;
  webhook_secrets: WebhookSecretsTable;
  ingest_deliveries: IngestDeliveriesTable;
  webhook_endpoints: WebhookEndpointsTable;
  webhook_events: WebhookEventsTable;
  webhook_deliveries: WebhookDeliveriesTable;
  webhook_attempts: WebhookAttemptsTable;
  logistics_secrets: LogisticsSecretsTable;
  agent_programs: AgentProgramsTable;
  agents: AgentsTable;
  agent_events: AgentEventsTable;
  agent_prices: AgentPricesTable;
  agent_purchase_orders: AgentPurchaseOrdersTable;
  agent_stock_lots: AgentStockLotsTable;
  agent_stock_returns: AgentStockReturnsTable;
  agent_stock_movements: AgentStockMovementsTable;
  agent_applications: AgentApplicationsTable;
}

export type AgentRank = 'province' | 'city' | 'district';

export interface AgentProgramsTable {
  tenant_id: string;
  enabled: Generated<boolean>;
  province_bp: Generated<number>;
  city_bp: Generated<number>;
  district_bp: Generated<number>;
  buyback_days: Generated<number>;
  updated_at: Generated<Date>;
}

export interface AgentsTable {
  id: string;
  tenant_id: string;
  distributor_id: string;
  rank: AgentRank;
  region_code: string;
  status: 'active' | 'suspended' | 'ended';
  status_reason: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface AgentApplicationsTable {
  id: string;
  tenant_id: string;
  distributor_id: string;
  rank: AgentRank;
  region_code: string;
  note: string;
  document_ids: string[];
  status: 'pending' | 'approved' | 'rejected';
  reason: string | null;
  agent_id: string | null;
  reviewed_by: string | null;
  reviewed_at: Timestamp | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface AgentEventsTable {
  id: string;
  tenant_id: string;
  agent_id: string;
  type: 'appointed' | 'suspended' | 'reinstated' | 'ended' | 'transferred';
  reason: string | null;
  details: Json<Record<string, unknown>>;
  actor_type: string;
  actor_id: string | null;
  request_id: string | null;
  at: Timestamp;
}

export interface AgentPricesTable {
  tenant_id: string;
  sku: string;
  retail_fen: number;
  province_fen: number;
  city_fen: number;
  district_fen: number;
  updated_at: Timestamp;
}

export interface AgentPurchaseOrdersTable {
  id: string;
  tenant_id: string;
  agent_id: string;
  status: 'pending_payment' | 'paid';
  amount_fen: number;
  items: Json<{ sku: string; quantity: number; unit_price_fen: number }[]>;
  reference: string | null;
  created_at: Timestamp;
  paid_at: NullableTimestamp;
}

export interface AgentStockLotsTable {
  id: string;
  tenant_id: string;
  agent_id: string;
  sku: string;
  purchase_order_id: string | null;
  unit_cost_fen: number;
  quantity: number;
  remaining: number;
  acquired_at: Timestamp;
}

export interface AgentStockReturnsTable {
  id: string;
  tenant_id: string;
  agent_id: string;
  amount_fen: number;
  items: Json<{ sku: string; quantity: number; amount_fen: number }[]>;
  created_at: Timestamp;
}

export interface AgentStockMovementsTable {
  id: Generated<number>;
  tenant_id: string;
  agent_id: string;
  sku: string;
  lot_id: string;
  kind: 'purchase' | 'sale' | 'refund_return' | 'buyback' | 'correction';
  quantity: number;
  unit_cost_fen: number;
  ref_type: string;
  ref_id: string;
  order_item_id: string | null;
  reason: string | null;
  created_at: Timestamp;
}

export interface WebhookEndpointsTable {
  id: string;
  tenant_id: string;
  url: string;
  events: string[];
  description: string | null;
  secret_enc: string;
  secret_hint: string;
  previous_secret_enc: string | null;
  previous_valid_until: NullableTimestamp;
  enabled: boolean;
  disabled_reason: string | null;
  failing_since: NullableTimestamp;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface WebhookEventsTable {
  id: string;
  tenant_id: string;
  seq: Generated<number>;
  type: string;
  object_key: string;
  data: unknown;
  created_at: Timestamp;
}

export type WebhookDeliveryStatus = 'pending' | 'delivered' | 'dead';

export interface WebhookDeliveriesTable {
  id: string;
  tenant_id: string;
  endpoint_id: string;
  event_id: string;
  seq: number;
  object_key: string;
  status: WebhookDeliveryStatus;
  attempts: Generated<number>;
  next_attempt_at: Timestamp;
  lease_until: NullableTimestamp;
  last_http_status: number | null;
  last_error: string | null;
  created_at: Timestamp;
  finished_at: NullableTimestamp;
}

export interface WebhookAttemptsTable {
  id: string;
  tenant_id: string;
  endpoint_id: string;
  delivery_id: string;
  event_id: string;
  attempt: number;
  status: 'succeeded' | 'failed';
  http_status: number | null;
  error: string | null;
  duration_ms: number;
  created_at: Timestamp;
}

export interface LogisticsSecretsTable {
  tenant_id: string;
  secret_enc: string;
  hint: string;
  previous_secret_enc: string | null;
  previous_valid_until: NullableTimestamp;
  created_at: Timestamp;
}
