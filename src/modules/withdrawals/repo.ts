import { sql, type Insertable, type Selectable, type Updateable } from 'kysely';
import type { Executor } from '../../db/database.ts';
import type { DepositRefundsTable, PayoutAccountsTable, PayoutEventsTable, PayoutState, PayoutsTable, WithdrawalsTable } from '../../db/schema.ts';

type PayoutRow = Selectable<PayoutsTable>;
type PayoutAccountChannel = PayoutAccountsTable['channel'];

/**
 * Withdrawals, payouts and their events: the withdrawals module's tables, and its Idempotency-Keys.
 * One query per function, rows out, no rules: the service decides.
 */
export const withdrawalsRepo = {
  // ——— withdrawals ———

  async findWithdrawal(ex: Executor, tenantId: string, id: string) {
    return ex.selectFrom('withdrawals').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
  },

  async findWithdrawalForUpdate(ex: Executor, tenantId: string, id: string) {
    return ex.selectFrom('withdrawals').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).forUpdate().executeTakeFirst();
  },

  /** A withdrawal known to exist (just written, or named by its payout). */
  async withdrawal(ex: Executor, id: string) {
    return ex.selectFrom('withdrawals').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  },

  async withdrawalForUpdate(ex: Executor, id: string) {
    return ex.selectFrom('withdrawals').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
  },

  async insertWithdrawal(ex: Executor, values: Insertable<WithdrawalsTable>): Promise<void> {
    await ex.insertInto('withdrawals').values(values).execute();
  },

  async updateWithdrawal(ex: Executor, id: string, set: Updateable<WithdrawalsTable>): Promise<void> {
    await ex.updateTable('withdrawals').set(set).where('id', '=', id).execute();
  },

  /** Compare-and-set: only an approved withdrawal takes its payout's outcome. */
  async updateApprovedWithdrawal(ex: Executor, id: string, set: Updateable<WithdrawalsTable>): Promise<void> {
    await ex.updateTable('withdrawals').set(set).where('id', '=', id).where('status', '=', 'approved').execute();
  },

  /** A distributor's withdrawals of one local day that still count against its daily limits. */
  async dayTotals(ex: Executor, distributorId: string, day: string) {
    return ex
      .selectFrom('withdrawals')
      .select((eb) => [eb.fn.countAll<number>().as('n'), eb.fn.coalesce(eb.fn.sum<number>('amount_fen'), eb.val(0)).as('total')])
      .where('distributor_id', '=', distributorId)
      .where('local_day', '=', day)
      .where('status', 'not in', ['rejected', 'failed'])
      .executeTakeFirstOrThrow();
  },

  /** A page of withdrawals, newest first, and one more to tell whether another page follows. */
  async page(
    ex: Executor,
    tenantId: string,
    q: { status?: string | undefined; distributor_id?: string | undefined; channel?: string | undefined; cursor?: string | undefined; limit: number },
  ) {
    let query = ex.selectFrom('withdrawals').selectAll().where('tenant_id', '=', tenantId);
    if (q.distributor_id) query = query.where('distributor_id', '=', q.distributor_id);
    if (q.status) query = query.where('status', '=', q.status as 'approved');
    if (q.channel) query = query.where('channel', '=', q.channel as 'manual');
    if (q.cursor) query = query.where('id', '<', q.cursor);
    return query
      .orderBy('id', 'desc')
      .limit(q.limit + 1)
      .execute();
  },

  /** What a withdrawal request checks of its distributor (the distributors module's row, read). */
  async distributorStanding(ex: Executor, tenantId: string, distributorId: string) {
    return ex
      .selectFrom('distributors')
      .select(['id', 'status', 'risk_hold'])
      .where('tenant_id', '=', tenantId)
      .where('id', '=', distributorId)
      .executeTakeFirst();
  },

  // ——— payouts ———

  async insertPayout(ex: Executor, values: Insertable<PayoutsTable>): Promise<void> {
    await ex.insertInto('payouts').values(values).execute();
  },

  async payout(ex: Executor, id: string) {
    return ex.selectFrom('payouts').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  },

  async payoutForUpdate(ex: Executor, id: string) {
    return ex.selectFrom('payouts').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
  },

  async payoutOfWithdrawal(ex: Executor, withdrawalId: string) {
    return ex.selectFrom('payouts').selectAll().where('withdrawal_id', '=', withdrawalId).executeTakeFirst();
  },

  async latestPayoutOfWithdrawal(ex: Executor, withdrawalId: string) {
    return ex.selectFrom('payouts').selectAll().where('withdrawal_id', '=', withdrawalId).orderBy('created_at', 'desc').limit(1).executeTakeFirst();
  },

  async payoutsOfWithdrawals(ex: Executor, withdrawalIds: string[]) {
    return ex.selectFrom('payouts').selectAll().where('withdrawal_id', 'in', withdrawalIds).execute();
  },

  async payoutByOutNo(ex: Executor, outNo: string, channel: string) {
    return ex.selectFrom('payouts').selectAll().where('out_no', '=', outNo).where('channel', '=', channel).executeTakeFirst();
  },

  async payoutState(ex: Executor, id: string) {
    return (await ex.selectFrom('payouts').select('state').where('id', '=', id).executeTakeFirst())?.state ?? null;
  },

  /**
   * Leases a payout in one of `states` until `until`, unless another process holds it: null when
   * it is in another state or leased. `countAttempt` counts the look as an attempt.
   */
  async lease(ex: Executor, id: string, states: readonly PayoutState[], now: Date, until: Date, countAttempt: boolean): Promise<PayoutRow | null> {
    const leased = await sql<PayoutRow>`
      update payouts set lease_until = ${until}, updated_at = ${now}${countAttempt ? sql`, attempts = attempts + 1` : sql``}
       where id = ${id} and state = any(${[...states]}::text[]) and (lease_until is null or lease_until < ${now})
      returning *`.execute(ex);
    return leased.rows[0] ?? null;
  },

  /** Compare-and-set: only a payout still in one of the open states moves. */
  async updateOpenPayout(ex: Executor, id: string, open: readonly PayoutState[], set: Updateable<PayoutsTable>): Promise<void> {
    await ex
      .updateTable('payouts')
      .set(set)
      .where('id', '=', id)
      .where('state', 'in', [...open])
      .execute();
  },

  async markQueried(ex: Executor, id: string, at: Date): Promise<void> {
    await ex.updateTable('payouts').set({ last_queried_at: at }).where('id', '=', id).execute();
  },

  /** Unleased payouts in `states` whose next look is due, soonest first. */
  async duePayouts(ex: Executor, states: readonly PayoutState[], now: Date, limit: number) {
    return ex
      .selectFrom('payouts')
      .select('id')
      .where('state', 'in', [...states])
      .where('next_attempt_at', '<=', now)
      .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', now)]))
      .orderBy('next_attempt_at')
      .limit(limit)
      .execute();
  },

  async insertPayoutEvent(ex: Executor, values: Insertable<PayoutEventsTable>): Promise<void> {
    await ex.insertInto('payout_events').values(values).execute();
  },

  /** Bank payouts handed off and waiting for the batch upload (withdrawals and deposit refunds), with the account each goes to. */
  async bankPayoutsWaiting(ex: Executor, tenantId: string) {
    return ex
      .selectFrom('payouts as p')
      .leftJoin('withdrawals as w', (j) => j.onRef('w.tenant_id', '=', 'p.tenant_id').onRef('w.id', '=', 'p.withdrawal_id'))
      .leftJoin('deposit_refunds as r', (j) => j.onRef('r.tenant_id', '=', 'p.tenant_id').onRef('r.id', '=', 'p.deposit_refund_id'))
      .select((eb) => [
        'p.out_no',
        'p.amount_fen',
        'p.kind',
        eb.fn.coalesce('w.payout_account_id', 'r.payout_account_id').as('payout_account_id'),
        'w.id as withdrawal_id',
      ])
      .where('p.tenant_id', '=', tenantId)
      .where('p.channel', '=', 'bank')
      .where('p.state', '=', 'submitted')
      .orderBy('p.id')
      .execute();
  },

  // ——— deposit refunds (a distributor's admission deposit paid back through a payout) ———

  async insertDepositRefund(ex: Executor, values: Insertable<DepositRefundsTable>): Promise<void> {
    await ex.insertInto('deposit_refunds').values(values).execute();
  },

  async findDepositRefund(ex: Executor, tenantId: string, id: string) {
    return ex.selectFrom('deposit_refunds').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
  },

  async findDepositRefundForUpdate(ex: Executor, tenantId: string, id: string) {
    return ex.selectFrom('deposit_refunds').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).forUpdate().executeTakeFirst();
  },

  async updateDepositRefund(ex: Executor, tenantId: string, id: string, set: Updateable<DepositRefundsTable>): Promise<void> {
    await ex.updateTable('deposit_refunds').set(set).where('tenant_id', '=', tenantId).where('id', '=', id).execute();
  },

  /** A distributor's newest deposit refund. */
  async latestDepositRefund(ex: Executor, tenantId: string, distributorId: string) {
    return ex
      .selectFrom('deposit_refunds')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('distributor_id', '=', distributorId)
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirst();
  },

  /** A page of deposit refunds, newest first, and one more to tell whether another page follows. */
  async depositRefundPage(
    ex: Executor,
    tenantId: string,
    q: { status?: string | undefined; distributor_id?: string | undefined; cursor?: string | undefined; limit: number },
  ) {
    let query = ex.selectFrom('deposit_refunds').selectAll().where('tenant_id', '=', tenantId);
    if (q.distributor_id) query = query.where('distributor_id', '=', q.distributor_id);
    if (q.status) query = query.where('status', '=', q.status as 'approved');
    if (q.cursor) query = query.where('id', '<', q.cursor);
    return query
      .orderBy('id', 'desc')
      .limit(q.limit + 1)
      .execute();
  },

  async payoutOfDepositRefund(ex: Executor, tenantId: string, refundId: string) {
    return ex.selectFrom('payouts').selectAll().where('tenant_id', '=', tenantId).where('deposit_refund_id', '=', refundId).executeTakeFirst();
  },

  async payoutsOfDepositRefunds(ex: Executor, tenantId: string, refundIds: string[]) {
    return ex.selectFrom('payouts').selectAll().where('tenant_id', '=', tenantId).where('deposit_refund_id', 'in', refundIds).execute();
  },

  /** The deposit figures of a distributor, locked (the distributors module's row). */
  async distributorDepositForUpdate(ex: Executor, tenantId: string, distributorId: string) {
    return ex
      .selectFrom('distributors')
      .select(['id', 'status', 'deposit_paid_fen', 'deposit_refunded_fen', 'deposit_refunding_fen'])
      .where('tenant_id', '=', tenantId)
      .where('id', '=', distributorId)
      .forUpdate()
      .executeTakeFirst();
  },

  async setDistributorDeposit(
    ex: Executor,
    tenantId: string,
    distributorId: string,
    set: { deposit_refunded_fen?: number; deposit_refunding_fen: number; updated_at: Date },
  ) {
    await ex.updateTable('distributors').set(set).where('tenant_id', '=', tenantId).where('id', '=', distributorId).execute();
  },

  // ——— Idempotency-Keys of withdrawal requests (the keys are src/modules/idempotency's; this reads the old, unscoped ones) ———

  /** A key claimed before keys were scoped by caller, with who asked for the withdrawal it answered. */
  async legacyKey(ex: Executor, tenantId: string, key: string) {
    return ex
      .selectFrom('idempotency_keys as k')
      .innerJoin('withdrawals as w', (j) => j.on('w.tenant_id', '=', tenantId).on(sql<boolean>`w.id = k.response_body->>'id'`))
      .select(['k.request_hash', 'k.response_body', 'w.requested_by_type', 'w.requested_by_id'])
      .where('k.tenant_id', '=', tenantId)
      .where('k.scope', '=', 'withdrawal')
      .where('k.key', '=', key)
      .where('k.response_status', '=', 201)
      .executeTakeFirst();
  },
};

/** Payout accounts: the withdrawals module's table of where money goes. */
export const payoutAccountsRepo = {
  /** What adding an account checks of its distributor (the distributors module's row, read). */
  async distributorStatus(ex: Executor, tenantId: string, distributorId: string) {
    return ex.selectFrom('distributors').select(['id', 'status']).where('tenant_id', '=', tenantId).where('id', '=', distributorId).executeTakeFirst();
  },

  async distributorExists(ex: Executor, tenantId: string, distributorId: string): Promise<boolean> {
    return (
      (await ex.selectFrom('distributors').select('id').where('tenant_id', '=', tenantId).where('id', '=', distributorId).executeTakeFirst()) !== undefined
    );
  },

  /** No account of this channel is the distributor's default any more (a newer one becomes it). */
  async clearDefault(ex: Executor, distributorId: string, channel: PayoutAccountChannel): Promise<void> {
    await ex.updateTable('payout_accounts').set({ is_default: false }).where('distributor_id', '=', distributorId).where('channel', '=', channel).execute();
  },

  async insert(ex: Executor, values: Insertable<PayoutAccountsTable>): Promise<void> {
    await ex.insertInto('payout_accounts').values(values).execute();
  },

  async account(ex: Executor, id: string) {
    return ex.selectFrom('payout_accounts').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  },

  /** An enabled account of a distributor, locked. */
  async findEnabledForUpdate(ex: Executor, tenantId: string, distributorId: string, id: string) {
    return ex
      .selectFrom('payout_accounts')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('distributor_id', '=', distributorId)
      .where('id', '=', id)
      .where('disabled_at', 'is', null)
      .forUpdate()
      .executeTakeFirst();
  },

  async confirm(ex: Executor, id: string, by: { at: Date; type: string; id: string | null }): Promise<void> {
    await ex
      .updateTable('payout_accounts')
      .set({ confirmed_at: by.at, confirmed_by_type: by.type, confirmed_by_id: by.id, is_default: true })
      .where('id', '=', id)
      .execute();
  },

  async listEnabled(ex: Executor, tenantId: string, distributorId: string) {
    return ex
      .selectFrom('payout_accounts')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('distributor_id', '=', distributorId)
      .where('disabled_at', 'is', null)
      .orderBy('id')
      .execute();
  },

  /** Disables an enabled account; false when there was none to disable. */
  async disable(ex: Executor, tenantId: string, distributorId: string, id: string, at: Date): Promise<boolean> {
    const r = await ex
      .updateTable('payout_accounts')
      .set({ disabled_at: at, is_default: false })
      .where('tenant_id', '=', tenantId)
      .where('distributor_id', '=', distributorId)
      .where('id', '=', id)
      .where('disabled_at', 'is', null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  },

  /** The account named, or the channel's default: enabled, of this distributor. */
  async pick(ex: Executor, tenantId: string, distributorId: string, channel: PayoutAccountChannel, accountId: string | undefined) {
    let q = ex
      .selectFrom('payout_accounts')
      .select(['id', 'channel', 'confirmed_at'])
      .where('tenant_id', '=', tenantId)
      .where('distributor_id', '=', distributorId)
      .where('disabled_at', 'is', null);
    q = accountId ? q.where('id', '=', accountId) : q.where('channel', '=', channel).where('is_default', '=', true);
    return q.executeTakeFirst();
  },

  /** An enabled account of the channel still waiting for its confirmation. */
  async unconfirmed(ex: Executor, tenantId: string, distributorId: string, channel: PayoutAccountChannel) {
    return ex
      .selectFrom('payout_accounts')
      .select('id')
      .where('tenant_id', '=', tenantId)
      .where('distributor_id', '=', distributorId)
      .where('channel', '=', channel)
      .where('disabled_at', 'is', null)
      .where('confirmed_at', 'is', null)
      .executeTakeFirst();
  },

  async details(ex: Executor, id: string) {
    return ex.selectFrom('payout_accounts').select('details_enc').where('id', '=', id).executeTakeFirstOrThrow();
  },

  /**
   * Erasure of a distributor's personal data: the rows stay (withdrawals point at them), what
   * identified each account goes. For the pii module's erasure to call; answers the rows changed.
   */
  async destroyDetailsOf(ex: Executor, tenantId: string, distributorId: string, display: string, at: Date): Promise<number> {
    const r = await ex
      .updateTable('payout_accounts')
      .set((eb) => ({ details_enc: null, identity_bidx: null, display, is_default: false, disabled_at: eb.fn.coalesce('disabled_at', eb.val(at)) }))
      .where('tenant_id', '=', tenantId)
      .where('distributor_id', '=', distributorId)
      .executeTakeFirst();
    return Number(r.numUpdatedRows);
  },

  /** Identities (blind indexes) behind more than one distributor's enabled accounts. */
  async sharedIdentities(ex: Executor, tenantId: string) {
    return ex
      .selectFrom('payout_accounts')
      .select(['identity_bidx', (eb) => eb.fn.count<number>('distributor_id').distinct().as('n')])
      .where('tenant_id', '=', tenantId)
      .where('disabled_at', 'is', null)
      .groupBy('identity_bidx')
      .having((eb) => eb.fn.count('distributor_id').distinct(), '>', 1)
      .execute();
  },
};
