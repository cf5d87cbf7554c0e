import { MESSAGES, zhStatus } from '../../core/error-text.ts';
import { createHash, randomInt } from 'node:crypto';
import { errors as joseErrors, jwtVerify } from 'jose';
import type { Db } from '../../db/database.ts';
import { inTransaction } from '../../db/database.ts';
import type { Actor, Clock } from '../../core/context.ts';
import { AppError, conflict, forbidden, invalid, invalidState, isUniqueViolation, notFound } from '../../core/errors.ts';
import { requirePermission, tenantOf } from '../../core/principal.ts';
import type { KeyRing } from '../../lib/crypto.ts';
import { DUMMY_PASSWORD_HASH, hashPassword, randomToken, safeEqual, sha256Hex, verifyPassword } from '../../lib/crypto.ts';
import { newId, ulid } from '../../core/ids.ts';
import type { FileStorage } from '../../adapters/storage/types.ts';
import type { RateLimiter } from '../../adapters/ratelimit/types.ts';
import type { SmsSender } from '../../adapters/sms/types.ts';
import { checkIdNumber } from '../pii/fields.ts';
import { SIGN_IN_STATUSES, type AdminService } from '../admin/service.ts';
import type { AuditService } from '../audit/service.ts';
import { normalizePhone, type DistributorsService } from '../distributors/service.ts';
import { distributorsRepo } from '../distributors/repo.ts';
import type { ProgramService } from '../program/service.ts';
import type { PayoutChannels } from '../../adapters/payout/index.ts';
import { withdrawalRules } from './withdrawal-rules.ts';
import type { ReferralService } from '../referral/service.ts';
import type { TenantsService } from '../tenants/service.ts';
import { adminRepo } from '../admin/repo.ts';
import { portalRepo } from './repo.ts';
import { renderPoster, sniffImage, type PosterLang } from './poster.ts';
import type { OrdersService } from '../orders/service.ts';
import type { ApplyStarted, Invite, Me, MyDeposit, PortalApplyBody, PortalOrder, PortalSession, PortalSettingsView, PortalTeamMember } from './schema.ts';

const SECRET_PREFIX = 'fxp_';
/** A login token may live at most this long: it is a hand-off, not a credential to keep. */
export const TOKEN_MAX_SECONDS = 600;
/** Clock skew allowed between the merchant's backend and Fenxiao. */
const TOKEN_CLOCK_TOLERANCE_SECONDS = 30;
const MAX_BACKGROUND_BYTES = 5 * 1024 * 1024;
const MAX_BACKGROUND_SIDE = 4096;

type DistributorActor = Actor & { principal: { kind: 'distributor'; tenantId: string; distributorId: string; sessionId: string } };

function asDistributor(actor: Actor): DistributorActor {
  if (actor.principal.kind !== 'distributor') throw forbidden(MESSAGES.distributorOnly());
  return actor as DistributorActor;
}

/**
 * Reads of the distributor's own data go through DistributorsService, whose reads need the
 * console's `read` permission. The portal acts for the distributor as a system principal of the
 * same tenant, and only ever passes the session's own distributor id.
 */
function onBehalfOf(actor: DistributorActor): Actor {
  return { principal: { kind: 'system', tenantId: actor.principal.tenantId, job: `portal:${actor.principal.distributorId}` }, requestId: actor.requestId };
}

/** A code lives ten minutes and takes five tries. */
const APPLY_CODE_MINUTES = 10;
const MAX_CODE_ATTEMPTS = 5;
/**
 * Codes texted per tenant and address, and per phone: the form cannot be used to flood a phone
 * with texts, or the merchant's SMS bill. The registration limits of the program count the
 * distributors made (step two).
 */
export const APPLY_CODE_LIMITS = {
  perAddress: { limit: 20, windowMs: 3600_000 },
  perPhone: { limit: 5, windowMs: 3600_000 },
} as const;

/** What step one keeps (encrypted) for step two. */
interface PendingApplication {
  name: string;
  phone: string;
  referrer_code?: string | undefined;
  profile?: PortalApplyBody['profile'];
  device_id?: string | undefined;
  client_ip?: string | undefined;
}

const codeHash = (id: string, code: string) => sha256Hex(`${id}:${code}`);

/**
 * Where the goods are, from what the order recorded: a receipt (签收) counts even when the order
 * was refunded since, and an order received without a shipped event was still received.
 */
export function logisticsStage(o: { shipped_at: string | null; received_at: string | null }): PortalOrder['logistics'] {
  return o.received_at ? 'received' : o.shipped_at ? 'shipped' : 'not_shipped';
}

export function createPortalService(deps: {
  db: Db;
  clock: Clock;
  keyring: KeyRing;
  storage: FileStorage;
  audit: AuditService;
  admin: AdminService;
  tenants: TenantsService;
  distributors: DistributorsService;
  referral: ReferralService;
  publicUrl: string;
  limiter: RateLimiter;
  sms: SmsSender;
  /** The withdrawal rules a distributor's form shows (GET /v1/me/withdrawal-rules). */
  program: ProgramService;
  payoutChannels: Pick<PayoutChannels, 'configured'>;
  /** The orders of the distributor's commission lines, with their logistics (GET /v1/me/orders). */
  orders: Pick<OrdersService, 'logisticsOfEarned'>;
}) {
  const { db, clock, keyring, storage, audit, admin, tenants, distributors, referral, limiter, sms } = deps;

  async function activeTenant(tenantId: string, requestId: string | null) {
    try {
      const t = await tenants.get({ principal: { kind: 'system', tenantId, job: 'portal' }, requestId });
      if (t.status !== 'active') throw notFound('tenant');
      return t;
    } catch (err) {
      if (err instanceof AppError && err.code === 'not_found') throw notFound('tenant');
      throw err;
    }
  }

  async function session(tenantId: string, distributorId: string): Promise<PortalSession> {
    const s = await admin.issueSession(tenantId, 'distributor', distributorId, 'distributor');
    return { token: s.token, expires_at: s.expires_at, tenant_id: tenantId, distributor_id: distributorId };
  }

  /** The tenant's grade names by code: the portal shows 金牌, not `gold` (issue 16, item 9). */
  async function gradeNames(actor: DistributorActor): Promise<Map<string, string>> {
    return new Map((await deps.program.listGrades(onBehalfOf(actor))).map((g) => [g.code, g.name]));
  }

  function settingsView(row: Awaited<ReturnType<typeof portalRepo.findSettings>>): PortalSettingsView {
    return {
      signing_secret: { configured: !!row?.signing_secret_enc, created_at: row?.signing_secret_created_at?.toISOString() ?? null },
      poster_background: {
        configured: !!row?.poster_background_key,
        content_type: row?.poster_background_type ?? null,
        updated_at: row?.poster_background_updated_at?.toISOString() ?? null,
      },
    };
  }

  return {
    /** Minimum, fee and daily limits of withdrawals, and the payout channels on offer (withdrawal-rules.ts). */
    withdrawalRules: (actor: Actor) => withdrawalRules(actor, { db, program: deps.program, channels: deps.payoutChannels.configured }),

    // ------------------------------------------------------------------ the merchant's settings

    async settings(actor: Actor): Promise<PortalSettingsView> {
      requirePermission(actor.principal, 'read');
      return settingsView(await portalRepo.findSettings(db, tenantOf(actor.principal)));
    },

    /**
     * A new signing secret for login tokens, shown once. It replaces the previous one at once:
     * tokens live ten minutes at most, so a rotation costs at most the logins in flight.
     */
    async rotateSigningSecret(actor: Actor): Promise<{ secret: string; created_at: string }> {
      requirePermission(actor.principal, 'keys:write');
      const tenantId = tenantOf(actor.principal);
      const secret = SECRET_PREFIX + randomToken(32);
      const now = clock.now();
      await inTransaction(db, async (tx) => {
        const before = await portalRepo.findSettings(tx, tenantId);
        await portalRepo.upsertSigningSecret(tx, tenantId, keyring.encrypt(secret), now);
        await audit.record(tx, actor, {
          action: before?.signing_secret_enc ? 'portal.signing_secret.rotate' : 'portal.signing_secret.create',
          targetType: 'portal',
          targetId: tenantId,
          before: { created_at: before?.signing_secret_created_at?.toISOString() ?? null },
          after: { created_at: now.toISOString() },
        });
      });
      return { secret, created_at: now.toISOString() };
    },

    async putPosterBackground(actor: Actor, data: Buffer): Promise<PortalSettingsView> {
      requirePermission(actor.principal, 'program:write');
      const tenantId = tenantOf(actor.principal);
      if (data.length === 0) throw invalid({ en: 'the file is empty', zh: '文件为空' });
      if (data.length > MAX_BACKGROUND_BYTES) throw new AppError('payload_too_large', { en: 'a poster background is at most 5 MB', zh: '海报背景至多 5 MB' });
      const image = sniffImage(data);
      if (!image) throw new AppError('unsupported_media_type', { en: 'a poster background must be a PNG or JPEG image', zh: '海报背景须为 PNG 或 JPEG 图片' });
      if (image.width < 1 || image.height < 1 || image.width > MAX_BACKGROUND_SIDE || image.height > MAX_BACKGROUND_SIDE) {
        throw invalid({
          en: `a poster background is at most ${MAX_BACKGROUND_SIDE}×${MAX_BACKGROUND_SIDE} pixels (750×1334 fits best)`,
          zh: `海报背景至多 ${MAX_BACKGROUND_SIDE}×${MAX_BACKGROUND_SIDE} 像素（750×1334 最合适）`,
        });
      }
      const key = `${tenantId}/portal/poster-background-${ulid()}`;
      await storage.put(key, data, image.contentType);
      let previous: string | null = null;
      try {
        await inTransaction(db, async (tx) => {
          const before = await portalRepo.findSettings(tx, tenantId);
          previous = before?.poster_background_key ?? null;
          await portalRepo.upsertPosterBackground(tx, tenantId, { key, type: image.contentType }, clock.now());
          await audit.record(tx, actor, {
            action: 'portal.poster_background.put',
            targetType: 'portal',
            targetId: tenantId,
            after: {
              content_type: image.contentType,
              width: image.width,
              height: image.height,
              size_bytes: data.length,
              sha256: createHash('sha256').update(data).digest('hex'),
            },
          });
        });
      } catch (err) {
        await storage.delete(key).catch(() => {});
        throw err;
      }
      if (previous) await storage.delete(previous).catch(() => {});
      return settingsView(await portalRepo.findSettings(db, tenantId));
    },

    async deletePosterBackground(actor: Actor): Promise<PortalSettingsView> {
      requirePermission(actor.principal, 'program:write');
      const tenantId = tenantOf(actor.principal);
      const previous = await inTransaction(db, async (tx) => {
        const before = await portalRepo.findSettings(tx, tenantId);
        if (!before?.poster_background_key) return null;
        await portalRepo.upsertPosterBackground(tx, tenantId, { key: null, type: null }, clock.now());
        await audit.record(tx, actor, { action: 'portal.poster_background.delete', targetType: 'portal', targetId: tenantId });
        return before.poster_background_key;
      });
      if (previous) await storage.delete(previous).catch(() => {});
      return settingsView(await portalRepo.findSettings(db, tenantId));
    },

    async readPosterBackground(actor: Actor): Promise<{ contentType: string; data: Buffer }> {
      requirePermission(actor.principal, 'read');
      const row = await portalRepo.findSettings(db, tenantOf(actor.principal));
      if (!row?.poster_background_key || !row.poster_background_type) throw notFound('poster background');
      return { contentType: row.poster_background_type, data: await storage.get(row.poster_background_key) };
    },

    // --------------------------------------------------------------------------- logging in

    /**
     * Login by a token the merchant's backend minted: a JWT signed HS256 with the tenant's
     * portal signing secret, `sub` the distributor's external_id, `exp` at most ten minutes
     * ahead, and a `jti` that is claimed here so the token logs in once.
     */
    async tokenLogin(input: { tenant_id: string; token: string }, requestId: string | null): Promise<PortalSession> {
      await activeTenant(input.tenant_id, requestId);
      const settings = await portalRepo.findSettings(db, input.tenant_id);
      if (!settings?.signing_secret_enc) throw new AppError('unauthorized', { en: 'token login is not set up for this tenant', zh: '该商户未开启令牌登录' });
      const key = new TextEncoder().encode(keyring.decrypt(settings.signing_secret_enc));
      const now = clock.now();
      let claims: { sub?: unknown; jti?: unknown; exp?: number; iat?: number };
      try {
        ({ payload: claims } = await jwtVerify(input.token, key, {
          algorithms: ['HS256'],
          currentDate: now,
          clockTolerance: TOKEN_CLOCK_TOLERANCE_SECONDS,
          maxTokenAge: TOKEN_MAX_SECONDS,
          requiredClaims: ['sub', 'iat', 'exp', 'jti'],
        }));
      } catch (err) {
        if (err instanceof joseErrors.JWTExpired) throw new AppError('unauthorized', { en: 'the login token has expired', zh: '登录令牌已过期' });
        if (err instanceof joseErrors.JWTClaimValidationFailed)
          // jose's message is English: the Chinese names the claim that failed and how.
          throw new AppError('unauthorized', {
            en: `invalid login token: ${err.message}`,
            zh: `登录令牌无效：${err.claim} 声明${err.reason === 'missing' ? '缺失' : err.reason === 'check_failed' ? '校验未通过' : '的值无效'}`,
          });
        throw new AppError('unauthorized', { en: 'invalid login token', zh: '登录令牌无效' });
      }
      const nowSeconds = Math.floor(now.getTime() / 1000);
      // jwtVerify required exp; the check keeps the type honest.
      const exp = claims.exp;
      if (exp === undefined) throw new AppError('unauthorized', { en: 'invalid login token', zh: '登录令牌无效' });
      if (exp > nowSeconds + TOKEN_MAX_SECONDS + TOKEN_CLOCK_TOLERANCE_SECONDS) {
        throw new AppError('unauthorized', {
          en: `invalid login token: exp may be at most ${TOKEN_MAX_SECONDS} seconds ahead`,
          zh: `登录令牌无效：exp 至多为 ${TOKEN_MAX_SECONDS} 秒之后`,
        });
      }
      // jose checks that the claims are present, not their types: a number or an object as `sub`
      // must not reach the lookup (PostgreSQL would compare it as text, or fail).
      if (typeof claims.sub !== 'string' || typeof claims.jti !== 'string')
        throw new AppError('unauthorized', { en: 'invalid login token: sub and jti must be strings', zh: '登录令牌无效：sub 和 jti 须为字符串' });
      const { jti, sub } = claims;
      if (jti.length < 8 || jti.length > 128)
        throw new AppError('unauthorized', { en: 'invalid login token: jti must be 8 to 128 characters', zh: '登录令牌无效：jti 须为 8 到 128 个字符' });
      if (sub.length < 1 || sub.length > 128)
        throw new AppError('unauthorized', { en: 'invalid login token: sub must be 1 to 128 characters', zh: '登录令牌无效：sub 须为 1 到 128 个字符' });
      const d = await distributorsRepo.findByExternalId(db, input.tenant_id, sub);
      if (!d) throw new AppError('unauthorized', { en: 'no distributor has this external_id (sub)', zh: '没有此 external_id（sub）的分销员' });
      // Erasure ends the account: its data is gone and it may not log in again, by token either;
      // a suspended or rejected distributor is shut out until the merchant lets it back in.
      if (!SIGN_IN_STATUSES.has(d.status))
        throw new AppError('unauthorized', {
          en: `this distributor is ${d.status}: signing in is closed`,
          zh: `该分销员状态为${zhStatus(d.status)}，无法登录`,
        });
      // A token is the merchant's word for its own user; an account the public form made was never
      // vouched for, so a token does not adopt it until the merchant links it.
      const credential = await portalRepo.findCredential(db, input.tenant_id, d.id);
      if (credential?.self_registered && !credential.linked_at) {
        throw new AppError('unauthorized', {
          en: "this distributor registered through the portal's form: the merchant links it (POST /v1/distributors/{id}/portal-link) before a login token signs it in",
          zh: '该分销员是通过分销员中心的申请表注册的：须由商户先关联（POST /v1/distributors/{id}/portal-link），登录令牌才能使其登录',
        });
      }
      const claimed = await inTransaction(db, async (tx) => {
        await portalRepo.pruneTokenIds(tx, new Date(now.getTime() - 86400_000));
        return portalRepo.claimTokenId(tx, { tenant_id: input.tenant_id, jti, distributor_id: d.id, expires_at: new Date(exp * 1000), used_at: now });
      });
      if (!claimed) throw new AppError('unauthorized', { en: 'this login token was already used', zh: '该登录令牌已被使用' });
      return session(input.tenant_id, d.id);
    },

    /**
     * Phone and password. The attempt is counted before any password is checked, as in the
     * console (admin/throttle.ts): 50 failures per address, 5 per (phone, address), alike for a
     * phone that has an account and one that does not; an unknown phone costs the same scrypt.
     */
    async passwordLogin(input: { tenant_id: string; phone: string; password: string }, ctx: { ip?: string | undefined } = {}): Promise<PortalSession> {
      const phone = normalizePhone(input.phone);
      const attempt = await admin.loginThrottle.begin('portal', { ip: ctx.ip, account: `${input.tenant_id}:${phone}` });
      const tenant = await tenants.status(input.tenant_id);
      const candidates = await portalRepo.credentialsByPhone(db, input.tenant_id, keyring.blindIndexes(phone));
      if (candidates.length === 0) await verifyPassword(input.password, DUMMY_PASSWORD_HASH);
      // Usually one; more only if an operator later gave two distributors the same phone.
      for (const c of candidates) {
        if (!(await verifyPassword(input.password, c.password_hash))) continue;
        if (c.status === 'erased') break;
        // The right password, so no guess: a distributor shut out (or a suspended merchant's) is told so.
        if (tenant !== 'active' || !SIGN_IN_STATUSES.has(c.status)) {
          await attempt.void();
          throw new AppError(
            'unauthorized',
            tenant !== 'active'
              ? { en: 'this merchant is suspended: signing in is closed', zh: '该商户已被暂停，无法登录' }
              : {
                  en: `this distributor is ${c.status}: signing in is closed; contact the merchant`,
                  zh: `该分销员状态为${zhStatus(c.status)}，无法登录；请联系商户`,
                },
          );
        }
        await attempt.succeeded();
        return session(input.tenant_id, c.distributor_id);
      }
      // A failure keeps its place in the throttle's windows: nothing to write.
      throw new AppError('unauthorized', MESSAGES.wrongPhoneOrPassword());
    },

    /** Sets or changes the distributor's own portal password; other sessions end. */
    async setPassword(actorIn: Actor, input: { password: string; current_password?: string | undefined }): Promise<{ has_password: true }> {
      const actor = asDistributor(actorIn);
      const { tenantId, distributorId, sessionId } = actor.principal;
      const d = await distributors.load(db, tenantId, distributorId);
      if (!d.phone_bidx || !d.phone_enc)
        throw invalidState({
          en: 'a password needs a phone number to log in with; ask the merchant to add one',
          zh: '设置密码须有手机号用于登录；请联系商户添加手机号',
        });
      const existing = await portalRepo.findCredential(db, tenantId, distributorId);
      if (existing) {
        if (input.current_password === undefined)
          throw invalid({ en: 'current_password is required to change the password', zh: '修改密码须提供 current_password' });
        if (!(await verifyPassword(input.current_password, existing.password_hash)))
          throw forbidden({ en: 'the current password is wrong', zh: '当前密码错误' });
      }
      const others = (await portalRepo.credentialsByPhone(db, tenantId, keyring.blindIndexes(normalizePhone(keyring.decrypt(d.phone_enc))))).filter(
        (c) => c.distributor_id !== distributorId,
      );
      if (others.length > 0)
        throw conflict({ en: 'another distributor with this phone number already has a password', zh: '另一位使用此手机号的分销员已设置密码' });
      const hash = await hashPassword(input.password);
      const now = clock.now();
      await inTransaction(db, async (tx) => {
        await portalRepo.upsertCredential(tx, tenantId, distributorId, hash, now);
        await adminRepo.revokeOtherSessions(tx, tenantId, distributorId, sessionId, now);
        await audit.record(tx, actor, {
          action: existing ? 'portal.password.change' : 'portal.password.set',
          targetType: 'distributor',
          targetId: distributorId,
        });
      });
      return { has_password: true };
    },

    /**
     * The portal's application form, step one: limits first (codes per address and per phone,
     * counted before anything else), then what can be checked without the phone (the referrer
     * code, an ID number's form), then a code texted to the phone. The answer is the same whether
     * the phone belongs to a distributor or not, and nothing about the phone is looked up here:
     * the application waits, encrypted, until the code comes back (step two). So nobody learns
     * which numbers are distributors', and nobody applies in someone else's phone number.
     */
    async apply(input: PortalApplyBody, ctx: { ip: string | undefined; requestId: string | null }): Promise<ApplyStarted> {
      const tenant = await activeTenant(input.tenant_id, ctx.requestId);
      const phone = normalizePhone(input.phone);
      const nowMs = clock.now().getTime();
      for (const [key, { limit, windowMs }] of [
        [`portal:apply:ip:${input.tenant_id}:${ctx.ip ?? 'unknown'}`, APPLY_CODE_LIMITS.perAddress],
        [`portal:apply:phone:${keyring.blindIndex(`apply:${input.tenant_id}:${phone}`)}`, APPLY_CODE_LIMITS.perPhone],
      ] as const) {
        const hit = await limiter.hit(key, limit, windowMs, nowMs);
        if (!hit.allowed) {
          throw new AppError(
            'rate_limited',
            { en: 'too many applications from here or for this phone; try again later', zh: '来自此处或此手机号的申请过多，请稍后再试' },
            {
              retry_after_seconds: Math.max(1, Math.ceil(hit.retryAfterMs / 1000)),
            },
          );
        }
      }
      if (input.referrer_code !== undefined) {
        const referrer = await distributors.byInviteCode(db, input.tenant_id, input.referrer_code);
        if (!referrer) throw invalid(MESSAGES.unknownReferrerCode());
        if (referrer.status !== 'active') throw invalidState({ en: 'the referrer is not an active distributor', zh: '推荐人不是正常状态的分销员' });
      }
      if (input.profile?.id_number) checkIdNumber(input.profile.id_number);
      const id = newId('pap');
      const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
      const now = clock.now();
      const expiresAt = new Date(now.getTime() + APPLY_CODE_MINUTES * 60_000);
      const payload: PendingApplication = {
        name: input.name,
        phone,
        referrer_code: input.referrer_code,
        profile: input.profile,
        device_id: input.device_id,
        client_ip: ctx.ip,
      };
      await portalRepo.pruneApplications(db, new Date(now.getTime() - 86400_000));
      await portalRepo.insertApplication(db, {
        id,
        tenant_id: input.tenant_id,
        phone_bidx: keyring.blindIndex(phone),
        payload_enc: keyring.encrypt(JSON.stringify(payload)),
        password_hash: await hashPassword(input.password),
        code_hash: codeHash(id, code),
        expires_at: expiresAt,
        created_at: now,
      });
      try {
        await sms.send({
          to: phone,
          tenant_id: input.tenant_id,
          template: 'portal_apply_code',
          params: { code, merchant: tenant.name, minutes: APPLY_CODE_MINUTES },
          text: `【${tenant.name}】验证码 ${code}，${APPLY_CODE_MINUTES} 分钟内有效，用于申请成为分销员。如非本人操作，请忽略。`,
        });
      } catch {
        throw new AppError(
          'service_unavailable',
          { en: 'the code could not be sent; try again in a minute', zh: '验证码发送失败，请一分钟后再试' },
          { retry_after_seconds: 60 },
        );
      }
      return { verification_id: id, expires_at: expiresAt.toISOString(), status: 'code_sent' };
    },

    /**
     * Step two: the code from the phone. The attempt is counted before the code is compared (five
     * per application). With the right code the caller holds the phone: an existing distributor of
     * that phone is named (log in instead), else the distributor is made through
     * DistributorsService.apply (admission, referrer binding, the per-IP/device registration
     * limits), with a `portal-…` external id and the password chosen in step one, and signed in.
     */
    async verifyApplication(
      input: { tenant_id: string; verification_id: string; code: string },
      ctx: { requestId: string | null },
    ): Promise<PortalSession & { status: string }> {
      await activeTenant(input.tenant_id, ctx.requestId);
      const now = clock.now();
      const row = await portalRepo.claimApplicationAttempt(db, input.tenant_id, input.verification_id, now, MAX_CODE_ATTEMPTS);
      if (!row)
        throw invalidState({
          en: 'this application has expired, was completed, or had too many wrong codes: apply again',
          zh: '该申请已过期、已完成或验证码错误次数过多：请重新申请',
        });
      if (!safeEqual(codeHash(row.id, input.code), row.code_hash)) throw invalid({ en: 'wrong code', zh: '验证码错误' });
      const app = JSON.parse(keyring.decrypt(row.payload_enc)) as PendingApplication;
      if ((await portalRepo.distributorIdsByPhone(db, input.tenant_id, keyring.blindIndexes(app.phone))).length > 0) {
        throw conflict({ en: 'a distributor with this phone number exists: log in instead', zh: '已有使用此手机号的分销员：请直接登录' });
      }
      let consumed = false;
      try {
        consumed = await portalRepo.consumeApplication(db, input.tenant_id, row.id, now);
      } catch (err) {
        if (!isUniqueViolation(err)) throw err;
      }
      if (!consumed) throw conflict({ en: 'this phone number is being registered already: log in instead', zh: '此手机号正在注册中：请直接登录' });
      const actor: Actor = { principal: { kind: 'system', tenantId: input.tenant_id, job: 'portal.apply' }, requestId: ctx.requestId };
      try {
        const created = await distributors.apply(
          actor,
          {
            external_id: `portal-${ulid()}`,
            name: app.name,
            phone: app.phone,
            referrer_code: app.referrer_code,
            profile: app.profile,
            consent: true,
            client_ip: app.client_ip,
            device_id: app.device_id,
          },
          // The code texted to the phone came back: the program's review counts the phone as verified.
          { phoneVerified: true },
        );
        await portalRepo.upsertCredential(db, input.tenant_id, created.id, row.password_hash, clock.now(), true);
        // Done with: what the applicant typed lives on in the distributor, encrypted there.
        await portalRepo.deleteApplication(db, input.tenant_id, row.id);
        return { ...(await session(input.tenant_id, created.id)), status: created.status };
      } catch (err) {
        // Not made (a registration limit, the referrer gone): the code may be entered again while it lives.
        await portalRepo.releaseApplication(db, input.tenant_id, row.id);
        throw err;
      }
    },

    /**
     * The merchant vouches for an account the public form made (it checked who it is): from now
     * on a login token naming its external_id signs it in. Before, token login refuses it, so an
     * account made by someone else can never take the place of the merchant's own user.
     */
    async linkForTokenLogin(actor: Actor, distributorId: string): Promise<{ distributor_id: string; external_id: string; linked_at: string }> {
      requirePermission(actor.principal, 'distributors:write');
      const tenantId = tenantOf(actor.principal);
      return inTransaction(db, async (tx) => {
        const d = await distributors.load(tx, tenantId, distributorId);
        const credential = await portalRepo.findCredential(tx, tenantId, distributorId);
        if (!credential?.self_registered)
          throw invalidState({
            en: "this distributor did not register through the portal's form: login tokens sign it in already",
            zh: '该分销员不是通过分销员中心的申请表注册的：登录令牌已可使其登录',
          });
        if (credential.linked_at) return { distributor_id: d.id, external_id: d.external_id, linked_at: credential.linked_at.toISOString() };
        const now = clock.now();
        await portalRepo.linkCredential(tx, tenantId, distributorId, now);
        await audit.record(tx, actor, {
          action: 'distributor.portal_link',
          targetType: 'distributor',
          targetId: distributorId,
          after: { external_id: d.external_id },
        });
        return { distributor_id: d.id, external_id: d.external_id, linked_at: now.toISOString() };
      });
    },

    // ------------------------------------------------------------------ the distributor's own

    async me(actorIn: Actor): Promise<Me> {
      const actor = asDistributor(actorIn);
      const { tenantId, distributorId } = actor.principal;
      const [row, credential, tenant, names, settings] = await Promise.all([
        distributors.load(db, tenantId, distributorId),
        portalRepo.findCredential(db, tenantId, distributorId),
        tenants.get(actor),
        gradeNames(actor),
        deps.program.read(db, tenantId),
      ]);
      return {
        ...distributors.view(row),
        has_password: !!credential,
        tenant_name: tenant.name,
        grade_name: names.get(row.grade_code) ?? row.grade_code,
        program_profile: settings.profile,
      };
    },

    /**
     * The distributor's own admission deposit: the merchant's figures, and the newest refund
     * without the merchant's internal fields (who asked and approved, the merchant's reason, payout
     * references). awaiting_confirmation: its WeChat transfer waits for the payee, as a
     * withdrawal's does (GET /v1/me/deposit-refunds/{id}/wechat-confirmation).
     */
    async deposit(actorIn: Actor): Promise<MyDeposit> {
      const actor = asDistributor(actorIn);
      const d = await distributors.deposit(onBehalfOf(actor), actor.principal.distributorId);
      const r = d.refund;
      return {
        distributor_id: d.distributor_id,
        status: d.status,
        required_fen: d.required_fen,
        paid_fen: d.paid_fen,
        refunded_fen: d.refunded_fen,
        refunding_fen: d.refunding_fen,
        held_fen: d.held_fen,
        refund: r
          ? {
              id: r.id,
              amount_fen: r.amount_fen,
              channel: r.channel,
              status: r.status,
              created_at: r.created_at,
              approved_at: r.approved_at,
              paid_at: r.paid_at,
              failed_at: r.failed_at,
              rejected_at: r.rejected_at,
              awaiting_confirmation: r.channel === 'wechat' && r.payout?.state === 'wait_user_confirm' && !!r.payout.package_info,
            }
          : null,
      };
    },

    async team(actorIn: Actor) {
      const actor = asDistributor(actorIn);
      return distributors.team(onBehalfOf(actor), actor.principal.distributorId);
    },

    async downline(
      actorIn: Actor,
      level: 1 | 2 | 3,
      cursor: string | undefined,
      limit: number,
    ): Promise<{ items: PortalTeamMember[]; next_cursor: string | null }> {
      const actor = asDistributor(actorIn);
      const [page, names] = await Promise.all([
        distributors.downline(onBehalfOf(actor), actor.principal.distributorId, level, cursor, limit),
        gradeNames(actor),
      ]);
      return {
        items: page.items.map((m) => ({
          id: m.id,
          name: m.name,
          level: m.level,
          grade: m.grade,
          grade_name: names.get(m.grade) ?? m.grade,
          status: m.status,
          joined_at: m.joined_at,
        })),
        next_cursor: page.next_cursor,
      };
    },

    /** The logistics of the orders the distributor earns from among these; the others are left out. */
    async orders(actorIn: Actor, externalIds: readonly string[]): Promise<{ items: PortalOrder[]; next_cursor: null }> {
      const actor = asDistributor(actorIn);
      const rows = await deps.orders.logisticsOfEarned(actor, externalIds);
      return { items: rows.map((o) => ({ ...o, logistics: logisticsStage(o) })), next_cursor: null };
    },

    async invite(actorIn: Actor): Promise<Invite> {
      const actor = asDistributor(actorIn);
      const { tenantId, distributorId } = actor.principal;
      const d = distributors.view(await distributors.load(db, tenantId, distributorId));
      const qr = await referral.qrCode(actor, distributorId, 'png', 400);
      return {
        invite_code: d.invite_code,
        invite_url: d.invite_url,
        qr_data_url: `data:image/png;base64,${Buffer.from(qr.body).toString('base64')}`,
        qrcode_url: `/v1/distributors/${distributorId}/qrcode`,
        poster_url: '/v1/me/poster.png',
        usable: d.status === 'active',
      };
    },

    async poster(actorIn: Actor, lang: PosterLang): Promise<Buffer> {
      const actor = asDistributor(actorIn);
      const { tenantId, distributorId } = actor.principal;
      const d = distributors.view(await distributors.load(db, tenantId, distributorId));
      if (d.status !== 'active')
        throw invalidState({ en: 'the invite poster is ready once the distributor is active', zh: '分销员审核通过后才能生成邀请海报' });
      const [tenant, settings, program] = await Promise.all([tenants.get(actor), portalRepo.findSettings(db, tenantId), deps.program.read(db, tenantId)]);
      const background =
        settings?.poster_background_key && settings.poster_background_type
          ? { contentType: settings.poster_background_type, data: await storage.get(settings.poster_background_key) }
          : undefined;
      return renderPoster({
        distributorName: d.name,
        tenantName: tenant.name,
        inviteCode: d.invite_code,
        inviteUrl: d.invite_url,
        background,
        lang,
        wording: program.profile === 'wechat_safe' ? 'wechat_safe' : 'standard',
      });
    },
  };
}

export type PortalService = ReturnType<typeof createPortalService>;
