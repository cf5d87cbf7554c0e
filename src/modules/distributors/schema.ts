import { Type, type Static } from '@sinclair/typebox';
import { ExternalId, Fen, Nullable, Strict, Text, Timestamp } from '../../app/schema.ts';

export const Phone = Type.String({ minLength: 5, maxLength: 20, pattern: '^\\+?[0-9][0-9 -]{3,18}[0-9]$' });
export const RegionCode = Type.String({ pattern: '^[0-9]{6}$', description: 'GB/T 2260 code, e.g. 440305' });
export const InviteCodeInput = Type.String({ minLength: 1, maxLength: 32 });
/** The end user's IP and device, passed on by the merchant's backend for anti-cheat limits. */
const ClientIp = Type.String({ minLength: 2, maxLength: 45, pattern: '^[0-9A-Fa-f:.]+$' });
const DeviceId = Type.String({ minLength: 1, maxLength: 128, pattern: '^[\\x21-\\x7e]+$' });

export const CreateDistributorBody = Strict({
  external_id: ExternalId('the merchant\'s user id; the same id buys as buyer_external_id'),
  name: Text(128, { minLength: 1 }),
  phone: Type.Optional(Phone),
  referrer_code: Type.Optional(InviteCodeInput),
  region_code: Type.Optional(RegionCode),
  client_ip: Type.Optional(ClientIp),
  device_id: Type.Optional(DeviceId),
});
export type CreateDistributorBody = Static<typeof CreateDistributorBody>;

export const ApplicationProfile = Strict({
  real_name: Type.Optional(Text(64)),
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
});
export type ApplicationBody = Static<typeof ApplicationBody>;

export const Distributor = Strict({
  id: Type.String(),
  external_id: Type.String(),
  name: Type.String(),
  invite_code: Type.String(),
  status: Type.Union([Type.Literal('active'), Type.Literal('pending'), Type.Literal('suspended'), Type.Literal('rejected')]),
  referrer_id: Nullable(Type.String()),
  grade: Type.String(),
  phone: Nullable(Type.String({ description: 'masked' })),
  region_code: Nullable(Type.String()),
  invite_url: Type.String(),
  source: Type.String(),
  status_reason: Nullable(Type.String()),
  created_at: Timestamp(),
  approved_at: Nullable(Timestamp()),
});
export type Distributor = Static<typeof Distributor>;

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

export const MoveBody = Strict({
  referrer_id: Nullable(Type.String({ minLength: 1, maxLength: 64 })),
  reason: Text(500, { minLength: 1 }),
});

export const UpdateDistributorBody = Strict({
  name: Type.Optional(Text(128, { minLength: 1 })),
  phone: Type.Optional(Nullable(Phone)),
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
  status: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('pending'), Type.Literal('suspended'), Type.Literal('rejected')])),
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
