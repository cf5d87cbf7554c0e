import { sql, type Kysely } from 'kysely';

/**
 * Outbound webhooks: a tenant's endpoints, the events (each written in the transaction of what
 * caused it), one delivery per event and subscribed endpoint (made in the same statement as the
 * event, so an event committed is an event that will be sent), and every attempt at it.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
create table webhook_endpoints (
  id text primary key,
  tenant_id text not null references tenants(id),
  url text not null,
  events text[] not null,
  description text,
  secret_enc text not null,
  secret_hint text not null,
  previous_secret_enc text,
  previous_valid_until timestamptz,
  enabled boolean not null default true,
  disabled_reason text,
  failing_since timestamptz,
  created_at timestamptz not null,
  updated_at timestamptz not null
);
create index webhook_endpoints_tenant on webhook_endpoints (tenant_id, id);

create table webhook_events (
  id text primary key,
  tenant_id text not null references tenants(id),
  -- Events of one object are written by transactions that lock that object, so their seq is
  -- their commit order: deliveries of an object go out in seq order.
  seq bigint generated always as identity,
  type text not null,
  object_key text not null,
  data jsonb not null,
  created_at timestamptz not null
);
create index webhook_events_tenant on webhook_events (tenant_id, seq);

create table webhook_deliveries (
  id text primary key,
  tenant_id text not null references tenants(id),
  endpoint_id text not null references webhook_endpoints(id),
  event_id text not null references webhook_events(id),
  seq bigint not null,
  object_key text not null,
  status text not null check (status in ('pending', 'delivered', 'dead')),
  attempts int not null default 0,
  next_attempt_at timestamptz not null,
  lease_until timestamptz,
  last_http_status int,
  last_error text,
  created_at timestamptz not null,
  finished_at timestamptz,
  unique (endpoint_id, event_id)
);
-- What is due, across tenants (the worker's wake-up query), and the earlier deliveries of the
-- same object that hold a later one back.
create index webhook_deliveries_due on webhook_deliveries (next_attempt_at) where status = 'pending';
create index webhook_deliveries_object on webhook_deliveries (endpoint_id, object_key, seq) where status = 'pending';
create index webhook_deliveries_event on webhook_deliveries (event_id);

create table webhook_attempts (
  id text primary key,
  tenant_id text not null references tenants(id),
  endpoint_id text not null references webhook_endpoints(id),
  delivery_id text not null references webhook_deliveries(id),
  event_id text not null,
  attempt int not null,
  status text not null check (status in ('succeeded', 'failed')),
  http_status int,
  error text,
  duration_ms int not null,
  created_at timestamptz not null
);
create index webhook_attempts_endpoint on webhook_attempts (endpoint_id, id desc);

-- Wakes the delivery worker of every process (LISTEN fenxiao_webhooks) when deliveries commit;
-- a transaction that rolls back notifies no one.
create function webhook_deliveries_notify() returns trigger language plpgsql as $$
begin
  if exists (select 1 from new_rows) then
    perform pg_notify('fenxiao_webhooks', '');
  end if;
  return null;
end
$$;
create trigger webhook_deliveries_notify after insert on webhook_deliveries
  referencing new table as new_rows for each statement execute function webhook_deliveries_notify();
`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table webhook_attempts; drop function webhook_deliveries_notify cascade; drop table webhook_deliveries; drop table webhook_events; drop table webhook_endpoints`.execute(
    db,
  );
}
