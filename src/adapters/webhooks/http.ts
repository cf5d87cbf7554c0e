import http from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { lookup as dnsLookup } from 'node:dns/promises';

/** The addresses a host name resolves to (all of them: one refused address refuses the name). */
export type ResolveHost = (host: string) => Promise<{ address: string; family: 4 | 6 }[]>;

/** The system resolver (getaddrinfo: /etc/hosts, then DNS). */
export const systemResolveHost: ResolveHost = async (host) => {
  const all = await dnsLookup(host, { all: true, verbatim: true });
  return all.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
};

export interface OutboundRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
}

/** An HTTP answer's status, or why there was none (refused address, timeout, connection error). */
export interface OutboundAnswer {
  status: number | null;
  error: string | null;
  ms: number;
}

export type OutboundSender = (req: OutboundRequest) => Promise<OutboundAnswer>;

export class RefusedAddress extends Error {}

/**
 * POSTs a webhook. The host is resolved here and every address it resolves to is checked by
 * `refuse` at connection time, and the connection goes to the address that was checked: a name
 * that resolved to a public address when the endpoint was saved and to 127.0.0.1 now (DNS
 * rebinding) is refused. Redirects are not followed (a 3xx is an answer like any other), nothing
 * is kept alive, the whole exchange has `timeoutMs`, and at most 4 KiB of the answer is read.
 */
export function createOutboundSender(deps: { resolve: ResolveHost; refuse: (address: string) => string | null }): OutboundSender {
  const lookup: LookupFunction = (hostname, options, callback) => {
    deps
      .resolve(hostname)
      .then((addresses) => {
        if (addresses.length === 0) throw new Error(`${hostname} resolves to no address`);
        for (const a of addresses) {
          const why = deps.refuse(a.address);
          if (why) throw new RefusedAddress(`${hostname} resolves to ${a.address} (${why})`);
        }
        const first = addresses[0] as { address: string; family: 4 | 6 };
        if ((options as { all?: boolean }).all) (callback as (e: null, a: { address: string; family: number }[]) => void)(null, addresses);
        else callback(null, first.address, first.family);
      })
      .catch((err: unknown) => callback(err as NodeJS.ErrnoException, '', 4));
  };

  return async (req) => {
    const started = Date.now();
    const done = (status: number | null, error: string | null): OutboundAnswer => ({ status, error, ms: Date.now() - started });
    let url: URL;
    try {
      url = new URL(req.url);
    } catch {
      return done(null, 'the URL does not parse');
    }
    const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    // A literal address is never looked up: it is checked here.
    if (isIP(host)) {
      const why = deps.refuse(host);
      if (why) return done(null, `refused address ${host} (${why})`);
    }
    const client = url.protocol === 'https:' ? https : url.protocol === 'http:' ? http : null;
    if (!client) return done(null, `unsupported scheme ${url.protocol}`);
    return new Promise<OutboundAnswer>((resolve) => {
      let settled = false;
      const finish = (status: number | null, error: string | null) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(done(status, error));
      };
      const r = client.request(
        url,
        {
          method: 'POST',
          agent: false,
          lookup,
          headers: { ...req.headers, 'content-length': String(Buffer.byteLength(req.body)) },
        },
        (res) => {
          let read = 0;
          res.on('data', (chunk: Buffer) => {
            read += chunk.length;
            if (read > 4096) {
              res.destroy();
              finish(res.statusCode ?? null, null);
            }
          });
          res.on('end', () => finish(res.statusCode ?? null, null));
          res.on('error', () => finish(res.statusCode ?? null, null));
        },
      );
      const timer = setTimeout(() => {
        r.destroy();
        finish(null, `no answer within ${req.timeoutMs} ms`);
      }, req.timeoutMs);
      r.on('error', (err) => finish(null, err instanceof RefusedAddress ? `refused: ${err.message}` : err.message));
      r.end(req.body);
    });
  };
}
