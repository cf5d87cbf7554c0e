import cluster from 'node:cluster';
import client from 'prom-client';
import { sql } from 'kysely';
import type { App } from './http.ts';
import { safeEqual } from '../lib/crypto.ts';
import type { Services } from './services.ts';
import { dbStats } from '../db/counting.ts';

/**
 * Prometheus metrics at GET /metrics: HTTP requests by route and status with their latency, the
 * process's own (memory, event loop lag, GC), and the money the operator watches — payouts waiting
 * on a provider, the merchants' payout clearing, open risk events — read from the database when
 * scraped. Route labels are the route patterns (`/v1/orders/:external_id`), never raw URLs, so
 * ids and personal data never become label values. The database gauges are the platform's: they
 * sum over all tenants and their help says so; no tenant id becomes a label (a merchant's money
 * and volume would then sit in the monitoring system, readable by whoever reads dashboards).
 */
export function registerMetrics(app: App, services: Services, options: { token?: string | undefined; public?: boolean } = {}): client.Registry {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry, prefix: 'fenxiao_' });

  const requests = new client.Counter({
    name: 'fenxiao_http_requests_total',
    help: 'HTTP requests answered, by method, route and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const duration = new client.Histogram({
    name: 'fenxiao_http_request_duration_seconds',
    help: 'Time to answer, by method and route',
    labelNames: ['method', 'route'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  new client.Gauge({
    name: 'fenxiao_payouts_open',
    help: 'Payouts handed to a channel and not yet final, by channel and state, counted over all tenants together',
    labelNames: ['channel', 'state'] as const,
    registers: [registry],
    aggregator: 'first',
    async collect() {
      this.reset();
      const rows = await services.db
        .selectFrom('payouts')
        .select(['channel', 'state', (eb) => eb.fn.countAll<number>().as('n')])
        .where('state', 'in', ['created', 'submitted', 'processing', 'wait_user_confirm', 'unknown'])
        .groupBy(['channel', 'state'])
        .execute();
      for (const r of rows) this.set({ channel: r.channel, state: r.state }, Number(r.n));
    },
  });
  new client.Gauge({
    name: 'fenxiao_payout_clearing_fen',
    help: "Money handed to payout channels and not yet confirmed, in fen, summed over all tenants together (the platform's whole float in flight, not one merchant's)",
    registers: [registry],
    aggregator: 'first',
    async collect() {
      const r = await sql<{ s: number | null }>`select sum(p.amount)::bigint as s from postings p join accounts a on a.id = p.account_id
        where a.owner_type = 'tenant' and a.purpose = 'payout_clearing'`.execute(services.db);
      this.set(Number(r.rows[0]?.s ?? 0));
    },
  });
  new client.Gauge({
    name: 'fenxiao_risk_events_open',
    help: 'Risk events waiting for review, by kind and severity, counted over all tenants together',
    labelNames: ['kind', 'severity'] as const,
    registers: [registry],
    aggregator: 'first',
    async collect() {
      this.reset();
      const rows = await services.db
        .selectFrom('risk_events')
        .select(['kind', 'severity', (eb) => eb.fn.countAll<number>().as('n')])
        .where('status', '=', 'open')
        .groupBy(['kind', 'severity'])
        .execute();
      for (const r of rows) this.set({ kind: r.kind, severity: r.severity }, Number(r.n));
    },
  });

  // Round trips to the database and commits, as counters: per order they show what batching saves.
  for (const [name, help, read] of [
    ['fenxiao_db_queries_total', 'Queries sent to the database (each one round trip), BEGIN and COMMIT included', () => dbStats.queries],
    ['fenxiao_db_commits_total', 'Transactions committed', () => dbStats.commits],
    ['fenxiao_db_rollbacks_total', 'Transactions rolled back', () => dbStats.rollbacks],
    ['fenxiao_db_connections_lost_total', 'Pooled connections the database dropped (a restart, a failover, a network cut)', () => dbStats.connectionsLost],
    ['fenxiao_order_batches_total', 'Batches of orders written (group commit: one transaction each, first try)', () => services.orders.batchStats().batches],
    [
      'fenxiao_order_batch_orders_total',
      'Orders written in those batches (divided by the batches: the mean batch size)',
      () => services.orders.batchStats().items,
    ],
    [
      'fenxiao_order_event_batches_total',
      'Batches of order events applied (group commit: one transaction each, first try)',
      () => services.orders.eventBatchStats().batches,
    ],
    [
      'fenxiao_order_event_batch_events_total',
      'Order events applied in those batches (divided by the batches: the mean batch size)',
      () => services.orders.eventBatchStats().items,
    ],
  ] as const) {
    new client.Counter({
      name,
      help,
      registers: [registry],
      collect() {
        this.reset();
        this.inc(read());
      },
    });
  }

  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    if (route === '/metrics') return;
    requests.inc({ method: req.method, route, status: String(reply.statusCode) });
    duration.observe({ method: req.method, route }, reply.elapsedTime / 1000);
  });

  app.get('/metrics', { config: { auth: 'public' }, schema: { hide: true } }, async (req, reply) => {
    // Closed unless opened: a scraper sends FENXIAO_METRICS_TOKEN as a bearer token, or the
    // operator opens /metrics with FENXIAO_METRICS_PUBLIC=1 (and keeps it off the internet at the
    // proxy). It shows the platform's money in flight and the load of every merchant.
    if (!options.public) {
      if (!options.token)
        return reply.code(401).send({
          error: {
            code: 'unauthorized',
            message: '/metrics is closed: set FENXIAO_METRICS_TOKEN and send it as a bearer token, or FENXIAO_METRICS_PUBLIC=1',
          },
        });
      if (!safeEqual(req.headers.authorization ?? '', `Bearer ${options.token}`)) {
        return reply.code(401).send({ error: { code: 'unauthorized', message: 'send the metrics token (FENXIAO_METRICS_TOKEN) as a bearer token' } });
      }
    }
    return reply.type(registry.contentType).send(cluster.isWorker ? await clusterMetrics(registry) : await registry.metrics());
  });
  // Under `fenxiao serve --workers N` each worker counts what it did; the primary sums them
  // (gauges read from the database are taken once), so any worker answers for all.
  if (cluster.isWorker) {
    // Constructing one starts the worker's side of prom-client's cluster protocol (it answers the
    // primary's requests with the registries set here).
    new client.AggregatorRegistry();
    client.AggregatorRegistry.setRegistries([registry]);
  }
  return registry;
}

let metricsRequest = 0;

/** Asks the primary for every worker's metrics summed; this worker's own if it does not answer in time. */
function clusterMetrics(local: client.Registry): Promise<string> {
  if (!process.send) return local.metrics();
  const id = ++metricsRequest;
  return new Promise((resolve) => {
    const done = (text: string | null) => {
      clearTimeout(timer);
      process.off('message', onMessage);
      if (text !== null) resolve(text);
      else void local.metrics().then(resolve);
    };
    const onMessage = (m: unknown) => {
      const msg = m as { type?: unknown; id?: unknown; text?: unknown };
      if (msg?.type === CLUSTER_METRICS_RESULT && msg.id === id) done(typeof msg.text === 'string' ? msg.text : null);
    };
    const timer = setTimeout(() => done(null), 5_000);
    process.on('message', onMessage);
    process.send?.({ type: CLUSTER_METRICS_REQUEST, id });
  });
}

export const CLUSTER_METRICS_REQUEST = 'fenxiao:metrics';
export const CLUSTER_METRICS_RESULT = 'fenxiao:metrics-result';

/** In the primary: answers workers' requests with the metrics of all workers summed. */
export function serveClusterMetrics(): void {
  const aggregator = new client.AggregatorRegistry();
  cluster.on('message', (worker, m: unknown) => {
    const msg = m as { type?: unknown; id?: unknown };
    if (msg?.type !== CLUSTER_METRICS_REQUEST) return;
    aggregator.clusterMetrics().then(
      (text) => {
        if (worker.isConnected()) worker.send({ type: CLUSTER_METRICS_RESULT, id: msg.id, text });
      },
      () => {
        if (worker.isConnected()) worker.send({ type: CLUSTER_METRICS_RESULT, id: msg.id, text: null });
      },
    );
  });
}
