import { MappingError } from './types.ts';

/**
 * JSON.parse for platform payloads, except that integers too large for a double (Shopify's ids
 * reach 19 digits) come back as strings of their digits instead of being silently rounded.
 * A scanner marks where such literals stand outside strings; everything else is JSON.parse's.
 */
export function parseJsonPreservingIds(text: string): unknown {
  let out = '';
  let last = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x22) {
      inString = true;
      continue;
    }
    if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      let j = i + 1;
      while (j < text.length && /[0-9.eE+-]/.test(text.charAt(j))) j++;
      const literal = text.slice(i, j);
      if (/^-?\d{16,}$/.test(literal) && !Number.isSafeInteger(Number(literal))) {
        out += text.slice(last, i) + `"${literal}"`;
        last = j;
      }
      i = j - 1;
    }
  }
  try {
    return JSON.parse(last === 0 ? text : out + text.slice(last));
  } catch {
    throw new MappingError({ en: 'the body is not valid JSON', zh: '请求体不是有效的 JSON' });
  }
}
