import type { Db, Executor } from '../../db/database.ts';
import { inTransaction } from '../../db/database.ts';
import type { Actor, Clock } from '../../core/context.ts';
import { AppError, invalid, invalidState, notFound } from '../../core/errors.ts';
import { actorOf, requirePermission, tenantOf } from '../../core/principal.ts';
import type { KeyRing } from '../../lib/crypto.ts';
import { maskTail } from '../../lib/crypto.ts';
import { newId } from '../../core/ids.ts';
import type { PayoutAccount } from '../../adapters/payout/index.ts';
import type { AuditService } from '../audit/service.ts';
import { payoutAccountsRepo } from './repo.ts';
import { zhChannel } from '../../core/error-text.ts';

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
  /** False while an account a console user added waits for the distributor's (or a second person's) confirmation: nothing is paid to it. */
  confirmed: boolean;
  /** Who added it: distributor, api_key or admin (null before this was recorded). */
  added_by: string | null;
  created_at: string;
}

/** What the identity blind index is computed from (the pii module recomputes it on key rotation). */
export function identityOf(a: PayoutAccountInput): string {
  switch (a.channel) {
    case 'alipay':
      return `alipay:${a.identity}`;
    case 'wechat':
      return `wechat:${a.openid}`;
    case 'bank':
      return `bank:${a.account_no.replace(/\s/g, '')}`;
    default: {
      const never: never = a;
      return never;
    }
  }
}

function displayOf(a: PayoutAccountInput): string {
  switch (a.channel) {
    case 'alipay':
      return `支付宝 ${maskTail(a.identity, 3, 4)}${a.name ? ` ${maskName(a.name)}` : ''}`;
    case 'wechat':
      return `微信 ${maskTail(a.openid, 4, 4)}`;
    case 'bank':
      return `${a.bank_name} ${maskTail(a.account_no.replace(/\s/g, ''), 0, 4)} ${maskName(a.account_name)}`;
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

/** An account added by a console user needs a second person: the distributor, or another finance user. */
function needsConfirmation(actor: Actor): boolean {
  return actor.principal.kind === 'admin';
}

/**
 * Where distributors are paid. Details are encrypted at rest (AES-256-GCM under the key ring);
 * screens get a masked text; a blind index of the account identity finds one account behind
 * several distributors without decrypting anything.
 */
export function createPayoutAccountsService(deps: {
  db: Db;
  clock: Clock;
  keyring: KeyRing;
  audit: AuditService;
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

  const view = (r: {
    id: string;
    distributor_id: string;
    channel: 'alipay' | 'wechat' | 'bank';
    display: string;
    is_default: boolean;
    confirmed_at: Date | null;
    added_by_type: string | null;
    created_at: Date;
  }): PayoutAccountView => ({
    id: r.id,
    distributor_id: r.distributor_id,
    channel: r.channel,
    display: r.display,
    is_default: r.is_default,
    confirmed: r.confirmed_at !== null,
    added_by: r.added_by_type,
    created_at: r.created_at.toISOString(),
  });

  return {
    /**
     * An account the distributor adds itself, or the merchant's integration (its API key: the
     * merchant collected it from the distributor), is confirmed at once and becomes its channel's
     * default. One a console user adds waits, unconfirmed and never the default, until the
     * distributor confirms it in the portal or a second person with finance:approve does: else
     * one finance user could send a distributor's balance to an account of its own choosing.
     */
    async add(actor: Actor, distributorId: string, input: PayoutAccountInput): Promise<PayoutAccountView> {
      const tenantId = scope(actor, distributorId);
      const { actorType, actorId } = actorOf(actor.principal);
      const confirmed = !needsConfirmation(actor);
      return inTransaction(db, async (tx) => {
        const d = await payoutAccountsRepo.distributorStatus(tx, tenantId, distributorId);
        if (!d) throw notFound('distributor');
        if (d.status === 'erased') throw invalidState({ en: 'an erased distributor takes no payout account', zh: '已删除个人信息的分销员不能添加收款账户' });
        // The newest confirmed account of a channel is its default.
        if (confirmed) await payoutAccountsRepo.clearDefault(tx, distributorId, input.channel);
        const id = newId('pac');
        const identityBidx = keyring.blindIndex(identityOf(input));
        for (const hook of deps.onAdded ?? []) await hook(tx, tenantId, distributorId, identityBidx);
        const now = clock.now();
        await payoutAccountsRepo.insert(tx, {
          id,
          tenant_id: tenantId,
          distributor_id: distributorId,
          channel: input.channel,
          details_enc: keyring.encrypt(JSON.stringify(input)),
          display: displayOf(input),
          identity_bidx: identityBidx,
          is_default: confirmed,
          created_at: now,
          added_by_type: actorType,
          added_by_id: actorId,
          ...(confirmed ? { confirmed_at: now, confirmed_by_type: actorType, confirmed_by_id: actorId } : {}),
        });
        await audit.record(tx, actor, {
          action: 'payout_account.add',
          targetType: 'distributor',
          targetId: distributorId,
          after: { account_id: id, channel: input.channel, display: displayOf(input), confirmed },
        });
        return view(await payoutAccountsRepo.account(tx, id));
      });
    },

    /**
     * Confirms an account a console user added: by the distributor itself, or by a tenant caller
     * with finance:approve other than the user who added it. It then becomes its channel's
     * default. Confirming a confirmed account changes nothing.
     */
    async confirm(actor: Actor, distributorId: string, accountId: string): Promise<PayoutAccountView> {
      const p = actor.principal;
      const tenantId = p.kind === 'distributor' ? scope(actor, distributorId) : (requirePermission(p, 'finance:approve'), tenantOf(p));
      const { actorType, actorId } = actorOf(p);
      return inTransaction(db, async (tx) => {
        const a = await payoutAccountsRepo.findEnabledForUpdate(tx, tenantId, distributorId, accountId);
        if (!a) throw notFound('payout account');
        if (a.confirmed_at !== null) return view(a);
        if (a.details_enc === null) throw invalidState({ en: 'this payout account was erased', zh: '该收款账户已被删除' });
        if (p.kind === 'admin' && a.added_by_type === 'admin' && a.added_by_id === p.userId) {
          throw new AppError('second_person_required', {
            en: 'the user who added a payout account cannot confirm it: the distributor or another finance user must',
            zh: '添加收款账户的用户不能确认它：须由分销员本人或另一位财务人员确认',
          });
        }
        const now = clock.now();
        await payoutAccountsRepo.clearDefault(tx, distributorId, a.channel);
        await payoutAccountsRepo.confirm(tx, a.id, { at: now, type: actorType, id: actorId });
        await audit.record(tx, actor, {
          action: 'payout_account.confirm',
          targetType: 'distributor',
          targetId: distributorId,
          before: { account_id: a.id, confirmed: false, added_by: { type: a.added_by_type, id: a.added_by_id } },
          after: { account_id: a.id, confirmed: true, display: a.display },
        });
        return view(await payoutAccountsRepo.account(tx, a.id));
      });
    },

    async list(actor: Actor, distributorId: string): Promise<PayoutAccountView[]> {
      const p = actor.principal;
      const tenantId = p.kind === 'distributor' ? scope(actor, distributorId) : (requirePermission(p, 'read'), tenantOf(p));
      // Another tenant's distributor is not found, as if it did not exist: not an empty list.
      if (!(await payoutAccountsRepo.distributorExists(db, tenantId, distributorId))) throw notFound('distributor');
      const rows = await payoutAccountsRepo.listEnabled(db, tenantId, distributorId);
      return rows.map(view);
    },

    async disable(actor: Actor, distributorId: string, accountId: string): Promise<void> {
      const tenantId = scope(actor, distributorId);
      await inTransaction(db, async (tx) => {
        if (!(await payoutAccountsRepo.disable(tx, tenantId, distributorId, accountId, clock.now()))) throw notFound('payout account');
        await audit.record(tx, actor, {
          action: 'payout_account.disable',
          targetType: 'distributor',
          targetId: distributorId,
          after: { account_id: accountId },
        });
      });
    },

    /**
     * The account a withdrawal pays to: the one named, else the channel's default. WeChat and
     * Alipay cannot pay without one; a bank withdrawal without one waits for finance to fill the
     * bank file by hand.
     */
    async pick(
      ex: Executor,
      tenantId: string,
      distributorId: string,
      channel: 'alipay' | 'wechat' | 'bank',
      accountId?: string,
    ): Promise<{ id: string } | null> {
      const row = await payoutAccountsRepo.pick(ex, tenantId, distributorId, channel, accountId);
      if (accountId && (!row || row.channel !== channel))
        throw invalid({ en: 'payout_account_id is not an account of this distributor for this channel', zh: 'payout_account_id 不是该分销员在此渠道的账户' });
      // Money never goes to an account a console user added until the distributor (or a second person) confirms it.
      if (row && row.confirmed_at === null)
        throw invalidState({ en: "this payout account waits for the distributor's confirmation", zh: '该收款账户正等待分销员确认' });
      if (!row) {
        const waiting = await payoutAccountsRepo.unconfirmed(ex, tenantId, distributorId, channel);
        if (waiting)
          throw invalidState({
            en: `the distributor's ${channel} payout account waits for its confirmation`,
            zh: `该分销员的${zhChannel(channel)}收款账户正等待其确认`,
          });
        if (channel !== 'bank') throw invalid({ en: `the distributor has no ${channel} payout account`, zh: `该分销员没有${zhChannel(channel)}收款账户` });
      }
      return row ? { id: row.id } : null;
    },

    /**
     * The distributor's enabled account for exactly this identity (compared by blind index under
     * every configured key), or null: WeChat sign-in links an openid once, not once per visit.
     */
    async findByIdentity(tenantId: string, distributorId: string, input: PayoutAccountInput): Promise<PayoutAccountView | null> {
      const bidx = new Set(keyring.blindIndexes(identityOf(input)));
      const row = (await payoutAccountsRepo.listEnabled(db, tenantId, distributorId)).find((r) => r.identity_bidx !== null && bidx.has(r.identity_bidx));
      return row ? view(row) : null;
    },

    /** Decrypted, for the payout call only; never returned by the API. */
    async decrypt(ex: Executor, accountId: string): Promise<PayoutAccount> {
      const row = await payoutAccountsRepo.details(ex, accountId);
      // Erasure destroys the details; it waits until no withdrawal is in flight, so none pays here.
      if (row.details_enc === null) throw invalidState({ en: 'this payout account was erased', zh: '该收款账户已被删除' });
      const a = JSON.parse(keyring.decrypt(row.details_enc)) as PayoutAccountInput;
      switch (a.channel) {
        case 'alipay':
          return { channel: 'alipay', identity: a.identity, identityType: a.identity_type, name: a.name };
        case 'wechat':
          return { channel: 'wechat', openid: a.openid, userName: a.user_name };
        case 'bank':
          return { channel: 'bank', accountNo: a.account_no, accountName: a.account_name, bankName: a.bank_name, branch: a.branch };
        default: {
          const never: never = a;
          return never;
        }
      }
    },

    /** Distributors sharing one payout account (compared by blind index): a risk signal. */
    async sharedIdentities(ex: Executor, tenantId: string) {
      return payoutAccountsRepo.sharedIdentities(ex, tenantId);
    },
  };
}

export type PayoutAccountsService = ReturnType<typeof createPayoutAccountsService>;
