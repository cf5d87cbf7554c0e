/**
 * Answers are serialized by fast-json-stringify, whose own Ajv tells anyOf branches apart. It
 * knew none of Fenxiao's formats (`time-zone`), and printed `unknown format … ignored` on stderr
 * the first time an answer's schema used one: a line outside the JSON log, once per process.
 */
import { afterAll, expect, it, vi } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.ts';

let t: TestServer | undefined;
afterAll(async () => {
  await t?.close();
});

it("answering the program (its time zone has Fenxiao's own format) prints nothing outside the log", { timeout: 120_000 }, async () => {
  const printed: string[] = [];
  const keep = (...args: unknown[]) => {
    printed.push(args.map(String).join(' '));
  };
  const warn = vi.spyOn(console, 'warn').mockImplementation(keep);
  const error = vi.spyOn(console, 'error').mockImplementation(keep);
  const log = vi.spyOn(console, 'log').mockImplementation(keep);
  try {
    t = await startTestServer();
    const { key } = await t.tenant();
    const put = await t.call('PUT', '/v1/program', { token: key, body: { timezone: 'Asia/Urumqi' } });
    expect(put.statusCode, put.body).toBe(200);
    const got = await t.call('GET', '/v1/program', { token: key });
    expect(got.data.timezone).toBe('Asia/Urumqi');
  } finally {
    warn.mockRestore();
    error.mockRestore();
    log.mockRestore();
  }
  expect(printed.filter((l) => /format/.test(l))).toEqual([]);
});
