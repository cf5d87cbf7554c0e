import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyReply, type FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Ajv, type Options as AjvOptions } from 'ajv';
import { addFenxiaoFormats } from '../core/formats.ts';
import { ulid } from '../core/ids.ts';
import { LOG_REDACT, LOG_SERIALIZERS } from '../lib/log-safety.ts';
import { standardOutput } from '../lib/log-output.ts';
import {
  AppError,
  DATABASE_RETRY_AFTER_SECONDS,
  databaseUnavailable,
  ERROR_STATUS,
  fromPgError,
  isDatabaseUnavailable,
  type ErrorCode,
} from '../core/errors.ts';
import { answerLanguage, MESSAGES, type LocalText } from '../core/error-text.ts';
import { validationText } from '../core/validation-text.ts';
import { requirePermission } from '../core/principal.ts';
import { actor, type App, type AuthMode, type Authenticator, type RoutePermission } from '../core/route.ts';

/**
 * One line per request, when it is answered: the request (method, URL with query values cut out,
 * host, remote address), status and response time, as an access log has them. Fastify's default
 * writes a second line when the request comes in, which was half of what a busy server spent on
 * logging (docs/scaling.md); that line is kept at `debug`, for following a request that never
 * finishes.
 */
class OneLineRequestLog extends LogController {
  override incomingRequest(request: FastifyRequest): void {
    if (!this.isLogDisabled(request) && (request.log.level === 'debug' || request.log.level === 'trace'))
      request.log.debug({ req: request }, 'incoming request');
  }

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (this.isLogDisabled(request)) return;
    if (error) reply.log.error({ req: request, res: reply, err: error, responseTime: reply.elapsedTime }, 'request errored');
    else reply.log.info({ req: request, res: reply, responseTime: reply.elapsedTime }, 'request completed');
  }
}

export { actor, type App, type AuthMode, type Authenticator, type RoutePermission };

function ajvFor(options: AjvOptions): Ajv {
  const ajv = new Ajv({ strict: false, allErrors: false, useDefaults: true, removeAdditional: false, ...options });
  addFenxiaoFormats(ajv);
  ajv.addKeyword({ keyword: 'x-pii' });
  return ajv;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

const hopsOf = (hops: number) => (_address: string, i: number) => i < hops;

/**
 * Pages (the console, the portal, /docs) load only what this server ships and talk only to it;
 * antd and Swagger UI put CSS into <style> elements, hence 'unsafe-inline' for styles, never for
 * scripts. web.ts sends the same policy with its pages.
 */
export const HTML_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');
/** Everything else (JSON, images, files) is data: opened directly, it may run and embed nothing. */
export const API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";
const PERMISSIONS_POLICY = 'camera=(), microphone=(), geolocation=(), payment=()';

/**
 * The Fastify instance with Fenxiao's conventions: request ids on every log line, schema
 * validation that never coerces a body (a string is not a number), one error shape, and
 * authentication before validation so an anonymous caller learns nothing about a route.
 */
export function createHttp(options: {
  logLevel: string;
  bodyLimit: number;
  authenticator: Authenticator;
  logger?: FastifyBaseLogger | undefined;
  /** FENXIAO_PUBLIC_URL: an https URL turns on Strict-Transport-Security. */
  publicUrl?: string | undefined;
  /** FENXIAO_TRUST_PROXY: whose address req.ip is behind a reverse proxy. */
  trustProxy?: boolean | number | string | undefined;
}): App {
  const app = Fastify({
    // No personal data in logs: query values, drivers' error parameters and secrets are cut out
    // (lib/log-safety.ts), with Fenxiao's own logger and with one handed in (tests, embedders).
    ...(options.logger
      ? { loggerInstance: options.logger.child({}, { serializers: LOG_SERIALIZERS, redact: LOG_REDACT }) }
      : // Standard output written by the event loop: a reader that is gone or stuck never holds
        // the process (lib/log-output.ts).
        { logger: { level: options.logLevel, redact: LOG_REDACT, serializers: LOG_SERIALIZERS, stream: standardOutput() } }),
    bodyLimit: options.bodyLimit,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : `req_${ulid()}`;
    },
    // Request ids logged as request_id; every request logged, once (Fastify 5's logController: the
    // top-level options of the same names are deprecated, FSTDEP023/FSTDEP024).
    logController: new OneLineRequestLog({ requestIdLogLabel: 'request_id', disableRequestLogging: false }),
    forceCloseConnections: 'idle',
    return503OnClosing: true,
    // A number is a count of proxy hops (Fastify's types take it as a function).
    trustProxy: typeof options.trustProxy === 'number' ? hopsOf(options.trustProxy) : (options.trustProxy ?? false),
    // A URL Fastify cannot decode (bad escapes, overlong UTF-8) answers in Fenxiao's error shape too.
    frameworkErrors: (error, req, reply) => {
      void sendError(error, req, reply);
    },
    ajv: { customOptions: {} },
    // fast-json-stringify's own Ajv only tells anyOf branches apart in answers, which were
    // validated on the way in: Fenxiao's own formats need no check there (and unknown, each
    // printed a warning on stderr the first time an answer used it).
    serializerOpts: { ajv: { formats: { 'time-zone': true } } },
  }).withTypeProvider<TypeBoxTypeProvider>();

  const bodyAjv = ajvFor({ coerceTypes: false });
  const queryAjv = ajvFor({ coerceTypes: 'array' });
  app.setValidatorCompiler(({ schema, httpPart }) => {
    const ajv = httpPart === 'body' ? bodyAjv : queryAjv;
    return ajv.compile(schema) as ReturnType<Parameters<App['setValidatorCompiler']>[0]>;
  });

  app.decorateRequest('principal', null);

  // An empty JSON body is no body: action routes (approve, reactivate…) take one or none.
  const defaultJson = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    if (typeof body === 'string' && body.trim() === '') return done(null, null);
    return defaultJson(req, body as string, done);
  });
  app.addHook('preValidation', async (req) => {
    if (req.body === undefined) req.body = null;
    // PostgreSQL text cannot hold U+0000: refused here, for every route and field, rather than
    // failing in the database as a 500 (the fuzzer found ids and reasons carrying %00).
    for (const [part, value] of [
      ['path', req.params],
      ['query', req.query],
      ['body', req.body],
    ] as const) {
      if (holdsNul(value)) throw new AppError('invalid_request', MESSAGES.nulCharacter(part));
    }
  });

  app.addHook('onRequest', async (req, reply) => {
    reply.header('x-request-id', req.id);
    const mode: AuthMode = req.routeOptions.config?.auth ?? 'public';
    if (mode === 'public') return;
    const header = req.headers.authorization;
    const token = typeof header === 'string' && /^Bearer\s+\S+$/i.test(header) ? header.replace(/^Bearer\s+/i, '') : undefined;
    const principal = token ? await options.authenticator.authenticate(token) : null;
    if (!principal) throw new AppError('unauthorized', token ? MESSAGES.invalidCredentials() : MESSAGES.missingCredentials());
    const allowed =
      (mode === 'root' && principal.kind === 'root') ||
      (mode === 'tenant' && (principal.kind === 'api_key' || principal.kind === 'admin')) ||
      (mode === 'distributor' && principal.kind === 'distributor') ||
      (mode === 'tenant_or_distributor' && (principal.kind === 'api_key' || principal.kind === 'admin' || principal.kind === 'distributor'));
    if (!allowed) {
      throw new AppError(mode === 'root' ? 'unauthorized' : 'forbidden', mode === 'root' ? MESSAGES.rootTokenNeeded() : MESSAGES.wrongCredentialKind());
    }
    const permission = req.routeOptions.config?.permission;
    if (permission && permission !== 'any' && principal.kind !== 'distributor') requirePermission(principal, permission);
    req.principal = principal;
  });

  const hsts = options.publicUrl?.startsWith('https://') ? 'max-age=31536000; includeSubDomains' : undefined;
  app.addHook('onSend', async (req, reply, payload) => {
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    if (!reply.hasHeader('x-frame-options')) reply.header('x-frame-options', 'DENY');
    if (!reply.hasHeader('content-security-policy')) {
      const type = String(reply.getHeader('content-type') ?? '');
      reply.header('content-security-policy', type.startsWith('text/html') ? HTML_CSP : API_CSP);
    }
    reply.header('cross-origin-opener-policy', 'same-origin');
    reply.header('permissions-policy', PERMISSIONS_POLICY);
    if (hsts) reply.header('strict-transport-security', hsts);
    // Answers of the API carry personal data and money: no shared or browser cache keeps them.
    if (req.url.startsWith('/v1/') && !reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
    return payload;
  });

  app.setErrorHandler((err: FastifyError | AppError | Error, req, reply) => sendError(err, req, reply));

  app.setNotFoundHandler((req, reply) => sendError(new AppError('not_found', MESSAGES.noRoute(req.method, req.url.split('?')[0] ?? '')), req, reply));

  return app as unknown as App;
}

/**
 * Busboy (under @fastify/multipart) throws plain errors on a malformed upload: no boundary, a body
 * cut short, a broken part header. Each is the client's mistake, wherever the upload is read.
 */
function isMultipartParseError(err: Error): boolean {
  return typeof (err as FastifyError).statusCode !== 'number' && /[\\/]@fastify[\\/]busboy[\\/]/.test(err.stack ?? '');
}

/** Whether any string (or key) in a parsed input holds U+0000; iterative, so any nesting is fine. */
function holdsNul(input: unknown): boolean {
  const stack: unknown[] = [input];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === 'string') {
      if (v.includes('\u0000')) return true;
    } else if (v !== null && typeof v === 'object' && !Buffer.isBuffer(v)) {
      for (const [k, x] of Object.entries(v)) {
        if (k.includes('\u0000')) return true;
        stack.push(x);
      }
    }
  }
  return false;
}

function codeForStatus(status: number): ErrorCode {
  const found = (Object.entries(ERROR_STATUS) as [ErrorCode, number][]).find(([, s]) => s === status);
  return found ? found[0] : status >= 500 ? 'internal_error' : 'invalid_request';
}

/**
 * The error answer: its code and status never depend on the language; its message is in Chinese
 * when the request's Accept-Language prefers Chinese (error-text.ts `answerLanguage`), else English.
 */
export function sendError(err: FastifyError | AppError | Error, req: FastifyRequest, reply: FastifyReply) {
  const lang = answerLanguage(req.headers['accept-language']);
  const localised = (text: LocalText) => text[lang];
  let status: number;
  let code: ErrorCode;
  let message: string;
  let details: Record<string, unknown> | undefined;
  const fe = err as FastifyError;
  if (err instanceof AppError) {
    ({ status, code, details } = err);
    message = err.messageIn(lang);
  } else if (fe.validation) {
    status = 400;
    code = 'invalid_request';
    message = localised(validationText(fe.validationContext ?? 'body', fe.validation));
  } else if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    status = 413;
    code = 'payload_too_large';
    message = localised(MESSAGES.bodyTooLarge());
  } else if (isMultipartParseError(err)) {
    status = 400;
    code = 'invalid_request';
    message = localised(MESSAGES.malformedMultipart());
  } else if (fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    status = 415;
    code = 'unsupported_media_type';
    message = localised(MESSAGES.sendJson());
  } else if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    // The status follows the code: a framework 4xx without a code of its own (414 for a path
    // parameter over maxParamLength) is an invalid request, answered as such.
    code = codeForStatus(fe.statusCode);
    status = ERROR_STATUS[code];
    message =
      fe.code?.startsWith('FST_ERR_CTP') || err instanceof SyntaxError
        ? localised(MESSAGES.invalidJson())
        : localised(MESSAGES.frameworkRefusal(code, err.message, fe.code));
  } else {
    const mapped = fromPgError(err) ?? (isDatabaseUnavailable(err) ? databaseUnavailable() : undefined);
    if (mapped) {
      ({ status, code, details } = mapped);
      message = mapped.messageIn(lang);
    } else {
      status = 500;
      code = 'internal_error';
      message = localised(MESSAGES.internal());
    }
  }
  // The database away answers every request 503 until it is back: one line each without a
  // stack, not a page of them (database.ts logs the connections lost, once each).
  if (code === 'service_unavailable') req.log.warn({ code, status, reason: err.message }, message);
  else if (status >= 500) req.log.error({ err }, 'request failed');
  else req.log.info({ code, status }, message);
  if (code === 'rate_limited' && typeof details?.retry_after_seconds === 'number') reply.header('retry-after', String(details.retry_after_seconds));
  // A 503 always says when to come back, so clients and proxies retry rather than give up.
  if (code === 'service_unavailable')
    reply.header('retry-after', String(typeof details?.retry_after_seconds === 'number' ? details.retry_after_seconds : DATABASE_RETRY_AFTER_SECONDS));
  reply.header('content-language', lang === 'zh' ? 'zh-CN' : 'en');
  const vary = reply.getHeader('vary');
  reply.header('vary', vary ? `${String(vary)}, accept-language` : 'accept-language');
  return reply.code(status).send({ error: { code, message } });
}

/**
 * @fastify/swagger's transform: each operation states who may call it, from the route's own
 * config, so the document cannot drift from what the server enforces. `x-auth` is the auth mode,
 * `x-permission` what a tenant caller needs (principal.ts), and public routes say `security: []`;
 * an upload that reads its body in the handler lists what it takes as `x-consumes`.
 */
export function openapiSecurityTransform({ schema, url, route }: { schema?: unknown; url: string; route: { config?: unknown } }) {
  const config = (route.config ?? {}) as { auth?: AuthMode; permission?: RoutePermission };
  const auth = config.auth ?? 'public';
  const base = (schema ?? {}) as Record<string, unknown>;
  return {
    url,
    schema: {
      ...base,
      'x-auth': auth,
      ...(config.permission ? { 'x-permission': config.permission } : {}),
      ...(auth === 'public' ? { security: [] } : {}),
      // Uploads read their body in the handler (no body schema): say what they take.
      ...(Array.isArray(base.consumes) && !base.body ? { 'x-consumes': base.consumes } : {}),
    },
  };
}
