-- Fenxiao on Citus: the migration path (docs/scaling.md, "Citus"). Not run here: Citus is not
-- installable on this machine (it is not in Debian's packages; Citus Data ships its own
-- repository), so test/e2e/citus-plan.test.ts checks this file against the schema instead: every
-- table is named below, step 1 runs on a copy of the schema, and afterwards every distributed
-- table has its distribution column in its primary key, in each unique index and in each foreign
-- key to another distributed table, as create_distributed_table requires.
--
-- reference: tenants (every table's tenant_id references it; replicated to every node)
-- local: fenxiao_migrations, fenxiao_migrations_lock (the coordinator's bookkeeping of migrations)
-- distributed by tenant_id: every other table, colocated, so a tenant's rows share one node
-- distributed by chain: audit_log, audit_heads (chain is the tenant id, or '_platform' for platform
--   entries, whose tenant_id is null: a distribution column may not be null)
--
-- Run step 1 on PostgreSQL before installing Citus (it takes ACCESS EXCLUSIVE locks: a
-- maintenance window), then `create extension citus`, add the workers, and run step 2.

-- step 1: keys
-- risk_event_lines has no tenant_id: it gets one, from its event.
alter table risk_event_lines add column tenant_id text;
update risk_event_lines l set tenant_id = e.tenant_id from risk_events e where e.id = l.event_id;
alter table risk_event_lines alter column tenant_id set not null;
alter table audit_log alter column chain set not null;
-- foreign keys between distributed tables carry the distribution column: dropped here, made again below
alter table analytics_distributor_activity drop constraint analytics_distributor_activity_distributor_id_fkey;
alter table analytics_distributor_daily drop constraint analytics_distributor_daily_distributor_id_fkey;
alter table analytics_distributor_monthly drop constraint analytics_distributor_monthly_distributor_id_fkey;
alter table binding_events drop constraint binding_events_from_distributor_id_fkey;
alter table binding_events drop constraint binding_events_to_distributor_id_fkey;
alter table commission_daily drop constraint commission_daily_distributor_id_fkey;
alter table commissions drop constraint commissions_beneficiary_id_fkey;
alter table commissions drop constraint commissions_clawback_of_fkey;
alter table commissions drop constraint commissions_order_id_fkey;
alter table commissions drop constraint commissions_order_item_id_fkey;
alter table commissions drop constraint commissions_statement_fk;
alter table customers drop constraint customers_distributor_id_fkey;
alter table customers drop constraint customers_tentative_distributor_id_fkey;
alter table distributors drop constraint distributors_referrer_id_fkey;
alter table documents drop constraint documents_distributor_id_fkey;
alter table grade_changes drop constraint grade_changes_distributor_id_fkey;
alter table ledger_checkpoint_balances drop constraint ledger_checkpoint_balances_account_id_fkey;
alter table order_events drop constraint order_events_order_id_fkey;
alter table order_items drop constraint order_items_order_id_fkey;
alter table orders drop constraint orders_seller_id_fkey;
alter table payout_accounts drop constraint payout_accounts_distributor_id_fkey;
alter table payout_events drop constraint payout_events_payout_id_fkey;
alter table payouts drop constraint payouts_withdrawal_id_fkey;
alter table portal_credentials drop constraint portal_credentials_distributor_id_fkey;
alter table portal_token_uses drop constraint portal_token_uses_distributor_id_fkey;
alter table postings drop constraint postings_account_id_fkey;
alter table postings drop constraint postings_commission_id_fkey;
alter table postings drop constraint postings_journal_id_fkey;
alter table risk_event_lines drop constraint risk_event_lines_commission_id_fkey;
alter table risk_event_lines drop constraint risk_event_lines_event_id_fkey;
alter table sales_monthly drop constraint sales_monthly_distributor_id_fkey;
alter table statements drop constraint statements_distributor_id_fkey;
alter table statements drop constraint statements_run_id_fkey;
alter table visits drop constraint visits_distributor_id_fkey;
alter table withdrawals drop constraint withdrawals_distributor_id_fkey;
alter table withdrawals drop constraint withdrawals_payout_account_id_fkey;
-- primary keys and unique constraints and indexes lead with the distribution column
alter table accounts drop constraint accounts_pkey;
alter table accounts add constraint accounts_pkey primary key (tenant_id, id);
alter table admin_users drop constraint admin_users_pkey;
alter table admin_users add constraint admin_users_pkey primary key (tenant_id, id);
alter table analytics_distributor_activity drop constraint analytics_distributor_activity_pkey;
alter table analytics_distributor_activity add constraint analytics_distributor_activity_pkey primary key (tenant_id, distributor_id);
alter table analytics_distributor_daily drop constraint analytics_distributor_daily_pkey;
alter table analytics_distributor_daily add constraint analytics_distributor_daily_pkey primary key (tenant_id, distributor_id, day) include (orders, sales_fen, commission_fen);
alter table analytics_distributor_monthly drop constraint analytics_distributor_monthly_pkey;
alter table analytics_distributor_monthly add constraint analytics_distributor_monthly_pkey primary key (tenant_id, distributor_id, month) include (orders, sales_fen, commission_fen);
alter table api_keys drop constraint api_keys_pkey;
alter table api_keys add constraint api_keys_pkey primary key (tenant_id, id);
alter table audit_log drop constraint audit_log_pkey;
alter table audit_log add constraint audit_log_pkey primary key (chain, id);
alter table binding_events drop constraint binding_events_pkey;
alter table binding_events add constraint binding_events_pkey primary key (tenant_id, id);
alter table commission_daily drop constraint commission_daily_pkey;
alter table commission_daily add constraint commission_daily_pkey primary key (tenant_id, distributor_id, day);
alter table commissions drop constraint commissions_pkey;
alter table commissions add constraint commissions_pkey primary key (tenant_id, id);
alter table distributors drop constraint distributors_pkey;
alter table distributors add constraint distributors_pkey primary key (tenant_id, id);
alter table documents drop constraint documents_pkey;
alter table documents add constraint documents_pkey primary key (tenant_id, id);
alter table grade_changes drop constraint grade_changes_pkey;
alter table grade_changes add constraint grade_changes_pkey primary key (tenant_id, id);
alter table ingest_deliveries drop constraint ingest_deliveries_pkey;
alter table ingest_deliveries add constraint ingest_deliveries_pkey primary key (tenant_id, id);
alter table jobs drop constraint jobs_pkey;
alter table jobs add constraint jobs_pkey primary key (tenant_id, id);
alter table journal_entries drop constraint journal_entries_pkey;
alter table journal_entries add constraint journal_entries_pkey primary key (tenant_id, id);
alter table landing_domains drop constraint landing_domains_pkey;
alter table landing_domains add constraint landing_domains_pkey primary key (tenant_id, id);
alter table ledger_checkpoint_balances drop constraint ledger_checkpoint_balances_pkey;
alter table ledger_checkpoint_balances add constraint ledger_checkpoint_balances_pkey primary key (tenant_id, account_id);
alter table order_events drop constraint order_events_pkey;
alter table order_events add constraint order_events_pkey primary key (tenant_id, id);
alter table order_items drop constraint order_items_order_id_position_key;
alter table order_items add constraint order_items_order_id_position_key unique (tenant_id, order_id, position);
alter table order_items drop constraint order_items_pkey;
alter table order_items add constraint order_items_pkey primary key (tenant_id, id);
alter table orders drop constraint orders_pkey;
alter table orders add constraint orders_pkey primary key (tenant_id, id);
alter table payout_accounts drop constraint payout_accounts_pkey;
alter table payout_accounts add constraint payout_accounts_pkey primary key (tenant_id, id);
alter table payout_events drop constraint payout_events_pkey;
alter table payout_events add constraint payout_events_pkey primary key (tenant_id, id);
alter table payouts drop constraint payouts_out_no_key;
alter table payouts add constraint payouts_out_no_key unique (tenant_id, out_no);
alter table payouts drop constraint payouts_pkey;
alter table payouts add constraint payouts_pkey primary key (tenant_id, id);
alter table payouts drop constraint payouts_withdrawal_id_key;
alter table payouts add constraint payouts_withdrawal_id_key unique (tenant_id, withdrawal_id);
alter table portal_applications drop constraint portal_applications_pkey;
alter table portal_applications add constraint portal_applications_pkey primary key (tenant_id, id);
alter table postings drop constraint postings_pkey;
alter table postings add constraint postings_pkey primary key (tenant_id, id);
alter table program_proposals drop constraint program_proposals_pkey;
alter table program_proposals add constraint program_proposals_pkey primary key (tenant_id, id);
alter table risk_event_lines drop constraint risk_event_lines_pkey;
alter table risk_event_lines add constraint risk_event_lines_pkey primary key (tenant_id, event_id, commission_id);
alter table risk_events drop constraint risk_events_pkey;
alter table risk_events add constraint risk_events_pkey primary key (tenant_id, id);
alter table sales_monthly drop constraint sales_monthly_pkey;
alter table sales_monthly add constraint sales_monthly_pkey primary key (tenant_id, distributor_id, month);
alter table sessions drop constraint sessions_pkey;
alter table sessions add constraint sessions_pkey primary key (tenant_id, id);
alter table sessions drop constraint sessions_token_hash_key;
alter table sessions add constraint sessions_token_hash_key unique (tenant_id, token_hash);
alter table settlement_runs drop constraint settlement_runs_pkey;
alter table settlement_runs add constraint settlement_runs_pkey primary key (tenant_id, id);
alter table statements drop constraint statements_pkey;
alter table statements add constraint statements_pkey primary key (tenant_id, id);
alter table visits drop constraint visits_pkey;
alter table visits add constraint visits_pkey primary key (tenant_id, id);
alter table webhook_secrets drop constraint webhook_secrets_pkey;
alter table webhook_secrets add constraint webhook_secrets_pkey primary key (tenant_id, id);
alter table withdrawals drop constraint withdrawals_pkey;
alter table withdrawals add constraint withdrawals_pkey primary key (tenant_id, id);
drop index commissions_accrual_unique;
create unique index commissions_accrual_unique on commissions (tenant_id, order_item_id, level) where (kind = 'commission');
drop index distributors_invite_code;
create unique index distributors_invite_code on distributors (tenant_id, invite_code);
drop index journal_entries_payout_final;
create unique index journal_entries_payout_final on journal_entries (tenant_id, ref_id) where ((ref_type = 'payout') and (kind = any (array['payout_success', 'payout_fail'])));
drop index journal_entries_withdrawal_request;
create unique index journal_entries_withdrawal_request on journal_entries (tenant_id, ref_id) where ((ref_type = 'withdrawal') and (kind = 'withdraw_request'));
alter table analytics_distributor_activity add constraint analytics_distributor_activity_distributor_id_fkey foreign key (tenant_id, distributor_id) references distributors (tenant_id, id);
alter table analytics_distributor_daily add constraint analytics_distributor_daily_distributor_id_fkey foreign key (tenant_id, distributor_id) references distributors (tenant_id, id);
alter table analytics_distributor_monthly add constraint analytics_distributor_monthly_distributor_id_fkey foreign key (tenant_id, distributor_id) references distributors (tenant_id, id);
alter table binding_events add constraint binding_events_from_distributor_id_fkey foreign key (tenant_id, from_distributor_id) references distributors (tenant_id, id);
alter table binding_events add constraint binding_events_to_distributor_id_fkey foreign key (tenant_id, to_distributor_id) references distributors (tenant_id, id);
alter table commission_daily add constraint commission_daily_distributor_id_fkey foreign key (tenant_id, distributor_id) references distributors (tenant_id, id);
alter table commissions add constraint commissions_beneficiary_id_fkey foreign key (tenant_id, beneficiary_id) references distributors (tenant_id, id);
alter table commissions add constraint commissions_clawback_of_fkey foreign key (tenant_id, clawback_of) references commissions (tenant_id, id);
alter table commissions add constraint commissions_order_id_fkey foreign key (tenant_id, order_id) references orders (tenant_id, id);
alter table commissions add constraint commissions_order_item_id_fkey foreign key (tenant_id, order_item_id) references order_items (tenant_id, id);
alter table commissions add constraint commissions_statement_fk foreign key (tenant_id, statement_id) references statements (tenant_id, id);
alter table customers add constraint customers_distributor_id_fkey foreign key (tenant_id, distributor_id) references distributors (tenant_id, id);
alter table customers add constraint customers_tentative_distributor_id_fkey foreign key (tenant_id, tentative_distributor_id) references distributors (tenant_id, id);
alter table distributors add constraint distributors_referrer_id_fkey foreign key (tenant_id, referrer_id) references distributors (tenant_id, id);
alter table documents add constraint documents_distributor_id_fkey foreign key (tenant_id, distributor_id) references distributors (tenant_id, id);
alter table grade_changes add constraint grade_changes_distributor_id_fkey foreign key (tenant_id, distributor_id) references distributors (tenant_id, id);
alter table ledger_checkpoint_balances add constraint ledger_checkpoint_balances_account_id_fkey foreign key (tenant_id, account_id) references accounts (tenant_id, id);
alter table order_events add constraint order_events_order_id_fkey foreign key (tenant_id, order_id) references orders (tenant_id, id);
alter table order_items add constraint order_items_order_id_fkey foreign key (tenant_id, order_id) references orders (tenant_id, id);
alter table orders add constraint orders_seller_id_fkey foreign key (tenant_id, seller_id) references distributors (tenant_id, id);
alter table payout_accounts add constraint payout_accounts_distributor_id_fkey foreign key (tenant_id, distributor_id) references distributors (tenant_id, id);
alter table payout_events add constraint payout_events_payout_id_fkey foreign key (tenant_id, payout_id) references payouts (tenant_id, id);
alter table payouts add constraint payouts_withdrawal_id_fkey foreign key (tenant_id, withdrawal_id) references withdrawals (tenant_id, id);
alter table portal_credentials add constraint portal_credentials_distributor_id_fkey foreign key (tenant_id, distributor_id) references distributors (tenant_id, id);
alter table portal_token_uses add constraint portal_token_uses_distributor_id_fkey foreign key (tenant_id, distributor_id) references distributors (tenant_id, id);
alter table postings add constraint postings_account_id_fkey foreign key (tenant_id, account_id) references accounts (tenant_id, id);
alter table postings add constraint postings_commission_id_fkey foreign key (tenant_id, commission_id) references commissions (tenant_id, id);
alter table postings add constraint postings_journal_id_fkey foreign key (tenant_id, journal_id) references journal_entries (tenant_id, id);
alter table risk_event_lines add constraint risk_event_lines_commission_id_fkey foreign key (tenant_id, commission_id) references commissions (tenant_id, id);
alter table risk_event_lines add constraint risk_event_lines_event_id_fkey foreign key (tenant_id, event_id) references risk_events (tenant_id, id);
alter table sales_monthly add constraint sales_monthly_distributor_id_fkey foreign key (tenant_id, distributor_id) references distributors (tenant_id, id);
alter table statements add constraint statements_distributor_id_fkey foreign key (tenant_id, distributor_id) references distributors (tenant_id, id);
alter table statements add constraint statements_run_id_fkey foreign key (tenant_id, run_id) references settlement_runs (tenant_id, id);
alter table visits add constraint visits_distributor_id_fkey foreign key (tenant_id, distributor_id) references distributors (tenant_id, id);
alter table withdrawals add constraint withdrawals_distributor_id_fkey foreign key (tenant_id, distributor_id) references distributors (tenant_id, id);
alter table withdrawals add constraint withdrawals_payout_account_id_fkey foreign key (tenant_id, payout_account_id) references payout_accounts (tenant_id, id);

-- step 2: distribute
-- Referenced tables before the tables that reference them; all colocated with accounts.
select create_reference_table('tenants');
select create_distributed_table('accounts', 'tenant_id');
select create_distributed_table('admin_users', 'tenant_id', colocate_with => 'accounts');
select create_distributed_table('analytics_daily', 'tenant_id', colocate_with => 'accounts');
select create_distributed_table('grades', 'tenant_id', colocate_with => 'accounts');
select create_distributed_table('distributors', 'tenant_id', colocate_with => 'accounts');
select create_distributed_table('analytics_distributor_activity', 'tenant_id', colocate_with => 'accounts');
select create_distributed_table('analytics_distributor_daily', 'tenant_id', colocate_with => 'accounts');
select create_distributed_table('analytics_distributor_monthly', 'tenant_id', colocate_with => 'accounts');
select create_distributed_table('analytics_segment_daily', 'tenant_id', colocate_with => 'accounts');
select create_distributed_table('analytics_segment_monthly', 'tenant_id', colocate_with => 'accounts');
select create_distributed_table('api_keys', 'tenant_id', colocate_with => 'accounts');
select create_distributed_table('audit_heads', 'chain', colocate_with => 'accounts');
select create_distributed_table('audit_log', 'chain', colocate_with => 'accounts');
select create_distributed_table('binding_events', 'tenant_id', colocate_with => 'accounts');
select create_distributed_table('commission_daily', 'tenant_id', colocate_with => 'accounts');
select create_distributed_table('orders', 'tenant_id', colocate_with => 'accounts');
select create_distributed_table('order_items', 'tenant_id', colocate_with => 'accounts');
select create_distributed_table('settlement_runs', 'tenant_id', colocate_with => 'accounts');
select create_distributed_table('statements', 'tenant_id', colocate_with => 'accounts');
select create_distributed_table('commissions', 'tenant_id', colocate_with => 'accounts');
select create_distributed_table('customers', 'tenant_id', colocate_with => 'accounts');
select create_distributed_table('documents', 'tenant_id', colocate_with => 'accounts');
select create_distributed_table('grade_changes', 'tenant_id', colocate_with => 'accounts');
select create_distributed_table('idempotency_keys', 'tenant_id', colocate_with => 'accounts');
select create_distributed_table('ingest_deliveries', 'tenant_id', colocate_with => 'accounts');
select create_distributed_table('jobs', 'tenant_id', colocate_with => 'accounts');
select create_distributed_table('journal_entries', 'tenant_id', colocate_with => 'accounts');
select create_distributed_table('landing_domains', 'tenant_id', colocate_with => 'accounts');
select create_distributed_table('ledger_checkpoint_balances', 'tenant_id', colocate_with => 'accounts');
select create_distributed_table('ledger_checkpoints', 'tenant_id', colocate_with => 'accounts');
select create_distributed_table('order_events', 'tenant_id', colocate_with => 'accounts');
select create_distributed_table('payout_accounts', 'tenant_id', colocate_with => 'accounts');
select create_distributed_table('withdrawals', 'tenant_id', colocate_with => 'accounts');
select create_distributed_table('payouts', 'tenant_id', colocate_with => 'accounts');
select create_distributed_table('payout_events', 'tenant_id', colocate_with => 'accounts');
select create_distributed_table('portal_applications', 'tenant_id', colocate_with => 'accounts');
select create_distributed_table('portal_credentials', 'tenant_id', colocate_with => 'accounts');
select create_distributed_table('portal_settings', 'tenant_id', colocate_with => 'accounts');
select create_distributed_table('portal_token_uses', 'tenant_id', colocate_with => 'accounts');
select create_distributed_table('postings', 'tenant_id', colocate_with => 'accounts');
select create_distributed_table('program_proposals', 'tenant_id', colocate_with => 'accounts');
select create_distributed_table('programs', 'tenant_id', colocate_with => 'accounts');
select create_distributed_table('risk_events', 'tenant_id', colocate_with => 'accounts');
select create_distributed_table('risk_event_lines', 'tenant_id', colocate_with => 'accounts');
select create_distributed_table('rule_versions', 'tenant_id', colocate_with => 'accounts');
select create_distributed_table('sales_monthly', 'tenant_id', colocate_with => 'accounts');
select create_distributed_table('sessions', 'tenant_id', colocate_with => 'accounts');
select create_distributed_table('sku_rules', 'tenant_id', colocate_with => 'accounts');
select create_distributed_table('visits', 'tenant_id', colocate_with => 'accounts');
select create_distributed_table('webhook_secrets', 'tenant_id', colocate_with => 'accounts');
