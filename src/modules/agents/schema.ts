import { Type, type Static } from '@sinclair/typebox';
import { Fen, Nullable, Strict, Text, Timestamp } from '../../core/schema.ts';

export const Rank = Type.Union([Type.Literal('province'), Type.Literal('city'), Type.Literal('district')]);
export const TerritoryCode = Type.String({ pattern: '^[0-9]{6}$', description: 'GB/T 2260 code: province PP0000, city PPCC00, district PPCCDD' });
const Sku = Type.String({ minLength: 1, maxLength: 128, pattern: '^[^\\u0000-\\u001f\\u007f]+$' });
const Units = Type.Integer({ minimum: 1, maximum: 1_000_000 });
const RankBp = Type.Integer({ minimum: 0, maximum: 10000 });

export const AgentProgram = Strict({
  enabled: Type.Boolean(),
  territory_bp: Strict({ province: RankBp, city: RankBp, district: RankBp }),
  buyback_days: Type.Integer({ minimum: 0, description: 'unsold stock is bought back for at least 30 days' }),
});
export type AgentProgram = Static<typeof AgentProgram>;

export const AgentProgramPatch = Strict({
  enabled: Type.Optional(Type.Boolean()),
  territory_bp: Type.Optional(Strict({ province: Type.Optional(RankBp), city: Type.Optional(RankBp), district: Type.Optional(RankBp) })),
  buyback_days: Type.Optional(Type.Integer({ minimum: 0, maximum: 3650, description: 'at least 30 (422 compliance_violation below)' })),
});
export type AgentProgramPatch = Static<typeof AgentProgramPatch>;

export const AppointBody = Strict({
  distributor_id: Type.String({ minLength: 1, maxLength: 64 }),
  rank: Rank,
  region_code: TerritoryCode,
});

export const AgentView = Strict({
  id: Type.String(),
  distributor_id: Type.String(),
  rank: Rank,
  region_code: Type.String(),
  region_name: Type.String({ description: 'the territory’s name (朝阳区; a municipality’s city is named as the municipality, 北京市)' }),
  region_full_name: Type.String({ description: 'with its province and city (北京市朝阳区)' }),
  status: Type.Union([Type.Literal('active'), Type.Literal('suspended'), Type.Literal('ended')]),
  status_reason: Nullable(Type.String()),
  distributor_name: Type.Optional(Type.String()),
  created_at: Timestamp(),
});
export type AgentView = Static<typeof AgentView>;

export const AgentListQuery = Strict({
  status: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('suspended'), Type.Literal('ended')])),
  distributor_id: Type.Optional(Type.String({ maxLength: 64 })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
  cursor: Type.Optional(Type.String({ maxLength: 64 })),
});

export const ReasonBody = Strict({ reason: Text(500, { minLength: 1 }) });
export const TransferBody = Strict({ distributor_id: Type.String({ minLength: 1, maxLength: 64 }), reason: Text(500, { minLength: 1 }) });

export const AgentEventView = Strict({
  id: Type.String(),
  type: Type.String(),
  reason: Nullable(Type.String()),
  details: Type.Object({}, { additionalProperties: true }),
  actor_type: Type.String(),
  actor_id: Nullable(Type.String()),
  at: Timestamp(),
});

export const PriceBody = Strict({ retail_fen: Fen(), province_fen: Fen(), city_fen: Fen(), district_fen: Fen() });
export const PriceView = Strict({
  sku: Type.String(),
  retail_fen: Type.Integer(),
  province_fen: Type.Integer(),
  city_fen: Type.Integer(),
  district_fen: Type.Integer(),
  updated_at: Timestamp(),
});
export type PriceView = Static<typeof PriceView>;
export const SkuParams = Strict({ sku: Sku });

export const StockItems = Type.Array(Strict({ sku: Sku, quantity: Units }), { minItems: 1, maxItems: 200 });
export const PurchaseOrderBody = Strict({ agent_id: Type.String({ minLength: 1, maxLength: 64 }), items: StockItems });
export type PurchaseOrderBody = Static<typeof PurchaseOrderBody>;
export const PurchaseOrderView = Strict({
  id: Type.String(),
  agent_id: Type.String(),
  status: Type.Union([Type.Literal('pending_payment'), Type.Literal('paid')]),
  amount_fen: Type.Integer(),
  items: Type.Array(Strict({ sku: Type.String(), quantity: Type.Integer(), unit_price_fen: Type.Integer() })),
  reference: Nullable(Type.String()),
  created_at: Timestamp(),
  paid_at: Nullable(Timestamp()),
});
export type PurchaseOrderView = Static<typeof PurchaseOrderView>;
export const PayBody = Strict({ reference: Text(200, { minLength: 1 }) });
/** A payment channel's (or the merchant's payment backend's) signed word that a purchase order was paid. */
export const PurchasePaymentCallback = Strict({
  purchase_order_id: Type.String({ minLength: 1, maxLength: 64 }),
  reference: Text(200, { minLength: 1, description: 'the channel’s transaction id' }),
  amount_fen: Fen(),
});
export type PurchasePaymentCallback = Static<typeof PurchasePaymentCallback>;
export const PurchaseOrderListQuery = Strict({
  agent_id: Type.Optional(Type.String({ maxLength: 64 })),
  status: Type.Optional(Type.Union([Type.Literal('pending_payment'), Type.Literal('paid')])),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
  cursor: Type.Optional(Type.String({ maxLength: 64 })),
});

export const InventoryView = Strict({
  items: Type.Array(
    Strict({
      sku: Type.String(),
      quantity: Type.Integer(),
      value_fen: Type.Integer({ description: 'what the units held cost the agent' }),
      oldest_acquired_at: Nullable(Timestamp()),
    }),
  ),
});
export type InventoryView = Static<typeof InventoryView>;

export const MovementView = Strict({
  id: Type.Integer(),
  sku: Type.String(),
  kind: Type.String(),
  quantity: Type.Integer(),
  unit_cost_fen: Type.Integer(),
  lot_id: Type.String(),
  ref_type: Type.String(),
  ref_id: Type.String(),
  reason: Nullable(Type.String()),
  created_at: Timestamp(),
});

export const StockCorrectionBody = Strict({
  items: Type.Array(
    Strict({
      sku: Sku,
      quantity: Type.Integer({
        minimum: -1_000_000,
        maximum: 1_000_000,
        description: 'units found (+) or missing (−) at the stocktake; never 0',
      }),
    }),
    { minItems: 1, maxItems: 200 },
  ),
  reason: Text(500, { minLength: 1 }),
});
export type StockCorrectionBody = Static<typeof StockCorrectionBody>;
export const StockCorrectionView = Strict({
  id: Type.String(),
  agent_id: Type.String(),
  reason: Type.String(),
  amount_fen: Type.Integer({ description: 'what the missing units cost the agent (written off its stock account); found units cost nothing' }),
  items: Type.Array(Strict({ sku: Type.String(), quantity: Type.Integer(), amount_fen: Type.Integer() })),
  created_at: Timestamp(),
});
export type StockCorrectionView = Static<typeof StockCorrectionView>;

export const StockReturnBody = Strict({ items: StockItems });
export const StockReturnView = Strict({
  id: Type.String(),
  agent_id: Type.String(),
  amount_fen: Type.Integer(),
  items: Type.Array(Strict({ sku: Type.String(), quantity: Type.Integer(), amount_fen: Type.Integer() })),
  created_at: Timestamp(),
});
export type StockReturnView = Static<typeof StockReturnView>;

export const TerritoryReportQuery = Strict({
  from: Type.Optional(Timestamp('orders paid at or after (default: 30 days before `to`)')),
  to: Type.Optional(Timestamp('orders paid before (default: now)')),
  slow_days: Type.Optional(
    Type.Integer({ minimum: 1, maximum: 3650, description: 'stock bought this many days ago and still held is slow-moving (囤货); default 60' }),
  ),
});
const Figures = {
  orders: Type.Integer(),
  sales_fen: Type.Integer({ description: 'what the orders shipped into the territory paid' }),
  refunded_fen: Type.Integer(),
  territory_commission_fen: Type.Integer({ description: 'the territory lines of those orders, after refunds and clawbacks' }),
};
export const TerritoryReport = Strict({
  from: Timestamp(),
  to: Timestamp(),
  slow_days: Type.Integer(),
  items: Type.Array(
    Strict({
      agent_id: Type.String(),
      distributor_id: Type.String(),
      distributor_name: Type.String(),
      rank: Rank,
      region_code: Type.String(),
      region_full_name: Type.String(),
      status: Type.Union([Type.Literal('active'), Type.Literal('suspended'), Type.Literal('ended')]),
      ...Figures,
      price_difference_fen: Type.Integer({ description: 'the price-difference lines of orders served from its stock' }),
      stock_units: Type.Integer(),
      stock_value_fen: Type.Integer({ description: 'what the units held cost the agent' }),
      slow_units: Type.Integer({ description: 'units bought at least slow_days ago and still held' }),
      slow_value_fen: Type.Integer(),
    }),
  ),
  by_rank: Type.Array(Strict({ rank: Rank, agents: Type.Integer(), ...Figures, stock_value_fen: Type.Integer() })),
});
export type TerritoryReport = Static<typeof TerritoryReport>;

const Day = (description: string) => Type.String({ pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}$', description });

export const TerritorySalesQuery = Strict({
  from: Type.Optional(Day("first day, YYYY-MM-DD in the program's time zone (default: 29 days before `to`)")),
  to: Type.Optional(Day('last day, included (default: today)')),
  interval: Type.Optional(
    Type.Union([Type.Literal('day'), Type.Literal('month')], { description: 'the series by day or by month (default: day up to 92 days, month beyond)' }),
  ),
  slow_days: Type.Optional(
    Type.Integer({ minimum: 1, maximum: 3650, description: 'stock bought this many days ago and still held is slow-moving (囤货); default 60' }),
  ),
});
export type TerritorySalesQuery = Static<typeof TerritorySalesQuery>;

const SeriesFigures = {
  orders: Type.Integer({ description: 'orders shipped into the territory and paid in the period, while the agent held it' }),
  sales_fen: Type.Integer({ description: 'what those orders paid' }),
  refunded_fen: Type.Integer({ description: 'refunded of it so far' }),
  territory_commission_fen: Type.Integer({ description: 'the territory lines of those orders to the agent, after refunds and clawbacks' }),
  price_difference_fen: Type.Integer({ description: 'the price-difference lines of orders served from its stock' }),
};
export const TerritorySales = Strict({
  agent_id: Type.String(),
  rank: Rank,
  region_code: Type.String(),
  region_full_name: Type.String(),
  status: Type.Union([Type.Literal('active'), Type.Literal('suspended'), Type.Literal('ended')]),
  range: Strict({ from: Type.String(), to: Type.String(), timezone: Type.String() }),
  interval: Type.Union([Type.Literal('day'), Type.Literal('month')]),
  slow_days: Type.Integer(),
  ...SeriesFigures,
  territory_commission: Strict(
    { pending_fen: Type.Integer(), available_fen: Type.Integer(), settled_fen: Type.Integer({ description: 'clawbacks included' }) },
    { description: 'territory_commission_fen by the lines’ status now' },
  ),
  stock_units: Type.Integer(),
  stock_value_fen: Type.Integer({ description: 'what the units held cost the agent' }),
  slow_units: Type.Integer({ description: 'units bought at least slow_days ago and still held (囤货)' }),
  slow_value_fen: Type.Integer(),
  points: Type.Array(
    Strict({ period: Type.String({ description: 'the day, or the first of the month; every period of the range, in order' }), ...SeriesFigures }),
  ),
});
export type TerritorySales = Static<typeof TerritorySales>;

export const ApplicationStatus = Type.Union([Type.Literal('pending'), Type.Literal('approved'), Type.Literal('rejected')]);

export const ApplicationBody = Strict({
  rank: Rank,
  region_code: TerritoryCode,
  note: Type.Optional(Text(2000)),
  document_ids: Type.Array(Type.String({ minLength: 1, maxLength: 64 }), {
    maxItems: 10,
    uniqueItems: true,
    description: 'documents the distributor uploaded (POST /v1/distributors/{id}/documents): business licence, ID photos',
  }),
});
export type ApplicationBody = Static<typeof ApplicationBody>;

export const ApplicationDocument = Strict({
  id: Type.String(),
  kind: Type.String(),
  filename: Type.String(),
  content_type: Type.String(),
  size_bytes: Type.Integer(),
});

export const ApplicationView = Strict({
  id: Type.String(),
  distributor_id: Type.String(),
  rank: Rank,
  region_code: Type.String(),
  region_name: Type.String(),
  region_full_name: Type.String(),
  note: Type.String(),
  documents: Type.Array(ApplicationDocument, { description: 'documents deleted since are left out' }),
  status: ApplicationStatus,
  reason: Nullable(Type.String({ description: 'why it was rejected' })),
  agent_id: Nullable(Type.String({ description: 'the agent appointed on approval' })),
  reviewed_at: Nullable(Timestamp()),
  created_at: Timestamp(),
});
export type ApplicationView = Static<typeof ApplicationView>;

export const ApplicationListQuery = Strict({
  status: Type.Optional(ApplicationStatus),
  distributor_id: Type.Optional(Type.String({ maxLength: 64 })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
  cursor: Type.Optional(Type.String({ maxLength: 80 })),
});

export const ApplicationDocumentParams = Strict({
  id: Type.String({ minLength: 1, maxLength: 64 }),
  document_id: Type.String({ minLength: 1, maxLength: 64 }),
});
