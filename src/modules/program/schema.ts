import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { Bp, Fen, Nullable, Strict, Text } from '../../core/schema.ts';

const Window = Strict({
  limit: Type.Integer({ minimum: 1, maximum: 1_000_000, description: 'most events allowed in the window' }),
  window_seconds: Type.Integer({ minimum: 1, maximum: 30 * 86400 }),
});

export const RiskEffect = Type.Union([Type.Literal('flag'), Type.Literal('hold'), Type.Literal('block')], {
  description:
    'flag: a risk event to review; hold: the commissions concerned wait for review (not settled, not withdrawn); block: they are not credited at all',
});

export const FixedPer = Type.Union([Type.Literal('unit'), Type.Literal('order')], {
  description: "unit (default): the fixed amounts are fen per unit paid for; order: fen once per order and beneficiary, split over the order's lines by units",
});

/** Fixed amounts beside the percentages: where one is set for a level, it replaces the percentage there. */
export const FixedRateFields = {
  sales_fixed_fen: Type.Optional(Nullable(Fen({ description: 'level-0 fixed amount; replaces the percentage at level 0 when set' }))),
  override_fixed_fen: Type.Optional(
    Type.Array(Nullable(Fen()), { maxItems: 3, description: 'override_fixed_fen[k-1]: the level-k fixed amount; replaces the percentage there when set' }),
  ),
  fixed_per: Type.Optional(FixedPer),
};

const AntiCheatScope = Strict({
  per_ip: Nullable(Window),
  per_device: Nullable(Window),
});

/**
 * A tenant's program: the contract's fields first, then Fenxiao's own. Stored whole as JSON;
 * `PUT /v1/program` merges a patch into it field by field.
 */
export const ProgramSettings = Strict({
  levels: Type.Integer({ minimum: 0, maximum: 100, description: 'override levels paid above the seller, 0..3; more is refused as compliance_violation' }),
  self_purchase: Type.Boolean({ description: 'an active distributor buying for itself is its own seller' }),
  freeze_days: Type.Integer({ minimum: 0, maximum: 3650, description: 'days after receipt before commission becomes available' }),
  review_threshold_fen: Fen({ description: 'statements above this wait for a person' }),
  admission: Type.Union([Type.Literal('open'), Type.Literal('review')]),
  withdrawal: Strict({
    min_fen: Fen(),
    fee_bp: Bp('fee kept from each withdrawal, basis points'),
    auto_approve_max_fen: Fen({ description: 'withdrawals up to this start approved; 0: every one is reviewed' }),
    fixed_fee_fen: Fen({ description: 'fixed fee per withdrawal, added to the percentage fee' }),
    daily_count_limit: Type.Integer({ minimum: 0, maximum: 1000, description: 'withdrawals per distributor per day; 0: no limit' }),
    daily_amount_limit_fen: Fen({ description: 'amount per distributor per day; 0: no limit' }),
  }),
  binding: Strict({
    mode: Type.Union([Type.Literal('permanent'), Type.Literal('rebindable'), Type.Literal('override')], {
      description:
        'permanent: a binding stays (only an admin moves it); rebindable: another invite may take a customer idle for rebind_after_days; override: the latest valid invite wins',
    }),
    rebind_after_days: Type.Integer({ minimum: 1, maximum: 3650, description: 'rebindable: a customer without an order for this many days may be bound anew' }),
    bind_on: Type.Union([Type.Literal('registration'), Type.Literal('first_order')], { description: 'when a claimed invitation becomes the binding' }),
    protection_days: Type.Integer({
      minimum: 0,
      maximum: 3650,
      description: 'protection window (抢客保护): a new binding cannot be taken by another invite for this many days, in every mode that rebinds; 0: none',
    }),
    validity_days: Type.Integer({
      minimum: 0,
      maximum: 3650,
      description: 'validity window: a binding lapses this many days after validity_from (it earns nothing from then, and a job ends it); 0: never',
    }),
    validity_from: Type.Union([Type.Literal('bound'), Type.Literal('last_order')], {
      description: "bound: counted from when the binding was made; last_order: from the customer's last order (or the binding, if later)",
    }),
  }),
  admission_conditions: Strict({
    deposit_fen: Fen({ description: 'refundable deposit required before approval; 0: none' }),
    deposit_refundable: Type.Boolean({ description: 'compliance: deposits are always refundable; false is refused' }),
    training_required: Type.Boolean(),
    min_purchases_fen: Fen({ description: 'own purchases required before approval; 0: none' }),
  }),
  anti_cheat: Strict({
    registration: AntiCheatScope,
    binding: AntiCheatScope,
  }),
  landing_url: Nullable(Type.String({ maxLength: 2000, pattern: '^https?://' })),
  default_rates: Strict({
    sales_bp: Nullable(Bp('level-0 rate for a grade without one')),
    override_bp: Type.Array(Nullable(Bp()), { maxItems: 3, description: "level-k rates where the beneficiary's grade has none" }),
    ...FixedRateFields,
  }),
  caps: Strict({
    per_order_fen: Fen({ description: 'most one beneficiary earns from one order; 0: no cap' }),
    per_day_fen: Fen({ description: 'most one beneficiary earns from the orders of one day; 0: no cap' }),
  }),
  settlement: Strict({
    cycle: Type.Union([Type.Literal('manual'), Type.Literal('daily'), Type.Literal('weekly'), Type.Literal('monthly'), Type.Literal('threshold')], {
      description: 'when the scheduler settles; manual: only POST /v1/settlements/run',
    }),
    weekday: Type.Integer({ minimum: 1, maximum: 7, description: 'weekly: 1 Monday … 7 Sunday' }),
    day_of_month: Type.Integer({ minimum: 1, maximum: 28, description: 'monthly: the day it runs' }),
    hour: Type.Integer({ minimum: 0, maximum: 23, description: 'local hour the cycle runs at' }),
    threshold_fen: Fen({ description: 'threshold: settle a distributor once its available commission reaches this' }),
  }),
  rewards: Strict(
    {
      signup_fen: Fen({ description: 'compliance: pay for a sign-up is recruiting reward and refused unless 0' }),
      per_head_fen: Fen({ description: 'compliance: pay per head in a team is refused unless 0' }),
    },
    { description: 'rewards other than commission on real sales; Fenxiao refuses any that is not 0' },
  ),
  risk: Strict({
    order_ip: Strict({
      limit: Type.Integer({ minimum: 0, maximum: 1_000_000, description: 'orders from one buyer IP in the window; 0: off' }),
      window_seconds: Type.Integer({ minimum: 1, maximum: 30 * 86400 }),
      effect: RiskEffect,
    }),
    order_device: Strict({
      limit: Type.Integer({ minimum: 0, maximum: 1_000_000, description: 'orders from one buyer device in the window; 0: off' }),
      window_seconds: Type.Integer({ minimum: 1, maximum: 30 * 86400 }),
      effect: RiskEffect,
    }),
    surge: Strict({
      multiplier: Type.Integer({
        minimum: 0,
        maximum: 1000,
        description: "a beneficiary's commission today above this many times its 7-day daily average; 0: off",
      }),
      min_fen: Fen({ description: 'ignore days below this' }),
      effect: RiskEffect,
    }),
    self_purchase_loop: Strict({
      enabled: Type.Boolean({ description: 'a buyer earning on its own purchase through its own team, or from the device it registered with' }),
      effect: RiskEffect,
    }),
    refund_rate: Strict({
      threshold_bp: Bp('a seller whose refunded share of sales in the window reaches this; 0: off'),
      min_orders: Type.Integer({ minimum: 1, maximum: 100_000 }),
      window_days: Type.Integer({ minimum: 1, maximum: 365 }),
      effect: RiskEffect,
    }),
    shared_identity: Strict({
      enabled: Type.Boolean({ description: 'one phone, ID number or payout account behind several distributors' }),
      effect: RiskEffect,
    }),
    caps_hit: Strict({ enabled: Type.Boolean({ description: 'a risk event when a per-order or per-day cap cut a commission' }) }),
  }),
  application_review: Strict(
    {
      enabled: Type.Boolean({ description: 'with admission review: decide each application by the checks below; off, every application waits for a person' }),
      phone_verified: Type.Boolean({ description: "the applicant entered a code texted to its phone (the portal's form, or phone_verification_id)" }),
      uscc_for_companies: Type.Boolean({
        description: 'a company applicant (profile.company) gives a unified social credit code (licence_no) that passes its GB 32100 check',
      }),
      id_number: Type.Boolean({ description: 'the applicant gives a resident ID number that passes its check digit' }),
      no_shared_identity: Type.Boolean({ description: 'no other distributor holds the same phone or ID number' }),
      on_failure: Type.Union([Type.Literal('refer'), Type.Literal('reject')], {
        description: 'a failed check: refer (the application waits for a person, with the reasons) or reject; all passing approves',
      }),
    },
    { description: 'automatic review of applications under admission review; each decision is stored (GET /v1/distributors/{id}/review) and audited' },
  ),
  auto_receive_days: Type.Integer({ minimum: 1, maximum: 365, description: 'receipt is confirmed automatically this many days after shipping' }),
  tier_true_up: Type.Boolean({
    description:
      "month-end tier true-up: once a month is over (in the program's time zone), each beneficiary's tier lines of that month are repriced at the bracket it finally reached, and what they gain is credited as adjustment lines (a true-up only raises)",
  }),
  profile: Type.Union([Type.Literal('standard'), Type.Literal('wechat_safe')], {
    description:
      'wechat_safe: a program run inside WeChat (mini-program, official account), whose operating rules forbid multi-level distribution (多级分销): at most two levels are paid from a sale (the seller and its direct referrer, levels ≤ 1), and the portal and posters use wording without 下线, 拉人头, 团队 … (docs/wechat.md)',
  }),
  timezone: Type.String({
    minLength: 1,
    maxLength: 64,
    pattern: '^[A-Za-z_]+(/[A-Za-z0-9_+-]+)*$',
    format: 'time-zone',
    description: "IANA zone for days and months (caps, tiers, reports); one the server's zone list knows",
  }),
});
export type ProgramSettings = Static<typeof ProgramSettings>;

export function defaultProgramSettings(): ProgramSettings {
  return {
    levels: 2,
    self_purchase: false,
    freeze_days: 7,
    review_threshold_fen: 1_000_000,
    admission: 'open',
    withdrawal: { min_fen: 100, fee_bp: 0, auto_approve_max_fen: 0, fixed_fee_fen: 0, daily_count_limit: 0, daily_amount_limit_fen: 0 },
    binding: { mode: 'permanent', rebind_after_days: 30, bind_on: 'registration', protection_days: 0, validity_days: 0, validity_from: 'bound' },
    admission_conditions: { deposit_fen: 0, deposit_refundable: true, training_required: false, min_purchases_fen: 0 },
    anti_cheat: {
      registration: { per_ip: { limit: 20, window_seconds: 3600 }, per_device: { limit: 5, window_seconds: 86400 } },
      binding: { per_ip: { limit: 60, window_seconds: 3600 }, per_device: { limit: 10, window_seconds: 86400 } },
    },
    landing_url: null,
    default_rates: { sales_bp: null, override_bp: [] },
    caps: { per_order_fen: 0, per_day_fen: 0 },
    settlement: { cycle: 'manual', weekday: 1, day_of_month: 1, hour: 2, threshold_fen: 10000 },
    rewards: { signup_fen: 0, per_head_fen: 0 },
    risk: {
      order_ip: { limit: 0, window_seconds: 3600, effect: 'flag' },
      order_device: { limit: 0, window_seconds: 3600, effect: 'flag' },
      surge: { multiplier: 0, min_fen: 100_000, effect: 'hold' },
      self_purchase_loop: { enabled: true, effect: 'hold' },
      refund_rate: { threshold_bp: 0, min_orders: 10, window_days: 30, effect: 'hold' },
      shared_identity: { enabled: true, effect: 'flag' },
      caps_hit: { enabled: true },
    },
    application_review: { enabled: false, phone_verified: true, uscc_for_companies: true, id_number: false, no_shared_identity: true, on_failure: 'refer' },
    auto_receive_days: 15,
    tier_true_up: false,
    profile: 'standard',
    timezone: 'Asia/Shanghai',
  };
}

/** The same schema with every property optional at every depth: the body of a partial update. */
export function deepPartial(schema: TSchema): TSchema {
  if (schema.type === 'object' && schema.properties) {
    const properties: Record<string, TSchema> = {};
    for (const [k, v] of Object.entries(schema.properties as Record<string, TSchema>)) properties[k] = deepPartial(v);
    const { required: _required, ...rest } = schema as TSchema & { required?: string[] };
    return { ...rest, properties } as TSchema;
  }
  return schema;
}

export const ProgramPatch = deepPartial(ProgramSettings);

/** The money controls alone (money-controls.ts), as a partial update: what finance sets directly. */
export const MoneyControlsPatch = deepPartial(
  Strict({
    freeze_days: ProgramSettings.properties.freeze_days,
    review_threshold_fen: ProgramSettings.properties.review_threshold_fen,
    withdrawal: ProgramSettings.properties.withdrawal,
    settlement: ProgramSettings.properties.settlement,
  }),
);

const Actor = Strict({ type: Type.String({ description: 'admin, api_key, …' }), id: Nullable(Type.String()) });
export const ProgramProposal = Strict(
  {
    id: Type.String(),
    status: Type.Union([Type.Literal('pending'), Type.Literal('confirmed'), Type.Literal('rejected')]),
    changes: Type.Array(
      Strict({
        field: Type.String({ description: 'dotted name of the money control, e.g. withdrawal.auto_approve_max_fen' }),
        from: Type.Union([Type.Integer(), Type.String()], { description: 'in force when proposed' }),
        to: Type.Union([Type.Integer(), Type.String()], { description: 'what it becomes once confirmed' }),
      }),
    ),
    proposed_by: Actor,
    created_at: Type.String({ format: 'date-time' }),
    decided_by: Nullable(Actor),
    decided_at: Nullable(Type.String({ format: 'date-time' })),
    reason: Nullable(Type.String()),
  },
  { title: 'ProgramProposal', description: 'a change to money controls waiting for a second person with program:money' },
);
export type ProgramProposal = Static<typeof ProgramProposal>;

/** What PUT /v1/program answers: the program in force, and the proposal a change to a money control became. */
/** A change of the rules with its effective time (the rules timeline, issue 11). */
export const RuleChange = Strict(
  {
    id: Type.String(),
    kind: Type.Union([Type.Literal('program'), Type.Literal('grade'), Type.Literal('sku_rule'), Type.Literal('pilot')]),
    target: Nullable(Type.String({ description: 'the grade code or SKU it concerns' })),
    patch: Type.Unknown({ description: '{program?: {dotted path: value}, grades?: {code: grade}, sku?: {sku: rates | null}}: what it sets' }),
    effective_from: Type.String({ format: 'date-time' }),
    reason: Nullable(Type.String()),
    status: Type.Union([Type.Literal('active'), Type.Literal('cancelled')]),
    timing: Type.Union([Type.Literal('scheduled'), Type.Literal('in_force'), Type.Literal('cancelled')]),
    created_at: Type.String({ format: 'date-time' }),
    created_by: Strict({ type: Type.String(), id: Nullable(Type.String()) }),
    cancelled_at: Nullable(Type.String({ format: 'date-time' })),
  },
  { title: 'RuleChange' },
);

/** ?effective_from=<ISO time>[&reason=…] on a change of the rules. */
export const ChangeTimingQuery = Strict({
  effective_from: Type.Optional(
    Type.String({
      minLength: 10,
      maxLength: 40,
      description: 'when the change takes effect (ISO 8601, years 1900–9999): later than now schedules it, earlier back-dates it; without it, now',
    }),
  ),
  reason: Type.Optional(Text(500, { description: 'why (recorded in the audit log and the version history); expected for a back-dated change' })),
});

export const ProgramAnswer = Strict(
  {
    ...ProgramSettings.properties,
    pending_proposal: Type.Optional(ProgramProposal),
    change: Type.Optional(RuleChange),
  },
  {
    description:
      'the whole program in force; pending_proposal when the caller changed a money control it may not change alone: the change waits there for a second person',
  },
);
export type ProgramAnswer = Static<typeof ProgramAnswer>;

export type DeepPartial<T> = T extends (infer _U)[] ? T : T extends object ? { [K in keyof T]?: DeepPartial<T[K]> } : T;

export const GradeCode = Type.String({ minLength: 1, maxLength: 32, pattern: '^[A-Za-z0-9_-]+$' });

export const TierSchema = Strict({
  min_monthly_sales_fen: Fen({ description: "the bracket applies once the beneficiary's own sales this month reach this" }),
  sales_bp: Type.Optional(Bp()),
  override_bp: Type.Optional(Type.Array(Bp(), { maxItems: 3 })),
  ...FixedRateFields,
});

export const UpgradeRule = Strict({
  metric: Type.Union([Type.Literal('sales_fen'), Type.Literal('settled_sales_fen'), Type.Literal('team_size'), Type.Literal('direct_recruits')], {
    description:
      'cumulative own sales (paid, less refunds), or only those past the return window; team_size and direct_recruits (head count) are refused as compliance_violation',
  }),
  min_fen: Fen({ minimum: 1 }),
});

export const GradeBody = Strict({
  name: Text(64, { minLength: 1 }),
  rank: Type.Integer({ minimum: 0, maximum: 1000 }),
  sales_bp: Bp("level-0 rate: the seller's own sales commission"),
  override_bp: Type.Array(Bp(), { maxItems: 3, description: 'override_bp[k-1]: the level-k rate for a beneficiary of this grade' }),
  tiers: Type.Optional(Type.Array(TierSchema, { maxItems: 20, description: "rates by the beneficiary's own sales this month" })),
  upgrade: Type.Optional(Nullable(UpgradeRule)),
  ...FixedRateFields,
});
export type GradeBody = Static<typeof GradeBody>;

export const Grade = Strict({
  code: Type.String(),
  name: Type.String(),
  rank: Type.Integer(),
  sales_bp: Type.Integer(),
  override_bp: Type.Array(Type.Integer()),
  tiers: Type.Optional(Type.Array(TierSchema)),
  upgrade: Type.Optional(Nullable(UpgradeRule)),
  ...FixedRateFields,
});
export type Grade = Static<typeof Grade>;

export const GradeAnswer = Strict(
  { ...Grade.properties, change: Type.Optional(RuleChange) },
  { description: 'the grade in force now (the grade as the change sets it when it does not exist yet), with a dated change' },
);
