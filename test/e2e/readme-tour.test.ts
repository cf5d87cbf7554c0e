/**
 * The README's five-minute tour, run as written (issue 16 item 4): every ```sh block of the
 * section, in order, against a fresh embedded server started by its first block. The one
 * rewrite is the port (the README's 8080 becomes a free port, given to the server as PORT), so
 * that the test never collides with a server already running. Each `# {…}` answer the README
 * shows after a command must appear in what the commands printed (`…` standing for anything),
 * so the README cannot drift from what Fenxiao answers.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, REPO } from '../pg/support/spawn.ts';

const README = fs.readFileSync(path.join(REPO, 'README.md'), 'utf8');

/** The ```sh blocks of the tour section, in order. */
export function tourBlocks(readme: string): string[] {
  const start = readme.indexOf('## A five-minute tour');
  if (start < 0) throw new Error('README.md has no "## A five-minute tour" section');
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');
}

/** The answers the README shows (`# {…}` lines, with their `#  ` continuation lines), as patterns. */
export function shownAnswers(script: string): RegExp[] {
  const out: RegExp[] = [];
  const lines = script.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (!/^# [{[]/.test(lines[i]!)) continue;
    let text = lines[i]!.slice(2);
    while (i + 1 < lines.length && /^# {2}/.test(lines[i + 1]!)) text += lines[++i]!.slice(3);
    // What follows the answer on its line is prose (`{"ok":true,…}: every journal balanced`).
    text = text.slice(0, text.lastIndexOf(text.trimStart().startsWith('[') ? ']' : '}') + 1);
    const pattern = text
      .split('…')
      .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*?');
    out.push(new RegExp(pattern));
  }
  return out;
}

const dirs: string[] = [];
let server: ReturnType<typeof spawn> | undefined;
afterAll(async () => {
  if (server?.pid && server.exitCode === null) {
    const exited = new Promise((resolve) => server!.once('exit', resolve));
    process.kill(-server.pid, 'SIGTERM');
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 20_000))]);
    if (server.exitCode === null) process.kill(-server.pid, 'SIGKILL');
  }
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function cleanEnv(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || k === 'DATABASE_URL' || k === 'PORT' || k.startsWith('FENXIAO_') || k.startsWith('VITEST') || k === 'NODE_OPTIONS') continue;
    env[k] = v;
  }
  // `node` and `npm` as this test runs them.
  env.PATH = `${path.dirname(process.execPath)}${path.delimiter}${env.PATH ?? ''}`;
  return { ...env, ...extra };
}

describe('the README tour', () => {
  it('has its start command and its steps', () => {
    const blocks = tourBlocks(README);
    expect(blocks.length).toBeGreaterThan(5);
    expect(blocks[0]!.trim()).toBe('FENXIAO_ROOT_TOKEN=change-me-to-a-long-secret npm start');
    // The QR step has its command.
    const all = blocks.join('\n');
    expect(all).toMatch(/\/qrcode/);
    // No step runs the CLI on the embedded database while the tour's server holds it.
    for (const b of blocks.slice(1)) expect(b).not.toMatch(/npx fenxiao/);
  });

  it('runs as written against a fresh embedded server', { timeout: 300_000 }, async () => {
    const blocks = tourBlocks(README);
    const port = await freePort();
    const portOf = (text: string) => text.replaceAll('localhost:8080', `localhost:${port}`).replaceAll('127.0.0.1:8080', `127.0.0.1:${port}`);
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fenxiao-tour-data-'));
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'fenxiao-tour-'));
    dirs.push(dataDir, work);

    let serverOutput = '';
    server = spawn('bash', ['-c', blocks[0]!], {
      cwd: REPO,
      env: cleanEnv({ PORT: String(port), FENXIAO_DATA_DIR: dataDir, LOG_LEVEL: 'warn' }),
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    server.stdout!.on('data', (d: Buffer) => (serverOutput += d.toString()));
    server.stderr!.on('data', (d: Buffer) => (serverOutput += d.toString()));
    const until = Date.now() + 180_000;
    for (;;) {
      if (server.exitCode !== null) throw new Error(`the server ended (${server.exitCode}):\n${serverOutput}`);
      try {
        if ((await fetch(`http://127.0.0.1:${port}/health`)).ok) break;
      } catch {
        /* not listening yet */
      }
      if (Date.now() > until) throw new Error(`no /health within 180 s:\n${serverOutput}`);
      await new Promise((r) => setTimeout(r, 250));
    }

    const script = portOf(blocks.slice(1).join('\n'));
    // The tour's commands run in one shell, as a reader pastes them into one terminal; any step failing stops it.
    const run = spawnSync('bash', ['-e', '-o', 'pipefail', '-c', script], { cwd: work, env: cleanEnv({}), encoding: 'utf8', timeout: 240_000 });
    const printed = run.stdout;
    expect(run.status, `the tour stopped:\n${run.stderr}\n${printed}\n--- server:\n${serverOutput}`).toBe(0);
    const answers = shownAnswers(blocks.slice(1).join('\n'));
    expect(answers.length).toBeGreaterThanOrEqual(6);
    const missing = answers.filter((a) => !a.test(printed)).map((a) => a.source);
    expect(missing, `answers the README shows that the tour did not print; it printed:\n${printed}`).toEqual([]);

    // What the tour did, seen through the API: A's commission paid out, the ledger sound, the QR
    // code a PNG, the owner able to sign in with the email alone.
    expect(fs.readFileSync(path.join(work, 'invite-b.png')).subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    const login = await fetch(`http://127.0.0.1:${port}/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'owner@example.com', password: 'a-long-password-1' }),
    });
    expect(login.status).toBe(200);
    const session = (await login.json()) as { token: string; tenant_slug: string };
    expect(session.tenant_slug).toBe('acme');
    const dists = await fetch(`http://127.0.0.1:${port}/v1/distributors?limit=10`, { headers: { authorization: `Bearer ${session.token}` } });
    expect(dists.status).toBe(200);
    // The dates are consistent: paid, then shipped, then received.
    const order = (await (
      await fetch(`http://127.0.0.1:${port}/v1/orders/order-1`, { headers: { authorization: `Bearer ${session.token}` } })
    ).json()) as Record<string, string>;
    expect(Date.parse(order.paid_at!)).toBeLessThanOrEqual(Date.parse(order.shipped_at!));
    expect(Date.parse(order.shipped_at!)).toBeLessThanOrEqual(Date.parse(order.received_at!));
    const page = await fetch(`http://127.0.0.1:${port}/admin/login?merchant=acme`);
    expect(page.status).toBe(200);
  });
});
