import { Type } from '@sinclair/typebox';
import { actor, type App } from '../../app/http.ts';
import { Strict, errors } from '../../app/schema.ts';
import type { Services } from '../../app/services.ts';
import { Grade, GradeBody, GradeCode, ProgramPatch, ProgramSettings, type DeepPartial } from './schema.ts';

export function programRoutes(app: App, s: Services) {
  app.get('/v1/program', {
    config: { auth: 'tenant', permission: 'read' },
    schema: { tags: ['program'], summary: 'The program settings', response: { 200: ProgramSettings, ...errors() } },
  }, async (req) => s.program.get(actor(req)));

  app.put('/v1/program', {
    config: { auth: 'tenant', permission: 'program:write' },
    schema: {
      tags: ['program'], summary: 'Partial update: nested objects merge field by field; answers the whole program',
      body: ProgramPatch,
      response: { 200: ProgramSettings, ...errors(403, 422) },
    },
  }, async (req) => s.program.update(actor(req), req.body as DeepPartial<ProgramSettings>));

  app.get('/v1/grades', {
    config: { auth: 'tenant', permission: 'read' },
    schema: { tags: ['program'], summary: 'Grades, lowest rank first', response: { 200: Strict({ items: Type.Array(Grade), next_cursor: Type.Null() }), ...errors() } },
  }, async (req) => ({ items: await s.program.listGrades(actor(req)), next_cursor: null }));

  app.get('/v1/grades/:code', {
    config: { auth: 'tenant', permission: 'read' },
    schema: { tags: ['program'], summary: 'One grade', params: Strict({ code: GradeCode }), response: { 200: Grade, ...errors(404) } },
  }, async (req) => s.program.getGrade(actor(req), req.params.code));

  app.put('/v1/grades/:code', {
    config: { auth: 'tenant', permission: 'program:write' },
    schema: { tags: ['program'], summary: 'Create or replace a grade', params: Strict({ code: GradeCode }), body: GradeBody, response: { 200: Grade, ...errors(403, 422) } },
  }, async (req) => s.program.putGrade(actor(req), req.params.code, req.body));
}
