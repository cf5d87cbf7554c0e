import type { Db, Executor } from '../../db/database.ts';
import { inTransaction } from '../../db/database.ts';
import type { Actor, Clock } from '../../core/context.ts';
import { AppError, conflict, invalid, notFound } from '../../core/errors.ts';
import { requirePermission, tenantOf, type Principal } from '../../core/principal.ts';
import type { ApiKeyScope } from '../../db/schema.ts';
import { newId, ulid } from '../../core/ids.ts';
import { randomToken, safeEqual, sha256Hex } from '../../lib/crypto.ts';
import type { AuditService } from '../audit/service.ts';
import { tenantsRepo } from './repo.ts';
import { isTenantId, normalizeSlug, randomSlug, slugFromName } from './slug.ts';
import { zhStatus } from '../../core/error-text.ts';

/** `fxk_` + the key's ulid (26) + a random secret. Only the secret's hash is stored. */
const KEY_PREFIX = 'fxk_';

export function formatApiKey(keyId: string, secret: string): string {
  return KEY_PREFIX + keyId.slice('key_'.length) + secret;
}

export function parseApiKey(token: string): { keyId: string; secret: string } | null {
  if (!token.startsWith(KEY_PREFIX) || token.length < KEY_PREFIX.length + 26 + 16) return null;
  const ulidPart = token.slice(KEY_PREFIX.length, KEY_PREFIX.length + 26);
  if (!/^[0-9A-HJKMNP-TV-Z]{26}$/.test(ulidPart)) return null;
  return { keyId: `key_${ulidPart}`, secret: token.slice(KEY_PREFIX.length + 26) };
}

export interface TenantSetup {
  /** Writes the new tenant's program defaults and default grade. */
  initialize(tx: Executor, tenantId: string): Promise<void>;
}

export interface ApiKeyView {
  id: string;
  name: string;
  scope: ApiKeyScope;
  created_at: string;
  revoked_at: string | null;
  last_used_at: string | null;
}

export function createTenantsService(deps: {
  db: Db;
  clock: Clock;
  audit: AuditService;
  setup: TenantSetup[];
  /** Run in the suspending transaction: end what the tenant's people hold (the admin module ends its sessions). */
  onSuspended?: ((tx: Executor, tenantId: string) => Promise<void>)[];
}) {
  const { db, clock, audit } = deps;
  // Verified keys are remembered briefly so that each request does not cost a query; a revoke
  // in this process takes effect at once, in other processes within the TTL.
  const keyCache = new Map<string, { tenantId: string; secretHash: string; scope: ApiKeyScope; until: number }>();
  const KEY_CACHE_MS = 10_000;
  const LAST_USED_RESOLUTION_MS = 60_000;
  const lastTouched = new Map<string, number>();

  /** A tenant this transaction has locked: there, or the database lied. */
  async function mustFindTenant(tx: Executor, tenantId: string) {
    const t = await tenantsRepo.find(tx, tenantId);
    if (!t) throw new Error(`tenant ${tenantId} vanished within its own transaction`);
    return t;
  }

  function keyView(k: { id: string; name: string; scope: ApiKeyScope; created_at: Date; revoked_at: Date | null; last_used_at: Date | null }): ApiKeyView {
    return {
      id: k.id,
      name: k.name,
      scope: k.scope,
      created_at: k.created_at.toISOString(),
      revoked_at: k.revoked_at?.toISOString() ?? null,
      last_used_at: k.last_used_at?.toISOString() ?? null,
    };
  }

  async function issueKey(tx: Executor, tenantId: string, name: string, scope: ApiKeyScope): Promise<{ id: string; api_key: string }> {
    const id = newId('key');
    const secret = randomToken(24);
    await tenantsRepo.insertKey(tx, { id, tenant_id: tenantId, name, secret_hash: sha256Hex(secret), scope });
    return { id, api_key: formatApiKey(id, secret) };
  }

  /** Refuses a write for a tenant that is not active (409): a suspended merchant makes no new credentials. */
  async function requireActive(ex: Executor, tenantId: string): Promise<void> {
    const tenant = await tenantsRepo.find(ex, tenantId);
    if (!tenant) throw notFound('tenant');
    if (tenant.status !== 'active') throw new AppError('invalid_state', { en: 'this tenant is suspended', zh: '该商户已被暂停' });
  }

  async function resolveTenant(idOrSlug: string) {
    const text = idOrSlug.trim();
    if (isTenantId(text)) return tenantsRepo.find(db, text);
    const slug = normalizeSlug(text);
    return slug ? tenantsRepo.findBySlug(db, slug) : undefined;
  }

  async function changeStatus(actor: Actor, tenantId: string, to: 'active' | 'suspended', reason: string | undefined) {
    if (actor.principal.kind !== 'root')
      throw new AppError('forbidden', { en: 'only the platform operator suspends and reactivates tenants', zh: '只有平台运营者可以暂停和恢复商户' });
    const from = to === 'active' ? 'suspended' : 'active';
    const result = await inTransaction(db, async (tx) => {
      const before = await tenantsRepo.findForUpdate(tx, tenantId);
      if (!before) throw notFound('tenant');
      if (before.status === to) throw new AppError('invalid_state', { en: `the tenant is already ${to}`, zh: `该商户已是${zhStatus(to)}状态` });
      if (!(await tenantsRepo.setStatus(tx, tenantId, from, to)))
        throw new AppError('invalid_state', { en: `the tenant is not ${from}`, zh: `该商户不是${zhStatus(from)}状态` });
      if (to === 'suspended') for (const hook of deps.onSuspended ?? []) await hook(tx, tenantId);
      await audit.record(tx, actor, {
        tenantId,
        action: to === 'suspended' ? 'tenant.suspend' : 'tenant.reactivate',
        targetType: 'tenant',
        targetId: tenantId,
        before: { status: before.status },
        after: { status: to },
        reason: reason ?? null,
      });
      const t = await mustFindTenant(tx, tenantId);
      return { id: t.id, name: t.name, status: t.status, created_at: t.created_at.toISOString() };
    });
    // This process stops the tenant's keys at once; other processes within KEY_CACHE_MS.
    for (const [keyId, cached] of keyCache) if (cached.tenantId === tenantId) keyCache.delete(keyId);
    return result;
  }

  return {
    /**
     * Suspends a tenant (platform root): its API keys, console and portal sessions stop at once,
     * its sessions are ended, and nobody of it can sign in or make keys until it is reactivated.
     */
    suspend: (actor: Actor, tenantId: string, reason: string) => changeStatus(actor, tenantId, 'suspended', reason),
    /** Reactivates a suspended tenant. Sessions ended by the suspension stay ended. */
    reactivate: (actor: Actor, tenantId: string) => changeStatus(actor, tenantId, 'active', undefined),

    /** The tenant's status, or null when there is no such tenant (the logins' check). */
    async status(tenantId: string): Promise<'active' | 'suspended' | null> {
      return (await tenantsRepo.find(db, tenantId))?.status ?? null;
    },

    /**
     * A new tenant with its short name (slug): the one asked for (taken → 409), else one made
     * from the name's ASCII words, else a random `shop-xxxxxx`.
     */
    async create(actor: Actor, input: { name: string; slug?: string | undefined }): Promise<{ id: string; name: string; slug: string; api_key: string }> {
      if (actor.principal.kind !== 'root')
        throw new AppError('forbidden', { en: 'only the platform operator creates tenants', zh: '只有平台运营者可以创建商户' });
      if (input.name.trim() === '') throw invalid({ en: 'name must not be blank', zh: '名称不能为空' });
      let wanted: string | null = null;
      if (input.slug !== undefined) {
        wanted = normalizeSlug(input.slug);
        if (!wanted)
          throw invalid({
            en: 'slug must be 3 to 32 lower-case letters, digits or inner hyphens',
            zh: '简称（slug）须为 3 到 32 个小写字母、数字或中间的连字符',
          });
      }
      return inTransaction(db, async (tx) => {
        const id = `tnt_${ulid()}`;
        let slug = wanted;
        if (slug !== null) {
          if (await tenantsRepo.slugTaken(tx, slug))
            throw conflict({ en: 'another merchant has this short name (slug)', zh: '另一个商户已使用此简称（slug）' });
        } else {
          const fromName = slugFromName(input.name);
          slug = fromName !== null && !(await tenantsRepo.slugTaken(tx, fromName)) ? fromName : randomSlug();
          // A random slug taken already (one in a billion): another draw.
          for (let i = 0; i < 5 && (await tenantsRepo.slugTaken(tx, slug)); i++) slug = randomSlug();
        }
        await tenantsRepo.insert(tx, { id, name: input.name, slug });
        for (const s of deps.setup) await s.initialize(tx, id);
        // The tenant's first key acts for the merchant in full: the integration contract's flows use it.
        const key = await issueKey(tx, id, 'default', 'full');
        await audit.record(tx, actor, {
          tenantId: id,
          action: 'tenant.create',
          targetType: 'tenant',
          targetId: id,
          after: { name: input.name, slug, api_key_id: key.id },
        });
        return { id, name: input.name, slug, api_key: key.api_key };
      });
    },

    /** Every tenant, oldest first (platform root): the platform page lists them to suspend or reactivate. */
    async list(actor: Actor) {
      if (actor.principal.kind !== 'root')
        throw new AppError('forbidden', { en: 'only the platform operator lists tenants', zh: '只有平台运营者可以列出商户' });
      return (await tenantsRepo.list(db)).map((t) => ({ id: t.id, name: t.name, status: t.status, created_at: t.created_at.toISOString() }));
    },

    async get(actor: Actor) {
      const tenant = await tenantsRepo.find(db, tenantOf(actor.principal));
      if (!tenant) throw notFound('tenant');
      return { id: tenant.id, name: tenant.name, slug: tenant.slug, status: tenant.status, created_at: tenant.created_at.toISOString() };
    },

    /** The tenant a person named by its id or its short name (any case), or undefined. */
    resolve: resolveTenant,

    /**
     * What the sign-in pages may know of a merchant named by id or short name: its id, name and
     * slug (the portal turns `?tenant=<slug>` into the id its calls carry). 404 for none or a
     * suspended one.
     */
    async publicMerchant(idOrSlug: string): Promise<{ id: string; name: string; slug: string | null }> {
      const t = await resolveTenant(idOrSlug);
      if (!t || t.status !== 'active') throw notFound('tenant');
      return { id: t.id, name: t.name, slug: t.slug };
    },

    async listKeys(actor: Actor): Promise<ApiKeyView[]> {
      requirePermission(actor.principal, 'keys:write');
      return (await tenantsRepo.listKeys(db, tenantOf(actor.principal))).map(keyView);
    },

    async createKey(actor: Actor, name: string, scope: ApiKeyScope = 'full'): Promise<ApiKeyView & { api_key: string }> {
      requirePermission(actor.principal, 'keys:write');
      const tenantId = tenantOf(actor.principal);
      return inTransaction(db, async (tx) => {
        await requireActive(tx, tenantId);
        const key = await issueKey(tx, tenantId, name, scope);
        await audit.record(tx, actor, { action: 'api_key.create', targetType: 'api_key', targetId: key.id, after: { name, scope } });
        const row = await tenantsRepo.findKeyOfTenant(tx, tenantId, key.id);
        if (!row) throw new Error(`api key ${key.id} vanished within its own transaction`);
        return { ...keyView(row), api_key: key.api_key };
      });
    },

    /** A new key replaces the old one, which stops working at once. */
    async rotateKey(actor: Actor, keyId: string): Promise<ApiKeyView & { api_key: string }> {
      requirePermission(actor.principal, 'keys:write');
      const tenantId = tenantOf(actor.principal);
      const result = await inTransaction(db, async (tx) => {
        await requireActive(tx, tenantId);
        const old = await tenantsRepo.findKeyOfTenant(tx, tenantId, keyId);
        if (!old) throw notFound('api key');
        if (!(await tenantsRepo.revokeKey(tx, tenantId, keyId, clock.now())))
          throw new AppError('invalid_state', { en: 'the key is already revoked', zh: '该密钥已被吊销' });
        // The new key does what the old one did.
        const key = await issueKey(tx, tenantId, old.name, old.scope);
        await audit.record(tx, actor, { action: 'api_key.rotate', targetType: 'api_key', targetId: keyId, after: { replaced_by: key.id } });
        const row = await tenantsRepo.findKeyOfTenant(tx, tenantId, key.id);
        if (!row) throw new Error(`api key ${key.id} vanished within its own transaction`);
        return { ...keyView(row), api_key: key.api_key };
      });
      keyCache.delete(keyId);
      return result;
    },

    async revokeKey(actor: Actor, keyId: string): Promise<ApiKeyView> {
      requirePermission(actor.principal, 'keys:write');
      const tenantId = tenantOf(actor.principal);
      const view = await inTransaction(db, async (tx) => {
        const old = await tenantsRepo.findKeyOfTenant(tx, tenantId, keyId);
        if (!old) throw notFound('api key');
        if (!(await tenantsRepo.revokeKey(tx, tenantId, keyId, clock.now())))
          throw new AppError('invalid_state', { en: 'the key is already revoked', zh: '该密钥已被吊销' });
        await audit.record(tx, actor, { action: 'api_key.revoke', targetType: 'api_key', targetId: keyId });
        const row = await tenantsRepo.findKeyOfTenant(tx, tenantId, keyId);
        if (!row) throw new Error(`api key ${keyId} vanished within its own transaction`);
        return keyView(row);
      });
      keyCache.delete(keyId);
      return view;
    },

    /** The principal an API key stands for, or null if it is unknown, wrong or revoked. */
    async authenticateKey(token: string): Promise<Principal | null> {
      const parsed = parseApiKey(token);
      if (!parsed) return null;
      const now = Date.now();
      let cached = keyCache.get(parsed.keyId);
      if (!cached || cached.until < now) {
        const row = await tenantsRepo.findKey(db, parsed.keyId);
        if (!row || row.revoked_at !== null || row.tenant_status !== 'active') {
          keyCache.delete(parsed.keyId);
          return null;
        }
        cached = { tenantId: row.tenant_id, secretHash: row.secret_hash, scope: row.scope, until: now + KEY_CACHE_MS };
        keyCache.set(parsed.keyId, cached);
      }
      if (!safeEqual(sha256Hex(parsed.secret), cached.secretHash)) return null;
      // last_used_at to the minute: one write per key per minute per process, not one per request.
      const at = clock.now();
      if ((lastTouched.get(parsed.keyId) ?? 0) + LAST_USED_RESOLUTION_MS <= at.getTime()) {
        lastTouched.set(parsed.keyId, at.getTime());
        await tenantsRepo.touchKey(db, parsed.keyId, at, new Date(at.getTime() - LAST_USED_RESOLUTION_MS));
      }
      return { kind: 'api_key', tenantId: cached.tenantId, keyId: parsed.keyId, scope: cached.scope };
    },
  };
}

export type TenantsService = ReturnType<typeof createTenantsService>;
