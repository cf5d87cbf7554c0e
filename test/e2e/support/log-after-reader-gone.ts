/**
 * A process logging as the server does (Fastify's logger from createHttp, and the cluster
 * primary's processLogger) after the reader of its stdout has gone, then exiting as serve() does
 * (exitAfterLogs). pino's own destination would retry the lines still queued for ever on EPIPE
 * when the process exits (issue 16, item 6); this must exit 0.
 *
 * Protocol: it says "ready" on stderr; the parent closes its end of our stdout and writes a line
 * to our stdin; we log and exit.
 */
import { createHttp } from '../../../src/app/http.ts';
import { processLogger } from '../../../src/cli/workers.ts';
import { exitAfterLogs } from '../../../src/lib/log-output.ts';

const app = createHttp({ logLevel: 'info', bodyLimit: 1024, authenticator: { authenticate: () => Promise.resolve(null) } });
const primary = processLogger({ logLevel: 'info' });
app.log.info('before the reader left');
process.stdin.once('data', () => {
  for (let i = 0; i < 200; i++) {
    app.log.info({ i }, 'a line after the reader left');
    primary.info({ i }, 'a primary line after the reader left');
  }
  process.stderr.write('logged\n');
  exitAfterLogs(0);
});
process.stderr.write('ready\n');
