/**
 * A parent as process runners and supervisors are (issue 16, item 6): it starts
 * `node bin/fenxiao.js serve` with stdout and stderr piped to itself, reads them, sends some
 * order traffic, stops reading (its runner is busy) while the log keeps coming, sends SIGTERM while
 * more orders are in flight and exits at once, leaving the server writing its shutdown log to a
 * pipe whose reader is gone. It prints one JSON line for the test: the server's pid.
 *
 * Usage: node piped-parent.mjs <repo> <port> <root token> <orders>  (the environment is the server's)
 */
import { spawn } from 'node:child_process';
import path from 'node:path';

const [repo, port, root, ordersArg] = process.argv.slice(2);
const url = `http://127.0.0.1:${port}`;
const child = spawn(process.execPath, [path.join(repo, 'bin/fenxiao.js'), 'serve'], {
  cwd: repo,
  env: { ...process.env, PORT: port, HOST: '127.0.0.1' },
  stdio: ['ignore', 'pipe', 'pipe'],
});
let out = '';
child.stdout.on('data', (d) => (out += d.toString()));
child.stderr.on('data', (d) => (out += d.toString()));
let exited = false;
child.on('exit', () => (exited = true));

async function call(method, route, token, body) {
  const res = await fetch(`${url}${route}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${route}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

/** Requests whose long paths make long log lines: far more than a pipe holds, unread. */
async function fillLog() {
  const pad = 'x'.repeat(8000);
  for (let i = 0; i < 60; i += 10) {
    await Promise.all(Array.from({ length: 10 }, (_, j) => fetch(`${url}/not-here/${i + j}/${pad}`).then((r) => r.arrayBuffer())));
  }
}

try {
  for (let i = 0; ; i++) {
    if (exited) throw new Error(`the server exited before answering:\n${out.slice(-3000)}`);
    if (i > 1200) throw new Error(`the server never answered /health:\n${out.slice(-3000)}`);
    try {
      if ((await fetch(`${url}/health`)).status === 200) break;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const tenant = await call('POST', '/v1/tenants', root, { name: 'piped parent' });
  const key = tenant.api_key;
  await call('PUT', '/v1/program', key, { levels: 2 });
  const a = await call('POST', '/v1/distributors', key, { external_id: 'A', name: 'A' });
  const orders = Number(ordersArg);
  for (let i = 0; i < orders; i += 10) {
    await Promise.all(
      Array.from({ length: Math.min(10, orders - i) }, (_, j) =>
        call('POST', '/v1/orders', key, {
          external_id: `o-${i + j}`,
          buyer_external_id: `buyer-${i + j}`,
          invite_code: a.invite_code,
          items: [{ sku: 'sku-1', quantity: 1, unit_price_fen: 1000, paid_fen: 1000 }],
        }),
      ),
    );
  }
  // A reader that falls behind, as a busy runner does: the server's log backs up in the pipe.
  child.stdout.pause();
  child.stderr.pause();
  await fillLog();
  process.stdout.write(`${JSON.stringify({ pid: child.pid })}\n`);
  // The signal comes while orders are still arriving, as it does under a runner.
  for (let j = 0; j < 20; j++) {
    call('POST', '/v1/orders', key, {
      external_id: `late-${j}`,
      buyer_external_id: `late-buyer-${j}`,
      invite_code: a.invite_code,
      items: [{ sku: 'sku-1', quantity: 1, unit_price_fen: 1000, paid_fen: 1000 }],
    }).catch(() => {});
  }
  await new Promise((r) => setTimeout(r, 5));
  child.kill('SIGTERM');
  // Gone at once, as a runner is: the server's pipes lose their reader mid-shutdown.
  process.exit(0);
} catch (err) {
  process.stdout.write(`${JSON.stringify({ pid: child.pid, error: String(err instanceof Error ? err.message : err) })}\n`);
  child.kill('SIGKILL');
  process.exit(1);
}
