import { describe, expect, it } from 'vitest';
import pino from 'pino';
import { LOG_REDACT, LOG_SERIALIZERS, redactUrl, safeError } from './log-safety.ts';

describe('log safety', () => {
  it.each([
    ['/v1/distributors?q=13812345678&limit=5', '/v1/distributors?q=…&limit=…'],
    ['/v1/distributors/dst_1', '/v1/distributors/dst_1'],
    ['/v1/x?13812345678=1', '/v1/x?…=…'],
    ['/v1/x?', '/v1/x?'],
  ])('redacts query values: %s', (url, safe) => {
    expect(redactUrl(url)).toBe(safe);
  });

  it("keeps an error's type, message and SQLSTATE, drops the driver's parameters and failing row", () => {
    const err = Object.assign(new Error('null value in column "external_id" violates not-null constraint'), {
      code: '23502',
      table: 'distributors',
      detail: 'Failing row contains (dst_1, 13812345678).',
      params: ['13812345678'],
      query: 'insert …',
    });
    const out = safeError(err) as Record<string, unknown>;
    expect(out).toMatchObject({ type: 'Error', code: '23502', table: 'distributors', message: err.message });
    expect(JSON.stringify(out)).not.toContain('13812345678');
  });

  it('cuts the quoted value out of a data exception, in the message and the stack', () => {
    const err = Object.assign(new Error('invalid input syntax for type bigint: "13812345678"'), { code: '22P02' });
    const out = safeError(err) as { message: string; stack: string };
    expect(out.message).toBe('invalid input syntax for type bigint: "…"');
    expect(out.stack).not.toContain('13812345678');
  });

  it('follows causes', () => {
    const inner = Object.assign(new Error('x'), { params: ['secret-value'] });
    const out = safeError(new Error('outer', { cause: inner }));
    expect(JSON.stringify(out)).not.toContain('secret-value');
  });

  it('a pino logger with these serializers writes none of it', () => {
    const lines: string[] = [];
    const log = pino(
      { level: 'info' },
      {
        write: (l: string) => {
          lines.push(l);
        },
      },
    ).child({}, { serializers: LOG_SERIALIZERS, redact: LOG_REDACT });
    log.error(
      {
        err: Object.assign(new Error('boom'), { params: ['13812345678'] }),
        req: { method: 'GET', url: '/v1/distributors?q=13812345678', headers: { authorization: 'Bearer fxk_secret' } },
      },
      'failed',
    );
    log.info({ password: 'hunter2-password' }, 'x');
    expect(lines.join('')).not.toMatch(/13812345678|fxk_secret|hunter2/);
    expect(lines.join('')).toContain('/v1/distributors?q=…');
  });
});
