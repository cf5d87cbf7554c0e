import { sql, type Kysely } from 'kysely';

/**
 * A distributor's request, from the portal, that its personal data be erased (PIPL art. 47).
 * Erasing is the owner's act (it cannot be undone, and money must be paid out first): the
 * request waits for it, at most one open per distributor, and is closed in the erasing
 * transaction.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
create table erasure_requests (
  id text primary key,
  tenant_id text not null references tenants(id),
  distributor_id text not null references distributors(id),
  status text not null check (status in ('open', 'done')),
  requested_at timestamptz not null,
  resolved_at timestamptz
);
-- One open request per person: a second tap answers the first.
create unique index erasure_requests_open on erasure_requests (tenant_id, distributor_id) where status = 'open';
create index erasure_requests_tenant on erasure_requests (tenant_id, status, requested_at);
`.execute(db);
}
