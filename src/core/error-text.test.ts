import { describe, expect, it } from 'vitest';
import { AppError, ERROR_STATUS, type ErrorCode } from './errors.ts';
import { answerLanguage, CODE_TEXT, MESSAGES, NOUNS, type Noun } from './error-text.ts';

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
  unknownField: ['body', 'colour'],
  missingField: ['body', 'name'],
  invalidValue: ['body/amount_fen', 'minimum', { comparison: '>=', limit: 100 }, 'must be >= 100'],
  internal: [],
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
  orderBodyDiffers: [],
  idempotencyKeyReused: [],
  customerAlreadyBound: [],
  insufficientBalance: [1234n],
  atMostThreeLevels: [],
  reasonRequired: [],
};

describe('the error catalogue: every code and every message in English and Chinese', () => {
  it.each(Object.keys(ERROR_STATUS) as ErrorCode[])('code %s has a general text in both languages', (code) => {
    const text = (CODE_TEXT as Record<string, { en: string; zh: string }>)[code];
    expect(text, code).toBeDefined();
    expect(text!.en).toMatch(/^[ -~]+$/);
    expect(text!.zh).toMatch(HAN);
    // The Chinese answer of an uncatalogued message starts with its code's Chinese text and keeps the English detail.
    const err = new AppError(code, 'some English detail');
    expect(err.messageIn('en')).toBe('some English detail');
    expect(err.messageIn('zh')).toBe(`${text!.zh}（some English detail）`);
    expect(err.code).toBe(code);
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
    expect(MESSAGES.invalidValue('body/amount_fen', 'minimum', { comparison: '>=', limit: 100 }, 'must be >= 100')).toEqual({
      en: 'body/amount_fen must be >= 100',
      zh: 'body/amount_fen 应不小于 100',
    });
    expect(MESSAGES.invalidValue('body/channel', 'enum', { allowedValues: ['manual', 'alipay'] }, 'must be equal to one of the allowed values').zh).toBe(
      'body/channel 应为以下之一：manual、alipay',
    );
    expect(MESSAGES.invalidValue('body/quantity', 'type', { type: 'integer' }, 'must be integer').zh).toBe('body/quantity 应为整数');
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
