import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import type { Db, Executor } from '../../db/database.ts';
import { inTransaction } from '../../db/database.ts';
import type { Actor, Clock } from '../../core/context.ts';
import { AppError, conflict, invalid, invalidState, isUniqueViolation, notFound } from '../../core/errors.ts';
import { requirePermission, tenantOf } from '../../core/principal.ts';
import { newId } from '../../core/ids.ts';
import type { AuditService } from '../audit/service.ts';
import { referralRepo } from './repo.ts';
import type { LocalText } from '../../core/error-text.ts';

/**
 * Where a tenant's invite links may send visitors. `/i/<code>` is the platform's own address, so a
 * landing page anywhere made it an open redirect: a tenant could send the platform's links (and
 * their reputation) to a phishing page. A landing page must be the platform itself or a domain the
 * tenant has verified, or one of its subdomains, over https. Checked when `landing_url` is set and
 * again at each redirect, so a value stored before, or a domain removed since, is not followed.
 *
 * Verification is a DNS TXT record `_fenxiao-challenge.<domain>` holding
 * `fenxiao-verification=<token>`: only whoever controls the domain's DNS can publish it, and the
 * check makes no HTTP request to an address a tenant chose (nothing to aim at internal services).
 */

export const CHALLENGE_PREFIX = '_fenxiao-challenge';
export const TXT_PREFIX = 'fenxiao-verification=';

export type ResolveTxt = (name: string) => Promise<string[][]>;

export interface LandingDomainView {
  id: string;
  domain: string;
  status: 'pending' | 'verified';
  verified_at: string | null;
  verification: { type: 'dns_txt'; name: string; value: string };
  created_at: string;
}

/**
 * A domain as the owner typed it, normalised (lower case, ASCII/IDNA, no trailing dot), or null
 * when it is not a registrable host name: no scheme, path, port, wildcard, IP address or single label.
 */
export function normalizeDomain(input: string): string | null {
  const raw = input.trim().replace(/\.$/, '');
  if (raw === '' || raw.length > 253 || /[^A-Za-z0-9.\-\u00a0-\uffff]/.test(raw)) return null;
  let host: string;
  try {
    host = new URL(`https://${raw}/`).hostname;
  } catch {
    return null;
  }
  if (isIP(host) || host.startsWith('[')) return null;
  const labels = host.split('.');
  if (labels.length < 2 || labels.some((l) => !/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/.test(l))) return null;
  if (/^[0-9]+$/.test(labels.at(-1) ?? '')) return null;
  return host;
}

/** Whether `host` is `domain` or below it. */
const within = (host: string, domain: string) => host === domain || host.endsWith(`.${domain}`);

/**
 * Why `landingUrl` may not be a tenant's landing page, or null: the platform's own host, or a
 * verified domain of the tenant (or below one) over https, without credentials in the URL.
 */
export function landingRefusal(landingUrl: string, verified: readonly string[], platformUrl: string): LocalText | null {
  let url: URL;
  try {
    url = new URL(landingUrl);
  } catch {
    return { en: 'landing_url is not a URL', zh: 'landing_url 不是有效的网址' };
  }
  const platform = new URL(platformUrl);
  if (url.username || url.password) return { en: 'landing_url may not carry a user name or password', zh: 'landing_url 不能包含用户名或密码' };
  if (url.host === platform.host && url.protocol === platform.protocol) return null;
  if (url.protocol !== 'https:')
    return { en: "landing_url must be https (or the platform's own address)", zh: 'landing_url 须为 https 地址（或平台自己的地址）' };
  if (!verified.some((d) => within(url.hostname, d))) {
    return {
      en: `landing_url must be on a domain this merchant has verified (POST /v1/landing-domains, then its DNS TXT record and POST /v1/landing-domains/{id}/verify); ${url.hostname} is not`,
      zh: `landing_url 须在本商户已验证的域名上（先 POST /v1/landing-domains，发布其 DNS TXT 记录，再 POST /v1/landing-domains/{id}/verify）；${url.hostname} 尚未验证`,
    };
  }
  return null;
}

function view(r: { id: string; domain: string; token: string; verified_at: Date | null; created_at: Date }): LandingDomainView {
  return {
    id: r.id,
    domain: r.domain,
    status: r.verified_at ? 'verified' : 'pending',
    verified_at: r.verified_at?.toISOString() ?? null,
    verification: { type: 'dns_txt', name: `${CHALLENGE_PREFIX}.${r.domain}`, value: `${TXT_PREFIX}${r.token}` },
    created_at: r.created_at.toISOString(),
  };
}

export function createLandingDomains(deps: {
  db: Db;
  clock: Clock;
  audit: AuditService;
  publicUrl: string;
  resolveTxt: ResolveTxt;
  /** The tenant's landing_url in force (the program module owns it). */
  landingUrlOf: (ex: Executor, tenantId: string) => Promise<string | null>;
}) {
  const { db, clock, audit } = deps;

  async function verifiedDomains(ex: Executor, tenantId: string): Promise<string[]> {
    const rows = await referralRepo.verifiedDomains(ex, tenantId);
    return rows.map((r) => r.domain);
  }

  async function find(ex: Executor, tenantId: string, id: string, lock = false) {
    const row = await referralRepo.findDomain(ex, tenantId, id, lock);
    if (!row) throw notFound('landing domain');
    return row;
  }

  return {
    /** Refuses (400) a landing_url the tenant may not use; run in the transaction that sets it. */
    async check(ex: Executor, tenantId: string, landingUrl: string | null): Promise<void> {
      if (landingUrl === null) return;
      const refusal = landingRefusal(landingUrl, await verifiedDomains(ex, tenantId), deps.publicUrl);
      if (refusal) throw invalid(refusal);
    },

    /** Whether a redirect may follow `landingUrl` now (the domain may have been removed since it was set). */
    async allowed(ex: Executor, tenantId: string, landingUrl: string): Promise<boolean> {
      return landingRefusal(landingUrl, await verifiedDomains(ex, tenantId), deps.publicUrl) === null;
    },

    async list(actor: Actor): Promise<LandingDomainView[]> {
      requirePermission(actor.principal, 'read');
      const rows = await referralRepo.listDomains(db, tenantOf(actor.principal));
      return rows.map(view);
    },

    async add(actor: Actor, input: string): Promise<LandingDomainView> {
      requirePermission(actor.principal, 'keys:write');
      const tenantId = tenantOf(actor.principal);
      const domain = normalizeDomain(input);
      if (!domain)
        throw invalid({
          en: 'domain must be a host name such as shop.example.com: no scheme, path, port, wildcard or IP address',
          zh: 'domain 须为主机名，例如 shop.example.com：不含协议、路径、端口、通配符或 IP 地址',
        });
      if (within(domain, new URL(deps.publicUrl).hostname))
        throw invalid({ en: "the platform's own domain needs no verification", zh: '平台自己的域名无需验证' });
      try {
        return await inTransaction(db, async (tx) => {
          const row = await referralRepo.insertDomain(tx, {
            id: newId('ldm'),
            tenant_id: tenantId,
            domain,
            token: randomBytes(24).toString('base64url'),
            verified_at: null,
          });
          await audit.record(tx, actor, { action: 'landing_domain.add', targetType: 'landing_domain', targetId: row.id, after: { domain } });
          return view(row);
        });
      } catch (err) {
        if (isUniqueViolation(err)) throw conflict({ en: 'this domain is already on the list', zh: '该域名已在列表中' });
        throw err;
      }
    },

    /** Looks the TXT record up now; verified once it holds the domain's token. */
    async verify(actor: Actor, id: string): Promise<LandingDomainView> {
      requirePermission(actor.principal, 'keys:write');
      const tenantId = tenantOf(actor.principal);
      const row = await find(db, tenantId, id);
      const name = `${CHALLENGE_PREFIX}.${row.domain}`;
      let records: string[][] = [];
      let failure = '';
      try {
        records = await deps.resolveTxt(name);
      } catch (err) {
        // No such name, no TXT record, a server that does not answer: the record is not there
        // (yet), which the owner fixes in its DNS; never a fault of Fenxiao's.
        const code = (err as { code?: unknown }).code;
        failure = typeof code === 'string' && /^[A-Z_]{2,32}$/.test(code) ? ` (the lookup answered ${code})` : '';
      }
      // A long TXT record arrives in chunks of 255 characters: each record is their concatenation.
      if (!records.some((chunks) => chunks.join('').trim() === `${TXT_PREFIX}${row.token}`)) {
        throw invalidState({
          en: `no TXT record ${name} holding ${TXT_PREFIX}${row.token} was found${failure}; publish it and try again (DNS changes can take minutes)`,
          zh: `未找到内容为 ${TXT_PREFIX}${row.token} 的 TXT 记录 ${name}${failure}；请发布后重试（DNS 变更可能需要几分钟生效）`,
        });
      }
      return inTransaction(db, async (tx) => {
        const locked = await find(tx, tenantId, id, true);
        if (locked.verified_at) return view(locked);
        const after = await referralRepo.markDomainVerified(tx, id, clock.now());
        await audit.record(tx, actor, {
          action: 'landing_domain.verify',
          targetType: 'landing_domain',
          targetId: id,
          after: { domain: after.domain, record: name },
        });
        return view(after);
      });
    },

    /** Refused while the landing page in force is on this domain and no other verified one covers it. */
    async remove(actor: Actor, id: string): Promise<void> {
      requirePermission(actor.principal, 'keys:write');
      const tenantId = tenantOf(actor.principal);
      await inTransaction(db, async (tx) => {
        const row = await find(tx, tenantId, id, true);
        const landingUrl = await deps.landingUrlOf(tx, tenantId);
        if (landingUrl !== null) {
          const others = (await verifiedDomains(tx, tenantId)).filter((d) => d !== row.domain);
          if (landingRefusal(landingUrl, others, deps.publicUrl) !== null && landingRefusal(landingUrl, [...others, row.domain], deps.publicUrl) === null) {
            throw new AppError('invalid_state', {
              en: 'the landing page (landing_url) is on this domain: change landing_url first',
              zh: '落地页（landing_url）在此域名上：请先修改 landing_url',
            });
          }
        }
        await referralRepo.deleteDomain(tx, id);
        await audit.record(tx, actor, {
          action: 'landing_domain.remove',
          targetType: 'landing_domain',
          targetId: id,
          before: { domain: row.domain, verified: row.verified_at !== null },
        });
      });
    },
  };
}

export type LandingDomains = ReturnType<typeof createLandingDomains>;
