/**
 * What `fenxiao serve` checks and says before and after it starts (issue 16, item 2): the port is
 * free before anything is migrated, the database in DATABASE_URL answers before it is migrated,
 * and each failure is one line naming the setting to change (never a password).
 */
import net from 'node:net';
import { sql } from 'kysely';
import type { Database } from '../db/database.ts';

/** An error whose message is the whole story: the CLI prints it as is and exits 1. */
export class StartupError extends Error {}

/**
 * Fails with a line naming PORT when nobody may listen on `host:port` now. Checked before the
 * database is opened or migrated; a port taken in the moment between this and the real listen
 * still fails there, with the same sentence (listenError).
 */
export async function checkPortFree(host: string, port: number): Promise<void> {
  if (port === 0) return;
  await new Promise<void>((resolve, reject) => {
    const probe = net.createServer();
    probe.unref();
    probe.once('error', (err) => {
      reject(listenError(err, host, port));
    });
    probe.listen({ port, host, exclusive: true }, () => {
      probe.close(() => {
        resolve();
      });
    });
  });
}

/** The sentence for a failed listen: EADDRINUSE and EACCES name PORT (and HOST when it cannot be had). */
export function listenError(err: unknown, host: string, port: number): Error {
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 'EADDRINUSE')
    return new StartupError(
      `port ${port} on ${host} is already in use (EADDRINUSE): stop what listens there (another fenxiao serve?) or set PORT to another port`,
    );
  if (code === 'EACCES')
    return new StartupError(`not allowed to listen on port ${port} (EACCES): ports below 1024 need privileges; set PORT to a port from 1024 up`);
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' || code === 'EAI_AGAIN')
    return new StartupError(`cannot listen on ${host}:${port} (${String(code)}): HOST is not an address of this machine; set HOST (127.0.0.1 or 0.0.0.0)`);
  return err instanceof Error ? err : new Error(String(err));
}

/** DATABASE_URL as it may be printed: the password replaced by ***. */
export function redactDatabaseUrl(databaseUrl: string): string {
  try {
    const url = new URL(databaseUrl);
    if (url.password) url.password = '***';
    for (const key of [...url.searchParams.keys()]) if (/pass|secret|key/i.test(key)) url.searchParams.set(key, '***');
    return url.toString();
  } catch {
    return 'postgres://… (not a URL)';
  }
}

/** Why a connection failed, in words, from node-postgres' and the socket's codes. */
const CONNECT_REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused: is PostgreSQL running and listening on that host and port?',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'the host name could not be looked up',
  ETIMEDOUT: 'the connection timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ECONNRESET: 'the server closed the connection',
  '28P01': 'password authentication failed',
  '28000': 'that user may not connect (no such role, or pg_hba.conf refuses it)',
  '3D000': 'the database does not exist (createdb it first)',
  '57P03': 'PostgreSQL is starting up or shutting down',
  '53300': 'PostgreSQL has no connection left (max_connections)',
};

/** How long the first query may take before the database counts as unreachable. */
const REACH_TIMEOUT_MS = 15_000;

/**
 * Runs one query before anything else touches the database, so that a wrong or unreachable
 * DATABASE_URL fails as one line naming it rather than as a failed migration.
 */
export async function reachDatabase(database: Database, databaseUrl: string | undefined, timeoutMs = REACH_TIMEOUT_MS): Promise<void> {
  if (database.kind !== 'postgres' || !databaseUrl) return;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      sql`select 1`.execute(database.db),
      new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => {
          reject(Object.assign(new Error(`no answer within ${timeoutMs / 1000} s`), { code: 'ETIMEDOUT' }));
        }, timeoutMs);
        timer.unref();
      }),
    ]);
  } catch (err) {
    throw databaseError(err, databaseUrl);
  } finally {
    clearTimeout(timer);
  }
}

/** The one line for a database that cannot be reached at DATABASE_URL. */
export function databaseError(err: unknown, databaseUrl: string): StartupError {
  const e = err as { code?: unknown; message?: unknown; errors?: unknown } | null;
  // A host with several addresses fails with an AggregateError of one error per address.
  const first = Array.isArray(e?.errors) ? (e.errors[0] as { code?: unknown; message?: unknown } | undefined) : undefined;
  const code = typeof e?.code === 'string' ? e.code : typeof first?.code === 'string' ? first.code : undefined;
  const detail = String(e?.message || first?.message || err).replaceAll(databaseUrl, redactDatabaseUrl(databaseUrl));
  const reason = code && CONNECT_REASONS[code] ? `${CONNECT_REASONS[code]} (${code}${detail && !detail.includes(code) ? `: ${detail}` : ''})` : detail;
  return new StartupError(`cannot use the database in DATABASE_URL (${redactDatabaseUrl(databaseUrl)}): ${reason}`);
}

/** Where to go once serving: printed on stderr so that stdout stays one JSON log line per line. */
export function welcome(options: { url: string; tenants: number; database: 'postgres' | 'pglite'; dataDir?: string }): string {
  const lines = [
    '',
    `  Fenxiao is serving at ${options.url}`,
    `  console   ${options.url}/admin/`,
    `  portal    ${options.url}/portal/`,
    `  API docs  ${options.url}/docs   (OpenAPI: ${options.url}/openapi.json)`,
    `  database  ${options.database === 'pglite' ? `embedded, in ${options.dataDir ?? 'the data folder'}` : 'PostgreSQL (DATABASE_URL)'}`,
  ];
  if (options.tenants === 0) {
    lines.push(
      '',
      '  no merchant yet: run `npx fenxiao demo` for a demo shop to look around,',
      '  or create one: `npx fenxiao tenant create --name <name>`, then',
      '  `FENXIAO_PASSWORD=… npx fenxiao user create --tenant <tenant id> --email <email>`',
      '  (with the embedded database, stop the server first: one process owns its folder)',
    );
  }
  lines.push('');
  return lines.join('\n');
}
