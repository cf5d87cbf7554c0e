import { Type, type Static } from '@sinclair/typebox';
import { Bp, Fen, Nullable, Strict, Text, Timestamp } from '../../core/schema.ts';
import { FixedRateFields, GradeCode, TierSchema } from '../program/schema.ts';

const DistributorId = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' });
const Region = Type.String({ pattern: '^[0-9]{6}$', description: 'GB/T 2260 code of the region an order ships to' });

export const CohortSchema = Strict(
  {
    distributor_ids: Type.Optional(Type.Array(DistributorId, { maxItems: 10_000, uniqueItems: true })),
    grades: Type.Optional(Type.Array(GradeCode, { maxItems: 100, uniqueItems: true })),
    region_codes: Type.Optional(Type.Array(Region, { maxItems: 1000, uniqueItems: true })),
    percent: Type.Optional(Type.Integer({ minimum: 0, maximum: 100, description: 'this share of distributors, by a stable hash of their id' })),
  },
  { description: 'sellers in any of: the listed distributors, the listed grades, orders shipped to the listed regions, the percent' },
);

export const PilotProgramChanges = Strict(
  {
    levels: Type.Optional(Type.Integer({ minimum: 0, maximum: 100, description: 'above 3 is refused as compliance_violation' })),
    default_rates: Type.Optional(
      Strict(
        { sales_bp: Type.Optional(Nullable(Bp())), override_bp: Type.Optional(Type.Array(Nullable(Bp()), { maxItems: 3 })), ...FixedRateFields },
        { description: 'as PUT /v1/program: the fixed amounts given replace the default ones (null clears one)' },
      ),
    ),
    caps: Type.Optional(Strict({ per_order_fen: Type.Optional(Fen()), per_day_fen: Type.Optional(Fen()) })),
  },
  { description: 'the commission rules of the program a pilot may change (partial)' },
);

export const PilotGradeChanges = Strict(
  {
    name: Type.Optional(Text(64, { minLength: 1 })),
    rank: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000 })),
    sales_bp: Type.Optional(Bp()),
    override_bp: Type.Optional(Type.Array(Bp(), { maxItems: 3 })),
    tiers: Type.Optional(Type.Array(TierSchema, { maxItems: 20 })),
    ...FixedRateFields,
  },
  { description: "as PUT /v1/grades/{code}: what is left out stays the grade's; a fixed amount given replaces the grade's (null clears one)" },
);

export const PilotBody = Strict({
  name: Text(100, { minLength: 1 }),
  cohort: CohortSchema,
  program: Type.Optional(PilotProgramChanges),
  grades: Type.Optional(Type.Record(Type.String({ pattern: '^[A-Za-z0-9_-]{1,32}$' }), PilotGradeChanges, { maxProperties: 100 })),
  ends_at: Type.Optional(Timestamp('when it stops by itself; none: until promoted or stopped')),
});
export type PilotBody = Static<typeof PilotBody>;

export const Pilot = Strict(
  {
    id: Type.String(),
    name: Type.String(),
    status: Type.Union([Type.Literal('running'), Type.Literal('promoted'), Type.Literal('stopped')]),
    cohort: CohortSchema,
    program: Type.Optional(PilotProgramChanges),
    grades: Type.Optional(Type.Record(Type.String(), PilotGradeChanges)),
    started_at: Timestamp(),
    ends_at: Nullable(Timestamp()),
    ended_at: Nullable(Timestamp()),
    promoted_change_id: Nullable(Type.String()),
    created_by: Strict({ type: Type.String(), id: Nullable(Type.String()) }),
  },
  { title: 'Pilot' },
);
export type Pilot = Static<typeof Pilot>;

const Interval = Nullable(
  Strict(
    { difference: Type.Number(), low: Type.Number(), high: Type.Number() },
    { description: 'pilot − control in basis points, 95 % interval (normal approximation over orders)' },
  ),
);

const Group = Strict({
  orders: Type.Integer(),
  sales_fen: Type.Integer(),
  commission_fen: Type.Integer(),
  commission_rate_bp: Type.Integer({ description: 'floor(commission × 10000 / sales)' }),
  active_distributors: Type.Integer({ description: 'sellers with at least one order in the period' }),
  sales_per_active_distributor_fen: Type.Integer(),
  new_bindings: Type.Integer({ description: "customers bound in the period to the group's distributors (region cohorts count for neither)" }),
  refunded_fen: Type.Integer(),
  refund_rate_bp: Type.Integer({ description: 'floor(refunded × 10000 / sales)' }),
});

export const PilotReport = Strict(
  {
    pilot: Group,
    control: Group,
    from: Timestamp(),
    to: Nullable(Timestamp()),
    comparison: Strict({
      commission_rate_bp: Strict({ difference: Type.Integer(), interval: Interval }),
      refund_rate_bp: Strict({ difference: Type.Integer(), interval: Interval }),
      sales_per_active_distributor_fen: Strict({ difference: Type.Integer() }),
    }),
    daily: Type.Array(
      Strict({
        day: Type.String(),
        pilot_sales_fen: Type.Integer(),
        pilot_commission_fen: Type.Integer(),
        control_sales_fen: Type.Integer(),
        control_commission_fen: Type.Integer(),
      }),
      { description: 'per UTC day of payment, for the chart' },
    ),
  },
  { title: 'PilotReport', description: 'orders paid while the pilot ran that have a seller: in the pilot (its lines) against the rest (control)' },
);
export type PilotReport = Static<typeof PilotReport>;
