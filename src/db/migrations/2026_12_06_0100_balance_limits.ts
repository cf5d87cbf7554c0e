import { sql, type Kysely } from 'kysely';

/**
 * Every cached balance stays within ±10^14 fen (a trillion yuan): far below 2^53, so a balance is
 * always an exact JavaScript number. Without a bound, enough huge orders for one distributor
 * carried its pending balance past 2^53 and every later order for it failed with a 500 (found by
 * the second security review). Orders are capped at MAX_FEN each; this is the backstop the
 * order path answers as 422 limit_exceeded (errors.ts maps the constraint by name).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table accounts add constraint accounts_balance_limit check (balance between -100000000000000 and 100000000000000)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table accounts drop constraint if exists accounts_balance_limit`.execute(db);
}
