import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isWechatUserAgent, jsSdkSignature, nonceStr, pageUrl } from './signature.ts';

/** The worked example of the JS-SDK documentation's appendix 1 (JS-SDK使用权限签名算法). */
const DOC = {
  jsapiTicket: 'sM4AOVdWfPE4DxkXGEs8VMCPGGVi4C3VM0P37wVUCFvkVAy_90u5h9nbSlYy3-Sl-HhTdfl2fzFy1AOcHKP7qg',
  nonceStr: 'Wm3WZYTPz0wzccnW',
  timestamp: 1414587457,
  url: 'http://mp.weixin.qq.com?params=value',
  signature: '0f9de62fce790f9a083d5c99e95740ceb90c27ed',
};

describe('JS-SDK signature', () => {
  it("matches the documentation's worked example", () => {
    expect(jsSdkSignature(DOC)).toBe(DOC.signature);
  });

  it('signs the page address without its fragment, and the fragment changes nothing', () => {
    expect(jsSdkSignature({ ...DOC, url: `${DOC.url}#/invite?x=1` })).toBe(DOC.signature);
    expect(pageUrl('https://a.test/portal/?tenant=t#frag')).toBe('https://a.test/portal/?tenant=t');
    expect(pageUrl('https://a.test/portal/')).toBe('https://a.test/portal/');
  });

  it('is sha1 of the fields in name order, values raw (not URL-escaped)', () => {
    const input = { jsapiTicket: 'T', nonceStr: 'N', timestamp: 1, url: 'https://a.test/p?a=1&b=中文' };
    const expected = createHash('sha1').update('jsapi_ticket=T&noncestr=N&timestamp=1&url=https://a.test/p?a=1&b=中文').digest('hex');
    expect(jsSdkSignature(input)).toBe(expected);
    // Each field counts.
    for (const change of [{ jsapiTicket: 'U' }, { nonceStr: 'M' }, { timestamp: 2 }, { url: 'https://a.test/q' }]) {
      expect(jsSdkSignature({ ...input, ...change })).not.toBe(expected);
    }
  });

  it('makes nonces of letters and digits', () => {
    const a = nonceStr();
    expect(a).toMatch(/^[A-Za-z0-9]{16}$/);
    expect(nonceStr()).not.toBe(a);
  });

  it("tells WeChat's browser by its user agent", () => {
    expect(
      isWechatUserAgent(
        'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.47(0x18002f2c) NetType/WIFI Language/zh_CN',
      ),
    ).toBe(true);
    expect(isWechatUserAgent('Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0 Safari/537.36')).toBe(false);
    expect(isWechatUserAgent(undefined)).toBe(false);
  });
});
