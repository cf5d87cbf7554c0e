import http from 'node:http';

/** The counters of one server process that say what an order cost the database. */
export interface DbCounters {
  /** fenxiao_db_queries_total: queries sent, each one round trip, BEGIN and COMMIT included. */
  queries: number;
  /** fenxiao_db_commits_total. */
  commits: number;
  /** POST /v1/orders answered 201, from fenxiao_http_requests_total. */
  orders: number;
  /** The client socket the scrape went over (its local port): the same socket, the same process. */
  socket: string;
}

/** Per order over a phase: round trips and commits; undefined where it cannot be told. */
export interface PerOrder {
  roundTrips: number | undefined;
  commits: number | undefined;
}

function counter(text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-z_]+)(\{[^}]*\})? ([0-9.e+-]+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = m[2] ?? '';
    if (Object.entries(labels).every(([k, v]) => have.includes(`${k}="${v}"`))) total += Number(m[3]);
  }
  return total;
}

/**
 * Reads GET /metrics over one kept-alive socket. With `fenxiao serve --workers N` the worker that
 * answers asks the primary for every worker's counters summed, so round trips divided by orders
 * answered is the cost per order of the whole server (a scrape's own queries, which every worker
 * makes for its gauges, are measured by `calibrate` and taken off).
 */
export function metricsReader(baseUrl: string, token: string) {
  const base = new URL(baseUrl);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1, maxFreeSockets: 1 });
  let perScrape = { queries: 0, commits: 0 };

  const scrape = (): Promise<DbCounters> =>
    new Promise((resolve, reject) => {
      const req = http.request({ host: base.hostname, port: base.port, path: '/metrics', agent, headers: { authorization: `Bearer ${token}` } }, (res) => {
        // Read now: once the body is in, the socket goes back to the agent and res.socket is null.
        const socket = String(res.socket?.localPort);
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          if (res.statusCode !== 200) {
            reject(new Error(`GET /metrics: ${res.statusCode} ${text.slice(0, 200)}`));
            return;
          }
          resolve({
            queries: counter(text, 'fenxiao_db_queries_total'),
            commits: counter(text, 'fenxiao_db_commits_total'),
            orders: counter(text, 'fenxiao_http_requests_total', { method: 'POST', route: '/v1/orders', status: '201' }),
            socket,
          });
        });
      });
      req.on('error', reject);
      req.end();
    });

  return {
    scrape,

    /** What a scrape itself sends to the database (its gauges read tables), taken off each phase. */
    async calibrate(): Promise<void> {
      const a = await scrape();
      const b = await scrape();
      if (a.socket === b.socket) perScrape = { queries: b.queries - a.queries, commits: b.commits - a.commits };
    },

    /** Per order between two scrapes of the same process; undefined if the socket changed or no order was counted. */
    perOrder(before: DbCounters, after: DbCounters): PerOrder {
      const orders = after.orders - before.orders;
      if (before.socket !== after.socket || orders <= 0) return { roundTrips: undefined, commits: undefined };
      return {
        roundTrips: (after.queries - before.queries - perScrape.queries) / orders,
        commits: (after.commits - before.commits - perScrape.commits) / orders,
      };
    },

    close() {
      agent.destroy();
    },
  };
}
