import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { expect } from 'vitest';
import { systemClock } from '../../src/core/context.ts';
import type { ServerOverrides } from '../../src/app/server.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

export const CHROMIUM = process.env.FENXIAO_CHROMIUM ?? '/usr/bin/chromium';
export const SCREENSHOTS = path.resolve('.test-artifacts/screenshots');

const require = createRequire(import.meta.url);
const AXE_SOURCE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export interface LiveServer extends TestServer {
  base: string;
}

/** The whole server (API and web apps) listening on a free local port, on the real clock. */
export async function startLiveServer(options: { overrides?: Partial<ServerOverrides>; env?: Record<string, string> } = {}): Promise<LiveServer> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const t = await startTestServer({
    clock: systemClock,
    env: { FENXIAO_PUBLIC_URL: base, LOG_LEVEL: 'warn', ...options.env },
    ...(options.overrides ? { overrides: options.overrides } : {}),
  });
  await t.app.listen({ port, host: '127.0.0.1' });
  return Object.assign(t, { base });
}

export interface Browser {
  context: BrowserContext;
  page: Page;
  /** Dialogs (alert, confirm) any page opened: an injected script would show up here. */
  dialogs: string[];
  pageErrors: string[];
  close(): Promise<void>;
}

/**
 * A fontconfig file that adds the Noto Sans SC files the poster renderer bundles: a fresh
 * machine may have no CJK font, and screenshots of boxes would show nothing. The pages
 * themselves load no font; this only gives Chromium's fallback something to find.
 */
function fontConfig(dir: string): string {
  const fonts = path.dirname(path.dirname(require.resolve('@expo-google-fonts/noto-sans-sc/400Regular/NotoSansSC_400Regular.ttf')));
  const file = path.join(dir, 'fonts.conf');
  fs.writeFileSync(
    file,
    `<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig>
  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>
  <dir>${path.join(fonts, '400Regular')}</dir>
  <dir>${path.join(fonts, '700Bold')}</dir>
  <cachedir>${path.join(dir, 'fontconfig-cache')}</cachedir>
</fontconfig>
`,
  );
  return file;
}

/** Debian's Chromium with a fresh profile; `mobile` is a 390×844 phone; `userAgent` e.g. WeChat's browser. */
export async function launch(options: { mobile?: boolean; userAgent?: string } = {}): Promise<Browser> {
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fenxiao-chromium-'));
  const fontDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fenxiao-fonts-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    env: { ...process.env, FONTCONFIG_FILE: fontConfig(fontDir) },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    locale: 'zh-CN',
    acceptDownloads: true,
    ...(options.userAgent ? { userAgent: options.userAgent } : {}),
    ...(options.mobile
      ? { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true }
      : { viewport: { width: 1440, height: 900 } }),
  });
  const dialogs: string[] = [];
  const pageErrors: string[] = [];
  const watch = (p: Page) => {
    p.on('dialog', (d) => {
      dialogs.push(`${d.type()}: ${d.message()}`);
      void d.dismiss();
    });
    p.on('pageerror', (e) => {
      pageErrors.push(e.message);
    });
  };
  context.on('page', watch);
  const page = context.pages()[0] ?? (await context.newPage());
  watch(page);
  page.setDefaultTimeout(15_000);
  return {
    context,
    page,
    dialogs,
    pageErrors,
    async close() {
      await context.close();
      fs.rmSync(userDataDir, { recursive: true, force: true });
      fs.rmSync(fontDir, { recursive: true, force: true });
    },
  };
}

/** Signs in to the console afresh (any earlier session of the tab dropped) and waits for the dashboard. */
export async function consoleLogin(page: Page, base: string, tenantId: string, email: string, password: string): Promise<void> {
  await page.goto(`${base}/admin/login`);
  await page.evaluate(() => sessionStorage.clear());
  await page.goto(`${base}/admin/login`);
  await page.getByLabel('商户编号').fill(tenantId);
  await page.getByLabel('邮箱').fill(email);
  await page.getByLabel('密码').fill(password);
  await page.getByRole('button', { name: '登录' }).click();
  await page.getByRole('heading', { name: '经营概览' }).waitFor();
}

export async function screenshot(page: Page, name: string): Promise<void> {
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: unknown[]; html: string }[];
}

/**
 * Runs axe-core in the page (evaluated over the DevTools protocol, so the page's CSP does not
 * block it) and fails on critical violations. The full report goes to the artifacts.
 */
export async function expectNoCriticalA11yViolations(page: Page, name: string): Promise<void> {
  await page.evaluate(AXE_SOURCE);
  const violations = (await page.evaluate("axe.run(document, { resultTypes: ['violations'] }).then((r) => r.violations)")) as AxeViolation[];
  fs.writeFileSync(path.join(SCREENSHOTS, `${name}.axe.json`), JSON.stringify(violations, null, 2));
  const critical = violations.filter((v) => v.impact === 'critical');
  expect(
    critical.map(
      (v) =>
        `${v.id}: ${v.help} — ${v.nodes
          .slice(0, 3)
          .map((n) => n.html)
          .join(' | ')}`,
    ),
    `critical axe violations on ${name}`,
  ).toEqual([]);
}

/** The page shows `text` somewhere, as text. */
export async function expectText(page: Page, text: string): Promise<void> {
  await page.getByText(text, { exact: false }).first().waitFor({ state: 'visible' });
}

/** Open dialogs and drawers, as Playwright sees them (no script in the page: its CSP forbids eval). */
const OPEN_DIALOGS = '.ant-modal-wrap:visible, .ant-drawer-open';

/** Waits until no dialog or drawer is open; false when one still is after `timeoutMs`. */
async function dialogsClosed(page: Page, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if ((await page.locator(OPEN_DIALOGS).count()) === 0) return true;
    if (Date.now() > until) return false;
    await page.waitForTimeout(100);
  }
}

/**
 * Closes the topmost open dialog or drawer: Escape, as a person would; if it is still open a
 * moment later (the key went to no element of it: under load the focus can be elsewhere after an
 * accessibility scan), its close button. Waits until it is gone, so the next click reaches the page.
 */
export async function dismissDialog(page: Page): Promise<void> {
  if ((await page.locator(OPEN_DIALOGS).count()) === 0) return;
  await page.keyboard.press('Escape');
  if (await dialogsClosed(page, 2_000)) return;
  // It may close on its own meanwhile (the Escape was late): then the button is gone, which is fine.
  await page
    .locator('.ant-modal-wrap:visible .ant-modal-close, .ant-drawer-open .ant-drawer-close')
    .last()
    .click({ timeout: 5_000 })
    .catch(() => undefined);
  if (!(await dialogsClosed(page, 15_000))) throw new Error('a dialog stayed open after Escape and its close button');
}
