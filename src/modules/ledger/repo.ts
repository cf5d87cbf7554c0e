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

/** The checkpoints of incremental verification (ledger_checkpoints, ledger_checkpoint_balances). */
export const checkpointRepo = {
  async get(ex: Executor, tenantId: string) {
    return ex.selectFrom('ledger_checkpoints').selectAll().where('tenant_id', '=', tenantId).executeTakeFirst();
  },

  /** The tenant's row, locked (made first if missing): one verification at a time moves a checkpoint. */
  async lock(ex: Executor, tenantId: string) {
    await ex
      .insertInto('ledger_checkpoints')
      .values({ tenant_id: tenantId })
      .onConflict((oc) => oc.column('tenant_id').doNothing())
      .execute();
    return ex.selectFrom('ledger_checkpoints').selectAll().where('tenant_id', '=', tenantId).forUpdate().executeTakeFirstOrThrow();
  },

  /** A full pass's checkpoint: each account's balance and posting count from its postings up to `fence`. */
  async resetBalances(ex: Executor, tenantId: string, fence: number) {
    await ex.deleteFrom('ledger_checkpoint_balances').where('tenant_id', '=', tenantId).execute();
    await sql`insert into ledger_checkpoint_balances (account_id, tenant_id, balance, version)
      select account_id, ${tenantId}, sum(amount), count(*) from postings where tenant_id = ${tenantId} and id <= ${fence} group by account_id`.execute(ex);
  },

  /** An incremental pass's checkpoint: the balances at `since` moved by the postings after it up to `fence`. */
  async advanceBalances(ex: Executor, tenantId: string, since: number, fence: number) {
    await sql`insert into ledger_checkpoint_balances (account_id, tenant_id, balance, version)
      select account_id, ${tenantId}, sum(amount), count(*) from postings where tenant_id = ${tenantId} and id > ${since} and id <= ${fence} group by account_id
      on conflict (account_id) do update set balance = ledger_checkpoint_balances.balance + excluded.balance,
                                             version = ledger_checkpoint_balances.version + excluded.version`.execute(ex);
  },

  async update(
    ex: Executor,
    tenantId: string,
    set: Partial<{
      posting_id: number | null;
      checkpoint_at: Date;
      last_mode: 'full' | 'incremental';
      last_ok: boolean;
      last_report: string;
      last_started_at: Date;
      last_finished_at: Date;
      last_duration_ms: number;
      last_full_at: Date;
      full_claimed_at: Date | null;
      job_id: string | null;
    }>,
  ) {
    await ex.updateTable('ledger_checkpoints').set(set).where('tenant_id', '=', tenantId).execute();
  },

  /**
   * Claims the weekly full pass of a tenant when its last one finished before `dueBefore` (or never
   * ran) and no other process claimed it after `claimStaleBefore`: true for the one process that gets it.
   */
  async claimFull(ex: Executor, tenantId: string, at: Date, dueBefore: Date, claimStaleBefore: Date): Promise<boolean> {
    await ex
      .insertInto('ledger_checkpoints')
      .values({ tenant_id: tenantId })
      .onConflict((oc) => oc.column('tenant_id').doNothing())
      .execute();
    const r = await ex
      .updateTable('ledger_checkpoints')
      .set({ full_claimed_at: at })
      .where('tenant_id', '=', tenantId)
      .where((eb) => eb.or([eb('last_full_at', 'is', null), eb('last_full_at', '<', dueBefore)]))
      .where((eb) => eb.or([eb('full_claimed_at', 'is', null), eb('full_claimed_at', '<', claimStaleBefore)]))
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  },
};
