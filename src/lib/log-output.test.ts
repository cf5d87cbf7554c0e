/**
 * The server's log output (issue 16, item 6): whatever its reader does, a write never throws
 * and never waits, and flush always resolves. The process-level cases (a pipe whose reader left,
 * a reader that stopped reading) are in test/e2e/serve-lifecycle.test.ts.
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogOutput } from './log-output.ts';

/** A destination that takes every write and acknowledges none until released: a reader that stopped reading. */
function stuckReader() {
  const received: string[] = [];
  const pending: (() => void)[] = [];
  const stream = new Writable({
    highWaterMark: 64,
    write(chunk: Buffer, _enc, callback) {
      received.push(chunk.toString());
      pending.push(() => callback());
    },
  });
  return {
    stream,
    received,
    release() {
      // From now on every write is taken at once; then what is pending is acknowledged.
      stream._write = (chunk: Buffer, _enc, callback) => {
        received.push(chunk.toString());
        callback();
      };
      for (const ack of pending.splice(0)) ack();
    },
  };
}

describe('createLogOutput', () => {
  it('a reader that stops reading: lines past the cap are dropped and counted, flush still resolves, a line says how many once it reads again', async () => {
    const reader = stuckReader();
    const out = createLogOutput(reader.stream, 1000);
    const line = `${JSON.stringify({ msg: 'x'.repeat(90) })}\n`;
    for (let i = 0; i < 100; i++) expect(out.write(line)).toBe(true);
    expect(out.dropped).toBeGreaterThan(0);
    expect(out.dropped).toBeLessThan(100);
    expect(reader.stream.writableLength).toBeLessThanOrEqual(1000 + line.length * 2);
    // Nothing has left: flush gives up at its bound instead of waiting for the reader.
    await out.flush(20);
    expect(out.broken).toBe(false);

    const dropped = out.dropped;
    reader.release();
    await new Promise((r) => setImmediate(r));
    await out.flush(1000);
    const note = reader.received.map((l) => JSON.parse(l) as { msg?: string; dropped_lines?: number }).find((l) => l.dropped_lines !== undefined);
    expect(note).toMatchObject({ dropped_lines: dropped, msg: `${dropped} log line(s) dropped: standard output was not being read` });
  });

  it('a reader that has gone (EPIPE): logging stops, nothing throws, flush resolves at once', async () => {
    const stream = new Writable({
      write(_chunk, _enc, callback) {
        callback(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
      },
    });
    const out = createLogOutput(stream);
    out.write('{"msg":"first"}\n');
    await new Promise((r) => setImmediate(r));
    expect(out.broken).toBe(true);
    for (let i = 0; i < 10; i++) expect(() => out.write('{"msg":"after"}\n')).not.toThrow();
    expect(out.dropped).toBe(10);
    await out.flush(60_000);
  });

  it('a reader that keeps up: every line arrives, in order', async () => {
    const received: string[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _enc, callback) {
        received.push(chunk.toString());
        setImmediate(callback);
      },
    });
    const out = createLogOutput(stream);
    for (let i = 0; i < 50; i++) out.write(`${i}\n`);
    await out.flush(60_000);
    expect(received.join('')).toBe(Array.from({ length: 50 }, (_, i) => `${i}\n`).join(''));
    expect(out.dropped).toBe(0);
  });
});
