import { Type, type TLiteral, type TUnion } from '@sinclair/typebox';
import { actor, languageOf, moduleRoutes } from '../../core/route.ts';
import { Strict, errors } from '../../core/schema.ts';
import type { ExportsService } from './service.ts';
import { ExportJobResponse, exportJobView } from './jobs.ts';
import { EXPORT_FORMATS, contentTypeOf, type ExportFormat } from '../../lib/export/index.ts';
import { PeriodBound } from '../reconciliation/schema.ts';
import {
  COMMISSION_STATUSES,
  EXPORT_KINDS,
  STATEMENT_STATUSES,
  WITHDRAWAL_CHANNELS,
  WITHDRAWAL_STATUSES,
  type ExportFilters,
  type ExportKind,
} from './service.ts';

const oneOf = <T extends string>(values: readonly T[]): TUnion<TLiteral<T>[]> => Type.Union(values.map((v) => Type.Literal(v)));
/** `?status=paid&status=failed` (or a single value). */
const Many = <T extends string>(values: readonly T[], what: string) =>
  Type.Optional(
    Type.Array(oneOf(values), { minItems: 1, maxItems: values.length, uniqueItems: true, description: `${what}; repeat the parameter for several` }),
  );

const Period = {
  from: Type.Optional(PeriodBound('start of the period, inclusive')),
  to: Type.Optional(PeriodBound('end of the period, exclusive')),
};
const Distributor = Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'one distributor (the beneficiary, for commission lines)' }));
const Lang = Type.Optional(Type.Union([Type.Literal('zh'), Type.Literal('en')], { description: 'header language, zh by default' }));
const Format = Type.Union([Type.Literal('xlsx'), Type.Literal('csv')]);

/** Each export's filters; the period is by creation time (withdrawals: request time). */
const FILTERS = {
  statements: Strict({ ...Period, status: Many(STATEMENT_STATUSES, 'statement status'), distributor_id: Distributor }),
  withdrawals: Strict({
    ...Period,
    status: Many(WITHDRAWAL_STATUSES, 'withdrawal status'),
    channel: Many(WITHDRAWAL_CHANNELS, 'payout channel'),
    distributor_id: Distributor,
  }),
  commissions: Strict({ ...Period, status: Many(COMMISSION_STATUSES, 'commission line status'), distributor_id: Distributor }),
  reconciliation: Strict({ ...Period }),
  'reconciliation-mismatches': Strict({ ...Period }),
} as const;

const SUMMARY: Record<ExportKind, string> = {
  statements: 'Statements: amount, lines, debt paid off, review, and the journal that settled each',
  withdrawals:
    'The withdrawal ledger: one row per withdrawal with its payee account (masked), amount, fee, net, payout, provider reference, times and journals',
  commissions: 'Commission lines (clawbacks included): order, SKU, beneficiary, level, base, rate, amount, status, rule version and rate source',
  reconciliation: 'Reconciliation: each withdrawal of the period with what its journals moved, its payout clearing and the mismatches that name it',
  'reconciliation-mismatches': 'Reconciliation mismatches of the period, each named with what was expected and what the ledger holds',
};

/**
 * GET /v1/exports/{kind}.{xlsx|csv} streams an export as the response (for what a person
 * downloads at once); POST /v1/exports starts the same export as a background job for large
 * ones, and GET /v1/exports/{id} (src/app/export-routes.ts) follows it. These static paths win
 * over the job routes' `/v1/exports/:id`. finance, owner and auditor; another tenant's rows are
 * never read.
 */
export const exportsRoutes = moduleRoutes<ExportsService>((app, exportsService) => {
  const tags = ['exports'];

  function route(kind: ExportKind, format: ExportFormat) {
    app.get(
      `/v1/exports/${kind}.${format}`,
      {
        config: { auth: 'tenant', permission: 'finance:read' },
        schema: {
          tags,
          summary: `${SUMMARY[kind]} (.${format})`,
          querystring: Strict({ ...FILTERS[kind].properties, lang: Lang }),
          produces: [contentTypeOf(format)],
          response: { ...errors(403) },
        },
      },
      async (req, reply) => {
        const { lang, ...filters } = req.query as ExportFilters & { lang?: 'zh' | 'en' };
        const prepared = await exportsService.prepare(actor(req), kind, filters, lang ?? 'zh');
        return prepared.send(reply, format);
      },
    );
  }
  for (const kind of EXPORT_KINDS) for (const format of EXPORT_FORMATS) route(kind, format);

  app.post(
    '/v1/exports',
    {
      config: { auth: 'tenant', permission: 'finance:read' },
      schema: {
        tags,
        summary: 'Start an export as a background job; follow it at GET /v1/exports/{id}, download when done',
        body: Type.Union(
          EXPORT_KINDS.map((kind) =>
            Strict({
              kind: Type.Literal(kind),
              format: Format,
              lang: Lang,
              filters: Type.Optional(FILTERS[kind]),
            }),
          ),
        ),
        response: { 202: ExportJobResponse, ...errors(403, 429) },
      },
    },
    async (req, reply) => {
      const body = req.body as { kind: ExportKind; format: ExportFormat; lang?: 'zh' | 'en'; filters?: ExportFilters };
      const prepared = await exportsService.prepare(actor(req), body.kind, body.filters ?? {}, body.lang ?? 'zh');
      const job = await prepared.startJob(app.exportJobs, body.format);
      return reply
        .code(202)
        .header('location', `/v1/exports/${job.id}`)
        .send(exportJobView(job, languageOf(req)));
    },
  );
});
