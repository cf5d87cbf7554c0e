import { sql, type Kysely } from 'kysely';

/**
 * Tenants, keys, admin users and sessions, the audit log, program and grades, distributors and
 * their tree, customers and bindings, visits, documents, risk events and idempotency keys.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
create table tenants (
  id text primary key,
  name text not null,
  status text not null default 'active' check (status in ('active', 'suspended')),
  created_at timestamptz not null default now()
);

create table api_keys (
  id text primary key,
  tenant_id text not null references tenants(id),
  name text not null default 'default',
  secret_hash text not null,
  created_at timestamptz not null default now(),
  revoked_at timestamptz,
  last_used_at timestamptz
);
create index api_keys_tenant on api_keys (tenant_id);

create table admin_users (
  id text primary key,
  tenant_id text not null references tenants(id),
  email text not null,
  name text not null default '',
  password_hash text not null,
  role text not null check (role in ('owner', 'operator', 'finance', 'auditor')),
  failed_logins integer not null default 0,
  locked_until timestamptz,
  disabled_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create unique index admin_users_email on admin_users (tenant_id, lower(email));

create table sessions (
  id text primary key,
  token_hash text not null unique,
  tenant_id text not null references tenants(id),
  subject_type text not null check (subject_type in ('admin', 'distributor')),
  subject_id text not null,
  role text not null,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  revoked_at timestamptz
);
create index sessions_subject on sessions (tenant_id, subject_type, subject_id);

-- Append-only: the trigger below refuses UPDATE and DELETE.
create table audit_log (
  id bigint generated always as identity primary key,
  tenant_id text references tenants(id),
  actor_type text not null,
  actor_id text,
  action text not null,
  target_type text not null,
  target_id text,
  before jsonb,
  after jsonb,
  reason text,
  request_id text,
  at timestamptz not null default now()
);
create index audit_log_tenant on audit_log (tenant_id, id);
create index audit_log_target on audit_log (tenant_id, target_type, target_id);

create function fenxiao_refuse_change() returns trigger language plpgsql as $$
begin
  raise exception '% rows are append-only: % refused', TG_TABLE_NAME, TG_OP using errcode = '42501';
end $$;
create trigger audit_log_append_only before update or delete on audit_log
  for each row execute function fenxiao_refuse_change();

create table programs (
  tenant_id text primary key references tenants(id),
  settings jsonb not null,
  version integer not null default 1,
  updated_at timestamptz not null default now()
);

create table grades (
  tenant_id text not null references tenants(id),
  code text not null,
  name text not null,
  rank integer not null,
  sales_bp integer not null check (sales_bp between 0 and 10000),
  override_bp integer[] not null,
  settings jsonb not null default '{}',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (tenant_id, code)
);

create table distributors (
  id text primary key,
  tenant_id text not null references tenants(id),
  external_id text not null,
  name text not null,
  phone_enc text,
  phone_bidx text,
  invite_code text not null,
  status text not null check (status in ('pending', 'active', 'suspended', 'rejected')),
  referrer_id text references distributors(id),
  -- Materialised path: every upline, nearest first (ancestors[1] is the referrer).
  ancestors text[] not null default '{}',
  grade_code text not null,
  region_code text,
  profile jsonb not null default '{}',
  source text not null default 'api' check (source in ('api', 'application', 'admin')),
  status_reason text,
  deposit_paid_fen bigint not null default 0 check (deposit_paid_fen >= 0),
  deposit_refunded_fen bigint not null default 0 check (deposit_refunded_fen >= 0),
  training_completed_at timestamptz,
  consent_at timestamptz,
  approved_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  foreign key (tenant_id, grade_code) references grades(tenant_id, code)
);
create unique index distributors_external on distributors (tenant_id, external_id);
-- Invite links (/i/<code>) carry no tenant, so codes are unique across the platform.
create unique index distributors_invite_code on distributors (invite_code);
create index distributors_phone on distributors (tenant_id, phone_bidx) where phone_bidx is not null;
create index distributors_status on distributors (tenant_id, status, id);
-- The tree is a materialised path rather than a closure table: one row per distributor (a
-- closure table holds depth+1 rows each, tens of millions at a million distributors), the
-- upline chain is one row read, a cycle check is one membership test, and the team levels that
-- matter (1..3, the most commission ever reaches) are plain btree lookups on ancestors[k],
-- ordered by id for keyset pages. The GIN index answers "everyone under X at any depth" for
-- whole-team counts and for the rare admin move that rewrites a subtree's paths.
create index distributors_level1 on distributors (referrer_id, id) where referrer_id is not null;
create index distributors_level2 on distributors ((ancestors[2]), id);
create index distributors_level3 on distributors ((ancestors[3]), id);
create index distributors_subtree on distributors using gin (ancestors);

create table customers (
  tenant_id text not null references tenants(id),
  external_id text not null,
  distributor_id text references distributors(id),
  bound_at timestamptz,
  binding_source text,
  -- bind-at-first-order mode: the latest claim, made final by the first order.
  tentative_distributor_id text references distributors(id),
  tentative_at timestamptz,
  last_order_at timestamptz,
  purchases_fen bigint not null default 0,
  created_at timestamptz not null default now(),
  primary key (tenant_id, external_id)
);
create index customers_distributor on customers (distributor_id, bound_at) where distributor_id is not null;

create table binding_events (
  id text primary key,
  tenant_id text not null references tenants(id),
  customer_external_id text not null,
  kind text not null check (kind in ('bind', 'rebind', 'tentative', 'move', 'unbind')),
  from_distributor_id text references distributors(id),
  to_distributor_id text references distributors(id),
  source text not null,
  reason text,
  actor_type text not null,
  actor_id text,
  request_id text,
  at timestamptz not null default now()
);
create index binding_events_customer on binding_events (tenant_id, customer_external_id, at);
create index binding_events_to on binding_events (to_distributor_id, at);

create table visits (
  id bigint generated always as identity primary key,
  tenant_id text not null references tenants(id),
  distributor_id text not null references distributors(id),
  visitor_id text not null,
  ip text,
  user_agent text,
  referer text,
  at timestamptz not null default now()
);
create index visits_distributor on visits (distributor_id, at);

create table documents (
  id text primary key,
  tenant_id text not null references tenants(id),
  distributor_id text not null references distributors(id),
  kind text not null,
  filename text not null,
  content_type text not null,
  size_bytes bigint not null,
  sha256 text not null,
  storage_key text not null,
  created_at timestamptz not null default now()
);
create index documents_distributor on documents (distributor_id);

create table risk_events (
  id text primary key,
  tenant_id text not null references tenants(id),
  kind text not null,
  severity text not null default 'flag' check (severity in ('flag', 'hold', 'block')),
  subject_type text not null,
  subject_id text,
  details jsonb not null default '{}',
  status text not null default 'open' check (status in ('open', 'released', 'confirmed', 'dismissed')),
  reviewed_by text,
  review_note text,
  reviewed_at timestamptz,
  created_at timestamptz not null default now()
);
create index risk_events_tenant on risk_events (tenant_id, status, id);
create index risk_events_subject on risk_events (tenant_id, subject_type, subject_id);

-- A retried write answers what the first attempt answered. The key is claimed in the same
-- transaction as the write it guards, so a crash leaves either both or neither.
create table idempotency_keys (
  tenant_id text not null references tenants(id),
  scope text not null,
  key text not null,
  request_hash text not null,
  response_status integer not null,
  response_body jsonb not null,
  created_at timestamptz not null default now(),
  primary key (tenant_id, scope, key)
);
`.execute(db);
}
