import { Type, type Static } from '@sinclair/typebox';
import { ExternalId, Fen, Nullable, Strict, Text, Timestamp } from '../../core/schema.ts';
import { DepositRefund } from '../withdrawals/deposit-refund-schema.ts';

export const Phone = Type.String({ minLength: 5, maxLength: 20, pattern: '^\\+?[0-9][0-9 -]{3,18}[0-9]$', 'x-pii': true });
/** PRC resident ID (18 characters); the check digit and birth date are checked by the service. */
export const IdNumber = Type.String({
  minLength: 18,
  maxLength: 18,
  pattern: '^[1-9][0-9]{16}[0-9Xx]$',
  'x-pii': true,
  description: 'PRC resident ID number, encrypted at rest, masked in responses',
});
export const RealName = Text(64, { minLength: 1, description: 'legal name, encrypted at rest, masked in responses' });
export const RegionCode = Type.String({ pattern: '^[0-9]{6}$', description: 'GB/T 2260 code, e.g. 440305' });
export const InviteCodeInput = Type.String({ minLength: 1, maxLength: 32 });
/** The end user's IP and device, passed on by the merchant's backend for anti-cheat limits. */
const ClientIp = Type.String({ minLength: 2, maxLength: 45, pattern: '^[0-9A-Fa-f:.]+$' });
const DeviceId = Type.String({ minLength: 1, maxLength: 128, pattern: '^[\\x21-\\x7e]+$' });

export const CreateDistributorBody = Strict({
  external_id: ExternalId("the merchant's user id; the same id buys as buyer_external_id"),
  name: Text(128, { minLength: 1 }),
  phone: Type.Optional(Phone),
  referrer_code: Type.Optional(InviteCodeInput),
  region_code: Type.Optional(RegionCode),
  real_name: Type.Optional(RealName),
  id_number: Type.Optional(IdNumber),
  consent: Type.Optional(
    Type.Boolean({
      description:
        "the merchant obtained the person's consent to process personal data (PIPL); recorded as consent_at, and required with real_name or id_number",
    }),
  ),
  client_ip: Type.Optional(ClientIp),
  device_id: Type.Optional(DeviceId),
  phone_verification_id: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 64,
      description: "a verified POST /v1/phone-verifications of this phone: the program's review counts the phone as verified",
    }),
  ),
});
export type CreateDistributorBody = Static<typeof CreateDistributorBody>;

/** real_name, id_number, wechat, email and address are encrypted at rest and masked in responses. */
export const ApplicationProfile = Strict({
  real_name: Type.Optional(Text(64)),
  id_number: Type.Optional(IdNumber),
  company: Type.Optional(Text(128)),
  licence_no: Type.Optional(Text(64, { pattern: '^[0-9A-Za-z-]*$' })),
  wechat: Type.Optional(Text(64)),
  email: Type.Optional(Text(254)),
  address: Type.Optional(Text(256)),
  note: Type.Optional(Text(1000)),
});
export type ApplicationProfile = Static<typeof ApplicationProfile>;

export const ApplicationBody = Strict({
  external_id: ExternalId(),
  name: Text(128, { minLength: 1 }),
  phone: Phone,
  referrer_code: Type.Optional(InviteCodeInput),
  region_code: Type.Optional(RegionCode),
  profile: Type.Optional(ApplicationProfile),
  consent: Type.Literal(true, { description: 'the applicant agreed to the processing of personal data (PIPL)' }),
  client_ip: Type.Optional(ClientIp),
  device_id: Type.Optional(DeviceId),
  phone_verification_id: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 64,
      description: "a verified POST /v1/phone-verifications of this phone: the program's review counts the phone as verified",
    }),
  ),
});
export type ApplicationBody = Static<typeof ApplicationBody>;

export const Distributor = Strict({
  id: Type.String(),
  external_id: Type.String(),
  name: Type.String(),
  invite_code: Type.String(),
  status: Type.Union([Type.Literal('active'), Type.Literal('pending'), Type.Literal('suspended'), Type.Literal('rejected'), Type.Literal('erased')]),
  referrer_id: Nullable(Type.String()),
  grade: Type.String(),
  phone: Nullable(Type.String({ description: 'masked: 138****5678' })),
  real_name: Nullable(Type.String({ description: 'masked: *三' })),
  id_number: Nullable(Type.String({ description: 'masked: 110***********1234' })),
  profile: Strict(
    {
      company: Nullable(Type.String()),
      licence_no: Nullable(Type.String()),
      note: Nullable(Type.String()),
      wechat: Nullable(Type.String({ description: 'masked' })),
      email: Nullable(Type.String({ description: 'masked' })),
      address: Nullable(Type.String({ description: 'masked' })),
    },
    { description: 'the application profile; personal fields masked (whole values: GET /v1/distributors/{id}/pii)' },
  ),
  consent_at: Nullable(Timestamp('when the person consented to the processing of personal data (PIPL)')),
  region_code: Nullable(Type.String()),
  region_name: Type.Optional(Nullable(Type.String({ description: 'the region’s GB/T 2260 name (北京市朝阳区)' }))),
  invite_url: Type.String(),
  source: Type.String(),
  status_reason: Nullable(Type.String()),
  created_at: Timestamp(),
  approved_at: Nullable(Timestamp()),
});
export type Distributor = Static<typeof Distributor>;

const LocalText = Strict({ en: Type.String(), zh: Type.String() });

export const ApplicationReview = Strict(
  {
    distributor_id: Type.String(),
    outcome: Type.Union([Type.Literal('approved'), Type.Literal('referred'), Type.Literal('rejected')], {
      description: 'approved automatically; referred: waits for a person (POST …/approve or …/reject); rejected automatically',
    }),
    checks: Type.Array(
      Strict({
        check: Type.Union([
          Type.Literal('phone_verified'),
          Type.Literal('uscc'),
          Type.Literal('id_number'),
          Type.Literal('shared_identity'),
          Type.Literal('admission_conditions'),
        ]),
        outcome: Type.Union([Type.Literal('passed'), Type.Literal('failed'), Type.Literal('not_applicable')]),
        reason: LocalText,
      }),
    ),
    rules: Type.Unknown({ description: 'the application_review settings the decision was taken under' }),
    decided_at: Timestamp(),
  },
  { title: 'ApplicationReview', description: "the program's automatic review of an application: each check, passed or failed, and why" },
);
export type ApplicationReview = Static<typeof ApplicationReview>;

export const ReasonBody = Strict({ reason: Text(500, { minLength: 1 }) });
export const OptionalReasonBody = Strict({ reason: Type.Optional(Text(500)) });

export const ConditionsBody = Strict({
  deposit_paid_fen: Type.Optional(Fen({ description: 'the deposit received so far, in total' })),
  training_completed: Type.Optional(Type.Boolean()),
});

export const Conditions = Strict({
  deposit_required_fen: Type.Integer(),
  deposit_paid_fen: Type.Integer(),
  deposit_refunded_fen: Type.Integer(),
  training_required: Type.Boolean(),
  training_completed_at: Nullable(Timestamp()),
  min_purchases_fen: Type.Integer(),
  purchases_fen: Type.Integer(),
  met: Type.Boolean(),
  unmet: Type.Array(Type.String()),
});
export type Conditions = Static<typeof Conditions>;

export const DepositBody = Strict({
  amount_fen: Fen({ minimum: 1, description: 'the deposit received now (added to what was received before)' }),
  reference: Type.Optional(Text(200, { description: "the payment's reference: a bank transfer's serial number, a receipt number" })),
});
export type DepositBody = Static<typeof DepositBody>;

/** The admission deposit the merchant holds for a distributor (a liability on the ledger). */
export const Deposit = Strict({
  distributor_id: Type.String(),
  status: Type.String({ description: "the distributor's status: pending until its admission conditions are met" }),
  required_fen: Type.Integer({ description: "the program's deposit (admission_conditions.deposit_fen)" }),
  paid_fen: Type.Integer({ description: 'received so far, in total' }),
  refunded_fen: Type.Integer({ description: 'refunded so far, in total: refunds whose payout was paid' }),
  refunding_fen: Type.Integer({
    description: "on its way back: a refund asked for whose payout is not yet paid or failed (the distributor's deposit_refunding account)",
  }),
  held_fen: Type.Integer({ description: "held now: the distributor's deposit account on the ledger (paid − refunded − refunding)" }),
  /** The newest refund of the deposit, with its payout. */
  refund: Nullable(DepositRefund),
});
export type Deposit = Static<typeof Deposit>;

export const MoveBody = Strict({
  referrer_id: Nullable(Type.String({ minLength: 1, maxLength: 64 })),
  reason: Text(500, { minLength: 1 }),
});

export const UpdateDistributorBody = Strict({
  name: Type.Optional(Text(128, { minLength: 1 })),
  phone: Type.Optional(Nullable(Phone)),
  real_name: Type.Optional(Nullable(RealName)),
  id_number: Type.Optional(Nullable(IdNumber)),
  wechat: Type.Optional(Nullable(Text(64, { minLength: 1 }))),
  email: Type.Optional(Nullable(Text(254, { minLength: 1 }))),
  address: Type.Optional(Nullable(Text(256, { minLength: 1 }))),
  consent: Type.Optional(
    Type.Literal(true, { description: 'record that the person consented (PIPL); needed before adding real_name, id_number or contact fields' }),
  ),
  region_code: Type.Optional(Nullable(RegionCode)),
  grade: Type.Optional(Type.String({ minLength: 1, maxLength: 32 })),
  reason: Type.Optional(Text(500)),
});

export const TeamMember = Strict({
  id: Type.String(),
  external_id: Type.String(),
  name: Type.String(),
  status: Type.String(),
  grade: Type.String(),
  level: Type.Integer(),
  invite_code: Type.String(),
  joined_at: Timestamp(),
});

export const TeamCounts = Strict({
  direct: Type.Integer(),
  level2: Type.Integer(),
  level3: Type.Integer(),
  total: Type.Integer({ description: 'everyone below, at any depth' }),
});

export const DistributorListQuery = Strict({
  status: Type.Optional(
    Type.Union([Type.Literal('active'), Type.Literal('pending'), Type.Literal('suspended'), Type.Literal('rejected'), Type.Literal('erased')]),
  ),
  grade: Type.Optional(Type.String({ maxLength: 32 })),
  q: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
  referrer_id: Type.Optional(Type.String({ maxLength: 64 })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
  cursor: Type.Optional(Type.String({ maxLength: 200 })),
});

export const DocumentView = Strict({
  id: Type.String(),
  distributor_id: Type.String(),
  kind: Type.String(),
  filename: Type.String(),
  content_type: Type.String(),
  size_bytes: Type.Integer(),
  sha256: Type.String(),
  created_at: Timestamp(),
});
