import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import { jobErrorIn } from '../../core/errors.ts';
import { actor, languageOf, moduleRoutes } from '../../core/route.ts';
import { Nullable, SignedFen, Strict, Text, Timestamp, errors } from '../../core/schema.ts';
import type { Ledger, VerifyJob } from './service.ts';

/** A verification job as answered: a failure's message in the reader's language (the job keeps both). */
const jobView = (job: VerifyJob, req: FastifyRequest) => ({ ...job, error: jobErrorIn(job.error, languageOf(req)) });

export const ledgerRoutes = moduleRoutes<Ledger>((app, ledger) => {
  const tags = ['ledger'];

  const Mode = Type.Union([Type.Literal('full'), Type.Literal('incremental')]);
  const Break = Strict({ invariant: Type.String(), subject: Type.String(), detail: Type.String() });
  const Verification = Strict(
    {
      ok: Type.Boolean(),
      tenant_id: Nullable(Type.String()),
      checked: Strict({ journals: Type.Integer(), postings: Type.Integer(), accounts: Type.Integer(), commissions: Type.Integer() }),
      breaks: Type.Array(Break),
      mode: Mode,
      since_posting_id: Nullable(Type.Integer({ description: 'the checkpoint an incremental pass started from: the postings after it were checked' })),
      checkpoint_posting_id: Nullable(Type.Integer({ description: 'the checkpoint after this pass (moved only by a clean one)' })),
      full_only: Type.Array(Type.String(), { description: 'invariants over all history that an incremental pass leaves to the full pass' }),
      started_at: Timestamp(),
      finished_at: Timestamp(),
      duration_ms: Type.Integer({ minimum: 0 }),
    },
    { title: 'LedgerVerification' },
  );
  const Job = Strict(
    {
      id: Type.String(),
      status: Type.Union([Type.Literal('queued'), Type.Literal('running'), Type.Literal('done'), Type.Literal('failed'), Type.Literal('cancelled')]),
      mode: Mode,
      done: Type.Integer({ minimum: 0, description: 'checks run so far' }),
      total: Nullable(Type.Integer({ minimum: 0, description: 'checks to run' })),
      started_at: Timestamp(),
      finished_at: Nullable(Timestamp()),
      result: Nullable(Verification),
      error: Nullable(Strict({ code: Type.String(), message: Type.String() })),
    },
    { title: 'LedgerVerifyJob' },
  );

  app.get(
    '/v1/ledger/verify',
    {
      config: { auth: 'tenant', permission: 'read' },
      schema: {
        tags,
        summary:
          'Check every ledger invariant for this tenant and name each break (mode=incremental: what was written since the last clean checkpoint); the result is kept',
        querystring: Strict({ mode: Type.Optional(Mode) }),
        response: { 200: Verification, ...errors(403) },
      },
    },
    async (req) => ledger.verify(actor(req), req.query.mode ?? 'full'),
  );

  app.get(
    '/v1/ledger/verifications/last',
    {
      config: { auth: 'tenant', permission: 'read' },
      schema: {
        tags,
        summary: 'The last verification of this tenant, its checkpoint and a verification under way (nothing is checked)',
        response: {
          200: Strict({
            last: Nullable(Verification),
            checkpoint: Nullable(Strict({ posting_id: Type.Integer(), at: Timestamp() })),
            last_full_at: Nullable(Timestamp()),
            job: Nullable(Job),
          }),
          ...errors(403),
        },
      },
    },
    async (req) => {
      const status = await ledger.verifyStatus(actor(req));
      return { ...status, job: status.job && jobView(status.job, req) };
    },
  );

  app.post(
    '/v1/ledger/verify/jobs',
    {
      config: { auth: 'tenant', permission: 'read' },
      schema: {
        tags,
        summary: 'Verify in the background (incremental by default): answers at once with a job to poll for progress and result (one at a time per tenant)',
        body: Strict({ mode: Type.Optional(Mode) }),
        response: { 202: Job, ...errors(403) },
      },
    },
    async (req, reply) => reply.code(202).send(jobView(await ledger.startVerifyJob(actor(req), req.body.mode ?? 'incremental', req.log), req)),
  );

  app.get(
    '/v1/ledger/verify/jobs/:id',
    {
      config: { auth: 'tenant', permission: 'read' },
      schema: {
        tags,
        summary: 'A background ledger verification: how far it has got, then its result',
        params: Strict({ id: Type.String({ maxLength: 64 }) }),
        response: { 200: Job, ...errors(404) },
      },
    },
    async (req) => jobView(await ledger.getVerifyJob(actor(req), req.params.id), req),
  );

  app.get(
    '/v1/journal-entries',
    {
      config: { auth: 'tenant', permission: 'read' },
      schema: {
        tags,
        summary: 'Journal entries with their postings, by what caused them',
        querystring: Strict({ ref_id: Text(64, { minLength: 1 }) }),
        response: {
          200: Strict({
            items: Type.Array(
              Strict({
                id: Type.String(),
                kind: Type.String(),
                ref_type: Type.String(),
                ref_id: Type.String(),
                memo: Nullable(Type.String()),
                created_at: Timestamp(),
                postings: Type.Array(
                  Strict({
                    account_id: Type.String(),
                    owner_id: Type.String(),
                    purpose: Type.String(),
                    amount_fen: SignedFen(),
                    commission_id: Nullable(Type.String()),
                    balance_after: Nullable(SignedFen()),
                  }),
                ),
              }),
            ),
            next_cursor: Type.Null(),
          }),
          ...errors(403),
        },
      },
    },
    async (req) => ledger.journalEntries(actor(req), req.query.ref_id),
  );
});
