import { Type, type TSchema } from '@sinclair/typebox';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { englishWords } from '../../test/support/english.ts';
import { addFenxiaoFormats } from './formats.ts';
import { Text } from './schema.ts';
import { locationOf, validationText } from './validation-text.ts';

const HAN = /\p{Script=Han}/u;

/** The HTTP layer's body validator (app/http.ts): no coercion, formats, the first error only. */
const ajv = addFenxiaoFormats(new Ajv({ strict: false, allErrors: false, useDefaults: true, removeAdditional: false, coerceTypes: false }));

function said(schema: TSchema, value: unknown, part = 'body') {
  const check = ajv.compile(schema);
  expect(check(value)).toBe(false);
  return validationText(part, check.errors);
}

const Item = Type.Object({ sku: Type.String(), quantity: Type.Integer({ minimum: 1, maximum: 1000 }) }, { additionalProperties: false });
const Order = Type.Object({ items: Type.Array(Item, { minItems: 1, maxItems: 3 }) }, { additionalProperties: false });

/** One case per keyword: the value breaking it, and the messages expected in both languages. */
const cases: { keyword: string; schema: TSchema; value: unknown; en: string; zh: string; allowed?: string[] }[] = [
  {
    keyword: 'minimum',
    schema: Order,
    value: { items: [{ sku: 'a', quantity: 0 }] },
    en: 'body/items/0/quantity must be >= 1',
    zh: '请求体 items/0/quantity 不能小于 1',
  },
  {
    keyword: 'maximum',
    schema: Order,
    value: { items: [{ sku: 'a', quantity: 5000 }] },
    en: 'body/items/0/quantity must be <= 1000',
    zh: '请求体 items/0/quantity 不能大于 1000',
  },
  {
    keyword: 'exclusiveMinimum',
    schema: Type.Object({ n: Type.Number({ exclusiveMinimum: 0 }) }),
    value: { n: 0 },
    en: 'body/n must be > 0',
    zh: '请求体 n 应大于 0',
  },
  {
    keyword: 'type',
    schema: Order,
    value: { items: [{ sku: 'a', quantity: 'two' }] },
    en: 'body/items/0/quantity must be integer',
    zh: '请求体 items/0/quantity 应为整数',
  },
  { keyword: 'type (the whole body)', schema: Order, value: [], en: 'body must be object', zh: '请求体 应为对象' },
  { keyword: 'required', schema: Order, value: { items: [{ quantity: 1 }] }, en: 'body/items/0: missing field "sku"', zh: '请求体 items/0：缺少字段 "sku"' },
  { keyword: 'additionalProperties', schema: Order, value: { items: [], colour: 'red' }, en: 'body: unknown field "colour"', zh: '请求体：未知字段 "colour"' },
  { keyword: 'minItems', schema: Order, value: { items: [] }, en: 'body/items must NOT have fewer than 1 items', zh: '请求体 items 不能为空，至少需要 1 项' },
  {
    keyword: 'maxItems',
    schema: Order,
    value: { items: Array.from({ length: 4 }, () => ({ sku: 'a', quantity: 1 })) },
    en: 'body/items must NOT have more than 3 items',
    zh: '请求体 items 不能超过 3 项',
  },
  {
    keyword: 'minLength',
    schema: Type.Object({ name: Type.String({ minLength: 1 }) }),
    value: { name: '' },
    en: 'body/name must NOT have fewer than 1 characters',
    zh: '请求体 name 不能为空',
  },
  {
    keyword: 'minLength (more than one)',
    schema: Type.Object({ password: Type.String({ minLength: 10 }) }),
    value: { password: 'short' },
    en: 'body/password must NOT have fewer than 10 characters',
    zh: '请求体 password 长度不能少于 10 个字符',
  },
  {
    keyword: 'maxLength',
    schema: Type.Object({ name: Type.String({ maxLength: 5 }) }),
    value: { name: 'toolong' },
    en: 'body/name must NOT have more than 5 characters',
    zh: '请求体 name 长度不能超过 5 个字符',
  },
  {
    keyword: 'pattern',
    schema: Type.Object({ slug: Type.String({ pattern: '^[a-z]+$' }) }),
    value: { slug: 'A!' },
    en: 'body/slug must match pattern "^[a-z]+$"',
    zh: '请求体 slug 格式不正确',
  },
  {
    keyword: 'format date-time',
    schema: Type.Object({ paid_at: Type.String({ format: 'date-time' }) }),
    value: { paid_at: 'yesterday' },
    en: 'body/paid_at must match format "date-time"',
    zh: '请求体 paid_at 应为 ISO 8601 日期时间（例如 2026-03-01T08:00:00+08:00，年份在 1900 到 9999 之间）',
  },
  {
    keyword: 'format time-zone',
    schema: Type.Object({ timezone: Type.String({ format: 'time-zone' }) }),
    value: { timezone: 'Mars/Olympus' },
    en: 'body/timezone must match format "time-zone"',
    zh: '请求体 timezone 应为有效的时区名称（IANA 时区数据库中的名称，例如 Asia/Shanghai）',
  },
  {
    keyword: 'anyOf of literals',
    schema: Type.Object({ channel: Type.Union([Type.Literal('manual'), Type.Literal('alipay'), Type.Literal('wechat')]) }),
    value: { channel: 'cash' },
    en: 'body/channel must be one of: manual, alipay, wechat',
    zh: '请求体 channel 应为以下之一：manual、alipay、wechat',
    allowed: ['manual', 'alipay', 'wechat'],
  },
  {
    keyword: 'enum',
    schema: Type.Object({ scope: Type.String({ enum: ['full', 'read'] }) }),
    value: { scope: 'write' },
    en: 'body/scope must be one of: full, read',
    zh: '请求体 scope 应为以下之一：full、read',
    allowed: ['full', 'read'],
  },
  {
    keyword: 'const',
    schema: Type.Object({ consent: Type.Literal(true) }),
    value: { consent: false },
    en: 'body/consent must be true',
    zh: '请求体 consent 应为 true',
    allowed: ['true'],
  },
  {
    keyword: 'anyOf of types (nullable)',
    schema: Type.Object({ limit: Type.Union([Type.Integer(), Type.Null()]) }),
    value: { limit: 'many' },
    en: 'body/limit must be integer or null',
    zh: '请求体 limit 应为整数或空值',
  },
  {
    keyword: 'anyOf: a nullable object wrong inside',
    schema: Type.Object({ cap: Type.Union([Type.Object({ fen: Type.Integer({ minimum: 0 }) }), Type.Null()]) }),
    value: { cap: { fen: -1 } },
    en: 'body/cap/fen must be >= 0',
    zh: '请求体 cap/fen 不能小于 0',
  },
  {
    keyword: 'anyOf of shapes',
    schema: Type.Object({ anchor: Type.Union([Type.String({ pattern: '^[0-9]+$' }), Type.Array(Type.String(), { maxItems: 2 })]) }),
    value: { anchor: 'x' },
    en: 'body/anchor must match a schema in anyOf',
    zh: '请求体 anchor 不符合任何允许的形式',
  },
  {
    keyword: 'uniqueItems',
    schema: Type.Object({ ids: Type.Array(Type.String(), { uniqueItems: true }) }),
    value: { ids: ['a', 'b', 'a'] },
    en: 'body/ids must NOT have duplicate items (items ## 2 and 0 are identical)',
    zh: '请求体 ids 不能有重复项（第 0 项与第 2 项相同）',
  },
  {
    keyword: 'maxProperties',
    schema: Type.Object({ grades: Type.Record(Type.String(), Type.Integer(), { maxProperties: 1 }) }),
    value: { grades: { a: 1, b: 2 } },
    en: 'body/grades must NOT have more than 1 properties',
    zh: '请求体 grades 不能超过 1 个字段',
  },
  {
    keyword: 'minProperties',
    schema: Type.Object({ grades: Type.Record(Type.String(), Type.Integer(), { minProperties: 1 }) }),
    value: { grades: {} },
    en: 'body/grades must NOT have fewer than 1 properties',
    zh: '请求体 grades 至少需要 1 个字段',
  },
  {
    keyword: 'multipleOf',
    schema: Type.Object({ bp: Type.Integer({ multipleOf: 5 }) }),
    value: { bp: 7 },
    en: 'body/bp must be multiple of 5',
    zh: '请求体 bp 应为 5 的倍数',
  },
  {
    keyword: 'x-no-bidi',
    schema: Type.Object({ name: Text(50) }),
    value: { name: 'invoice\u202efdp.exe' },
    en: 'body/name must not contain bidirectional control characters (U+202A-U+202E, U+2066-U+2069, U+200E, U+200F, U+061C): they reorder what screens show',
    zh: '请求体 name 不能包含双向控制字符（U+202A–U+202E、U+2066–U+2069、U+200E、U+200F、U+061C）：它们会打乱屏幕上的显示顺序',
  },
];

describe('a schema violation in English and in Chinese, by keyword', () => {
  it.each(cases)('$keyword', (c) => {
    const text = said(c.schema, c.value);
    expect(text.en).toBe(c.en);
    expect(text.zh).toBe(c.zh);
    expect(text.en).not.toMatch(HAN);
    // Nothing English in the Chinese but the field path and the values the field allows.
    expect(englishWords(text.zh, [c.en.split(' ')[0] ?? '', ...(c.allowed ?? [])])).toEqual([]);
  });

  it('says the part of the request in Chinese, and keeps only field-like names from the caller', () => {
    expect(locationOf('querystring', '/limit')).toEqual({ en: 'querystring/limit', zh: '查询参数 limit' });
    expect(locationOf('params', '')).toEqual({ en: 'params', zh: '路径参数' });
    expect(locationOf('message', '/body/items/0')).toEqual({ en: 'message/body/items/0', zh: '消息 body/items/0' });
    expect(locationOf('body', '/grades/13800138000x@y')).toEqual({ en: 'body/grades/…', zh: '请求体 grades/…' });
    expect(validationText('headers', [])).toEqual({ en: 'headers is invalid', zh: '请求头无效' });
  });

  it('finds English left in a Chinese message', () => {
    expect(englishWords('请求体 items/0/quantity must be >= 1', ['body/items/0/quantity'])).toEqual(['must', 'be']);
    expect(englishWords('body/items 应为数组', [])).toEqual(['body', 'items']);
    expect(englishWords('请求体 items 应为数组', ['body/items'])).toEqual([]);
  });
});
