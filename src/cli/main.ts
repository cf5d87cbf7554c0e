import cluster from 'node:cluster';
import v8 from 'node:v8';
import { Command, Option } from 'commander';
import { loadConfig } from '../app/config.ts';
import { openDatabase } from '../db/database.ts';
import { migrateToLatest } from '../db/migrate.ts';
import { createServices } from '../app/services.ts';
import { systemClock } from '../core/context.ts';
import { keyRingFromConfig, newMasterKey } from '../modules/pii/keys.ts';
import { encryptLegacyProfiles } from '../modules/pii/legacy.ts';
import { rotateKeys, staleCounts } from '../modules/pii/rotate.ts';
import { encryptLegacyDocuments, plaintextDocumentCount } from '../modules/distributors/documents.ts';
import { storageFromConfig } from '../adapters/storage/index.ts';
import { createProgress } from './progress.ts';
import { reachDatabase } from '../app/startup.ts';
import { createMemoryRateLimiter } from '../adapters/ratelimit/memory.ts';
import { createLocalStorage } from '../adapters/storage/local.ts';
import { createS3Storage } from '../adapters/storage/s3.ts';
import fs from 'node:fs';
import path from 'node:path';
import type { AdminRole } from '../db/schema.ts';
import { AppError } from '../core/errors.ts';
import { fenToYuan } from '../core/money.ts';
import { createPayoutChannels } from '../adapters/payout/index.ts';
import { verifyLedger } from '../modules/ledger/verify.ts';
import { createSmsSender } from '../adapters/sms/index.ts';

/** The version in package.json, found upwards from this file (the sources or the server build). */
function packageVersion(): string {
  for (let dir = import.meta.dirname; ; dir = path.dirname(dir)) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'fenxiao' && pkg.version) return pkg.version;
    } catch {
      /* no package.json here */
    }
    if (path.dirname(dir) === dir) return 'unknown';
  }
}

/** The phone number of the demo's distributor who signs in to the portal (a well-known placeholder number). */
const DEMO_PORTAL_PHONE = '13800138000';

/** Opens the configured database with every service, for one CLI command, then closes it. */
async function withServices<T>(fn: (s: ReturnType<typeof createServices>) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: 4, prepare: config.databasePrepare });
  try {
    await reachDatabase(database, config.databaseUrl);
    await migrateToLatest(database.db);
    const limiter = createMemoryRateLimiter();
    const services = createServices({
      db: database.db,
      keyedDb: database.keyed,
      clock: systemClock,
      keyring: keyRingFromConfig(config),
      limiter,
      storage: config.s3 ? createS3Storage(config.s3) : createLocalStorage(path.resolve(config.dataDir, 'files')),
      publicUrl: config.publicUrl,
      rootToken: config.rootToken,
      // No command sends a text; should one, it goes where the server's would.
      sms: createSmsSender(config.sms, { log: (m) => console.warn(`SMS simulated, not sent (FENXIAO_SMS_PROVIDER unset): to ${m.to}`) }),
      documentLimits: config.documents,
      payoutChannels: createPayoutChannels(config.payouts, { clock: systemClock }),
    });
    return await fn(services);
  } finally {
    await database.close();
  }
}

/**
 * Commands that open the embedded database for a few statements. PGlite is PostgreSQL compiled to
 * WebAssembly: V8 compiles it with its baseline compiler (Liftoff) and then, on background threads,
 * recompiles what runs hot with its optimizing one (TurboFan), about 0.7 s of CPU that a command
 * of a few statements never earns back (`fenxiao migrate` on an existing database took 1.6 s of
 * CPU with it, 0.9 s without; docs/operations.md). The server and the commands that do bulk work
 * (demo, verify, export, reconcile, jobs, key rotation) keep the optimizing compiler.
 */
const SHORT_COMMANDS = new Set(['migrate', 'tenant create', 'tenant suspend', 'tenant reactivate', 'tenant list', 'user create', 'pii new-key', 'pii status']);

const cli = new Command('fenxiao')
  .description('Fenxiao distribution platform')
  .version(packageVersion(), '-v, --version', 'print the version')
  .showHelpAfterError()
  .hook('preAction', (_cli, action) => {
    const parent = action.parent && action.parent !== cli ? `${action.parent.name()} ` : '';
    // Before the database is opened, so before PGlite's module is compiled; the flag applies to compilations after it.
    if (SHORT_COMMANDS.has(`${parent}${action.name()}`)) v8.setFlagsFromString('--liftoff-only');
  });

cli
  .command('serve')
  .description('run migrations and serve HTTP (what npm start does)')
  .option(
    '--workers <n>',
    `processes sharing the port (node:cluster), each with its own database pool; default: one per core on PostgreSQL, 1 on the embedded database (which one process owns)`,
    (v) => Number(v),
  )
  .action(async (opts: { workers?: number }) => {
    // The HTTP server (Fastify, Swagger, the web apps) is loaded by the commands that serve, not by every command.
    const { serve } = await import('../main.ts');
    const { MAX_WORKERS, processLogger, servePrimary, workerCount } = await import('./workers.ts');
    // A worker of `serve --workers N` runs this command again (cluster forks the same argv).
    if (cluster.isWorker) {
      await serve();
      return;
    }
    if (opts.workers !== undefined && (!Number.isInteger(opts.workers) || opts.workers < 1 || opts.workers > MAX_WORKERS)) {
      throw new AppError('invalid_request', {
        en: `--workers takes a whole number from 1 to ${MAX_WORKERS}`,
        zh: `--workers 应为 1 到 ${MAX_WORKERS} 之间的整数`,
      });
    }
    const config = loadConfig();
    const { count, note } = workerCount(opts.workers, config);
    if (note) processLogger(config).warn({ workers: count }, note);
    // One process is exactly what serve always was: no cluster primary in between.
    if (count === 1) await serve();
    else await servePrimary(config, count);
  });

cli
  .command('demo')
  .description('create a demo merchant with a team, sixty days of orders, a settlement and payouts, and print how to sign in to the console')
  .option('--name <name>', "the demo merchant's name", '演示茶叶商城')
  .option('--email <email>', "the owner's login", 'owner@demo.fenxiao')
  .option('--password <password>', "the owner's password (prefer FENXIAO_PASSWORD)")
  .option('--distributors <n>', 'distributors', (v) => Number(v), 40)
  .option('--orders <n>', 'orders over the last 60 days', (v) => Number(v), 300)
  .option('--seed <n>', 'random seed (the same seed, the same demo)', (v) => Number(v), 20261125)
  .option('--json', 'print JSON')
  .action(async (opts: { name: string; email: string; password?: string; distributors: number; orders: number; seed: number; json?: boolean }) => {
    for (const [name, v, max] of [
      ['--distributors', opts.distributors, 10_000],
      ['--orders', opts.orders, 100_000],
    ] as const) {
      if (!Number.isInteger(v) || v < 1 || v > max)
        throw new AppError('invalid_request', { en: `${name} takes a whole number from 1 to ${max}`, zh: `${name} 应为 1 到 ${max} 之间的整数` });
    }
    const config = loadConfig({ ...process.env, FENXIAO_RUN_JOBS: 'false', FENXIAO_RUN_CONSUMERS: 'false', LOG_LEVEL: 'warn' });
    const password = opts.password ?? config.password ?? 'demo-password-2026';
    const { buildServer } = await import('../app/server.ts');
    const { seedDemo } = await import('./demo.ts');
    // The demo is written along its own timeline: a clock the seeder moves from 62 days ago to now.
    const { ManualClock } = await import('../core/context.ts');
    const clock = new ManualClock(new Date());
    const server = await buildServer(config, { clock });
    try {
      const r = await seedDemo(
        server,
        clock,
        {
          name: opts.name,
          email: opts.email,
          password,
          distributors: opts.distributors,
          orders: opts.orders,
          seed: opts.seed,
          now: new Date(),
          portalPhone: DEMO_PORTAL_PHONE,
          portalPassword: password,
        },
        (label, total) => createProgress({ label, total, unit: label === 'orders and events' ? 'steps' : 'rows' }),
      );
      const shown = opts.password || config.password ? '(the password you gave)' : password;
      const consoleUrl = `${config.publicUrl}/admin/login?merchant=${r.slug}`;
      const portalUrl = `${config.publicUrl}/portal/login?tenant=${r.slug}`;
      if (opts.json)
        console.log(
          JSON.stringify({
            tenant_id: r.tenantId,
            api_key: r.apiKey,
            email: opts.email,
            console_url: consoleUrl,
            portal_url: portalUrl,
            portal_phone: DEMO_PORTAL_PHONE,
            ...r,
          }),
        );
      else {
        console.log(
          `demo tenant ${r.tenantId} (${r.slug}): ${r.distributors} distributors, ${r.orders} orders, ${r.statements} statements, ${r.withdrawals} withdrawals`,
        );
        console.log(`api key  ${r.apiKey}  (shown once)`);
        console.log(`console  ${consoleUrl}   ${opts.email} / ${shown}`);
        console.log(`portal   ${portalUrl}   ${r.portalDistributor.name}: phone ${DEMO_PORTAL_PHONE} / ${shown}`);
        console.log('(start the server with `npm start` first: these addresses are served by it)');
      }
    } finally {
      await server.close();
    }
  });

cli
  .command('migrate')
  .description('bring the database schema up to date')
  .action(async () => {
    const config = loadConfig();
    const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: 2, prepare: config.databasePrepare });
    try {
      await reachDatabase(database, config.databaseUrl);
      const applied = await migrateToLatest(database.db);
      console.log(applied.length ? `applied: ${applied.join(', ')}` : 'schema is up to date');
      // Data migrations that need the key (it lives here, not in the database).
      const legacy = await encryptLegacyProfiles(database.db, keyRingFromConfig(config));
      if (legacy.moved > 0) console.log(`personal data of ${legacy.moved} application profile(s) encrypted`);
      if (legacy.skipped.length > 0) console.log(`${legacy.skipped.length} profile(s) left: their key is not configured (first: ${legacy.skipped[0]})`);
      const documents = await encryptLegacyDocuments(
        { db: database.db, storage: storageFromConfig(config), keyring: keyRingFromConfig(config) },
        Number.MAX_SAFE_INTEGER,
      );
      if (documents.encrypted > 0) console.log(`${documents.encrypted} document(s) stored in plaintext encrypted`);
      if (documents.failed > 0)
        console.log(`${documents.failed} document(s) left in plaintext: their file could not be read (first: ${documents.failed_ids[0]})`);
    } finally {
      await database.close();
    }
  });

const tenant = cli.command('tenant').description('tenants and their API keys');
tenant
  .command('create')
  .description('create a tenant and print its API key')
  .requiredOption('--name <name>', "the merchant's name")
  .option('--slug <slug>', 'its short name for signing in (3-32 lower-case letters, digits, hyphens); made from the name when not given')
  .option('--json', 'print JSON')
  .action(async (opts: { name: string; slug?: string; json?: boolean }) => {
    const t = await withServices((s) => s.tenants.create({ principal: { kind: 'root' }, requestId: 'cli' }, { name: opts.name, slug: opts.slug }));
    const consoleUrl = `${loadConfig().publicUrl}/admin/login?merchant=${t.slug}`;
    if (opts.json) console.log(JSON.stringify({ ...t, console_url: consoleUrl }));
    else
      console.log(`tenant  ${t.id}\nslug    ${t.slug}\nname    ${t.name}\napi key ${t.api_key}\n(the key is shown once; keep it safe)\nconsole ${consoleUrl}`);
  });
tenant
  .command('suspend')
  .description('suspend a tenant: its API keys and sessions stop, its sessions end, nobody of it signs in')
  .requiredOption('--tenant <id>', 'tenant id')
  .requiredOption('--reason <text>', 'why (kept in the audit log)')
  .action(async (opts: { tenant: string; reason: string }) => {
    const t = await withServices((s) => s.tenants.suspend({ principal: { kind: 'root' }, requestId: 'cli' }, opts.tenant, opts.reason));
    console.log(`tenant ${t.id} ${t.status}`);
  });
tenant
  .command('reactivate')
  .description('reactivate a suspended tenant')
  .requiredOption('--tenant <id>', 'tenant id')
  .action(async (opts: { tenant: string }) => {
    const t = await withServices((s) => s.tenants.reactivate({ principal: { kind: 'root' }, requestId: 'cli' }, opts.tenant));
    console.log(`tenant ${t.id} ${t.status}`);
  });
tenant
  .command('list')
  .description('list tenants')
  .action(async () => {
    const rows = await withServices((s) => s.db.selectFrom('tenants').selectAll().orderBy('id').execute());
    for (const r of rows) console.log(`${r.id}\t${r.slug ?? '-'}\t${r.status}\t${r.name}`);
  });

const user = cli.command('user').description('admin users of a tenant');
user
  .command('create')
  .description('create an admin user (the password comes from FENXIAO_PASSWORD or --password)')
  .requiredOption('--tenant <id>', 'tenant id or short name (slug)')
  .requiredOption('--email <email>', 'login email')
  .addOption(new Option('--role <role>', 'role').choices(['owner', 'operator', 'finance', 'auditor']).default('owner'))
  .option('--password <password>', 'password (prefer FENXIAO_PASSWORD)')
  .option('--name <name>', 'display name')
  .action(async (opts: { tenant: string; email: string; role: AdminRole; password?: string; name?: string }) => {
    const password = opts.password ?? loadConfig().password;
    if (!password)
      throw new AppError('invalid_request', { en: 'give a password with FENXIAO_PASSWORD or --password', zh: '请用 FENXIAO_PASSWORD 或 --password 提供密码' });
    const u = await withServices(async (s) => {
      const tenantId = (await s.tenants.resolve(opts.tenant))?.id;
      if (!tenantId) throw new AppError('not_found', { en: `tenant ${opts.tenant} not found`, zh: `商户 ${opts.tenant} 不存在` });
      return s.admin.createUser({ principal: { kind: 'root' }, requestId: 'cli' }, { email: opts.email, password, role: opts.role, name: opts.name }, tenantId);
    });
    console.log(`user ${u.id} ${u.email} (${u.role})`);
  });

const ledger = cli.command('ledger').description('the double-entry ledger');
ledger
  .command('verify')
  .description(
    "check the ledger's invariants over what was written since each tenant's last clean checkpoint (--full: over everything) and name each break (exit 0: clean, 2: breaks found, 1: could not check)",
  )
  .option('--tenant <id>', 'one tenant (default: all tenants)')
  .option('--full', 'a full pass (a tenant without a checkpoint gets one anyway)')
  .option('--json', 'print the report as JSON')
  .action(async (opts: { tenant?: string; full?: boolean; json?: boolean }) => {
    const mode = opts.full ? 'full' : 'incremental';
    const report = await withServices(async (s) => {
      if (opts.tenant) return s.ledger.verifyTenant(opts.tenant, mode);
      if (opts.full) return { ...(await verifyLedger(s.db, null, s.ledgerChecks)), mode };
      // Each tenant from its own checkpoint, in one report.
      const tenants = await s.db.selectFrom('tenants').select('id').orderBy('id').execute();
      const each: Awaited<ReturnType<typeof s.ledger.verifyTenant>>[] = [];
      for (const t of tenants) each.push(await s.ledger.verifyTenant(t.id, mode));
      const sum = (k: 'journals' | 'postings' | 'accounts' | 'commissions') => each.reduce((n, r) => n + r.checked[k], 0);
      const breaks = each.flatMap((r) => r.breaks);
      const checked = { journals: sum('journals'), postings: sum('postings'), accounts: sum('accounts'), commissions: sum('commissions') };
      return { ok: breaks.length === 0, tenant_id: null, checked, breaks, mode };
    });
    if (opts.json) console.log(JSON.stringify(report));
    else {
      const { journals, postings, accounts, commissions } = report.checked;
      const since = 'since_posting_id' in report && report.since_posting_id !== null ? ` (incremental, after posting ${report.since_posting_id})` : '';
      console.log(
        `${opts.tenant ? `tenant ${opts.tenant}` : 'all tenants'}: ${journals} journals, ${postings} postings, ${accounts} accounts, ${commissions} commission lines checked${since}`,
      );
      for (const b of report.breaks) console.log(`BREAK ${b.invariant}: ${b.subject}: ${b.detail}`);
      console.log(report.ok ? 'ledger ok' : `${report.breaks.length} break(s)`);
    }
    if (!report.ok) process.exitCode = 2;
  });

const collect = (value: string, previous: string[] = []) => [
  ...previous,
  ...value
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean),
];

const audit = cli.command('audit').description('the tamper-evident audit log');
audit
  .command('verify')
  .description('walk the audit hash chains and name every edited or removed entry (exit 2 on a break)')
  .option('--tenant <id>', 'one tenant (default: every chain)')
  .option(
    '--anchor <chain:seq:hash>',
    'a head printed by an earlier verify and kept elsewhere: that entry must still carry that hash (repeatable)',
    collect,
    [],
  )
  .option('--json', 'print JSON')
  .action(async (opts: { tenant?: string; anchor: string[]; json?: boolean }) => {
    const anchors = opts.anchor.map((text) => {
      const m = /^([^:]+):([0-9]{1,15}):([0-9a-f]{64})$/.exec(text);
      if (!m)
        throw new AppError('invalid_request', {
          en: `--anchor takes <chain>:<seq>:<hash> as verify prints the heads, got "${text.slice(0, 100)}"`,
          zh: `--anchor 的格式为 <chain>:<seq>:<hash>（即 verify 打印的链头），收到的是 "${text.slice(0, 100)}"`,
        });
      const [, chain = '', seq, hash = ''] = m;
      return { chain, seq: Number(seq), hash };
    });
    const report = await withServices((s) => s.audit.verify(s.db, opts.tenant ?? null, anchors));
    if (opts.json) console.log(JSON.stringify(report));
    else {
      console.log(`${report.entries} entries checked: ${report.ok ? 'the chain is whole' : `${report.breaks.length} break(s)`}`);
      for (const b of report.breaks) console.log(`  ${b.chain} #${b.seq ?? '-'} (audit id ${b.audit_id ?? '-'}): ${b.problem}`);
      for (const h of report.heads) console.log(`head ${h.chain}:${h.seq}:${h.hash}`);
    }
    if (!report.ok) process.exitCode = 2;
  });

cli
  .command('jobs')
  .description('run one pass of the scheduled jobs (auto-receipt, settlement cycles, payouts) and print each outcome')
  .option('--json', 'print JSON')
  .action(async (opts: { json?: boolean }) => {
    const { createScheduler } = await import('../app/scheduler.ts');
    const pino = (await import('pino')).default;
    const results = await withServices((s) => createScheduler({ services: s, log: pino({ level: 'warn' }, process.stderr) }).tick());
    if (opts.json) console.log(JSON.stringify(results));
    else for (const r of results) console.log(`${r.job}\t${r.tenant_id ?? '-'}\t${r.outcome}\t${r.run_id}\t${JSON.stringify(r.detail)}`);
    if (results.some((r) => r.outcome === 'failed')) process.exitCode = 1;
  });

const EXPORT_KIND_NAMES: Record<string, 'statements' | 'withdrawals' | 'commissions' | 'reconciliation' | 'reconciliation-mismatches'> = {
  statements: 'statements',
  withdrawals: 'withdrawals',
  commissions: 'commissions',
  reconciliation: 'reconciliation',
  mismatches: 'reconciliation-mismatches',
  'reconciliation-mismatches': 'reconciliation-mismatches',
};

cli
  .command('export')
  .description('write a business export (.xlsx or .csv) of one tenant to a file, with a progress line on stderr')
  .argument('<kind>', 'statements | withdrawals | commissions | reconciliation | mismatches (reconciliation mismatches)')
  .requiredOption('--tenant <id>', 'tenant id')
  .addOption(new Option('--format <format>', 'file format').choices(['xlsx', 'csv']).makeOptionMandatory())
  .requiredOption('--out <file>', 'where to write it (written to <file>.part, renamed when complete)')
  .option('--from <when>', 'period start, inclusive: YYYY-MM-DD (local midnight) or an ISO date-time')
  .option('--to <when>', 'period end, exclusive')
  .option('--status <status>', 'only these statuses (repeat, or comma-separated)', collect)
  .option('--channel <channel>', 'withdrawals: only these payout channels (repeat, or comma-separated)', collect)
  .option('--distributor <id>', 'only this distributor (the beneficiary, for commission lines)')
  .addOption(new Option('--lang <lang>', 'header language').choices(['zh', 'en']).default('zh'))
  .action(
    async (
      kindName: string,
      opts: {
        tenant: string;
        format: 'xlsx' | 'csv';
        out: string;
        from?: string;
        to?: string;
        status?: string[];
        channel?: string[];
        distributor?: string;
        lang: 'zh' | 'en';
      },
    ) => {
      const kind = EXPORT_KIND_NAMES[kindName];
      if (!kind)
        throw new AppError('invalid_request', {
          en: `unknown export "${kindName}": statements, withdrawals, commissions, reconciliation or mismatches`,
          zh: `未知的导出类型 "${kindName}"：可选 statements、withdrawals、commissions、reconciliation 或 mismatches`,
        });
      const fs = await import('node:fs');
      const fsp = await import('node:fs/promises');
      const { createProgress } = await import('./progress.ts');
      const out = path.resolve(opts.out);
      const part = `${out}.part`;
      const result = await withServices(async (s) => {
        const system = { principal: { kind: 'system' as const, tenantId: opts.tenant, job: 'cli-export' }, requestId: null };
        const prepared = await s.exports.prepare(
          system,
          kind,
          {
            from: opts.from,
            to: opts.to,
            status: opts.status,
            channel: opts.channel,
            distributor_id: opts.distributor,
          },
          opts.lang,
        );
        const progress = createProgress({ label: `export ${kindName}`, total: await prepared.count() });
        try {
          const file = fs.createWriteStream(part, { mode: 0o600 });
          const written = await prepared.write(file, opts.format, { onProgress: (n) => progress.update(n) });
          if (!file.closed) await new Promise((resolve) => file.once('close', resolve));
          await fsp.rename(part, out);
          progress.done(out);
          return written;
        } catch (err) {
          progress.fail(err instanceof Error ? err.message : String(err));
          await fsp.rm(part, { force: true });
          throw err;
        }
      });
      const totals = Object.entries(result.totals)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ');
      console.log(`${result.rows} rows written to ${out}${totals ? ` (totals: ${totals})` : ''}`);
    },
  );

cli
  .command('reconcile')
  .description("reconcile a tenant's withdrawals and payouts against the ledger: totals and every mismatch (exit 0: clean, 2: mismatches, 1: could not check)")
  .requiredOption('--tenant <id>', 'tenant id')
  .option('--from <when>', 'period start by withdrawal request time, inclusive: YYYY-MM-DD (local midnight) or an ISO date-time')
  .option('--to <when>', 'period end, exclusive')
  .option('--json', 'print the report as JSON')
  .action(async (opts: { tenant: string; from?: string; to?: string; json?: boolean }) => {
    const report = await withServices(async (s) => {
      const known = await s.db.selectFrom('tenants').select('id').where('id', '=', opts.tenant).executeTakeFirst();
      if (!known) throw new AppError('not_found', { en: `tenant ${opts.tenant} not found`, zh: `商户 ${opts.tenant} 不存在` });
      return s.reconciliation.summary(opts.tenant, { from: opts.from, to: opts.to });
    });
    if (opts.json) console.log(JSON.stringify(report));
    else {
      const yuan = fenToYuan;
      const sum = (x: { count: number; amount_fen: number }) => `${x.count} / ${yuan(x.amount_fen)}`;
      console.log(`tenant ${report.tenant_id}, withdrawals requested ${report.from ?? 'from the start'} to ${report.to ?? 'now'} (count / yuan)`);
      console.log('channel\trequested\tpending review\tin flight\tpaid\tfailed\trejected\tfees');
      for (const [name, t] of [['all', report.totals.overall] as const, ...report.totals.by_channel.map((c) => [c.channel, c] as const)]) {
        console.log(
          `${name}\t${sum(t.requested)}\t${sum(t.pending_review)}\t${sum(t.in_flight)}\t${sum(t.paid)}\t${sum(t.failed)}\t${sum(t.rejected)}\t${yuan(t.fees_fen)}`,
        );
      }
      const l = report.ledger;
      console.log(
        `payout clearing ${yuan(l.payout_clearing_fen)} (payouts in flight ${yuan(l.in_flight_fen)}); fee income ${yuan(l.fee_income_fen)} (fees of paid withdrawals ${yuan(l.paid_fees_fen)})`,
      );
      console.log(
        `admission deposits: deposit cash ${yuan(l.deposit_cash_fen)} (received less paid back ${yuan(l.deposits_held_fen)}; on its way back ${yuan(l.deposits_refunding_fen)})`,
      );
      for (const m of report.mismatches) console.log(`MISMATCH ${m.code} ${m.subject}: ${m.detail}`);
      console.log(report.ok ? 'no mismatches' : `${report.mismatches.length} mismatch(es)`);
    }
    if (!report.ok) process.exitCode = 2;
  });

const pii = cli.command('pii').description('personal data: encryption keys (see docs/privacy.md)');
pii
  .command('new-key')
  .description('print a new random master key (base64 of 32 bytes) for FENXIAO_MASTER_KEY')
  .action(() => {
    console.log(newMasterKey());
  });
pii
  .command('status')
  .description('how many encrypted values are not yet under the current key, per table')
  .option('--json', 'print JSON')
  .action(async (opts: { json?: boolean }) => {
    const config = loadConfig();
    const keyring = keyRingFromConfig(config);
    const [counts, plaintextDocuments] = await withServices((s) => Promise.all([staleCounts(s.db, keyring), plaintextDocumentCount(s.db)]));
    if (opts.json) console.log(JSON.stringify({ kid: keyring.currentKid, stale: counts, plaintext_documents: plaintextDocuments }));
    else {
      console.log(`current key id ${keyring.currentKid}`);
      for (const [table, n] of Object.entries(counts)) console.log(`${table}\t${n} row(s) under another key`);
      console.log(`documents\t${plaintextDocuments} stored in plaintext by an earlier version`);
    }
  });
pii
  .command('rotate-key')
  .description(
    're-encrypt every personal value under FENXIAO_MASTER_KEY and recompute blind indexes; the old keys go in FENXIAO_PREVIOUS_MASTER_KEYS (idempotent, resumable; exit 2 if a value no configured key opens)',
  )
  .option('--batch <n>', 'rows per transaction', '500')
  .option('--json', 'print the report as JSON')
  .action(async (opts: { batch: string; json?: boolean }) => {
    const batchSize = Number(opts.batch);
    if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000)
      throw new AppError('invalid_request', { en: '--batch must be an integer from 1 to 10000', zh: '--batch 应为 1 到 10000 之间的整数' });
    const config = loadConfig();
    const keyring = keyRingFromConfig(config);
    const { documents, ...report } = await withServices(async (s) => {
      await encryptLegacyProfiles(s.db, keyring);
      // Documents an earlier version stored in plaintext get a data key first, so the pass
      // below leaves every document's key under the current master key.
      const documents = await s.distributors.encryptLegacyDocuments(Number.MAX_SAFE_INTEGER);
      const rotated = await rotateKeys(s.db, keyring, { batchSize, progress: (label, total) => createProgress({ label, total }) });
      return { ...rotated, ok: rotated.ok && documents.failed === 0, documents };
    });
    if (opts.json) console.log(JSON.stringify({ ...report, documents }));
    else {
      console.log(`current key id ${report.kid}`);
      for (const t of report.tables) {
        console.log(
          `${t.table}\t${t.rotated} re-encrypted, ${t.changed} changed meanwhile, ${t.failed} unreadable${t.failed ? ` (first: ${t.failed_ids.join(', ')})` : ''}`,
        );
      }
      if (documents.encrypted > 0) console.log(`documents\t${documents.encrypted} stored in plaintext encrypted`);
      if (documents.failed > 0)
        console.log(`documents\t${documents.failed} left in plaintext: their file could not be read (first: ${documents.failed_ids.join(', ')})`);
      console.log(
        report.ok
          ? 'every value is under the current key'
          : documents.failed > 0 && report.tables.every((t) => t.failed === 0)
            ? 'some documents could not be read from storage: check the files named and run again'
            : 'some values need a key that is not configured: add it to FENXIAO_PREVIOUS_MASTER_KEYS and run again',
      );
    }
    if (!report.ok) process.exitCode = 2;
  });

try {
  await cli.parseAsync(process.argv);
} catch (err) {
  const message = err instanceof AppError ? `${err.code}: ${err.message}` : err instanceof Error ? err.message : String(err);
  console.error(`fenxiao: ${message}`);
  process.exit(1);
}
