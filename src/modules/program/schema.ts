import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { Bp, Fen, Nullable, Strict, Text } from '../../app/schema.ts';

const Window = Strict({
  limit: Type.Integer({ minimum: 1, maximum: 1_000_000, description: 'most events allowed in the window' }),
  window_seconds: Type.Integer({ minimum: 1, maximum: 30 * 86400 }),
});

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
    mode: Type.Union([Type.Literal('permanent'), Type.Literal('rebindable')]),
    rebind_after_days: Type.Integer({ minimum: 1, maximum: 3650, description: 'rebindable: a customer without an order for this many days may be bound anew' }),
    bind_on: Type.Union([Type.Literal('registration'), Type.Literal('first_order')], { description: 'when a claimed invitation becomes the binding' }),
  }),
  admission_conditions: Strict({
    deposit_fen: Fen({ description: 'refundable deposit required before approval; 0: none' }),
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
    override_bp: Type.Array(Nullable(Bp()), { maxItems: 3, description: 'level-k rates where the beneficiary\'s grade has none' }),
  }),
  caps: Strict({
    per_order_fen: Fen({ description: 'most one beneficiary earns from one order; 0: no cap' }),
    per_day_fen: Fen({ description: 'most one beneficiary earns from the orders of one day; 0: no cap' }),
  }),
  settlement: Strict({
    cycle: Type.Union([Type.Literal('manual'), Type.Literal('daily'), Type.Literal('weekly'), Type.Literal('monthly'), Type.Literal('threshold')], { description: 'when the scheduler settles; manual: only POST /v1/settlements/run' }),
    weekday: Type.Integer({ minimum: 1, maximum: 7, description: 'weekly: 1 Monday … 7 Sunday' }),
    day_of_month: Type.Integer({ minimum: 1, maximum: 28, description: 'monthly: the day it runs' }),
    hour: Type.Integer({ minimum: 0, maximum: 23, description: 'local hour the cycle runs at' }),
    threshold_fen: Fen({ description: 'threshold: settle a distributor once its available commission reaches this' }),
  }),
  auto_receive_days: Type.Integer({ minimum: 1, maximum: 365, description: 'receipt is confirmed automatically this many days after shipping' }),
  timezone: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z_]+(/[A-Za-z0-9_+-]+)*$', description: 'IANA zone for days and months (caps, tiers, reports)' }),
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
    binding: { mode: 'permanent', rebind_after_days: 30, bind_on: 'registration' },
    admission_conditions: { deposit_fen: 0, training_required: false, min_purchases_fen: 0 },
    anti_cheat: {
      registration: { per_ip: { limit: 20, window_seconds: 3600 }, per_device: { limit: 5, window_seconds: 86400 } },
      binding: { per_ip: { limit: 60, window_seconds: 3600 }, per_device: { limit: 10, window_seconds: 86400 } },
    },
    landing_url: null,
    default_rates: { sales_bp: null, override_bp: [] },
    caps: { per_order_fen: 0, per_day_fen: 0 },
    settlement: { cycle: 'manual', weekday: 1, day_of_month: 1, hour: 2, threshold_fen: 10000 },
    auto_receive_days: 15,
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

export type DeepPartial<T> = T extends (infer _U)[] ? T : T extends object ? { [K in keyof T]?: DeepPartial<T[K]> } : T;

export const GradeCode = Type.String({ minLength: 1, maxLength: 32, pattern: '^[A-Za-z0-9_-]+$' });

export const TierSchema = Strict({
  min_monthly_sales_fen: Fen({ description: 'the bracket applies once the beneficiary\'s own sales this month reach this' }),
  sales_bp: Type.Optional(Bp()),
  override_bp: Type.Optional(Type.Array(Bp(), { maxItems: 3 })),
});

export const UpgradeRule = Strict({
  metric: Type.Union([Type.Literal('sales_fen'), Type.Literal('settled_sales_fen')], { description: 'cumulative own sales (paid, less refunds), or only those past the return window' }),
  min_fen: Fen({ minimum: 1 }),
});

export const GradeBody = Strict({
  name: Text(64, { minLength: 1 }),
  rank: Type.Integer({ minimum: 0, maximum: 1000 }),
  sales_bp: Bp('level-0 rate: the seller\'s own sales commission'),
  override_bp: Type.Array(Bp(), { maxItems: 3, description: 'override_bp[k-1]: the level-k rate for a beneficiary of this grade' }),
  tiers: Type.Optional(Type.Array(TierSchema, { maxItems: 20, description: 'rates by the beneficiary\'s own sales this month' })),
  upgrade: Type.Optional(Nullable(UpgradeRule)),
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
});
export type Grade = Static<typeof Grade>;
