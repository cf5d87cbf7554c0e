import { Type, type Static } from '@sinclair/typebox';
import { Nullable, SignedFen, Strict } from '../../core/schema.ts';

const Day = (description: string) => Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$', description });

/** from/to: local dates (the program's time zone), both included; default the last 30 days. */
export const RangeQuery = Strict({
  from: Type.Optional(Day("first day, YYYY-MM-DD in the program's time zone (default: 29 days before `to`)")),
  to: Type.Optional(Day('last day, included (default: today)')),
});

const Range = Strict({ from: Type.String(), to: Type.String(), timezone: Type.String() });
const Count = (description?: string) => Type.Integer({ minimum: 0, ...(description ? { description } : {}) });

export const Kpis = Strict({
  range: Range,
  sales_fen: SignedFen('paid less refunded, of the orders paid in the range'),
  gross_sales_fen: SignedFen('paid, of the orders paid in the range'),
  refunded_fen: SignedFen('refunded so far of the orders paid in the range'),
  orders: Count('orders paid in the range'),
  pending_payment_orders: Count('orders placed in the range that still await payment (待付款): in no other figure'),
  closed_orders: Count('orders placed in the range and closed unpaid'),
  refunds: Count('refund and cancellation events on those orders'),
  commission_fen: SignedFen('commission on the orders paid in the range, net of reversals and clawbacks'),
  commission_reversed_fen: SignedFen('reversed or clawed back of it'),
  distributors: Count('distributors registered up to `to`'),
  new_distributors: Count('registered in the range'),
  active_distributors: Count('distributors who sold an order in the 30 days up to today (a figure of now, whatever the range)'),
  active_window: Strict({ from: Type.String(), to: Type.String() }),
  new_bindings: Count('customers bound (or rebound) in the range'),
  visits: Count('invite-link visits in the range'),
  settled_fen: SignedFen('moved to withdrawable by settlement in the range'),
  withdrawn_fen: SignedFen('paid out to distributors in the range (after fees)'),
  withdrawal_fee_fen: SignedFen('withdrawal fees kept in the range'),
  balances: Strict(
    {
      pending_fen: SignedFen("all distributors' pending balances now"),
      available_fen: SignedFen(),
      withdrawable_fen: SignedFen('may include negative balances after clawbacks'),
      withdrawing_fen: SignedFen('requested withdrawals and payouts in flight'),
      withdrawn_fen: SignedFen('paid out, ever'),
      commission_expense_fen: SignedFen("commission ever accrued, net (the merchant's expense)"),
    },
    { description: 'from the ledger, as of now' },
  ),
});
export type KpisView = Static<typeof Kpis>;

export const METRICS = [
  'sales_fen',
  'gross_sales_fen',
  'refunded_fen',
  'orders',
  'refunds',
  'commission_fen',
  'commission_reversed_fen',
  'new_distributors',
  'new_bindings',
  'visits',
  'settled_fen',
  'withdrawn_fen',
] as const;
export type Metric = (typeof METRICS)[number];

export const SeriesQuery = Strict({
  ...RangeQuery.properties,
  metric: Type.Union(METRICS.map((m) => Type.Literal(m))),
  interval: Type.Optional(Type.Union([Type.Literal('day'), Type.Literal('week'), Type.Literal('month')], { default: 'day' })),
});

export const Series = Strict({
  range: Range,
  metric: Type.String(),
  interval: Type.String(),
  total: SignedFen('the sum of the points: the KPI of the same name over the range'),
  points: Type.Array(
    Strict({
      period: Type.String({ description: 'the day, the Monday of the week, or the first of the month; ends are clipped to the range' }),
      value: SignedFen(),
    }),
  ),
});

export const BreakdownQuery = Strict({
  ...RangeQuery.properties,
  by: Type.Union([Type.Literal('grade'), Type.Literal('region')]),
  level: Type.Optional(Type.Union([Type.Literal('province'), Type.Literal('city')], { default: 'province', description: 'region only' })),
});

const SegmentFigures = {
  orders: Count(),
  gross_sales_fen: SignedFen(),
  refunded_fen: SignedFen(),
  sales_fen: SignedFen(),
  commission_fen: SignedFen("commission on these sellers' orders, net"),
  new_distributors: Count(),
};

export const Breakdown = Strict({
  range: Range,
  by: Type.String(),
  level: Nullable(Type.String()),
  items: Type.Array(
    Strict({
      key: Nullable(Type.String({ description: 'grade code, or GB/T 2260 code of the province (xx0000) or city (xxxx00); null: no seller, or no region' })),
      name: Nullable(Type.String()),
      ...SegmentFigures,
    }),
  ),
  totals: Strict(SegmentFigures),
});

export const TopQuery = Strict({
  ...RangeQuery.properties,
  metric: Type.Optional(Type.Union([Type.Literal('sales'), Type.Literal('commission')], { default: 'sales' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 10 })),
});

export const Top = Strict({
  range: Range,
  metric: Type.String(),
  items: Type.Array(
    Strict({
      rank: Type.Integer({ minimum: 1 }),
      distributor_id: Type.String(),
      external_id: Type.String(),
      name: Type.String(),
      grade: Type.String(),
      region_code: Nullable(Type.String()),
      region_name: Nullable(Type.String({ description: 'the region’s GB/T 2260 name' })),
      orders: Count('orders sold in the range'),
      sales_fen: SignedFen('own sales, net of refunds'),
      commission_fen: SignedFen('commission earned on orders paid in the range, net'),
    }),
  ),
});

export const FunnelQuery = Strict({
  ...RangeQuery.properties,
  distributor_id: Type.String({ minLength: 1, maxLength: 64 }),
});

export const Funnel = Strict({
  range: Range,
  distributor_id: Type.String(),
  visits: Count('invite-link visits'),
  unique_visitors: Count(),
  bindings: Count('customers bound to this distributor'),
  orders: Count('orders it sold'),
  pending_payment_orders: Count('orders placed in the range that would be credited to it and still await payment (待付款)'),
  closed_orders: Count('such orders closed unpaid'),
  buyers: Count('distinct buyers of those orders'),
  sales_fen: SignedFen(),
  commission_fen: SignedFen('commission it earned on orders paid in the range, net'),
  visit_to_binding_bp: Nullable(Type.Integer({ description: 'bindings / unique visitors, basis points (null without visitors)' })),
  binding_to_order_bp: Nullable(Type.Integer({ description: 'buyers / bindings, basis points; above 10000 when buyers were bound earlier' })),
  visit_to_order_bp: Nullable(Type.Integer({ description: 'buyers / unique visitors, basis points' })),
});

export const EarningsQuery = Strict({
  ...RangeQuery.properties,
  interval: Type.Optional(Type.Union([Type.Literal('day'), Type.Literal('week'), Type.Literal('month')], { default: 'day' })),
});

export const Earnings = Strict({
  range: Range,
  orders: Count(),
  sales_fen: SignedFen('my own sales in the range, net of refunds'),
  commission_fen: SignedFen('what I earned on orders paid in the range, net'),
  balances: Strict({
    pending_fen: SignedFen(),
    available_fen: SignedFen(),
    withdrawable_fen: SignedFen(),
    withdrawing_fen: SignedFen(),
    withdrawn_fen: SignedFen(),
  }),
  points: Type.Array(Strict({ period: Type.String(), orders: Count(), sales_fen: SignedFen(), commission_fen: SignedFen() })),
});
