import type { FastifyBaseLogger, FastifyInstance, FastifyPluginAsync, FastifyRequest, RawServerDefault } from 'fastify';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { answerLanguage, type Language } from './error-text.ts';
import { AppError } from './errors.ts';
import type { Permission, Principal } from './principal.ts';
import type { Actor } from './context.ts';

/**
 * What a module's routes need of the HTTP layer: the app type they register on, the auth and
 * permission every route declares, and the actor of a request. The HTTP layer itself (app/http.ts)
 * checks them; modules never import it.
 */
export type App = FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse, FastifyBaseLogger, TypeBoxTypeProvider>;

/** Who may call a route: the platform root token, a tenant's key or session, a distributor, anyone. */
export type AuthMode = 'root' | 'tenant' | 'distributor' | 'tenant_or_distributor' | 'public';

/**
 * What a tenant caller (API key or console session) needs to use a route: a permission of
 * principal.ts's role table, or 'any' for what every session may do (log out). Checked here before
 * the body is read, and again by the service; a distributor on a tenant_or_distributor route is
 * scoped to its own rows by the service instead. Published as `x-permission` in the OpenAPI.
 */
export type RoutePermission = Permission | 'any';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
  interface FastifyContextConfig {
    auth?: AuthMode;
    permission?: RoutePermission;
  }
}

export interface Authenticator {
  authenticate(token: string): Promise<Principal | null>;
}

export function actor(req: FastifyRequest): Actor {
  if (!req.principal) throw new AppError('unauthorized', { en: 'missing or invalid credentials', zh: '缺少凭据或凭据无效' });
  return { principal: req.principal, requestId: req.id };
}

/** The language the request asks to be answered in (Accept-Language; error-text.ts `answerLanguage`). */
export function languageOf(req: FastifyRequest): Language {
  return answerLanguage(req.headers['accept-language']);
}

/**
 * A module's routes as a Fastify plugin given the module's own service and nothing else:
 * `export const riskRoutes = moduleRoutes<RiskService>((app, risk) => { app.get(…) })`, registered by
 * the composition root with `app.register(riskRoutes, { service: services.risk })`. A route reads
 * and writes only through that service: no SQL, no `db`, no other module's service.
 */
export type ModuleRoutes<S> = FastifyPluginAsync<{ service: S }>;

export function moduleRoutes<S>(register: (app: App, service: S) => void): ModuleRoutes<S> {
  return async (instance, options) => {
    register(instance.withTypeProvider<TypeBoxTypeProvider>() as App, options.service);
  };
}

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,128}$/;

/** The optional `Idempotency-Key` header, as a route's `headers` schema declares it. */
export const IdempotencyHeaders = Type.Object({ 'idempotency-key': Type.Optional(Type.String({ minLength: 1, maxLength: 128 })) });

/**
 * A request's `Idempotency-Key`: absent, or 1 to 128 printable ASCII characters; anything else is
 * a 400 before the service is called (the schema bounds its length, not its characters).
 */
export function idempotencyKeyOf(req: FastifyRequest): string | undefined {
  const key = req.headers['idempotency-key'];
  if (key === undefined) return undefined;
  if (typeof key !== 'string' || !IDEMPOTENCY_KEY.test(key))
    throw new AppError('invalid_request', {
      en: 'Idempotency-Key must be 1-128 printable ASCII characters',
      zh: 'Idempotency-Key 须为 1 到 128 个可打印 ASCII 字符',
    });
  return key;
}
