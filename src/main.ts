import { loadConfig } from './app/config.ts';
import { buildServer, type Server } from './app/server.ts';

/**
 * Starts Fenxiao and stops it gracefully: on SIGTERM or SIGINT it stops accepting requests,
 * lets in-flight ones finish (up to the grace period), then closes the database.
 */
export async function serve(): Promise<Server> {
  const config = loadConfig();
  const server = await buildServer(config);
  const { app } = server;
  await app.listen({ port: config.port, host: config.host });
  if (config.runJobs) server.scheduler.start();
  // Resolves once consuming; while the broker is away it keeps retrying in the background.
  if (config.runConsumers) server.orderConsumer.start().catch((err: unknown) => app.log.error({ err }, 'order consumer stopped'));
  app.log.info(
    { port: config.port, host: config.host, database: server.database.kind, data_dir: server.database.kind === 'pglite' ? config.dataDir : undefined },
    'fenxiao is serving',
  );

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.log.info({ signal }, 'shutting down: finishing in-flight requests');
    const timer = setTimeout(() => {
      app.log.error('shutdown grace period over; exiting');
      process.exit(1);
    }, config.shutdownGraceSeconds * 1000);
    timer.unref();
    server.close().then(
      () => {
        app.log.info('stopped');
        process.exit(0);
      },
      (err: unknown) => {
        app.log.error({ err }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  return server;
}
