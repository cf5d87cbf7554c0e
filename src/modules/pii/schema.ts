import { Type } from '@sinclair/typebox';
import { Nullable, Strict, Text, Timestamp } from '../../core/schema.ts';
import { Distributor } from '../distributors/schema.ts';

const Whole = (description: string) => Type.Optional(Nullable(Type.String({ description, 'x-pii': true })));

export const RevealQuery = Strict({
  fields: Type.Optional(
    Type.String({
      maxLength: 200,
      pattern: '^(phone|real_name|id_number|wechat|email|address|payout_accounts)(,(phone|real_name|id_number|wechat|email|address|payout_accounts))*$',
      description: 'comma-separated: phone, real_name, id_number, wechat, email, address, payout_accounts (default: all)',
    }),
  ),
});

export const RevealedPayoutAccount = Strict({
  id: Type.String(),
  channel: Type.Union([Type.Literal('alipay'), Type.Literal('wechat'), Type.Literal('bank')]),
  details: Nullable(Type.Record(Type.String(), Type.String(), { description: 'the account as entered; null once erased', 'x-pii': true })),
  display: Type.String(),
  is_default: Type.Boolean(),
  created_at: Timestamp(),
  disabled_at: Nullable(Timestamp()),
});

export const Revealed = Strict(
  {
    distributor_id: Type.String(),
    phone: Whole('whole phone number'),
    real_name: Whole('legal name'),
    id_number: Whole('resident ID number'),
    wechat: Whole('WeChat id'),
    email: Whole('email'),
    address: Whole('address'),
    payout_accounts: Type.Optional(Type.Array(RevealedPayoutAccount)),
  },
  { description: 'only the fields asked for' },
);

export const PersonalDataQuery = Strict({
  format: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('xlsx')], { default: 'json' })),
  lang: Type.Optional(Type.Union([Type.Literal('zh'), Type.Literal('en')], { default: 'zh', description: 'headers of the .xlsx' })),
});

export const EraseBody = Strict({
  reason: Text(500, { minLength: 1, description: "why (e.g. the person's request and its date); kept in the audit log, so name no personal data here" }),
});

export const Erasure = Strict({
  distributor: Distributor,
  erasure: Strict({
    already_erased: Type.Boolean(),
    payout_accounts: Type.Integer({ description: 'payout accounts whose details were destroyed' }),
    documents: Type.Integer({ description: 'documents deleted' }),
    documents_not_deleted: Type.Integer({ description: 'files storage could not delete now (their rows are gone)' }),
    sessions_revoked: Type.Integer(),
    visits_anonymised: Type.Integer({ description: 'visits of the invite link whose IP, browser and referer were removed' }),
  }),
});

export const SharedIdentities = Strict({
  items: Type.Array(
    Strict({
      kind: Type.Union([Type.Literal('phone'), Type.Literal('id_number'), Type.Literal('payout_account')]),
      group: Type.String({ description: 'an opaque name of the shared value' }),
      distributor_ids: Type.Array(Type.String()),
    }),
  ),
  next_cursor: Type.Null(),
});
