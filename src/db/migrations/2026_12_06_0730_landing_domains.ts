import { sql, type Kysely } from 'kysely';

/**
 * The domains a tenant's landing page may be on (issue 14, item 15): `landing_url` made the
 * platform's `/i/<code>` redirect to any https site. A tenant adds a domain, publishes the token in
 * a DNS TXT record, and once verified may send its invite links there (and to its subdomains).
 * One row per (tenant, domain): two tenants may each verify a domain whose DNS they both control.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create table if not exists landing_domains (
      id text primary key,
      tenant_id text not null references tenants(id),
      domain text not null,
      token text not null,
      verified_at timestamptz,
      created_at timestamptz not null default now(),
      unique (tenant_id, domain)
    )`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop table if exists landing_domains`.execute(db);
}
