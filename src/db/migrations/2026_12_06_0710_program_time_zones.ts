import { sql, type Kysely } from 'kysely';
import { isValidTimeZone } from '../../core/time.ts';

/** The default program's zone (program/schema.ts), what a tenant with an unknown one gets back. */
const FALLBACK_ZONE = 'Asia/Shanghai';

/**
 * Programs whose time zone the runtime does not know get the default zone back. The schema used
 * to check only a zone's shape, so `Mars/Olympus` could be stored, and from then on every order,
 * withdrawal and analytics call of the tenant failed with a 500 as each computed a local day
 * (issue 14, item 8); PUT /v1/program now refuses such a zone. The zone list is the runtime's
 * (Intl), the same the application uses, hence a migration in code rather than in SQL.
 */
export async function up(db: Kysely<any>): Promise<void> {
  const rows = await sql<{ tenant_id: string; timezone: string }>`
    select tenant_id, settings->>'timezone' as timezone from programs where settings ? 'timezone'`.execute(db);
  for (const r of rows.rows) {
    if (isValidTimeZone(r.timezone)) continue;
    await sql`update programs set settings = jsonb_set(settings, '{timezone}', to_jsonb(${FALLBACK_ZONE}::text))
      where tenant_id = ${r.tenant_id} and settings->>'timezone' = ${r.timezone}`.execute(db);
  }
}

export async function down(): Promise<void> {
  // The zones replaced were unusable; nothing to restore.
}
