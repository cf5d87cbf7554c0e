import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AppError, CODE_TEXT_OF, ERROR_STATUS, type ErrorCode } from './errors.ts';
import { answerLanguage, MESSAGES, NOUNS, zhAction, zhChannel, zhStatus, type Noun } from './error-text.ts';

const HAN = /\p{Script=Han}/u;

/** Sample parameters for every catalogued message: the compiler asks for one per message. */
const SAMPLES: { [K in keyof typeof MESSAGES]: Parameters<(typeof MESSAGES)[K]> } = {
  notFound: ['distributor'],
  noRoute: ['GET', '/v1/nothing'],
  missingCredentials: [],
  invalidCredentials: [],
  rootTokenNeeded: [],
  wrongCredentialKind: [],
  roleMayNot: [],
  callerMayNot: ['withdrawals approve'],
  wrongEmailOrPassword: [],
  wrongPhoneOrPassword: [],
  ambiguousEmail: [],
  unknownMerchant: [],
  tooManyFailedLogins: [],
  distributorOnly: [],
  nulCharacter: ['body'],
  bodyTooLarge: [],
  malformedMultipart: [],
  sendJson: [],
  invalidJson: [],
  unknownField: [{ en: 'body', zh: '请求体' }, 'colour'],
  missingField: [{ en: 'body', zh: '请求体' }, 'name'],
  invalidValue: [
    { en: 'body/amount_fen', zh: '请求体 amount_fen' },
    { en: 'must be >= 100', zh: '不能小于 100' },
  ],
  invalidPart: ['querystring'],
  internal: [],
  frameworkRefusal: ['invalid_request', "'%' is not a valid url component", 'FST_ERR_BAD_URL'],
  databaseUnavailable: [],
  duplicateKey: [],
  missingReference: [],
  balancePastLimit: [],
  valueOutsideAllowed: [],
  numberOutOfRange: [],
  wrongFormat: [],
  textTooLong: [],
  unstorableCharacter: [],
  dateOutOfRange: [],
  valueTooLarge: [],
  unknownReferrerCode: [],
  distributorExists: [],
  orderClosedUnpaid: [],
  orderAwaitsPayment: ['shipped'],
  orderBodyDiffers: [],
  idempotencyKeyReused: [],
  customerAlreadyBound: [],
  insufficientBalance: [1234n],
  atMostThreeLevels: [],
  reasonRequired: [],
};

describe('the error catalogue: every code and every message in English and Chinese', () => {
  it.each(Object.keys(ERROR_STATUS) as ErrorCode[])('code %s has a general text in both languages', (code) => {
    const text = CODE_TEXT_OF[code];
    expect(text.en).toMatch(/^[ -~]+$/);
    expect(text.zh).toMatch(HAN);
    const err = new AppError(code, text);
    expect(err.messageIn('en')).toBe(text.en);
    expect(err.messageIn('zh')).toBe(text.zh);
    expect(err.code).toBe(code);
    expect(err.status).toBe(ERROR_STATUS[code]);
  });

  it.each(Object.keys(MESSAGES) as (keyof typeof MESSAGES)[])('message %s is said in both languages', (key) => {
    const fn = MESSAGES[key] as (...args: unknown[]) => { en: string; zh: string };
    const text = fn(...(SAMPLES[key] as unknown[]));
    expect(text.en.length).toBeGreaterThan(0);
    expect(text.en).not.toMatch(HAN);
    expect(text.zh).toMatch(HAN);
    expect(text.zh).not.toBe(text.en);
  });

  it.each(Object.keys(NOUNS) as Noun[])('not_found names "%s" in both languages', (what) => {
    const err = new AppError('not_found', MESSAGES.notFound(what));
    expect(err.messageIn('en')).toBe(`${what} not found`);
    expect(err.messageIn('zh')).toMatch(/\p{Script=Han}.*不存在$/u);
  });

  it('carries the parameters into both languages', () => {
    expect(MESSAGES.insufficientBalance(500)).toEqual({ en: 'withdrawable balance is 500 fen', zh: '可提现余额为 500 分' });
    expect(MESSAGES.nulCharacter('query')).toEqual({
      en: 'query: text must not contain the NUL character (U+0000)',
      zh: '查询参数：文本不能包含空字符（U+0000）',
    });
  });

  it("says a framework refusal in Chinese without the framework's English", () => {
    const bad = MESSAGES.frameworkRefusal('invalid_request', "'%' is not a valid url component", 'FST_ERR_BAD_URL');
    expect(bad.en).toBe("'%' is not a valid url component");
    expect(bad.zh).not.toMatch(/[A-Za-z]{2}/);
    expect(MESSAGES.frameworkRefusal('invalid_request', 'Some future refusal', 'FST_ERR_SOMETHING_NEW').zh).toBe('请求无效');
  });
});

/** Every .ts file under src/, less the tests. */
function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return sources(full);
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [full] : [];
  });
}

/**
 * The JavaScript string literal ('…', "…" or `…` with its ${…} parts, nested literals and all)
 * starting at `at`: its end and its static text (the interpolations left out).
 */
function literalAt(text: string, at: number): { end: number; fixed: string } | undefined {
  const quote = text[at];
  if (quote !== "'" && quote !== '"' && quote !== '`') return undefined;
  let i = at + 1;
  let fixed = '';
  while (i < text.length && text[i] !== quote) {
    if (text[i] === '\\') {
      fixed += text.slice(i, i + 2);
      i += 2;
    } else if (quote === '`' && text.startsWith('${', i)) {
      let depth = 1;
      i += 2;
      while (depth > 0 && i < text.length) {
        const inner = literalAt(text, i);
        if (inner) {
          i = inner.end;
          continue;
        }
        if (text[i] === '{') depth++;
        if (text[i] === '}') depth--;
        i++;
      }
    } else fixed += text[i++];
  }
  return { end: i + 1, fixed };
}

/** Every `{ en: <literal>, zh: <literal> }` in src/: the messages written where they are thrown. */
function messagePairs(): { where: string; en: string; zh: string }[] {
  const root = path.resolve(import.meta.dirname, '..');
  const pairs: { where: string; en: string; zh: string }[] = [];
  for (const file of sources(root)) {
    const text = fs.readFileSync(file, 'utf8');
    for (const m of text.matchAll(/\{\s*en:\s*/g)) {
      const en = literalAt(text, m.index + m[0].length);
      if (!en) continue;
      const sep = /^,\s*zh:\s*/.exec(text.slice(en.end));
      const zh = sep ? literalAt(text, en.end + sep[0].length) : undefined;
      const line = text.slice(0, m.index).split('\n').length;
      pairs.push({ where: `${path.relative(root, file)}:${line}`, en: en.fixed, zh: zh?.fixed ?? '(no zh literal beside it)' });
    }
  }
  return pairs;
}

describe('every message thrown in src/ is said in Chinese', () => {
  // AppError takes only { en, zh } (errors.ts), so the compiler refuses a message without its
  // Chinese; this reads every pair written in the code to refuse a Chinese that is not Chinese
  // (the English copied, or left empty).
  const pairs = messagePairs();

  it('finds the messages: several hundred pairs in src/', () => {
    expect(pairs.length).toBeGreaterThan(250);
  });

  it.each(pairs.map((p) => [p.where, p] as const))('%s', (_where, p) => {
    // English words written here need Chinese written here; a message made wholly of its
    // parameters (MESSAGES.invalidValue) has its words in the functions it calls, tested above.
    if (/[A-Za-z]{2}/.test(p.en)) expect(p.zh, p.en).toMatch(HAN);
    expect(p.en, p.zh).not.toMatch(HAN);
  });

  it('names statuses, channels and actions in Chinese inside a message', () => {
    expect(zhStatus('suspended')).toBe('已暂停');
    expect(zhStatus('pending_payment')).toBe('待付款');
    expect(zhChannel('alipay')).toBe('支付宝');
    expect(zhAction('reject')).toBe('驳回');
    expect(zhStatus('some_new_status')).toBe('some_new_status');
  });
});

describe('answerLanguage: Accept-Language with its weights', () => {
  const cases: [string | undefined, 'en' | 'zh'][] = [
    [undefined, 'en'],
    ['', 'en'],
    ['zh-CN', 'zh'],
    ['zh', 'zh'],
    ['zh-Hans', 'zh'],
    ['zh-Hans-CN', 'zh'],
    ['ZH-cn', 'zh'],
    ['zh-TW', 'zh'],
    ['en-US', 'en'],
    ['fr-FR', 'en'],
    ['*', 'en'],
    ['zh-CN,zh;q=0.9,en;q=0.8', 'zh'],
    ['en-US,en;q=0.9,zh-CN;q=0.8', 'en'],
    ['en;q=0.5, zh-CN;q=0.8', 'zh'],
    ['fr, zh;q=0.3', 'zh'],
    ['zh;q=0, en', 'en'],
    ['zh;q=0', 'en'],
    ['zh-CN;q=1.0, en;q=1.0', 'zh'],
    ['en;q=1, zh;q=1', 'en'],
    ['zhx', 'en'],
    ['zh;q=abc', 'zh'],
  ];
  it.each(cases)('%s → %s', (header, lang) => {
    expect(answerLanguage(header)).toBe(lang);
  });
});
