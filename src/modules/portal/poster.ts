import { createRequire } from 'node:module';
import QRCode from 'qrcode';
import type * as Resvg from '@resvg/resvg-js';
import { lazy, requirePackage } from '../../lib/lazy.ts';

const resvg = lazy(() => requirePackage('@resvg/resvg-js') as typeof Resvg);

/**
 * The invite poster: an SVG composed here (pure string work, tested on its own), rendered to PNG
 * by resvg. resvg draws text only with fonts it is given, and a fresh machine may have no CJK
 * font at all, so Noto Sans SC (SIL Open Font License) comes from npm
 * (@expo-google-fonts/noto-sans-sc, the Google Fonts TTFs) and system fonts are not loaded:
 * a poster looks the same on every machine.
 */

export const POSTER_WIDTH = 750;
export const POSTER_HEIGHT = 1334;
export const POSTER_FONT_FAMILY = 'Noto Sans SC';

export type PosterLang = 'zh-CN' | 'en';

export interface PosterInput {
  distributorName: string;
  tenantName: string;
  inviteCode: string;
  inviteUrl: string;
  /** The merchant's uploaded background, or none for the built-in design. */
  background?: { contentType: 'image/png' | 'image/jpeg'; data: Buffer } | undefined;
  lang: PosterLang;
  /**
   * wechat_safe (the program's WeChat-safe profile): a recommendation to shop, never an invitation
   * to join a network; no word of WECHAT_FORBIDDEN_WORDS (src/modules/compliance/rules.ts).
   */
  wording?: 'standard' | 'wechat_safe' | undefined;
}

type PosterText = { invites: (tenant: string) => string; code: string; scan: string };
export const POSTER_TEXT: Record<'standard' | 'wechat_safe', Record<PosterLang, PosterText>> = {
  standard: {
    'zh-CN': { invites: (t) => `邀请你加入 ${t}`, code: '邀请码', scan: '长按或扫描二维码加入' },
    en: { invites: (t) => `invites you to join ${t}`, code: 'Invite code', scan: 'Scan the QR code to join' },
  },
  wechat_safe: {
    'zh-CN': { invites: (t) => `为你推荐 ${t} 的好物`, code: '推荐码', scan: '长按识别二维码，进店选购' },
    en: { invites: (t) => `recommends ${t} to you`, code: 'Referral code', scan: 'Scan the QR code to shop' },
  },
};

/** Characters XML 1.0 cannot hold at all (most C0 controls, lone surrogates, U+FFFE/FFFF). */
const NOT_XML = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

/** Text as SVG character data: escaped, and stripped of what XML cannot carry. */
const XML_ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };

export function xmlText(value: string): string {
  return value.replace(NOT_XML, '').replace(/[&<>"']/g, (c) => XML_ESCAPES[c] ?? c);
}

/** Rough advance width in em: CJK and other wide characters take 1, the rest about 0.6. */
function emWidth(ch: string): number {
  const cp = ch.codePointAt(0) ?? 0;
  const wide =
    (cp >= 0x1100 && cp <= 0x115f) ||
    (cp >= 0x2e80 && cp <= 0xa4cf) ||
    (cp >= 0xac00 && cp <= 0xd7a3) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0xfe30 && cp <= 0xfe4f) ||
    (cp >= 0xff00 && cp <= 0xff60) ||
    (cp >= 0xffe0 && cp <= 0xffe6) ||
    cp >= 0x1f300;
  return wide ? 1 : 0.6;
}

/** Shortens `value` with an ellipsis so that it fits `maxEm` em. */
export function fitText(value: string, maxEm: number): string {
  const chars = [...value.replace(NOT_XML, '').replace(/\s+/g, ' ').trim()];
  const total = chars.reduce((w, ch) => w + emWidth(ch), 0);
  if (total <= maxEm) return chars.join('');
  // Keep what fits beside the ellipsis (1 em).
  let out = '';
  let width = 0;
  for (const ch of chars) {
    if (width + emWidth(ch) > maxEm - 1) break;
    out += ch;
    width += emWidth(ch);
  }
  return out + '…';
}

/** The QR code of `url` as one SVG path in module units, and its size in modules. */
export function qrPath(url: string): { d: string; size: number } {
  const qr = QRCode.create(url, { errorCorrectionLevel: 'M' });
  const { size, data } = qr.modules;
  let d = '';
  // One rectangle per horizontal run of dark modules.
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      if (!data[y * size + x]) continue;
      let run = 1;
      while (x + run < size && data[y * size + x + run]) run++;
      d += `M${x} ${y}h${run}v1h-${run}z`;
      x += run - 1;
    }
  }
  return { d, size };
}

export function posterSvg(input: PosterInput): string {
  const W = POSTER_WIDTH;
  const H = POSTER_HEIGHT;
  const text = POSTER_TEXT[input.wording ?? 'standard'][input.lang];
  const qr = qrPath(input.inviteUrl);
  const qrBox = 360;
  const scale = qrBox / qr.size;
  const card = { x: 60, y: 560, w: W - 120, h: 700 };
  const qrX = (W - qrBox) / 2;
  const qrY = card.y + 200;
  const font = `font-family="${POSTER_FONT_FAMILY}"`;

  const background = input.background
    ? `<image href="data:${input.background.contentType};base64,${input.background.data.toString('base64')}" x="0" y="0" width="${W}" height="${H}" preserveAspectRatio="xMidYMid slice"/>`
    : `<defs><linearGradient id="bg" x1="0" y1="0" x2="0.4" y2="1"><stop offset="0" stop-color="#d4380d"/><stop offset="1" stop-color="#fa8c16"/></linearGradient></defs>
  <rect width="${W}" height="${H}" fill="url(#bg)"/>
  <circle cx="660" cy="120" r="180" fill="#ffffff" fill-opacity="0.08"/>
  <circle cx="80" cy="430" r="120" fill="#ffffff" fill-opacity="0.06"/>
  <text x="${W / 2}" y="260" ${font} font-size="64" font-weight="700" fill="#ffffff" text-anchor="middle">${xmlText(fitText(input.tenantName, 10))}</text>`;

  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">
  ${background}
  <rect x="${card.x}" y="${card.y}" width="${card.w}" height="${card.h}" rx="32" fill="#ffffff"/>
  <text x="${W / 2}" y="${card.y + 90}" ${font} font-size="44" font-weight="700" fill="#1f1f1f" text-anchor="middle">${xmlText(fitText(input.distributorName, 13))}</text>
  <text x="${W / 2}" y="${card.y + 148}" ${font} font-size="28" fill="#595959" text-anchor="middle">${xmlText(fitText(text.invites(input.tenantName), 21))}</text>
  <g transform="translate(${qrX} ${qrY}) scale(${scale.toFixed(6)})"><rect width="${qr.size}" height="${qr.size}" fill="#ffffff"/><path d="${qr.d}" fill="#000000" shape-rendering="crispEdges"/></g>
  <text x="${W / 2}" y="${qrY + qrBox + 64}" ${font} font-size="30" fill="#262626" text-anchor="middle">${xmlText(`${text.code} ${input.inviteCode}`)}</text>
  <text x="${W / 2}" y="${qrY + qrBox + 110}" ${font} font-size="24" fill="#8c8c8c" text-anchor="middle">${xmlText(text.scan)}</text>
</svg>`;
}

let fontFiles: string[] | null | undefined;

/** The bundled Noto Sans SC files, or null when the package is missing (then system fonts). */
export function posterFontFiles(): string[] | null {
  if (fontFiles !== undefined) return fontFiles;
  try {
    const require = createRequire(import.meta.url);
    fontFiles = [
      require.resolve('@expo-google-fonts/noto-sans-sc/400Regular/NotoSansSC_400Regular.ttf'),
      require.resolve('@expo-google-fonts/noto-sans-sc/700Bold/NotoSansSC_700Bold.ttf'),
    ];
  } catch {
    fontFiles = null;
  }
  return fontFiles;
}

/** Renders in libuv's thread pool (renderAsync), so a poster does not stall other requests. */
export async function renderPoster(input: PosterInput): Promise<Buffer> {
  const files = posterFontFiles();
  const image = await resvg().renderAsync(posterSvg(input), {
    fitTo: { mode: 'original' },
    font: files
      ? { fontFiles: files, loadSystemFonts: false, defaultFontFamily: POSTER_FONT_FAMILY }
      : { loadSystemFonts: true, defaultFontFamily: POSTER_FONT_FAMILY },
  });
  return image.asPng();
}

/** What an uploaded background is, by its bytes, not by what the client claimed. */
export function sniffImage(data: Buffer): { contentType: 'image/png' | 'image/jpeg'; width: number; height: number } | null {
  if (
    data.length >= 24 &&
    data.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) &&
    data.subarray(12, 16).toString('latin1') === 'IHDR'
  ) {
    return { contentType: 'image/png', width: data.readUInt32BE(16), height: data.readUInt32BE(20) };
  }
  if (data.length >= 4 && data[0] === 0xff && data[1] === 0xd8 && data[2] === 0xff) {
    let i = 2;
    while (i + 9 < data.length) {
      if (data[i] !== 0xff) return null;
      const marker = data[i + 1];
      if (marker === undefined) return null;
      if (marker === 0xff) {
        i++;
        continue;
      }
      if (marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
        i += 2;
        continue;
      }
      const length = data.readUInt16BE(i + 2);
      // SOF0..SOF15 carry the frame size; C4 (DHT), C8 (JPG) and CC (DAC) are not frames.
      if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
        return { contentType: 'image/jpeg', height: data.readUInt16BE(i + 5), width: data.readUInt16BE(i + 7) };
      }
      i += 2 + length;
    }
  }
  return null;
}
