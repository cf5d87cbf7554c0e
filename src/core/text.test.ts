import { describe, expect, it } from 'vitest';
import { holdsBidiControl, safeFileName } from './text.ts';

describe('holdsBidiControl', () => {
  it.each([
    ['invoice\u202efdp.exe', true],
    ['a\u2067b', true],
    ['\u200fx', true],
    ['\u061c', true],
    ['张三', false],
    ['محمد', false],
    ['plain', false],
  ])('%j → %s', (text, held) => {
    expect(holdsBidiControl(text)).toBe(held);
  });
});

describe('safeFileName', () => {
  it.each([
    ['invoice\u202efdp.exe', 'pdf', 'invoicefdp.exe.pdf'],
    ['licence.PDF', 'pdf', 'licence.PDF'],
    ['photo.jpeg', 'jpg', 'photo.jpeg'],
    ['photo.png', 'jpg', 'photo.png.jpg'],
    ['../../etc/passwd', 'png', '.._.._etc_passwd.png'],
    ['a\u0000b\nc', 'webp', 'a_b_c.webp'],
    ['', 'pdf', 'upload.pdf'],
    ['\u202e', 'pdf', 'upload.pdf'],
    ['..', 'png', 'upload.png'],
  ])('%j as %s → %j', (name, ext, out) => {
    expect(safeFileName(name, ext)).toBe(out);
  });

  it('keeps at most 200 characters, the extension included', () => {
    const name = safeFileName('x'.repeat(500), 'pdf');
    expect(name).toHaveLength(200);
    expect(name.endsWith('.pdf')).toBe(true);
  });
});
