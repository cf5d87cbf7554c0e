/**
 * Orders and events from a message queue, exactly once on at-least-once delivery: on the
 * in-process queue always, and on the real RabbitMQ when AMQP_URL is set (CI sets it on the
 * PostgreSQL run). The same scenarios run on both: duplicates, a consumer killed in the middle of
 * a batch and started again, poison messages dead-lettered with their reasons, an event that
 * arrives before its order.
 */
import { createHmac } from 'node:crypto';
import net from 'node:net';
import amqp from 'amqplib';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.ts';
import { verifyLedger } from '../../src/modules/ledger/verify.ts';
import { createMemorySource, type MemorySource } from '../../src/adapters/broker/memory.ts';
import { createAmqpSource } from '../../src/adapters/broker/amqp.ts';
import type { MessageHandler, OrderEventSource } from '../../src/adapters/broker/types.ts';
import { createOrderConsumer, createOrderMessageHandler } from '../../src/modules/ingest/consumer.ts';
import type { JsonBody } from '../support/json.ts';

const AMQP_URL = process.env.AMQP_URL;
const silent = { info() {}, warn() {}, error() {} };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let t: TestServer;
let memory: MemorySource;
beforeAll(async () => {
  memory = createMemorySource({ prefetch: 8, maxAttempts: 5, retryDelayMs: () => 20 });
  t = await startTestServer({ overrides: { orderSource: memory } });
});
afterAll(async () => {
  await t?.close();
});

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

interface Merchant {
  tenantId: string;
  key: string;
  a: { id: string };
  b: { id: string; invite_code: string };
}

async function merchant(): Promise<Merchant> {
  const { id: tenantId, key } = await t.tenant('队列商户');
  await t.call('PUT', '/v1/program', { token: key, body: { levels: 2 } });
  await t.call('PUT', '/v1/grades/default', { token: key, body: { name: '普通', rank: 0, sales_bp: 1000, override_bp: [500] } });
  const a = (await t.call('POST', '/v1/distributors', { token: key, body: { external_id: 'A', name: 'A' } })).data;
  const b = (await t.call('POST', '/v1/distributors', { token: key, body: { external_id: 'B', name: 'B', referrer_code: a.invite_code } })).data;
  return { tenantId, key, a, b };
}

const orderMessage = (m: Merchant, i: number) => ({
  tenant_id: m.tenantId,
  type: 'order',
  body: {
    external_id: `q-${i}`,
    buyer_external_id: `buyer-${i % 7}`,
    invite_code: m.b.invite_code,
    items: [{ sku: 'tea', quantity: 1, unit_price_fen: 10_000 + i, paid_fen: 10_000 + i }],
  },
});

function handler(signed = false): MessageHandler {
  return createOrderMessageHandler({ orders: t.services.orders, ingest: t.services.ingest, signed, log: silent });
}

/** Every order of the tenant with its events and accrual journals counted: each must be 1. */
async function counts(tenantId: string) {
  const orders = await t.database.db
    .selectFrom('orders')
    .select(['external_id', 'status', 'refunded_fen', 'paid_fen'])
    .where('tenant_id', '=', tenantId)
    .execute();
  const events = await sql<{ external_id: string; type: string; n: number }>`
    select o.external_id, e.type, count(*)::int as n from order_events e join orders o on o.id = e.order_id
     where o.tenant_id = ${tenantId} group by 1, 2`.execute(t.database.db);
  const accruals = await sql<{ ref_id: string; n: number }>`
    select ref_id, count(*)::int as n from journal_entries where tenant_id = ${tenantId} and kind = 'accrue' group by 1`.execute(t.database.db);
  const refunds = await sql<{ n: number }>`select count(*)::int as n from journal_entries where tenant_id = ${tenantId} and kind = 'refund'`.execute(
    t.database.db,
  );
  return { orders, events: events.rows, accruals: accruals.rows, refundJournals: refunds.rows[0]!.n };
}

interface Broker {
  name: string;
  /** A source on a queue of this test run's own. */
  source(queue: string): OrderEventSource;
  /** Waits until the queue, its retries and the consumers hold nothing. */
  idle(queue: string, ...sources: OrderEventSource[]): Promise<void>;
  deadLetters(queue: string, source: OrderEventSource): Promise<{ reason: string; body: string }[]>;
  cleanup(queue: string): Promise<void>;
}

const memoryBroker = (): Broker => {
  const sources = new Map<string, MemorySource>();
  return {
    name: 'in-process queue',
    source(queue) {
      // The in-process queue lives in its source: "another consumer" is the same queue started again.
      let s = sources.get(queue);
      if (!s) sources.set(queue, (s = createMemorySource({ prefetch: 8, maxAttempts: 5, retryDelayMs: (attempt) => 20 * 2 ** attempt })));
      return s;
    },
    async idle(queue) {
      await until('the in-process queue to drain', async () => {
        const s = sources.get(queue)!;
        return s.depth() === 0 && s.stats().inFlight === 0;
      });
    },
    async deadLetters(queue) {
      return sources
        .get(queue)!
        .deadLetters()
        .map((d) => ({ reason: d.reason, body: d.message.content.toString('utf8') }));
    },
    async cleanup() {},
  };
};

const rabbitBroker = (url: string): Broker => ({
  name: 'RabbitMQ',
  source: (queue) => createAmqpSource({ url, queue, prefetch: 8, maxAttempts: 5, retryDelayMs: (attempt) => 50 * 2 ** attempt, reconnectDelayMs: () => 100 }),
  async idle(queue, ...sources) {
    const conn = await amqp.connect(url);
    try {
      const ch = await conn.createChannel();
      await until('the RabbitMQ queues to drain', async () => {
        const main = await ch.checkQueue(queue);
        const retry = await ch.checkQueue(`${queue}.retry`);
        return main.messageCount === 0 && retry.messageCount === 0 && main.consumerCount <= 1 && sources.every((s) => s.stats().inFlight === 0);
      });
    } finally {
      await conn.close();
    }
  },
  async deadLetters(queue) {
    const conn = await amqp.connect(url);
    const out: { reason: string; body: string }[] = [];
    try {
      const ch = await conn.createChannel();
      for (;;) {
        const msg = await ch.get(`${queue}.dead`, { noAck: true });
        if (msg === false) break;
        out.push({ reason: String(msg.properties.headers?.['x-fenxiao-dead-reason'] ?? ''), body: msg.content.toString('utf8') });
      }
    } finally {
      await conn.close();
    }
    return out;
  },
  async cleanup(queue) {
    const conn = await amqp.connect(url);
    try {
      const ch = await conn.createChannel();
      for (const q of [queue, `${queue}.retry`, `${queue}.dead`]) await ch.deleteQueue(q).catch(() => {});
    } finally {
      await conn.close().catch(() => {});
    }
  },
});

let queues = 0;
const queueName = () => `fenxiao.test.${process.pid}.${Date.now()}.${++queues}`;

function scenarios(makeBroker: () => Broker) {
  const broker = makeBroker();
  const used: string[] = [];
  const fresh = () => {
    const q = queueName();
    used.push(q);
    return q;
  };
  afterAll(async () => {
    for (const q of used) await broker.cleanup(q);
  });

  it('orders and events published twice are applied exactly once; the ledger verifies', async () => {
    const m = await merchant();
    const q = fresh();
    const source = broker.source(q);
    const consumer = createOrderConsumer(source, handler());
    await consumer.start();
    const n = 24;
    for (let i = 0; i < n; i++) {
      await source.publish(orderMessage(m, i));
      await source.publish(orderMessage(m, i));
    }
    await broker.idle(q, source);
    // Events once their orders are in: shipped for the even ones (no key: shipped happens once in
    // an order's life), a keyed refund for every third, each published twice.
    for (let i = 0; i < n; i++) {
      const events = [
        ...(i % 2 === 0 ? [{ tenant_id: m.tenantId, type: 'event', order_external_id: `q-${i}`, body: { type: 'shipped' } }] : []),
        ...(i % 3 === 0
          ? [
              {
                tenant_id: m.tenantId,
                type: 'event',
                order_external_id: `q-${i}`,
                idempotency_key: `refund-${i}`,
                body: { type: 'refunded', refund_fen: 1000 },
              },
            ]
          : []),
      ];
      for (const e of events) {
        await source.publish(e);
        await source.publish(e);
      }
    }
    // A refund keyed by the AMQP message id instead, published twice.
    await source.publish(
      { tenant_id: m.tenantId, type: 'event', order_external_id: 'q-1', body: { type: 'refunded', refund_fen: 500 } },
      { messageId: 'msg-refund-q1' },
    );
    await source.publish(
      { tenant_id: m.tenantId, type: 'event', order_external_id: 'q-1', body: { type: 'refunded', refund_fen: 500 } },
      { messageId: 'msg-refund-q1' },
    );
    await broker.idle(q, source);
    await consumer.stop();

    const c = await counts(m.tenantId);
    expect(c.orders.length).toBe(n);
    expect(c.accruals.length).toBe(n);
    expect(c.accruals.every((r) => r.n === 1)).toBe(true);
    expect(c.events.every((e) => e.n === 1)).toBe(true);
    expect(c.events.filter((e) => e.type === 'shipped').length).toBe(n / 2);
    expect(c.events.filter((e) => e.type === 'refunded').length).toBe(n / 3 + 1);
    expect(c.refundJournals).toBe(n / 3 + 1);
    const byId = new Map(c.orders.map((o) => [o.external_id, o]));
    for (let i = 0; i < n; i++) {
      const o = byId.get(`q-${i}`)!;
      expect([i, o.paid_fen, o.refunded_fen, o.status]).toEqual([i, 10_000 + i, i % 3 === 0 ? 1000 : i === 1 ? 500 : 0, i % 2 === 0 ? 'shipped' : 'paid']);
    }
    const one = (await t.call('GET', '/v1/orders/q-3', { token: m.key })).data;
    expect(one.commissions.map((l: JsonBody) => [l.beneficiary_id, l.level, l.base_fen, l.amount_fen]).sort()).toEqual(
      [
        [m.a.id, 1, 9003, 450],
        [m.b.id, 0, 9003, 900],
      ].sort(),
    );
    expect(await broker.deadLetters(q, source)).toEqual([]);
    expect((await verifyLedger(t.database.db, m.tenantId)).breaks).toEqual([]);
  });

  it('a consumer killed in the middle of a batch and started again: every order still exactly once', async () => {
    const m = await merchant();
    const q = fresh();
    const first = broker.source(q);
    const n = 30;
    for (let i = 0; i < n; i++) await first.publish(orderMessage(m, i));
    // The first consumer commits each order and then lingers before acknowledging it: killed
    // meanwhile, it leaves orders committed but never acknowledged, and messages not yet begun.
    const real = handler();
    let committed = 0;
    const slow: MessageHandler = async (msg) => {
      const d = await real(msg);
      committed++;
      await sleep(150);
      return d;
    };
    await first.start(slow);
    await until('a few orders to commit', async () => committed >= 6, 60_000);
    await first.abandon();
    const before = (await counts(m.tenantId)).orders.length;
    expect(before).toBeGreaterThan(0);
    expect(before).toBeLessThan(n);

    const second = broker.source(q);
    let redelivered = 0;
    const counting: MessageHandler = async (msg) => {
      if (msg.redelivered) redelivered++;
      return real(msg);
    };
    const consumer = createOrderConsumer(second, counting);
    await consumer.start();
    await broker.idle(q, first, second);
    await until("the killed consumer's handlers to end", async () => first.stats().inFlight === 0);
    await consumer.stop();

    expect(redelivered).toBeGreaterThan(0);
    const c = await counts(m.tenantId);
    expect(c.orders.length).toBe(n);
    expect(c.accruals.length).toBe(n);
    expect(c.accruals.every((r) => r.n === 1)).toBe(true);
    expect(c.events.every((e) => e.type === 'paid' && e.n === 1)).toBe(true);
    expect(await broker.deadLetters(q, second)).toEqual([]);
    expect((await verifyLedger(t.database.db, m.tenantId)).breaks).toEqual([]);
  });

  it('poison messages land in the dead-letter queue with their reason; the rest goes through', async () => {
    const m = await merchant();
    const q = fresh();
    const source = broker.source(q);
    const consumer = createOrderConsumer(source, handler());
    await consumer.start();
    await source.publish(orderMessage(m, 1));
    await source.publish(Buffer.from('{"tenant_id": "oops", '));
    await source.publish({ ...orderMessage(m, 2), body: { ...orderMessage(m, 2).body, items: [{ sku: 'tea', quantity: 0, unit_price_fen: 1, paid_fen: 1 }] } });
    await source.publish({ ...orderMessage(m, 3), extra: true });
    await source.publish({ ...orderMessage(m, 4), tenant_id: 'tnt_NOBODY' });
    await source.publish({ ...orderMessage(m, 1), body: { ...orderMessage(m, 1).body, items: [{ sku: 'tea', quantity: 2, unit_price_fen: 1, paid_fen: 2 }] } });
    await source.publish({ tenant_id: m.tenantId, type: 'event', order_external_id: 'q-5', body: { type: 'shipped' } });
    await source.publish(orderMessage(m, 6));
    await broker.idle(q, source);
    await source.publish({ tenant_id: m.tenantId, type: 'event', order_external_id: 'q-6', body: { type: 'refunded', refund_fen: 10 } });
    await source.publish({
      tenant_id: m.tenantId,
      type: 'event',
      order_external_id: 'q-6',
      idempotency_key: 'too-much',
      body: { type: 'refunded', refund_fen: 999_999 },
    });
    await broker.idle(q, source);
    await consumer.stop();

    const dead = (await broker.deadLetters(q, source)).map((d) => d.reason).sort();
    expect(dead).toEqual([
      'a refunded event needs an idempotency_key (or an AMQP message_id): without one a redelivery would refund twice',
      'conflict: an order with this external_id exists with a different body',
      'gave up after 5 attempts: order q-5 not found (yet)',
      'invalid_request: refund_fen 999999 exceeds what is still paid (10006)',
      'message/body/items/0/quantity must be >= 1',
      'message: unknown field "extra"',
      'no active tenant tnt_NOBODY',
      'the message is not JSON',
    ]);
    const c = await counts(m.tenantId);
    expect(c.orders.map((o) => o.external_id).sort()).toEqual(['q-1', 'q-6']);
    expect(c.refundJournals).toBe(0);
    expect((await verifyLedger(t.database.db, m.tenantId)).breaks).toEqual([]);
  });

  it('a graceful stop waits for the messages in flight and acknowledges them', async () => {
    const m = await merchant();
    const q = fresh();
    const source = broker.source(q);
    const real = handler();
    let finished = 0;
    const slow: MessageHandler = async (msg) => {
      await sleep(300);
      const d = await real(msg);
      finished++;
      return d;
    };
    for (let i = 0; i < 5; i++) await source.publish(orderMessage(m, i));
    await source.start(slow);
    await until('messages in flight', async () => source.stats().inFlight > 0);
    await source.stop();
    // Everything handed to the consumer finished before stop() returned, and was acknowledged:
    // nothing is left for the next consumer.
    expect(finished).toBe(source.stats().delivered);
    expect(source.stats().acked).toBe(finished);
    const next = broker.source(q);
    let redelivered = 0;
    await next.start(async (msg) => {
      if (msg.redelivered) redelivered++;
      return real(msg);
    });
    await broker.idle(q, next);
    await next.stop();
    expect(redelivered).toBe(0);
    expect((await counts(m.tenantId)).orders.length).toBe(5);
  });

  it('a message that finds the database away is put back for as long as that lasts, never dead-lettered', async () => {
    const m = await merchant();
    const q = fresh();
    const source = broker.source(q);
    // Away for more tries than maxAttempts (5) allows a retry: the sixth would have dead-lettered it.
    let away = 6;
    const orders: typeof t.services.orders = {
      ...t.services.orders,
      async create(...args) {
        if (away-- > 0) throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
        return t.services.orders.create(...args);
      },
    };
    const consumer = createOrderConsumer(source, createOrderMessageHandler({ orders, ingest: t.services.ingest, signed: false, log: silent }));
    await consumer.start();
    await source.publish(orderMessage(m, 0));
    await until('the order, once the database is back', async () => (await counts(m.tenantId)).orders.length === 1);
    await broker.idle(q, source);
    await consumer.stop();
    expect(source.stats().requeued).toBe(6);
    expect(source.stats().retried).toBe(0);
    expect(await broker.deadLetters(q, source)).toEqual([]);
  });

  it('an event that arrives before its order is retried until the order is there', async () => {
    const m = await merchant();
    const q = fresh();
    const source = broker.source(q);
    const consumer = createOrderConsumer(source, handler());
    await consumer.start();
    await source.publish({ tenant_id: m.tenantId, type: 'event', order_external_id: 'q-late', idempotency_key: 'ship-late', body: { type: 'shipped' } });
    // The order is published once the event has failed for want of it, and is retrying.
    await until('the event to be retried', async () => source.stats().retried > 0);
    await source.publish({ ...orderMessage(m, 0), body: { ...orderMessage(m, 0).body, external_id: 'q-late' } });
    await until('the late order to be shipped', async () => (await t.call('GET', '/v1/orders/q-late', { token: m.key })).data?.status === 'shipped');
    await broker.idle(q, source);
    await consumer.stop();
    expect(source.stats().retried).toBeGreaterThan(0);
    expect(await broker.deadLetters(q, source)).toEqual([]);
  });
}

describe('the in-process queue', () => {
  scenarios(memoryBroker);

  it("signed mode: a message must carry the HMAC of its body under the tenant's generic secret", async () => {
    const m = await merchant();
    const secret = (await t.call('POST', '/v1/webhooks/secret', { token: m.key, body: { format: 'generic' } })).data.secret as string;
    const source = createMemorySource({ retryDelayMs: () => 10 });
    const consumer = createOrderConsumer(source, handler(true));
    await consumer.start();
    const good = Buffer.from(JSON.stringify(orderMessage(m, 1)));
    const sign = (s: string, b: Buffer) => `v1=${createHmac('sha256', s).update(b).digest('hex')}`;
    await source.publish(good, { headers: { 'x-fenxiao-signature': sign(secret, good) } });
    const other = Buffer.from(JSON.stringify(orderMessage(m, 2)));
    await source.publish(other, { headers: { 'x-fenxiao-signature': sign('not-the-secret', other) } });
    await source.publish(Buffer.from(JSON.stringify(orderMessage(m, 3))));
    await source.drained();
    await consumer.stop();
    expect(
      source
        .deadLetters()
        .map((d) => d.reason)
        .sort(),
    ).toEqual(['signature: missing x-fenxiao-signature header', 'signature: signature does not match']);
    expect((await counts(m.tenantId)).orders.map((o) => o.external_id)).toEqual(['q-1']);
  });

  it("is the server's default source: started with it, stopped by its close after messages in flight", async () => {
    const m = await merchant();
    expect(t.orderConsumer.source).toBe(memory);
    await t.orderConsumer.start();
    for (let i = 0; i < 5; i++) await memory.publish(orderMessage(m, i));
    await memory.drained();
    expect((await counts(m.tenantId)).orders.length).toBe(5);
    await t.orderConsumer.stop();
  });
});

describe.skipIf(!AMQP_URL)('RabbitMQ (needs AMQP_URL: a running broker)', () => {
  scenarios(() => rabbitBroker(AMQP_URL!));

  it('reconnects after the connection drops (through a TCP proxy that cuts it), and goes on', async () => {
    const m = await merchant();
    const queue = queueName();
    const target = new URL(AMQP_URL!);
    const sockets = new Set<net.Socket>();
    const proxy = net.createServer((client) => {
      const upstream = net.connect(Number(target.port || 5672), target.hostname);
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.on('error', () => {});
        s.on('close', () => sockets.delete(s));
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', () => r()));
    const proxied = new URL(AMQP_URL!);
    proxied.hostname = '127.0.0.1';
    proxied.port = String((proxy.address() as net.AddressInfo).port);
    const consumerSource = createAmqpSource({ url: proxied.toString(), queue, prefetch: 4, reconnectDelayMs: () => 100, retryDelayMs: () => 50 });
    const publisher = createAmqpSource({ url: AMQP_URL!, queue });
    try {
      await consumerSource.start(handler());
      for (let i = 0; i < 3; i++) await publisher.publish(orderMessage(m, i));
      await until('the first orders', async () => (await counts(m.tenantId)).orders.length === 3);
      for (const s of sockets) s.destroy();
      for (let i = 3; i < 6; i++) await publisher.publish(orderMessage(m, i));
      await until('the orders after the reconnect', async () => (await counts(m.tenantId)).orders.length === 6);
      expect(sockets.size).toBeGreaterThan(0);
    } finally {
      await consumerSource.stop();
      await publisher.stop();
      await new Promise<void>((r) => proxy.close(() => r()));
      await rabbitBroker(AMQP_URL!).cleanup(queue);
    }
  });

  it('the server consumes the configured queue when AMQP_URL is set, and stops with it', async () => {
    const queue = queueName();
    const s = await startTestServer({ env: { AMQP_URL: AMQP_URL!, FENXIAO_AMQP_QUEUE: queue } });
    try {
      const { id: tenantId, key } = await s.tenant('经由服务器');
      expect(s.orderConsumer.source.kind).toBe('amqp');
      await s.orderConsumer.start();
      await s.orderConsumer.source.publish({
        tenant_id: tenantId,
        type: 'order',
        body: { external_id: 'srv-1', buyer_external_id: 'u', items: [{ sku: 's', quantity: 1, unit_price_fen: 100, paid_fen: 100 }] },
      });
      await until('the order', async () => (await s.call('GET', '/v1/orders/srv-1', { token: key })).statusCode === 200);
    } finally {
      await s.close();
      await rabbitBroker(AMQP_URL!).cleanup(queue);
    }
  });
});
