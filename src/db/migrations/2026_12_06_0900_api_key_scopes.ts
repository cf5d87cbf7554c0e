import { sql, type Kysely } from 'kysely';

/**
 * API key scopes (issue 14): what a key may do, checked with the permission of every route
 * (principal.ts SCOPE_PERMISSIONS). Keys made before keep acting for the merchant in full.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table api_keys add column scope text not null default 'full' check (scope in ('full', 'read', 'orders'))`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table api_keys drop column scope`.execute(db);
}
