/**
 * A progress line on stderr for long CLI work (exports, imports, replays): rows done of the
 * total, the rate, the time left. On a terminal it redraws one line with \r; in a log (CI, a
 * pipe) it prints a full line every few seconds, so the log shows life without a flood.
 *
 *   const p = createProgress({ label: 'export withdrawals', total: count });
 *   await writeExport('xlsx', spec, rows, file, { tz, onProgress: (n) => p.update(n) });
 *   p.done();
 */

export interface ProgressStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressOptions {
  label: string;
  /** The expected count, when known; without it the line shows the count and the rate. */
  total?: number | null;
  /** What is counted: "rows" by default. */
  unit?: string;
  /** process.stderr by default. */
  stream?: ProgressStream;
  /** Redraw in place; the stream's isTTY by default. */
  tty?: boolean;
  /** Not a terminal: a line at most this often (5 s). */
  logEveryMs?: number;
  /** A terminal: redraw at most this often (100 ms). */
  redrawEveryMs?: number;
  /** Milliseconds from some origin; performance.now by default (tests pass a fake). */
  now?: () => number;
}

export interface Progress {
  /** Sets the count done (and the total, if it became known). */
  update(done: number, total?: number | null): void;
  /** Adds to the count done. */
  add(n?: number): void;
  /** Finishes with a final line: the count, the average rate and the time taken. */
  done(message?: string): void;
  /** Finishes with a failure line. */
  fail(message: string): void;
  readonly count: number;
}

/** 0.4s, 12s, 3m05s, 1h02m: short enough for a status line. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '?';
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  return `${h}h${String(m % 60).padStart(2, '0')}m`;
}

const int = (n: number) => Math.round(n).toLocaleString('en-US');

/** The status line itself, without control characters. */
export function progressLine(state: { label: string; unit: string; done: number; total: number | null; elapsedMs: number; final?: boolean }): string {
  const { label, unit, done, total, elapsedMs } = state;
  const parts = [`${label}: ${int(done)}${total !== null ? `/${int(total)}` : ''} ${unit}`];
  if (total !== null && total > 0) parts.push(`${((Math.min(done, total) * 100) / total).toFixed(1)}%`);
  const rate = elapsedMs > 0 ? (done * 1000) / elapsedMs : 0;
  if (elapsedMs > 0) parts.push(`${int(rate)} ${unit}/s`);
  if (state.final) parts.push(`in ${formatDuration(elapsedMs)}`);
  else if (total !== null && rate > 0 && done < total) parts.push(`ETA ${formatDuration(((total - done) / rate) * 1000)}`);
  else parts.push(formatDuration(elapsedMs));
  return parts.join(' · ');
}

export function createProgress(options: ProgressOptions): Progress {
  const stream = options.stream ?? process.stderr;
  const tty = options.tty ?? stream.isTTY === true;
  const now = options.now ?? (() => performance.now());
  const unit = options.unit ?? 'rows';
  const every = tty ? (options.redrawEveryMs ?? 100) : (options.logEveryMs ?? 5000);
  const started = now();
  let total = options.total ?? null;
  let done = 0;
  let last = started;
  let finished = false;

  const line = (final = false) => progressLine({ label: options.label, unit, done, total, elapsedMs: now() - started, final });
  // A line longer than the terminal wraps, and \r then redraws only its last part.
  const fit = (text: string) => (stream.columns && text.length >= stream.columns ? `${text.slice(0, stream.columns - 2)}…` : text);
  const draw = (text: string, final: boolean) => {
    if (tty) stream.write(`\r\x1b[2K${final ? text : fit(text)}${final ? '\n' : ''}`);
    else stream.write(`${text}\n`);
  };

  const maybeDraw = () => {
    if (finished) return;
    const t = now();
    if (t - last < every) return;
    last = t;
    draw(line(), false);
  };

  return {
    update(n, t) {
      done = n;
      if (t !== undefined) total = t;
      maybeDraw();
    },
    add(n = 1) {
      done += n;
      maybeDraw();
    },
    done(message) {
      if (finished) return;
      finished = true;
      draw(`${line(true)}${message ? ` · ${message}` : ''}`, true);
    },
    fail(message) {
      if (finished) return;
      finished = true;
      draw(`${line(true)} · failed: ${message}`, true);
    },
    get count() {
      return done;
    },
  };
}
