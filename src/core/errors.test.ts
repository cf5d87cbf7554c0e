import { describe, expect, it } from 'vitest';
import { AppError, databaseUnavailable, fromPgError, isDatabaseUnavailable, jobErrorIn, jobErrorOf } from './errors.ts';

const withCode = (message: string, code: string) => Object.assign(new Error(message), { code });

describe('isDatabaseUnavailable: the database away, not the statement wrong', () => {
  const away: [string, unknown][] = [
    ['57P01 admin_shutdown (pg_ctl stop -m fast)', withCode('terminating connection due to administrator command', '57P01')],
    ['57P02 crash_shutdown (a backend crashed, or -m immediate)', withCode('terminating connection because of crash of another server process', '57P02')],
    ['57P03 cannot_connect_now (starting up, shutting down)', withCode('the database system is starting up', '57P03')],
    ['53300 too_many_connections', withCode('sorry, too many clients already', '53300')],
    ['08006 connection_failure', withCode('connection failure', '08006')],
    ['08001 unable to connect', withCode('could not connect', '08001')],
    ['ECONNREFUSED (nothing listening)', withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED')],
    ['ECONNRESET', withCode('read ECONNRESET', 'ECONNRESET')],
    ['node-postgres: socket closed under the client', new Error('Connection terminated unexpectedly')],
    ['node-postgres: connect timed out', new Error('Connection terminated due to connection timeout')],
    ['node-postgres: a client whose connection died, used again', new Error('Client has encountered a connection error and is not queryable')],
    ['node-postgres pool: no connection within the timeout', new Error('timeout exceeded when trying to connect')],
    [
      'AggregateError of every address of a host',
      Object.assign(
        new AggregateError(
          [withCode('connect ECONNREFUSED ::1:5432', 'ECONNREFUSED'), withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED')],
          'connect failed',
        ),
      ),
    ],
    ['wrapped as a cause', new Error('outer', { cause: withCode('read ECONNRESET', 'ECONNRESET') })],
    // PgBouncer's own errors (08P01) while PostgreSQL is away behind it.
    ['PgBouncer: the server connection died mid-query', withCode('server conn crashed?', '08P01')],
    ['PgBouncer: server logins failing', withCode('server login has been failing, try again later (server_login_retry)', '08P01')],
    ['PgBouncer: no server to connect to', withCode('pgbouncer cannot connect to server', '08P01')],
    ['PgBouncer: waited too long for a server connection', withCode('query_wait_timeout', '08P01')],
    ['PgBouncer: out of client slots', withCode('no more connections allowed (max_client_conn)', '08P01')],
  ];
  for (const [label, err] of away) it(`away: ${label}`, () => expect(isDatabaseUnavailable(err)).toBe(true));

  const notAway: [string, unknown][] = [
    ['23505 unique violation', withCode('duplicate key value', '23505')],
    ['40001 serialization failure (retried by inTransaction instead)', withCode('could not serialize access', '40001')],
    ['40P01 deadlock', withCode('deadlock detected', '40P01')],
    ['57014 query canceled (a statement timeout)', withCode('canceling statement due to statement timeout', '57014')],
    ['08P01 protocol violation (a bug, not an outage)', withCode('protocol violation', '08P01')],
    ["08P01 with a message that is not one of PgBouncer's outages", withCode('invalid message length', '08P01')],
    ['a PgBouncer message under another code', withCode('server conn crashed?', 'XX000')],
    ['a TypeError', new TypeError('Cannot read properties of undefined')],
    ['not an error', 'Connection terminated unexpectedly'],
    ['null', null],
  ];
  for (const [label, err] of notAway) it(`not away: ${label}`, () => expect(isDatabaseUnavailable(err)).toBe(false));

  it('is not a PostgreSQL error fromPgError translates into a 4xx', () => {
    for (const [, err] of away) expect(fromPgError(err)).toBeUndefined();
  });

  it('answers 503 service_unavailable, with a Retry-After of a few seconds and no internals', () => {
    const e = databaseUnavailable();
    expect([e.status, e.code]).toEqual([503, 'service_unavailable']);
    expect(e.details?.retry_after_seconds).toBeGreaterThanOrEqual(1);
    expect(e.details?.retry_after_seconds).toBeLessThanOrEqual(10);
    expect(e.message).not.toMatch(/ECONN|terminat|127\.0\.0\.1|5432/);
  });
});

describe("a background job's failure, kept in both languages and read in one", () => {
  it('keeps what an AppError says in English and Chinese', () => {
    const e = jobErrorOf(new AppError('invalid_state', { en: 'the period is closed', zh: '该期间已关闭' }), { en: 'failed', zh: '失败' });
    expect(e).toEqual({ code: 'invalid_state', message: 'the period is closed', zh: '该期间已关闭' });
    expect(jobErrorIn(e, 'en')).toEqual({ code: 'invalid_state', message: 'the period is closed' });
    expect(jobErrorIn(e, 'zh')).toEqual({ code: 'invalid_state', message: '该期间已关闭' });
  });

  it("says the job's own words for anything else, never the thrown message", () => {
    const e = jobErrorOf(new TypeError('Cannot read properties of undefined'), { en: 'the export failed', zh: '导出失败' });
    expect(e).toEqual({ code: 'internal_error', message: 'the export failed', zh: '导出失败' });
    expect(jobErrorIn(e, 'zh')?.message).toBe('导出失败');
  });

  it('reads a failure stored before the Chinese was kept as its code in Chinese', () => {
    expect(jobErrorIn({ code: 'internal_error', message: 'the run stopped' }, 'zh')).toEqual({ code: 'internal_error', message: '服务器内部错误' });
    expect(jobErrorIn({ code: 'internal', message: 'the run stopped' }, 'zh')).toEqual({ code: 'internal', message: '任务失败（internal）' });
    expect(jobErrorIn(null, 'zh')).toBeNull();
  });
});
