import type { Writable } from 'node:stream';
import type { FastifyReply } from 'fastify';
import type { Db, Tx } from '../../db/database.ts';
import type { Actor } from '../../core/context.ts';
import { invalid, notFound } from '../../core/errors.ts';
import { requirePermission, tenantOf } from '../../core/principal.ts';
import type { CommissionStatus, StatementStatus, WithdrawalChannel, WithdrawalStatus } from '../../db/schema.ts';
import {
  keysetPages,
  sendExport,
  writeExport,
  type ExportFormat,
  type ExportJob,
  type ExportJobs,
  type ExportResult,
  type ExportSpec,
  type Lang,
} from '../../lib/export/index.ts';
import { localDate } from '../../core/time.ts';
import type { ProgramService } from '../program/service.ts';
import { mismatchIndex, type ReconciliationService } from '../reconciliation/service.ts';
import { exportsRepo, type ListFilter } from './repo.ts';
import { periodOf, type Period } from './period.ts';
import { snapshotRows } from './snapshot.ts';
import { commissionsExport, mismatchesExport, reconciliationExport, statementsExport, withdrawalsExport } from './specs.ts';

export const EXPORT_KINDS = ['statements', 'withdrawals', 'commissions', 'reconciliation', 'reconciliation-mismatches'] as const;
export type ExportKind = (typeof EXPORT_KINDS)[number];

export const STATEMENT_STATUSES: readonly StatementStatus[] = ['pending_review', 'approved', 'rejected'];
export const WITHDRAWAL_STATUSES: readonly WithdrawalStatus[] = ['pending_review', 'approved', 'paid', 'failed', 'rejected'];
export const WITHDRAWAL_CHANNELS: readonly WithdrawalChannel[] = ['manual', 'alipay', 'wechat', 'bank'];
export const COMMISSION_STATUSES: readonly CommissionStatus[] = ['pending', 'available', 'settled', 'reversed'];

/** The filters an export may take; which apply depends on its kind (see routes.ts). */
export interface ExportFilters {
  from?: string | undefined;
  to?: string | undefined;
  status?: readonly string[] | undefined;
  channel?: readonly string[] | undefined;
  distributor_id?: string | undefined;
}

const ALLOWED: Record<ExportKind, { status?: readonly string[]; channel?: readonly string[]; distributor?: true }> = {
  statements: { status: STATEMENT_STATUSES, distributor: true },
  withdrawals: { status: WITHDRAWAL_STATUSES, channel: WITHDRAWAL_CHANNELS, distributor: true },
  commissions: { status: COMMISSION_STATUSES, distributor: true },
  reconciliation: {},
  'reconciliation-mismatches': {},
};

/** An export ready to run: its rows are read only when it is sent, written or started as a job. */
export interface PreparedExport {
  kind: ExportKind;
  tenantId: string;
  name: string;
  tz: string;
  lang: Lang;
  /** The download's name without its extension. */
  filename: string;
  params: Record<string, unknown>;
  /** Rows expected (for a progress percentage); null when unknown. */
  count(): Promise<number | null>;
  /** Streams it as the HTTP response. */
  send(reply: FastifyReply, format: ExportFormat): Promise<FastifyReply>;
  /** Starts it as a background job of the registry. */
  startJob(jobs: ExportJobs, format: ExportFormat): Promise<ExportJob>;
  /** Writes it into a file or any stream (the CLI). */
  write(out: Writable, format: ExportFormat, options?: { onProgress?: (rows: number) => void }): Promise<ExportResult>;
}

function check(kind: ExportKind, f: ExportFilters): void {
  const allowed = ALLOWED[kind];
  for (const [name, values, ok] of [
    ['status', f.status, allowed.status],
    ['channel', f.channel, allowed.channel],
  ] as const) {
    if (!values?.length) continue;
    if (!ok) throw invalid({ en: `the ${kind} export takes no ${name} filter`, zh: `${kind} 导出不接受 ${name} 筛选条件` });
    const bad = values.find((v) => !ok.includes(v));
    if (bad !== undefined) throw invalid({ en: `${name} "${bad}" is not one of ${ok.join(', ')}`, zh: `${name} "${bad}" 不在可选值 ${ok.join('、')} 之中` });
  }
  if (f.distributor_id !== undefined && !allowed.distributor)
    throw invalid({ en: `the ${kind} export takes no distributor_id filter`, zh: `${kind} 导出不接受 distributor_id 筛选条件` });
}

/**
 * The business exports (statements, the withdrawal ledger, commission lines, reconciliation and
 * its mismatches) for finance, owners and auditors. Each reads its rows inside one REPEATABLE
 * READ snapshot (exports/snapshot.ts), so a file's rows and totals row agree with the ledger at
 * one instant; rows come in keyset pages, never all at once.
 */
export function createExportsService(deps: { db: Db; program: ProgramService; reconciliation: ReconciliationService; pageSize?: number }) {
  const { db, program, reconciliation } = deps;
  const pageSize = deps.pageSize ?? 1000;

  function prepared<Row>(
    base: Omit<PreparedExport, 'send' | 'startJob' | 'write' | 'name'>,
    spec: ExportSpec<Row>,
    rows: () => AsyncIterable<Row>,
  ): PreparedExport {
    const common = { tz: base.tz, lang: base.lang, params: base.params };
    return {
      ...base,
      name: spec.name,
      send: (reply, format) => sendExport(reply, spec, rows(), { ...common, format, filename: base.filename }),
      startJob: (jobs, format) =>
        jobs.start({
          tenantId: base.tenantId,
          spec,
          rows: () => rows(),
          total: base.count(),
          format,
          filename: base.filename,
          permission: 'finance:read',
          ...common,
        }),
      write: (out, format, options = {}) =>
        writeExport(format, spec, rows(), out, { ...common, ...(options.onProgress ? { onProgress: options.onProgress } : {}) }),
    };
  }

  /** Keyset pages of one query inside the snapshot transaction. */
  function pages<Row>(tx: Tx, fetch: (tx: Tx, after: string | null, limit: number) => Promise<Row[]>, cursorOf: (r: Row) => string) {
    return keysetPages({ pageSize, fetch: (after: string | null, limit) => fetch(tx, after, limit), cursorOf });
  }

  function fileName(title: string, period: Period, tz: string): string {
    const day = (d: Date, exclusiveEnd: boolean) => localDate(new Date(d.getTime() - (exclusiveEnd ? 1 : 0)), tz);
    if (!period.from && !period.to) return title;
    return `${title}_${period.from ? day(period.from, false) : ''}~${period.to ? day(period.to, true) : ''}`;
  }

  /**
   * Checks the caller (finance:read) and the filters, and answers the export, not yet run. The
   * command line passes a system actor.
   */
  async function prepare(actor: Actor, kind: ExportKind, filters: ExportFilters, lang: Lang = 'zh'): Promise<PreparedExport> {
    requirePermission(actor.principal, 'finance:read');
    const tenantId = tenantOf(actor.principal);
    if (!(EXPORT_KINDS as readonly string[]).includes(kind)) throw invalid({ en: `unknown export ${kind}`, zh: `未知的导出类型 ${kind}` });
    check(kind, filters);
    const tenant = await exportsRepo.tenantExists(db, tenantId);
    if (!tenant) throw notFound('tenant');
    const tz = (await program.read(db, tenantId)).timezone;
    const period = periodOf(filters, tz);
    const params: Record<string, unknown> = {
      from: filters.from,
      to: filters.to,
      ...(filters.status?.length ? { status: [...filters.status] } : {}),
      ...(filters.channel?.length ? { channel: [...filters.channel] } : {}),
      distributor_id: filters.distributor_id,
      ...(kind.startsWith('reconciliation') ? { basis: 'withdrawal requested at' } : {}),
    };
    const distributorId = filters.distributor_id;
    const base = (title: { zh: string; en: string }, count: () => Promise<number | null>) => ({
      kind,
      tenantId,
      tz,
      lang,
      params,
      count,
      filename: fileName(title[lang], period, tz),
    });

    switch (kind) {
      case 'statements': {
        const f: ListFilter<StatementStatus> = { tenantId, period, statuses: filters.status as readonly StatementStatus[] | undefined, distributorId };
        return prepared(
          base(statementsExport.title, () => exportsRepo.countStatements(db, f)),
          statementsExport,
          () =>
            snapshotRows(db, (tx) =>
              pages(
                tx,
                (ex, after, limit) => exportsRepo.statementPage(ex, f, after, limit),
                (r) => r.statement_id,
              ),
            ),
        );
      }
      case 'commissions': {
        const f: ListFilter<CommissionStatus> = { tenantId, period, statuses: filters.status as readonly CommissionStatus[] | undefined, distributorId };
        return prepared(
          base(commissionsExport.title, () => exportsRepo.countCommissions(db, f)),
          commissionsExport,
          () =>
            snapshotRows(db, (tx) =>
              pages(
                tx,
                (ex, after, limit) => exportsRepo.commissionPage(ex, f, after, limit),
                (r) => r.commission_id,
              ),
            ),
        );
      }
      case 'withdrawals': {
        const f = {
          tenantId,
          period,
          statuses: filters.status as readonly WithdrawalStatus[] | undefined,
          channels: filters.channel as readonly WithdrawalChannel[] | undefined,
          distributorId,
        };
        return prepared(
          base(withdrawalsExport.title, () => reconciliation.countWithdrawals(db, f)),
          withdrawalsExport,
          () => snapshotRows(db, (tx) => reconciliation.withdrawalsWithin(tx, f, pageSize)),
        );
      }
      case 'reconciliation': {
        const f = { tenantId, period };
        return prepared(
          base(reconciliationExport.title, () => reconciliation.countWithdrawals(db, f)),
          reconciliationExport,
          () =>
            snapshotRows(db, async function* (tx) {
              // The mismatches first, in the same snapshot, so each row can name its own.
              const codesOf = mismatchIndex(await reconciliation.mismatchesWithin(tx, tenantId, period));
              for await (const r of reconciliation.withdrawalsWithin(tx, f, pageSize)) {
                yield { ...r, mismatches: codesOf(r.withdrawal_id, r.payout_id).join(', ') };
              }
            }),
        );
      }
      case 'reconciliation-mismatches':
        return prepared(
          base(mismatchesExport.title, async () => null),
          mismatchesExport,
          () =>
            snapshotRows(db, async function* (tx) {
              yield* await reconciliation.mismatchesWithin(tx, tenantId, period);
            }),
        );
      default: {
        const never: never = kind;
        throw invalid({ en: `unknown export ${String(never)}`, zh: `未知的导出类型 ${String(never)}` });
      }
    }
  }

  return { prepare };
}

export type ExportsService = ReturnType<typeof createExportsService>;
