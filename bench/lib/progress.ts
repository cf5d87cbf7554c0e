import { formatDuration, nowMs } from './timing.ts';

/**
 * One line on stderr that rewrites itself (when stderr is a terminal) or prints every few
 * seconds (when it is a file), so long seeding shows it is alive without flooding a log.
 */
export function progress(label: string, total?: number) {
  const started = nowMs();
  const tty = process.stderr.isTTY === true;
  let lastPrint = 0;
  let done = 0;
  const line = (final: boolean) => {
    const elapsed = nowMs() - started;
    const pct = total ? ` ${((100 * done) / total).toFixed(1)}%` : '';
    const rate = elapsed > 0 ? ` ${Math.round((done * 1000) / elapsed).toLocaleString('en-US')}/s` : '';
    const eta = total && done > 0 && !final ? ` eta ${formatDuration(((total - done) * elapsed) / done)}` : '';
    const count = total ? `${done.toLocaleString('en-US')}/${total.toLocaleString('en-US')}` : done.toLocaleString('en-US');
    return `${label}: ${count}${pct}${rate} ${formatDuration(elapsed)}${eta}${final ? ' done' : ''}`;
  };
  return {
    update(n: number, note = '') {
      done = n;
      const t = nowMs();
      if (tty) {
        if (t - lastPrint < 100) return;
        process.stderr.write(`\r\x1b[2K${line(false)}${note ? ` ${note}` : ''}`);
      } else {
        if (t - lastPrint < 5000) return;
        process.stderr.write(`${line(false)}${note ? ` ${note}` : ''}\n`);
      }
      lastPrint = t;
    },
    note(text: string) {
      process.stderr.write(tty ? `\r\x1b[2K${label}: ${text}` : `${label}: ${text}\n`);
    },
    finish(n = done) {
      done = n;
      process.stderr.write(tty ? `\r\x1b[2K${line(true)}\n` : `${line(true)}\n`);
      return nowMs() - started;
    },
  };
}

export function log(message: string): void {
  process.stderr.write(`${message}\n`);
}
