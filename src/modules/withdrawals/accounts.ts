import type { Db, Executor } from '../../db/database.ts';
import { inTransaction } from '../../db/database.ts';
import type { Actor, Clock } from '../../app/context.ts';
import { invalid, invalidState, notFound } from '../../app/errors.ts';
import { requirePermission, tenantOf } from '../../app/principal.ts';
import type { KeyRing } from '../../lib/crypto.ts';
import { maskTail } from '../../lib/crypto.ts';
import { newId } from '../../lib/ids.ts';
import type { PayoutAccount } from '../../adapters/payout/index.ts';
import type { AuditService } from '../audit/service.ts';

export type PayoutAccountInput =
  | { channel: 'alipay'; identity: string; identity_type: 'ALIPAY_USER_ID' | 'ALIPAY_LOGON_ID' | 'ALIPAY_OPEN_ID'; name?: string | undefined }
  | { channel: 'wechat'; openid: string; user_name?: string | undefined }
  | { channel: 'bank'; account_no: string; account_name: string; bank_name: string; branch?: string | undefined };

export interface PayoutAccountView {
  id: string;
  distributor_id: string;
  channel: 'alipay' | 'wechat' | 'bank';
  display: string;
  is_default: boolean;
  created_at: string;
}

/** What the identity blind index is computed from (the pii module recomputes it on key rotation). */
export function identityOf(a: PayoutAccountInput): string {
  switch (a.channel) {
    case 'alipay': return `alipay:${a.identity}`;
    case 'wechat': return `wechat:${a.openid}`;
    case 'bank': return `bank:${a.account_no.replace(/\s/g, '')}`;
    default: {
      const never: never = a;
      return never;
    }
  }
}

function displayOf(a: PayoutAccountInput): string {
  switch (a.channel) {
    case 'alipay': return `支付宝 ${maskTail(a.identity, 3, 4)}${a.name ? ` ${maskName(a.name)}` : ''}`;
    case 'wechat': return `微信 ${maskTail(a.openid, 4, 4)}`;
    case 'bank': return `${a.bank_name} ${maskTail(a.account_no.replace(/\s/g, ''), 0, 4)} ${maskName(a.account_name)}`;
    default: {
      const never: never = a;
      return never;
    }
  }
}

/** 张三 → *三, Zhang San → *n: enough to recognise one's own account, not to read another's. */
export function maskName(name: string): string {
  const chars = [...name.trim()];
  if (chars.length <= 1) return '*';
  return '*'.repeat(Math.min(chars.length - 1, 3)) + chars[chars.length - 1];
}

/**
 * Where distributors are paid. Details are encrypted at rest (AES-256-GCM under the key ring);
 * screens get a masked text; a blind index of the account identity finds one account behind
 * several distributors without decrypting anything.
 */
export function createPayoutAccountsService(deps: {
  db: Db; clock: Clock; keyring: KeyRing; audit: AuditService;
  /** Told of each new account's identity blind index in its transaction (the shared-identity risk rule); may refuse it by throwing. */
  onAdded?: ((tx: Executor, tenantId: string, distributorId: string, identityBidx: string) => Promise<void>)[];
}) {
  const { db, clock, keyring, audit } = deps;

  function scope(actor: Actor, distributorId: string): string {
    const p = actor.principal;
    if (p.kind === 'distributor') {
      if (p.distributorId !== distributorId) throw notFound('distributor');
      return p.tenantId;
    }
    requirePermission(p, 'finance:write');
    return tenantOf(p);
  }

  const view = (r: { id: string; distributor_id: string; channel: 'alipay' | 'wechat' | 'bank'; display: string; is_default: boolean; created_at: Date }): PayoutAccountView =>
    ({ id: r.id, distributor_id: r.distributor_id, channel: r.channel, display: r.display, is_default: r.is_default, created_at: r.created_at.toISOString() });

  return {
    async add(actor: Actor, distributorId: string, input: PayoutAccountInput): Promise<PayoutAccountView> {
      const tenantId = scope(actor, distributorId);
      return inTransaction(db, async (tx) => {
        const d = await tx.selectFrom('distributors').select(['id', 'status']).where('tenant_id', '=', tenantId).where('id', '=', distributorId).executeTakeFirst();
        if (!d) throw notFound('distributor');
        if (d.status === 'erased') throw invalidState('an erased distributor takes no payout account');
        // The newest account of a channel is its default.
        await tx.updateTable('payout_accounts').set({ is_default: false }).where('distributor_id', '=', distributorId).where('channel', '=', input.channel).execute();
        const id = newId('pac');
        const identityBidx = keyring.blindIndex(identityOf(input));
        for (const hook of deps.onAdded ?? []) await hook(tx, tenantId, distributorId, identityBidx);
        await tx.insertInto('payout_accounts').values({
          id, tenant_id: tenantId, distributor_id: distributorId, channel: input.channel, details_enc: keyring.encrypt(JSON.stringify(input)),
          display: displayOf(input), identity_bidx: identityBidx, is_default: true, created_at: clock.now(),
        }).execute();
        await audit.record(tx, actor, { action: 'payout_account.add', targetType: 'distributor', targetId: distributorId, after: { account_id: id, channel: input.channel, display: displayOf(input) } });
        return view((await tx.selectFrom('payout_accounts').selectAll().where('id', '=', id).executeTakeFirstOrThrow()));
      });
    },

    async list(actor: Actor, distributorId: string): Promise<PayoutAccountView[]> {
      const p = actor.principal;
      const tenantId = p.kind === 'distributor' ? scope(actor, distributorId) : (requirePermission(p, 'read'), tenantOf(p));
      // Another tenant's distributor is not found, as if it did not exist: not an empty list.
      const d = await db.selectFrom('distributors').select('id').where('tenant_id', '=', tenantId).where('id', '=', distributorId).executeTakeFirst();
      if (!d) throw notFound('distributor');
      const rows = await db.selectFrom('payout_accounts').selectAll().where('tenant_id', '=', tenantId).where('distributor_id', '=', distributorId)
        .where('disabled_at', 'is', null).orderBy('id').execute();
      return rows.map(view);
    },

    async disable(actor: Actor, distributorId: string, accountId: string): Promise<void> {
      const tenantId = scope(actor, distributorId);
      await inTransaction(db, async (tx) => {
        const r = await tx.updateTable('payout_accounts').set({ disabled_at: clock.now(), is_default: false })
          .where('tenant_id', '=', tenantId).where('distributor_id', '=', distributorId).where('id', '=', accountId).where('disabled_at', 'is', null).executeTakeFirst();
        if (Number(r.numUpdatedRows) !== 1) throw notFound('payout account');
        await audit.record(tx, actor, { action: 'payout_account.disable', targetType: 'distributor', targetId: distributorId, after: { account_id: accountId } });
      });
    },

    /**
     * The account a withdrawal pays to: the one named, else the channel's default. WeChat and
     * Alipay cannot pay without one; a bank withdrawal without one waits for finance to fill the
     * bank file by hand.
     */
    async pick(ex: Executor, tenantId: string, distributorId: string, channel: 'alipay' | 'wechat' | 'bank', accountId?: string): Promise<{ id: string } | null> {
      let q = ex.selectFrom('payout_accounts').select(['id', 'channel']).where('tenant_id', '=', tenantId).where('distributor_id', '=', distributorId).where('disabled_at', 'is', null);
      q = accountId ? q.where('id', '=', accountId) : q.where('channel', '=', channel).where('is_default', '=', true);
      const row = await q.executeTakeFirst();
      if (accountId && (!row || row.channel !== channel)) throw invalid('payout_account_id is not an account of this distributor for this channel');
      if (!row && channel !== 'bank') throw invalid(`the distributor has no ${channel} payout account`);
      return row ?? null;
    },

    /** Decrypted, for the payout call only; never returned by the API. */
    async decrypt(ex: Executor, accountId: string): Promise<PayoutAccount> {
      const row = await ex.selectFrom('payout_accounts').select('details_enc').where('id', '=', accountId).executeTakeFirstOrThrow();
      // Erasure destroys the details; it waits until no withdrawal is in flight, so none pays here.
      if (row.details_enc === null) throw invalidState('this payout account was erased');
      const a = JSON.parse(keyring.decrypt(row.details_enc)) as PayoutAccountInput;
      switch (a.channel) {
        case 'alipay': return { channel: 'alipay', identity: a.identity, identityType: a.identity_type, name: a.name };
        case 'wechat': return { channel: 'wechat', openid: a.openid, userName: a.user_name };
        case 'bank': return { channel: 'bank', accountNo: a.account_no, accountName: a.account_name, bankName: a.bank_name, branch: a.branch };
        default: {
          const never: never = a;
          return never;
        }
      }
    },

    /** Distributors sharing one payout account (compared by blind index): a risk signal. */
    async sharedIdentities(ex: Executor, tenantId: string) {
      return ex.selectFrom('payout_accounts').select(['identity_bidx', (eb) => eb.fn.count<number>('distributor_id').distinct().as('n')])
        .where('tenant_id', '=', tenantId).where('disabled_at', 'is', null).groupBy('identity_bidx')
        .having((eb) => eb.fn.count('distributor_id').distinct(), '>', 1).execute();
    },
  };
}

export type PayoutAccountsService = ReturnType<typeof createPayoutAccountsService>;
