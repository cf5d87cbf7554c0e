import { sql, type Kysely } from 'kysely';

/**
 * A tenant's short name (slug), chosen at creation: the console and the portal find their
 * merchant by it (`/admin/login?merchant=<slug>`, `/portal/?tenant=<slug>`) instead of a
 * 30-character id. Lower-case letters, digits and inner hyphens, 3 to 32 characters, unique.
 * Tenants made before it have none (they sign in by id, or by an email unique to them).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
alter table tenants add column slug text
  check (slug ~ '^[a-z0-9][a-z0-9-]{1,30}[a-z0-9]$');
create unique index tenants_slug on tenants (slug);
-- Signing in by email alone looks the email up across tenants.
create index admin_users_email_any_tenant on admin_users (lower(email));
`.execute(db);
}
