import { Type } from '@sinclair/typebox';
import { Bp, Fen, Nullable, Strict } from '../../core/schema.ts';
import { FixedRateFields, ProgramSettings, TierSchema } from '../program/schema.ts';
import type { RateSpec } from '../commissions/calculator.ts';

/** A SKU's rates by level ("0" the seller, "1".."3" overrides). */
export type SkuRates = Partial<Record<'0' | '1' | '2' | '3', RateSpec>>;

export const Rate = Type.Union([
  Strict({ kind: Type.Literal('percent'), bp: Bp() }),
  Strict({ kind: Type.Literal('fixed'), fen: Fen({ description: 'fen per unit, multiplied by the quantity' }) }),
]);
export const Rates = Strict({ '0': Type.Optional(Rate), '1': Type.Optional(Rate), '2': Type.Optional(Rate), '3': Type.Optional(Rate) });
const Day = (what: string) => Type.String({ pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}$', description: `${what} (YYYY-MM-DD in the tenant's time zone)` });
const Figures = { current_fen: Type.Integer(), proposed_fen: Type.Integer(), delta_fen: Type.Integer() };
export const SimulateBody = Strict({
  from: Type.Optional(Day('first day replayed; default 30 days before to')),
  to: Type.Optional(Day('the day after the last one replayed; default today')),
  changes: Strict(
    {
      levels: Type.Optional(Type.Integer({ minimum: 0, maximum: 10, description: 'override levels; above 3 is refused as compliance_violation' })),
      default_rates: Type.Optional(
        Strict({
          sales_bp: Type.Optional(Nullable(Bp())),
          override_bp: Type.Optional(Type.Array(Nullable(Bp()), { maxItems: 3 })),
          ...FixedRateFields,
        }),
      ),
      caps: Type.Optional(Strict({ per_order_fen: Type.Optional(Fen()), per_day_fen: Type.Optional(Fen()) })),
      grades: Type.Optional(
        Type.Record(
          Type.String({ pattern: '^[A-Za-z0-9_-]{1,32}$' }),
          Strict({
            sales_bp: Type.Optional(Bp()),
            override_bp: Type.Optional(Type.Array(Bp(), { maxItems: 3 })),
            tiers: Type.Optional(Type.Array(TierSchema, { maxItems: 20 })),
            ...FixedRateFields,
          }),
          { maxProperties: 100 },
        ),
      ),
      sku: Type.Optional(
        Type.Record(Type.String({ pattern: '^[^\\u0000-\\u001f\\u007f/]{1,128}$' }), Nullable(Rates), {
          maxProperties: 1000,
          description: "a SKU's proposed rates, or null to drop its override",
        }),
      ),
      binding: Type.Optional(
        Strict(
          {
            mode: Type.Optional(ProgramSettings.properties.binding.properties.mode),
            rebind_after_days: Type.Optional(ProgramSettings.properties.binding.properties.rebind_after_days),
            protection_days: Type.Optional(ProgramSettings.properties.binding.properties.protection_days),
            validity_days: Type.Optional(ProgramSettings.properties.binding.properties.validity_days),
            validity_from: Type.Optional(ProgramSettings.properties.binding.properties.validity_from),
          },
          { description: "a proposed binding policy: the period's orders are attributed anew under it and under today's" },
        ),
      ),
      tier_true_up: Type.Optional(
        Type.Boolean({
          description: "the month-end tier true-up (the program's tier_true_up) proposed on or off: replayed for the period's whole months that are over",
        }),
      ),
    },
    { description: 'only what changes, over the rules in force today' },
  ),
});
export const Simulation = Strict(
  {
    from: Type.String(),
    to: Type.String(),
    timezone: Type.String(),
    rule_version: Type.Integer({ description: 'the rules in force the change is laid over' }),
    orders: Type.Integer(),
    paid_fen: Type.Integer(),
    refunded_fen: Type.Integer(),
    actual_fen: Type.Integer({ description: 'what these orders were credited when paid' }),
    current_fen: Type.Integer({ description: "these orders replayed under today's rules (with the true-up, where they have it)" }),
    proposed_fen: Type.Integer({ description: 'these orders replayed under the proposed rules (with the true-up, where they have it)' }),
    delta_fen: Type.Integer(),
    current_rate_bp: Type.Integer(),
    proposed_rate_bp: Type.Integer(),
    by_level: Type.Array(Strict({ level: Type.Integer(), ...Figures })),
    by_grade: Type.Array(Strict({ grade: Type.String(), ...Figures })),
    true_up: Strict(
      {
        months: Type.Array(Type.String(), { description: 'the whole months of the period that are over (YYYY-MM): those a true-up is replayed for' }),
        current: Type.Boolean({ description: 'tier_true_up in force' }),
        proposed: Type.Boolean({ description: 'tier_true_up as proposed' }),
        current_fen: Type.Integer({ description: "what the true-up adds under today's rules (included in current_fen)" }),
        proposed_fen: Type.Integer({ description: 'what it adds under the proposed rules (included in proposed_fen)' }),
        delta_fen: Type.Integer(),
      },
      {
        description:
          "the month-end tier true-up replayed: each beneficiary's simulated tier lines of a whole month repriced at the bracket its simulated sales of the month reached (only raising), as the tier-true-up job does; 0 where the rules do not have it",
      },
    ),
    distributors_gaining: Type.Integer(),
    distributors_losing: Type.Integer(),
    top_changes: Type.Array(Strict({ distributor_id: Type.String(), name: Type.String(), ...Figures })),
    binding: Type.Optional(
      Strict(
        {
          current: Type.Unknown({ description: 'the binding policy in force' }),
          proposed: Type.Unknown({ description: 'the binding policy proposed' }),
          orders_moved: Type.Integer({ description: 'orders credited to a different seller (or to none) under the proposed policy' }),
          moved_paid_fen: Type.Integer({ description: 'what those orders paid' }),
          moved_current_fen: Type.Integer({ description: "their commissions under today's policy" }),
          moved_proposed_fen: Type.Integer({ description: 'their commissions under the proposed policy' }),
          orders_without_seller_current: Type.Integer(),
          orders_without_seller_proposed: Type.Integer(),
        },
        {
          description:
            "attribution replayed from the bindings as they stood when the period began: invites from orders and from the bindings made, admins' moves as made; invites refused by today's policy without an order left no trace",
        },
      ),
    ),
  },
  { title: 'RuleSimulation' },
);
