/**
 * Where the server's log lines go: standard output, written so that nothing the reader does can
 * hold the process (issue 16, item 6).
 *
 * pino's default destination flushes synchronously on exit and retries a failed write every
 * 100 ms for as long as it fails, EPIPE included: a parent that read the server's stdout through
 * a pipe and exited right after SIGTERM left the server in that loop for ever (the main thread in
 * Atomics.wait, so neither the grace timer nor a second signal could run). Here every write goes
 * through process.stdout, which on a pipe or socket is written by the event loop and queues what
 * the reader has not taken yet; a broken pipe (EPIPE, the reader gone) stops the logging and
 * nothing else; a reader that stops reading costs at most `maxQueuedBytes` of memory, past which
 * lines are dropped and counted, and a line saying how many follows once it reads again. Exiting
 * waits for the queue at most as long as `flush` is told.
 */
import type { Writable } from 'node:stream';

export interface LogOutput {
  /** pino's destination: one line per call. Never throws, never blocks. */
  write(line: string): boolean;
  /** Resolves once what was written has left the process, or after `ms`, whichever comes first. */
  flush(ms: number): Promise<void>;
  /** Lines not written: the reader was gone, or too far behind. */
  readonly dropped: number;
  /** The reader is gone (EPIPE or another write error): nothing more is written. */
  readonly broken: boolean;
}

/** 8 MiB of lines a slow reader may leave queued before lines are dropped. */
const MAX_QUEUED_BYTES = 8 * 1024 * 1024;

export function createLogOutput(stream: Writable, maxQueuedBytes = MAX_QUEUED_BYTES): LogOutput {
  let broken = false;
  let dropped = 0;
  let droppedSinceDrain = 0;
  // An 'error' nobody listens to would end the process; a log that cannot be written is not a
  // reason to stop serving.
  stream.on('error', () => {
    broken = true;
  });
  stream.on('drain', () => {
    if (droppedSinceDrain === 0 || broken) return;
    const n = droppedSinceDrain;
    droppedSinceDrain = 0;
    write(
      `${JSON.stringify({ level: 40, time: Date.now(), pid: process.pid, dropped_lines: n, msg: `${n} log line(s) dropped: standard output was not being read` })}\n`,
    );
  });
  const usable = () => !broken && !stream.destroyed && stream.writable;
  function write(line: string): boolean {
    if (!usable()) {
      dropped++;
      return true;
    }
    if (stream.writableLength > maxQueuedBytes) {
      dropped++;
      droppedSinceDrain++;
      return true;
    }
    try {
      stream.write(line);
    } catch {
      broken = true;
      dropped++;
    }
    return true;
  }
  return {
    write,
    get dropped() {
      return dropped;
    },
    get broken() {
      return broken;
    },
    flush(ms: number): Promise<void> {
      if (!usable() || stream.writableLength === 0) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          clearInterval(poll);
          stream.off('drain', done);
          stream.off('error', done);
          stream.off('close', done);
          resolve();
        };
        const timer = setTimeout(done, ms);
        // 'drain' is only emitted after a write returned false; a short queue empties silently.
        const poll = setInterval(() => {
          if (!usable() || stream.writableLength === 0) done();
        }, 10);
        timer.unref();
        poll.unref();
        stream.once('drain', done);
        stream.once('error', done);
        stream.once('close', done);
      });
    },
  };
}

let stdout: LogOutput | undefined;

/** The process's standard output as a LogOutput: one per process, made on first use. */
export function standardOutput(): LogOutput {
  stdout ??= createLogOutput(process.stdout);
  return stdout;
}

/** How long an exit waits for queued log lines to leave, at most. */
const LOG_FLUSH_MS = 1000;

/**
 * Exits with `code` once the log lines written to standard output so far have left, or after
 * `flushMs` whatever the reader does (a hard timer stands behind the flush).
 */
export function exitAfterLogs(code: number, flushMs = LOG_FLUSH_MS): void {
  const hard = setTimeout(() => process.exit(code), flushMs + 100);
  hard.unref();
  void standardOutput()
    .flush(flushMs)
    .then(() => process.exit(code));
}
