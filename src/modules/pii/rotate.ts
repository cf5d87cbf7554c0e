import type { Db } from '../../db/database.ts';
import { inTransaction } from '../../db/database.ts';
import type { KeyRing } from '../../lib/crypto.ts';
import { identityOf, type PayoutAccountInput } from '../withdrawals/accounts.ts';
import { normalizePhone } from './fields.ts';
import { idNumberProblem, normalizeIdNumber } from './idnumber.ts';
import { rotationRepo, type EncryptedColumns } from './repo.ts';

/**
 * Every column Fenxiao encrypts with the key ring, and the blind indexes computed from them.
 * A module that adds an encrypted column adds it here, so that key rotation rewrites it too.
 * (A blind index with no ciphertext beside it cannot be recomputed: keep the value encrypted
 * next to any index that must survive a rotation.)
 */
export interface EncryptedTable extends EncryptedColumns {
  /** Blind indexes recomputed from the plaintexts, under the current key. */
  indexes?: (plain: Record<string, string | null>, keyring: KeyRing) => Record<string, string | null>;
}

export const ENCRYPTED_TABLES: readonly EncryptedTable[] = [
  {
    table: 'distributors',
    key: 'id',
    columns: ['phone_enc', 'real_name_enc', 'id_number_enc', 'contact_enc'],
    indexes: (p, k) => {
      const id = p.id_number_enc ? normalizeIdNumber(p.id_number_enc) : null;
      return {
        phone_bidx: p.phone_enc ? k.blindIndex(normalizePhone(p.phone_enc)) : null,
        id_number_bidx: id && idNumberProblem(id) === null ? k.blindIndex(id) : null,
      };
    },
  },
  {
    table: 'payout_accounts',
    key: 'id',
    columns: ['details_enc'],
    indexes: (p, k): Record<string, string | null> =>
      p.details_enc ? { identity_bidx: k.blindIndex(identityOf(JSON.parse(p.details_enc) as PayoutAccountInput)) } : {},
  },
  { table: 'portal_settings', key: 'tenant_id', columns: ['signing_secret_enc'] },
  // Portal applications waiting for their phone's code (at most ten minutes, pruned after a day).
  {
    table: 'portal_applications',
    key: 'id',
    columns: ['payload_enc'],
    indexes: (p, k): Record<string, string | null> =>
      p.payload_enc ? { phone_bidx: k.blindIndex(normalizePhone((JSON.parse(p.payload_enc) as { phone: string }).phone)) } : {},
  },
  // Webhook signing secrets, and raw webhook deliveries (they carry buyers' personal data).
  { table: 'webhook_secrets', key: 'id', columns: ['secret_enc', 'previous_secret_enc'] },
  { table: 'ingest_deliveries', key: 'id', columns: ['payload_enc'] },
  // Identity documents: each file's data key, wrapped under the master key. Rotation re-wraps the
  // 32-byte key; the file itself, sealed under that key, stays as it is (envelope encryption).
  { table: 'documents', key: 'id', columns: ['data_key_enc'] },
  // WeChat: the official account's secret, and openids linked to distributors (found by blind index).
  { table: 'wechat_settings', key: 'tenant_id', columns: ['app_secret_enc'] },
  {
    table: 'wechat_identities',
    key: 'id',
    columns: ['openid_enc', 'nickname_enc'],
    indexes: (p, k): Record<string, string | null> => (p.openid_enc ? { openid_bidx: k.blindIndex(p.openid_enc) } : {}),
  },
];

export interface RotationTableReport {
  table: string;
  /** Rows with a ciphertext under another key when the table's pass began. */
  stale: number;
  rotated: number;
  /** Rows changed by the application between read and write (they were written under the current key). */
  changed: number;
  /** Rows with a ciphertext no configured key opens: left as they are. */
  failed: number;
  failed_ids: string[];
}

export interface RotationReport {
  kid: string;
  tables: RotationTableReport[];
  ok: boolean;
}

/** The tables of the registry this database has (a module's migration may not have run here). */
async function present(db: Db, tables: readonly EncryptedTable[]): Promise<EncryptedTable[]> {
  const out: EncryptedTable[] = [];
  for (const t of tables) if (await rotationRepo.tableExists(db, t.table)) out.push(t);
  return out;
}

/** A row's key column: the primary key, never null. */
function keyOf(row: Record<string, string | null>, key: string): string {
  const v = row[key];
  if (v == null) throw new Error(`a row without its key ${key}`);
  return v;
}

/** Where a rotation reports its rows done, table by table (the CLI passes its progress line). */
export interface RotationProgress {
  update(done: number): void;
  done(message?: string): void;
}

/**
 * Rewrites every ciphertext not under the key ring's current key, and recomputes the blind
 * indexes beside it, table by table in key order, a batch per transaction.
 *
 * Idempotent and resumable: a row is selected only while one of its ciphertexts names another key,
 * so a second run (or one after a crash) only does what is left. Each row is written with a
 * compare-and-set on the ciphertexts it read, so a value the application changed meanwhile is
 * kept. Run it once every process has the new FENXIAO_MASTER_KEY and the old one in
 * FENXIAO_PREVIOUS_MASTER_KEYS: lookups by blind index try every configured key until it is done.
 */
export async function rotateKeys(
  db: Db,
  keyring: KeyRing,
  options: {
    batchSize?: number;
    tables?: readonly EncryptedTable[];
    progress?: (label: string, total: number) => RotationProgress;
  } = {},
): Promise<RotationReport> {
  const batchSize = options.batchSize ?? 500;
  const reports: RotationTableReport[] = [];
  for (const t of await present(db, options.tables ?? ENCRYPTED_TABLES)) {
    const report: RotationTableReport = {
      table: t.table,
      stale: await rotationRepo.countStale(db, t, keyring.currentKid),
      rotated: 0,
      changed: 0,
      failed: 0,
      failed_ids: [],
    };
    reports.push(report);
    const progress = options.progress?.(`re-encrypt ${t.table}`, report.stale);
    let after: string | null = null;
    for (;;) {
      const page = await rotationRepo.stalePage(db, t, keyring.currentKid, after, batchSize);
      const last = page.at(-1);
      if (!last) break;
      after = keyOf(last, t.key);
      await inTransaction(db, async (tx) => {
        for (const row of page) {
          const plain: Record<string, string | null> = {};
          try {
            for (const c of t.columns) {
              const text = row[c];
              plain[c] = text ? keyring.decrypt(text) : null;
            }
          } catch {
            report.failed++;
            if (report.failed_ids.length < 20) report.failed_ids.push(keyOf(row, t.key));
            continue;
          }
          const set: Record<string, string | null> = {};
          for (const c of t.columns) {
            const text = row[c];
            const value = plain[c];
            set[c] = text && keyring.isStale(text) && value != null ? keyring.encrypt(value) : (text ?? null);
          }
          Object.assign(set, t.indexes?.(plain, keyring) ?? {});
          if (await rotationRepo.rewriteIfUnchanged(tx, t, row, set)) report.rotated++;
          else report.changed++;
        }
      });
      progress?.update(report.rotated + report.changed + report.failed);
    }
    progress?.done(report.failed ? `${report.failed} row(s) no configured key opens` : undefined);
  }
  return { kid: keyring.currentKid, tables: reports, ok: reports.every((r) => r.failed === 0) };
}

/** Ciphertexts still under another key than the current one, per table (0 everywhere: rotation done). */
export async function staleCounts(db: Db, keyring: KeyRing, tables: readonly EncryptedTable[] = ENCRYPTED_TABLES): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of await present(db, tables)) {
    out[t.table] = await rotationRepo.countStale(db, t, keyring.currentKid);
  }
  return out;
}
