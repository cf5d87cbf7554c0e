import { sql, type Kysely } from 'kysely';

/**
 * The distributor portal: each tenant's portal settings (the signing secret its backend mints
 * login tokens with, the poster background), distributors' portal passwords with their lockout
 * counters, and the ids of login tokens already used (a token logs in once).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
create table portal_settings (
  tenant_id text primary key references tenants(id),
  -- HMAC key for login tokens: it must be read back to verify, so it is encrypted (KeyRing), not hashed.
  signing_secret_enc text,
  signing_secret_created_at timestamptz,
  poster_background_key text,
  poster_background_type text check (poster_background_type in ('image/png', 'image/jpeg')),
  poster_background_updated_at timestamptz,
  updated_at timestamptz not null default now()
);

create table portal_credentials (
  tenant_id text not null references tenants(id),
  distributor_id text not null references distributors(id),
  password_hash text not null,
  failed_logins integer not null default 0,
  locked_until timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (tenant_id, distributor_id)
);

-- A login token's jti is claimed here before its session is issued; the primary key refuses a
-- replay. Rows are useless once the token has expired and are pruned after that.
create table portal_token_uses (
  tenant_id text not null references tenants(id),
  jti text not null,
  distributor_id text not null references distributors(id),
  expires_at timestamptz not null,
  used_at timestamptz not null default now(),
  primary key (tenant_id, jti)
);
create index portal_token_uses_expiry on portal_token_uses (expires_at);
`.execute(db);
}
