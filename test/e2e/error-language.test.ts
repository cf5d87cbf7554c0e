/**
 * Error messages in the caller's language (issue 16 item 8): Chinese for Accept-Language zh-CN
 * (and zh, zh-Hans…, weights honoured), English otherwise; the status and `code` never change
 * with the language (CONTRACT.md).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.ts';

const HAN = /\p{Script=Han}/u;

let t: TestServer;
let key: string;
beforeAll(async () => {
  t = await startTestServer();
  ({ key } = await t.tenant('语言商户'));
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
    zh: /^body：未知字段 "colour"$/,
  },
  {
    name: 'a missing field',
    method: 'POST',
    url: '/v1/distributors',
    body: { name: 'x' },
    status: 400,
    code: 'invalid_request',
    en: /missing field "external_id"/,
    zh: /缺少字段 "external_id"/,
  },
  {
    name: 'a wrong type',
    method: 'POST',
    url: '/v1/orders',
    body: { external_id: 'o-1', buyer_external_id: 'b-1', items: [{ sku: 's', quantity: 'two', unit_price_fen: 100, paid_fen: 100 }] },
    status: 400,
    code: 'invalid_request',
    en: /quantity must be integer/,
    zh: /quantity 应为整数/,
  },
  {
    name: 'a value out of range',
    method: 'POST',
    url: '/v1/orders',
    body: { external_id: 'o-1', buyer_external_id: 'b-1', items: [{ sku: 's', quantity: 0, unit_price_fen: 100, paid_fen: 100 }] },
    status: 400,
    code: 'invalid_request',
    en: /quantity must be >= 1/,
    zh: /quantity 应不小于 1/,
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
