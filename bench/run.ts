/**
 * `npm run bench -- <name> [options]` runs bench/<name>.ts; with no name it lists the benches.
 * Each bench module exports `description` and `main(argv)`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

interface Bench {
  description?: string;
  usage?: string;
  main(argv: string[]): Promise<void>;
}

const here = import.meta.dirname;
const names = fs
  .readdirSync(here)
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts')
  .map((f) => f.slice(0, -3))
  .sort();
const [name, ...rest] = process.argv.slice(2);

async function load(n: string): Promise<Bench> {
  return (await import(pathToFileURL(path.join(here, `${n}.ts`)).href)) as Bench;
}

if (!name || name === '--help' || name === 'help' || name === '-h') {
  console.log('usage: npm run bench -- <name> [options]\n\navailable benches:');
  for (const n of names) {
    const b = await load(n);
    console.log(`  ${n.padEnd(12)} ${b.description ?? ''}`);
    if (b.usage)
      console.log(
        b.usage
          .split('\n')
          .map((l) => `  ${' '.repeat(12)} ${l}`)
          .join('\n'),
      );
  }
  process.exit(name ? 0 : 0);
}
if (!names.includes(name)) {
  console.error(`no bench named "${name}"; available: ${names.join(', ')}`);
  process.exit(2);
}
const bench = await load(name);
try {
  await bench.main(rest);
  process.exit(0);
} catch (err) {
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exit(1);
}
