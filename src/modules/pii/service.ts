import { MESSAGES } from '../../core/error-text.ts';
import { newId } from '../../core/ids.ts';
import type { Db } from '../../db/database.ts';
import { inTransaction } from '../../db/database.ts';
import type { Actor, Clock } from '../../core/context.ts';
import { invalid, invalidState, notFound } from '../../core/errors.ts';
import { requirePermission, tenantOf } from '../../core/principal.ts';
import type { KeyRing } from '../../lib/crypto.ts';
import type { FileStorage } from '../../adapters/storage/types.ts';
import type { AuditService } from '../audit/service.ts';
import type { DistributorsService } from '../distributors/service.ts';
import type { Ledger } from '../ledger/service.ts';
import type { ProgramService } from '../program/service.ts';
import type { PayoutAccountInput } from '../withdrawals/accounts.ts';
import { createPersonalFields, PERSONAL_FIELDS, type PersonalField } from './fields.ts';
import type { PersonalDataExport, Revealed, RevealedPayoutAccount } from './types.ts';
import { piiRepo } from './repo.ts';
import { distributorsRepo, documentsRepo } from '../distributors/repo.ts';
import { portalRepo } from '../portal/repo.ts';
import { wechatRepo } from '../wechat/repo.ts';
import { adminRepo } from '../admin/repo.ts';
import { referralRepo } from '../referral/repo.ts';
import { payoutAccountsRepo } from '../withdrawals/repo.ts';
import { distributorsSharingIdentity } from './identities.ts';
import { personalDataSheets } from './sheets.ts';
import { buildWorkbook } from './workbook.ts';
import type { Lang } from '../../lib/export/spec.ts';

/** What an erased distributor is called from then on: no name, still a line in the team tree. */
export const ERASED_NAME = '已注销用户';
/** What an erased payout account shows. */
export const ERASED_ACCOUNT = '已删除';

export type RevealField = PersonalField | 'payout_accounts';
export const REVEAL_FIELDS: readonly RevealField[] = [...PERSONAL_FIELDS, 'payout_accounts'];

export type { PersonalDataExport, Revealed, RevealedPayoutAccount } from './types.ts';

export interface ErasureResult {
  already_erased: boolean;
  payout_accounts: number;
  documents: number;
  documents_not_deleted: number;
  sessions_revoked: number;
  visits_anonymised: number;
}

export interface ErasureRequestView {
  id: string;
  status: 'open' | 'done';
  requested_at: string;
  resolved_at: string | null;
}

function erasureRequestView(r: { id: string; status: 'open' | 'done'; requested_at: Date; resolved_at: Date | null }): ErasureRequestView {
  return { id: r.id, status: r.status, requested_at: r.requested_at.toISOString(), resolved_at: r.resolved_at?.toISOString() ?? null };
}

/**
 * Personal data under PIPL: the whole values for those who need them (pii:read, each access
 * audited), the person's data exported on request (JSON or .xlsx), and erasure that anonymises
 * the person while the ledger keeps every amount and id.
 */
export function createPiiService(deps: {
  db: Db;
  clock: Clock;
  audit: AuditService;
  keyring: KeyRing;
  storage: FileStorage;
  ledger: Ledger;
  program: ProgramService;
  distributors: DistributorsService;
}) {
  const { db, clock, audit, keyring, storage, ledger, program, distributors } = deps;
  const personal = createPersonalFields(keyring);

  /** A tenant caller with pii:read, or the distributor itself for its own record. */
  function scope(actor: Actor, distributorId: string): string {
    const p = actor.principal;
    if (p.kind === 'distributor') {
      if (p.distributorId !== distributorId) throw notFound('distributor');
      return p.tenantId;
    }
    requirePermission(p, 'pii:read');
    return tenantOf(p);
  }

  function accountView(r: Awaited<ReturnType<typeof piiRepo.payoutAccounts>>[number]): RevealedPayoutAccount {
    return {
      id: r.id,
      channel: r.channel,
      details: r.details_enc ? (JSON.parse(keyring.decrypt(r.details_enc)) as PayoutAccountInput) : null,
      display: r.display,
      is_default: r.is_default,
      created_at: r.created_at.toISOString(),
      disabled_at: r.disabled_at?.toISOString() ?? null,
    };
  }

  async function collect(tenantId: string, distributorId: string): Promise<PersonalDataExport> {
    const d = await distributors.load(db, tenantId, distributorId);
    const settings = await program.read(db, tenantId);
    const [accounts, bindings, orders, commissions, statements, withdrawals, visits, documents, balances] = await Promise.all([
      piiRepo.payoutAccounts(db, tenantId, d.id),
      piiRepo.bindingEvents(db, tenantId, d.external_id),
      piiRepo.ordersAsBuyer(db, tenantId, d.external_id),
      piiRepo.commissionsEarned(db, tenantId, d.id),
      piiRepo.statements(db, tenantId, d.id),
      piiRepo.withdrawals(db, tenantId, d.id),
      piiRepo.visitsByDay(db, tenantId, d.id, settings.timezone),
      piiRepo.documents(db, tenantId, d.id),
      ledger.balances(db, tenantId, d.id),
    ]);
    const text = (v: unknown) => (typeof v === 'string' && v !== '' ? v : null);
    const iso = (v: Date | null) => v?.toISOString() ?? null;
    return {
      generated_at: clock.now().toISOString(),
      tenant_id: tenantId,
      distributor: {
        id: d.id,
        external_id: d.external_id,
        name: d.name,
        status: d.status,
        status_reason: d.status_reason,
        invite_code: d.invite_code,
        referrer_id: d.referrer_id,
        grade: d.grade_code,
        region_code: d.region_code,
        source: d.source,
        company: text(d.profile.company),
        licence_no: text(d.profile.licence_no),
        note: text(d.profile.note),
        consent_at: iso(d.consent_at),
        created_at: d.created_at.toISOString(),
        approved_at: iso(d.approved_at),
        erased_at: iso(d.erased_at),
      },
      personal: personal.decode(d),
      balances: {
        pending_fen: balances.pending,
        available_fen: balances.available,
        withdrawable_fen: balances.withdrawable,
        withdrawing_fen: balances.withdrawing,
        withdrawn_fen: balances.withdrawn,
      },
      payout_accounts: accounts.map(accountView),
      bindings: bindings.map((b) => ({ ...b, at: b.at.toISOString() })),
      orders: orders.map((o) => ({ ...o, paid_at: o.paid_at?.toISOString() ?? null })),
      commissions: commissions.map((c) => ({ ...c, created_at: c.created_at.toISOString(), settled_at: iso(c.settled_at) })),
      statements: statements.map((s) => ({
        ...s,
        period_end: s.period_end.toISOString(),
        created_at: s.created_at.toISOString(),
        approved_at: iso(s.approved_at),
      })),
      withdrawals: withdrawals.map((w) => ({ ...w, created_at: w.created_at.toISOString(), paid_at: iso(w.paid_at) })),
      visits,
      documents: documents.map((f) => ({
        id: f.id,
        kind: f.kind,
        filename: f.filename,
        content_type: f.content_type,
        size_bytes: f.size_bytes,
        created_at: f.created_at.toISOString(),
      })),
    };
  }

  return {
    /**
     * Whole values of a distributor's personal data, for roles that need them (owner, finance,
     * the API key). Each call writes an audit entry naming the fields shown, never the values.
     */
    async reveal(actor: Actor, distributorId: string, fields: readonly RevealField[] = REVEAL_FIELDS): Promise<Revealed> {
      requirePermission(actor.principal, 'pii:read');
      const tenantId = tenantOf(actor.principal);
      const wanted = [...new Set(fields)];
      if (wanted.length === 0) throw invalid({ en: 'name at least one field', zh: '请至少填写一个字段' });
      return inTransaction(db, async (tx) => {
        const d = await distributors.load(tx, tenantId, distributorId);
        const data = personal.decode(d);
        const out: Revealed = { distributor_id: d.id };
        for (const f of wanted) {
          if (f === 'payout_accounts') out.payout_accounts = (await piiRepo.payoutAccounts(tx, tenantId, d.id)).map(accountView);
          else out[f] = data[f];
        }
        await audit.record(tx, actor, { action: 'pii.reveal', targetType: 'distributor', targetId: d.id, after: { fields: wanted } });
        return out;
      });
    },

    /**
     * Everything Fenxiao holds about the person, decrypted, as JSON or a workbook with a sheet per
     * section. For pii:read callers and for the distributor itself (its portal); audited either way.
     */
    async exportPersonalData(
      actor: Actor,
      distributorId: string,
      format: 'json' | 'xlsx',
      lang: Lang = 'zh',
    ): Promise<{ data: PersonalDataExport; body: Buffer | null }> {
      const tenantId = scope(actor, distributorId);
      const data = await collect(tenantId, distributorId);
      await audit.record(db, actor, { action: 'pii.export', targetType: 'distributor', targetId: distributorId, after: { format } });
      if (format === 'json') return { data, body: null };
      const tz = (await program.read(db, tenantId)).timezone;
      return { data, body: await buildWorkbook(personalDataSheets(data), { lang, tz, generatedAt: new Date(data.generated_at) }) };
    },

    /**
     * Erasure at the person's request (PIPL art. 47): its personal data is destroyed, its name
     * becomes 已注销用户 <id>, payout account details, documents, portal password and sessions
     * go, its link's visits lose IP and browser, and the status becomes `erased` (terminal: no
     * login, no new commission, no withdrawal). Journals, postings, commission lines, statements
     * and withdrawals keep every amount and id, so the ledger stays whole.
     *
     * Refused (409) while money is still owed to the person or on its way (pending, available,
     * withdrawable or withdrawing balances above zero, a withdrawal under review or being paid):
     * settle and pay out first, so no payout needs the details erasure destroys. A negative
     * balance (a clawback not yet offset) does not block: it stays in the ledger.
     */
    async erase(actor: Actor, distributorId: string, reason: string) {
      requirePermission(actor.principal, 'pii:erase');
      const tenantId = tenantOf(actor.principal);
      if (!reason.trim()) throw invalid(MESSAGES.reasonRequired());
      const now = clock.now();
      const outcome = await inTransaction(db, async (tx) => {
        const before = await piiRepo.findForUpdate(tx, tenantId, distributorId);
        if (!before) throw notFound('distributor');
        if (before.status === 'erased')
          return { keys: [] as string[], result: { already_erased: true, payout_accounts: 0, documents: 0, sessions_revoked: 0, visits_anonymised: 0 } };
        const b = await ledger.balances(tx, tenantId, distributorId);
        const open = await piiRepo.openWithdrawals(tx, tenantId, distributorId);
        const owed = (
          [
            ['pending', b.pending],
            ['available', b.available],
            ['withdrawable', b.withdrawable],
            ['withdrawing', b.withdrawing],
            ['in payout', b.in_flight],
          ] as const
        ).filter(([, v]) => v > 0);
        if (owed.length > 0 || open > 0) {
          const parts = [...owed.map(([k, v]) => `${k} ${v} fen`), ...(open > 0 ? [`${open} withdrawal(s) under review or being paid`] : [])];
          throw invalidState({
            en: `the distributor still has money in Fenxiao (${parts.join(', ')}): settle and pay it out before erasing`,
            zh: `该分销员在 Fenxiao 中仍有资金（${parts.join('，')}）：请先结算并打款，再删除个人信息`,
          });
        }
        const present = personal.present(before);
        await distributorsRepo.anonymise(tx, tenantId, distributorId, { name: `${ERASED_NAME} ${distributorId.slice(-6)}`, status_reason: reason, at: now });
        const payoutAccounts = await payoutAccountsRepo.destroyDetailsOf(tx, tenantId, distributorId, ERASED_ACCOUNT, now);
        await portalRepo.deleteCredentialsOf(tx, tenantId, distributorId);
        await wechatRepo.deleteIdentitiesOf(tx, tenantId, distributorId);
        const sessions = await adminRepo.revokeDistributorSessions(tx, tenantId, distributorId, now);
        const visits = await referralRepo.anonymiseVisits(tx, tenantId, distributorId);
        const keys = await documentsRepo.deleteAllOf(tx, tenantId, distributorId);
        // The person's own request, if it made one, is answered by this erasure.
        await piiRepo.closeErasureRequests(tx, tenantId, distributorId, now);
        await audit.record(tx, actor, {
          action: 'distributor.erase',
          targetType: 'distributor',
          targetId: distributorId,
          before: { status: before.status, fields: present, had_consent: before.consent_at !== null },
          after: { status: 'erased', payout_accounts: payoutAccounts, documents: keys.length, sessions_revoked: sessions, visits_anonymised: visits },
          reason,
        });
        return {
          keys,
          result: { already_erased: false, payout_accounts: payoutAccounts, documents: keys.length, sessions_revoked: sessions, visits_anonymised: visits },
        };
      });
      // Files go once the rows that named them are gone; a file that cannot be deleted now is
      // counted (its key holds only ids) and stays unreachable through Fenxiao.
      let notDeleted = 0;
      for (const key of outcome.keys) {
        try {
          await storage.delete(key);
        } catch {
          notDeleted++;
        }
      }
      const erasure: ErasureResult = { ...outcome.result, documents_not_deleted: notDeleted };
      return { distributor: distributors.view(await distributors.load(db, tenantId, distributorId)), erasure };
    },

    /**
     * The distributor asks, from the portal, that its personal data be erased. Erasing is the
     * owner's act (irreversible, and refused while money is owed): the request waits for it in
     * the console. One open request at a time; asking again answers the open one.
     */
    async requestErasure(actor: Actor): Promise<ErasureRequestView> {
      const p = actor.principal;
      if (p.kind !== 'distributor') throw notFound('distributor');
      return inTransaction(db, async (tx) => {
        // The distributor's row is locked: two taps at once make one request.
        const d = await piiRepo.findForUpdate(tx, p.tenantId, p.distributorId);
        if (!d) throw notFound('distributor');
        if (d.status === 'erased') throw invalidState({ en: 'the personal data is already erased', zh: '个人信息已被删除' });
        const open = await piiRepo.openErasureRequest(tx, p.tenantId, p.distributorId);
        if (open) return erasureRequestView(open);
        const row = await piiRepo.insertErasureRequest(tx, {
          id: newId('era'),
          tenant_id: p.tenantId,
          distributor_id: p.distributorId,
          requested_at: clock.now(),
        });
        if (!row) throw new Error('an open erasure request appeared under the row lock');
        await audit.record(tx, actor, {
          action: 'distributor.erasure_request',
          targetType: 'distributor',
          targetId: p.distributorId,
          after: { request_id: row.id, status: 'open' },
        });
        return erasureRequestView(row);
      });
    },

    /** The distributor's newest erasure request (open, or done), or null. */
    async myErasureRequest(actor: Actor): Promise<ErasureRequestView | null> {
      const p = actor.principal;
      if (p.kind !== 'distributor') throw notFound('distributor');
      const row = await piiRepo.latestErasureRequest(db, p.tenantId, p.distributorId);
      return row ? erasureRequestView(row) : null;
    },

    /** The tenant's erasure requests for the console (ids, names and dates; no personal data beyond the name). */
    async listErasureRequests(actor: Actor, filter: { status?: 'open' | 'done' | undefined; distributorId?: string | undefined }, limit: number) {
      requirePermission(actor.principal, 'read');
      const rows = await piiRepo.listErasureRequests(db, tenantOf(actor.principal), filter, limit);
      return rows.map((r) => ({
        id: r.id,
        distributor_id: r.distributor_id,
        distributor_name: r.distributor_name,
        status: r.status,
        requested_at: r.requested_at.toISOString(),
        resolved_at: r.resolved_at?.toISOString() ?? null,
      }));
    },

    /** Distributors sharing a phone, ID number or payout account with this one (no values shown). */
    async sharedIdentities(actor: Actor, distributorId: string) {
      requirePermission(actor.principal, 'read');
      const tenantId = tenantOf(actor.principal);
      await distributors.load(db, tenantId, distributorId);
      return distributorsSharingIdentity(db, tenantId, { distributorId });
    },
  };
}

export type PiiService = ReturnType<typeof createPiiService>;
