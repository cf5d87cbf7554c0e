import path from 'node:path';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import multipart from '@fastify/multipart';
import type { FastifyBaseLogger } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { Config } from './config.ts';
import { systemClock, type Clock } from '../core/context.ts';
import { createHttp, openapiSecurityTransform, type App } from './http.ts';
import { ErrorResponse, Strict } from '../core/schema.ts';
import { createServices, type Services } from './services.ts';
import { openDatabase, type Database } from '../db/database.ts';
import { migrateToLatest } from '../db/migrate.ts';
import { keyRingFromConfig } from '../modules/pii/keys.ts';
import { encryptLegacyProfiles } from '../modules/pii/legacy.ts';
import { piiRoutes } from '../modules/pii/routes.ts';
import { createMemoryRateLimiter } from '../adapters/ratelimit/memory.ts';
import { createRedisRateLimiter } from '../adapters/ratelimit/redis.ts';
import type { RateLimiter } from '../adapters/ratelimit/types.ts';
import { createSmsSender } from '../adapters/sms/index.ts';
import type { SmsSender } from '../adapters/sms/types.ts';
import { createLocalStorage } from '../adapters/storage/local.ts';
import { createS3Storage } from '../adapters/storage/s3.ts';
import type { FileStorage } from '../adapters/storage/types.ts';
import { tenantsRoutes } from '../modules/tenants/routes.ts';
import { adminRoutes } from '../modules/admin/routes.ts';
import { programRoutes } from '../modules/program/routes.ts';
import { distributorsRoutes } from '../modules/distributors/routes.ts';
import { verificationRoutes } from '../modules/verification/routes.ts';
import { referralRoutes } from '../modules/referral/routes.ts';
import { agentsRoutes } from '../modules/agents/routes.ts';
import { agentApplicationsRoutes } from '../modules/agents/application-routes.ts';
import { ordersRoutes } from '../modules/orders/routes.ts';
import { commissionsRoutes } from '../modules/commissions/routes.ts';
import { rulesRoutes } from '../modules/rules/routes.ts';
import { pilotsRoutes } from '../modules/pilots/routes.ts';
import { ledgerRoutes } from '../modules/ledger/routes.ts';
import { settlementRoutes } from '../modules/settlement/routes.ts';
import { riskRoutes } from '../modules/risk/routes.ts';
import { complianceRoutes } from '../modules/compliance/routes.ts';
import { withdrawalsRoutes } from '../modules/withdrawals/routes.ts';
import { analyticsRoutes } from '../modules/analytics/routes.ts';
import { registerMetrics } from './metrics.ts';
import type { ResolveTxt } from '../modules/referral/landing.ts';
import { createPayoutChannels, type PayoutChannels } from '../adapters/payout/index.ts';
import { createScheduler, type Scheduler } from './scheduler.ts';
import { portalRoutes } from '../modules/portal/routes.ts';
import { exportRoutes } from './export-routes.ts';
import { reconciliationRoutes } from '../modules/reconciliation/routes.ts';
import { exportsRoutes } from '../modules/exports/routes.ts';
import { registerWeb } from './web.ts';
import { reachDatabase } from './startup.ts';
import { ingestRoutes } from '../modules/ingest/routes.ts';
import { wechatRoutes } from '../modules/wechat/routes.ts';
import { createWechatMpClient } from '../adapters/wechat/mp.ts';
import { createRedisTokenCache } from '../adapters/wechat/token-cache.ts';
import { createOrderConsumer, createOrderMessageHandler, type OrderConsumer } from '../modules/ingest/consumer.ts';
import { createAmqpSource } from '../adapters/broker/amqp.ts';
import { createMemorySource } from '../adapters/broker/memory.ts';
import type { OrderEventSource } from '../adapters/broker/types.ts';
import { webhooksRoutes } from '../modules/webhooks/routes.ts';
import { openapiWebhooks } from './webhook-payloads.ts';
import { logisticsRoutes } from '../modules/logistics/routes.ts';
import { createDeliveryWorker, type DeliveryWorker } from '../modules/webhooks/worker.ts';
import { webhooksRepo } from '../modules/webhooks/repo.ts';
import { createOutboundSender, systemResolveHost, type ResolveHost } from '../adapters/webhooks/http.ts';
import { addressRefusal } from '../lib/net-guard.ts';
import { listenFor } from '../db/notify.ts';

export interface Server {
  app: App;
  scheduler: Scheduler;
  /** Order messages: RabbitMQ with AMQP_URL, else the in-process queue; started by serve(). */
  orderConsumer: OrderConsumer;
  /** Outbound webhook deliveries; `startWebhooks` (serve) listens for commits and starts it. */
  webhookWorker: DeliveryWorker;
  startWebhooks(): Promise<void>;
  services: Services;
  database: Database;
  config: Config;
  close(): Promise<void>;
}

export interface ServerOverrides {
  database?: Database;
  clock?: Clock;
  limiter?: RateLimiter;
  /** Text messages (the portal's verification codes); default: the gateway configured, else the log. */
  sms?: SmsSender;
  storage?: FileStorage;
  logger?: FastifyBaseLogger;
  /** Payout channels (tests point them at local provider simulators). */
  payoutChannels?: PayoutChannels;
  submitPayoutsInline?: boolean;
  /** Skip migrations (the caller ran them, e.g. a test suite's shared database). */
  skipMigrations?: boolean;
  /** Where order messages come from (tests hand in a queue of their own). */
  orderSource?: OrderEventSource;
  /** DNS TXT lookups (landing domain verification); tests hand in their own records. */
  resolveTxt?: ResolveTxt;
  /** Host lookups of outbound webhooks (tests hand in their own hosts). */
  resolveHost?: ResolveHost;
  /** Called after each committed batch of a settlement run (tests of a run stopped between batches). */
  settlementAfterBatch?: (runId: string, batch: number) => void | Promise<void>;
}

/** Opens the database, migrates, wires every service and route. Listening is the caller's choice. */
export async function buildServer(config: Config, overrides: ServerOverrides = {}): Promise<Server> {
  const database =
    overrides.database ??
    (await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: config.databasePoolSize, prepare: config.databasePrepare }));
  if (!overrides.database) {
    // A wrong or unreachable DATABASE_URL is said as such (naming it, without its password),
    // before a migration could fail on it.
    try {
      await reachDatabase(database, config.databaseUrl);
    } catch (err) {
      await database.close().catch(() => {});
      throw err;
    }
  }
  if (!overrides.skipMigrations) await migrateToLatest(database.db);
  const keyring = keyRingFromConfig(config);
  // Personal data that older versions kept in plaintext is encrypted before anything is served.
  const legacyProfiles = await encryptLegacyProfiles(database.db, keyring);
  const limiter = overrides.limiter ?? (config.redisUrl ? createRedisRateLimiter(config.redisUrl) : createMemoryRateLimiter());
  const clock = overrides.clock ?? systemClock;
  // Without a provider the simulator keeps the codes (GET /v1/dev/sms): development only
  // (docs/configuration.md). The log is the server's, made below; a message is only ever sent once it serves.
  const sms =
    overrides.sms ??
    createSmsSender(config.sms, {
      log: (m) => app.log.warn({ sms: m }, 'SMS simulated, not sent (FENXIAO_SMS_PROVIDER unset): development only'),
      now: () => clock.now(),
    });
  const storage = overrides.storage ?? (config.s3 ? createS3Storage(config.s3) : createLocalStorage(path.resolve(config.dataDir, 'files')));
  const resolveHost = overrides.resolveHost ?? systemResolveHost;
  // WeChat's access_token and jsapi_ticket: in Redis when there is one, else in the database.
  const wechatTokens = config.redisUrl ? createRedisTokenCache(config.redisUrl) : undefined;

  const services = createServices({
    db: database.db,
    keyedDb: database.keyed,
    clock,
    keyring,
    limiter,
    sms,
    storage,
    publicUrl: config.publicUrl,
    rootToken: config.rootToken,
    // PGlite is one connection: a second batch in flight would only wait for it, smaller.
    orderBatchMax: config.orderBatchMax,
    orderBatchesInFlight: config.orderBatchesInFlight || (database.kind === 'pglite' ? 1 : 2),
    settlementBatch: config.settlementBatch,
    settlementWorkers: config.settlementWorkers,
    settlementLeaseMs: config.settlementLeaseSeconds * 1000,
    ...(overrides.settlementAfterBatch ? { settlementAfterBatch: overrides.settlementAfterBatch } : {}),
    payoutChannels: overrides.payoutChannels ?? createPayoutChannels(config.payouts, { clock }),
    ...(overrides.resolveTxt ? { resolveTxt: overrides.resolveTxt } : {}),
    documentLimits: config.documents,
    webhooks: { resolve: resolveHost, allowPrivate: config.webhooks.allowPrivate, nudge: () => webhookWorker.nudge() },
    wechatMp: createWechatMpClient({ oauthBaseUrl: config.wechatOauthBaseUrl, apiBaseUrl: config.wechatApiBaseUrl }),
    wechatTokens,
    ...(overrides.submitPayoutsInline === false ? { submitPayoutsInline: false } : {}),
    // The server's log, made below; the payout worker reports to it only once it serves.
    payoutLog: { warn: (obj, msg) => app.log.warn(obj, msg), error: (obj, msg) => app.log.error(obj, msg) },
  });

  const app = createHttp({
    logLevel: config.logLevel,
    bodyLimit: config.bodyLimit,
    authenticator: services,
    logger: overrides.logger,
    publicUrl: config.publicUrl,
    trustProxy: config.trustProxy,
  });
  app.addSchema(ErrorResponse);
  // Requests meanwhile answer 503 service_unavailable (http.ts); this says why, once per connection.
  database.onConnectionLost = (err) =>
    app.log.warn(
      { reason: err.message, code: (err as { code?: unknown }).code },
      'a database connection was lost (PostgreSQL restarting or unreachable?); it is replaced on the next query',
    );
  database.onPreparedStatementsOff = (err) =>
    app.log.error(
      { reason: err.message, code: (err as { code?: unknown }).code },
      'named prepared statements are lost between queries (a pooler in transaction mode that does not keep them, such as PgBouncer before 1.21?): turned off in this process; set FENXIAO_DB_PREPARE=off',
    );
  await app.register(multipart, { limits: { fileSize: 10 * 1024 * 1024, files: 1 } });
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Fenxiao API',
        version: '1',
        description:
          'Distribution platform: distributors, referral bindings, commissions to the fen, settlement and payouts. Money is integer fen (`*_fen`), rates basis points (`*_bp`).',
      },
      servers: [{ url: config.publicUrl }],
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'tenant API key (fxk_…), console session (fxs_…) or the platform root token' },
        },
      },
      security: [{ bearer: [] }],
      webhooks: openapiWebhooks() as never,
    },
    transform: openapiSecurityTransform as never,
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
  });
  await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { docExpansion: 'list', deepLinking: true }, staticCSP: false });

  registerMetrics(app, services, { token: config.metricsToken, public: config.metricsPublic });

  // The address alone leads a person to the console.
  app.get('/', { config: { auth: 'public' }, schema: { hide: true } }, async (_req, reply) => reply.redirect('/admin/', 302));

  app.get('/openapi.json', { config: { auth: 'public' }, schema: { hide: true } }, async () => app.swagger());

  app.get(
    '/health',
    {
      config: { auth: 'public' },
      schema: {
        tags: ['operations'],
        summary: 'Liveness and database reachability',
        security: [],
        response: { 200: Strict({ status: Type.Literal('ok') }), 503: Strict({ status: Type.String() }) },
      },
    },
    async (_req, reply) => {
      try {
        await database.db.selectNoFrom((eb) => eb.val(1).as('one')).execute();
        return { status: 'ok' as const };
      } catch {
        return reply.code(503).send({ status: 'database unavailable' });
      }
    },
  );

  await app.register(tenantsRoutes, { service: services.tenants });
  await app.register(adminRoutes, { service: services.admin });
  await app.register(programRoutes, { service: services.program });
  await app.register(distributorsRoutes, { service: services.distributors });
  await app.register(verificationRoutes, { service: services.phoneVerifications });
  await app.register(referralRoutes, { service: services.referral });
  await app.register(ordersRoutes, { service: services.orders });
  await app.register(agentsRoutes, { service: services.agents });
  await app.register(agentApplicationsRoutes, { service: services.agentApplications });
  await app.register(commissionsRoutes, { service: services.commissions });
  await app.register(rulesRoutes, { service: services.rules });
  await app.register(pilotsRoutes, { service: services.pilots });
  await app.register(ledgerRoutes, { service: services.ledger });
  await app.register(settlementRoutes, { service: services.settlement });
  await app.register(riskRoutes, { service: services.risk });
  await app.register(complianceRoutes, { service: services.compliance });
  await app.register(withdrawalsRoutes, { service: services.withdrawals });
  await app.register(analyticsRoutes, { service: services.analytics });
  await app.register(portalRoutes, { service: services.portal });
  await app.register(piiRoutes, { service: services.pii });
  exportRoutes(app, services, { dataDir: config.dataDir, storage });
  await app.register(reconciliationRoutes, { service: services.reconciliation });
  await app.register(exportsRoutes, { service: services.exports });
  await app.register(wechatRoutes, { service: services.wechat });
  await app.register(ingestRoutes, { service: services.ingest });
  await app.register(webhooksRoutes, { service: services.webhooks });
  await app.register(logisticsRoutes, { service: services.logistics });
  registerWeb(app);

  await app.ready();
  if (legacyProfiles.moved > 0) app.log.info({ rows: legacyProfiles.moved }, 'personal data of older application profiles encrypted');
  if (legacyProfiles.skipped.length > 0)
    app.log.warn(
      { rows: legacyProfiles.skipped.length, first: legacyProfiles.skipped[0] },
      'application profiles left in plaintext: their contact ciphertext needs a key that is not configured',
    );

  const scheduler = createScheduler({
    services,
    log: app.log,
    tickMs: config.jobsIntervalSeconds * 1000,
    // PGlite has no autovacuum: statistics hourly, dead rows reclaimed daily.
    ...(database.kind === 'pglite' ? { maintenance: { analyzeEveryMs: 3_600_000, vacuumEveryMs: 86_400_000 } } : {}),
  });
  const orderSource =
    overrides.orderSource ??
    (config.amqpUrl
      ? createAmqpSource({ url: config.amqpUrl, queue: config.amqpQueue, prefetch: config.amqpPrefetch, maxAttempts: config.amqpMaxAttempts, log: app.log })
      : createMemorySource({ prefetch: config.amqpPrefetch, maxAttempts: config.amqpMaxAttempts }));
  const orderConsumer = createOrderConsumer(
    orderSource,
    createOrderMessageHandler({ orders: services.orders, ingest: services.ingest, signed: config.amqpSigned, log: app.log }),
  );

  // Outbound webhooks: every address a target resolves to is checked again at each delivery.
  const webhookWorker = createDeliveryWorker({
    db: database.db,
    clock,
    keyring,
    log: app.log,
    pollMs: config.webhooks.pollMs,
    send: createOutboundSender({ resolve: resolveHost, refuse: config.webhooks.allowPrivate ? () => null : addressRefusal }),
  });
  let unlisten: (() => Promise<void>) | undefined;

  let closed = false;
  return {
    app,
    services,
    database,
    config,
    scheduler,
    orderConsumer,
    webhookWorker,
    async startWebhooks() {
      // The embedded database is this process's alone: a lease left by a killed run is stale.
      if (database.kind === 'pglite') await webhooksRepo.releaseLeases(database.db);
      unlisten = await listenFor(
        database,
        config.databaseUrl,
        'fenxiao_webhooks',
        () => webhookWorker.nudge(),
        (err) => app.log.warn({ reason: err.message }, 'webhook wake-ups lost their database connection; polling meanwhile'),
      );
      webhookWorker.start();
    },
    async close() {
      if (closed) return;
      closed = true;
      await scheduler.stop();
      await unlisten?.();
      await webhookWorker.stop();
      // Messages in flight finish and are acknowledged before the database closes.
      await orderConsumer.stop();
      await app.close();
      await limiter.close();
      await wechatTokens?.close();
      if (!overrides.database) await database.close();
    },
  };
}
