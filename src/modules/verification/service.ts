import { randomInt } from 'node:crypto';
import type { Actor, Clock } from '../../core/context.ts';
import { AppError, conflict, invalid, invalidState, notFound } from '../../core/errors.ts';
import { newId } from '../../core/ids.ts';
import { requirePermission, tenantOf } from '../../core/principal.ts';
import type { Db, Executor } from '../../db/database.ts';
import type { KeyRing } from '../../lib/crypto.ts';
import { safeEqual, sha256Hex } from '../../lib/crypto.ts';
import type { RateLimiter } from '../../adapters/ratelimit/types.ts';
import type { SmsSender } from '../../adapters/sms/types.ts';
import { isSmsSimulator } from '../../adapters/sms/simulator.ts';
import { normalizePhone } from '../pii/fields.ts';
import { maskPhone } from '../pii/mask.ts';
import type { TenantsService } from '../tenants/service.ts';
import { verificationRepo } from './repo.ts';
import type { PhoneVerification } from './schema.ts';

/**
 * A code lives ten minutes and takes five tries; a verified phone vouches for an application
 * made within the hour after. Per phone: one code a minute and five an hour; per tenant, a
 * thousand an hour (the merchant's SMS bill, and a form used to flood phones).
 */
export const PHONE_CODE = {
  minutes: 10,
  maxAttempts: 5,
  usableForMs: 3600_000,
  perPhoneMinute: { limit: 1, windowMs: 60_000 },
  perPhoneHour: { limit: 5, windowMs: 3600_000 },
  perTenant: { limit: 1000, windowMs: 3600_000 },
} as const;

const codeHash = (id: string, code: string) => sha256Hex(`${id}:${code}`);

type Row = NonNullable<Awaited<ReturnType<typeof verificationRepo.find>>>;

export type PhoneVerificationService = ReturnType<typeof createPhoneVerificationService>;

/**
 * One-time codes to an applicant's phone, for the merchant's own application forms: the merchant's
 * backend asks for a code (POST /v1/phone-verifications), the applicant types it into the
 * merchant's form, the backend checks it (…/verify) and sends the verification's id with the
 * application; the program's review rules count the phone as verified (modules/distributors/review.ts).
 */
export function createPhoneVerificationService(deps: {
  db: Db;
  clock: Clock;
  keyring: KeyRing;
  limiter: RateLimiter;
  sms: SmsSender;
  tenants: TenantsService;
}) {
  const { db, clock, keyring, limiter, sms } = deps;

  function view(row: Row, phone: string | null): PhoneVerification {
    const now = clock.now();
    const status = row.consumed_at ? 'used' : row.verified_at ? 'verified' : row.expires_at <= now ? 'expired' : 'code_sent';
    return {
      id: row.id,
      phone: phone ? maskPhone(phone) : '***',
      status,
      attempts_left: Math.max(0, PHONE_CODE.maxAttempts - row.attempts),
      expires_at: row.expires_at.toISOString(),
      verified_at: row.verified_at?.toISOString() ?? null,
      created_at: row.created_at.toISOString(),
    };
  }

  /** Counts a send against each limit, in order; a refusal takes back what was counted before it. */
  async function countSend(tenantId: string, phone: string, nowMs: number) {
    const phoneKey = keyring.blindIndex(`sms:${tenantId}:${phone}`);
    const admitted: { key: string; id: string }[] = [];
    for (const [key, { limit, windowMs }] of [
      [`sms:tenant:${tenantId}`, PHONE_CODE.perTenant],
      [`sms:phone-minute:${phoneKey}`, PHONE_CODE.perPhoneMinute],
      [`sms:phone-hour:${phoneKey}`, PHONE_CODE.perPhoneHour],
    ] as const) {
      const hit = await limiter.hit(key, limit, windowMs, nowMs);
      if (!hit.allowed) {
        for (const a of admitted) await limiter.undo(a.key, a.id);
        const perTenant = key.startsWith('sms:tenant:');
        throw new AppError(
          'rate_limited',
          perTenant
            ? { en: 'too many codes sent for this merchant; try again later', zh: '该商户发送的验证码过多，请稍后再试' }
            : { en: 'too many codes sent to this phone; try again later', zh: '发送到此手机号的验证码过多，请稍后再试' },
          { retry_after_seconds: Math.max(1, Math.ceil(hit.retryAfterMs / 1000)), limit: perTenant ? 'tenant' : 'phone' },
        );
      }
      if (hit.id) admitted.push({ key, id: hit.id });
    }
    return admitted;
  }

  return {
    /**
     * Texts a new 6-digit code to `phone`. With an Idempotency-Key, a retry answers the first
     * verification and texts nothing; the same key for another phone is a 409.
     */
    async send(actor: Actor, input: { phone: string }, idempotencyKey: string | undefined): Promise<PhoneVerification & { created: boolean }> {
      requirePermission(actor.principal, 'distributors:write');
      const tenantId = tenantOf(actor.principal);
      const phone = normalizePhone(input.phone);
      const phoneBidx = keyring.blindIndex(phone);
      if (idempotencyKey !== undefined) {
        const first = await verificationRepo.findByIdempotencyKey(db, tenantId, idempotencyKey);
        if (first) {
          if (!keyring.blindIndexes(phone).includes(first.phone_bidx))
            throw conflict({ en: 'this Idempotency-Key was used for another phone', zh: '此 Idempotency-Key 已用于另一个手机号' });
          return { ...view(first, phone), created: false };
        }
      }
      const tenant = await deps.tenants.get(actor);
      const now = clock.now();
      const admitted = await countSend(tenantId, phone, now.getTime());
      const id = newId('phv');
      const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
      const expiresAt = new Date(now.getTime() + PHONE_CODE.minutes * 60_000);
      await verificationRepo.prune(db, new Date(now.getTime() - 86400_000));
      const inserted = await verificationRepo.insert(db, {
        tenant_id: tenantId,
        id,
        phone_bidx: phoneBidx,
        code_hash: codeHash(id, code),
        expires_at: expiresAt,
        idempotency_key: idempotencyKey ?? null,
        created_at: now,
      });
      if (!inserted) {
        // A concurrent send under the same key won: its answer is this one's.
        for (const a of admitted) await limiter.undo(a.key, a.id);
        const first = idempotencyKey !== undefined ? await verificationRepo.findByIdempotencyKey(db, tenantId, idempotencyKey) : undefined;
        if (!first || !keyring.blindIndexes(phone).includes(first.phone_bidx))
          throw conflict({ en: 'this Idempotency-Key was used for another phone', zh: '此 Idempotency-Key 已用于另一个手机号' });
        return { ...view(first, phone), created: false };
      }
      try {
        await sms.send({
          tenant_id: tenantId,
          to: phone,
          template: 'phone_verification_code',
          params: { code, merchant: tenant.name, minutes: PHONE_CODE.minutes },
          text: `【${tenant.name}】验证码 ${code}，${PHONE_CODE.minutes} 分钟内有效，用于验证申请人手机号。如非本人操作，请忽略。`,
        });
      } catch {
        // Not sent: nothing to verify, and the attempt does not count against the applicant.
        await verificationRepo.delete(db, tenantId, id);
        for (const a of admitted) await limiter.undo(a.key, a.id);
        throw new AppError(
          'service_unavailable',
          { en: 'the code could not be sent; try again in a minute', zh: '验证码发送失败，请一分钟后再试' },
          { retry_after_seconds: 60 },
        );
      }
      const row = await verificationRepo.find(db, tenantId, id);
      if (!row) throw notFound('phone verification');
      return { ...view(row, phone), created: true };
    },

    /**
     * Checks a code. The attempt is counted before the compare; a wrong code is a 400 with the
     * attempts left; an expired code, or one out of attempts, a 409 (send a new one). The right
     * code again, once verified, answers verified again (a retry).
     */
    async verify(actor: Actor, id: string, code: string): Promise<PhoneVerification> {
      requirePermission(actor.principal, 'distributors:write');
      const tenantId = tenantOf(actor.principal);
      const now = clock.now();
      const row = await verificationRepo.claimAttempt(db, tenantId, id, now, PHONE_CODE.maxAttempts);
      if (!row) {
        const existing = await verificationRepo.find(db, tenantId, id);
        if (!existing) throw notFound('phone verification');
        if (existing.verified_at) {
          if (safeEqual(codeHash(existing.id, code), existing.code_hash)) return view(existing, null);
          throw invalidState({ en: 'this phone is verified already', zh: '此手机号已验证' }, { reason: 'already_verified' });
        }
        if (existing.expires_at <= now)
          throw invalidState({ en: 'the code has expired: send a new one', zh: '验证码已过期：请重新获取' }, { reason: 'expired' });
        throw invalidState({ en: 'too many wrong codes: send a new one', zh: '验证码错误次数过多：请重新获取' }, { reason: 'attempts_exhausted' });
      }
      if (!safeEqual(codeHash(row.id, code), row.code_hash)) {
        const left = Math.max(0, PHONE_CODE.maxAttempts - row.attempts);
        throw invalid({ en: `wrong code (${left} attempts left)`, zh: `验证码错误（还可尝试 ${left} 次）` }, { attempts_left: left });
      }
      const verified = (await verificationRepo.markVerified(db, tenantId, id, now)) ?? (await verificationRepo.find(db, tenantId, id));
      if (!verified) throw notFound('phone verification');
      return view(verified, null);
    },

    /**
     * Development: the texts the SMS simulator kept for the caller's tenant, newest first, codes
     * included, so a person can apply on a machine without an SMS account. With a real provider
     * configured there is nothing to read: 404.
     */
    simulatedMessages(actor: Actor, phone: string | undefined) {
      requirePermission(actor.principal, 'pii:read');
      if (!isSmsSimulator(sms))
        throw new AppError('not_found', {
          en: 'no SMS simulator: a provider is configured (FENXIAO_SMS_PROVIDER)',
          zh: '没有短信模拟器：已配置短信服务商（FENXIAO_SMS_PROVIDER）',
        });
      return sms
        .messages(tenantOf(actor.principal), phone === undefined ? undefined : normalizePhone(phone))
        .slice(0, 50)
        .map((m) => ({ seq: m.seq, to: m.to, template: m.template, code: m.params.code, text: m.text, sent_at: m.sent_at }));
    },

    async get(actor: Actor, id: string): Promise<PhoneVerification> {
      requirePermission(actor.principal, 'read');
      const row = await verificationRepo.find(db, tenantOf(actor.principal), id);
      if (!row) throw notFound('phone verification');
      return view(row, null);
    },

    /**
     * In the application's transaction: the verification vouches for `phone` (verified within the
     * hour, not used by another application) and is now used by `distributorId`. Refused otherwise.
     */
    async consume(tx: Executor, tenantId: string, id: string, phone: string, distributorId: string): Promise<void> {
      const now = clock.now();
      const ok = await verificationRepo.consume(
        tx,
        tenantId,
        id,
        keyring.blindIndexes(normalizePhone(phone)),
        distributorId,
        now,
        new Date(now.getTime() - PHONE_CODE.usableForMs),
      );
      if (!ok)
        throw invalidState(
          {
            en: 'phone_verification_id is not a verified code of this phone (unverified, for another phone, used, or verified over an hour ago)',
            zh: 'phone_verification_id 不是此手机号已验证的验证码（未验证、属于其他手机号、已使用或验证已超过一小时）',
          },
          { reason: 'phone_not_verified' },
        );
    },
  };
}
