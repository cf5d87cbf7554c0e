import pg from 'pg';
import type { Database } from './database.ts';

/**
 * LISTEN on `channel`, calling `onNotify` for each notification (delivered at the sender's
 * commit). PostgreSQL: a connection of its own, outside the pool, opened again a second after
 * it is lost (a restart, a failover) for as long as the listener runs; `onLost` hears of each
 * loss once. PGlite: the embedded instance's own listener. Answers the stop.
 */
export async function listenFor(
  database: Database,
  databaseUrl: string | undefined,
  channel: string,
  onNotify: () => void,
  onLost: (err: Error) => void,
): Promise<() => Promise<void>> {
  if (!/^[a-z_][a-z0-9_]*$/.test(channel)) throw new Error(`bad channel name ${channel}`);
  if (database.kind === 'pglite' && database.pglite) {
    const unlisten = await database.pglite.listen(channel, () => onNotify());
    return async () => {
      await unlisten().catch(() => {});
    };
  }
  if (!databaseUrl) return async () => {};
  let stopped = false;
  let client: pg.Client | undefined;
  let retry: NodeJS.Timeout | undefined;
  const connect = async (): Promise<void> => {
    if (stopped) return;
    const c = new pg.Client({ connectionString: databaseUrl });
    let lost = false;
    const lose = (err: Error) => {
      if (lost) return;
      lost = true;
      c.removeAllListeners('notification');
      c.end().catch(() => {});
      if (stopped) return;
      onLost(err);
      // Whatever was committed meanwhile is found by the worker's polling, and by the wake-up
      // this reconnection gives.
      retry = setTimeout(() => {
        void connect();
      }, 1000);
      retry.unref();
    };
    c.on('error', lose);
    c.on('end', () => lose(new Error('the LISTEN connection ended')));
    c.on('notification', () => onNotify());
    try {
      await c.connect();
      await c.query(`listen ${channel}`);
      client = c;
      onNotify();
    } catch (err) {
      lose(err instanceof Error ? err : new Error(String(err)));
    }
  };
  await connect();
  return async () => {
    stopped = true;
    if (retry) clearTimeout(retry);
    await client?.end().catch(() => {});
  };
}
