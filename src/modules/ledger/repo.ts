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

  /** The withdrawable balances of these distributors (a settlement batch offsets their debt). */
  async withdrawableBalances(ex: Executor, tenantId: string, owners: string[]) {
    const r = await sql<{ owner_id: string; balance: number }>`
        select owner_id, balance from accounts where tenant_id = ${tenantId} and owner_id = any(${owners}::text[]) and purpose = 'withdrawable'`.execute(ex);
    return r.rows;
  },
};
