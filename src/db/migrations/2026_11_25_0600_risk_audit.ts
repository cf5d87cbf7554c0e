import { sql, type Kysely } from 'kysely';

/**
 * Risk holds and their review, and a tamper-evident audit log: every entry carries the hash of
 * the one before it in its tenant's chain, so an edited or removed entry breaks the chain.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
alter table distributors add column risk_hold boolean not null default false;
alter table distributors add column device_bidx text;
create index distributors_device on distributors (tenant_id, device_bidx) where device_bidx is not null;

alter table orders add column device_bidx text;
alter table orders add column client_ip text;

-- Which commission lines a risk event held (released or reversed together on review).
create table risk_event_lines (
  event_id text not null references risk_events(id),
  commission_id text not null references commissions(id),
  primary key (event_id, commission_id)
);
create index risk_event_lines_commission on risk_event_lines (commission_id);

-- ------------------------------------------------------------------ the audit hash chain
alter table audit_log add column chain text;
alter table audit_log add column seq bigint;
alter table audit_log add column prev_hash text;
alter table audit_log add column hash text;

create table audit_heads (
  chain text primary key,
  seq bigint not null default 0,
  hash text not null default ''
);

-- The hash of one entry: its fields in a fixed order, each in a form that does not depend on
-- the session (timestamps in UTC to the microsecond, JSON as jsonb prints it), chained to the
-- previous entry's hash. Written and verified by the same function, so both always agree.
create function fenxiao_audit_hash(prev text, chain text, seq bigint, actor_type text, actor_id text, action text,
                                   target_type text, target_id text, before jsonb, after jsonb, reason text, request_id text, at timestamptz)
returns text language sql immutable as $$
  select encode(sha256(convert_to(concat_ws(chr(31),
    prev, chain, seq::text, actor_type, coalesce(actor_id, ''), action, target_type, coalesce(target_id, ''),
    coalesce(before::text, ''), coalesce(after::text, ''), coalesce(reason, ''), coalesce(request_id, ''),
    to_char(at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US')), 'UTF8')), 'hex')
$$;

-- Chain what is already there, per tenant (platform entries have their own chain), in id order.
do $$
declare
  r record;
  h record;
begin
  for r in select * from audit_log order by id loop
    insert into audit_heads (chain) values (coalesce(r.tenant_id, '_platform')) on conflict (chain) do nothing;
    select * into h from audit_heads where chain = coalesce(r.tenant_id, '_platform');
    alter table audit_log disable trigger audit_log_append_only;
    update audit_log set chain = h.chain, seq = h.seq + 1, prev_hash = h.hash,
      hash = fenxiao_audit_hash(h.hash, h.chain, h.seq + 1, r.actor_type, r.actor_id, r.action, r.target_type, r.target_id, r.before, r.after, r.reason, r.request_id, r.at)
      where id = r.id;
    alter table audit_log enable trigger audit_log_append_only;
    update audit_heads set seq = h.seq + 1, hash = fenxiao_audit_hash(h.hash, h.chain, h.seq + 1, r.actor_type, r.actor_id, r.action, r.target_type, r.target_id, r.before, r.after, r.reason, r.request_id, r.at)
      where chain = h.chain;
  end loop;
end $$;

create unique index audit_log_chain_seq on audit_log (chain, seq);
`.execute(db);
}
