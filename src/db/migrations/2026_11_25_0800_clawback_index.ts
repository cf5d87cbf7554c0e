import { sql, type Kysely } from 'kysely';

/**
 * The clawbacks of a settled line are found by clawback_of: a refund after settlement reads them,
 * and `ledger verify` sums them per line. Without an index each lookup scanned every commission
 * line (found by the settlement benchmark: verify over a million lines did not finish). Partial:
 * only clawback lines carry it.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create index if not exists commissions_clawback_of on commissions (clawback_of) where clawback_of is not null`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index if exists commissions_clawback_of`.execute(db);
}
