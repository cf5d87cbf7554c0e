import cluster from 'node:cluster';
import type { AddressInfo } from 'node:net';
import { loadConfig } from './app/config.ts';
import { buildServer, type Server } from './app/server.ts';
import { checkPortFree, listenError, welcome } from './app/startup.ts';
import { exitAfterLogs } from './lib/log-output.ts';

/**
 * Starts Fenxiao and stops it gracefully: on SIGTERM or SIGINT it stops accepting requests,
 * lets in-flight ones finish (up to the grace period), then closes the database. A second signal
 * exits at once. Nothing stdout does can hold the stop: log lines are written by the event loop
 * (lib/log-output.ts), so the grace timer always runs.
 */
export async function serve(): Promise<Server> {
  const config = loadConfig();
  // The handlers come first, before anything is opened: a worker's primary counts it as listening
  // as soon as its port is bound, so a Ctrl-C (or the primary's request) can arrive while the rest
  // of the start-up still runs, and must stop it gracefully, not kill it by the default action.
  let server: Server | undefined = undefined;
  let stopping = false;
  let signals = 0;
  const finish = (s: Server) => {
    // Kept referenced: the process lives until the stop finishes or this fires, never less.
    setTimeout(() => {
      s.app.log.error('shutdown grace period over; exiting');
      exitAfterLogs(1, 200);
    }, config.shutdownGraceSeconds * 1000);
    s.close().then(
      () => {
        s.app.log.info('stopped');
        exitAfterLogs(0);
      },
      (err: unknown) => {
        s.app.log.error({ err }, 'error while stopping');
        exitAfterLogs(1);
      },
    );
  };
  /** `signal` is null for the cluster primary's request (an IPC message), which is never a second signal. */
  const stop = (signal: NodeJS.Signals | null) => {
    if (signal) signals++;
    if (stopping) {
      if (signals < 2) return;
      // A second signal: the operator wants it gone now.
      server?.app.log.warn({ signal }, 'second signal: exiting now without finishing in-flight requests');
      exitAfterLogs(1, 200);
      return;
    }
    stopping = true;
    // Before the server is built there is nothing to finish yet: it is stopped once built.
    if (!server) return;
    server.app.log.info({ signal: signal ?? 'primary', grace_seconds: config.shutdownGraceSeconds }, 'shutting down: finishing in-flight requests');
    finish(server);
  };
  process.on('SIGTERM', () => {
    stop('SIGTERM');
  });
  process.on('SIGINT', () => {
    stop('SIGINT');
  });
  // A worker of `serve --workers N` is asked to stop by its primary over IPC, not by a signal: a
  // Ctrl-C (SIGINT to the whole process group) or systemd's SIGTERM to every process of the
  // service reaches the worker too, and that pair must not count as a second signal.
  if (cluster.isWorker) {
    process.on('message', (message: unknown) => {
      if ((message as { fenxiao?: unknown } | null)?.fenxiao === 'shutdown') stop(null);
    });
  }

  // Before anything is opened or migrated: a port already taken is said at once, naming PORT.
  // (A cluster worker shares the port its primary checked.)
  if (!cluster.isWorker) await checkPortFree(config.host, config.port);
  const built = await buildServer(config);
  server = built;
  const { app } = built;
  if (stopping) {
    // Asked to stop while starting: it never serves.
    app.log.info({ grace_seconds: config.shutdownGraceSeconds }, 'shutting down: asked to stop while starting');
    finish(built);
    return built;
  }
  try {
    await app.listen({ port: config.port, host: config.host });
  } catch (err) {
    // Closed by a stop while it was binding: the stop finishes on its own.
    if (stopping) return built;
    await built.close().catch(() => {});
    throw listenError(err, config.host, config.port);
  }
  // A stop asked for from here on closes what is started below as well (server.close()).
  if (config.runJobs && !stopping) built.scheduler.start();
  // Outbound webhooks are delivered by every serving process (claims are per tenant and leased).
  if (config.webhooks.run && !stopping) await built.startWebhooks();
  // Resolves once consuming; while the broker is away it keeps retrying in the background.
  if (config.runConsumers && !stopping) built.orderConsumer.start().catch((err: unknown) => app.log.error({ err }, 'order consumer stopped'));
  const address = app.server.address() as AddressInfo | null;
  const port = address?.port ?? config.port;
  const url = config.port === 0 ? `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${port}` : config.publicUrl;
  app.log.info(
    {
      port,
      host: config.host,
      url,
      console_url: `${url}/admin/`,
      docs_url: `${url}/docs`,
      database: built.database.kind,
      data_dir: built.database.kind === 'pglite' ? config.dataDir : undefined,
    },
    'fenxiao is serving',
  );
  // Where to go, for the person who ran `npm start` (one worker says it in a cluster: the primary
  // says its own).
  if (!cluster.isWorker) {
    const tenants = await built.database.db
      .selectFrom('tenants')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .executeTakeFirst()
      .then((r) => Number(r?.n ?? 0))
      .catch(() => -1);
    process.stderr.write(`${welcome({ url, tenants, database: built.database.kind, dataDir: config.dataDir })}\n`);
  }

  return built;
}
