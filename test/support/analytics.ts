import { sql } from 'kysely';
import type { Executor } from '../../src/db/database.ts';

export interface RollupBreak {
  check: string;
  key: string;
  rollup: string;
  base: string;
}

/**
 * Every analytics rollup of a tenant against the same figures computed independently from the
 * base tables (orders, commission lines, accounts and postings, bindings, visits, distributors),
 * in SQL that shares nothing with the recorder. An empty answer is the proof.
 *
 * Days are local days in `timeZone`. Distributors' created_at and postings' created_at come from
 * the database clock rather than the application's, so those are compared as totals only.
 */
export async function rollupBreaks(db: Executor, tenantId: string, timeZone: string): Promise<RollupBreak[]> {
  const breaks: RollupBreak[] = [];
  const compare = async (check: string, query: ReturnType<typeof sql>) => {
    const r = await query.execute(db);
    for (const row of r.rows as { key: string; rollup: string; base: string }[])
      breaks.push({ check, key: String(row.key), rollup: String(row.rollup), base: String(row.base) });
  };
  const localDay = (col: string) => sql.raw(`(${col} at time zone '${timeZone.replace(/'/g, '')}')::date`);

  // Per local day of payment: orders, gross, refunded, refund events, commission net and reversed.
  await compare(
    'daily order figures',
    sql`
    with r as (
      select day, sum(orders) as orders, sum(gross_sales_fen) as gross, sum(refunded_fen) as refunded, sum(refunds) as refunds,
             sum(commission_fen) as commission, sum(commission_reversed_fen) as reversed
        from analytics_daily where tenant_id = ${tenantId} group by day
    ), o as (
      select ${localDay('paid_at')} as day, count(*) as orders, sum(paid_fen) as gross, sum(refunded_fen) as refunded
        from orders where tenant_id = ${tenantId} group by 1
    ), e as (
      select ${localDay('o.paid_at')} as day, count(*) as refunds
        from order_events e join orders o on o.id = e.order_id
       where o.tenant_id = ${tenantId} and e.type in ('refunded', 'cancelled') and coalesce(e.refund_fen, 0) > 0 group by 1
    ), c as (
      select ${localDay('o.paid_at')} as day, sum(c.amount_fen) as commission,
             sum(c.original_amount_fen) filter (where c.kind = 'commission') - sum(c.amount_fen) as reversed
        from commissions c join orders o on o.id = c.order_id where o.tenant_id = ${tenantId} group by 1
    ), b as (
      select coalesce(o.day, e.day, c.day) as day, coalesce(o.orders, 0) as orders, coalesce(o.gross, 0) as gross, coalesce(o.refunded, 0) as refunded,
             coalesce(e.refunds, 0) as refunds, coalesce(c.commission, 0) as commission, coalesce(c.reversed, 0) as reversed
        from o full join e on e.day = o.day full join c on c.day = coalesce(o.day, e.day)
    )
    select coalesce(r.day, b.day)::text as key,
           concat_ws(' ', r.orders, r.gross, r.refunded, r.refunds, r.commission, r.reversed) as rollup,
           concat_ws(' ', b.orders, b.gross, b.refunded, b.refunds, b.commission, b.reversed) as base
      from r full join b on b.day = r.day
     where (coalesce(r.orders, 0), coalesce(r.gross, 0), coalesce(r.refunded, 0), coalesce(r.refunds, 0), coalesce(r.commission, 0), coalesce(r.reversed, 0))
       is distinct from (coalesce(b.orders, 0), coalesce(b.gross, 0), coalesce(b.refunded, 0), coalesce(b.refunds, 0), coalesce(b.commission, 0), coalesce(b.reversed, 0))`,
  );

  // Bindings and visits by the local day they happened (the application clock writes both).
  await compare(
    'daily bindings and visits',
    sql`
    with r as (select day, sum(new_bindings) as bindings, sum(visits) as visits from analytics_daily where tenant_id = ${tenantId} group by day),
    bd as (select ${localDay('at')} as day, count(*) as bindings from binding_events where tenant_id = ${tenantId} and kind in ('bind', 'rebind') group by 1),
    v as (select ${localDay('at')} as day, count(*) as visits from visits where tenant_id = ${tenantId} group by 1),
    b as (select coalesce(bd.day, v.day) as day, coalesce(bd.bindings, 0) as bindings, coalesce(v.visits, 0) as visits from bd full join v on v.day = bd.day)
    select coalesce(r.day, b.day)::text as key, concat_ws(' ', r.bindings, r.visits) as rollup, concat_ws(' ', b.bindings, b.visits) as base
      from r full join b on b.day = r.day
     where (coalesce(r.bindings, 0), coalesce(r.visits, 0)) is distinct from (coalesce(b.bindings, 0), coalesce(b.visits, 0))`,
  );

  // The latest-order histogram: per day, how many sellers have that day as their latest order.
  await compare(
    'latest order day histogram',
    sql`
    with r as (select day, sum(last_order_distributors) as n from analytics_daily where tenant_id = ${tenantId} group by day having sum(last_order_distributors) <> 0),
    b as (select day, count(*) as n from (select seller_id, max(${localDay('paid_at')}) as day from orders where tenant_id = ${tenantId} and seller_id is not null group by seller_id) s group by day)
    select coalesce(r.day, b.day)::text as key, r.n::text as rollup, b.n::text as base
      from r full join b on b.day = r.day where coalesce(r.n, 0) <> coalesce(b.n, 0)`,
  );
  await compare(
    "each seller's latest order day",
    sql`
    select coalesce(a.distributor_id, s.seller_id) as key, a.last_order_day::text as rollup, s.day::text as base
      from (select * from analytics_distributor_activity where tenant_id = ${tenantId}) a
      full join (select seller_id, max(${localDay('paid_at')}) as day from orders where tenant_id = ${tenantId} and seller_id is not null group by seller_id) s
        on s.seller_id = a.distributor_id
     where a.last_order_day is distinct from s.day`,
  );

  // Ledger-fed columns: summed over all days they are the balances of each account purpose.
  await compare(
    'ledger balances',
    sql`
    with r as (
      select sum(ledger_pending_fen) as pending, sum(ledger_available_fen) as available, sum(ledger_withdrawable_fen) as withdrawable,
             sum(ledger_withdrawing_fen) as withdrawing, sum(ledger_withdrawn_fen) as withdrawn, sum(ledger_clearing_fen) as clearing,
             sum(ledger_fee_income_fen) as fee_income, sum(ledger_expense_fen) as expense, sum(settled_fen) as settled, sum(made_available_fen) as made_available
        from analytics_daily where tenant_id = ${tenantId}
    ), b as (
      select
        (select coalesce(sum(balance), 0) from accounts where tenant_id = ${tenantId} and owner_type = 'distributor' and purpose = 'pending') as pending,
        (select coalesce(sum(balance), 0) from accounts where tenant_id = ${tenantId} and owner_type = 'distributor' and purpose = 'available') as available,
        (select coalesce(sum(balance), 0) from accounts where tenant_id = ${tenantId} and owner_type = 'distributor' and purpose = 'withdrawable') as withdrawable,
        (select coalesce(sum(balance), 0) from accounts where tenant_id = ${tenantId} and owner_type = 'distributor' and purpose = 'withdrawing') as withdrawing,
        (select coalesce(sum(balance), 0) from accounts where tenant_id = ${tenantId} and owner_type = 'distributor' and purpose = 'withdrawn') as withdrawn,
        (select coalesce(sum(p.amount), 0) from postings p join accounts a on a.id = p.account_id where a.tenant_id = ${tenantId} and a.owner_id = 'tenant' and a.purpose = 'payout_clearing') as clearing,
        (select coalesce(sum(p.amount), 0) from postings p join accounts a on a.id = p.account_id where a.tenant_id = ${tenantId} and a.owner_id = 'tenant' and a.purpose = 'fee_income') as fee_income,
        (select coalesce(sum(p.amount), 0) from postings p join accounts a on a.id = p.account_id where a.tenant_id = ${tenantId} and a.owner_id = 'tenant' and a.purpose = 'commission_expense') as expense,
        (select coalesce(sum(p.amount), 0) from postings p join journal_entries j on j.id = p.journal_id join accounts a on a.id = p.account_id
          where j.tenant_id = ${tenantId} and j.kind = 'settle' and a.purpose = 'withdrawable') as settled,
        (select coalesce(sum(p.amount), 0) from postings p join journal_entries j on j.id = p.journal_id join accounts a on a.id = p.account_id
          where j.tenant_id = ${tenantId} and j.kind = 'make_available' and a.purpose = 'available') as made_available
    )
    select 'totals' as key,
           concat_ws(' ', r.pending, r.available, r.withdrawable, r.withdrawing, r.withdrawn, r.clearing, r.fee_income, r.expense, r.settled, r.made_available) as rollup,
           concat_ws(' ', b.pending, b.available, b.withdrawable, b.withdrawing, b.withdrawn, b.clearing, b.fee_income, b.expense, b.settled, b.made_available) as base
      from r, b
     where (coalesce(r.pending, 0), coalesce(r.available, 0), coalesce(r.withdrawable, 0), coalesce(r.withdrawing, 0), coalesce(r.withdrawn, 0),
            coalesce(r.clearing, 0), coalesce(r.fee_income, 0), coalesce(r.expense, 0), coalesce(r.settled, 0), coalesce(r.made_available, 0))
       is distinct from (b.pending, b.available, b.withdrawable, b.withdrawing, b.withdrawn, b.clearing, b.fee_income, b.expense, b.settled, b.made_available)`,
  );

  await compare(
    'distributors registered',
    sql`
    select 'total' as key, (select coalesce(sum(new_distributors), 0) from analytics_daily where tenant_id = ${tenantId})::text as rollup,
           (select count(*) from distributors where tenant_id = ${tenantId})::text as base
     where (select coalesce(sum(new_distributors), 0) from analytics_daily where tenant_id = ${tenantId}) <> (select count(*) from distributors where tenant_id = ${tenantId})`,
  );

  // Per distributor and day, and per month: own sales and orders as seller, commission earned.
  for (const [table, period] of [
    ['analytics_distributor_daily', 'day'],
    ['analytics_distributor_monthly', 'month'],
  ] as const) {
    const bucket = period === 'day' ? localDay('o.paid_at') : sql`date_trunc('month', ${localDay('o.paid_at')})::date`;
    await compare(
      `${table}`,
      sql`
      with r as (select distributor_id, ${sql.ref(period)} as p, orders, sales_fen, commission_fen from ${sql.table(table)} where tenant_id = ${tenantId}),
      s as (select o.seller_id as id, ${bucket} as p, count(*) as orders, sum(o.paid_fen - o.refunded_fen) as sales from orders o
             where o.tenant_id = ${tenantId} and o.seller_id is not null group by 1, 2),
      c as (select c.beneficiary_id as id, ${bucket} as p, sum(c.amount_fen) as commission from commissions c join orders o on o.id = c.order_id
             where o.tenant_id = ${tenantId} group by 1, 2),
      b as (select coalesce(s.id, c.id) as id, coalesce(s.p, c.p) as p, coalesce(s.orders, 0) as orders, coalesce(s.sales, 0) as sales, coalesce(c.commission, 0) as commission
              from s full join c on c.id = s.id and c.p = s.p)
      select coalesce(r.distributor_id, b.id) || ' ' || coalesce(r.p, b.p)::text as key,
             concat_ws(' ', r.orders, r.sales_fen, r.commission_fen) as rollup, concat_ws(' ', b.orders, b.sales, b.commission) as base
        from r full join b on b.id = r.distributor_id and b.p = r.p
       where (coalesce(r.orders, 0), coalesce(r.sales_fen, 0), coalesce(r.commission_fen, 0)) is distinct from (coalesce(b.orders, 0), coalesce(b.sales, 0), coalesce(b.commission, 0))`,
    );
  }

  // Breakdowns: at each level (grade, province, city), each day's and month's rows sum to the
  // day's totals; and each province's rows are its cities' rows, summed.
  for (const [table, period, trunc] of [
    ['analytics_breakdown_daily', 'day', 'day'],
    ['analytics_breakdown_monthly', 'month', 'month'],
  ] as const) {
    for (const level of ['grade', 'province', 'city'] as const) {
      await compare(
        `${table} ${level} sums to the totals`,
        sql`
        with r as (select ${sql.ref(period)} as p, sum(orders) as orders, sum(gross_sales_fen) as gross, sum(refunded_fen) as refunded, sum(commission_fen) as commission, sum(new_distributors) as nd
                     from ${sql.table(table)} where tenant_id = ${tenantId} and level = ${level} group by 1),
        t as (select date_trunc(${trunc}, day)::date as p, sum(orders) as orders, sum(gross_sales_fen) as gross, sum(refunded_fen) as refunded, sum(commission_fen) as commission, sum(new_distributors) as nd
                from analytics_daily where tenant_id = ${tenantId} group by 1)
        select coalesce(r.p, t.p)::text as key, concat_ws(' ', r.orders, r.gross, r.refunded, r.commission, r.nd) as rollup, concat_ws(' ', t.orders, t.gross, t.refunded, t.commission, t.nd) as base
          from r full join t on t.p = r.p
         where (coalesce(r.orders, 0), coalesce(r.gross, 0), coalesce(r.refunded, 0), coalesce(r.commission, 0), coalesce(r.nd, 0))
           is distinct from (coalesce(t.orders, 0), coalesce(t.gross, 0), coalesce(t.refunded, 0), coalesce(t.commission, 0), coalesce(t.nd, 0))`,
      );
    }
    await compare(
      `${table} provinces are their cities`,
      sql`
      with p as (select ${sql.ref(period)} as p, code, sum(orders) as orders, sum(gross_sales_fen) as gross, sum(refunded_fen) as refunded, sum(commission_fen) as commission, sum(new_distributors) as nd
                   from ${sql.table(table)} where tenant_id = ${tenantId} and level = 'province' group by 1, 2),
      c as (select ${sql.ref(period)} as p, case when code = '' then '' else left(code, 2) || '0000' end as code, sum(orders) as orders, sum(gross_sales_fen) as gross,
                   sum(refunded_fen) as refunded, sum(commission_fen) as commission, sum(new_distributors) as nd
              from ${sql.table(table)} where tenant_id = ${tenantId} and level = 'city' group by 1, 2)
      select coalesce(p.p, c.p)::text || ' ' || coalesce(p.code, c.code) as key, concat_ws(' ', p.orders, p.gross, p.refunded, p.commission, p.nd) as rollup,
             concat_ws(' ', c.orders, c.gross, c.refunded, c.commission, c.nd) as base
        from p full join c on c.p = p.p and c.code = p.code
       where (coalesce(p.orders, 0), coalesce(p.gross, 0), coalesce(p.refunded, 0), coalesce(p.commission, 0), coalesce(p.nd, 0))
         is distinct from (coalesce(c.orders, 0), coalesce(c.gross, 0), coalesce(c.refunded, 0), coalesce(c.commission, 0), coalesce(c.nd, 0))`,
    );
  }
  return breaks;
}
