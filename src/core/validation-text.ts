import type { ErrorObject } from 'ajv';
import { MESSAGES, partZh, type LocalText } from './error-text.ts';

/**
 * A schema violation said in both languages. Ajv's own messages are English ("must be >= 1"): the
 * English answer keeps them, the Chinese one is written here from the keyword and its parameters,
 * so a Chinese client reads `请求体 items/0/quantity 不能小于 1`, with nothing English in it but the
 * field path (and the allowed codes of an enumeration). Used by the HTTP layer (app/http.ts) and
 * by the order mappers and queue consumer (modules/ingest/validate.ts), which validate the same way.
 */

/**
 * Names a field as the caller wrote it only when it looks like a field name: a JSON key or a
 * record key is caller input too, and a phone number typed as a key must not come back in the
 * error (or go into the log line that records it). Ajv's messages never quote the value itself.
 */
export const fieldName = (name: string) => (/^[A-Za-z_][A-Za-z0-9_-]{0,63}$|^[0-9]{1,6}$/.test(name) ? name : '…');

/** Where the broken rule is: `body/items/0/quantity` in English, `请求体 items/0/quantity` in Chinese. */
export function locationOf(part: string, instancePath: string): LocalText {
  const path = instancePath
    .split('/')
    .filter((p, i) => i > 0 || p !== '')
    .map(fieldName)
    .join('/');
  return { en: path ? `${part}/${path}` : part, zh: path ? `${partZh(part)} ${path}` : partZh(part) };
}

const TYPE_ZH: Record<string, string> = {
  integer: '整数',
  number: '数字',
  string: '文本',
  boolean: '布尔值',
  object: '对象',
  array: '数组',
  null: '空值',
};
const typesZh = (types: readonly string[]) => types.map((t) => TYPE_ZH[t] ?? t).join('或');

/** What a format asks for, in Chinese (the formats of core/formats.ts and ajv-formats). */
const FORMAT_ZH: Record<string, string> = {
  'date-time': '应为 ISO 8601 日期时间（例如 2026-03-01T08:00:00+08:00，年份在 1900 到 9999 之间）',
  date: '应为日期（例如 2026-03-01）',
  time: '应为时间（例如 08:00:00+08:00）',
  'time-zone': '应为有效的时区名称（IANA 时区数据库中的名称，例如 Asia/Shanghai）',
  email: '应为有效的邮箱地址',
  uri: '应为完整的网址',
  url: '应为完整的网址',
  uuid: '应为 UUID',
  ipv4: '应为 IPv4 地址',
  ipv6: '应为 IPv6 地址',
  hostname: '应为主机名',
};

const list = (values: readonly unknown[], sep: string) => values.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))).join(sep);

/** The rule broken, in both languages, from Ajv's keyword and parameters (and its English message). */
function rule(keyword: string, params: Record<string, unknown>, ajvMessage: string | undefined): LocalText {
  const en = ajvMessage ?? 'is invalid';
  const limit = String(params.limit);
  switch (keyword) {
    case 'type':
      return { en, zh: `应为${typesZh(String(params.type).split(','))}` };
    case 'minimum':
    case 'exclusiveMinimum':
    case 'maximum':
    case 'exclusiveMaximum': {
      const c = String(params.comparison);
      const zh = c === '>=' ? '不能小于' : c === '<=' ? '不能大于' : c === '>' ? '应大于' : c === '<' ? '应小于' : `应满足 ${c}`;
      return { en, zh: `${zh} ${limit}` };
    }
    case 'minLength':
      return { en, zh: params.limit === 1 ? '不能为空' : `长度不能少于 ${limit} 个字符` };
    case 'maxLength':
      return { en, zh: `长度不能超过 ${limit} 个字符` };
    case 'minItems':
      return { en, zh: params.limit === 1 ? '不能为空，至少需要 1 项' : `至少需要 ${limit} 项` };
    case 'maxItems':
      return { en, zh: `不能超过 ${limit} 项` };
    case 'minProperties':
      return { en, zh: `至少需要 ${limit} 个字段` };
    case 'maxProperties':
      return { en, zh: `不能超过 ${limit} 个字段` };
    case 'uniqueItems':
      return {
        en,
        zh:
          typeof params.i === 'number' && typeof params.j === 'number'
            ? `不能有重复项（第 ${Math.min(params.i, params.j)} 项与第 ${Math.max(params.i, params.j)} 项相同）`
            : '不能有重复项',
      };
    case 'pattern':
      return { en, zh: '格式不正确' };
    case 'format':
      return { en, zh: FORMAT_ZH[String(params.format)] ?? '格式不正确' };
    case 'enum':
      return Array.isArray(params.allowedValues)
        ? { en: `must be one of: ${list(params.allowedValues, ', ')}`, zh: `应为以下之一：${list(params.allowedValues, '、')}` }
        : { en, zh: '应为允许的值之一' };
    case 'const':
      return { en: `must be ${list([params.allowedValue], '')}`, zh: `应为 ${list([params.allowedValue], '')}` };
    case 'multipleOf':
      return { en, zh: `应为 ${String(params.multipleOf)} 的倍数` };
    case 'anyOf':
    case 'oneOf':
      return { en, zh: '不符合任何允许的形式' };
    case 'x-no-bidi':
      return { en, zh: '不能包含双向控制字符（U+202A–U+202E、U+2066–U+2069、U+200E、U+200F、U+061C）：它们会打乱屏幕上的显示顺序' };
    default:
      return { en, zh: '不符合要求' };
  }
}

/**
 * The error Ajv stops at, said plainly. A union (`anyOf`: TypeBox's union of literals, or a
 * nullable value) reports each branch's failure before its own: branches that each want one value
 * become "one of: a, b, c", branches that want a type become "integer or null", and a nullable
 * object whose inside is wrong says what is wrong inside.
 */
export function validationText(part: string, errors: readonly ErrorObject[] | null | undefined): LocalText {
  const all = errors ?? [];
  const union = all.find((e) => e.keyword === 'anyOf' || e.keyword === 'oneOf');
  const first = all[0];
  if (!first) return MESSAGES.invalidPart(part);
  if (union) {
    const where = locationOf(part, union.instancePath);
    const branches = all.slice(0, all.indexOf(union));
    const here = branches.filter((e) => e.instancePath === union.instancePath);
    const values = here.flatMap((e) =>
      e.keyword === 'const' ? [e.params.allowedValue] : e.keyword === 'enum' && Array.isArray(e.params.allowedValues) ? e.params.allowedValues : [],
    );
    if (here.length === branches.length && values.length > 0 && here.every((e) => e.keyword === 'const' || e.keyword === 'enum'))
      return MESSAGES.invalidValue(where, rule('enum', { allowedValues: values }, undefined));
    if (here.length === branches.length && here.length > 0 && here.every((e) => e.keyword === 'type')) {
      const types = here.flatMap((e) => String(e.params.type).split(','));
      return MESSAGES.invalidValue(where, { en: `must be ${types.join(' or ')}`, zh: `应为${typesZh(types)}` });
    }
    const inside = branches.find((e) => e.instancePath.length > union.instancePath.length);
    if (inside) return one(part, inside);
    return MESSAGES.invalidValue(where, rule(union.keyword, union.params, union.message));
  }
  return one(part, first);
}

function one(part: string, e: ErrorObject): LocalText {
  const where = locationOf(part, e.instancePath);
  if (e.keyword === 'additionalProperties')
    return MESSAGES.unknownField(where, fieldName(String((e.params as { additionalProperty?: string }).additionalProperty)));
  if (e.keyword === 'required') return MESSAGES.missingField(where, fieldName(String((e.params as { missingProperty?: string }).missingProperty)));
  return MESSAGES.invalidValue(where, rule(e.keyword, e.params as Record<string, unknown>, e.message));
}

/** The rule in Chinese alone, for the catalogue's test (error-text.test.ts). */
export const ruleText = rule;
