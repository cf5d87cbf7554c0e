import { sql, type Kysely } from 'kysely';

/**
 * Issue 16, items 11–12: at home in WeChat's browser.
 *
 * - wechat_settings: a tenant's official account (公众号) app id and its secret (encrypted).
 * - wechat_oauth_states: one row per 网页授权 round trip, keyed by the sha256 of the `state`
 *   parameter, bound to the browser that started it (sha256 of a cookie nonce), single use, ten
 *   minutes. A `link` round trip also names the distributor whose session started it.
 * - wechat_identities: an openid WeChat vouched for (through the OAuth code exchange), linked to a
 *   distributor: it signs that distributor in. Per app id, since an openid is per app. The openid
 *   is personal data: encrypted, found by blind index.
 * - wechat_api_tokens: access_token and jsapi_ticket shared by every process of the deployment
 *   (when REDIS_URL is unset), encrypted, until shortly before they expire.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
create table wechat_settings (
  tenant_id text primary key references tenants(id),
  app_id text not null,
  app_secret_enc text,
  created_at timestamptz not null,
  updated_at timestamptz not null
);

create table wechat_oauth_states (
  id text primary key,
  tenant_id text not null references tenants(id),
  purpose text not null check (purpose in ('login', 'link')),
  scope text not null check (scope in ('snsapi_base', 'snsapi_userinfo')),
  app_id text not null,
  distributor_id text,
  browser_hash text not null,
  return_to text,
  expires_at timestamptz not null,
  used_at timestamptz,
  created_at timestamptz not null
);
create index wechat_oauth_states_expiry on wechat_oauth_states (expires_at);

create table wechat_identities (
  id text primary key,
  tenant_id text not null references tenants(id),
  app_id text not null,
  openid_bidx text not null,
  openid_enc text not null,
  distributor_id text not null,
  nickname_enc text,
  scope text not null,
  linked_at timestamptz not null,
  updated_at timestamptz not null,
  unique (tenant_id, app_id, openid_bidx),
  foreign key (distributor_id) references distributors(id)
);
create unique index wechat_identities_distributor on wechat_identities (tenant_id, app_id, distributor_id);

create table wechat_api_tokens (
  tenant_id text not null references tenants(id),
  app_id text not null,
  kind text not null check (kind in ('access_token', 'jsapi_ticket')),
  value_enc text not null,
  expires_at timestamptz not null,
  fetched_at timestamptz not null,
  primary key (tenant_id, app_id, kind)
);
`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
drop table wechat_api_tokens;
drop table wechat_identities;
drop table wechat_oauth_states;
drop table wechat_settings;
`.execute(db);
}
