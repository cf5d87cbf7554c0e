import type { PayoutAccountInput } from '../withdrawals/accounts.ts';
import type { PersonalData } from './fields.ts';

/**
 * What the pii module hands out, decrypted: whole values revealed, and the personal-data export
 * its sheets (sheets.ts) lay out. Apart from service.ts so the sheets need not import the service.
 */

export interface RevealedPayoutAccount {
  id: string;
  channel: 'alipay' | 'wechat' | 'bank';
  details: PayoutAccountInput | null;
  display: string;
  is_default: boolean;
  created_at: string;
  disabled_at: string | null;
}

export type Revealed = Partial<PersonalData> & { distributor_id: string; payout_accounts?: RevealedPayoutAccount[] };

/** Everything Fenxiao holds about one person, decrypted: the personal-data export (PIPL art. 45). */
export interface PersonalDataExport {
  generated_at: string;
  tenant_id: string;
  distributor: {
    id: string;
    external_id: string;
    name: string;
    status: string;
    status_reason: string | null;
    invite_code: string;
    referrer_id: string | null;
    grade: string;
    region_code: string | null;
    source: string;
    company: string | null;
    licence_no: string | null;
    note: string | null;
    consent_at: string | null;
    created_at: string;
    approved_at: string | null;
    erased_at: string | null;
  };
  personal: PersonalData;
  balances: { pending_fen: number; available_fen: number; withdrawable_fen: number; withdrawing_fen: number; withdrawn_fen: number };
  payout_accounts: RevealedPayoutAccount[];
  bindings: {
    id: string;
    kind: string;
    from_distributor_id: string | null;
    to_distributor_id: string | null;
    source: string;
    reason: string | null;
    at: string;
  }[];
  orders: { id: string; external_id: string; status: string; paid_fen: number; refunded_fen: number; paid_at: string | null }[];
  commissions: {
    id: string;
    order_id: string;
    level: number;
    kind: string;
    base_fen: number;
    rate_bp: number;
    amount_fen: number;
    status: string;
    created_at: string;
    settled_at: string | null;
  }[];
  statements: { id: string; period_end: string; amount_fen: number; status: string; created_at: string; approved_at: string | null }[];
  withdrawals: { id: string; amount_fen: number; fee_fen: number; channel: string; status: string; created_at: string; paid_at: string | null }[];
  visits: { day: string; visits: number; unique_visitors: number }[];
  documents: { id: string; kind: string; filename: string; content_type: string; size_bytes: number; created_at: string }[];
}
