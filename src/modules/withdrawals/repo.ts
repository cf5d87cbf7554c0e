import type { Executor } from '../../db/database.ts';

/** Withdrawals, payouts and their events: the withdrawals module's tables. */
export const withdrawalsRepo = {
  /** Bank payouts handed off and waiting for the batch upload, with the account each goes to. */
  async bankPayoutsWaiting(ex: Executor, tenantId: string) {
    return ex
      .selectFrom('payouts as p')
      .innerJoin('withdrawals as w', 'w.id', 'p.withdrawal_id')
      .select(['p.out_no', 'p.amount_fen', 'w.payout_account_id', 'w.id as withdrawal_id'])
      .where('p.tenant_id', '=', tenantId)
      .where('p.channel', '=', 'bank')
      .where('p.state', '=', 'submitted')
      .orderBy('p.id')
      .execute();
  },
};
