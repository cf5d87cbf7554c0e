import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AlipaySimulator } from '../../../test/support/providers/alipay-server.ts';
import { alipayCertSn, generateRsaKeyPair } from '../../../test/support/providers/pki.ts';
import { alipayNotifySignContent, alipayStatusOutcome, beijingTimestamp, createAlipayChannel, type AlipayChannel, type AlipayConfig } from './alipay.ts';
import { CallbackRejected, type PayoutRequest } from './types.ts';

const APP_ID = '2021000000000001';
const appKey = generateRsaKeyPair();
let sim: AlipaySimulator;
let appCert = '';
let channel: AlipayChannel;
let seq = 0;

function outNo(): string {
  seq += 1;
  return `AP${Date.now()}${String(seq).padStart(4, '0')}`;
}

function request(no: string, over: Partial<PayoutRequest> = {}): PayoutRequest {
  return {
    outNo: no,
    amountFen: 12_345,
    remark: '佣金提现',
    account: { channel: 'alipay', identity: '2088123412341234', identityType: 'ALIPAY_USER_ID', name: '张三' },
    ...over,
  };
}

function config(over: Partial<AlipayConfig> = {}): AlipayConfig {
  return {
    appId: APP_ID,
    privateKey: appKey.privateKeyPem,
    appCert,
    alipayPublicCert: sim.alipayPublicCertPem,
    alipayRootCert: sim.rootCertBundlePem,
    gateway: sim.gatewayUrl,
    // Generous for a loaded CI machine; the timeout tests use their own short-fused channel.
    timeoutMs: 5_000,
    ...over,
  };
}

beforeAll(async () => {
  sim = await AlipaySimulator.start({ appId: APP_ID });
  appCert = sim.issueAppCert(appKey.privateKeyPem);
  channel = createAlipayChannel(config());
});

afterAll(async () => {
  await sim.close();
});

afterEach(() => {
  sim.behave('*', {});
});

describe('certificate mode', () => {
  it('derives the same app, Alipay and root SNs as the provider computes independently (the ECDSA root skipped)', () => {
    expect(channel.certSn.app).toBe(alipayCertSn(appCert));
    expect(channel.certSn.alipay).toBe(sim.alipayCertSn);
    expect(channel.certSn.root).toBe(sim.rootCertSn);
    expect(sim.rootCertSn).not.toContain('_');
  });

  it('reads keys and certificates from files, and a PKCS#1 private key as the key tool prints it (bare base64)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fenxiao-alipay-'));
    try {
      const files = {
        app: path.join(dir, `appCertPublicKey_${APP_ID}.crt`),
        alipay: path.join(dir, 'alipayCertPublicKey_RSA2.crt'),
        root: path.join(dir, 'alipayRootCert.crt'),
      };
      fs.writeFileSync(files.app, appCert);
      fs.writeFileSync(files.alipay, sim.alipayPublicCertPem);
      fs.writeFileSync(files.root, sim.rootCertBundlePem);
      const pkcs1Bare = createPrivateKey(appKey.privateKeyPem).export({ type: 'pkcs1', format: 'der' }).toString('base64');
      const fromFiles = createAlipayChannel(config({ privateKey: pkcs1Bare, appCert: files.app, alipayPublicCert: files.alipay, alipayRootCert: files.root }));
      expect(fromFiles.certSn).toEqual(channel.certSn);
      expect((await fromFiles.submit(request(outNo()))).outcome).toBe('succeeded');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a request signed with a key that does not match the app certificate is refused and creates nothing', async () => {
    const wrong = createAlipayChannel(config({ privateKey: generateRsaKeyPair().privateKeyPem }));
    const no = outNo();
    expect((await wrong.submit(request(no))).outcome).toBe('unknown');
    expect(sim.requests.at(-1)).toMatchObject({ code: '40002', subCode: 'isv.invalid-signature' });
    expect(sim.createdCount(no)).toBe(0);
  });

  it('sends its timestamp in Beijing time whatever the host TZ', () => {
    expect(beijingTimestamp(new Date('2026-01-31T16:05:09Z'))).toBe('2026-02-01 00:05:09');
    expect(beijingTimestamp(new Date('2026-06-01T03:00:00.999Z'))).toBe('2026-06-01 11:00:00');
  });
});

describe('status mapping', () => {
  it.each([
    ['SUCCESS', 'succeeded'],
    ['DEALING', 'processing'],
    ['WAIT_PAY', 'processing'],
    ['INIT', 'processing'],
    ['FAIL', 'failed'],
    ['CLOSED', 'failed'],
    ['REFUND', 'failed'],
    ['NEW_STATUS', 'unknown'],
    [undefined, 'unknown'],
  ])('%s → %s', (status, outcome) => {
    expect(alipayStatusOutcome(status)).toBe(outcome);
  });
});

describe('transfers against the simulated gateway', () => {
  it('pays: succeeded, order_id as the reference, the amount as a 2-decimal yuan string', async () => {
    const no = outNo();
    const result = await channel.submit(request(no));
    const order = sim.orders.get(no)!;
    expect(result).toMatchObject({ outcome: 'succeeded', providerRef: order.orderId });
    expect(order.transAmount).toBe('123.45');
    expect(order).toMatchObject({ identity: '2088123412341234', identityType: 'ALIPAY_USER_ID', name: '张三', orderTitle: '佣金提现' });
    expect(await channel.query(no)).toMatchObject({ found: true, outcome: 'succeeded', amountFen: 12_345, providerRef: order.orderId });
  });

  it.each([
    [10, '0.10'],
    [100, '1.00'],
    [100_000_000, '1000000.00'],
  ])('sends %i fen as "%s"', async (fen, yuan) => {
    const no = outNo();
    await channel.submit(request(no, { amountFen: fen }));
    expect(sim.orders.get(no)!.transAmount).toBe(yuan);
  });

  it('DEALING is processing, and the query follows it to SUCCESS', async () => {
    const no = outNo();
    sim.behave(no, { outcome: 'processing' });
    expect((await channel.submit(request(no))).outcome).toBe('processing');
    sim.setStatus(no, 'SUCCESS');
    expect((await channel.query(no)).outcome).toBe('succeeded');
  });

  it('status FAIL is failed, with error_code as the code', async () => {
    const no = outNo();
    sim.behave(no, { outcome: 'fail', failCode: 'PAYEE_ACCOUNT_STATUS_ERROR' });
    expect((await channel.submit(request(no))).outcome).toBe('failed');
    expect(await channel.query(no)).toMatchObject({ found: true, outcome: 'failed', failCode: 'PAYEE_ACCOUNT_STATUS_ERROR' });
  });

  it('a definite business refusal (payee does not exist) is failed by its sub_code, and no order exists', async () => {
    const no = outNo();
    sim.behave(no, { outcome: 'reject', failCode: 'PAYEE_NOT_EXIST' });
    expect(await channel.submit(request(no))).toMatchObject({ outcome: 'failed', failCode: 'PAYEE_NOT_EXIST' });
    expect(await channel.query(no)).toMatchObject({ found: false });
  });

  it('an amount under 0.1 yuan is refused by the gateway as a definite failure', async () => {
    const no = outNo();
    expect(await channel.submit(request(no, { amountFen: 9 }))).toMatchObject({ outcome: 'failed', failCode: 'EXCEED_LIMIT_SM_MIN_AMOUNT' });
  });

  it('a timeout is unknown; the query then finds the success; created once', async () => {
    const no = outNo();
    sim.behave(no, { fault: 'timeout' });
    const started = Date.now();
    expect((await createAlipayChannel(config({ timeoutMs: 300 })).submit(request(no))).outcome).toBe('unknown');
    expect(Date.now() - started).toBeLessThan(5_000);
    sim.behave(no, {});
    expect(await channel.query(no)).toMatchObject({ found: true, outcome: 'succeeded' });
    expect((await channel.submit(request(no))).outcome).toBe('succeeded');
    expect(sim.createdCount(no)).toBe(1);
  });

  it('concurrent identical submits create one order and all see it', async () => {
    const no = outNo();
    const results = await Promise.all(Array.from({ length: 5 }, () => channel.submit(request(no))));
    expect(results.map((r) => r.outcome)).toEqual(Array(5).fill('succeeded'));
    expect(new Set(results.map((r) => r.providerRef)).size).toBe(1);
    expect(sim.transferRequests.get(no)).toBe(5);
    expect(sim.createdCount(no)).toBe(1);
  });

  it('a lost reply is unknown; the query finds the order', async () => {
    const no = outNo();
    sim.behave(no, { fault: 'lost_reply' });
    expect((await channel.submit(request(no))).outcome).toBe('unknown');
    sim.behave(no, {});
    expect(await channel.query(no)).toMatchObject({ found: true, outcome: 'succeeded' });
    expect(sim.createdCount(no)).toBe(1);
  });

  it('an unfamiliar code is unknown; the query finds nothing; the identical resend creates one order', async () => {
    const no = outNo();
    sim.behave(no, { fault: 'unfamiliar_code' });
    expect(await channel.submit(request(no))).toMatchObject({ outcome: 'unknown', failCode: 'BRAND_NEW_CONDITION' });
    expect(await channel.query(no)).toMatchObject({ found: false });
    sim.behave(no, {});
    expect((await channel.submit(request(no))).outcome).toBe('succeeded');
    expect(sim.transferRequests.get(no)).toBe(2);
    expect(sim.createdCount(no)).toBe(1);
  });

  it.each(['system_error', 'service_unavailable', 'http_500'] as const)('%s is unknown and creates nothing', async (fault) => {
    const no = outNo();
    sim.behave(no, { fault });
    expect((await channel.submit(request(no))).outcome).toBe('unknown');
    expect(sim.createdCount(no)).toBe(0);
  });

  it('an answer whose signature does not verify is unknown, even when it says SUCCESS', async () => {
    const no = outNo();
    sim.behave(no, { fault: 'bad_signature' });
    expect((await channel.submit(request(no))).outcome).toBe('unknown');
    expect(sim.orders.get(no)!.status).toBe('SUCCESS');
    sim.behave(no, { queryFault: 'bad_signature' });
    expect(await channel.query(no)).toMatchObject({ found: true, outcome: 'unknown' });
    sim.behave(no, {});
    expect((await channel.query(no)).outcome).toBe('succeeded');
  });

  it('the same out_biz_no with other details (PAYMENT_INFO_INCONSISTENCY) is unknown, never failed', async () => {
    const no = outNo();
    await channel.submit(request(no));
    const reuse = await channel.submit(request(no, { amountFen: 99 }));
    expect(reuse).toMatchObject({ outcome: 'unknown', failCode: 'PAYMENT_INFO_INCONSISTENCY' });
    expect(await channel.query(no)).toMatchObject({ outcome: 'succeeded', amountFen: 12_345 });
    expect(sim.createdCount(no)).toBe(1);
  });

  it('a query that fails or times out is unknown with found: true', async () => {
    const no = outNo();
    sim.behave(no, { queryFault: 'system_error' });
    expect(await channel.query(no)).toMatchObject({ found: true, outcome: 'unknown' });
    sim.behave(no, { queryFault: 'timeout' });
    expect(await createAlipayChannel(config({ timeoutMs: 300 })).query(no)).toMatchObject({ found: true, outcome: 'unknown' });
    sim.behave(no, { queryFault: 'bad_signature' });
    expect(await channel.query(no)).toMatchObject({ found: true, outcome: 'unknown' });
  });

  it('refuses a non-integer amount locally, sending nothing', async () => {
    const before = sim.requests.length;
    expect(await channel.submit(request(outNo(), { amountFen: 1.5 }))).toMatchObject({ outcome: 'failed', failCode: 'LOCAL_INVALID_AMOUNT' });
    expect(sim.requests.length).toBe(before);
  });
});

describe('order.changed notifications', () => {
  let receiver: http.Server;
  let receiverUrl = '';
  const received: Buffer[] = [];

  beforeAll(async () => {
    receiver = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push(Buffer.concat(chunks));
        res.writeHead(200, { 'content-type': 'text/plain' }).end('success');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/callbacks/alipay`;
  });

  afterAll(async () => {
    receiver.closeAllConnections();
    await new Promise<void>((resolve) => receiver.close(() => resolve()));
  });

  async function paidOrder(): Promise<string> {
    const no = outNo();
    await channel.submit(request(no));
    return no;
  }

  it('verifies a delivered notification; a duplicate verifies to the same result', async () => {
    const no = await paidOrder();
    received.length = 0;
    expect((await sim.sendNotify(no, receiverUrl)).text).toBe('success');
    expect((await sim.sendNotify(no, receiverUrl)).text).toBe('success');
    const first = await channel.verifyCallback({}, received[0]!);
    const second = await channel.verifyCallback({}, received[1]!);
    expect(first).toMatchObject({ outNo: no, outcome: 'succeeded', amountFen: 12_345, providerRef: sim.orders.get(no)!.orderId });
    expect({ ...second, raw: undefined }).toEqual({ ...first, raw: undefined });
  });

  it('carries a FAIL with its error code', async () => {
    const no = outNo();
    sim.behave(no, { outcome: 'processing' });
    await channel.submit(request(no));
    sim.setStatus(no, 'FAIL', 'PAYEE_ACCOUNT_STATUS_ERROR');
    expect(await channel.verifyCallback({}, sim.buildNotify(no))).toMatchObject({ outcome: 'failed', failCode: 'PAYEE_ACCOUNT_STATUS_ERROR' });
  });

  it('accepts the matching alipay_cert_sn and refuses an unknown one', async () => {
    const no = await paidOrder();
    expect((await channel.verifyCallback({}, sim.buildNotify(no, { alipayCertSn: sim.alipayCertSn }))).outNo).toBe(no);
    await expect(channel.verifyCallback({}, sim.buildNotify(no, { alipayCertSn: 'f'.repeat(32) }))).rejects.toThrow(/alipay_cert_sn/);
  });

  it('refuses a bad signature', async () => {
    const no = await paidOrder();
    await expect(channel.verifyCallback({}, sim.buildNotify(no, { signWith: createPrivateKey(generateRsaKeyPair().privateKeyPem) }))).rejects.toThrow(
      CallbackRejected,
    );
  });

  it('refuses a biz_content changed after signing (a different amount)', async () => {
    const no = await paidOrder();
    const body = sim.buildNotify(no, {
      tamperBizContent: (biz) => {
        biz.trans_amount = '9999.00';
      },
    });
    await expect(channel.verifyCallback({}, body)).rejects.toThrow(/bad signature/);
  });

  it('refuses another app, a downgraded sign_type, another msg_method, a repeated parameter, and an unsigned body', async () => {
    const no = await paidOrder();
    await expect(channel.verifyCallback({}, sim.buildNotify(no, { appId: '2021999999999999' }))).rejects.toThrow(/another app/);
    await expect(channel.verifyCallback({}, sim.buildNotify(no, { signType: 'RSA' }))).rejects.toThrow(/RSA2/);
    const genuine = sim.buildNotify(no).toString('utf8');
    await expect(channel.verifyCallback({}, Buffer.from(`${genuine}&biz_content=%7B%7D`))).rejects.toThrow(/repeated/);
    const unsigned = new URLSearchParams(genuine);
    unsigned.delete('sign');
    await expect(channel.verifyCallback({}, Buffer.from(unsigned.toString()))).rejects.toThrow(/unsigned/);
    await expect(channel.verifyCallback({}, sim.buildNotify(no, { msgMethod: 'alipay.trade.order.settle.notify' }))).rejects.toThrow(/msg_method/);
    expect((await channel.verifyCallback({}, sim.buildNotify(no))).outNo).toBe(no);
  });

  it('signs over every non-empty parameter but sign and sign_type, sorted by key', () => {
    const params = new Map([
      ['sign', 'S'],
      ['sign_type', 'RSA2'],
      ['b', '2'],
      ['a', '1'],
      ['empty', ''],
      ['biz_content', '{"x":"a b"}'],
    ]);
    expect(alipayNotifySignContent(params)).toBe('a=1&b=2&biz_content={"x":"a b"}');
  });

  it('fails at construction on certificates that do not parse', () => {
    const notACert = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    expect(() => createAlipayChannel(config({ alipayPublicCert: notACert }))).toThrow();
  });
});

describe('trade notifications (异步通知) to the same app', () => {
  const trade = { outTradeNo: 'apo_01JQ00000000000000000000AB', tradeNo: '2026030122001400000000000001', totalAmount: '19.99' };

  it('verifies a TRADE_SUCCESS into the order number, the trade number and exact fen', async () => {
    expect(await channel.verifyPayment(sim.buildTradeNotify(trade))).toEqual({
      outTradeNo: trade.outTradeNo,
      transactionId: trade.tradeNo,
      amountFen: 1999,
      paid: true,
      state: 'TRADE_SUCCESS',
    });
    for (const [totalAmount, fen] of [
      ['0.10', 10],
      ['0.1', 10],
      ['100', 10_000],
      ['0.01', 1],
      ['99999999.99', 9_999_999_999],
    ] as const) {
      expect((await channel.verifyPayment(sim.buildTradeNotify({ ...trade, totalAmount }))).amountFen, totalAmount).toBe(fen);
    }
    expect(await channel.verifyPayment(sim.buildTradeNotify({ ...trade, tradeStatus: 'TRADE_FINISHED' }))).toMatchObject({ paid: true, amountFen: 1999 });
  });

  it('reports WAIT_BUYER_PAY and TRADE_CLOSED as not paid', async () => {
    for (const tradeStatus of ['WAIT_BUYER_PAY', 'TRADE_CLOSED']) {
      expect(await channel.verifyPayment(sim.buildTradeNotify({ ...trade, tradeStatus }))).toMatchObject({
        paid: false,
        amountFen: undefined,
        state: tradeStatus,
      });
    }
  });

  it('refuses a forged or tampered notification, another app, a malformed amount and a transfer notification', async () => {
    const stranger = createPrivateKey(generateRsaKeyPair().privateKeyPem);
    await expect(channel.verifyPayment(sim.buildTradeNotify(trade, { signWith: stranger }))).rejects.toThrow(/bad signature/);
    await expect(channel.verifyPayment(sim.buildTradeNotify(trade, { tamper: (p) => p.set('total_amount', '0.01') }))).rejects.toThrow(/bad signature/);
    await expect(channel.verifyPayment(sim.buildTradeNotify(trade, { appId: '2021999999999999' }))).rejects.toThrow(/another app/);
    for (const totalAmount of ['19.999', '-19.99', '19,99', '1e3', ''])
      await expect(channel.verifyPayment(sim.buildTradeNotify({ ...trade, totalAmount })), totalAmount).rejects.toThrow(/total_amount/);
    const no = outNo();
    await channel.submit(request(no));
    await expect(channel.verifyPayment(sim.buildNotify(no))).rejects.toThrow(/notify_type/);
  });
});
