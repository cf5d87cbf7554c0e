import { regionFullName } from '../../lib/regions.ts';
import { sql, type RawBuilder } from 'kysely';
import type { Executor } from '../../db/database.ts';
import type { CommissionStatus, StatementStatus } from '../../db/schema.ts';
import type { Period } from './period.ts';
import { periodSql } from '../reconciliation/repo.ts';

/** Rows of the export queries: times as ISO strings, amounts as safe integers (they may be spooled as JSON). */

export interface StatementExportRow {
  statement_id: string;
  distributor_id: string;
  distributor_external_id: string;
  distributor_name: string;
  status: StatementStatus;
  amount_fen: number;
  line_count: number;
  debt_offset_fen: number;
  period_end: string;
  run_id: string;
  created_at: string;
  approved_at: string | null;
  rejected_at: string | null;
  review_reason: string | null;
  settle_journal_id: string | null;
  /** What the settle journal credited to withdrawable. */
  settled_fen: number;
}

export interface CommissionExportRow {
  commission_id: string;
  order_external_id: string;
  sku: string | null;
  beneficiary_id: string;
  beneficiary_external_id: string;
  beneficiary_name: string;
  level: number;
  /** Agent mode's lines say what they are: territory, price_difference; a month-end tier true-up's, adjustment. */
  kind: 'commission' | 'clawback' | 'territory' | 'price_difference' | 'adjustment';
  /** A territory line's rank. */
  territory_rank: string | null;
  /** The order's shipping region, by its GB/T 2260 name. */
  region_name: string | null;
  base_fen: number;
  /** Percentage lines; null for a fixed amount per unit. */
  rate_bp: number | null;
  /** Fixed lines: the amount per unit; null for a percentage. */
  fixed_fen: number | null;
  units: number;
  amount_fen: number;
  status: CommissionStatus;
  held: boolean;
  rule_version: number;
  rate_source: string;
  /** The grade the line was computed under, by the merchant's name for it (its code when it has none). */
  beneficiary_grade: string;
  created_at: string;
  available_at: string | null;
  settled_at: string | null;
  reversed_at: string | null;
  statement_id: string | null;
  clawback_of: string | null;
}

export interface ListFilter<S extends string> {
  tenantId: string;
  period: Period;
  statuses?: readonly S[] | undefined;
  distributorId?: string | undefined;
}

const iso = (d: Date | string | null): string | null => (d === null ? null : new Date(d).toISOString());
/** A timestamp the column never holds null. */
const isoOf = (d: Date | string): string => new Date(d).toISOString();

function where<S extends string>(alias: string, distributorColumn: string, f: ListFilter<S>): RawBuilder<unknown> {
  const parts: RawBuilder<unknown>[] = [sql`${sql.ref(`${alias}.tenant_id`)} = ${f.tenantId}`, periodSql(`${alias}.created_at`, f.period)];
  if (f.statuses?.length) parts.push(sql`${sql.ref(`${alias}.status`)} = any(${[...f.statuses]}::text[])`);
  if (f.distributorId) parts.push(sql`${sql.ref(`${alias}.${distributorColumn}`)} = ${f.distributorId}`);
  return sql.join(parts, sql` and `);
}

const after = (column: string, cursor: string | null) => (cursor === null ? sql`` : sql`and ${sql.ref(column)} > ${cursor}`);

export const exportsRepo = {
  /**
   * Makes the transaction a REPEATABLE READ, READ ONLY snapshot: its first statement (see
   * snapshot.ts for why not Kysely's builder).
   */
  async readOnlySnapshot(tx: Executor): Promise<void> {
    await sql`set transaction isolation level repeatable read, read only`.execute(tx);
  },

  /** The server's version() text (PGlite says so in it). */
  async serverVersion(db: Executor): Promise<string> {
    const r = await sql<{ v: string }>`select version() as v`.execute(db);
    return r.rows[0]?.v ?? '';
  },

  async tenantExists(ex: Executor, tenantId: string) {
    return ex.selectFrom('tenants').select('id').where('id', '=', tenantId).executeTakeFirst();
  },

  /** A keyset page of statements (by id), with the journal that settled each. */
  async statementPage(ex: Executor, f: ListFilter<StatementStatus>, cursor: string | null, limit: number): Promise<StatementExportRow[]> {
    type Raw = Omit<StatementExportRow, 'period_end' | 'created_at' | 'approved_at' | 'rejected_at'> & {
      period_end: Date;
      created_at: Date;
      approved_at: Date | null;
      rejected_at: Date | null;
    };
    const r = await sql<Raw>`
      select s.id as statement_id, s.distributor_id, d.external_id as distributor_external_id, d.name as distributor_name, s.status,
             s.amount_fen, s.line_count, s.debt_offset_fen, s.period_end, s.run_id, s.created_at, s.approved_at, s.rejected_at, s.review_reason,
             j.settle_journal_id, j.settled_fen
        from statements s
        join distributors d on d.id = s.distributor_id
        cross join lateral (
          select max(je.id) as settle_journal_id,
                 coalesce(sum(x.amount) filter (where a.purpose = 'withdrawable'), 0)::bigint as settled_fen
            from journal_entries je join postings x on x.journal_id = je.id join accounts a on a.id = x.account_id
           where je.tenant_id = s.tenant_id and je.ref_type = 'statement' and je.ref_id = s.id and je.kind = 'settle') j
       where ${where('s', 'distributor_id', f)} ${after('s.id', cursor)}
       order by s.id
       limit ${limit}`.execute(ex);
    return r.rows.map((row) => ({
      ...row,
      period_end: isoOf(row.period_end),
      created_at: isoOf(row.created_at),
      approved_at: iso(row.approved_at),
      rejected_at: iso(row.rejected_at),
    }));
  },

  async countStatements(ex: Executor, f: ListFilter<StatementStatus>): Promise<number> {
    return (await sql<{ n: number }>`select count(*)::bigint as n from statements s where ${where('s', 'distributor_id', f)}`.execute(ex)).rows[0]?.n ?? 0;
  },

  /** A keyset page of commission lines (by id), clawbacks included, with their order line and beneficiary. */
  async commissionPage(ex: Executor, f: ListFilter<CommissionStatus>, cursor: string | null, limit: number): Promise<CommissionExportRow[]> {
    type Raw = Omit<CommissionExportRow, 'created_at' | 'available_at' | 'settled_at' | 'reversed_at' | 'region_name'> & {
      region_code: string | null;
      created_at: Date;
      available_at: Date | null;
      settled_at: Date | null;
      reversed_at: Date | null;
    };
    const r = await sql<Raw>`
      select c.id as commission_id, o.external_id as order_external_id, i.sku, c.beneficiary_id, d.external_id as beneficiary_external_id,
             d.name as beneficiary_name, c.level,
             case when c.kind = 'commission' and c.rate_source in ('territory', 'price_difference') then c.rate_source else c.kind end as kind,
             c.territory_rank, o.region_code, c.base_fen,
             case when c.rate_kind = 'percent' then c.rate_bp end as rate_bp,
             case when c.rate_kind = 'fixed' then c.fixed_fen end as fixed_fen,
             c.units, c.amount_fen, c.status, c.held, c.rule_version, c.rate_source, coalesce(g.name, c.beneficiary_grade) as beneficiary_grade,
             c.created_at, c.available_at, c.settled_at, c.reversed_at, c.statement_id, c.clawback_of
        from commissions c
        join orders o on o.id = c.order_id
        join distributors d on d.id = c.beneficiary_id
        left join order_items i on i.id = c.order_item_id
        left join grades g on g.tenant_id = c.tenant_id and g.code = c.beneficiary_grade
       where ${where('c', 'beneficiary_id', f)} ${after('c.id', cursor)}
       order by c.id
       limit ${limit}`.execute(ex);
    return r.rows.map(({ region_code, ...row }) => ({
      ...row,
      region_name: regionFullName(region_code),
      created_at: isoOf(row.created_at),
      available_at: iso(row.available_at),
      settled_at: iso(row.settled_at),
      reversed_at: iso(row.reversed_at),
    }));
  },

  async countCommissions(ex: Executor, f: ListFilter<CommissionStatus>): Promise<number> {
    return (await sql<{ n: number }>`select count(*)::bigint as n from commissions c where ${where('c', 'beneficiary_id', f)}`.execute(ex)).rows[0]?.n ?? 0;
  },
};
