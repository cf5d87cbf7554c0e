import type { Executor } from '../../db/database.ts';
import type { BindingEventsTable } from '../../db/schema.ts';
import { sql, type Insertable, type RawBuilder, type Selectable } from 'kysely';
import { ident } from '../../db/ident.ts';
import { columnsOf, selectOf, unnestRows, type UnnestColumn } from '../../db/unnest.ts';
import type { CustomersTable } from '../../db/schema.ts';

export type CustomerRow = Selectable<CustomersTable>;

type NewBindingEvent = Insertable<BindingEventsTable>;
const BINDING_EVENT_COLUMNS: UnnestColumn<NewBindingEvent>[] = [
  { name: 'id', type: 'text', value: (e) => e.id },
  { name: 'tenant_id', type: 'text', value: (e) => e.tenant_id },
  { name: 'customer_external_id', type: 'text', value: (e) => e.customer_external_id },
  { name: 'kind', type: 'text', value: (e) => e.kind },
  { name: 'from_distributor_id', type: 'text', value: (e) => e.from_distributor_id },
  { name: 'to_distributor_id', type: 'text', value: (e) => e.to_distributor_id },
  { name: 'source', type: 'text', value: (e) => e.source },
  { name: 'reason', type: 'text', value: (e) => e.reason },
  { name: 'actor_type', type: 'text', value: (e) => e.actor_type },
  { name: 'actor_id', type: 'text', value: (e) => e.actor_id },
  { name: 'request_id', type: 'text', value: (e) => e.request_id },
  { name: 'at', type: 'timestamptz', value: (e) => e.at },
];

export const customersRepo = {
  /** Creates the customer row if missing, then locks it: bindings of one customer serialise here. */
  async lockOrCreate(db: Executor, tenantId: string, externalId: string, at: Date) {
    await db
      .insertInto('customers')
      .values({ tenant_id: tenantId, external_id: externalId, created_at: at })
      .onConflict((oc) => oc.columns(['tenant_id', 'external_id']).doNothing())
      .execute();
    return db.selectFrom('customers').selectAll().where('tenant_id', '=', tenantId).where('external_id', '=', externalId).forUpdate().executeTakeFirstOrThrow();
  },

  /**
   * The same for many customers at once: created where missing, and locked, in one statement.
   * The new rows are locked by their insert, the others by the select, each in external-id order
   * (batches sharing buyers queue on them instead of deadlocking). A row another transaction
   * inserted meanwhile is in neither half (the insert found it, the select's snapshot did not):
   * it is locked by a second statement.
   */
  async lockOrCreateMany(
    db: Executor,
    tenantId: string,
    externalIds: string[],
    at: Date,
    extra: Record<string, RawBuilder<unknown>> = {},
  ): Promise<{ rows: CustomerRow[]; extra: Record<string, unknown>; created: string[] }> {
    const ids = [...new Set(externalIds)].sort();
    const names = Object.keys(extra);
    // Extra scalars come back as `x_<name>` on every row (the buyers of a batch are never none).
    const extras = names.length > 0 ? sql`, ${sql.join(names.map((n) => sql`${extra[n]} as ${ident(`x_${n}`)}`))}` : sql``;
    const r = await sql<CustomerRow & Record<string, unknown>>`
      with created as (
        insert into customers (tenant_id, external_id, created_at)
        select ${tenantId}, e, ${at}::timestamptz from unnest(${ids}::text[]) with ordinality as v(e, n) order by v.n
        on conflict (tenant_id, external_id) do nothing returning *
      ), locked as (
        select * from customers where tenant_id = ${tenantId} and external_id = any(${ids}::text[]) order by external_id for update
      )
      select c.*${extras} from (select *, false as x__fresh from locked union all select *, true as x__fresh from created) c`.execute(db);
    const out: Record<string, unknown> = {};
    for (const n of names) out[n] = r.rows[0]?.[`x_${n}`] ?? null;
    const extraColumns = new Set([...names.map((n) => `x_${n}`), 'x__fresh']);
    const created = r.rows.filter((row) => row.x__fresh === true).map((row) => row.external_id);
    const rows = r.rows.map((row) => Object.fromEntries(Object.entries(row).filter(([k]) => !extraColumns.has(k))) as CustomerRow);
    if (rows.length < ids.length) {
      const have = new Set(rows.map((x) => x.external_id));
      const more =
        await sql<CustomerRow>`select * from customers where tenant_id = ${tenantId} and external_id = any(${ids.filter((i) => !have.has(i))}::text[])
        order by external_id for update`.execute(db);
      rows.push(...more.rows);
    }
    return { rows, extra: out, created };
  },

  /**
   * Buyers this transaction created for orders it then refused (a 409, a risk block, no stock):
   * gone again, as a refused request changes nothing. Only rows still as created (unbound, no
   * order, no binding event) go.
   */
  async deleteUntouched(db: Executor, tenantId: string, externalIds: string[]): Promise<void> {
    await sql`delete from customers c where c.tenant_id = ${tenantId} and c.external_id = any(${externalIds}::text[])
      and c.distributor_id is null and c.tentative_distributor_id is null and c.last_order_at is null and c.purchases_fen = 0
      and not exists (select 1 from binding_events b where b.tenant_id = c.tenant_id and b.customer_external_id = c.external_id)`.execute(db);
  },

  /** Customers' rows as they now stand (rows this transaction has locked), as a WITH entry `customers_saved`. */
  saveCte(tenantId: string, rows: CustomerRow[]): RawBuilder<unknown> {
    const col = <K extends keyof CustomerRow>(k: K) => rows.map((r) => r[k]);
    return sql`customers_saved as (update customers c set distributor_id = v.distributor_id, bound_at = v.bound_at, binding_source = v.binding_source,
        tentative_distributor_id = v.tentative_distributor_id, tentative_at = v.tentative_at, last_order_at = v.last_order_at, purchases_fen = v.purchases_fen
      from unnest(${col('external_id')}::text[], ${col('distributor_id')}::text[], ${col('bound_at')}::timestamptz[], ${col('binding_source')}::text[],
                  ${col('tentative_distributor_id')}::text[], ${col('tentative_at')}::timestamptz[], ${col('last_order_at')}::timestamptz[], ${col('purchases_fen')}::bigint[])
        as v(external_id, distributor_id, bound_at, binding_source, tentative_distributor_id, tentative_at, last_order_at, purchases_fen)
      where c.tenant_id = ${tenantId} and c.external_id = v.external_id returning 1)`;
  },

  /** Binding events as a WITH entry `bindings_new`. */
  eventsCte(events: Insertable<BindingEventsTable>[]): RawBuilder<unknown> {
    return sql`bindings_new as (insert into binding_events (${columnsOf(BINDING_EVENT_COLUMNS)})
      select ${selectOf(BINDING_EVENT_COLUMNS, 'v')} from ${unnestRows(BINDING_EVENT_COLUMNS, events, 'v')} order by v.n returning 1)`;
  },

  /**
   * Bindings of plain customers past the validity window (their start at or before `cutoff`),
   * locked, those other transactions hold skipped. The partial index customers_bound_at finds
   * them by bound_at (counted from the last order, the start is never before bound_at).
   */
  async lockLapsed(db: Executor, tenantId: string, from: 'bound' | 'last_order', cutoff: Date, limit: number) {
    const start = from === 'bound' ? sql`c.bound_at` : sql`greatest(c.bound_at, c.last_order_at)`;
    const r = await sql<Pick<CustomerRow, 'external_id' | 'distributor_id' | 'bound_at' | 'last_order_at'>>`
      select c.external_id, c.distributor_id, c.bound_at, c.last_order_at from customers c
      where c.tenant_id = ${tenantId} and c.distributor_id is not null and c.bound_at <= ${cutoff} and ${start} <= ${cutoff}
        and not exists (select 1 from distributors d where d.tenant_id = c.tenant_id and d.external_id = c.external_id)
      order by c.bound_at, c.external_id limit ${limit} for update of c skip locked`.execute(db);
    return r.rows;
  },

  /** Ends the bindings found by lockLapsed, each only if it is still the one found; writes their events. Answers how many ended. */
  async endBindings(
    db: Executor,
    tenantId: string,
    rows: Pick<CustomerRow, 'external_id' | 'distributor_id' | 'bound_at'>[],
    events: Insertable<BindingEventsTable>[],
  ): Promise<number> {
    const ended = await sql<{ external_id: string }>`
      update customers c set distributor_id = null, bound_at = null, binding_source = null
      from unnest(${rows.map((r) => r.external_id)}::text[], ${rows.map((r) => r.distributor_id)}::text[], ${rows.map((r) => r.bound_at)}::timestamptz[])
        as v(external_id, distributor_id, bound_at)
      where c.tenant_id = ${tenantId} and c.external_id = v.external_id and c.distributor_id = v.distributor_id and c.bound_at = v.bound_at
      returning c.external_id`.execute(db);
    const done = new Set(ended.rows.map((r) => r.external_id));
    const kept = events.filter((e) => done.has(e.customer_external_id));
    if (kept.length > 0) await db.insertInto('binding_events').values(kept).execute();
    return done.size;
  },

  async find(db: Executor, tenantId: string, externalId: string) {
    return db.selectFrom('customers').selectAll().where('tenant_id', '=', tenantId).where('external_id', '=', externalId).executeTakeFirst();
  },

  async setBinding(
    db: Executor,
    tenantId: string,
    externalId: string,
    set: { distributor_id: string | null; bound_at: Date | null; binding_source: string | null; tentative_distributor_id?: null; tentative_at?: null },
  ) {
    await db.updateTable('customers').set(set).where('tenant_id', '=', tenantId).where('external_id', '=', externalId).execute();
  },

  async setTentative(db: Executor, tenantId: string, externalId: string, distributorId: string, at: Date) {
    await db
      .updateTable('customers')
      .set({ tentative_distributor_id: distributorId, tentative_at: at })
      .where('tenant_id', '=', tenantId)
      .where('external_id', '=', externalId)
      .execute();
  },

  async insertEvent(db: Executor, e: Insertable<BindingEventsTable>) {
    await db.insertInto('binding_events').values(e).execute();
  },

  async events(db: Executor, tenantId: string, externalId: string) {
    return db
      .selectFrom('binding_events')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('customer_external_id', '=', externalId)
      .orderBy('at')
      .orderBy('id')
      .execute();
  },

  async listBoundTo(db: Executor, tenantId: string, distributorId: string, afterExternalId: string | undefined, limit: number) {
    let q = db.selectFrom('customers').selectAll().where('tenant_id', '=', tenantId).where('distributor_id', '=', distributorId);
    if (afterExternalId) q = q.where('external_id', '>', afterExternalId);
    return q.orderBy('external_id').limit(limit).execute();
  },
};
