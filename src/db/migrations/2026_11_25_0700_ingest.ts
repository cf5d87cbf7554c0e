import { sql, type Kysely } from 'kysely';

/**
 * Orders from merchants' systems: each tenant's webhook signing secrets (one per format), and a
 * record of every authenticated webhook delivery for support and replay.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
-- HMAC keys must be read back to verify a signature, so they are encrypted (KeyRing), not hashed.
-- One row per tenant and format; after a rotation the previous secret still verifies until
-- previous_valid_until, so deliveries signed (or retried) with it are not lost meanwhile.
-- A one-column key, so that the key ring's rotation (pii/rotate.ts) can rewrite the ciphertexts.
create table webhook_secrets (
  id text primary key,
  tenant_id text not null references tenants(id),
  format text not null check (format in ('generic', 'shopify', 'woocommerce')),
  secret_enc text not null,
  -- the secret's last four characters, to tell which one is configured
  hint text not null,
  created_at timestamptz not null,
  previous_secret_enc text,
  previous_valid_until timestamptz,
  unique (tenant_id, format)
);

-- One row per authenticated delivery (a bad signature stores nothing). The unique key is the
-- platform's delivery id (X-Shopify-Webhook-Id, X-WC-Webhook-Delivery-ID, X-Fenxiao-Delivery-Id
-- or the signature), so a redelivery is answered from here. The raw body is kept encrypted
-- (it carries buyers' personal data) for replay; 'deferred' events wait here for their order.
create table ingest_deliveries (
  id text primary key,
  tenant_id text not null references tenants(id),
  format text not null check (format in ('generic', 'shopify', 'woocommerce')),
  topic text,
  delivery_id text not null,
  outcome text not null check (outcome in ('applied', 'duplicate', 'ignored', 'deferred', 'rejected', 'failed')),
  reason text,
  order_external_id text,
  attempts integer not null default 1,
  payload_enc text,
  received_at timestamptz not null,
  updated_at timestamptz not null,
  unique (tenant_id, format, delivery_id)
);
-- ids are time-ordered (ULIDs): the newest first, page by id.
create index ingest_deliveries_recent on ingest_deliveries (tenant_id, id);
create index ingest_deliveries_deferred on ingest_deliveries (tenant_id, format, order_external_id) where outcome = 'deferred';
`.execute(db);
}
