/**
 * Error messages in the caller's language (issue 16 item 8): Chinese for Accept-Language zh-CN
 * (and zh, zh-Hans…, weights honoured), English otherwise; the status and `code` never change
 * with the language (CONTRACT.md).
 */
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ulid } from '../../src/core/ids.ts';
import { createJobs } from '../../src/modules/jobs/service.ts';
import { englishWords } from '../support/english.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

const HAN = /\p{Script=Han}/u;

let t: TestServer;
let key: string;
let tenantId: string;
beforeAll(async () => {
  t = await startTestServer();
  ({ key, id: tenantId } = await t.tenant('语言商户'));
  const res = await t.call('POST', '/v1/distributors', { token: key, body: { external_id: 'u-1', name: '张三' } });
  expect(res.statusCode).toBe(201);
});
afterAll(async () => {
  await t?.close();
});

interface Case {
  name: string;
  method: string;
  url: string;
  body?: unknown;
  rawBody?: string;
  auth?: boolean;
  headers?: Record<string, string>;
  status: number;
  code: string;
  en: RegExp;
  zh: RegExp;
}

const cases: Case[] = [
  { name: 'no credentials', method: 'GET', url: '/v1/program', auth: false, status: 401, code: 'unauthorized', en: /^missing credentials/, zh: /^缺少凭据/ },
  {
    name: 'an unknown distributor',
    method: 'GET',
    url: '/v1/distributors/dst_nothing',
    status: 404,
    code: 'not_found',
    en: /^distributor not found$/,
    zh: /^分销员不存在$/,
  },
  {
    name: 'no such route',
    method: 'GET',
    url: '/v1/no-such-thing',
    status: 404,
    code: 'not_found',
    en: /^no route GET \/v1\/no-such-thing$/,
    zh: /^没有这个接口/,
  },
  {
    name: 'an unknown field',
    method: 'POST',
    url: '/v1/distributors',
    body: { external_id: 'u-2', name: 'x', colour: 'red' },
    status: 400,
    code: 'invalid_request',
    en: /^body: unknown field "colour"$/,
    zh: /^请求体：未知字段 "colour"$/,
  },
  {
    name: 'a missing field',
    method: 'POST',
    url: '/v1/distributors',
    body: { name: 'x' },
    status: 400,
    code: 'invalid_request',
    en: /missing field "external_id"/,
    zh: /^请求体：缺少字段 "external_id"$/,
  },
  {
    name: 'a wrong type',
    method: 'POST',
    url: '/v1/orders',
    body: { external_id: 'o-1', buyer_external_id: 'b-1', items: [{ sku: 's', quantity: 'two', unit_price_fen: 100, paid_fen: 100 }] },
    status: 400,
    code: 'invalid_request',
    en: /quantity must be integer/,
    zh: /^请求体 items\/0\/quantity 应为整数$/,
  },
  {
    name: 'a value out of range',
    method: 'POST',
    url: '/v1/orders',
    body: { external_id: 'o-1', buyer_external_id: 'b-1', items: [{ sku: 's', quantity: 0, unit_price_fen: 100, paid_fen: 100 }] },
    status: 400,
    code: 'invalid_request',
    en: /quantity must be >= 1/,
    zh: /^请求体 items\/0\/quantity 不能小于 1$/,
  },
  {
    name: 'a body that is not JSON',
    method: 'POST',
    url: '/v1/distributors',
    rawBody: '{"external_id":',
    status: 400,
    code: 'invalid_request',
    en: /not valid JSON/,
    zh: /不是有效的 JSON/,
  },
  {
    name: 'a taken external_id',
    method: 'POST',
    url: '/v1/distributors',
    body: { external_id: 'u-1', name: '张三' },
    status: 409,
    code: 'conflict',
    en: /external_id exists/,
    zh: /已存在此 external_id 的分销员/,
  },
  {
    name: 'an unknown referrer code',
    method: 'POST',
    url: '/v1/distributors',
    body: { external_id: 'u-3', name: '李四', referrer_code: 'NOPE0000' },
    status: 400,
    code: 'invalid_request',
    en: /^unknown referrer_code$/,
    zh: /^未知的推荐码/,
  },
  {
    name: 'more than three levels',
    method: 'PUT',
    url: '/v1/program',
    body: { levels: 4 },
    status: 422,
    code: 'compliance_violation',
    en: /levels 4 exceeds 3/,
    zh: /^违反合规规则：分润层级不超过三级$/,
  },
];

describe('error messages follow Accept-Language; status and code do not', () => {
  it.each(cases)('$name', async (c) => {
    const send = (headers: Record<string, string>) =>
      t.call(c.method, c.url, {
        token: c.auth === false ? undefined : key,
        ...(c.body !== undefined ? { body: c.body } : {}),
        ...(c.rawBody !== undefined ? { rawBody: c.rawBody, headers: { 'content-type': 'application/json', ...headers } } : { headers }),
      });
    const en = await send({});
    const enExplicit = await send({ 'accept-language': 'en-US,en;q=0.9' });
    const zh = await send({ 'accept-language': 'zh-CN,zh;q=0.9,en;q=0.8' });
    for (const res of [en, enExplicit, zh]) {
      expect(res.statusCode, res.body).toBe(c.status);
      expect(res.data.error.code).toBe(c.code);
      expect(Object.keys(res.data.error).sort()).toEqual(['code', 'message']);
    }
    expect(en.data.error.message).toMatch(c.en);
    expect(en.data.error.message).not.toMatch(HAN);
    expect(enExplicit.data.error.message).toBe(en.data.error.message);
    expect(zh.data.error.message).toMatch(c.zh);
    expect(zh.headers['content-language']).toBe('zh-CN');
    expect(en.headers['content-language']).toBe('en');
    expect(String(zh.headers.vary)).toMatch(/accept-language/i);
  });

  it('honours the weights: zh preferred over en by q, zh refused by q=0', async () => {
    const ask = async (al: string) =>
      (await t.call('GET', '/v1/distributors/dst_nothing', { token: key, headers: { 'accept-language': al } })).data.error.message;
    expect(await ask('en;q=0.5, zh-CN;q=0.8')).toBe('分销员不存在');
    expect(await ask('zh-Hans')).toBe('分销员不存在');
    expect(await ask('zh')).toBe('分销员不存在');
    expect(await ask('fr-FR, zh;q=0.2')).toBe('分销员不存在');
    expect(await ask('zh;q=0, en')).toBe('distributor not found');
    expect(await ask('en-GB, zh-CN;q=0.7')).toBe('distributor not found');
    expect(await ask('de')).toBe('distributor not found');
  });

  it('says a message thrown by a module in Chinese, with its details in place (no English left in it)', async () => {
    const order = await t.call('POST', '/v1/orders', {
      token: key,
      body: { external_id: 'o-lang', buyer_external_id: 'b-lang', items: [{ sku: 's', quantity: 1, unit_price_fen: 1000, paid_fen: 1000 }] },
    });
    expect(order.statusCode).toBe(201);
    const refund = (body: Record<string, unknown>, headers: Record<string, string>) =>
      t.call('POST', '/v1/orders/o-lang/events', { token: key, body, headers });
    const en = await refund({ type: 'refunded' }, {});
    const zh = await refund({ type: 'refunded' }, { 'accept-language': 'zh-CN' });
    expect(en.statusCode).toBe(400);
    expect(zh.statusCode).toBe(400);
    expect(zh.data.error.code).toBe(en.data.error.code);
    expect(en.data.error.message).toBe('refunded needs refund_fen (or items)');
    expect(zh.data.error.message).toBe('refunded 事件须给出 refund_fen（或 items）');
    const tooMuch = await refund({ type: 'refunded', refund_fen: 5000 }, { 'accept-language': 'zh-CN' });
    expect(tooMuch.statusCode, tooMuch.body).toBe(400);
    expect(tooMuch.data.error.message).toBe('refund_fen 5000 超出仍已支付的金额（1000 分）');
    const cancelled = await t.call('POST', '/v1/orders/o-lang/events', { token: key, body: { type: 'cancelled' } });
    expect(cancelled.statusCode, cancelled.body).toBeLessThan(300);
    const afterCancel = await refund({ type: 'shipped' }, { 'accept-language': 'zh-CN' });
    expect(afterCancel.statusCode, afterCancel.body).toBe(409);
    expect(afterCancel.data.error.message).toMatch(/^状态为已取消的订单不能标记为已发货$/);
  });
});

/**
 * A schema violation answered to a Chinese client in Chinese: one request per validation keyword
 * the API's request schemas use (the last test checks that the list covers every keyword and
 * format the served OpenAPI document holds), each checked for English words beyond the field
 * path, a field named in quotes and the codes a field allows.
 */
interface KeywordCase {
  keyword: string;
  method: string;
  url: string;
  body?: unknown;
  headers?: Record<string, string>;
  /** The Chinese message, whole. */
  zh: string;
  /** The English message, whole. */
  en: string;
  /** Codes the message may name (an enumeration's values). */
  allowed?: string[];
}

const order = (item: Record<string, unknown>, more: Record<string, unknown> = {}) => ({
  external_id: 'o-kw',
  buyer_external_id: 'b-kw',
  items: [{ sku: 's', quantity: 1, unit_price_fen: 100, paid_fen: 100, ...item }],
  ...more,
});

const keywordCases: KeywordCase[] = [
  {
    keyword: 'type',
    method: 'POST',
    url: '/v1/orders',
    body: order({ quantity: 'two' }),
    en: 'body/items/0/quantity must be integer',
    zh: '请求体 items/0/quantity 应为整数',
  },
  {
    keyword: 'minimum',
    method: 'POST',
    url: '/v1/orders',
    body: order({ quantity: 0 }),
    en: 'body/items/0/quantity must be >= 1',
    zh: '请求体 items/0/quantity 不能小于 1',
  },
  {
    keyword: 'maximum',
    method: 'PUT',
    url: '/v1/grades/default',
    body: { name: '普通', rank: 0, sales_bp: 10001, override_bp: [] },
    en: 'body/sales_bp must be <= 10000',
    zh: '请求体 sales_bp 不能大于 10000',
  },
  { keyword: 'required', method: 'POST', url: '/v1/api-keys', body: {}, en: 'body: missing field "name"', zh: '请求体：缺少字段 "name"' },
  {
    keyword: 'additionalProperties',
    method: 'PUT',
    url: '/v1/program',
    body: { withdrawal: { min_fen: 100, colour: 'red' } },
    en: 'body/withdrawal: unknown field "colour"',
    zh: '请求体 withdrawal：未知字段 "colour"',
  },
  {
    keyword: 'minLength',
    method: 'POST',
    url: '/v1/distributors',
    body: { external_id: 'u-kw', name: '' },
    en: 'body/name must NOT have fewer than 1 characters',
    zh: '请求体 name 不能为空',
  },
  {
    keyword: 'maxLength',
    method: 'POST',
    url: '/v1/distributors',
    body: { external_id: 'u-kw', name: '长'.repeat(129) },
    en: 'body/name must NOT have more than 128 characters',
    zh: '请求体 name 长度不能超过 128 个字符',
  },
  {
    keyword: 'x-no-bidi',
    method: 'POST',
    url: '/v1/distributors',
    body: { external_id: 'u-kw', name: '张三\u202e' },
    en: 'body/name must not contain bidirectional control characters (U+202A-U+202E, U+2066-U+2069, U+200E, U+200F, U+061C): they reorder what screens show',
    zh: '请求体 name 不能包含双向控制字符（U+202A–U+202E、U+2066–U+2069、U+200E、U+200F、U+061C）：它们会打乱屏幕上的显示顺序',
  },
  {
    keyword: 'pattern',
    method: 'POST',
    url: '/v1/distributors',
    body: { external_id: 'u-kw', name: '张三', phone: 'call me' },
    en: 'body/phone must match pattern "^\\+?[0-9][0-9 -]{3,18}[0-9]$"',
    zh: '请求体 phone 格式不正确',
  },
  {
    keyword: 'anyOf',
    method: 'POST',
    url: '/v1/api-keys',
    body: { name: 'k', scope: 'write' },
    en: 'body/scope must be one of: full, read, orders',
    zh: '请求体 scope 应为以下之一：full、read、orders',
    allowed: ['full', 'read', 'orders'],
  },
  {
    keyword: 'anyOf in the query',
    method: 'GET',
    url: '/v1/orders?status=lost',
    en: 'querystring/status must be one of: pending_payment, paid, shipped, received, completed, cancelled, refunded, closed',
    zh: '查询参数 status 应为以下之一：pending_payment、paid、shipped、received、completed、cancelled、refunded、closed',
    allowed: ['pending_payment', 'paid', 'shipped', 'received', 'completed', 'cancelled', 'refunded', 'closed'],
  },
  {
    keyword: 'minItems',
    method: 'POST',
    url: '/v1/orders',
    body: { external_id: 'o-kw', buyer_external_id: 'b-kw', items: [] },
    en: 'body/items must NOT have fewer than 1 items',
    zh: '请求体 items 不能为空，至少需要 1 项',
  },
  {
    keyword: 'maxItems',
    method: 'PUT',
    url: '/v1/grades/default',
    body: { name: '普通', rank: 0, sales_bp: 0, override_bp: [1, 2, 3, 4] },
    en: 'body/override_bp must NOT have more than 3 items',
    zh: '请求体 override_bp 不能超过 3 项',
  },
  {
    keyword: 'uniqueItems',
    method: 'POST',
    url: '/v1/pilots',
    body: { name: '试点', cohort: { grades: ['gold', 'gold'] }, program: { levels: 1 } },
    en: 'body/cohort/grades must NOT have duplicate items (items ## 1 and 0 are identical)',
    zh: '请求体 cohort/grades 不能有重复项（第 0 项与第 1 项相同）',
  },
  {
    keyword: 'maxProperties',
    method: 'POST',
    url: '/v1/rules/simulate',
    body: { changes: { grades: Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`g${i}`, { sales_bp: 1 }])) } },
    en: 'body/changes/grades must NOT have more than 100 properties',
    zh: '请求体 changes/grades 不能超过 100 个字段',
  },
  {
    keyword: 'format:date-time',
    method: 'POST',
    url: '/v1/orders',
    body: order({}, { paid_at: 'yesterday' }),
    en: 'body/paid_at must match format "date-time"',
    zh: '请求体 paid_at 应为 ISO 8601 日期时间（例如 2026-03-01T08:00:00+08:00，年份在 1900 到 9999 之间）',
  },
  {
    keyword: 'format:date-time in the query',
    method: 'GET',
    url: '/v1/orders?from=yesterday',
    en: 'querystring/from must match format "date-time"',
    zh: '查询参数 from 应为 ISO 8601 日期时间（例如 2026-03-01T08:00:00+08:00，年份在 1900 到 9999 之间）',
  },
  {
    keyword: 'format:time-zone',
    method: 'PUT',
    url: '/v1/program',
    body: { timezone: 'Mars/Olympus_Mons' },
    en: 'body/timezone must match format "time-zone"',
    zh: '请求体 timezone 应为有效的时区名称（IANA 时区数据库中的名称，例如 Asia/Shanghai）',
  },
];

describe('a validation error answered in Chinese has no English in it', () => {
  it.each(keywordCases)('$keyword', async (c) => {
    const send = (lang: string) =>
      t.call(c.method, c.url, { token: key, ...(c.body !== undefined ? { body: c.body } : {}), headers: { 'accept-language': lang, ...c.headers } });
    const [zh, en] = [await send('zh-CN'), await send('en')];
    for (const res of [zh, en]) {
      expect(res.statusCode, res.body).toBe(400);
      expect(res.data.error.code).toBe('invalid_request');
    }
    expect(en.data.error.message).toBe(c.en);
    expect(zh.data.error.message).toBe(c.zh);
    // The field path (the English message's location) and the allowed codes are all the Latin a Chinese answer holds.
    const location = c.en.split(/[: ]/)[0] ?? '';
    expect(englishWords(zh.data.error.message, [location, ...(c.allowed ?? [])]), zh.data.error.message).toEqual([]);
  });

  it('has a case for every validation keyword and format of the request schemas the server publishes', async () => {
    const doc = (await t.call('GET', '/openapi.json')).data as {
      paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema?: unknown }> }; parameters?: { schema?: unknown }[] }>>;
      components?: { schemas?: Record<string, unknown> };
    };
    // Keywords that validate (Ajv's and Fenxiao's own); the rest (description, default…) only describe.
    const VALIDATING = new Set([
      'type',
      'required',
      'additionalProperties',
      'minLength',
      'maxLength',
      'pattern',
      'format',
      'enum',
      'const',
      'anyOf',
      'oneOf',
      'allOf',
      'not',
      'minimum',
      'maximum',
      'exclusiveMinimum',
      'exclusiveMaximum',
      'multipleOf',
      'minItems',
      'maxItems',
      'uniqueItems',
      'contains',
      'minProperties',
      'maxProperties',
      'propertyNames',
      'dependentRequired',
      'if',
      'x-no-bidi',
    ]);
    const used = new Set<string>();
    const walk = (node: unknown): void => {
      if (Array.isArray(node)) return node.forEach(walk);
      if (node === null || typeof node !== 'object') return;
      for (const [k, v] of Object.entries(node)) {
        if (k === 'properties' || k === 'patternProperties') Object.values(v as object).forEach(walk);
        else {
          if (VALIDATING.has(k)) used.add(k === 'format' ? `format:${String(v)}` : k);
          if (k === '$ref') walk(doc.components?.schemas?.[String(v).split('/').pop() ?? '']);
          else walk(v);
        }
      }
    };
    for (const ops of Object.values(doc.paths))
      for (const op of Object.values(ops)) {
        for (const c of Object.values(op.requestBody?.content ?? {})) walk(c.schema);
        for (const p of op.parameters ?? []) walk(p.schema);
      }
    // A union of literals is published as anyOf of one-value enums: its case is the anyOf one.
    const covered = new Set(keywordCases.map((c) => c.keyword.split(' ')[0] ?? '').concat(['enum', 'const']));
    expect(used.size).toBeGreaterThan(10);
    expect([...used].filter((k) => !covered.has(k)).sort()).toEqual([]);
  });
});

/**
 * Every operation of the served OpenAPI document, sent what its schema refuses: an unknown field, a
 * wrong type for each body field, a text one character too long, an integer far out of range, and
 * each query parameter as an object or as a 30-digit number, with Path ids made up. Whatever answers
 * 4xx in Chinese (a schema violation, or a refusal of the route itself) may name fields, parameters
 * and the codes the document lists, and nothing else in Latin letters.
 */
describe('every operation refusing bad input answers a Chinese client in Chinese', () => {
  it('has no English words in any Chinese 4xx answer', { timeout: 300_000 }, async () => {
    type Node = Record<string, unknown>;
    const doc = (await t.call('GET', '/openapi.json')).data as {
      paths: Record<string, Record<string, { requestBody?: { content?: Record<string, { schema?: Node }> }; parameters?: { in: string; name: string }[] }>>;
      components: { schemas: Record<string, Node> };
    };
    const deref = (s: Node | undefined): Node => (s && typeof s.$ref === 'string' ? (doc.components.schemas[s.$ref.split('/').pop()!] ?? {}) : (s ?? {}));
    // The names a message may use: every field and parameter name and every code the document lists.
    const names = new Set<string>();
    const collect = (node: unknown): void => {
      if (Array.isArray(node)) return node.forEach(collect);
      if (node === null || typeof node !== 'object') return;
      for (const [k, v] of Object.entries(node)) {
        if (k === 'properties') Object.keys(v as object).forEach((n) => names.add(n));
        if ((k === 'enum' && Array.isArray(v)) || k === 'const') [v].flat().forEach((x) => names.add(String(x)));
        if (k === 'name' && typeof v === 'string') names.add(v);
        collect(v);
      }
    };
    collect(doc);
    // Rendering, whole-ledger and password routes cost seconds a call and refuse the same way.
    const SLOW = /poster|\/exports\/|verify|login|password|\/apply|qrcode/;
    const found: string[] = [];
    let refused = 0;
    for (const [route, ops] of Object.entries(doc.paths)) {
      if (SLOW.test(route)) continue;
      const url = route.replace(/\{[^}]+\}/g, 'x1');
      for (const [method, op] of Object.entries(ops)) {
        const schema = deref(op.requestBody?.content?.['application/json']?.schema);
        const properties = (schema.properties ?? {}) as Record<string, Node>;
        const requests: { body?: unknown; query?: string }[] = [];
        if (schema.properties) {
          requests.push({ body: { not_a_field: 1 } });
          for (const [name, p] of Object.entries(properties)) {
            const d = deref(p);
            requests.push({ body: { [name]: d.type === 'string' ? 12 : 'wrong' } });
            if (d.type === 'string' && typeof d.maxLength === 'number') requests.push({ body: { [name]: 'x'.repeat(d.maxLength + 1) } });
            if (d.type === 'integer') requests.push({ body: { [name]: -1e15 } });
          }
        }
        for (const p of op.parameters ?? [])
          if (p.in === 'query')
            requests.push({ query: `${p.name}=%7B%7D`, ...(schema.properties ? { body: {} } : {}) }, { query: `${p.name}=${'9'.repeat(30)}` });
        for (const r of requests) {
          const res = await t.call(method.toUpperCase(), r.query ? `${url}?${r.query}` : url, {
            token: key,
            ...(r.body !== undefined ? { body: r.body } : {}),
            headers: { 'accept-language': 'zh-CN' },
          });
          if (res.statusCode < 400) continue;
          expect(res.statusCode, `${method} ${url}: ${res.body}`).toBeLessThan(500);
          refused++;
          const message = String(res.data.error.message);
          const english = englishWords(message, [...names]);
          if (english.length > 0) found.push(`${method.toUpperCase()} ${url}${r.query ? `?${r.query}` : ''}: ${message} [${english.join(', ')}]`);
        }
      }
    }
    expect(refused).toBeGreaterThan(400);
    expect(found).toEqual([]);
  });
});

describe('a refusal carrying a detail from below says the detail in Chinese too', () => {
  it('a Kuaidi100 push whose param is not JSON', async () => {
    const push = (lang: string) =>
      t.call('POST', `/v1/logistics/${tenantId}/kuaidi100`, {
        rawBody: new URLSearchParams({ param: '{not json', sign: 'X' }).toString(),
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'accept-language': lang },
      });
    const [en, zh] = [await push('en'), await push('zh-CN')];
    expect(en.statusCode, en.body).toBe(401);
    expect(en.data.error.message).toBe('tracking push refused: param is not JSON');
    expect(zh.data.error).toEqual({ code: 'unauthorized', message: '物流推送被拒绝：param 不是 JSON' });
  });

  it('a tracking push whose signature headers are missing', async () => {
    expect((await t.call('POST', '/v1/logistics/secret', { token: key })).statusCode).toBeLessThan(300);
    const push = (lang: string) =>
      t.call('POST', `/v1/logistics/${tenantId}/generic`, {
        rawBody: JSON.stringify({ event_id: 'e1', tracking_number: 'YT1', status: 'signed' }),
        headers: { 'content-type': 'application/json', 'accept-language': lang },
      });
    const [en, zh] = [await push('en'), await push('zh-CN')];
    expect(en.statusCode, en.body).toBe(401);
    expect(en.data.error.message).toBe('tracking push refused: missing or malformed X-Fenxiao-Timestamp');
    expect(zh.data.error.message).toBe('物流推送被拒绝：缺少 X-Fenxiao-Timestamp 请求头或其格式错误');
  });

  it('a purchase payment callback whose body breaks its schema', async () => {
    const secret = (await t.call('POST', '/v1/webhooks/secret', { token: key, body: { format: 'generic' } })).data.secret as string;
    const raw = JSON.stringify({ purchase_order_id: 'apo_x', reference: 'WX-1', amount_fen: -1 });
    const ts = String(Math.floor(t.clock.now().getTime() / 1000));
    const sig = createHmac('sha256', secret).update(`${ts}.${raw}`).digest('hex');
    const pay = (lang: string) =>
      t.call('POST', `/v1/webhooks/${tenantId}/purchase-payments`, {
        rawBody: raw,
        headers: { 'content-type': 'application/json', 'x-fenxiao-timestamp': ts, 'x-fenxiao-signature': `v1=${sig}`, 'accept-language': lang },
      });
    const [en, zh] = [await pay('en'), await pay('zh-CN')];
    expect(en.statusCode, en.body).toBe(400);
    expect(en.data.error.message).toMatch(/^body\/amount_fen must be >= \d+$/);
    expect(zh.data.error.message).toMatch(/^请求体 amount_fen 不能小于 \d+$/);
  });
});

describe('a background job that failed says why in the reader\u2019s language', () => {
  it('a settlement job whose process stopped: English and Chinese', async () => {
    // A job left running by a process that died an hour ago (its jobs registry, not the server's).
    const hourAgo = { now: () => new Date(t.clock.now().getTime() - 3_600_000) };
    const gone = createJobs({ db: t.database.db, clock: hourAgo });
    const { job, run } = await gone.create({
      id: `job_${ulid()}`,
      tenantId,
      kind: 'settlement',
      status: 'running',
      params: { as_of: '2026-03-01T00:00:00.000Z' },
    });
    run.release();
    const read = (lang: string) => t.call('GET', `/v1/settlements/jobs/${job.id}`, { token: key, headers: { 'accept-language': lang } });
    const en = await read('en');
    const zh = await read('zh-CN');
    expect(en.statusCode, en.body).toBe(200);
    expect(en.data).toMatchObject({ status: 'failed', error: { code: 'internal_error', message: 'the process running this job stopped before it finished' } });
    expect(zh.data).toMatchObject({ status: 'failed', error: { code: 'internal_error', message: '运行此任务的进程在任务完成前停止了' } });
    expect(Object.keys(zh.data.error).sort()).toEqual(['code', 'message']);
    expect(englishWords(zh.data.error.message)).toEqual([]);
  });
});
