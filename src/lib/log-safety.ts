/**
 * What may reach a log line. Fastify logs no bodies, but three things could still carry personal
 * data or secrets into the logs, and these serializers close them:
 *
 * - the request URL: a query string holds what the caller typed (`?q=13812345678` searches by
 *   phone), so every query value is replaced and only the names stay;
 * - errors: database drivers attach the failing statement's parameters and the failing row to an
 *   error (PGlite's `params` and `query`, PostgreSQL's `detail: Failing row contains (…)`), and a
 *   data-exception message quotes the bad value; an error is logged as its type, message, stack
 *   and a short list of harmless fields (SQLSTATE, constraint, table), with quoted values of data
 *   exceptions cut out;
 * - headers: Authorization and cookies are redacted should anything log them.
 *
 * Our own log calls pass ids and counts, never values; test/e2e/pii.test.ts reads every log line
 * of a full run and fails on any personal value, key, token or password.
 */

const REDACTED = '[redacted]';

/** /v1/distributors?q=13812345678&limit=5 → /v1/distributors?q=…&limit=… */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const names = url
    .slice(q + 1)
    .split('&')
    .filter(Boolean)
    .map((pair) => {
      const name = pair.split('=')[0] ?? '';
      return `${/^[A-Za-z_][A-Za-z0-9_.[\]-]{0,63}$/.test(name) ? name : '…'}=…`;
    });
  return `${url.slice(0, q)}?${names.join('&')}`;
}

interface RequestLike {
  method?: string;
  url?: string;
  host?: string;
  ip?: string;
  headers?: Record<string, unknown>;
  socket?: { remotePort?: number };
}

/** Fastify's request serializer, with the query string's values removed. */
export function safeRequest(req: RequestLike) {
  return {
    method: req.method,
    url: typeof req.url === 'string' ? redactUrl(req.url) : req.url,
    host: req.host,
    remoteAddress: req.ip,
    remotePort: req.socket?.remotePort,
  };
}

/** Fields of an error that name where it happened, never what data it was about. */
const ERROR_FIELDS = ['code', 'statusCode', 'severity', 'constraint', 'table', 'column', 'schema', 'dataType', 'routine'] as const;

/** SQLSTATE class 22 (data exception) messages quote the offending value: `invalid input syntax for type integer: "…"`. */
function scrub(message: string, code: unknown): string {
  return typeof code === 'string' && /^22[0-9A-Z]{3}$/.test(code) ? message.replace(/"[^"]*"/g, '"…"') : message;
}

export function safeError(err: unknown, depth = 0): unknown {
  if (err === null || typeof err !== 'object' || !('message' in err)) return err;
  const e = err as Record<string, unknown> & { message: unknown; stack?: unknown; name?: unknown; constructor?: { name?: string } };
  const message = typeof e.message === 'string' ? e.message : String(e.message);
  const clean = scrub(message, e.code);
  const out: Record<string, unknown> = {
    type: typeof e.constructor?.name === 'string' && e.constructor.name !== 'Object' ? e.constructor.name : e.name,
    message: clean,
    stack: typeof e.stack === 'string' ? (clean === message ? e.stack : e.stack.split(message).join(clean)) : undefined,
  };
  for (const k of ERROR_FIELDS) if (e[k] !== undefined && e[k] !== null && e[k] !== '') out[k] = e[k];
  if (depth < 3 && e.cause !== undefined) out.cause = safeError(e.cause, depth + 1);
  if (depth < 3 && Array.isArray(e.errors)) out.errors = e.errors.slice(0, 5).map((x: unknown) => safeError(x, depth + 1));
  return out;
}

type SerializedError = { type: string; message: string; stack: string; [key: string]: unknown };
const errSerializer = (err: Error): SerializedError => safeError(err) as SerializedError;

export const LOG_SERIALIZERS = { req: safeRequest, err: errSerializer, error: errSerializer };

export const LOG_REDACT = {
  paths: [
    'req.headers.authorization',
    'req.headers.cookie',
    'req.headers["x-fenxiao-signature"]',
    'res.headers["set-cookie"]',
    'headers.authorization',
    'password',
    '*.password',
  ],
  censor: REDACTED,
};
