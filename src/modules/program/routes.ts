import { Type } from '@sinclair/typebox';
import { actor, moduleRoutes } from '../../core/route.ts';
import { IdParams, List, OptionalBody, PageQuery, Strict, Text, errors } from '../../core/schema.ts';
import type { ProgramService } from './service.ts';
import { timingOf } from './timing.ts';
import {
  ChangeTimingQuery,
  Grade,
  GradeAnswer,
  GradeBody,
  GradeCode,
  MoneyControlsPatch,
  ProgramAnswer,
  ProgramPatch,
  ProgramProposal,
  ProgramSettings,
  type DeepPartial,
} from './schema.ts';

export const programRoutes = moduleRoutes<ProgramService>((app, program) => {
  app.get(
    '/v1/program',
    {
      config: { auth: 'tenant', permission: 'read' },
      schema: { tags: ['program'], summary: 'The program settings', response: { 200: ProgramSettings, ...errors() } },
    },
    async (req) => program.get(actor(req)),
  );

  app.put(
    '/v1/program',
    {
      config: { auth: 'tenant', permission: 'program:write' },
      schema: {
        tags: ['program'],
        summary:
          'Partial update: nested objects merge field by field; answers the whole program in force now. A change to a money control (freeze_days, review_threshold_fen, settlement.*, withdrawal.*) by a caller without program:money is not applied: it waits as pending_proposal for a second person. With effective_from the change is recorded in the rules timeline: later than now it is scheduled (cancel it at POST /v1/rule-changes/{id}/cancel), earlier it is back-dated (orders paid since then and created from now on use it; existing lines never change)',
        querystring: ChangeTimingQuery,
        body: ProgramPatch,
        response: { 200: ProgramAnswer, ...errors(403, 422) },
      },
    },
    async (req) => program.update(actor(req), req.body as DeepPartial<ProgramSettings>, timingOf(req.query)),
  );

  app.put(
    '/v1/program/money-controls',
    {
      config: { auth: 'tenant', permission: 'program:money' },
      schema: {
        tags: ['program'],
        summary: 'Finance sets the money controls directly (freeze days, review threshold, settlement, withdrawal limits); answers the whole program',
        body: MoneyControlsPatch,
        response: { 200: ProgramAnswer, ...errors(403, 422) },
      },
    },
    async (req) => program.updateMoneyControls(actor(req), req.body as DeepPartial<ProgramSettings>),
  );

  app.get(
    '/v1/program-proposals',
    {
      config: { auth: 'tenant', permission: 'read' },
      schema: {
        tags: ['program'],
        summary: 'Proposed changes to the money controls, newest first',
        querystring: Strict({
          ...PageQuery.properties,
          status: Type.Optional(Type.Union([Type.Literal('pending'), Type.Literal('confirmed'), Type.Literal('rejected')])),
        }),
        response: { 200: List(ProgramProposal), ...errors() },
      },
    },
    async (req) => program.listProposals(actor(req), { ...req.query, limit: req.query.limit ?? 50 }),
  );

  app.post(
    '/v1/program-proposals/:id/confirm',
    {
      config: { auth: 'tenant', permission: 'program:money' },
      schema: {
        tags: ['program'],
        summary: 'A second person applies a proposed change to the money controls (not its proposer; 409 when they changed since)',
        params: IdParams,
        body: OptionalBody(Strict({})),
        response: { 200: ProgramProposal, ...errors(403, 404, 409, 422) },
      },
    },
    async (req) => program.confirmProposal(actor(req), req.params.id),
  );

  app.post(
    '/v1/program-proposals/:id/reject',
    {
      config: { auth: 'tenant', permission: 'program:money' },
      schema: {
        tags: ['program'],
        summary: 'Reject a proposed change to the money controls, with a reason',
        params: IdParams,
        body: Strict({ reason: Text(500, { minLength: 1 }) }),
        response: { 200: ProgramProposal, ...errors(403, 404, 409) },
      },
    },
    async (req) => program.rejectProposal(actor(req), req.params.id, req.body.reason),
  );

  app.get(
    '/v1/grades',
    {
      config: { auth: 'tenant', permission: 'read' },
      schema: {
        tags: ['program'],
        summary: 'Grades, lowest rank first',
        response: { 200: Strict({ items: Type.Array(Grade), next_cursor: Type.Null() }), ...errors() },
      },
    },
    async (req) => ({ items: await program.listGrades(actor(req)), next_cursor: null }),
  );

  app.get(
    '/v1/grades/:code',
    {
      config: { auth: 'tenant', permission: 'read' },
      schema: { tags: ['program'], summary: 'One grade', params: Strict({ code: GradeCode }), response: { 200: Grade, ...errors(404) } },
    },
    async (req) => program.getGrade(actor(req), req.params.code),
  );

  app.put(
    '/v1/grades/:code',
    {
      config: { auth: 'tenant', permission: 'program:write' },
      schema: {
        tags: ['program'],
        summary: 'Create or replace a grade; with effective_from, scheduled or back-dated like PUT /v1/program',
        params: Strict({ code: GradeCode }),
        querystring: ChangeTimingQuery,
        body: GradeBody,
        response: { 200: GradeAnswer, ...errors(403, 422) },
      },
    },
    async (req) => program.putGrade(actor(req), req.params.code, req.body, timingOf(req.query)),
  );
});
