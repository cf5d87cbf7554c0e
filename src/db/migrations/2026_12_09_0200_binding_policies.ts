import { sql, type Kysely } from 'kysely';

/**
 * Binding policies (issue 17, item 1): a binding past the program's validity window lapses,
 * recorded in the customer's history as a `lapse` event; the lapse job finds the bindings due by
 * when they were made (the window never starts before that), per tenant.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
alter table binding_events drop constraint binding_events_kind_check;
alter table binding_events add constraint binding_events_kind_check check (kind in ('bind', 'rebind', 'tentative', 'move', 'unbind', 'lapse'));
create index customers_bound_at on customers (tenant_id, bound_at) where distributor_id is not null;
`.execute(db);
}
