import { Type, type Static } from '@sinclair/typebox';
import { Nullable, Strict, Timestamp } from '../../core/schema.ts';
import { Phone } from '../distributors/schema.ts';

export const SendCodeBody = Strict({ phone: Phone });

export const VerifyCodeBody = Strict({ code: Type.String({ pattern: '^[0-9]{6}$', description: 'the 6 digits texted to the phone' }) });

export const PhoneVerification = Strict(
  {
    id: Type.String({ description: 'pass it as phone_verification_id with the application once verified' }),
    phone: Type.String({ description: 'masked: 138****5678' }),
    status: Type.Union([Type.Literal('code_sent'), Type.Literal('verified'), Type.Literal('expired'), Type.Literal('used')]),
    attempts_left: Type.Integer(),
    expires_at: Timestamp('the code is refused after this'),
    verified_at: Nullable(Timestamp()),
    created_at: Timestamp(),
  },
  { title: 'PhoneVerification', description: 'a one-time code texted to an applicant (the code itself is never shown)' },
);
export type PhoneVerification = Static<typeof PhoneVerification>;

export const SimulatedSms = Strict({
  seq: Type.Integer(),
  to: Type.String(),
  template: Type.String(),
  code: Type.String(),
  text: Type.String(),
  sent_at: Timestamp(),
});
