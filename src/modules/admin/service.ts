import { isTenantId, normalizeSlug } from '../tenants/slug.ts';
import { MESSAGES } from '../../core/error-text.ts';
import type { Db, Executor } from '../../db/database.ts';
import { inTransaction } from '../../db/database.ts';
import type { Actor, Clock } from '../../core/context.ts';
import { AppError, invalid, isUniqueViolation, notFound } from '../../core/errors.ts';
import { requirePermission, tenantOf, type Principal } from '../../core/principal.ts';
import type { AdminRole, AdminUsersTable, DistributorStatus } from '../../db/schema.ts';
import type { Selectable } from 'kysely';
import { newId } from '../../core/ids.ts';
import { DUMMY_PASSWORD_HASH, hashPassword, randomToken, sha256Hex, verifyPassword, type KeyRing } from '../../lib/crypto.ts';
import type { AuditAnchor, AuditService } from '../audit/service.ts';
import { adminRepo } from './repo.ts';
import type { RateLimiter } from '../../adapters/ratelimit/types.ts';
import { createLoginThrottle } from './throttle.ts';

export const SESSION_PREFIX = 'fxs_';
const SESSION_HOURS = 12;
/** Signing in by email alone tries the email's users in at most this many merchants. */
const MAX_EMAIL_TENANTS = 5;

/**
 * The distributor statuses that may hold a portal session: an applicant waiting for review sees
 * its status; a suspended, rejected or erased distributor has no session at all (its payout
 * accounts, uploads and password are not its to change while it is shut out).
 */
export const SIGN_IN_STATUSES: ReadonlySet<DistributorStatus> = new Set<DistributorStatus>(['active', 'pending']);

export interface AdminUserView {
  id: string;
  email: string;
  name: string;
  role: AdminRole;
  disabled: boolean;
  created_at: string;
}

function view(u: Selectable<AdminUsersTable>): AdminUserView {
  return { id: u.id, email: u.email, name: u.name, role: u.role, disabled: u.disabled_at !== null, created_at: u.created_at.toISOString() };
}

export function checkPassword(password: string): void {
  if (password.length < 10) throw invalid({ en: 'password must be at least 10 characters', zh: '密码至少需要 10 个字符' });
}

/** `<seq>:<hash>` as the verify report's heads print it. */
export function parseAnchor(chain: string, text: string): AuditAnchor {
  const [seq, hash] = text.split(':');
  if (hash === undefined) throw invalid({ en: 'an anchor is <seq>:<hash>', zh: '锚点的格式为 <seq>:<hash>' });
  return { chain, seq: Number(seq), hash };
}

export function createAdminService(deps: { db: Db; clock: Clock; audit: AuditService; limiter: RateLimiter; keyring: KeyRing }) {
  const { db, clock, audit } = deps;
  // Login names (emails, phones) are personal data: the throttle's keys hold their blind index.
  const loginThrottle = createLoginThrottle({ limiter: deps.limiter, clock, hash: (account) => deps.keyring.blindIndex(`login:${account}`) });

  /** An admin user this transaction has just written (or locked): there, or the database lied. */
  async function mustFindUser(tx: Executor, tenantId: string, id: string) {
    const row = await adminRepo.findUser(tx, tenantId, id);
    if (!row) throw new Error(`admin user ${id} vanished within its own transaction`);
    return row;
  }

  async function issueSession(tenantId: string, subjectType: 'admin' | 'distributor', subjectId: string, role: string) {
    const token = SESSION_PREFIX + randomToken(32);
    const expiresAt = new Date(clock.now().getTime() + SESSION_HOURS * 3600_000);
    const id = newId('ses');
    await adminRepo.insertSession(db, {
      id,
      token_hash: sha256Hex(token),
      tenant_id: tenantId,
      subject_type: subjectType,
      subject_id: subjectId,
      role,
      expires_at: expiresAt,
    });
    return { token, session_id: id, expires_at: expiresAt.toISOString() };
  }

  return {
    issueSession,
    /** Login attempts per address and per (login name, address), shared with the portal's password login. */
    loginThrottle,

    async createUser(
      actor: Actor,
      input: { email: string; password: string; role: AdminRole; name?: string | undefined },
      tenantIdOverride?: string,
    ): Promise<AdminUserView> {
      // The CLI (root) creates a tenant's first owner; otherwise an owner manages users.
      const tenantId = actor.principal.kind === 'root' && tenantIdOverride ? tenantIdOverride : tenantOf(actor.principal);
      if (actor.principal.kind !== 'root') requirePermission(actor.principal, 'users:write');
      checkPassword(input.password);
      const id = newId('usr');
      return inTransaction(db, async (tx) => {
        try {
          await adminRepo.insertUser(tx, {
            id,
            tenant_id: tenantId,
            email: input.email,
            name: input.name ?? '',
            password_hash: await hashPassword(input.password),
            role: input.role,
          });
        } catch (err) {
          if (isUniqueViolation(err)) throw new AppError('conflict', { en: 'an admin user with this email exists', zh: '已存在使用此邮箱的管理员' });
          throw err;
        }
        const user = view(await mustFindUser(tx, tenantId, id));
        await audit.record(tx, actor, {
          tenantId,
          action: 'admin_user.create',
          targetType: 'admin_user',
          targetId: id,
          after: { email: user.email, role: user.role },
        });
        return user;
      });
    },

    async listUsers(actor: Actor): Promise<AdminUserView[]> {
      requirePermission(actor.principal, 'read');
      return (await adminRepo.listUsers(db, tenantOf(actor.principal))).map(view);
    },

    async updateUser(
      actor: Actor,
      id: string,
      patch: { role?: AdminRole | undefined; name?: string | undefined; disabled?: boolean | undefined; password?: string | undefined },
    ): Promise<AdminUserView> {
      requirePermission(actor.principal, 'users:write');
      const tenantId = tenantOf(actor.principal);
      if (patch.password !== undefined) checkPassword(patch.password);
      return inTransaction(db, async (tx) => {
        const before = await adminRepo.findUser(tx, tenantId, id);
        if (!before) throw notFound('admin user');
        const disabling = patch.disabled === true && before.disabled_at === null;
        const demoting = patch.role !== undefined && patch.role !== 'owner' && before.role === 'owner';
        if ((disabling || demoting) && before.role === 'owner' && (await adminRepo.countOwners(tx, tenantId)) <= 1) {
          throw new AppError('invalid_state', { en: 'a tenant keeps at least one active owner', zh: '商户至少须保留一名有效的所有者（owner）' });
        }
        const now = clock.now();
        await adminRepo.updateUser(tx, tenantId, id, {
          ...(patch.role !== undefined ? { role: patch.role } : {}),
          ...(patch.name !== undefined ? { name: patch.name } : {}),
          ...(patch.disabled !== undefined ? { disabled_at: patch.disabled ? (before.disabled_at ?? now) : null } : {}),
          ...(patch.password !== undefined ? { password_hash: await hashPassword(patch.password) } : {}),
          updated_at: now,
        });
        if (patch.disabled || patch.role !== undefined || patch.password !== undefined) {
          await adminRepo.revokeSessionsOf(tx, tenantId, 'admin', id, now);
        }
        const after = view(await mustFindUser(tx, tenantId, id));
        await audit.record(tx, actor, {
          action: 'admin_user.update',
          targetType: 'admin_user',
          targetId: id,
          before: view(before),
          after: { ...after, ...(patch.password !== undefined ? { password: 'changed' } : {}) },
        });
        return after;
      });
    },

    /**
     * Password login for the console. The attempt is counted before the password is checked
     * (throttle.ts): 20 failures per address, and 5 per (email, address), refuse further attempts
     * for 15 minutes, alike for an email that exists and one that does not; an unknown email costs
     * the same scrypt as a known one. A suspended tenant's users cannot sign in.
     */
    async login(
      input: { tenant_id?: string | undefined; tenant?: string | undefined; email: string; password: string },
      ctx: { ip?: string | undefined } = {},
    ) {
      const named = input.tenant_id ?? input.tenant;
      const attempt = await loginThrottle.begin('console', { ip: ctx.ip, account: `${named?.trim().toLowerCase() ?? '*'}:${input.email.toLowerCase()}` });
      let candidates: Awaited<ReturnType<typeof adminRepo.findLoginUsersAnyTenant>>;
      if (named !== undefined) {
        // The merchant by its id, or by its short name (issue 16 item 3).
        const slug = isTenantId(named.trim()) ? null : normalizeSlug(named);
        const user = isTenantId(named.trim())
          ? await adminRepo.findLoginUserIn(db, { id: named.trim() }, input.email)
          : slug
            ? await adminRepo.findLoginUserIn(db, { slug }, input.email)
            : undefined;
        candidates = user ? [user] : [];
      } else {
        // No merchant named: the email's users in every merchant. Only those whose password
        // matches count, so that an email used in several merchants is told apart from a wrong
        // password only by someone who knows the password.
        candidates = await adminRepo.findLoginUsersAnyTenant(db, input.email, MAX_EMAIL_TENANTS);
      }
      if (candidates.length === 0) await verifyPassword(input.password, DUMMY_PASSWORD_HASH);
      const matched = [];
      for (const c of candidates) if (c.disabled_at === null && (await verifyPassword(input.password, c.password_hash))) matched.push(c);
      // A failure keeps its place in the throttle's windows: nothing to write.
      const user = matched[0];
      if (!user) throw new AppError('unauthorized', MESSAGES.wrongEmailOrPassword());
      if (matched.length > 1) {
        await attempt.void();
        throw new AppError('invalid_request', MESSAGES.ambiguousEmail());
      }
      if (user.tenant_status !== 'active') {
        // The right password: no guess, but no session while the merchant is suspended.
        await attempt.void();
        throw new AppError('unauthorized', { en: 'this merchant is suspended: signing in is closed', zh: '该商户已被暂停，无法登录' });
      }
      await attempt.succeeded();
      const session = await issueSession(user.tenant_id, 'admin', user.id, user.role);
      return { token: session.token, expires_at: session.expires_at, user: view(user), tenant_id: user.tenant_id, tenant_slug: user.tenant_slug };
    },

    /** Ends every session of one admin user or distributor, in the caller's transaction (suspension, rejection). */
    async endSessionsOf(tx: Executor, tenantId: string, subjectType: 'admin' | 'distributor', subjectId: string): Promise<void> {
      await adminRepo.revokeSessionsOf(tx, tenantId, subjectType, subjectId, clock.now());
    },

    /** Ends every session of a tenant, in the caller's transaction (the tenant's suspension). */
    async endTenantSessions(tx: Executor, tenantId: string): Promise<number> {
      return adminRepo.revokeTenantSessions(tx, tenantId, clock.now());
    },

    async logout(actor: Actor): Promise<void> {
      const p = actor.principal;
      if (p.kind !== 'admin' && p.kind !== 'distributor')
        throw new AppError('invalid_request', { en: 'only a session can log out', zh: '只有会话登录才能退出登录' });
      await adminRepo.revokeSession(db, p.sessionId, clock.now());
    },

    /** The tenant's audit hash chain walked, checked against anchors (`<seq>:<hash>`) kept from earlier heads. */
    async verifyAuditLog(actor: Actor, anchors: string[]) {
      requirePermission(actor.principal, 'read');
      const chain = tenantOf(actor.principal);
      return audit.verify(
        db,
        chain,
        anchors.map((text) => parseAnchor(chain, text)),
      );
    },

    async listAuditLog(actor: Actor, query: { limit: number; cursor?: string; targetType?: string; targetId?: string; action?: string }) {
      return audit.list(db, actor, query);
    },

    async authenticateSession(token: string): Promise<Principal | null> {
      if (!token.startsWith(SESSION_PREFIX)) return null;
      // The session with its tenant's and its subject's standing, in one query: a session ends
      // when it is revoked or expires, and also works no longer once the tenant is suspended,
      // the admin user disabled, or the distributor suspended, rejected or erased, whatever
      // path changed them (the changes revoke sessions as well; this is the backstop).
      const s = await adminRepo.findSessionByHash(db, sha256Hex(token));
      if (!s || s.revoked_at !== null || s.expires_at <= clock.now() || s.tenant_status !== 'active') return null;
      if (s.subject_type === 'admin') {
        if (!s.admin_role || s.admin_disabled_at !== null) return null;
        return { kind: 'admin', tenantId: s.tenant_id, userId: s.subject_id, role: s.admin_role, sessionId: s.id };
      }
      if (!s.distributor_status || !SIGN_IN_STATUSES.has(s.distributor_status)) return null;
      return { kind: 'distributor', tenantId: s.tenant_id, distributorId: s.subject_id, sessionId: s.id };
    },
  };
}

export type AdminService = ReturnType<typeof createAdminService>;
