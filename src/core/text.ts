/**
 * Text as screens show it. Bidirectional control characters (the embeddings, overrides and
 * isolates U+202A–U+202E and U+2066–U+2069, the marks U+200E, U+200F and U+061C) reorder what
 * follows them on screen: `invoice\u202efdp.exe` is listed as `invoiceexe.pdf`, and a name can
 * pose as another ("Trojan Source"). Names and business text never need them (Arabic and Hebrew
 * display right to left without them), so input refuses them and file names lose them.
 */
export const BIDI_CONTROLS = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;
const BIDI_CONTROLS_ALL = new RegExp(BIDI_CONTROLS.source, 'g');

/** The same set as a character-class body, for JSON Schema patterns (`\uXXXX` escapes). */
export const BIDI_CONTROLS_CLASS = '\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069';

export function holdsBidiControl(text: string): boolean {
  return BIDI_CONTROLS.test(text);
}

/**
 * An uploaded file's name as Fenxiao keeps and shows it: no control or bidirectional characters,
 * no path, at most 200 characters, and ending with `.<extension>` of what the file really is (its
 * bytes, not its claim), so a reviewer saving `licence.exe` that is a PDF gets `licence.exe.pdf`.
 */
export function safeFileName(name: string, extension: string, fallback = 'upload'): string {
  let base = name
    .replace(BIDI_CONTROLS_ALL, '')
    // eslint-disable-next-line no-control-regex -- control characters are what this replaces
    .replace(/[\u0000-\u001f\u007f/\\]/g, '_')
    .trim();
  if (base === '' || /^\.+$/.test(base)) base = fallback;
  const ext = `.${extension.toLowerCase()}`;
  const hasExt = base.toLowerCase().endsWith(ext) || (extension === 'jpg' && base.toLowerCase().endsWith('.jpeg'));
  return hasExt ? base.slice(0, 200) : `${base.slice(0, 200 - ext.length)}${ext}`;
}
