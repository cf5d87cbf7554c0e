import { createHash } from 'node:crypto';
import type { Selectable } from 'kysely';
import type { Db, Executor } from '../../db/database.ts';
import { advisoryXactLock, inTransaction } from '../../db/database.ts';
import type { Actor } from '../../core/context.ts';
import { AppError, invalid, invalidState, notFound } from '../../core/errors.ts';
import { requirePermission, tenantOf } from '../../core/principal.ts';
import type { DocumentsTable } from '../../db/schema.ts';
import { newDataKey, openBytes, sealBytes, unwrapDataKey, wrapDataKey, type KeyRing } from '../../lib/crypto.ts';
import { newId } from '../../core/ids.ts';
import { safeFileName } from '../../core/text.ts';
import type { FileStorage } from '../../adapters/storage/types.ts';
import type { AuditService } from '../audit/service.ts';
import { documentsRepo } from './repo.ts';

/**
 * Identity documents (ID card photos, business licences) uploaded with an application. They are
 * the most sensitive personal data Fenxiao holds, so:
 * - their type is read from their first bytes against an allow-list (PNG, JPEG, WebP, PDF), never
 *   taken from the client, and a claim that disagrees is refused: an EXE sent as a PDF or HTML
 *   sent as a PNG was stored and served under the claimed type;
 * - they are encrypted at rest by envelope encryption (lib/crypto.ts): a data key per document
 *   seals its bytes, wrapped under the master key in documents.data_key_enc, which key rotation
 *   re-wraps (pii/rotate.ts); the file is bound to its row (the document id is the AAD);
 * - the size of each file, the count and bytes per distributor and per tenant are capped
 *   (a self-registered distributor could otherwise fill the disk or the bucket);
 * - a reviewer may delete one, audited.
 */

export interface DocumentType {
  contentType: string;
  extension: string;
  label: string;
}

const TYPES: readonly (DocumentType & { matches: (b: Buffer) => boolean })[] = [
  {
    contentType: 'image/png',
    extension: 'png',
    label: 'a PNG',
    matches: (b) => b.length >= 8 && b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])),
  },
  { contentType: 'image/jpeg', extension: 'jpg', label: 'a JPEG', matches: (b) => b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff },
  {
    contentType: 'image/webp',
    extension: 'webp',
    label: 'a WebP image',
    matches: (b) => b.length >= 12 && b.toString('latin1', 0, 4) === 'RIFF' && b.toString('latin1', 8, 12) === 'WEBP',
  },
  { contentType: 'application/pdf', extension: 'pdf', label: 'a PDF', matches: (b) => b.length >= 5 && b.toString('latin1', 0, 5) === '%PDF-' },
];

/** The allowed content types, for messages and OpenAPI. */
export const DOCUMENT_CONTENT_TYPES = TYPES.map((t) => t.contentType);

/** What a file is, by its magic bytes, among the allowed types; null for anything else. */
export function sniffDocumentType(data: Buffer): DocumentType | null {
  const t = TYPES.find((x) => x.matches(data));
  return t ? { contentType: t.contentType, extension: t.extension, label: t.label } : null;
}

/**
 * Claims that say nothing, where the bytes decide alone: a browser that does not know the type
 * sends application/octet-stream, and a part without a Content-Type reads as text/plain (RFC 7578).
 */
const NO_CLAIM = new Set(['', 'application/octet-stream', 'binary/octet-stream', 'text/plain']);

/** The type of an upload, or why it is refused (415): not an allowed type, or not what it claims to be. */
export function documentTypeOf(data: Buffer, claimed: string): DocumentType {
  const sniffed = sniffDocumentType(data);
  const claim = (claimed.split(';')[0] ?? '').trim().toLowerCase();
  if (!sniffed)
    throw new AppError('unsupported_media_type', {
      en: `documents must be PNG, JPEG, WebP or PDF files (${DOCUMENT_CONTENT_TYPES.join(', ')}); this file is none of them`,
      zh: `资料文件须为 PNG、JPEG、WebP 或 PDF（${DOCUMENT_CONTENT_TYPES.join(', ')}）；此文件都不是`,
    });
  if (!NO_CLAIM.has(claim) && claim !== sniffed.contentType && !(claim === 'image/jpg' && sniffed.contentType === 'image/jpeg')) {
    throw new AppError('unsupported_media_type', {
      en: `the file is ${sniffed.label}, not ${claim.slice(0, 100)}`,
      zh: `文件实际是 ${sniffed.label}，而不是 ${claim.slice(0, 100)}`,
    });
  }
  return sniffed;
}

/** Caps on documents; FENXIAO_DOCUMENT_* (config.ts, docs/configuration.md). */
export interface DocumentLimits {
  /** Bytes per file. */
  maxBytes: number;
  /** Documents one distributor may hold, and their bytes in all. */
  perDistributor: number;
  bytesPerDistributor: number;
  /** Documents one tenant may hold, and their bytes in all. */
  perTenant: number;
  bytesPerTenant: number;
}

export const DEFAULT_DOCUMENT_LIMITS: DocumentLimits = {
  maxBytes: 10 * 1024 * 1024,
  perDistributor: 10,
  bytesPerDistributor: 30 * 1024 * 1024,
  perTenant: 100_000,
  bytesPerTenant: 20 * 1024 * 1024 * 1024,
};

export type DocumentRow = Selectable<DocumentsTable>;

export interface DocumentView {
  id: string;
  distributor_id: string;
  kind: string;
  filename: string;
  content_type: string;
  size_bytes: number;
  sha256: string;
  created_at: string;
}

export function documentView(r: DocumentRow): DocumentView {
  return {
    id: r.id,
    distributor_id: r.distributor_id,
    kind: r.kind,
    filename: r.filename,
    content_type: r.content_type,
    size_bytes: Number(r.size_bytes),
    sha256: r.sha256,
    created_at: r.created_at.toISOString(),
  };
}

interface Usage {
  distributorCount: number;
  distributorBytes: number;
  tenantCount: number;
  tenantBytes: number;
}

/** Why one more document of `size` bytes does not fit, or null. */
export function quotaRefusal(limits: DocumentLimits, usage: Usage, size: number): AppError | null {
  const mb = (n: number) => (n >= 1024 * 1024 ? ` (${Math.round(n / 1024 / 1024)} MB)` : '');
  if (usage.distributorCount + 1 > limits.perDistributor)
    return new AppError('limit_exceeded', {
      en: `a distributor holds at most ${limits.perDistributor} documents: a reviewer deletes one before another is uploaded`,
      zh: `每位分销员至多保存 ${limits.perDistributor} 份资料文件：须由审核人删除一份后才能再上传`,
    });
  if (usage.distributorBytes + size > limits.bytesPerDistributor)
    return new AppError('limit_exceeded', {
      en: `a distributor's documents take at most ${limits.bytesPerDistributor} bytes${mb(limits.bytesPerDistributor)} in all; ${usage.distributorBytes} are taken`,
      zh: `每位分销员的资料文件合计至多 ${limits.bytesPerDistributor} 字节${mb(limits.bytesPerDistributor)}；已使用 ${usage.distributorBytes} 字节`,
    });
  if (usage.tenantCount + 1 > limits.perTenant)
    return new AppError('limit_exceeded', {
      en: `this merchant holds at most ${limits.perTenant} documents`,
      zh: `本商户至多保存 ${limits.perTenant} 份资料文件`,
    });
  if (usage.tenantBytes + size > limits.bytesPerTenant)
    return new AppError('limit_exceeded', {
      en: `this merchant's documents take at most ${limits.bytesPerTenant} bytes${mb(limits.bytesPerTenant)} in all`,
      zh: `本商户的资料文件合计至多 ${limits.bytesPerTenant} 字节${mb(limits.bytesPerTenant)}`,
    });
  return null;
}

/** A sealed file's storage key: the `.fxe` suffix tells a sealed file from an earlier plaintext one in a listing of the bucket. */
const sealedKey = (tenantId: string, distributorId: string, docId: string) => `${tenantId}/${distributorId}/${docId}.fxe`;

export function createDocuments(deps: {
  db: Db;
  audit: AuditService;
  keyring: KeyRing;
  storage: FileStorage;
  limits: DocumentLimits;
  /** The distributor, within the tenant (404 otherwise). */
  loadDistributor: (ex: Executor, tenantId: string, id: string) => Promise<{ status: string }>;
}) {
  const { db, audit, keyring, storage, limits } = deps;

  async function usage(ex: Executor, tenantId: string, distributorId: string): Promise<Usage> {
    const row = await documentsRepo.usage(ex, tenantId, distributorId);
    if (!row) throw new Error('an aggregate query returned no row');
    return { distributorCount: Number(row.dn), distributorBytes: Number(row.db), tenantCount: Number(row.tn), tenantBytes: Number(row.tb) };
  }

  function authorizeOwn(actor: Actor, distributorId: string, permission: 'read' | 'distributors:write') {
    if (actor.principal.kind === 'distributor') {
      if (actor.principal.distributorId !== distributorId) throw notFound('distributor');
    } else {
      requirePermission(actor.principal, permission);
    }
  }

  /** The bytes of a stored document: opened with its data key, or as stored by an earlier version. */
  async function contentOf(row: DocumentRow): Promise<Buffer> {
    const stored = await storage.get(row.storage_key);
    if (row.data_key_enc === null) return stored;
    return openBytes(unwrapDataKey(keyring, row.data_key_enc), stored, row.id);
  }

  async function readOf(
    actor: Actor,
    tenantId: string,
    docId: string,
    distributorId: string | null,
  ): Promise<{ meta: DocumentView; data: Buffer; contentType: string }> {
    const row = await documentsRepo.find(db, tenantId, docId);
    if (!row || (distributorId !== null && row.distributor_id !== distributorId)) throw notFound('document');
    const data = await contentOf(row);
    await audit.record(db, actor, {
      action: 'document.read',
      targetType: 'distributor',
      targetId: row.distributor_id,
      after: { document_id: row.id, kind: row.kind },
    });
    // A document an earlier version stored under its claimed type is served as what its bytes are.
    const contentType = sniffDocumentType(data)?.contentType === row.content_type ? row.content_type : 'application/octet-stream';
    return { meta: documentView(row), data, contentType };
  }

  return {
    limits,

    async upload(actor: Actor, distributorId: string, file: { kind: string; filename: string; claimedType: string; data: Buffer }): Promise<DocumentView> {
      authorizeOwn(actor, distributorId, 'distributors:write');
      const tenantId = tenantOf(actor.principal);
      if (file.data.length === 0) throw invalid({ en: 'the file is empty', zh: '文件为空' });
      if (file.data.length > limits.maxBytes)
        throw new AppError('payload_too_large', { en: `documents are at most ${limits.maxBytes} bytes`, zh: `资料文件至多 ${limits.maxBytes} 字节` });
      const type = documentTypeOf(file.data, file.claimedType);
      if ((await deps.loadDistributor(db, tenantId, distributorId)).status === 'erased')
        throw invalidState({ en: 'an erased distributor takes no documents', zh: '已删除个人信息的分销员不能再上传资料文件' });
      // Refused before a byte is written; checked again under the lock below.
      const early = quotaRefusal(limits, await usage(db, tenantId, distributorId), file.data.length);
      if (early) throw early;

      const docId = newId('doc');
      const key = sealedKey(tenantId, distributorId, docId);
      const sha256 = createHash('sha256').update(file.data).digest('hex');
      const dataKey = newDataKey();
      await storage.put(key, sealBytes(dataKey, file.data, docId), 'application/octet-stream');
      try {
        return await inTransaction(db, async (tx) => {
          // One upload of a tenant at a time past this point, so concurrent uploads cannot all
          // pass the caps (uploads are rare; the lock is held for two short statements).
          await advisoryXactLock(tx, 'documents', tenantId);
          const refusal = quotaRefusal(limits, await usage(tx, tenantId, distributorId), file.data.length);
          if (refusal) throw refusal;
          const row = await documentsRepo.insert(tx, {
            id: docId,
            tenant_id: tenantId,
            distributor_id: distributorId,
            kind: file.kind,
            filename: safeFileName(file.filename, type.extension),
            content_type: type.contentType,
            size_bytes: file.data.length,
            sha256,
            storage_key: key,
            data_key_enc: wrapDataKey(keyring, dataKey),
          });
          // Not the file name: an applicant may name a file after itself, and the audit log outlives erasure.
          await audit.record(tx, actor, {
            action: 'document.upload',
            targetType: 'distributor',
            targetId: distributorId,
            after: { document_id: docId, kind: file.kind, content_type: type.contentType, size_bytes: file.data.length, sha256 },
          });
          return documentView(row);
        });
      } catch (err) {
        await storage.delete(key).catch(() => {});
        throw err;
      }
    },

    async list(actor: Actor, distributorId: string): Promise<DocumentView[]> {
      authorizeOwn(actor, distributorId, 'read');
      const tenantId = tenantOf(actor.principal);
      await deps.loadDistributor(db, tenantId, distributorId);
      const rows = await documentsRepo.listOf(db, tenantId, distributorId);
      return rows.map(documentView);
    },

    /** The document itself, for a reviewer; every read is audited. */
    async read(actor: Actor, docId: string): Promise<{ meta: DocumentView; data: Buffer; contentType: string }> {
      requirePermission(actor.principal, 'distributors:write');
      return readOf(actor, tenantOf(actor.principal), docId, null);
    },

    /** A distributor's documents (their descriptions), for a module that refers to them by id. */
    async ownedBy(tenantId: string, distributorId: string): Promise<DocumentView[]> {
      return (await documentsRepo.listOf(db, tenantId, distributorId)).map(documentView);
    },

    /**
     * One of a distributor's documents, read for a caller another module has authorised (an agent
     * application's reviewer or its applicant); audited like every read. Another distributor's
     * document is not found.
     */
    readOwnedBy: (actor: Actor, tenantId: string, distributorId: string, docId: string) => readOf(actor, tenantId, docId, distributorId),
    /**
     * A reviewer deletes a document (a wrong or unreadable scan, data not needed any more):
     * the row and with it the wrapped data key go in one audited transaction, then the file.
     * Should removing the file fail, what is left cannot be opened: its key is gone.
     */
    async remove(actor: Actor, docId: string, reason: string | undefined): Promise<void> {
      requirePermission(actor.principal, 'distributors:write');
      const tenantId = tenantOf(actor.principal);
      const key = await inTransaction(db, async (tx) => {
        const row = await documentsRepo.findForUpdate(tx, tenantId, docId);
        if (!row) throw notFound('document');
        await documentsRepo.delete(tx, docId);
        await audit.record(tx, actor, {
          action: 'document.delete',
          targetType: 'distributor',
          targetId: row.distributor_id,
          before: { document_id: row.id, kind: row.kind, content_type: row.content_type, size_bytes: Number(row.size_bytes), sha256: row.sha256 },
          ...(reason ? { reason } : {}),
        });
        return row.storage_key;
      });
      await storage.delete(key).catch(() => {});
    },

    /** Encrypts up to `limit` documents an earlier version stored in plaintext (encryptLegacyDocuments). */
    encryptLegacy: (limit: number) => encryptLegacyDocuments({ db, storage, keyring }, limit),

    /** Documents still in plaintext (`fenxiao pii status`). */
    plaintextCount: () => plaintextDocumentCount(db),
  };
}

/**
 * Encrypts up to `limit` documents an earlier version stored in plaintext: each is sealed under a
 * new data key to a new storage key, the row switched to it in a transaction that holds the row
 * (SKIP LOCKED: processes share the work), then the plaintext file is removed. Run by the
 * scheduler, `fenxiao migrate` and `fenxiao pii rotate-key`; idempotent (a crash leaves at most a
 * sealed file the next pass overwrites). A file the storage cannot give back is counted as failed
 * and left for the next pass; the document stays readable as it was.
 */
export async function encryptLegacyDocuments(
  deps: { db: Db; storage: FileStorage; keyring: KeyRing },
  limit: number,
): Promise<{ encrypted: number; failed: number; failed_ids: string[] }> {
  const { db, storage, keyring } = deps;
  const out = { encrypted: 0, failed: 0, failed_ids: [] as string[] };
  let after = '';
  while (out.encrypted + out.failed < limit) {
    const { rows, plaintextKeys } = await inTransaction(db, async (tx) => {
      const rows = await documentsRepo.lockPlaintext(tx, after, Math.min(20, limit - out.encrypted - out.failed));
      const plaintextKeys: string[] = [];
      for (const r of rows) {
        let plain: Buffer;
        try {
          plain = await storage.get(r.storage_key);
        } catch {
          out.failed++;
          if (out.failed_ids.length < 20) out.failed_ids.push(r.id);
          continue;
        }
        const dataKey = newDataKey();
        const key = sealedKey(r.tenant_id, r.distributor_id, r.id);
        await storage.put(key, sealBytes(dataKey, plain, r.id), 'application/octet-stream');
        await documentsRepo.setSealed(tx, r.id, { data_key_enc: wrapDataKey(keyring, dataKey), storage_key: key });
        if (key !== r.storage_key) plaintextKeys.push(r.storage_key);
        out.encrypted++;
      }
      return { rows, plaintextKeys };
    });
    for (const k of plaintextKeys) await storage.delete(k).catch(() => {});
    const last = rows.at(-1);
    if (!last) break;
    after = last.id;
  }
  return out;
}

/** Documents still in plaintext. */
export async function plaintextDocumentCount(db: Db): Promise<number> {
  return documentsRepo.plaintextCount(db);
}

export type Documents = ReturnType<typeof createDocuments>;
