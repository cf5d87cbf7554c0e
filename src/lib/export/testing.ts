/**
 * Test support for exports (used by tests only): read an .xlsx back with an independent reader
 * (LibreOffice, headless) and parse CSV, so a test can compare every row and total of a file with
 * the ledger. Business-export tests use these too.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * LibreOffice's CSV export filter, by token: `,` separator (44), `"` text delimiter (34), UTF-8
 * (76), line 1, no import cell formats, en-US (1033, so numbers have a `.` decimal point),
 * text not all quoted, (import-only token), cell contents **not** as shown (the stored value:
 * every number at up to 15 significant digits, without the thousands separators of its format),
 * no formulas, spaces kept, and `-1`: every sheet, each to `<name>-<sheet>.csv` (LibreOffice ≥ 7.2).
 */
export const LIBREOFFICE_CSV_FILTER = 'csv:Text - txt - csv (StarCalc):44,34,76,1,,1033,false,true,false,false,false,-1';

/** soffice is on PATH (or SOFFICE names it). */
function sofficeInstalled(): boolean {
  if (process.env.SOFFICE) return fs.existsSync(process.env.SOFFICE);
  return (process.env.PATH ?? '').split(path.delimiter).some((dir) => dir !== '' && fs.existsSync(path.join(dir, 'soffice')));
}

/**
 * The LibreOffice read-back tests skip on a machine without LibreOffice (the README's test command
 * needs nothing but Node.js), and never in CI, where .ci/run installs it and a missing soffice fails.
 */
export const WITHOUT_LIBREOFFICE = !sofficeInstalled() && !process.env.CI;
if (WITHOUT_LIBREOFFICE)
  console.warn('fenxiao tests: LibreOffice (soffice) not found, so the .xlsx read-back tests are skipped; apt-get install libreoffice-calc-nogui to run them');

export interface LibreOfficeOptions {
  /** soffice's first start builds its profile: allow minutes on a busy CI machine. */
  timeoutMs?: number;
  /** The soffice binary; SOFFICE or `soffice` on PATH by default. */
  binary?: string;
}

/**
 * Converts an .xlsx to CSV with LibreOffice headless and parses every sheet, by sheet name.
 * Each call uses a private profile directory (-env:UserInstallation) so parallel runs and a
 * desktop LibreOffice never share a lock.
 */
export async function readXlsxWithLibreOffice(file: string, options: LibreOfficeOptions = {}): Promise<Map<string, string[][]>> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'fenxiao-soffice-'));
  const profile = path.join(work, 'profile');
  const outDir = path.join(work, 'out');
  fs.mkdirSync(outDir);
  const binary = options.binary ?? process.env.SOFFICE ?? 'soffice';
  const args = [
    `-env:UserInstallation=${pathToFileURL(profile).href}`,
    '--headless',
    '--norestore',
    '--nolockcheck',
    '--convert-to',
    LIBREOFFICE_CSV_FILTER,
    '--outdir',
    outDir,
    path.resolve(file),
  ];
  try {
    const { code, output } = await run(binary, args, options.timeoutMs ?? 180_000);
    const names = fs.readdirSync(outDir).filter((n) => n.endsWith('.csv'));
    if (code !== 0 || names.length === 0) throw new Error(`soffice exited ${code} without a CSV:\n${output}`);
    const base = path.basename(file).replace(/\.[^.]+$/, '');
    const sheets = new Map<string, string[][]>();
    for (const name of names) {
      const sheet = name.startsWith(`${base}-`) ? name.slice(base.length + 1, -4) : name.slice(0, -4);
      sheets.set(sheet, parseCsv(fs.readFileSync(path.join(outDir, name), 'utf8')).rows);
    }
    return sheets;
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

function run(binary: string, args: string[], timeoutMs: number): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    // Its own process group: soffice is a script that starts soffice.bin, and a timeout must end both.
    const child = spawn(binary, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, HOME: process.env.HOME ?? os.tmpdir() } });
    let output = '';
    child.stdout.on('data', (d: Buffer) => {
      output += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      output += d.toString();
    });
    const timer = setTimeout(() => {
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
      reject(new Error(`soffice did not finish in ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    child.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(
        err.code === 'ENOENT' ? new Error(`${binary} not found: install LibreOffice (Debian: apt-get install libreoffice-calc-nogui) or set SOFFICE`) : err,
      );
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

export interface ParsedCsv {
  rows: string[][];
  /** The line ends between records, as found: ['\r\n'] for a clean RFC 4180 file. */
  lineEnds: string[];
  bom: boolean;
}

/** An RFC 4180 parser (quoted fields, doubled quotes, line breaks inside quotes), strict about stray quotes. */
export function parseCsv(text: string): ParsedCsv {
  const bom = text.startsWith('\uFEFF');
  const s = bom ? text.slice(1) : text;
  const rows: string[][] = [];
  const lineEnds = new Set<string>();
  let row: string[] = [];
  let field = '';
  let i = 0;
  let quoted = false;
  let fieldStarted = false;
  while (i < s.length) {
    const c = s[i]!;
    if (quoted) {
      if (c === '"') {
        if (s[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
        i++;
        if (i < s.length && s[i] !== ',' && s[i] !== '\r' && s[i] !== '\n') throw new Error(`CSV: text after a closing quote at ${i}`);
        continue;
      }
      field += c;
      i++;
      continue;
    }
    if (c === '"') {
      if (fieldStarted || field !== '') throw new Error(`CSV: a quote inside an unquoted field at ${i}`);
      quoted = true;
      fieldStarted = true;
      i++;
      continue;
    }
    if (c === ',') {
      row.push(field);
      field = '';
      fieldStarted = false;
      i++;
      continue;
    }
    if (c === '\r' || c === '\n') {
      const end = c === '\r' && s[i + 1] === '\n' ? '\r\n' : c;
      lineEnds.add(end);
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      fieldStarted = false;
      i += end.length;
      continue;
    }
    field += c;
    fieldStarted = true;
    i++;
  }
  if (quoted) throw new Error('CSV: unterminated quoted field');
  if (field !== '' || fieldStarted || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return { rows, lineEnds: [...lineEnds], bom };
}

/** Fen from a yuan decimal as a reader shows it ("-1,234.5" → -123450n); throws on anything else. */
export function yuanTextToFen(text: string): bigint {
  const t = text.replace(/,/g, '');
  const m = /^(-?)(\d+)(?:\.(\d{1,2}))?$/.exec(t);
  if (!m) throw new Error(`not a yuan amount: ${JSON.stringify(text)}`);
  const fen = BigInt(m[2]!) * 100n + BigInt((m[3] ?? '').padEnd(2, '0') || '0');
  return m[1] === '-' ? -fen : fen;
}

/** Basis points from a percentage as a reader shows it ("12.34%" → 1234n). */
export function percentTextToBp(text: string): bigint {
  const m = /^(-?)(\d+)(?:\.(\d{1,2}))?%$/.exec(text.replace(/,/g, ''));
  if (!m) throw new Error(`not a percentage: ${JSON.stringify(text)}`);
  const bp = BigInt(m[2]!) * 100n + BigInt((m[3] ?? '').padEnd(2, '0') || '0');
  return m[1] === '-' ? -bp : bp;
}
