/**
 * The operator documentation in Chinese (issue 16 item 10): docs/zh/ holds getting started, the
 * daily operation of each console page, settlement and payouts, risk review and privacy requests;
 * every page of the console's menu (web/admin/src/nav.tsx) has its row in docs/zh/console.md under
 * the name the Chinese menu shows; each document is written in Chinese, and its links lead to files
 * that exist.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');
const zhDir = path.join(root, 'docs/zh');
const read = (file: string) => fs.readFileSync(file, 'utf8');
const HAN = /\p{Script=Han}/gu;

/** The menu's labels in Chinese: each nav.tsx key, with the first (Chinese) text the console's message files give it. */
function menuLabels(): { key: string; zh: string }[] {
  const nav = read(path.join(root, 'web/admin/src/nav.tsx'));
  const keys = [...nav.matchAll(/label: '(nav\.[A-Za-z]+)'/g)].map((m) => m[1]!);
  const dir = path.join(root, 'web/admin/src');
  const messages = fs
    .readdirSync(dir)
    .filter((f) => /^messages.*\.ts$/.test(f))
    .map((f) => read(path.join(dir, f)))
    .join('\n');
  return keys.map((key) => {
    const zh = [...messages.matchAll(new RegExp(`'${key.replace('.', '\\.')}': '([^']+)'`, 'g'))].map((m) => m[1]!).find((t) => /\p{Script=Han}/u.test(t));
    return { key, zh: zh ?? `(no Chinese label for ${key})` };
  });
}

describe('the operator documentation in Chinese', () => {
  const docs = ['getting-started.md', 'console.md', 'settlement-payouts.md', 'risk-review.md', 'privacy.md'];

  it('has the five guides the issue names, listed in its index', () => {
    const index = read(path.join(zhDir, 'README.md'));
    for (const doc of docs) {
      expect(fs.existsSync(path.join(zhDir, doc)), doc).toBe(true);
      expect(index, doc).toContain(`(${doc})`);
    }
  });

  it('describes every page of the console menu, by the name the menu shows', () => {
    const console = read(path.join(zhDir, 'console.md'));
    // The first cell of each row of its tables: "| 结算 | …", "| 风控事件 / 风控规则 | …".
    const rows = [...console.matchAll(/^\| ([^|]+) \|/gm)].flatMap((m) => m[1]!.split(' / ').map((s) => s.trim()));
    const labels = menuLabels();
    expect(labels.length).toBeGreaterThan(20);
    const missing = labels.filter((l) => !rows.includes(l.zh)).map((l) => `${l.key} (${l.zh})`);
    expect(missing).toEqual([]);
  });

  it('is written in Chinese', () => {
    for (const doc of fs.readdirSync(zhDir).filter((f) => f.endsWith('.md'))) {
      const text = read(path.join(zhDir, doc))
        .replace(/```[\s\S]*?```/g, '')
        .replace(/`[^`]*`/g, '');
      const han = text.match(HAN)?.length ?? 0;
      const latinWords = text.match(/[A-Za-z]{3,}/g)?.length ?? 0;
      expect(han, doc).toBeGreaterThan(200);
      // Chinese prose, with the names of APIs, fields and products in Latin letters here and there.
      expect(han, `${doc}: ${han} Han characters, ${latinWords} Latin words`).toBeGreaterThan(latinWords * 3);
    }
  });

  it('links only to files that exist', () => {
    const broken: string[] = [];
    for (const doc of fs.readdirSync(zhDir).filter((f) => f.endsWith('.md'))) {
      for (const m of read(path.join(zhDir, doc)).matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)) {
        const target = m[1]!;
        if (/^[a-z]+:/.test(target)) continue;
        if (!fs.existsSync(path.resolve(zhDir, target))) broken.push(`${doc} → ${target}`);
      }
    }
    expect(broken).toEqual([]);
  });
});
