import { CODE_TEXT, MESSAGES, type Language, type LocalText, type Noun } from './error-text.ts';

/**
 * The closed catalogue of error codes, each with its HTTP status. CONTRACT.md fixes the first
 * eight; the rest are Fenxiao's own. Handlers throw AppError; one handler maps it to HTTP.
 */
export const ERROR_STATUS = {
  invalid_request: 400,
  unauthorized: 401,
  forbidden: 403,
  /** Fenxiao's four-eyes rules: the same person may not both ask and approve (issue 14). */
  second_person_required: 403,
  not_found: 404,
  conflict: 409,
  invalid_state: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  compliance_violation: 422,
  insufficient_balance: 422,
  /** Agent mode: a sale or a buyback of more units than an agent's stock holds. */
  insufficient_stock: 422,
  admission_conditions_unmet: 422,
  limit_exceeded: 422,
  risk_blocked: 422,
  rate_limited: 429,
  internal_error: 500,
  service_unavailable: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

/** Every code has its general text in both languages (error-text.ts): the compiler checks it here. */
export const CODE_TEXT_OF: { readonly [C in ErrorCode]: LocalText } = CODE_TEXT;

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: Record<string, unknown> | undefined;
  /** The message in Chinese; `message` is its English. */
  readonly zh: string;

  /** The message in both languages: written where it is thrown, or from the catalogue (`MESSAGES`). */
  constructor(code: ErrorCode, message: LocalText, details?: Record<string, unknown>) {
    super(message.en);
    this.name = 'AppError';
    this.code = code;
    this.status = ERROR_STATUS[code];
    this.details = details;
    this.zh = message.zh;
  }

  /** The message in `lang`. */
  messageIn(lang: Language): string {
    return lang === 'en' ? this.message : this.zh;
  }
}

export const invalid = (message: LocalText, details?: Record<string, unknown>) => new AppError('invalid_request', message, details);
export const notFound = (what: Noun) => new AppError('not_found', MESSAGES.notFound(what));
export const conflict = (message: LocalText) => new AppError('conflict', message);
export const invalidState = (message: LocalText, details?: Record<string, unknown>) => new AppError('invalid_state', message, details);
export const compliance = (message: LocalText) => new AppError('compliance_violation', message);
export const forbidden = (message: LocalText = MESSAGES.roleMayNot()) => new AppError('forbidden', message);

/** PostgreSQL SQLSTATEs worth translating; everything else is a 500. */
export function fromPgError(err: unknown): AppError | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return undefined;
  switch (code) {
    case '23505':
      return new AppError('conflict', MESSAGES.duplicateKey());
    case '23503':
      return new AppError('invalid_request', MESSAGES.missingReference());
    case '23514':
      // A balance past its bound (accounts_balance_limit): the amount is allowed, the total is not.
      if ((err as { constraint?: unknown }).constraint === 'accounts_balance_limit') return new AppError('limit_exceeded', MESSAGES.balancePastLimit());
      return new AppError('invalid_request', MESSAGES.valueOutsideAllowed());
    case '22003':
      return new AppError('invalid_request', MESSAGES.numberOutOfRange());
    case '22P02':
      return new AppError('invalid_request', MESSAGES.wrongFormat());
    case '22001':
      return new AppError('invalid_request', MESSAGES.textTooLong());
    // PostgreSQL text cannot hold U+0000 (the HTTP layer refuses it first; this is the backstop).
    case '22021':
    case '22P05':
      return new AppError('invalid_request', MESSAGES.unstorableCharacter());
    // A date the schema's date-time format lets through but PostgreSQL cannot hold (year 0000),
    // and a value too large to index: the caller's input, not a server fault.
    case '22007':
    case '22008':
      return new AppError('invalid_request', MESSAGES.dateOutOfRange());
    case '54000':
      return new AppError('invalid_request', MESSAGES.valueTooLarge());
    default:
      return undefined;
  }
}

/**
 * What says the database is away rather than that the statement was wrong: the server shutting
 * down or not yet accepting connections (57P01 admin_shutdown on every backend of a fast stop,
 * 57P02 crash_shutdown, 57P03 cannot_connect_now while it starts), out of connection slots (53300),
 * a connection exception (class 08, less 08P01, a protocol bug), and the socket-level failures of
 * node-postgres: refused, reset, or closed under a client ("Connection terminated unexpectedly").
 */
const UNAVAILABLE_SQLSTATES = new Set(['57P01', '57P02', '57P03', '57P05', '53300']);
const UNAVAILABLE_ERRNOS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
]);
const UNAVAILABLE_MESSAGES =
  /^(Connection terminated|Client has encountered a connection error and is not queryable|Client was closed and is not queryable|timeout exceeded when trying to connect)/;
/**
 * PgBouncer between Fenxiao and PostgreSQL (docs/deployment.md) keeps the client's connection when
 * the server's goes, and answers with errors of its own, all SQLSTATE 08P01: the query in flight
 * when the server connection died, a server that cannot be reached or logged into, a query that
 * waited too long for a server connection, the pooler out of client slots or going down. These
 * are the database being away, not a protocol bug (issue 13; test/pg/pgbouncer-restart.test.ts).
 */
const PGBOUNCER_UNAVAILABLE =
  /^(server conn crashed\?|pgbouncer cannot connect to server|server login has been failing|query_wait_timeout|no more connections allowed|pgbouncer is shutting down|server shutting down|database removed|client_login_timeout)/;

/**
 * Whether `err` is the database being unreachable (restarting, failing over, out of
 * connections): the caller may try again in a moment, which the HTTP layer says with a 503
 * `service_unavailable` and Retry-After. Not a reason to retry here: a COMMIT that failed this
 * way may have been applied, and only the client's idempotency key makes a second try safe.
 * Looks through `cause` and AggregateError (a connect to every address of a host) too.
 */
export function isDatabaseUnavailable(err: unknown, depth = 0): boolean {
  if (err === null || typeof err !== 'object' || depth > 4) return false;
  const e = err as { code?: unknown; message?: unknown; cause?: unknown; errors?: unknown };
  if (typeof e.code === 'string') {
    if (UNAVAILABLE_SQLSTATES.has(e.code) || UNAVAILABLE_ERRNOS.has(e.code)) return true;
    if (/^08[0-9A-Z]{3}$/.test(e.code) && e.code !== '08P01') return true;
    if (e.code === '08P01' && typeof e.message === 'string' && PGBOUNCER_UNAVAILABLE.test(e.message)) return true;
  }
  if (err instanceof Error && UNAVAILABLE_MESSAGES.test(err.message)) return true;
  if (Array.isArray(e.errors) && e.errors.some((x) => isDatabaseUnavailable(x, depth + 1))) return true;
  return isDatabaseUnavailable(e.cause, depth + 1);
}

/** How long a client is asked to wait (Retry-After) while the database is away: a restart takes a few seconds. */
export const DATABASE_RETRY_AFTER_SECONDS = 3;

/** The answer to a request that found the database away: 503, Retry-After, no internals. */
export function databaseUnavailable(): AppError {
  return new AppError('service_unavailable', MESSAGES.databaseUnavailable(), {
    retry_after_seconds: DATABASE_RETRY_AFTER_SECONDS,
  });
}

export function isUniqueViolation(err: unknown, constraint?: string): boolean {
  const e = err as { code?: unknown; constraint?: unknown } | null;
  if (e?.code !== '23505') return false;
  return constraint === undefined || e.constraint === constraint;
}

/** Serialization failure or deadlock: safe to retry the whole transaction. */
export function isRetryableTxError(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  if (e?.code === '40001' || e?.code === '40P01') return true;
  // One of our named statements lost behind a pooler (db/prepare.ts): naming is off now, and the
  // transaction runs again with unnamed statements.
  return isLostPreparedStatement(err);
}

/**
 * A named statement of Fenxiao's (db/prepare.ts, `fx_…`) that the server connection does not have
 * (26000), or already has from another client (42P05): the client's connection is not one server
 * session, as behind a pooler in transaction mode that does not keep named statements (PgBouncer
 * before 1.21).
 */
export function isLostPreparedStatement(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  return (e?.code === '26000' || e?.code === '42P05') && typeof e.message === 'string' && /prepared statement "fx_[0-9a-f]+"/.test(e.message);
}

/**
 * Why a background job failed, as the jobs table keeps it: the code, the English message and its
 * Chinese, so whoever reads the job later is answered in the language it asks for (`jobErrorIn`).
 * Rows written before `zh` was kept read in Chinese as their code's general text.
 */
export interface JobError {
  code: string;
  message: string;
  zh?: string;
}

/** A job's failure from what it threw: an AppError says itself, anything else says `otherwise` (the cause goes to the log). */
export function jobErrorOf(err: unknown, otherwise: LocalText, code = 'internal_error'): JobError {
  return err instanceof AppError ? { code: err.code, message: err.message, zh: err.zh } : { code, message: otherwise.en, zh: otherwise.zh };
}

/** A job's failure as an API answer shows it: `{ code, message }` in the reader's language. */
export function jobErrorIn(error: JobError | null, lang: Language): { code: string; message: string } | null {
  if (!error) return null;
  if (lang === 'en') return { code: error.code, message: error.message };
  const general = (CODE_TEXT as Record<string, LocalText | undefined>)[error.code]?.zh;
  return { code: error.code, message: error.zh ?? general ?? `任务失败（${error.code}）` };
}
