import { sql, type Kysely } from 'kysely';

/**
 * Commission lines → their statement: checked by a query PostgreSQL ran for every line a
 * settlement batch assigned (10,000 per batch of 1,000 distributors, about a sixth of the
 * batch's update of the lines). The statement is inserted by the same transaction just before
 * its lines name it, statements are never deleted, and `ledger verify` names a line whose
 * statement is missing (the statement check groups lines by statement: a group without its
 * statement row is a break), so a break would still be named.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table commissions drop constraint if exists commissions_statement_fk`.execute(db);
}
