import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyReply } from 'fastify';
import type { App } from './http.ts';

/** Where `npm run build:web` writes the two apps (web/vite.config.ts). */
export const WEB_DIST = fileURLToPath(new URL('../../web/dist/', import.meta.url));

const APPS = [
  { prefix: '/admin', dir: 'admin', title: 'Fenxiao admin console', scripts: '' },
  // Inside WeChat the portal loads WeChat's JS-SDK (jweixin) from this one host (docs/wechat.md).
  { prefix: '/portal', dir: 'portal', title: 'Fenxiao distributor portal', scripts: ' https://res.wx.qq.com' },
] as const;

/**
 * The pages may load only what they ship with and talk only to this server. React renders text
 * as text, and this is the second fence: an injected script or handler would not run.
 * antd and antd-mobile put their CSS-in-JS into <style> elements, hence 'unsafe-inline' for
 * styles (never for scripts).
 */
const cspWith = (scripts: string) =>
  [
    "default-src 'self'",
    `script-src 'self'${scripts}`,
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');

function missingBuild(reply: FastifyReply, title: string) {
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}: not built</title></head>
<body style="font-family:sans-serif;max-width:40rem;margin:4rem auto;line-height:1.5">
<h1>${title} has not been built</h1>
<p>The web apps are built by <code>npm install</code>. Build them now with:</p>
<pre>npm run build:web</pre>
<p>and reload this page. The API works without them: see <a href="/docs">/docs</a>.</p>
</body></html>`;
  return reply.code(503).type('text/html; charset=utf-8').header('cache-control', 'no-store').send(html);
}

/**
 * Serves the admin console at /admin/ and the distributor portal at /portal/ from web/dist:
 * hashed assets cached for a year, index.html never cached (so a deploy shows at once), and any
 * other path under an app answered with its index.html (client-side routes). Checked per
 * request, so a build finished after the server started is served without a restart.
 */
export function registerWeb(app: App, dist: string = WEB_DIST): void {
  void app.register(async (scope) => {
    // The build's .br and .gz copies (web/compress.mjs) go to a browser that accepts them, with
    // Content-Encoding and Vary: Accept-Encoding; others get the file itself.
    await scope.register(fastifyStatic, { root: dist, serve: false, preCompressed: true });

    for (const web of APPS) {
      const CSP = cspWith(web.scripts);
      const root = path.join(dist, web.dir);

      scope.get(web.prefix, { config: { auth: 'public' }, schema: { hide: true } }, async (_req, reply) => reply.redirect(`${web.prefix}/`, 302));

      scope.get(`${web.prefix}/*`, { config: { auth: 'public' }, schema: { hide: true } }, async (req, reply) => {
        const rel = (req.params as { '*'?: string })['*'] ?? '';
        const file = path.resolve(root, rel);
        const inside = file.startsWith(root + path.sep);
        const stat = inside && rel !== '' ? fs.statSync(file, { throwIfNoEntry: false }) : undefined;
        if (stat?.isFile()) {
          const immutable = rel.startsWith('assets/');
          reply.header('cache-control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
          if (rel.endsWith('.html')) reply.header('content-security-policy', CSP);
          return reply.sendFile(path.relative(dist, file), dist, { cacheControl: false });
        }
        // A missing asset is a 404, not the page: a stale tab asking for an old chunk must fail
        // loudly rather than parse HTML as JavaScript.
        if (rel !== '' && (!inside || rel.startsWith('assets/') || /\.[A-Za-z0-9]{1,8}$/.test(rel))) return reply.callNotFound();
        if (!fs.existsSync(path.join(root, 'index.html'))) return missingBuild(reply, web.title);
        return reply
          .header('cache-control', 'no-cache')
          .header('content-security-policy', CSP)
          .sendFile(path.join(web.dir, 'index.html'), dist, { cacheControl: false });
      });
    }
  });
}
