import { sql } from 'kysely';
import type { Executor } from '../../db/database.ts';

/** What the ledger's readers ask of its tables (the writer, postMany, keeps its statement in service.ts). */
export const ledgerRepo = {
  /** The journals a cause wrote (an order, a payout, a statement), in id order. */
  async journalsByRef(ex: Executor, tenantId: string, refId: string) {
    return ex.selectFrom('journal_entries').selectAll().where('tenant_id', '=', tenantId).where('ref_id', '=', refId).orderBy('id').execute();
  },

  /** The postings of these journals with their account's owner and purpose, in id order. */
  async postingsOfJournals(ex: Executor, journalIds: string[]) {
    return ex
      .selectFrom('postings as p')
      .innerJoin('accounts as a', 'a.id', 'p.account_id')
      .select(['p.journal_id', 'p.account_id', 'a.owner_id', 'a.purpose', 'p.amount', 'p.commission_id', 'p.balance_after'])
      .where('p.journal_id', 'in', journalIds)
      .orderBy('p.id')
      .execute();
  },

  /** A distributor's accounts with their cached balances. */
  async accountsOf(ex: Executor, tenantId: string, ownerId: string) {
    return ex.selectFrom('accounts').select(['id', 'purpose', 'balance']).where('tenant_id', '=', tenantId).where('owner_id', '=', ownerId).execute();
  },

  /** One of the merchant's accounts. */
  async tenantAccount(ex: Executor, tenantId: string, purpose: string) {
    return ex
      .selectFrom('accounts')
      .select('id')
      .where('tenant_id', '=', tenantId)
      .where('owner_id', '=', 'tenant')
      .where('purpose', '=', purpose)
      .executeTakeFirst();
  },

  /** The sum of an account's postings attributed to one party (a distributor's money in the clearing account). */
  async partySum(ex: Executor, accountId: string, partyId: string): Promise<number> {
    const r = await ex
      .selectFrom('postings')
      .select((eb) => eb.fn.coalesce(eb.fn.sum<number>('amount'), eb.val(0)).as('s'))
      .where('account_id', '=', accountId)
      .where('party_id', '=', partyId)
      .executeTakeFirst();
    return Number(r?.s ?? 0);
  },

  /** The merchant-side balance of one purpose: the sum of its postings. */
  async tenantSum(ex: Executor, tenantId: string, purpose: string): Promise<number> {
    const r = await sql<{ s: number | null }>`
        select sum(p.amount)::bigint as s from postings p join accounts a on a.id = p.account_id
         where a.tenant_id = ${tenantId} and a.owner_id = 'tenant' and a.purpose = ${purpose}`.execute(ex);
    return Number(r.rows[0]?.s ?? 0);
  },

  /** The withdrawable balances of these distributors (a settlement batch offsets their debt). */
  async withdrawableBalances(ex: Executor, tenantId: string, owners: string[]) {
    const r = await sql<{ owner_id: string; balance: number }>`
        select owner_id, balance from accounts where tenant_id = ${tenantId} and owner_id = any(${owners}::text[]) and purpose = 'withdrawable'`.execute(ex);
    return r.rows;
  },
};
