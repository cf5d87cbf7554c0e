import { Type, type Static } from '@sinclair/typebox';
import { ExternalId, Nullable, Strict, Text, Timestamp } from '../../core/schema.ts';
import { ApplicationProfile, Distributor, InviteCodeInput, Phone } from '../distributors/schema.ts';
import { OrderView } from '../orders/schema.ts';
import { DepositRefund, PayoutChannel } from '../withdrawals/deposit-refund-schema.ts';

/**
 * The distributor portal's wire types. The web portal imports these as types, so each shape is
 * written once.
 */

export const TenantIdInput = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_]+$' });

/** Portal passwords: shorter than the console's (typed on a phone), same scrypt and lockout. */
export const PortalPassword = Type.String({ minLength: 8, maxLength: 200 });
export const PORTAL_PASSWORD_MIN = 8;

const DeviceId = Type.String({ minLength: 1, maxLength: 128, pattern: '^[\\x21-\\x7e]+$' });

export const TokenLoginBody = Strict({
  tenant_id: TenantIdInput,
  token: Type.String({ minLength: 16, maxLength: 4096, description: "a JWT (HS256) minted by the merchant's backend with the portal signing secret" }),
});

export const PasswordLoginBody = Strict({
  tenant_id: TenantIdInput,
  phone: Phone,
  password: Type.String({ minLength: 1, maxLength: 200 }),
});

export const SetPasswordBody = Strict({
  password: PortalPassword,
  current_password: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'required when a password is already set' })),
});

/**
 * The public application form. No `external_id`: an id chosen by an anonymous caller could be
 * one of the merchant's own user ids, claimed in advance; Fenxiao makes one up (`portal-…`).
 */
export const PortalApplyBody = Strict({
  tenant_id: TenantIdInput,
  name: Text(128, { minLength: 1 }),
  phone: Phone,
  password: PortalPassword,
  referrer_code: Type.Optional(InviteCodeInput),
  profile: Type.Optional(ApplicationProfile),
  consent: Type.Literal(true, { description: 'the applicant agreed to the processing of personal data (PIPL)' }),
  device_id: Type.Optional(DeviceId),
});
export type PortalApplyBody = Static<typeof PortalApplyBody>;

/** The same answer whatever the phone: it never says whether the phone belongs to a distributor. */
export const ApplyStarted = Strict({
  verification_id: Type.String({ description: 'send it back with the code (POST /v1/portal/apply/verify)' }),
  expires_at: Timestamp('the code works until then (10 minutes)'),
  status: Type.Literal('code_sent'),
});
export type ApplyStarted = Static<typeof ApplyStarted>;

export const ApplyVerifyBody = Strict({
  tenant_id: TenantIdInput,
  verification_id: Type.String({ minLength: 1, maxLength: 64 }),
  code: Type.String({ pattern: '^[0-9]{6}$', description: 'the six digits texted to the phone' }),
});

export const PortalLink = Strict({
  distributor_id: Type.String(),
  external_id: Type.String({ description: 'the `sub` a login token names to sign this distributor in' }),
  linked_at: Timestamp(),
});

export const PortalSession = Strict({
  token: Type.String({ description: 'send as Authorization: Bearer <token>' }),
  expires_at: Timestamp(),
  tenant_id: Type.String(),
  distributor_id: Type.String(),
});
export type PortalSession = Static<typeof PortalSession>;

/** The distributor's own record, as the portal shows it. */
export const Me = Strict({
  ...Distributor.properties,
  has_password: Type.Boolean(),
  tenant_name: Type.String(),
  grade_name: Type.String({ description: "the grade's name as the merchant set it (e.g. 金牌); its code when the grade is gone" }),
  program_profile: Type.Union([Type.Literal('standard'), Type.Literal('wechat_safe')], {
    description: "the program's profile: under wechat_safe the portal words things without 下线, 团队, levels … (docs/wechat.md)",
  }),
});
export type Me = Static<typeof Me>;

/** A team member as its upline sees it: no merchant user id, no phone. */
export const PortalTeamMember = Strict({
  id: Type.String(),
  name: Type.String(),
  level: Type.Integer({ minimum: 1, maximum: 3 }),
  grade: Type.String(),
  grade_name: Type.String({ description: "the grade's name; its code when the grade is gone" }),
  status: Type.String(),
  joined_at: Timestamp(),
});
export type PortalTeamMember = Static<typeof PortalTeamMember>;

export const DownlineQuery = Strict({
  level: Type.Optional(Type.Integer({ minimum: 1, maximum: 3, default: 1 })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
  cursor: Type.Optional(Type.String({ maxLength: 64 })),
});

export const Invite = Strict({
  invite_code: Type.String(),
  invite_url: Type.String(),
  qr_data_url: Type.String({ description: 'the invite link as a PNG QR code, data: URL' }),
  qrcode_url: Type.String({ description: 'the same QR code from the API (needs this session)' }),
  poster_url: Type.String(),
  usable: Type.Boolean({ description: 'false until the distributor is active: the link answers 404 before that' }),
});
export type Invite = Static<typeof Invite>;

export const SigningSecret = Strict({
  secret: Type.String({ description: 'shown once; sign HS256 login tokens with its UTF-8 bytes' }),
  created_at: Timestamp(),
});

export const PortalSettingsView = Strict({
  signing_secret: Strict({ configured: Type.Boolean(), created_at: Nullable(Timestamp()) }),
  poster_background: Strict({ configured: Type.Boolean(), content_type: Nullable(Type.String()), updated_at: Nullable(Timestamp()) }),
});
export type PortalSettingsView = Static<typeof PortalSettingsView>;

export const PayoutChannelName = Type.Union([Type.Literal('manual'), Type.Literal('alipay'), Type.Literal('wechat'), Type.Literal('bank')]);

/**
 * What the withdrawal form needs to know before the distributor asks: the program's minimum,
 * fee and daily limits, and the payout channels this server can pay through.
 */
export const WithdrawalRules = Strict({
  min_fen: Type.Integer({ description: 'the smallest withdrawal' }),
  fee_bp: Type.Integer({ description: 'percentage fee in basis points' }),
  fixed_fee_fen: Type.Integer({ description: 'fixed fee per withdrawal, added to the percentage fee' }),
  fee_formula: Type.String({ description: 'how the fee is computed: min(amount, floor(amount × fee_bp / 10000) + fixed_fee_fen)' }),
  daily_count_limit: Type.Integer({ description: 'withdrawals per day; 0: no limit' }),
  daily_amount_limit_fen: Type.Integer({ description: 'amount per day; 0: no limit' }),
  channels: Type.Array(PayoutChannelName, { description: 'payout channels configured on this server' }),
});
export type WithdrawalRules = Static<typeof WithdrawalRules>;

/** GET /v1/me/orders: the orders of the commission lines on screen (a page's worth at a time). */
export const MyOrdersQuery = Strict({
  external_id: Type.Array(ExternalId(), {
    minItems: 1,
    maxItems: 50,
    description: "order numbers (a commission line's order_external_id), the parameter repeated for each",
  }),
});

/**
 * An order as a distributor that earns from it sees it: where the goods are, not who bought them
 * (no buyer, no address, no amounts beyond its own lines).
 */
export const PortalOrder = Strict({
  external_id: Type.String(),
  status: OrderView.properties.status,
  logistics: Type.Union([Type.Literal('not_shipped'), Type.Literal('shipped'), Type.Literal('received')], {
    description: 'received once the buyer signed for it (签收), else shipped once it left, else not_shipped',
  }),
  paid_at: Timestamp(),
  shipped_at: Nullable(Timestamp()),
  received_at: Nullable(Timestamp()),
  tracking_carrier: Nullable(Type.String({ description: 'the carrier code (Kuaidi100 codes: shunfeng, yuantong …)' })),
  tracking_number: Nullable(Type.String({ description: "the carrier's tracking number (运单号)" })),
});
export type PortalOrder = Static<typeof PortalOrder>;

/**
 * The distributor's own admission deposit (GET /v1/me/deposit): the figures the merchant sees, and
 * the newest refund without the merchant's internal fields (no staff ids, no reason written by the
 * merchant, no payout references).
 */
export const MyDeposit = Strict({
  distributor_id: Type.String(),
  status: Type.String({ description: "the distributor's status: pending until its admission conditions are met" }),
  required_fen: Type.Integer({ description: "the program's deposit" }),
  paid_fen: Type.Integer({ description: 'received so far, in total' }),
  refunded_fen: Type.Integer({ description: 'refunded so far, in total' }),
  refunding_fen: Type.Integer({ description: 'on its way back: a refund asked for whose payout is not yet paid or failed' }),
  held_fen: Type.Integer({ description: 'held by the merchant now (paid − refunded − refunding)' }),
  /** The newest refund of my deposit, or null. */
  refund: Nullable(
    Strict({
      id: Type.String(),
      amount_fen: Type.Integer(),
      channel: PayoutChannel,
      status: DepositRefund.properties.status,
      created_at: Timestamp(),
      approved_at: Nullable(Timestamp()),
      paid_at: Nullable(Timestamp()),
      failed_at: Nullable(Timestamp()),
      rejected_at: Nullable(Timestamp()),
      awaiting_confirmation: Type.Boolean({
        description:
          'its WeChat transfer waits for me to confirm receipt (GET /v1/me/deposit-refunds/{id}/wechat-confirmation, then wx.requestMerchantTransfer)',
      }),
    }),
  ),
});
export type MyDeposit = Static<typeof MyDeposit>;
