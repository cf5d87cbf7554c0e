import { sql, type Kysely } from 'kysely';

/**
 * Foreign keys the order path paid for on every row and that guarded nothing a statement could
 * get wrong. Each was checked by a query PostgreSQL runs per inserted row: about 60 per order of
 * two items over three levels (six per commission line, three per posting), a quarter of the
 * database's CPU per order in the ingest bench (docs/scaling.md, "Foreign keys").
 *
 * Dropped, with what guards the same thing instead:
 * - `tenant_id` → tenants on orders, order items, order events, commission lines and journals:
 *   the tenant comes from the authenticated principal, tenants are never deleted, and every
 *   reading query filters by it.
 * - order items, order events and commission lines → their order, commission lines → their
 *   order item, postings → their journal and commission line: written by the same statement
 *   from the same arrays (each insert joins the rows the statement itself just inserted), and
 *   none of these tables is ever deleted from (journals and postings refuse it by trigger).
 *   `ledger verify` checks that every posting has its journal and every commission line its
 *   order and item (the `orphans` check), so a break would still be named.
 *
 * Kept: postings → accounts (money lands only on an account that exists), commission lines →
 * their beneficiary, orders → seller and fulfilling agent, clawbacks → the line they reverse,
 * lines → their statement; and every key on the tables written outside the order path.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
alter table orders drop constraint if exists orders_tenant_id_fkey;
alter table order_items drop constraint if exists order_items_tenant_id_fkey;
alter table order_items drop constraint if exists order_items_order_id_fkey;
alter table order_events drop constraint if exists order_events_tenant_id_fkey;
alter table order_events drop constraint if exists order_events_order_id_fkey;
alter table commissions drop constraint if exists commissions_tenant_id_fkey;
alter table commissions drop constraint if exists commissions_order_id_fkey;
alter table commissions drop constraint if exists commissions_order_item_id_fkey;
alter table journal_entries drop constraint if exists journal_entries_tenant_id_fkey;
alter table postings drop constraint if exists postings_journal_id_fkey;
alter table postings drop constraint if exists postings_commission_id_fkey;
`.execute(db);
}
