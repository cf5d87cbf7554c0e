export interface Column<R> {
  header: string;
  value: (row: R) => string | number;
  align?: 'left' | 'right';
}

/** A plain-text table with aligned columns, for a terminal or a report. */
export function formatTable<R>(columns: Column<R>[], rows: R[]): string {
  const cells = rows.map((r) => columns.map((c) => String(c.value(r))));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((row) => row[i]!.length)));
  const pad = (text: string, i: number) => {
    const align = columns[i]!.align ?? 'left';
    return align === 'right' ? text.padStart(widths[i]!) : text.padEnd(widths[i]!);
  };
  const out = [
    columns.map((c, i) => pad(c.header, i)).join('  '),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...cells.map((row) => row.map((text, i) => pad(text, i)).join('  ')),
  ];
  return out.map((l) => l.trimEnd()).join('\n');
}

export function printTable<R>(title: string, columns: Column<R>[], rows: R[]): void {
  process.stdout.write(`\n${title}\n\n${formatTable(columns, rows)}\n`);
}

/** Milliseconds with sensible precision. */
export function ms(v: number): string {
  if (!Number.isFinite(v)) return '-';
  return v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : v.toFixed(0);
}

export function int(v: number): string {
  return Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : '-';
}
