import { sql, type Kysely } from 'kysely';

/**
 * Breakdowns read rollups at the level they are read: one row per grade, per province or per city
 * (and day or month, and slot), instead of the grade × city segments they summed at read time. At
 * 10,000,000 orders a year's breakdown by province summed about 125,000 segment rows (1,500
 * grade × city pairs over 11 months and the loose days at both ends): 84–118 ms at 1 client,
 * 370–440 ms at 4. The same range now reads some 2,700 province rows, a few hundred grade rows.
 *
 * Each order adds to its seller's grade, province and city rows (the grade and region as they
 * were when it was paid, '' when unknown; a refund to the seller's as they are when refunded), in
 * the slot rows of the batch's one rollup statement, as the segments were. The grade × city
 * segments had no other reader and are dropped; their figures are backfilled here, summed into
 * each level, so past days read the same totals as before.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
create table analytics_breakdown_daily (
  tenant_id text not null references tenants(id),
  level text not null check (level in ('grade', 'province', 'city')),
  day date not null,
  code text not null,
  slot smallint not null check (slot between 0 and 63),
  orders integer not null default 0,
  gross_sales_fen bigint not null default 0,
  refunded_fen bigint not null default 0,
  commission_fen bigint not null default 0,
  new_distributors integer not null default 0,
  -- level before day: a breakdown reads one level over a range of days, one index range
  primary key (tenant_id, level, day, code, slot)
) with (fillfactor = 50);

create table analytics_breakdown_monthly (
  tenant_id text not null references tenants(id),
  level text not null check (level in ('grade', 'province', 'city')),
  month date not null,
  code text not null,
  slot smallint not null check (slot between 0 and 63),
  orders integer not null default 0,
  gross_sales_fen bigint not null default 0,
  refunded_fen bigint not null default 0,
  commission_fen bigint not null default 0,
  new_distributors integer not null default 0,
  primary key (tenant_id, level, month, code, slot)
) with (fillfactor = 50);

insert into analytics_breakdown_daily (tenant_id, level, day, code, slot, orders, gross_sales_fen, refunded_fen, commission_fen, new_distributors)
select s.tenant_id, l.level, s.day, l.code, s.slot, sum(s.orders), sum(s.gross_sales_fen), sum(s.refunded_fen), sum(s.commission_fen), sum(s.new_distributors)
  from analytics_segment_daily s
  cross join lateral (values ('grade', s.grade_code),
                             ('province', case when s.region_code = '' then '' else left(s.region_code, 2) || '0000' end),
                             ('city', s.region_code)) as l(level, code)
 group by 1, 2, 3, 4, 5;

insert into analytics_breakdown_monthly (tenant_id, level, month, code, slot, orders, gross_sales_fen, refunded_fen, commission_fen, new_distributors)
select s.tenant_id, l.level, s.month, l.code, s.slot, sum(s.orders), sum(s.gross_sales_fen), sum(s.refunded_fen), sum(s.commission_fen), sum(s.new_distributors)
  from analytics_segment_monthly s
  cross join lateral (values ('grade', s.grade_code),
                             ('province', case when s.region_code = '' then '' else left(s.region_code, 2) || '0000' end),
                             ('city', s.region_code)) as l(level, code)
 group by 1, 2, 3, 4, 5;

drop table analytics_segment_daily;
drop table analytics_segment_monthly;
`.execute(db);
}
