import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import type { PayoutChannelsConfig } from '../adapters/payout/index.ts';
import type { SmsConfig } from '../adapters/sms/index.ts';
import { DEFAULT_DOCUMENT_LIMITS } from '../modules/distributors/documents.ts';

/**
 * Every setting Fenxiao reads from its environment, checked once at boot.
 * docs/configuration.md documents each variable; keep the two in step.
 */
export const ConfigSchema = Type.Object({
  port: Type.Integer({ minimum: 0, maximum: 65535 }),
  host: Type.String({ minLength: 1 }),
  /** postgres://… selects a PostgreSQL server; unset selects embedded PGlite. */
  databaseUrl: Type.Optional(Type.String({ pattern: '^postgres(ql)?://' })),
  /** Connections per process to a PostgreSQL server. */
  databasePoolSize: Type.Integer({ minimum: 1, maximum: 500 }),
  /** Statements sent again and again are prepared once per connection (src/db/prepare.ts). */
  databasePrepare: Type.Boolean(),
  orderBatchMax: Type.Integer({ minimum: 1, maximum: 5000 }),
  /** 0: chosen by the database (one at a time on PGlite, which has one connection; two on PostgreSQL). */
  orderBatchesInFlight: Type.Integer({ minimum: 0, maximum: 16 }),
  /** Distributors a settlement run settles per transaction. */
  settlementBatch: Type.Integer({ minimum: 1, maximum: 100_000 }),
  /** Batches of a settlement run in flight at once, each on its own connection (more than one only helps on PostgreSQL with cores to spare). */
  settlementWorkers: Type.Integer({ minimum: 1, maximum: 16 }),
  /** Seconds a settlement run's owner may go without finishing a batch before another process takes the run over. */
  settlementLeaseSeconds: Type.Integer({ minimum: 1, maximum: 86_400 }),
  dataDir: Type.String({ minLength: 1 }),
  rootToken: Type.Optional(Type.String({ minLength: 16 })),
  /** base64 of 32 bytes; generated into the data dir when unset. */
  masterKey: Type.Optional(Type.String()),
  /**
   * Keys that only decrypt (base64 of 32 bytes each): the old master keys during a key rotation,
   * until `fenxiao pii rotate-key` has rewritten every ciphertext under masterKey.
   */
  previousMasterKeys: Type.Optional(Type.Array(Type.String())),
  redisUrl: Type.Optional(Type.String({ pattern: '^rediss?://' })),
  /**
   * The SMS provider one-time codes go through (smsFromEnv below): the simulator (development:
   * nothing is sent, GET /v1/dev/sms shows the codes), a signed webhook to a gateway the operator
   * runs, Aliyun SMS or Tencent Cloud SMS.
   */
  sms: Type.Unsafe<SmsConfig>(Type.Object({ provider: Type.String() })),
  amqpUrl: Type.Optional(Type.String({ pattern: '^amqps?://' })),
  /** Order messages (docs/integration.md): the durable queue; `.retry` and `.dead` sit beside it. */
  amqpQueue: Type.String({ pattern: '^[A-Za-z0-9._:-]{1,200}$' }),
  /** Order messages a consumer holds unacknowledged at once (its backpressure). */
  amqpPrefetch: Type.Integer({ minimum: 1, maximum: 1000 }),
  /** Tries of an order message before it is dead-lettered. */
  amqpMaxAttempts: Type.Integer({ minimum: 1, maximum: 100 }),
  /** Order messages must carry x-fenxiao-signature under the tenant's generic webhook secret. */
  amqpSigned: Type.Boolean(),
  /** Consume order messages in this process (with AMQP_URL set). */
  runConsumers: Type.Boolean(),
  /** WeChat 网页授权 and the official-account API (docs/wechat.md); tests point them at a local simulator. */
  wechatOauthBaseUrl: Type.String({ pattern: '^https?://' }),
  wechatApiBaseUrl: Type.String({ pattern: '^https?://' }),
  /** Public base URL used in invite links and QR codes. */
  publicUrl: Type.String({ pattern: '^https?://' }),
  logLevel: Type.Union([
    Type.Literal('fatal'),
    Type.Literal('error'),
    Type.Literal('warn'),
    Type.Literal('info'),
    Type.Literal('debug'),
    Type.Literal('trace'),
    Type.Literal('silent'),
  ]),
  /**
   * Whose address a request comes from behind a reverse proxy (X-Forwarded-For): false (the
   * socket's), true (any proxy), a number of proxy hops, or the proxies' addresses/CIDRs. Login
   * throttling and the registration limits count per client address.
   */
  trustProxy: Type.Union([Type.Boolean(), Type.Integer({ minimum: 1, maximum: 10 }), Type.String({ minLength: 1 })]),
  /** Bearer token a Prometheus scraper must send to GET /metrics; unset, /metrics answers nobody unless metricsPublic. */
  metricsToken: Type.Optional(Type.String({ minLength: 16 })),
  /** GET /metrics answers without a token (the operator keeps it off the internet at the proxy). Off unless set. */
  metricsPublic: Type.Boolean(),
  /** Upper bound on a request body, bytes. */
  bodyLimit: Type.Integer({ minimum: 1024 }),
  /** Seconds a graceful shutdown waits for in-flight requests. */
  shutdownGraceSeconds: Type.Integer({ minimum: 0, maximum: 600 }),
  /** Run scheduled jobs (auto-receipt, settlement cycles, payout polling) in this process. */
  runJobs: Type.Boolean(),
  /** Outbound webhooks: run the delivery worker in this process, allow loopback/private targets (development, tests), and the polling interval. */
  webhooks: Type.Object({ run: Type.Boolean(), allowPrivate: Type.Boolean(), pollMs: Type.Integer({ minimum: 100, maximum: 60_000 }) }),
  /** Seconds between scheduler passes (auto-receipt, settlement cycles, payout polling). */
  jobsIntervalSeconds: Type.Integer({ minimum: 1, maximum: 3600 }),
  /** Caps on identity documents (modules/distributors/documents.ts): bytes per file, count and bytes per distributor and per tenant. */
  documents: Type.Object({
    maxBytes: Type.Integer({ minimum: 1024, maximum: 100 * 1024 * 1024 }),
    perDistributor: Type.Integer({ minimum: 1, maximum: 1000 }),
    bytesPerDistributor: Type.Integer({ minimum: 1024 }),
    perTenant: Type.Integer({ minimum: 1 }),
    bytesPerTenant: Type.Integer({ minimum: 1024 }),
  }),
  s3: Type.Optional(
    Type.Object({
      endpoint: Type.Optional(Type.String()),
      region: Type.String(),
      bucket: Type.String({ minLength: 1 }),
      accessKeyId: Type.String(),
      secretAccessKey: Type.String(),
      forcePathStyle: Type.Boolean(),
    }),
  ),
  /** The payout channels this deployment offers (payoutsFromEnv below; docs/payouts.md lists the variables). */
  payouts: Type.Unsafe<PayoutChannelsConfig>(Type.Object({})),
  /** FENXIAO_PASSWORD: the password `fenxiao user create` and `fenxiao demo` use when --password is not given (the CLI only). */
  password: Type.Optional(Type.String()),
});
export type Config = Static<typeof ConfigSchema>;

export class ConfigError extends Error {}

type Env = Record<string, string | undefined>;

function int(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^-?\d+$/.test(raw)) throw new ConfigError(`${name} must be an integer, got "${raw}"`);
  return Number(raw);
}

function bool(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new ConfigError(`${name} must be true or false, got "${raw}"`);
}

function opt(env: Env, name: string): string | undefined {
  const raw = env[name];
  return raw === undefined || raw === '' ? undefined : raw;
}

function trustProxy(raw: string | undefined): boolean | number | string {
  if (raw === undefined || /^false$/i.test(raw)) return false;
  if (/^true$/i.test(raw)) return true;
  if (/^\d+$/.test(raw)) return Number(raw);
  return raw;
}

function needPayout(env: Env, name: string): string {
  const v = opt(env, name);
  if (v === undefined) throw new ConfigError(`${name} is required when its payout channel is enabled`);
  return v;
}

function optInt(env: Env, name: string): number | undefined {
  const v = opt(env, name);
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new ConfigError(`${name} must be an integer`);
  return Number(v);
}

/**
 * The payout channels this deployment offers, from the environment (docs/payouts.md lists every
 * variable). WeChat Pay turns on with FENXIAO_WECHATPAY_MCH_ID, Alipay with FENXIAO_ALIPAY_APP_ID;
 * key material is a PEM, a bare base64 body or a file path. Read once at boot: bad key material
 * stops the start, not a payout.
 */
/**
 * FENXIAO_SMS_PROVIDER: `simulator`, `webhook`, `aliyun` or `tencent`; unset, `webhook` when
 * FENXIAO_SMS_WEBHOOK_URL is set, else the simulator. Each provider's variables are required
 * with it, so a deployment never believes it sends codes that go nowhere.
 */
function smsFromEnv(env: Env): SmsConfig {
  const webhookUrl = opt(env, 'FENXIAO_SMS_WEBHOOK_URL');
  const provider = opt(env, 'FENXIAO_SMS_PROVIDER') ?? (webhookUrl ? 'webhook' : 'simulator');
  const need = (name: string) => {
    const v = opt(env, name);
    if (v === undefined) throw new ConfigError(`FENXIAO_SMS_PROVIDER=${provider} needs ${name}`);
    return v;
  };
  const templates = (prefix: string) => {
    const verification = need(`${prefix}_TEMPLATE`);
    return { phone_verification_code: verification, portal_apply_code: opt(env, `${prefix}_APPLY_TEMPLATE`) ?? verification };
  };
  switch (provider) {
    case 'simulator':
      return { provider };
    case 'webhook': {
      const url = need('FENXIAO_SMS_WEBHOOK_URL');
      if (!/^https?:\/\//.test(url)) throw new ConfigError('FENXIAO_SMS_WEBHOOK_URL must be an http(s) URL');
      const secret = opt(env, 'FENXIAO_SMS_WEBHOOK_SECRET');
      if (secret === undefined || secret.length < 16)
        throw new ConfigError('FENXIAO_SMS_WEBHOOK_URL needs FENXIAO_SMS_WEBHOOK_SECRET (16 characters or more) to sign its requests');
      return { provider, url, secret };
    }
    case 'aliyun': {
      const endpoint = opt(env, 'FENXIAO_SMS_ALIYUN_ENDPOINT');
      return {
        provider,
        accessKeyId: need('FENXIAO_SMS_ALIYUN_ACCESS_KEY_ID'),
        accessKeySecret: need('FENXIAO_SMS_ALIYUN_ACCESS_KEY_SECRET'),
        signName: need('FENXIAO_SMS_ALIYUN_SIGN_NAME'),
        templates: templates('FENXIAO_SMS_ALIYUN'),
        ...(endpoint ? { endpoint } : {}),
      };
    }
    case 'tencent': {
      const endpoint = opt(env, 'FENXIAO_SMS_TENCENT_ENDPOINT');
      const region = opt(env, 'FENXIAO_SMS_TENCENT_REGION');
      return {
        provider,
        secretId: need('FENXIAO_SMS_TENCENT_SECRET_ID'),
        secretKey: need('FENXIAO_SMS_TENCENT_SECRET_KEY'),
        sdkAppId: need('FENXIAO_SMS_TENCENT_SDK_APP_ID'),
        signName: need('FENXIAO_SMS_TENCENT_SIGN_NAME'),
        templates: templates('FENXIAO_SMS_TENCENT'),
        ...(region ? { region } : {}),
        ...(endpoint ? { endpoint } : {}),
      };
    }
    default:
      throw new ConfigError(`FENXIAO_SMS_PROVIDER must be simulator, webhook, aliyun or tencent, not ${provider}`);
  }
}

function payoutsFromEnv(env: Env): PayoutChannelsConfig {
  const config: PayoutChannelsConfig = { bank: { enabled: !/^(0|false|no|off)$/i.test(opt(env, 'FENXIAO_PAYOUT_BANK_ENABLED') ?? 'true') } };
  if (opt(env, 'FENXIAO_WECHATPAY_MCH_ID')) {
    let infos: Array<{ infoType: string; infoContent: string }> = [
      { infoType: '岗位类型', infoContent: '分销员' },
      { infoType: '报酬说明', infoContent: '分销佣金' },
    ];
    const rawInfos = opt(env, 'FENXIAO_WECHATPAY_TRANSFER_SCENE_REPORT_INFOS');
    if (rawInfos) {
      try {
        infos = JSON.parse(rawInfos) as typeof infos;
      } catch {
        throw new ConfigError('FENXIAO_WECHATPAY_TRANSFER_SCENE_REPORT_INFOS must be a JSON array');
      }
    }
    config.wechat = {
      mchId: needPayout(env, 'FENXIAO_WECHATPAY_MCH_ID'),
      appId: needPayout(env, 'FENXIAO_WECHATPAY_APP_ID'),
      merchantPrivateKey: needPayout(env, 'FENXIAO_WECHATPAY_MERCHANT_PRIVATE_KEY'),
      merchantSerialNo: needPayout(env, 'FENXIAO_WECHATPAY_MERCHANT_SERIAL_NO'),
      platformPublicKeys: [
        { serial: needPayout(env, 'FENXIAO_WECHATPAY_PLATFORM_PUBLIC_KEY_ID'), publicKey: needPayout(env, 'FENXIAO_WECHATPAY_PLATFORM_PUBLIC_KEY') },
      ],
      apiV3Key: needPayout(env, 'FENXIAO_WECHATPAY_APIV3_KEY'),
      transferSceneId: opt(env, 'FENXIAO_WECHATPAY_TRANSFER_SCENE_ID') ?? '1005',
      transferSceneReportInfos: infos,
      userRecvPerception: opt(env, 'FENXIAO_WECHATPAY_USER_RECV_PERCEPTION'),
      notifyUrl: opt(env, 'FENXIAO_WECHATPAY_NOTIFY_URL'),
      baseUrl: opt(env, 'FENXIAO_WECHATPAY_BASE_URL'),
      timeoutMs: optInt(env, 'FENXIAO_WECHATPAY_TIMEOUT_MS'),
      signatureToleranceSeconds: optInt(env, 'FENXIAO_WECHATPAY_SIGNATURE_TOLERANCE_SECONDS'),
    };
  }
  if (opt(env, 'FENXIAO_ALIPAY_APP_ID')) {
    config.alipay = {
      appId: needPayout(env, 'FENXIAO_ALIPAY_APP_ID'),
      privateKey: needPayout(env, 'FENXIAO_ALIPAY_PRIVATE_KEY'),
      appCert: needPayout(env, 'FENXIAO_ALIPAY_APP_CERT'),
      alipayPublicCert: needPayout(env, 'FENXIAO_ALIPAY_PUBLIC_CERT'),
      alipayRootCert: needPayout(env, 'FENXIAO_ALIPAY_ROOT_CERT'),
      gateway: opt(env, 'FENXIAO_ALIPAY_GATEWAY'),
      timeoutMs: optInt(env, 'FENXIAO_ALIPAY_TIMEOUT_MS'),
    };
  }
  return config;
}

/** Reads the configuration from the environment and refuses to boot on a bad value. */
export function loadConfig(env: Env = process.env): Config {
  const port = int(env, 'PORT', 8080);
  const host = opt(env, 'HOST') ?? '127.0.0.1';
  const bucket = opt(env, 'FENXIAO_S3_BUCKET');
  const config: Config = {
    port,
    host,
    databaseUrl: opt(env, 'DATABASE_URL'),
    databasePoolSize: int(env, 'FENXIAO_DB_POOL_SIZE', 20),
    databasePrepare: bool(env, 'FENXIAO_DB_PREPARE', true),
    orderBatchMax: int(env, 'FENXIAO_ORDER_BATCH_MAX', 256),
    orderBatchesInFlight: int(env, 'FENXIAO_ORDER_BATCHES_IN_FLIGHT', 0),
    settlementBatch: int(env, 'FENXIAO_SETTLEMENT_BATCH', 1000),
    settlementWorkers: int(env, 'FENXIAO_SETTLEMENT_WORKERS', 1),
    settlementLeaseSeconds: int(env, 'FENXIAO_SETTLEMENT_LEASE_SECONDS', 60),
    dataDir: opt(env, 'FENXIAO_DATA_DIR') ?? './data',
    rootToken: opt(env, 'FENXIAO_ROOT_TOKEN'),
    masterKey: opt(env, 'FENXIAO_MASTER_KEY'),
    previousMasterKeys: opt(env, 'FENXIAO_PREVIOUS_MASTER_KEYS')
      ?.split(',')
      .map((k) => k.trim())
      .filter((k) => k !== ''),
    redisUrl: opt(env, 'REDIS_URL'),
    sms: smsFromEnv(env),
    amqpUrl: opt(env, 'AMQP_URL'),
    amqpQueue: opt(env, 'FENXIAO_AMQP_QUEUE') ?? 'fenxiao.orders',
    amqpPrefetch: int(env, 'FENXIAO_AMQP_PREFETCH', 16),
    amqpMaxAttempts: int(env, 'FENXIAO_AMQP_MAX_ATTEMPTS', 5),
    amqpSigned: bool(env, 'FENXIAO_AMQP_SIGNED', false),
    runConsumers: bool(env, 'FENXIAO_RUN_CONSUMERS', true),
    wechatOauthBaseUrl: (opt(env, 'FENXIAO_WECHAT_OAUTH_BASE_URL') ?? 'https://open.weixin.qq.com').replace(/\/+$/, ''),
    wechatApiBaseUrl: (opt(env, 'FENXIAO_WECHAT_API_BASE_URL') ?? 'https://api.weixin.qq.com').replace(/\/+$/, ''),
    publicUrl: (opt(env, 'FENXIAO_PUBLIC_URL') ?? `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`).replace(/\/+$/, ''),
    logLevel: (opt(env, 'LOG_LEVEL') ?? 'info') as Config['logLevel'],
    trustProxy: trustProxy(opt(env, 'FENXIAO_TRUST_PROXY')),
    metricsToken: opt(env, 'FENXIAO_METRICS_TOKEN'),
    metricsPublic: bool(env, 'FENXIAO_METRICS_PUBLIC', false),
    bodyLimit: int(env, 'FENXIAO_BODY_LIMIT', 1024 * 1024),
    shutdownGraceSeconds: int(env, 'FENXIAO_SHUTDOWN_GRACE_SECONDS', 20),
    runJobs: bool(env, 'FENXIAO_RUN_JOBS', true),
    webhooks: {
      run: bool(env, 'FENXIAO_RUN_WEBHOOKS', true),
      allowPrivate: bool(env, 'FENXIAO_WEBHOOKS_ALLOW_PRIVATE', false),
      pollMs: int(env, 'FENXIAO_WEBHOOKS_POLL_MS', 2000),
    },
    jobsIntervalSeconds: int(env, 'FENXIAO_JOBS_INTERVAL_SECONDS', 30),
    documents: {
      maxBytes: int(env, 'FENXIAO_DOCUMENT_MAX_BYTES', DEFAULT_DOCUMENT_LIMITS.maxBytes),
      perDistributor: int(env, 'FENXIAO_DOCUMENTS_PER_DISTRIBUTOR', DEFAULT_DOCUMENT_LIMITS.perDistributor),
      bytesPerDistributor: int(env, 'FENXIAO_DOCUMENT_BYTES_PER_DISTRIBUTOR', DEFAULT_DOCUMENT_LIMITS.bytesPerDistributor),
      perTenant: int(env, 'FENXIAO_DOCUMENTS_PER_TENANT', DEFAULT_DOCUMENT_LIMITS.perTenant),
      bytesPerTenant: int(env, 'FENXIAO_DOCUMENT_BYTES_PER_TENANT', DEFAULT_DOCUMENT_LIMITS.bytesPerTenant),
    },
    s3:
      bucket === undefined
        ? undefined
        : {
            endpoint: opt(env, 'FENXIAO_S3_ENDPOINT'),
            region: opt(env, 'FENXIAO_S3_REGION') ?? 'us-east-1',
            bucket,
            accessKeyId: opt(env, 'FENXIAO_S3_ACCESS_KEY_ID') ?? '',
            secretAccessKey: opt(env, 'FENXIAO_S3_SECRET_ACCESS_KEY') ?? '',
            forcePathStyle: bool(env, 'FENXIAO_S3_FORCE_PATH_STYLE', true),
          },
    payouts: payoutsFromEnv(env),
    password: env.FENXIAO_PASSWORD,
  };
  if (config.databaseUrl === undefined) delete config.databaseUrl;
  for (const key of ['rootToken', 'metricsToken', 'masterKey', 'previousMasterKeys', 'redisUrl', 'amqpUrl', 's3', 'password'] as const) {
    // eslint-disable-next-line @typescript-eslint/no-dynamic-delete -- the keys are this fixed list of Config's optional fields, not data
    if (config[key] === undefined) delete config[key];
  }
  const [first] = [...Value.Errors(ConfigSchema, config)];
  if (first) {
    throw new ConfigError(`invalid configuration at ${first.path || '/'}: ${first.message}`);
  }
  if (config.masterKey !== undefined && Buffer.from(config.masterKey, 'base64').length !== 32) {
    throw new ConfigError('FENXIAO_MASTER_KEY must be base64 of exactly 32 bytes');
  }
  // The position, never the value: a config error is printed and logged.
  config.previousMasterKeys?.forEach((k, i) => {
    if (Buffer.from(k, 'base64').length !== 32) throw new ConfigError(`FENXIAO_PREVIOUS_MASTER_KEYS: key ${i + 1} must be base64 of exactly 32 bytes`);
  });
  return config;
}
